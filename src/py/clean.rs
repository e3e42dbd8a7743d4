//! Python bindings of the clean stage.

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyFloat, PyString};

use super::errors::IntoPyResult;
use super::runtime::{detach, run_parallel, Threads};
use crate::clean::{self, Format, Options};
use crate::error::Error;

/// A `str` as Rust text. A lone surrogate (which UTF-8 cannot carry) becomes one U+FFFD.
pub fn text_of(s: &Bound<'_, PyString>) -> String {
    match s.to_cow() {
        Ok(c) => c.into_owned(),
        Err(_) => lossy(s).unwrap_or_else(|_| s.to_string_lossy().into_owned()),
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
        let text = text_of(s);
        return detach(py, || clean::clean_html(&text, &opts));
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
    let text = text_of(s);
    let opts = options(drop_code, drop_images, keep_paragraphs, max_chars);
    detach(py, || clean::clean_markdown(&text, &opts))
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
fn item_text(obj: &Bound<'_, PyAny>, index: usize) -> Result<Option<String>, Error> {
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(Some(text_of(s)));
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
    let mut owned = Vec::new();
    for (i, item) in docs.try_iter()?.enumerate() {
        owned.push(item_text(&item?, i).py_err(py)?);
    }
    let one = |d: &Option<String>| d.as_deref().map(|d| clean::clean(d, format, &opts));
    run_parallel(py, &pool, &owned, one, progress.as_ref())
}
