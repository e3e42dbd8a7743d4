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
/// On CPython the characters are lent as they are stored (one, two or four bytes per code
/// point, read with pyo3's `PyString::data()`) and turned into UTF-8 later, inside the
/// parallel workers, with the GIL released. On other interpreters (PyPy, GraalPy) and builds
/// without `data()`, the text is encoded once into a temporary `bytes` held as long as this
/// value ([`PyText::public`]). Asking CPython for its cached UTF-8 instead would leave a copy on
/// every non-ASCII string for the object's whole life (half again a Japanese column's memory).
/// A lone surrogate becomes U+FFFD.
pub enum PyText<'py> {
    /// Borrowed storage of a live `str`, held by `_obj`.
    Stored {
        _obj: Bound<'py, PyString>,
        chars: Stored,
    },
    Encoded(Bound<'py, PyBytes>),
    Owned(String),
}

/// Where a `str` keeps its characters: a pointer, a length in code points and a width.
#[derive(Clone, Copy)]
pub struct Stored {
    data: *const u8,
    len: usize,
    kind: u8,
}

impl<'py> PyText<'py> {
    pub fn new(s: &Bound<'py, PyString>) -> PyText<'py> {
        PyText::from_owned(s.clone())
    }

    /// As [`PyText::new`], keeping the reference it is given (no second count on the object).
    pub fn from_owned(s: Bound<'py, PyString>) -> PyText<'py> {
        match stored(&s) {
            Some(chars) => PyText::Stored { _obj: s, chars },
            None => PyText::public(&s),
        }
    }

    /// The text through pyo3's public conversion: UTF-8 in a `bytes`, or (with a lone
    /// surrogate) a `String` with U+FFFD in its place.
    pub fn public(s: &Bound<'py, PyString>) -> PyText<'py> {
        match s.encode_utf8() {
            Ok(b) => PyText::Encoded(b),
            Err(_) => PyText::Owned(lossy(s).unwrap_or_else(|_| s.to_string_lossy().into_owned())),
        }
    }

    /// The text, borrowed from this value (which holds the object).
    pub fn text(&self) -> Text<'_> {
        match self {
            PyText::Stored { chars, .. } => {
                let Stored { data, len, kind } = *chars;
                #[allow(unsafe_code)]
                // SAFETY: `data` and `len` are what `PyString::data()` returned for the live
                // `str` that `_obj` holds for the borrow of `self`. A `str`'s characters never
                // change after creation (only its hash and UTF-8 cache, which live elsewhere
                // in the object, are filled in later), so the slices may be read from other
                // threads while the GIL is released.
                #[allow(clippy::cast_ptr_alignment)]
                unsafe {
                    match kind {
                        1 => Text::Latin1(std::slice::from_raw_parts(data, len)),
                        2 => Text::Ucs2(std::slice::from_raw_parts(data.cast::<u16>(), len)),
                        _ => Text::Ucs4(std::slice::from_raw_parts(data.cast::<u32>(), len)),
                    }
                }
            }
            PyText::Encoded(b) => Text::Utf8(Cow::Borrowed(
                std::str::from_utf8(b.as_bytes()).unwrap_or_default(),
            )),
            PyText::Owned(s) => Text::Utf8(Cow::Borrowed(s)),
        }
    }
}

/// The storage of `s` (CPython, not the limited API).
#[cfg(not(any(Py_LIMITED_API, PyPy, GraalPy)))]
fn stored(s: &Bound<'_, PyString>) -> Option<Stored> {
    use pyo3::types::string::PyStringData;
    #[allow(unsafe_code)]
    // SAFETY: `data()` reads the string's kind from CPython's bitfield, which pyo3 tests on
    // the platforms we build for; `tests/test_clean.py` checks every width against the public
    // path on each of them. The pointer is kept only while the `str` is held (see `text`).
    let data = unsafe { s.data() }.ok()?;
    Some(match data {
        PyStringData::Ucs1(b) => Stored {
            data: b.as_ptr(),
            len: b.len(),
            kind: 1,
        },
        PyStringData::Ucs2(u) => Stored {
            data: u.as_ptr().cast(),
            len: u.len(),
            kind: 2,
        },
        PyStringData::Ucs4(c) => Stored {
            data: c.as_ptr().cast(),
            len: c.len(),
            kind: 4,
        },
    })
}

#[cfg(any(Py_LIMITED_API, PyPy, GraalPy))]
fn stored(_: &Bound<'_, PyString>) -> Option<Stored> {
    None
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

pub(super) fn type_name(obj: &Bound<'_, PyAny>) -> String {
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

/// Cleans one text (when there is one) where it is read: in a worker, through a UTF-8 buffer the
/// worker thread reuses.
fn cleaner(
    format: Format,
    opts: &Options,
) -> impl Fn(&Option<Text<'_>>) -> Option<String> + Sync + '_ {
    move |d: &Option<Text<'_>>| {
        d.as_ref().map(|d| {
            thread_local! {
                static BUF: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
            }
            BUF.with_borrow_mut(|buf| {
                let out = clean::clean(d.utf8_in(buf), format, opts);
                // Keep a large document's buffer from pinning its memory for good.
                if buf.capacity() > 1 << 24 {
                    *buf = String::new();
                }
                out
            })
        })
    }
}

/// Cleans an Arrow text column (any object with `__arrow_c_array__` or `__arrow_c_stream__`:
/// pyarrow, polars, pandas with Arrow-backed strings, DuckDB) in parallel with the GIL
/// released, reading the text in place: an Arrow `large_string` array back, nulls kept.
#[pyfunction]
#[pyo3(signature = (docs, /, *, format = "auto", drop_code = true, drop_images = true, keep_paragraphs = false, max_chars = None, threads = None, progress = None))]
#[allow(clippy::too_many_arguments)]
pub fn clean_arrow(
    py: Python<'_>,
    docs: pyo3_arrow::input::AnyArray,
    format: &str,
    drop_code: bool,
    drop_images: bool,
    keep_paragraphs: bool,
    max_chars: Option<usize>,
    threads: Option<usize>,
    progress: Option<Bound<'_, PyAny>>,
) -> PyResult<pyo3_arrow::PyArray> {
    let format: Format = format.parse().py_err(py)?;
    let opts = options(drop_code, drop_images, keep_paragraphs, max_chars);
    let pool = Threads::new(threads).py_err(py)?;
    let (chunks, field) = docs.into_chunked_array()?.into_inner();
    let mut texts = Vec::new();
    for c in &chunks {
        texts.extend(super::arrow::text_cells(c, field.name(), texts.len()).py_err(py)?);
    }
    let out = run_parallel(py, &pool, &texts, cleaner(format, &opts), progress.as_ref())?;
    let (array, field) = super::arrow::large_strings(&out, field.name());
    Ok(pyo3_arrow::PyArray::new(array, field))
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
    let one = cleaner(format, &opts);
    run_parallel(py, &pool, &texts, one, progress.as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The storage path (CPython) and the public path (PyPy, GraalPy) read every width, a
    /// `str` subclass and lone surrogates the same.
    #[test]
    fn stored_and_public_paths_agree() {
        Python::attach(|py| {
            let samples = [
                "",
                "plain ascii",
                "caf\u{e9} \u{ff} latin-1",
                "\u{65e5}\u{672c}\u{8a9e}\u{3000}text",
                "emoji \u{1f600} \u{65e5}",
            ];
            let code = c"[s for s in samples] + [type('S', (str,), {})(samples[3]), 'a\\ud800b\\udc00', '\\ud83d\\ude00 ok']";
            let locals = pyo3::types::PyDict::new(py);
            locals.set_item("samples", samples.to_vec()).unwrap();
            let made = py.eval(code, None, Some(&locals)).unwrap();
            let mut count = 0;
            for item in made.try_iter().unwrap() {
                let s = item.unwrap().cast_into::<PyString>().unwrap();
                let stored = PyText::new(&s);
                let public = PyText::public(&s);
                assert_eq!(stored.text().utf8(), public.text().utf8());
                #[cfg(not(any(Py_LIMITED_API, PyPy, GraalPy)))]
                assert!(matches!(stored, PyText::Stored { .. }));
                count += 1;
            }
            assert_eq!(count, samples.len() + 3);
        });
    }
}
