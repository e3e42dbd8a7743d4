//! Python bindings of the clean stage.

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyFloat, PyString};

use super::errors::IntoPyResult;
use super::runtime::{detach, run_parallel, Threads};
use crate::clean::{self, Format, Options};
use crate::error::Error;

/// A `str` as Rust text. A lone surrogate (which UTF-8 cannot carry) becomes one U+FFFD.
pub fn text_of(s: &Bound<'_, PyString>) -> String {
    PyText::new(s).as_str().to_owned()
}

/// A `str`'s UTF-8 for the length of a call, leaving nothing behind on the object.
///
/// An ASCII `str` is its own UTF-8 and is borrowed in place (`PyUnicode_AsUTF8AndSize`, which
/// allocates nothing for ASCII; it is in every CPython 3 but in the limited API only from 3.10,
/// so it is declared here for the abi3-py39 wheel). Any other `str` is encoded once into a
/// temporary `bytes` held as long as this value: asking CPython for its cached UTF-8 instead
/// would leave a copy on every non-ASCII string for the object's whole life (half again a
/// Japanese column's memory). A lone surrogate gives an owned copy with U+FFFD.
pub enum PyText<'py> {
    Ascii(Bound<'py, PyString>),
    Encoded(Bound<'py, PyBytes>),
    Owned(String),
}

impl<'py> PyText<'py> {
    pub fn new(s: &Bound<'py, PyString>) -> PyText<'py> {
        let ascii = s
            .call_method0("isascii")
            .and_then(|r| r.is_truthy())
            .unwrap_or(false);
        if ascii {
            return PyText::Ascii(s.clone());
        }
        match s.encode_utf8() {
            Ok(b) => PyText::Encoded(b),
            Err(_) => PyText::Owned(lossy(s).unwrap_or_else(|_| s.to_string_lossy().into_owned())),
        }
    }

    /// The text, valid while this value lives (it holds the object).
    pub fn as_str(&self) -> &str {
        match self {
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
                            return std::str::from_utf8_unchecked(bytes);
                        }
                    }
                }
                // Not reached for an ASCII str; clear the error rather than leave it set.
                drop(PyErr::take(s.py()));
                ""
            }
            // SAFETY-free: `encode_utf8` produced UTF-8.
            PyText::Encoded(b) => std::str::from_utf8(b.as_bytes()).unwrap_or_default(),
            PyText::Owned(s) => s,
        }
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
        let text = held.as_str();
        return detach(py, || clean::clean_html(text, &opts));
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
    let text = held.as_str();
    let opts = options(drop_code, drop_images, keep_paragraphs, max_chars);
    detach(py, || clean::clean_markdown(text, &opts))
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
    let texts: Vec<Option<&str>> = held
        .iter()
        .map(|t| t.as_ref().map(PyText::as_str))
        .collect();
    // `run_parallel` hands each item by reference.
    #[allow(clippy::ref_option_ref)]
    let one = |d: &Option<&str>| d.map(|d| clean::clean(d, format, &opts));
    run_parallel(py, &pool, &texts, one, progress.as_ref())
}
