//! The oracle the streaming extractor (`html.rs`) is checked against in the tests and the fuzz
//! targets: lol_html's tokenizer and element stack on the original page, with text-chunk and
//! element handlers. It uses none of the extractor's scanning code; which elements separate
//! words, and which hold no article text, are written out again here as selectors.

use std::cell::RefCell;
use std::rc::Rc;

use lol_html::html_content::{Element, TextChunk, TextType};
use lol_html::{doc_text, element, text, HtmlRewriter, Settings};

use super::text::{Sep, Sink};
use super::Options;

/// Block elements: a paragraph break before and after.
const PARA: &str = "p, div, h1, h2, h3, h4, h5, h6, blockquote, ul, ol, dl, table, section, \
                    article, header, footer, main, aside, nav, figure, hr, pre, address, \
                    details, fieldset, form, center, body, html";
/// Elements on a line of their own.
const LINE: &str = "br, li, tr, dt, dd, figcaption, caption, summary, option, legend, thead, \
                    tbody, tfoot, textarea";
/// Elements that keep the words around them apart.
const SPACE: &str = "td, th, img, input, button, label, iframe, wbr";
/// Elements whose content is never article text.
const SKIP: &str = "title, svg, template, object, math, canvas, video, audio, select, noscript";
/// Code blocks, skipped with `drop_code`.
const CODE: &str = "pre, xmp";

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
    /// The next text chunk is inside a skipped element (its element handler runs first).
    skip_next: bool,
    /// A text node holding a character reference, kept whole until it ends.
    pending: String,
}

impl State {
    fn check_full(&self) -> HandlerResult {
        if self.sink.is_full() {
            Err(Box::new(Full))
        } else {
            Ok(())
        }
    }

    fn flush(&mut self) {
        if !self.pending.is_empty() {
            let buf = std::mem::take(&mut self.pending);
            self.sink.push_plain(&htmlize::unescape(&buf));
        }
    }
}

fn on_text(st: &mut State, chunk: &TextChunk<'_>) -> HandlerResult {
    let skip = std::mem::replace(&mut st.skip_next, false);
    let raw = matches!(chunk.text_type(), TextType::ScriptData | TextType::RawText);
    if skip || raw || st.sink.is_full() {
        if chunk.last_in_text_node() {
            st.pending.clear();
        }
        return st.check_full();
    }
    st.pending.push_str(chunk.as_str());
    if chunk.last_in_text_node() {
        st.flush();
    }
    st.check_full()
}

/// A separator at the start tag and, when the element has one, at its end tag.
fn on_block(state: &Rc<RefCell<State>>, el: &mut Element<'_, '_>, sep: Sep) -> HandlerResult {
    state.borrow_mut().sink.brk(sep);
    if el.can_have_content() {
        let st = Rc::clone(state);
        el.on_end_tag(Box::new(move |_| {
            st.borrow_mut().sink.brk(sep);
            Ok(())
        }))?;
    }
    Ok(())
}

fn on_img(state: &Rc<RefCell<State>>, el: &mut Element<'_, '_>) -> HandlerResult {
    let mut st = state.borrow_mut();
    if let Some(alt) = el.get_attribute("alt") {
        st.sink.brk(Sep::Space);
        st.sink.push(&htmlize::unescape(&alt));
        st.sink.brk(Sep::Space);
    }
    st.check_full()
}

/// Writes the text of `html` into `sink`. WordPress shortcodes are stripped first by the same
/// function as the extractor's (it has tests of its own).
pub fn html_into(sink: &mut Sink, html: &str, opts: &Options) {
    let html = if opts.strip_shortcodes {
        super::wordpress::strip_shortcodes(html, opts.drop_code)
    } else {
        std::borrow::Cow::Borrowed(html)
    };
    // Handlers must be 'static, so the state owns the sink while the rewriter runs.
    let owned = std::mem::replace(sink, Sink::new(false, None, 0));
    let state = Rc::new(RefCell::new(State {
        sink: owned,
        skip_next: false,
        pending: String::new(),
    }));
    let skip = if opts.drop_code {
        format!("{SKIP}, {CODE}")
    } else {
        SKIP.to_owned()
    };
    let result = {
        let mut settings = Settings::new().with_strict(false);
        for (selector, sep) in [(PARA, Sep::Para), (LINE, Sep::Line), (SPACE, Sep::Space)] {
            let st = Rc::clone(&state);
            settings = settings.append_element_content_handler(element!(
                selector,
                move |el: &mut Element<'_, '_>| on_block(&st, el, sep)
            ));
        }
        if !opts.drop_images {
            let st = Rc::clone(&state);
            settings = settings.append_element_content_handler(element!(
                "img[alt]",
                move |el: &mut Element<'_, '_>| on_img(&st, el)
            ));
        }
        let st_skip = Rc::clone(&state);
        let st_text = Rc::clone(&state);
        let settings = settings
            .append_element_content_handler(text!(&skip, move |_t| {
                st_skip.borrow_mut().skip_next = true;
                Ok(())
            }))
            .append_document_content_handler(doc_text!(move |t| {
                on_text(&mut st_text.borrow_mut(), t)
            }));
        let mut rw = HtmlRewriter::new(settings, |_: &[u8]| {});
        match rw.write(html.as_bytes()) {
            Ok(()) => rw.end(),
            Err(e) => Err(e),
        }
    };
    // `Full` (truncation) or lol_html giving up on malformed input: the text so far stands.
    let _ = result;
    let mut st = state.borrow_mut();
    st.flush();
    *sink = std::mem::replace(&mut st.sink, Sink::new(false, None, 0));
}
