//! The former HTML cleaner (lol_html reading a slim copy of the page), kept for tests as the
//! oracle the streaming extractor of `html.rs` is checked against.
//!
//! Text reaches us through one document-level text handler. Text inside elements whose content
//! must go (code blocks, SVG, templates, ...) is first seen by an element-level text handler on
//! those selectors, which lol_html calls just before the document handler for the same chunk; it
//! marks the chunk as skipped. Relying on lol_html's own element stack (rather than counting end
//! tags ourselves) keeps implicitly closed elements from swallowing the rest of the page.

use std::borrow::Cow;
use std::cell::RefCell;
use std::rc::Rc;

use lol_html::html_content::{Element, TextChunk, TextType};
use lol_html::{doc_text, element, text, HtmlRewriter, Settings};

use super::html::{decode_entities, separator};
use super::tags::{close_of, comment_end, is_space, script_close, tag_end};
use super::text::{Sep, Sink};
use super::Options;

/// Elements whose whole content is never article text. Type selectors only: an attribute or
/// class selector makes lol_html parse the attributes of every element (measured: -15%).
const ALWAYS_SKIP: &str = "title, svg, template, object, math, canvas, video, audio, select, \
                           noscript";
/// Code blocks, dropped with `drop_code`: `pre`, which covers WordPress's code blocks
/// (`<pre class="wp-block-code">`, `<pre class="wp-block-syntaxhighlighter-code">`) and the
/// `<pre class="brush: ...">` of highlighter plugins.
const CODE_SKIP: &str = "pre, xmp";

#[derive(Debug)]
struct Full;

impl std::fmt::Display for Full {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("max_chars reached")
    }
}

impl std::error::Error for Full {}

type HandlerResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

struct State {
    sink: Sink,
    skip_next: bool,
    /// Text of the current text node when it contains a character reference, kept until the
    /// node ends so a reference split across chunks is decoded whole.
    pending: String,
    /// Block-tag separators found by [`scan`], as (offset in the written stream, separator).
    marks: Vec<(usize, Sep)>,
    next_mark: usize,
}

impl State {
    fn check_full(&self) -> HandlerResult {
        if self.sink.is_full() {
            Err(Box::new(Full))
        } else {
            Ok(())
        }
    }
}

fn on_text(st: &mut State, chunk: &TextChunk<'_>) -> HandlerResult {
    // Separators of the block tags that precede this text (they are in document order).
    let at = chunk.source_location().bytes().start;
    while let Some(&(offset, sep)) = st.marks.get(st.next_mark) {
        if offset >= at {
            break;
        }
        st.sink.brk(sep);
        st.next_mark += 1;
    }
    let skip = std::mem::replace(&mut st.skip_next, false);
    if skip || st.sink.is_full() {
        st.pending.clear();
        return st.check_full();
    }
    match chunk.text_type() {
        // script, style, iframe, noembed, noframes, xmp, noscript: never text to read.
        TextType::ScriptData | TextType::RawText => return Ok(()),
        _ => {}
    }
    let s = chunk.as_str();
    let last = chunk.last_in_text_node();
    if !st.pending.is_empty() || (!last && memchr::memchr(b'&', s.as_bytes()).is_some()) {
        st.pending.push_str(s);
        if last {
            let buf = std::mem::take(&mut st.pending);
            st.sink.push_plain(&decode_entities(&buf));
        }
    } else {
        st.sink.push_plain(&decode_entities(s));
    }
    st.check_full()
}

/// Writes the text of `html` into `sink`.
///
/// A blank line inside a text node counts as a paragraph break (for `keep_paragraphs`), as
/// WordPress's `wpautop` makes it one: classic-editor posts have no `<p>` tags.
pub fn html_into(sink: &mut Sink, html: &str, opts: &Options) {
    let html = if opts.strip_shortcodes {
        super::wordpress::strip_shortcodes(html, opts.drop_code)
    } else {
        Cow::Borrowed(html)
    };
    // End-tag handlers must be 'static, so the state owns the sink while the rewriter runs.
    let owned = std::mem::replace(sink, Sink::new(false, None, 0));
    let plan = scan(&html, !opts.drop_images);
    let state = Rc::new(RefCell::new(State {
        sink: owned,
        skip_next: false,
        pending: String::new(),
        marks: plan.marks,
        next_mark: 0,
    }));
    let skip_selector = if opts.drop_code {
        Cow::Owned(format!("{ALWAYS_SKIP}, {CODE_SKIP}"))
    } else {
        Cow::Borrowed(ALWAYS_SKIP)
    };
    let result = {
        let st_img = Rc::clone(&state);
        let st_skip = Rc::clone(&state);
        let st_text = Rc::clone(&state);
        let mut settings = Settings::new().with_strict(false);
        if !opts.drop_images {
            settings = settings.append_element_content_handler(element!(
                "img[alt]",
                move |el: &mut Element<'_, '_>| on_img(&st_img, el)
            ));
        }
        let settings = settings
            .append_element_content_handler(text!(skip_selector.as_ref(), move |_t| {
                st_skip.borrow_mut().skip_next = true;
                Ok(())
            }))
            .append_document_content_handler(doc_text!(move |t| {
                on_text(&mut st_text.borrow_mut(), t)
            }));
        let mut rw = HtmlRewriter::new(settings, |_: &[u8]| {});
        match rw.write(plan.stream.as_bytes()) {
            Ok(()) => rw.end(),
            Err(e) => Err(e),
        }
    };
    // An error here is either our own `Full` (truncation reached) or lol_html giving up on
    // malformed input; in both cases the text gathered so far is the answer. Never raise on
    // document content.
    let _ = result;
    let mut st = state.borrow_mut();
    if !st.pending.is_empty() {
        let buf = std::mem::take(&mut st.pending);
        st.sink.push_plain(&decode_entities(&buf));
    }
    *sink = std::mem::replace(&mut st.sink, Sink::new(false, None, 0));
}

/// Plans the parse: the text lol_html reads, and where block tags separate words in it.
///
/// Block separators come from this scan rather than from lol_html element handlers: an element
/// handler makes lol_html build every element (measured: the whole cleaner ran ~35% slower).
/// The text handler receives each chunk's source offset, and applies the separators before it.
///
/// Most of a real page is never text: half its bytes are scripts and styles (52% in the shared
/// corpus), and two thirds of the rest is tag markup, mostly attributes. None of it reaches the
/// output, so the scan hands lol_html a slimmer copy of the page: `<script>` and `<style>`
/// elements and the content of comments are cut out (an empty `<!---->` stays in their place,
/// so a text node still ends there), and every tag loses its attributes (`<div class="a b"
/// id=x>` becomes `<div>`; `/>` is kept, which matters in SVG and MathML). `img` keeps its
/// attributes when images are wanted (their `alt` is read). A tag's end is found as the HTML
/// tokenizer finds it (quoted values may hold `>`), and the other raw-text elements
/// (`textarea`, `title`, `iframe`, `noscript`, ...) are copied whole, so a `<script>` written
/// inside them is not a tag, as in a browser. Removing a script joins the words around it,
/// which is what a browser shows.
fn scan(html: &str, keep_img_attributes: bool) -> Plan {
    const RAW: [&[u8]; 8] = [
        b"textarea",
        b"title",
        b"xmp",
        b"iframe",
        b"noembed",
        b"noframes",
        b"noscript",
        b"plaintext",
    ];
    let b = html.as_bytes();
    // The slim copy is never longer than the page but for emptied `<!-->` comments; capacity
    // that is not written costs no memory, a reallocation while growing would.
    let mut out = String::with_capacity(b.len() + 64);
    let mut marks = Vec::new();
    // `b[..copied]` is already written to `out` or dropped.
    let mut copied = 0;
    let mut pos = 0;
    while let Some(off) = memchr::memchr(b'<', &b[pos..]) {
        let at = pos + off;
        let rest = &b[at + 1..];
        if rest.starts_with(b"!--") {
            // `<!-->` and `<!--->` are complete (empty) comments; others end at `-->` or
            // `--!>`. An unclosed one is left to lol_html with the rest of the page (it may not
            // be a comment at all, e.g. inside CDATA).
            let Some(end) = comment_end(b, at) else {
                break;
            };
            out.push_str(&html[copied..at]);
            // An empty comment still ends the text node, as the real one did: whitespace on
            // both sides must not join into a blank line (a paragraph break).
            out.push_str("<!---->");
            copied = end;
            pos = end;
            continue;
        }
        let closing = rest.first() == Some(&b'/');
        let name_start = usize::from(closing);
        if !rest.get(name_start).is_some_and(u8::is_ascii_alphabetic) {
            // Not a tag. A doctype, CDATA section or bogus comment (`<!x`, `<?`, `</1`) is
            // copied as it is through its end, so nothing inside it is taken for a tag.
            pos = match rest.first() {
                Some(b'!') if rest.starts_with(b"![CDATA[") => {
                    match memchr::memmem::find(&b[at..], b"]]>") {
                        Some(e) => at + e + 3,
                        None => break,
                    }
                }
                Some(b'!' | b'?' | b'/') => match memchr::memchr(b'>', &b[at..]) {
                    Some(e) => at + e + 1,
                    None => break,
                },
                _ => at + 1,
            };
            continue;
        }
        let name_len = rest[name_start..]
            .iter()
            .position(|&c| c == b'/' || c == b'>' || is_space(c))
            .unwrap_or(rest.len() - name_start);
        let name = &rest[name_start..name_start + name_len];
        let Some((end, self_closing)) = tag_end(b, at + 1 + name_start + name_len) else {
            // The document ends inside the tag: lol_html drops it.
            break;
        };
        let mut lower = [0u8; 10];
        let lower = if name_len <= lower.len() {
            lower[..name_len].copy_from_slice(name);
            lower[..name_len].make_ascii_lowercase();
            &lower[..name_len]
        } else {
            &[][..]
        };
        out.push_str(&html[copied..at]);
        if !closing && (lower == b"script" || lower == b"style") {
            // Cut to an empty comment, which ends the text node as the element did; an
            // unclosed one runs to the end of the document.
            out.push_str("<!---->");
            let close = if lower == b"script" {
                script_close(b, end)
            } else {
                close_of(b, end, lower)
            };
            let close_end = close.map_or(b.len(), |(_, e)| e);
            copied = close_end;
            pos = close_end;
            continue;
        }
        let sep = separator(lower);
        if sep != Sep::None {
            marks.push((out.len(), sep));
        }
        // `<font color|face|size>` and `<annotation-xml encoding>` tell the tokenizer whether
        // it is still in SVG/MathML, so they keep their attributes, as `img` does when its
        // `alt` is wanted.
        if (keep_img_attributes && lower == b"img")
            || lower == b"font"
            || name.eq_ignore_ascii_case(b"annotation-xml")
        {
            out.push_str(&html[at..end]);
        } else {
            out.push('<');
            out.push_str(&html[at + 1..at + 1 + name_start + name_len]);
            if self_closing {
                out.push('/');
            }
            out.push('>');
        }
        copied = end;
        pos = end;
        if !closing && lower == b"plaintext" {
            // Nothing after `<plaintext>` is markup, not even `</plaintext>`.
            break;
        }
        if !closing && RAW.contains(&lower) {
            // Copied as it is up to its end tag, which the loop then reads as a tag.
            match close_of(b, end, lower) {
                Some((close, _)) => pos = close,
                None => break,
            }
        }
    }
    out.push_str(&html[copied..]);
    // Every slice above starts and ends at an ASCII byte (`<`, `>`, a tag delimiter) or at an
    // end of the document, so none cuts a character.
    Plan { stream: out, marks }
}

/// What [`scan`] finds before parsing: the text to parse, and where block tags separate words.
struct Plan {
    stream: String,
    marks: Vec<(usize, Sep)>,
}

fn on_img(state: &Rc<RefCell<State>>, el: &mut Element<'_, '_>) -> HandlerResult {
    let mut st = state.borrow_mut();
    if let Some(alt) = el.get_attribute("alt") {
        st.sink.brk(Sep::Space);
        st.sink.push(&decode_entities(&alt));
        st.sink.brk(Sep::Space);
    }
    st.check_full()
}
