//! Python bindings of the clean stage.

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyFloat, PyString};

use super::errors::IntoPyResult;
use super::runtime::{detach, run_parallel, Threads};
use crate::clean::{self, Format, Options};
use crate::error::Error;
use crate::unicode::Text;
use std::borrow::Cow;

/// A `str` as Rust text. A lone surrogate (which UTF-8 cannot carry) becomes one U+FFFD.
pub fn text_of(s: &Bound<'_, PyString>) -> String {
    PyText::new(s).text().utf8().into_owned()
}

/// A `str`'s characters for the length of a call, leaving nothing behind on the object.
///
/// Where the interpreter's string layout is known ([`layout`]), the characters are lent as they
/// are stored (one, two or four bytes per code point) and turned into UTF-8 later, inside the
/// parallel workers, with the GIL released. Elsewhere an ASCII `str` is borrowed in place
/// (`PyUnicode_AsUTF8AndSize`, which allocates nothing for ASCII) and any other `str` is encoded
/// into a temporary `bytes` held as long as this value. Asking CPython for its cached UTF-8
/// instead would leave a copy on every non-ASCII string for the object's whole life (half again
/// a Japanese column's memory). A lone surrogate becomes U+FFFD.
pub enum PyText<'py> {
    /// Borrowed storage of a live `str`, held by `_obj`.
    Stored {
        _obj: Bound<'py, PyString>,
        chars: Stored,
    },
    Ascii(Bound<'py, PyString>),
    Encoded(Bound<'py, PyBytes>),
    Owned(String),
}

/// Where a compact `str` keeps its characters: a pointer, a length in code points and a width.
#[derive(Clone, Copy)]
pub struct Stored {
    data: *const u8,
    len: usize,
    kind: u8,
    ascii: bool,
}

impl<'py> PyText<'py> {
    pub fn new(s: &Bound<'py, PyString>) -> PyText<'py> {
        PyText::from_owned(s.clone())
    }

    /// As [`PyText::new`], keeping the reference it is given (no second count on the object).
    pub fn from_owned(s: Bound<'py, PyString>) -> PyText<'py> {
        if let Some(chars) = stored(&s) {
            return PyText::Stored { _obj: s, chars };
        }
        let ascii = s
            .call_method0("isascii")
            .and_then(|r| r.is_truthy())
            .unwrap_or(false);
        if ascii {
            return PyText::Ascii(s);
        }
        match s.encode_utf8() {
            Ok(b) => PyText::Encoded(b),
            Err(_) => PyText::Owned(lossy(&s).unwrap_or_else(|_| s.to_string_lossy().into_owned())),
        }
    }

    /// The text, borrowed from this value (which holds the object).
    pub fn text(&self) -> Text<'_> {
        match self {
            PyText::Stored { chars, .. } => {
                let Stored {
                    data,
                    len,
                    kind,
                    ascii,
                } = *chars;
                #[allow(unsafe_code)]
                // SAFETY: `data` and `len` were read from a live compact `str` whose layout
                // [`layout`] verified, and `_obj` keeps that object alive for the borrow of
                // `self`. A `str`'s characters never change after creation (only its hash and
                // UTF-8 cache, which live elsewhere in the object, are filled in later), so
                // the slices may be read from other threads while the GIL is released. `data`
                // is aligned for its width (checked in `read_stored`).
                #[allow(clippy::cast_ptr_alignment)]
                unsafe {
                    match kind {
                        1 if ascii => Text::Utf8(Cow::Borrowed(std::str::from_utf8_unchecked(
                            std::slice::from_raw_parts(data, len),
                        ))),
                        1 => Text::Latin1(std::slice::from_raw_parts(data, len)),
                        2 => Text::Ucs2(std::slice::from_raw_parts(data.cast::<u16>(), len)),
                        _ => Text::Ucs4(std::slice::from_raw_parts(data.cast::<u32>(), len)),
                    }
                }
            }
            PyText::Ascii(s) => {
                #[allow(unsafe_code)]
                {
                    extern "C" {
                        fn PyUnicode_AsUTF8AndSize(
                            unicode: *mut pyo3::ffi::PyObject,
                            size: *mut pyo3::ffi::Py_ssize_t,
                        ) -> *const std::ffi::c_char;
                    }
                    let mut size: pyo3::ffi::Py_ssize_t = 0;
                    // SAFETY: `s` is a live ASCII str held by `self`, and the GIL is held (a
                    // `Bound` exists). For an ASCII str CPython returns its own character
                    // buffer (ASCII is UTF-8), immutable and valid while the object lives,
                    // which the returned borrow of `self` guarantees; nothing is allocated.
                    unsafe {
                        let p = PyUnicode_AsUTF8AndSize(s.as_ptr(), &raw mut size);
                        if !p.is_null() {
                            #[allow(clippy::cast_sign_loss)]
                            let bytes = std::slice::from_raw_parts(p.cast::<u8>(), size as usize);
                            return Text::Utf8(Cow::Borrowed(std::str::from_utf8_unchecked(bytes)));
                        }
                    }
                }
                // Not reached for an ASCII str; clear the error rather than leave it set.
                drop(PyErr::take(s.py()));
                Text::Utf8(Cow::Borrowed(""))
            }
            PyText::Encoded(b) => Text::Utf8(Cow::Borrowed(
                std::str::from_utf8(b.as_bytes()).unwrap_or_default(),
            )),
            PyText::Owned(s) => Text::Utf8(Cow::Borrowed(s)),
        }
    }
}

/// Offsets of a compact `str`'s characters from the start of the object: after the
/// `PyASCIIObject` header when the string is ASCII, after the `PyCompactUnicodeObject` one
/// otherwise.
#[derive(Clone, Copy)]
struct Layout {
    ascii_data: usize,
    data: usize,
    /// CPython 3.9-3.11 keep a `ready` flag (bit 7 of the state); it must be set.
    ready_bit: bool,
}

/// The string layout of the running interpreter, or `None` to use the slower public API.
///
/// The limited API (abi3) does not expose a `str`'s storage, but the layout of the compact
/// strings every `str` literal, decode and concatenation creates has been fixed within each
/// CPython release: from 3.9 to 3.11 the ASCII header is 48 bytes and the full one 72; from 3.12
/// (which dropped `wstr`) 40 and 56. Other versions are not trusted. The layout is then checked
/// once against the public API on strings of every width, and each string is checked again as
/// it is read (compact, kind 1/2/4, length equal to `PyUnicode_GetLength`, aligned); anything else takes
/// the public path.
fn layout(py: Python<'_>) -> Option<Layout> {
    static LAYOUT: std::sync::OnceLock<Option<Layout>> = std::sync::OnceLock::new();
    *LAYOUT.get_or_init(|| {
        // The offsets below are those of 64-bit little-endian CPython; elsewhere (32-bit,
        // big-endian, PyPy, GraalPy) the public path is used.
        if !cfg!(all(target_pointer_width = "64", target_endian = "little")) {
            return None;
        }
        let cpython = py
            .import("sys")
            .and_then(|sys| sys.getattr("implementation"))
            .and_then(|i| i.getattr("name"))
            .and_then(|n| n.extract::<String>())
            .is_ok_and(|n| n == "cpython");
        if !cpython {
            return None;
        }
        let v = py.version_info();
        let candidate = match (v.major, v.minor) {
            (3, 9..=11) => Layout {
                ascii_data: 48,
                data: 72,
                ready_bit: true,
            },
            (3, 12..=14) => Layout {
                ascii_data: 40,
                data: 56,
                ready_bit: false,
            },
            _ => return None,
        };
        let samples = [
            "",
            "plain ascii",
            "caf\u{e9} \u{ff}",
            "\u{65e5}\u{672c}\u{8a9e}\u{3000}text",
            "emoji \u{1f600} \u{65e5}",
        ];
        for sample in samples {
            // Made by decoding UTF-8, as most strings in a table are.
            let obj = PyString::new(py, sample);
            let chars = read_stored(&obj, candidate)?;
            let held = PyText::Stored { _obj: obj, chars };
            if held.text().utf8() != sample {
                return None;
            }
        }
        Some(candidate)
    })
}

fn stored(s: &Bound<'_, PyString>) -> Option<Stored> {
    read_stored(s, layout(s.py())?)
}

fn read_stored(s: &Bound<'_, PyString>, layout: Layout) -> Option<Stored> {
    let obj = s.as_ptr().cast::<u8>();
    #[allow(unsafe_code)]
    // SAFETY: `s` is a live `str`, so it is at least a `PyASCIIObject` (40 or 48 bytes): the
    // length (offset 16) and state (offset 32) fields are in bounds. The data pointer is only
    // formed after the state says the object is compact, which puts the characters at the
    // layout's offset, and after the stored length matches CPython's own answer.
    unsafe {
        let length = obj.add(16).cast::<isize>().read_unaligned();
        let state = obj.add(32).cast::<u32>().read_unaligned();
        let kind = ((state >> 2) & 0b111) as u8;
        let compact = state & (1 << 5) != 0;
        let ascii = state & (1 << 6) != 0;
        if !compact || !matches!(kind, 1 | 2 | 4) || (layout.ready_bit && state & (1 << 7) == 0) {
            return None;
        }
        if ascii && kind != 1 {
            return None;
        }
        if length < 0 || pyo3::ffi::PyUnicode_GetLength(s.as_ptr()) != length {
            return None;
        }
        let offset = if ascii {
            layout.ascii_data
        } else {
            layout.data
        };
        let data = obj.add(offset);
        if !(data as usize).is_multiple_of(usize::from(kind)) {
            return None;
        }
        Some(Stored {
            data,
            len: length as usize,
            kind,
            ascii,
        })
    }
}

/// Through UTF-16 with `surrogatepass`: valid pairs join, each lone surrogate is one U+FFFD.
fn lossy(s: &Bound<'_, PyString>) -> PyResult<String> {
    let encoded = s.call_method1("encode", ("utf-16-le", "surrogatepass"))?;
    let bytes = encoded.cast::<PyBytes>()?.as_bytes();
    let units: Vec<u16> = bytes
        .chunks_exact(2)
        .map(|p| u16::from_le_bytes([p[0], p[1]]))
        .collect();
    Ok(String::from_utf16_lossy(&units))
}

fn options(
    drop_code: bool,
    drop_images: bool,
    keep_paragraphs: bool,
    max_chars: Option<usize>,
) -> Options {
    Options {
        drop_code,
        drop_images,
        keep_paragraphs,
        max_chars,
        strip_shortcodes: true,
    }
}

fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map_or_else(|_| "?".to_string(), |n| n.to_string())
}

/// Cleans one HTML document (WordPress `post_content` or a whole page) to plain text.
///
/// `bytes` are decoded from a BOM or the `<meta charset>` the page declares, else as UTF-8
/// with replacement characters. Never raises on document content.
#[pyfunction]
#[pyo3(signature = (html, /, *, drop_code = true, drop_images = true, keep_paragraphs = false, max_chars = None))]
pub fn clean_html(
    py: Python<'_>,
    html: &Bound<'_, PyAny>,
    drop_code: bool,
    drop_images: bool,
    keep_paragraphs: bool,
    max_chars: Option<usize>,
) -> PyResult<String> {
    let opts = options(drop_code, drop_images, keep_paragraphs, max_chars);
    if let Ok(s) = html.cast::<PyString>() {
        let held = PyText::new(s);
        let text = held.text();
        return detach(py, || clean::clean_html(&text.utf8(), &opts));
    }
    if let Ok(b) = html.cast::<PyBytes>() {
        let bytes = b.as_bytes().to_vec();
        return detach(py, || clean::clean_html_bytes(&bytes, &opts));
    }
    Err(Error::InvalidType(format!(
        "html must be str or bytes, got {}",
        type_name(html)
    )))
    .py_err(py)
}

/// Cleans one Markdown document (CommonMark, GFM, Jekyll/Hugo front matter, Zenn, MDX).
#[pyfunction]
#[pyo3(signature = (md, /, *, drop_code = true, drop_images = true, keep_paragraphs = false, max_chars = None))]
pub fn clean_markdown(
    py: Python<'_>,
    md: &Bound<'_, PyAny>,
    drop_code: bool,
    drop_images: bool,
    keep_paragraphs: bool,
    max_chars: Option<usize>,
) -> PyResult<String> {
    let Ok(s) = md.cast::<PyString>() else {
        return Err(Error::InvalidType(format!(
            "md must be str, got {}",
            type_name(md)
        )))
        .py_err(py);
    };
    let held = PyText::new(s);
    let text = held.text();
    let opts = options(drop_code, drop_images, keep_paragraphs, max_chars);
    detach(py, || clean::clean_markdown(&text.utf8(), &opts))
}

/// Guesses a document's format: "html", "markdown" or "text".
#[pyfunction]
pub fn detect_format(doc: &Bound<'_, PyString>) -> &'static str {
    match clean::detect(&text_of(doc)) {
        Format::Html => "html",
        Format::Markdown => "markdown",
        Format::Text | Format::Auto => "text",
    }
}

/// Reads one item of a batch: text, or missing (None, NaN, pandas.NA).
fn item_text<'py>(obj: &Bound<'py, PyAny>, index: usize) -> Result<Option<PyText<'py>>, Error> {
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(Some(PyText::new(s)));
    }
    if obj.is_none() {
        return Ok(None);
    }
    if let Ok(f) = obj.cast::<PyFloat>() {
        if f.value().is_nan() {
            return Ok(None);
        }
    }
    let name = type_name(obj);
    if name == "NAType" || name == "NaTType" {
        return Ok(None);
    }
    Err(Error::InvalidType(format!(
        "docs[{index}]: expected str or None, got {name}"
    )))
}

/// Cleans a batch of documents in parallel with the GIL released. Missing values stay `None`.
///
/// `progress`, when given, is called with the number of documents finished since its last call.
#[pyfunction]
#[pyo3(signature = (docs, /, *, format = "auto", drop_code = true, drop_images = true, keep_paragraphs = false, max_chars = None, threads = None, progress = None))]
#[allow(clippy::too_many_arguments)]
pub fn clean_batch(
    py: Python<'_>,
    docs: &Bound<'_, PyAny>,
    format: &str,
    drop_code: bool,
    drop_images: bool,
    keep_paragraphs: bool,
    max_chars: Option<usize>,
    threads: Option<usize>,
    progress: Option<Bound<'_, PyAny>>,
) -> PyResult<Vec<Option<String>>> {
    let format: Format = format.parse().py_err(py)?;
    let opts = options(drop_code, drop_images, keep_paragraphs, max_chars);
    let pool = Threads::new(threads).py_err(py)?;
    // The texts are held (ASCII borrowed in place) and read while the GIL is released.
    let mut held = Vec::new();
    for (i, item) in docs.try_iter()?.enumerate() {
        held.push(item_text(&item?, i).py_err(py)?);
    }
    let texts: Vec<Option<Text<'_>>> = held.iter().map(|t| t.as_ref().map(PyText::text)).collect();
    // Each text becomes UTF-8 (where it is not already) in the worker that cleans it, in a
    // buffer each worker thread reuses.
    let one = |d: &Option<Text<'_>>| {
        d.as_ref().map(|d| {
            thread_local! {
                static BUF: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
            }
            BUF.with_borrow_mut(|buf| {
                let out = clean::clean(d.utf8_in(buf), format, &opts);
                // Keep a large document's buffer from pinning its memory for good.
                if buf.capacity() > 1 << 24 {
                    *buf = String::new();
                }
                out
            })
        })
    };
    run_parallel(py, &pool, &texts, one, progress.as_ref())
}
