//! Python binding of the validate stage.

use std::path::PathBuf;

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList};

use super::clean::type_name;
use super::errors::IntoPyResult;
use super::prompt::PyQuotas;
use crate::error::Error;
use crate::pack::{self, Family, Invocation};
use crate::validate::{self, Source};

/// Validates batch input (a file, a folder of job folders, or bytes); returns a report dict.
#[pyfunction]
#[pyo3(signature = (source, *, model = None, family = None, quotas = None, invocation = None, max_problems = 100))]
pub fn validate_input<'py>(
    py: Python<'py>,
    source: &Bound<'py, PyAny>,
    model: Option<&str>,
    family: Option<&str>,
    quotas: Option<PyRef<'py, PyQuotas>>,
    invocation: Option<&str>,
    max_problems: usize,
) -> PyResult<Bound<'py, PyDict>> {
    let family = family.map(str::parse::<Family>).transpose().py_err(py)?;
    let model = model
        .map(|m| pack::model_info(m, family))
        .transpose()
        .py_err(py)?;
    let invocation = match invocation {
        Some(s) => Invocation::parse_option(s).py_err(py)?,
        None => None,
    };
    let src = if let Ok(b) = source.cast::<PyBytes>() {
        Source::Bytes(b.as_bytes().to_vec())
    } else if let Ok(p) = source.extract::<PathBuf>() {
        Source::Path(p)
    } else {
        return Err(Error::InvalidType(format!(
            "source must be a path (str or os.PathLike) or bytes, got {}",
            type_name(source)
        )))
        .py_err(py);
    };
    let opts = validate::Options {
        model,
        invocation,
        quotas: quotas.map(|q| q.inner.clone()).unwrap_or_default(),
        max_problems,
    };
    let report = py.detach(|| validate::validate(&src, &opts)).py_err(py)?;
    let d = PyDict::new(py);
    d.set_item("ok", report.ok())?;
    d.set_item("files", report.files)?;
    d.set_item("jobs", report.jobs)?;
    d.set_item("records", report.records)?;
    d.set_item("bytes", report.bytes)?;
    d.set_item("input_tokens", report.input_tokens)?;
    d.set_item("problem_count", report.problem_count)?;
    d.set_item("error_count", report.error_count)?;
    let problems = PyList::empty(py);
    for p in &report.problems {
        problems.append((
            p.file.clone(),
            p.line,
            p.record_id.clone(),
            p.field.clone(),
            p.message.clone(),
            p.severity.name(),
            p.kind,
        ))?;
    }
    d.set_item("problems", problems)?;
    let counts = PyList::empty(py);
    for ((sev, field, kind), n) in &report.counts {
        counts.append((sev.name(), field.clone(), *kind, *n))?;
    }
    d.set_item("counts", counts)?;
    Ok(d)
}
