//! WordPress shortcodes in `post_content`.
//!
//! Block comments (`<!-- wp:... -->`) and `<!--more-->` are HTML comments, which the HTML pass
//! never turns into text. Shortcodes are plain text to an HTML parser, so they are handled here,
//! before it, on the raw HTML (outside scripts and styles). The scan is a memchr for `[` and `<`; a
//! document with no shortcode is returned borrowed, untouched.

use std::borrow::Cow;
use std::collections::HashMap;

/// What to do with a shortcode and the content up to its closing tag.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    /// Media embeds: the tag and its content (a URL, fallback text) go.
    DropAll,
    /// `[caption]`: the tags go, the content (an image and the caption text) stays, and a
    /// `caption="..."` attribute (the older form) is kept as text.
    Caption,
    /// Code shortcodes (SyntaxHighlighter Evolved and friends): follow `drop_code`.
    Code,
}

fn kind(name: &str) -> Option<Kind> {
    if name.len() > 10 {
        return None;
    }
    let mut buf = [0u8; 10];
    buf[..name.len()].copy_from_slice(name.as_bytes());
    buf[..name.len()].make_ascii_lowercase();
    Some(match &buf[..name.len()] {
        b"gallery" | b"embed" | b"video" | b"audio" | b"playlist" | b"wpvideo" | b"youtube"
        | b"vimeo" | b"tweet" | b"instagram" => Kind::DropAll,
        b"caption" | b"wp_caption" => Kind::Caption,
        b"code" | b"sourcecode" | b"source" | b"php" | b"python" | b"py" | b"js"
        | b"javascript" | b"java" | b"bash" | b"shell" | b"sh" | b"sql" | b"css" | b"html"
        | b"xml" | b"ruby" | b"go" | b"cpp" | b"c" | b"csharp" | b"powershell" | b"ps"
        | b"json" | b"yaml" | b"text" | b"plain" => Kind::Code,
        _ => return None,
    })
}

/// One parsed shortcode tag at a position of the input.
struct Tag<'a> {
    closing: bool,
    name: &'a str,
    attrs: &'a str,
    self_closing: bool,
    end: usize,
}

fn parse_tag(s: &str, at: usize) -> Option<Tag<'_>> {
    let b = s.as_bytes();
    let mut i = at + 1;
    let closing = b.get(i) == Some(&b'/');
    if closing {
        i += 1;
    }
    let name_start = i;
    if !b.get(i)?.is_ascii_alphabetic() {
        return None;
    }
    while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'-') {
        i += 1;
    }
    let name = &s[name_start..i];
    let attrs_start = i;
    match b.get(i)? {
        b']' => {
            return Some(Tag {
                closing,
                name,
                attrs: "",
                self_closing: false,
                end: i + 1,
            })
        }
        b'/' if !closing && b.get(i + 1) == Some(&b']') => {
            return Some(Tag {
                closing,
                name,
                attrs: "",
                self_closing: true,
                end: i + 2,
            })
        }
        c if c.is_ascii_whitespace() && !closing => {}
        _ => return None,
    }
    // Attributes run to the first `]` outside quotes; WordPress forbids `]` in them, but quoted
    // values in the wild sometimes carry one. Stop at a newline pair or `[` to stay cheap.
    let mut quote = 0u8;
    while i < b.len() {
        let c = b[i];
        if quote != 0 {
            if c == quote {
                quote = 0;
            }
        } else if c == b'"' || c == b'\'' {
            quote = c;
        } else if c == b']' {
            let self_closing = i > attrs_start && b[i - 1] == b'/';
            let attrs_end = if self_closing { i - 1 } else { i };
            return Some(Tag {
                closing,
                name,
                attrs: &s[attrs_start..attrs_end],
                self_closing,
                end: i + 1,
            });
        } else if c == b'[' || c == b'<' && quote == 0 && i > attrs_start + 2000 {
            return None;
        }
        i += 1;
    }
    None
}

/// The value of `key="..."` in a shortcode's attributes.
fn attr<'a>(attrs: &'a str, key: &str) -> Option<&'a str> {
    let mut rest = attrs;
    while let Some(pos) = rest.find(key) {
        let before_ok = pos == 0 || !rest.as_bytes()[pos - 1].is_ascii_alphanumeric();
        let after = rest[pos + key.len()..].trim_start();
        if before_ok {
            if let Some(v) = after.strip_prefix('=') {
                let v = v.trim_start();
                let q = v.as_bytes().first().copied();
                if let Some(q @ (b'"' | b'\'')) = q {
                    let inner = &v[1..];
                    return inner.find(q as char).map(|e| &inner[..e]);
                }
                return Some(v.split_whitespace().next().unwrap_or(""));
            }
        }
        rest = &rest[pos + key.len()..];
    }
    None
}

/// Finds closing tags `[/name]` after a position, remembering the answer per name so a document
/// with many tags stays linear.
struct Closers<'a> {
    s: &'a str,
    cache: HashMap<String, Option<usize>>,
}

impl Closers<'_> {
    fn find(&mut self, name: &str, from: usize) -> Option<usize> {
        let key = name.to_ascii_lowercase();
        if let Some(cached) = self.cache.get(&key) {
            match *cached {
                None => return None,
                Some(p) if p >= from => return Some(p),
                Some(_) => {}
            }
        }
        // Each new name costs one scan of the rest of the text; past a few hundred distinct
        // names the document is not WordPress content and unknown tags are left alone.
        if self.cache.len() >= 512 {
            return None;
        }
        let hay = &self.s.as_bytes()[from..];
        let found = memchr::memmem::find(hay, format!("[/{name}]").as_bytes())
            .or_else(|| {
                (key != name)
                    .then(|| memchr::memmem::find(hay, format!("[/{key}]").as_bytes()))
                    .flatten()
            })
            .map(|p| p + from);
        self.cache.insert(key, found);
        found
    }
}

/// Removes WordPress shortcodes from `html`.
pub fn strip_shortcodes(html: &str, drop_code: bool) -> Cow<'_, str> {
    let bytes = html.as_bytes();
    let mut out: Option<String> = None;
    let mut copied = 0;
    let mut closers = Closers {
        s: html,
        cache: HashMap::new(),
    };
    let mut pos = 0;
    while let Some(off) = memchr::memchr2(b'[', b'<', &bytes[pos..]) {
        let at = pos + off;
        pos = at + 1;
        if bytes[at] == b'<' {
            // Scripts and styles are never text (the HTML pass cuts them): a bracket there is
            // code (`a[i]`), and looking for its closing tag would scan the rest of the page.
            for name in [&b"script"[..], b"style"] {
                if super::tags::tag_at(bytes, at, name, false) {
                    pos = super::tags::tag_end(bytes, at + 1 + name.len())
                        .and_then(|(end, _)| super::tags::close_of(bytes, end, name))
                        .map_or(bytes.len(), |(_, end)| end);
                }
            }
            continue;
        }
        // `[[tag]]` is WordPress's escape for a literal shortcode.
        if bytes.get(at + 1) == Some(&b'[') {
            pos = at + 2;
            continue;
        }
        let Some(tag) = parse_tag(html, at) else {
            continue;
        };
        let k = kind(tag.name);
        let (cut_to, keep): (usize, Option<&str>) = if tag.closing {
            // A stray closing tag of anything shortcode-like goes.
            (tag.end, None)
        } else {
            let close = if tag.self_closing {
                None
            } else {
                closers.find(tag.name, tag.end)
            };
            match k {
                Some(Kind::DropAll) => (close.map_or(tag.end, |c| c + tag.name.len() + 3), None),
                Some(Kind::Code) if close.is_some() => {
                    let c = close.unwrap_or(tag.end);
                    if drop_code {
                        (c + tag.name.len() + 3, None)
                    } else {
                        (tag.end, None)
                    }
                }
                Some(Kind::Caption) => (tag.end, attr(tag.attrs, "caption")),
                Some(Kind::Code) | None => {
                    let shortcode_like = k.is_some()
                        || tag.self_closing
                        || tag.attrs.contains('=')
                        || close.is_some();
                    if !shortcode_like {
                        continue;
                    }
                    (tag.end, None)
                }
            }
        };
        let buf = out.get_or_insert_with(|| String::with_capacity(html.len()));
        buf.push_str(&html[copied..at]);
        buf.push(' ');
        if let Some(text) = keep {
            buf.push_str(text);
            buf.push(' ');
        }
        copied = cut_to;
        pos = cut_to;
    }
    match out {
        None => Cow::Borrowed(html),
        Some(mut buf) => {
            buf.push_str(&html[copied..]);
            Cow::Owned(buf)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brackets_in_scripts_are_code() {
        let s = |h: &str| super::strip_shortcodes(h, true).into_owned();
        // An `[embed]` in a script opens nothing; the closing tag outside it is a stray one.
        assert_eq!(
            s("<script>x=\"[embed]\";a[i]=1</script>after[/embed]"),
            "<script>x=\"[embed]\";a[i]=1</script>after "
        );
        assert_eq!(
            s("<STYLE a=\"</style>\">[gallery]</style>[caption]cap[/caption]"),
            "<STYLE a=\"</style>\">[gallery]</style> cap "
        );
    }

    #[test]
    fn caption_keeps_text() {
        let s = r#"[caption id="attachment_1" align="alignright" width="300"]<img src="a.jpg" /> A cat[/caption] after"#;
        let out = strip_shortcodes(s, true);
        assert!(!out.contains("[caption"));
        assert!(!out.contains("[/caption]"));
        assert!(out.contains("A cat"));
        assert!(out.contains("after"));
    }

    #[test]
    fn caption_attribute_is_kept() {
        let out = strip_shortcodes(
            r#"[caption caption="Old style" width="1"]<img>[/caption]"#,
            true,
        );
        assert!(out.contains("Old style"));
    }

    #[test]
    fn media_dropped_with_content() {
        let out = strip_shortcodes("a [gallery ids=\"1,2\"] b [embed]https://x.test/v[/embed] c [video src=\"v.mp4\"][/video] d [audio mp3=\"a\"] e", true);
        assert_eq!(
            out.split_whitespace().collect::<Vec<_>>(),
            ["a", "b", "c", "d", "e"]
        );
    }

    #[test]
    fn code_follows_drop_code() {
        let s = "x [code lang=\"php\"]echo 1;[/code] y [sourcecode]z()[/sourcecode]";
        let dropped = strip_shortcodes(s, true);
        assert!(!dropped.contains("echo") && !dropped.contains("z()"));
        let kept = strip_shortcodes(s, false);
        assert!(kept.contains("echo 1;") && kept.contains("z()") && !kept.contains("[code"));
    }

    #[test]
    fn prose_brackets_stay() {
        for s in [
            "see [1] and [note] here",
            "a[i] = b",
            "[[caption]] literal",
            "[/",
        ] {
            assert_eq!(strip_shortcodes(s, true), s);
        }
    }

    #[test]
    fn many_unclosed_tags_stay_linear() {
        let s = "[x a=1] ".repeat(200_000);
        let out = strip_shortcodes(&s, true);
        assert!(!out.contains('['));
    }
}
