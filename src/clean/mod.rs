//! The clean stage: HTML (WordPress `post_content`, whole pages) and Markdown to the plain text a
//! summariser should read. Pure Rust; the Python layer only converts and releases the GIL.

mod elements;
mod encoding;
mod html;
#[cfg(any(test, feature = "oracle"))]
mod html_lol;
#[cfg(any(test, feature = "oracle"))]
mod html_oracle;
mod markdown;
mod tags;
pub mod text;
mod wordpress;

use std::str::FromStr;

pub use encoding::decode_html;
pub use html::decode_entities;
pub use markdown::strip_front_matter;
pub use text::{clean_text, Sep, Sink};
pub use wordpress::strip_shortcodes;

use crate::error::Error;

/// The text of `html` by the streaming extractor and by the lol_html oracle, for the fuzz
/// targets to compare.
#[cfg(feature = "oracle")]
pub fn html_both(html: &str, opts: &Options) -> (String, String) {
    let run = |f: fn(&mut Sink, &str, &Options)| {
        let mut sink = Sink::new(opts.keep_paragraphs, opts.max_chars, 0);
        f(&mut sink, html, opts);
        sink.finish()
    };
    (run(html::html_into), run(html_oracle::html_into))
}

/// Cleans HTML text with lol_html, for the head-to-head benchmark: the cleaner the extractor
/// replaced (`slim`: lol_html reading a copy of the page cut to what can hold text), or the
/// tests' oracle (lol_html on the page itself).
#[cfg(feature = "oracle")]
pub fn clean_html_lol(html: &str, opts: &Options, slim: bool) -> String {
    let mut sink = Sink::new(
        opts.keep_paragraphs,
        opts.max_chars,
        text_capacity(html.len(), 3),
    );
    if slim {
        html_lol::html_into(&mut sink, html, opts);
    } else {
        html_oracle::html_into(&mut sink, html, opts);
    }
    sink.finish()
}

/// Cleaning options; see the Python docs of `bedrock_batch.clean` for their meaning.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// Drop `<pre>` blocks, WordPress code blocks, `[code]` shortcodes and Markdown code blocks.
    pub drop_code: bool,
    /// Drop images: no alt text, no URLs.
    pub drop_images: bool,
    /// Keep paragraph breaks as `\n\n` (and `<br>`/list items as `\n`) instead of one space.
    pub keep_paragraphs: bool,
    /// Truncate to this many Unicode code points.
    pub max_chars: Option<usize>,
    /// Remove WordPress shortcodes before parsing HTML.
    pub strip_shortcodes: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            drop_code: true,
            drop_images: true,
            keep_paragraphs: false,
            max_chars: None,
            strip_shortcodes: true,
        }
    }
}

/// The input format of a document.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Decide per document with [`detect`].
    Auto,
    Html,
    Markdown,
    Text,
}

impl FromStr for Format {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        match s.to_ascii_lowercase().as_str() {
            "auto" => Ok(Format::Auto),
            "html" | "wordpress" => Ok(Format::Html),
            "markdown" | "md" => Ok(Format::Markdown),
            "text" | "plain" => Ok(Format::Text),
            _ => Err(Error::InvalidArgument(format!(
                "format must be one of 'auto', 'html', 'markdown', 'text'; got {s:?}"
            ))),
        }
    }
}

/// Guesses whether a document is HTML, Markdown or plain text from its first 4 KiB.
///
/// Front matter or Markdown structure (headings, fences, `](`) against HTML tags; a document
/// that has neither is text. Markdown with some inline HTML (`<br/>`) stays Markdown.
pub fn detect(doc: &str) -> Format {
    let t = doc.trim_start_matches('\u{feff}').trim_start();
    if t.starts_with("---") || t.starts_with("+++") {
        return Format::Markdown;
    }
    let b = t.as_bytes();
    if b.first() == Some(&b'<') {
        let lower: Vec<u8> = b[..b.len().min(64)].to_ascii_lowercase();
        if lower.starts_with(b"<!doctype")
            || lower.starts_with(b"<html")
            || lower.starts_with(b"<!--")
            || lower.starts_with(b"<p")
            || lower.starts_with(b"<div")
            || lower.starts_with(b"<head")
            || lower.starts_with(b"<body")
        {
            return Format::Html;
        }
    }
    let mut end = b.len().min(4096);
    while !t.is_char_boundary(end) {
        end -= 1;
    }
    let head = &t[..end];
    let mut html = 0usize;
    let mut md = 0usize;
    for needle in [
        "</",
        "<p>",
        "<p ",
        "<div",
        "<br",
        "<a href",
        "<img",
        "<li>",
        "<!",
        "&nbsp;",
        "&amp;",
        "&#",
        "[caption",
        "[gallery",
        "[embed",
        "[video",
        "[audio",
        "[code",
        "[sourcecode",
    ] {
        html += memchr::memmem::find_iter(head.as_bytes(), needle.as_bytes()).count();
    }
    md += 2 * memchr::memmem::find_iter(head.as_bytes(), b"](").count();
    for line in head.lines() {
        let l = line.trim_start();
        let fence = l.starts_with("```") || l.starts_with("~~~");
        let heading = l.starts_with('#') && l.trim_start_matches('#').starts_with(' ');
        let list = l.starts_with("- ") || l.starts_with("* ") || l.starts_with("> ");
        let table = l.starts_with('|') && l.ends_with('|');
        if fence || heading {
            md += 3;
        } else if list || table {
            md += 1;
        }
    }
    if html == 0 && md == 0 {
        Format::Text
    } else if html > md {
        Format::Html
    } else {
        Format::Markdown
    }
}

/// The output buffer to reserve for a document of `len` bytes whose text is about `share` of it:
/// a large document gets room for all of it (its text can be most of it, pages never written
/// cost no memory, and growing by doubling would copy it and hold two buffers at once).
fn text_capacity(len: usize, share: usize) -> usize {
    if len > 1 << 20 {
        len + 64
    } else {
        len / share
    }
}

/// Cleans HTML text.
pub fn clean_html(html: &str, opts: &Options) -> String {
    let mut sink = Sink::new(
        opts.keep_paragraphs,
        opts.max_chars,
        text_capacity(html.len(), 3),
    );
    html::html_into(&mut sink, html, opts);
    sink.finish()
}

/// Cleans HTML given as bytes, honouring a BOM or `<meta charset>`.
pub fn clean_html_bytes(html: &[u8], opts: &Options) -> String {
    clean_html(&decode_html(html), opts)
}

/// Cleans Markdown text.
pub fn clean_markdown(md: &str, opts: &Options) -> String {
    let mut sink = Sink::new(
        opts.keep_paragraphs,
        opts.max_chars,
        text_capacity(md.len(), 2),
    );
    markdown::markdown_into(&mut sink, md, opts);
    sink.finish()
}

/// Cleans one document of the given format.
pub fn clean(doc: &str, format: Format, opts: &Options) -> String {
    match format {
        Format::Auto => clean(doc, detect(doc), opts),
        Format::Html => clean_html(doc, opts),
        Format::Markdown => clean_markdown(doc, opts),
        Format::Text => clean_text(doc, opts.keep_paragraphs, opts.max_chars),
    }
}

/// Cleans many documents in parallel on the current rayon pool. `None` stays `None`.
pub fn clean_many(docs: &[Option<String>], format: Format, opts: &Options) -> Vec<Option<String>> {
    use rayon::prelude::*;
    docs.par_iter()
        .with_min_len(1)
        .map(|d| d.as_deref().map(|d| clean(d, format, opts)))
        .collect()
}
