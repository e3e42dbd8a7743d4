//! The XML details the WXR reader needs: which namespace a field is in, category and tag
//! terms, attributes, references, XML characters and quick-xml's errors in words.

use std::borrow::Cow;

use quick_xml::events::BytesStart;
use quick_xml::name::ResolveResult;
use quick_xml::XmlVersion;

use super::{Col, Target};

/// The namespaces a WXR item's fields live in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Ns {
    None,
    Wp,
    Excerpt,
    Content,
    Other,
}

pub(super) fn namespace(ns: &ResolveResult<'_>) -> Ns {
    match ns {
        ResolveResult::Unbound => Ns::None,
        ResolveResult::Bound(uri) => {
            let uri: &str = uri.as_ref();
            let wp = uri
                .strip_prefix("http://wordpress.org/export/")
                .or_else(|| uri.strip_prefix("https://wordpress.org/export/"));
            match wp {
                Some(rest) if rest.ends_with("/excerpt/") || rest.ends_with("/excerpt") => {
                    Ns::Excerpt
                }
                Some(_) => Ns::Wp,
                None if uri.trim_end_matches('/') == "http://purl.org/rss/1.0/modules/content" => {
                    Ns::Content
                }
                None => Ns::Other,
            }
        }
        // An undeclared prefix: taken by its name (exports written by hand or by other tools).
        ResolveResult::Unknown(prefix) => match prefix.as_str() {
            "wp" => Ns::Wp,
            "excerpt" => Ns::Excerpt,
            "content" => Ns::Content,
            _ => Ns::Other,
        },
    }
}

/// `<category domain="category|post_tag" nicename="...">`: the column its text goes to. As in
/// WordPress' importer, only elements with a `nicename` are terms (WXR 1.0 also writes a bare
/// `<category>` for each); WXR 1.0 names tags `domain="tag"`. Other taxonomies (post formats,
/// custom ones) are not read.
pub(super) fn term_column(e: &BytesStart<'_>) -> Option<Target> {
    let mut domain = None;
    let mut nicename = false;
    for a in e.attributes().flatten() {
        match a.key.as_ref() {
            "domain" => {
                domain = a
                    .normalized_value(XmlVersion::Implicit1_0)
                    .ok()
                    .map(Cow::into_owned);
            }
            "nicename" => nicename = true,
            _ => {}
        }
    }
    if !nicename {
        return None;
    }
    match domain.as_deref() {
        Some("category") => Some(Target::Term(Col::Categories)),
        Some("post_tag" | "tag") => Some(Target::Term(Col::Tags)),
        _ => None,
    }
}

/// Checks a tag's attributes (syntax, duplicates, references) so a malformed one is an error.
pub(super) fn check_attributes(e: &BytesStart<'_>) -> Result<(), String> {
    for a in e.attributes() {
        let a =
            a.map_err(|err| format!("a malformed attribute in <{}>: {err}", e.name().as_ref()))?;
        a.normalized_value(XmlVersion::Implicit1_0).map_err(|err| {
            format!(
                "attribute {} of <{}>: {err}",
                a.key.as_ref(),
                e.name().as_ref()
            )
        })?;
    }
    Ok(())
}

/// The text of `&name;` or `&#n;`: the five XML entities and character references of
/// characters XML allows; anything else is an error message.
pub(super) fn resolve_reference(
    r: &quick_xml::events::BytesRef<'_>,
) -> Result<Cow<'static, str>, String> {
    let name: &str = r;
    if r.is_char_ref() {
        return match r.resolve_char_ref() {
            Ok(Some(c)) if is_xml_char(c) => Ok(Cow::Owned(c.to_string())),
            Ok(Some(c)) => Err(format!(
                "the character reference &{name}; is U+{:04X}, which XML does not allow",
                u32::from(c)
            )),
            _ => Err(format!(
                "the character reference &{name}; is not a character"
            )),
        };
    }
    quick_xml::escape::resolve_predefined_entity(name)
        .map(Cow::Borrowed)
        .ok_or_else(|| {
            format!(
                "unknown entity &{name};: XML knows only &lt; &gt; &amp; &apos; &quot; and \
                 character references (&#8217;); HTML entities such as &nbsp; belong inside CDATA"
            )
        })
}

/// XML 1.0's `Char` production.
pub(super) fn is_xml_char(c: char) -> bool {
    matches!(u32::from(c), 0x9 | 0xA | 0xD | 0x20..=0xD7FF | 0xE000..=0xFFFD | 0x10000..=0x10_FFFF)
}

/// quick-xml's message, said for a person.
pub(super) fn xml_error(e: &quick_xml::Error) -> String {
    use quick_xml::errors::{IllFormedError, SyntaxError};
    match e {
        quick_xml::Error::Syntax(SyntaxError::UnclosedCData) => {
            "a CDATA section (<![CDATA[) that is never closed with ]]>".into()
        }
        quick_xml::Error::IllFormed(IllFormedError::MismatchedEndTag { expected, found }) => {
            format!("the end tag </{found}> does not close the open <{expected}>")
        }
        quick_xml::Error::IllFormed(IllFormedError::UnmatchedEndTag(name)) => {
            format!("the end tag </{name}> closes nothing")
        }
        other => format!("not well-formed XML: {other}"),
    }
}
