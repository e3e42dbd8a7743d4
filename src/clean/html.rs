//! HTML to text with lol_html: one streaming pass, no DOM.
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

/// How an element separates the words around it (`tag` is lowercase ASCII).
fn separator(tag: &[u8]) -> Sep {
    match tag {
        b"p" | b"div" | b"h1" | b"h2" | b"h3" | b"h4" | b"h5" | b"h6" | b"blockquote" | b"ul"
        | b"ol" | b"dl" | b"table" | b"section" | b"article" | b"header" | b"footer" | b"main"
        | b"aside" | b"nav" | b"figure" | b"hr" | b"pre" | b"address" | b"details"
        | b"fieldset" | b"form" | b"center" | b"body" | b"html" => Sep::Para,
        b"br" | b"li" | b"tr" | b"dt" | b"dd" | b"figcaption" | b"caption" | b"summary"
        | b"option" | b"legend" | b"thead" | b"tbody" | b"tfoot" | b"textarea" => Sep::Line,
        b"td" | b"th" | b"img" | b"input" | b"button" | b"label" | b"iframe" | b"wbr" => Sep::Space,
        _ => Sep::None,
    }
}

/// Decodes character references (`&amp;`, `&nbsp;`, `&#12354;`, `&hellip;`, legacy `&copy`) as
/// an HTML5 parser does in text.
pub fn decode_entities(s: &str) -> Cow<'_, str> {
    if memchr::memchr(b'&', s.as_bytes()).is_none() {
        Cow::Borrowed(s)
    } else {
        htmlize::unescape(s)
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

/// True when `b[at..]` starts with `<name` (ASCII case-insensitive) followed by a tag delimiter.
fn tag_at(b: &[u8], at: usize, name: &[u8], closing: bool) -> bool {
    let start = at + 1 + usize::from(closing);
    let end = start + name.len();
    end < b.len()
        && (!closing || b[at + 1] == b'/')
        && b[start..end].eq_ignore_ascii_case(name)
        && matches!(b[end], b'>' | b'/' | b' ' | b'\t' | b'\n' | b'\r' | 0x0c)
}

/// Where the end tag `</name ...>` after `from` starts and ends (one past its `>`); `None` when
/// the element is never closed (it then runs to the end of the document, as in a browser).
fn close_of(b: &[u8], from: usize, name: &[u8]) -> Option<(usize, usize)> {
    let mut pos = from;
    while let Some(off) = memchr::memmem::find(&b[pos..], b"</") {
        let at = pos + off;
        if tag_at(b, at, name, true) {
            let end = memchr::memchr(b'>', &b[at..]).map_or(b.len(), |e| at + e + 1);
            return Some((at, end));
        }
        pos = at + 2;
    }
    None
}

/// Where the comment opening at `at` (`<!--`) ends, one past `-->` or `--!>` (an HTML5
/// tokenizer ends a comment at either); `<!-->` and `<!--->` are complete empty comments.
fn comment_end(b: &[u8], at: usize) -> Option<usize> {
    let rest = &b[at + 4..];
    if rest.starts_with(b">") {
        return Some(at + 5);
    }
    if rest.starts_with(b"->") {
        return Some(at + 6);
    }
    let mut pos = at + 4;
    while let Some(off) = memchr::memmem::find(&b[pos..], b"--") {
        let dash = pos + off;
        match &b[dash + 2..] {
            [b'>', ..] => return Some(dash + 3),
            [b'!', b'>', ..] => return Some(dash + 4),
            _ => pos = dash + 1,
        }
    }
    None
}

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0c)
}

/// The end of a tag whose name ends at `i` (one past its `>`), and whether it closes itself
/// (`/>`), following the HTML tokenizer's attribute states: a `>` inside a quoted attribute
/// value does not end the tag. `None` when the document ends inside the tag.
fn tag_end(b: &[u8], mut i: usize) -> Option<(usize, bool)> {
    let skip_space = |i: &mut usize| {
        while *i < b.len() && is_space(b[*i]) {
            *i += 1;
        }
    };
    loop {
        // Before an attribute name.
        skip_space(&mut i);
        match *b.get(i)? {
            b'>' => return Some((i + 1, false)),
            b'/' => {
                if b.get(i + 1) == Some(&b'>') {
                    return Some((i + 2, true));
                }
                i += 1;
                continue;
            }
            _ => {}
        }
        // The name (its first character may be anything, even `=`).
        i += 1;
        while i < b.len() && !matches!(b[i], b'/' | b'>' | b'=') && !is_space(b[i]) {
            i += 1;
        }
        skip_space(&mut i);
        if b.get(i) != Some(&b'=') {
            continue;
        }
        i += 1;
        skip_space(&mut i);
        match *b.get(i)? {
            q @ (b'"' | b'\'') => i += 1 + memchr::memchr(q, &b[i + 1..])? + 1,
            b'>' => return Some((i + 1, false)),
            _ => {
                while i < b.len() && b[i] != b'>' && !is_space(b[i]) {
                    i += 1;
                }
            }
        }
    }
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
            let close_end = close_of(b, end, lower).map_or(b.len(), |(_, e)| e);
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

#[cfg(test)]
mod tests {
    use super::super::{clean_html, Options};

    fn clean(html: &str) -> String {
        clean_html(html, &Options::default())
    }

    #[test]
    fn blocks_separate_words() {
        assert_eq!(clean("<p>a</p><p>b</p>"), "a b");
        assert_eq!(
            clean("<h2>Title</h2>Text<ul><li>x</li><li>y</li></ul>z"),
            "Title Text x y z"
        );
        assert_eq!(clean("<table><tr><td>1</td><td>2</td></tr></table>"), "1 2");
        assert_eq!(clean("a<br>b<br/>c"), "a b c");
        assert_eq!(clean("<b>bo</b><i>ld</i>"), "bold");
    }

    #[test]
    fn drops_non_text_elements() {
        let html = "<html><head><title>T</title><style>p{color:red}</style><script>var x=1;</script></head>\
                    <body><noscript>enable js</noscript><template><p>tpl</p></template>\
                    <svg><text>svg text</text></svg><iframe>frame</iframe><object><p>obj</p></object>\
                    <p>kept</p><script>unclosed";
        assert_eq!(clean(html), "kept");
    }

    #[test]
    fn code_blocks_follow_drop_code() {
        let html = "<p>see <code>inline()</code></p><pre><code>block();</code></pre>\
                    <!-- wp:code --><pre class=\"wp-block-code\"><code>wp();</code></pre><!-- /wp:code --><p>end</p>";
        assert_eq!(clean(html), "see inline() end");
        let keep = Options {
            drop_code: false,
            ..Options::default()
        };
        assert_eq!(clean_html(html, &keep), "see inline() block(); wp(); end");
    }

    #[test]
    fn implicitly_closed_pre_does_not_swallow_the_page() {
        assert_eq!(clean("<div>a<pre>code</div><p>after</p>"), "a after");
    }

    #[test]
    fn images_follow_drop_images() {
        let html = "<p>x <img src=\"a.png\" alt=\"A &amp; B\"> y</p>";
        assert_eq!(clean(html), "x y");
        let keep = Options {
            drop_images: false,
            ..Options::default()
        };
        assert_eq!(clean_html(html, &keep), "x A & B y");
    }

    #[test]
    fn decodes_every_reference() {
        assert_eq!(
            clean("&amp; &lt;&gt; &nbsp;x &#12354;&#x3042; &hellip; &copy &rarr; &unknown;"),
            "& <> x ああ \u{2026} \u{a9} \u{2192} &unknown;"
        );
    }

    #[test]
    fn wordpress_blocks_and_shortcodes() {
        let html = "<!-- wp:paragraph --><p>Intro</p><!-- /wp:paragraph --><!--more-->\
                    [caption id=\"a\" width=\"300\"]<img src=\"c.jpg\"> The caption[/caption]\
                    [gallery ids=\"1,2,3\"][embed]https://youtu.be/x[/embed]<p>Outro</p>";
        assert_eq!(clean(html), "Intro The caption Outro");
    }

    #[test]
    fn keep_paragraphs() {
        let opts = Options {
            keep_paragraphs: true,
            ..Options::default()
        };
        assert_eq!(
            clean_html(
                "<h1>T</h1><p>one\ntwo</p><p>three<br>four</p><ul><li>a</li><li>b</li></ul>",
                &opts
            ),
            "T\n\none two\n\nthree\nfour\n\na\nb"
        );
        assert_eq!(
            clean_html("First para.\n\nSecond <b>para</b>.", &opts),
            "First para.\n\nSecond para."
        );
    }

    #[test]
    fn truncation_stops_early_on_char_boundary() {
        let opts = Options {
            max_chars: Some(4),
            ..Options::default()
        };
        assert_eq!(
            clean_html("<p>日本語テキスト</p><p>more</p>", &opts),
            "日本語テ"
        );
        let opts = Options {
            max_chars: Some(3),
            ..Options::default()
        };
        assert_eq!(clean_html("<p>ab</p><p>cd</p>", &opts), "ab ");
    }

    #[test]
    fn scripts_and_styles_are_cut_before_parsing() {
        use super::scan;
        let outside_scripts = |h| scan(h, false).stream;
        assert_eq!(
            outside_scripts("a<script>x</script>b<STYLE type=x>p{}</style >c"),
            "a<!---->b<!---->c"
        );
        // Not tags: inside a comment, a textarea, a title; `<scripts>` is another element.
        let keep = "<!-- <script> --><textarea><script></textarea><title><style></title><scripts>";
        assert_eq!(
            outside_scripts(keep),
            "<!----><textarea><script></textarea><title><style></title><scripts>"
        );
        assert_eq!(outside_scripts("a<script>never closed"), "a<!---->");
        assert_eq!(
            outside_scripts("a<script>x</scriptx>y</script>b"),
            "a<!---->b"
        );
        assert_eq!(
            clean("<p>x<script>document.write('<p>no</p>')</script>y</p>"),
            "xy"
        );
        assert_eq!(clean("<!--> <p>shown</p>"), "shown");
    }

    #[test]
    fn tags_lose_their_attributes_but_not_their_meaning() {
        use super::scan;
        let slim = |h| scan(h, false).stream;
        assert_eq!(
            slim("<div class=\"a > b\" id='x>y' data-n=3 hidden><P Style=x>t</p ></div>"),
            "<div><P>t</p></div>"
        );
        assert_eq!(
            slim("<svg><path d=\"M0 0\"/><br/></svg>"),
            "<svg><path/><br/></svg>"
        );
        assert_eq!(
            slim("a < b <3 <!doctype html><? x ?></ x>"),
            "a < b <3 <!doctype html><? x ?></ x>"
        );
        assert_eq!(
            clean("<p>a</p><!-- x --!><p>visible</p><!-- y -->z"),
            "a visible z"
        );
        assert_eq!(clean("<p>a</p><!-- never closed <p>b</p>"), "a");
        assert_eq!(
            clean("<svg><![CDATA[ <!-- ]]></svg><p>visible</p>"),
            "visible"
        );
        assert_eq!(slim("<!x <b title=\">\">shown"), "<!x <b title=\">\">shown");
        assert_eq!(clean("<!x <b title=\">\">shown"), "\">shown");
        assert_eq!(
            slim("<plaintext>a</plaintext><b title=\"x\">y"),
            "<plaintext>a</plaintext><b title=\"x\">y"
        );
        assert_eq!(
            slim("<svg><font color=x><annotation-xml encoding=text/html></svg>"),
            "<svg><font color=x><annotation-xml encoding=text/html></svg>"
        );
        assert_eq!(
            slim("x<!-- c -->y<!---->z<!-->w"),
            "x<!---->y<!---->z<!---->w"
        );
        assert_eq!(
            slim("<textarea a=1><b x=1></textarea >"),
            "<textarea><b x=1></textarea>"
        );
        assert_eq!(slim("<p>kept <a href=\"x"), "<p>kept <a href=\"x");
        assert_eq!(slim("<a b=\"c\"d>x"), "<a>x");
        assert_eq!(
            scan("<img alt=\"cat\" src=x><b c=d>", true).stream,
            "<img alt=\"cat\" src=x><b>"
        );
        assert_eq!(
            clean("<p title=\"a > b\">one</p><div data-x='<p>no</p>'>two</div>"),
            "one two"
        );
        assert_eq!(
            clean("<p>caf\u{e9}<span lang=ja>\u{65e5}\u{672c}</span></p>"),
            "caf\u{e9}\u{65e5}\u{672c}"
        );
    }

    #[test]
    fn hostile_input_never_panics() {
        for html in [
            "",
            "<",
            "</",
            "<!--",
            "<![CDATA[",
            "<p",
            "&",
            "&#",
            "&#x110000;",
            "&#0;",
            "\0\0<p>\0</p>",
            "<svg><p>x",
            "<a href='",
            "<a href=",
            "<a b",
            "<a/",
            "</a",
            "<\u{e9}",
            "<a\u{e9}\u{e9} \u{65e5}=\u{65e5}>\u{65e5}",
            "[caption",
            "[/x]",
        ] {
            let _ = clean(html);
        }
        assert_eq!(clean("a\0b"), "ab");
        let deep = "<div>".repeat(100_000) + "deep" + &"</div>".repeat(100_000);
        assert_eq!(clean(&deep), "deep");
    }
}
