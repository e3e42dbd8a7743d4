//! Markdown (CommonMark + GFM tables, footnotes, strikethrough, task lists; Jekyll, Hugo, Zenn,
//! Qiita and MDX sources) to text with pulldown-cmark.

use std::borrow::Cow;

use pulldown_cmark::{Event, Options as CmOptions, Parser, Tag, TagEnd, TextMergeStream};

use super::html::html_into;
use super::text::{Sep, Sink};
use super::Options;

/// Splits off YAML (`---`) or TOML (`+++`) front matter at the very start of the document.
pub fn strip_front_matter(md: &str) -> &str {
    let body = md.strip_prefix('\u{feff}').unwrap_or(md);
    for fence in ["---", "+++"] {
        let Some(rest) = body.strip_prefix(fence) else {
            continue;
        };
        // The opening fence is alone on its line.
        let Some(nl) = rest.find('\n') else { continue };
        if !rest[..nl].trim().is_empty() {
            continue;
        }
        let mut pos = nl + 1;
        while pos <= rest.len() {
            let line_end = rest[pos..].find('\n').map_or(rest.len(), |e| pos + e);
            let line = rest[pos..line_end].trim_end();
            if line == fence || (fence == "---" && line == "...") {
                return &rest[(line_end + 1).min(rest.len())..];
            }
            pos = line_end + 1;
        }
    }
    body
}

/// A line that is only an MDX/JSX component tag: `<Intro>`, `</Sandpack>`, `<Note />`.
fn is_component_tag_line(t: &str) -> bool {
    let t = t.trim_end();
    let Some(inner) = t.strip_prefix('<').and_then(|x| x.strip_suffix('>')) else {
        return false;
    };
    let inner = inner.strip_prefix('/').unwrap_or(inner);
    inner.starts_with(|c: char| c.is_ascii_uppercase()) && !inner.contains(['<', '>'])
}

/// Line-level MDX and Zenn syntax, outside fenced code:
/// - container markers (`:::message`, `:::details Title`, `:::`) go, what they contain stays;
/// - a line that is only a component tag (`<Intro>`) gets blank lines around it, so the
///   Markdown inside the component is parsed as Markdown (MDX semantics) rather than swallowed
///   by a CommonMark HTML block.
///
/// Borrowed when the document has neither.
fn normalize_lines(md: &str) -> Cow<'_, str> {
    let has_container = memchr::memmem::find(md.as_bytes(), b":::").is_some();
    let has_component = md
        .as_bytes()
        .windows(2)
        .any(|w| w[0] == b'<' && w[1].is_ascii_uppercase());
    if !has_container && !has_component {
        return Cow::Borrowed(md);
    }
    let mut out = String::with_capacity(md.len());
    let mut fence: Option<(u8, usize)> = None;
    for line in md.split_inclusive('\n') {
        let t = line.trim_start();
        let indent = line.len() - t.len();
        let ch = t.as_bytes().first().copied().unwrap_or(0);
        if indent < 4 && (ch == b'`' || ch == b'~') {
            let n = t.bytes().take_while(|&c| c == ch).count();
            if n >= 3 {
                match fence {
                    None => fence = Some((ch, n)),
                    Some((c, m)) if c == ch && n >= m && t[n..].trim().is_empty() => fence = None,
                    Some(_) => {}
                }
            }
        }
        if fence.is_none() && indent < 4 && t.starts_with(":::") {
            let rest = t.trim_start_matches(':').trim();
            // `:::details Title` keeps its title; `:::message alert` and `:::` are markers only.
            if let Some(title) = rest.strip_prefix("details") {
                out.push_str(title.trim());
            }
            out.push('\n');
            continue;
        }
        if fence.is_none() && indent < 4 && is_component_tag_line(t) {
            out.push('\n');
            out.push_str(line);
            out.push_str("\n\n");
            continue;
        }
        out.push_str(line);
    }
    Cow::Owned(out)
}

/// Removes MDX heading anchors and comments `{/*...*/}` from a run of text.
fn strip_mdx_comments(s: &str) -> Cow<'_, str> {
    if !s.contains("{/*") {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(start) = rest.find("{/*") {
        out.push_str(&rest[..start]);
        if let Some(end) = rest[start..].find("*/}") {
            rest = &rest[start + end + 3..];
        } else {
            out.push_str(&rest[start..]);
            rest = "";
        }
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// A fragment of raw HTML that is one tag or one comment: handled without an HTML parser.
fn single_tag(html: &str) -> Option<&str> {
    let t = html.trim();
    if !t.starts_with('<') || !t.ends_with('>') {
        return None;
    }
    if t.starts_with("<!--") {
        return t.ends_with("-->").then_some("");
    }
    if t[1..].contains('<') {
        return None;
    }
    let name = t[1..]
        .trim_start_matches('/')
        .split(|c: char| c.is_whitespace() || c == '/' || c == '>')
        .next()
        .unwrap_or("");
    Some(name)
}

fn html_fragment(sink: &mut Sink, html: &str, opts: &Options) {
    if let Some(name) = single_tag(html) {
        let sep = match name.to_ascii_lowercase().as_str() {
            "br" => Sep::Line,
            "" | "a" | "span" | "b" | "i" | "em" | "strong" | "code" | "kbd" | "sup" | "sub"
            | "u" | "s" | "mark" | "small" | "font" => Sep::None,
            "td" | "th" | "img" => Sep::Space,
            _ => Sep::Para,
        };
        sink.brk(sep);
    } else {
        sink.brk(Sep::Space);
        html_into(sink, html, opts);
        sink.brk(Sep::Space);
    }
}

/// A fence that opens indented (inside a list item) but whose lines start further left: Jekyll's
/// kramdown reads it as one code block up to its closing fence, where CommonMark ends the list
/// item at the first such line and reads the closing fence as a new, unclosed block that hides
/// the rest of the document. Such fences are moved to the left margin, so both agree on where
/// the code ends. Borrowed when there is none.
fn kramdown_fences(md: &str) -> Cow<'_, str> {
    let b = md.as_bytes();
    let indented = |f: &[u8]| {
        memchr::memmem::find_iter(b, f).any(|at| at > 0 && matches!(b[at - 1], b' ' | b'\t'))
    };
    if !indented(b"```") && !indented(b"~~~") {
        return Cow::Borrowed(md);
    }
    // (indent, fence character, fence length) of a line that opens or closes a fence.
    let fence_of = |line: &str| {
        let t = line.trim_start_matches([' ', '\t']);
        let ch = *t.as_bytes().first()?;
        if ch != b'`' && ch != b'~' {
            return None;
        }
        let n = t.bytes().take_while(|&c| c == ch).count();
        (n >= 3).then_some((line.len() - t.len(), ch, n))
    };
    let lines: Vec<&str> = md.split_inclusive('\n').collect();
    let mut out = String::with_capacity(md.len());
    let mut i = 0;
    while i < lines.len() {
        let Some((indent, ch, n)) = fence_of(lines[i]) else {
            out.push_str(lines[i]);
            i += 1;
            continue;
        };
        let closes = |l: &str| {
            fence_of(l).is_some_and(|(_, c, m)| {
                c == ch
                    && m >= n
                    && l.trim_start()
                        .trim_start_matches(ch as char)
                        .trim()
                        .is_empty()
            })
        };
        let close = (i + 1..lines.len()).find(|&j| closes(lines[j]));
        let Some(close) = close else {
            out.push_str(lines[i]);
            i += 1;
            continue;
        };
        let outdented = lines[i + 1..close].iter().any(|l| {
            let t = l.trim_start_matches([' ', '\t']);
            !t.trim().is_empty() && l.len() - t.len() < indent
        });
        for (j, line) in lines.iter().enumerate().take(close + 1).skip(i) {
            if outdented && (j == i || j == close) {
                out.push_str(line.trim_start_matches([' ', '\t']));
            } else {
                out.push_str(line);
            }
        }
        i = close + 1;
    }
    Cow::Owned(out)
}

/// Writes the text of a Markdown document into `sink`.
pub fn markdown_into(sink: &mut Sink, md: &str, opts: &Options) {
    let body = strip_front_matter(md);
    let body = kramdown_fences(body);
    let body = normalize_lines(&body);
    let mut cm = CmOptions::empty();
    cm.insert(CmOptions::ENABLE_TABLES);
    cm.insert(CmOptions::ENABLE_FOOTNOTES);
    cm.insert(CmOptions::ENABLE_STRIKETHROUGH);
    cm.insert(CmOptions::ENABLE_TASKLISTS);
    cm.insert(CmOptions::ENABLE_HEADING_ATTRIBUTES);
    let parser = TextMergeStream::new(Parser::new_ext(&body, cm));
    // Depth inside content that is dropped (code blocks, images); nested images in links etc.
    let mut skip = 0usize;
    // Raw HTML blocks arrive line by line; they are cleaned as one fragment.
    let mut html_block: Option<String> = None;
    for event in parser {
        if sink.is_full() {
            break;
        }
        if let Some(buf) = html_block.as_mut() {
            match event {
                Event::Html(h) | Event::InlineHtml(h) | Event::Text(h) => {
                    buf.push_str(&h);
                    continue;
                }
                Event::End(TagEnd::HtmlBlock) => {
                    let buf = html_block.take().unwrap_or_default();
                    if skip == 0 {
                        html_fragment(sink, &buf, opts);
                    }
                    continue;
                }
                _ => {
                    let buf = html_block.take().unwrap_or_default();
                    if skip == 0 {
                        html_fragment(sink, &buf, opts);
                    }
                }
            }
        }
        match event {
            Event::Start(tag) => match tag {
                Tag::CodeBlock(_) => {
                    sink.brk(Sep::Para);
                    if opts.drop_code {
                        skip += 1;
                    }
                }
                Tag::Image { .. } => {
                    sink.brk(Sep::Space);
                    if opts.drop_images {
                        skip += 1;
                    }
                }
                Tag::HtmlBlock => {
                    html_block = Some(String::new());
                }
                Tag::MetadataBlock(_) => skip += 1,
                Tag::Paragraph
                | Tag::Heading { .. }
                | Tag::BlockQuote(_)
                | Tag::List(_)
                | Tag::Table(_)
                | Tag::FootnoteDefinition(_)
                | Tag::DefinitionList => sink.brk(Sep::Para),
                Tag::Item
                | Tag::TableHead
                | Tag::TableRow
                | Tag::DefinitionListTitle
                | Tag::DefinitionListDefinition => sink.brk(Sep::Line),
                Tag::TableCell => sink.brk(Sep::Space),
                _ => {}
            },
            Event::End(end) => match end {
                TagEnd::CodeBlock => {
                    if opts.drop_code {
                        skip = skip.saturating_sub(1);
                    }
                    sink.brk(Sep::Para);
                }
                TagEnd::Image => {
                    if opts.drop_images {
                        skip = skip.saturating_sub(1);
                    }
                    sink.brk(Sep::Space);
                }
                TagEnd::MetadataBlock(_) => skip = skip.saturating_sub(1),
                TagEnd::Paragraph
                | TagEnd::Heading(_)
                | TagEnd::BlockQuote(_)
                | TagEnd::List(_)
                | TagEnd::Table
                | TagEnd::FootnoteDefinition
                | TagEnd::DefinitionList => sink.brk(Sep::Para),
                TagEnd::Item
                | TagEnd::TableHead
                | TagEnd::TableRow
                | TagEnd::DefinitionListTitle
                | TagEnd::DefinitionListDefinition => sink.brk(Sep::Line),
                TagEnd::TableCell => sink.brk(Sep::Space),
                _ => {}
            },
            _ if skip > 0 => {}
            Event::Text(t) => sink.push(&strip_mdx_comments(&t)),
            Event::Code(t) | Event::InlineMath(t) | Event::DisplayMath(t) => sink.push(&t),
            Event::Html(h) | Event::InlineHtml(h) => html_fragment(sink, &h, opts),
            Event::SoftBreak => sink.brk(Sep::Space),
            Event::HardBreak => sink.brk(Sep::Line),
            Event::Rule => sink.brk(Sep::Para),
            Event::FootnoteReference(_) | Event::TaskListMarker(_) => {}
        }
    }
    if let Some(buf) = html_block {
        if skip == 0 {
            html_fragment(sink, &buf, opts);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn front_matter() {
        assert_eq!(strip_front_matter("---\ntitle: x\n---\nbody"), "body");
        assert_eq!(
            strip_front_matter("+++\ntitle = \"x\"\n+++\n\nbody"),
            "\nbody"
        );
        assert_eq!(strip_front_matter("--- not\nbody"), "--- not\nbody");
        assert_eq!(strip_front_matter("\u{feff}---\na: 1\n\nb: 2\n---\nz"), "z");
    }

    #[test]
    fn containers() {
        let s = ":::message alert\nbody\n:::\n```\n:::keep\n```\n:::details Title\nx\n:::\n";
        let out = normalize_lines(s);
        assert!(!out.contains(":::message") && out.contains("body") && out.contains(":::keep"));
        assert!(out.contains("Title"));
    }

    fn md(s: &str) -> String {
        crate::clean::clean_markdown(s, &Options::default())
    }

    #[test]
    fn markdown_to_text() {
        let doc = "+++\ntitle = \"T\"\n+++\n\n# Heading {/*heading-id*/}\n\nSome *em* and **strong** \
                   [link text](https://example.com) ![alt](img.png) `code()`.\n\n\
                   ```rust\nfn main() {}\n```\n\n~~~\nnested ``` fence\n~~~\n\n    indented code\n\n\
                   | a | b |\n|---|---|\n| c | d |\n\n> quote<br/>line\n\n<div class=\"x\">raw &amp; html</div>\n";
        assert_eq!(
            md(doc),
            "Heading Some em and strong link text code(). a b c d quote line raw & html"
        );
    }

    #[test]
    fn code_and_images_kept_on_request() {
        let opts = Options {
            drop_code: false,
            drop_images: false,
            ..Options::default()
        };
        let out =
            crate::clean::clean_markdown("![alt text](a.png)\n\n```\nlet x = 1;\n```\n", &opts);
        assert_eq!(out, "alt text let x = 1;");
    }

    #[test]
    fn paragraphs_kept() {
        let opts = Options {
            keep_paragraphs: true,
            ..Options::default()
        };
        let out = crate::clean::clean_markdown("# T\n\npara one\nsoft\n\n- a\n- b\n", &opts);
        assert_eq!(out, "T\n\npara one soft\n\na\nb");
    }

    #[test]
    fn zenn_containers_and_mdx() {
        let doc = ":::message\nNote body\n:::\n\n<Intro>\n\nIntro text\n\n</Intro>\n\n<Sandpack>\n\n```js\ncode\n```\n\n</Sandpack>\n";
        assert_eq!(md(doc), "Note body Intro text");
    }

    #[test]
    fn kramdown_fences_in_list_items() {
        // The corpus's shape: a fence opened inside a list item, its lines at the left margin.
        let doc = "1. 手順の説明です。\n   ```json\n{\n\"a\": 1\n}\n   ```\n\n   以下もご参照ください。\n\n2. 次の手順です。\n";
        let text = md(doc);
        assert!(text.contains("以下もご参照ください。"), "{text:?}");
        assert!(text.contains("次の手順です。"), "{text:?}");
        assert!(!text.contains("\"a\""), "{text:?}");
        // A fence indented as CommonMark wants it is left alone.
        let fine = "1. item\n   ```\n   code\n   ```\n   after\n";
        assert_eq!(kramdown_fences(fine), fine);
        assert!(md(fine).contains("after") && !md(fine).contains("code"));
        // Unclosed or at the margin: unchanged.
        for doc in ["1. a\n   ```\nx\n", "```\nx\n```\n"] {
            assert_eq!(kramdown_fences(doc), doc);
        }
    }

    #[test]
    fn mdx_comments() {
        assert_eq!(strip_mdx_comments("Heading {/*heading-id*/}"), "Heading ");
    }
}
