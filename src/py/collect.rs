//! Python bindings of the collect stage.

use std::path::PathBuf;

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString};
use pyo3::IntoPyObjectExt;

use super::clean::text_of;
use super::errors::IntoPyResult;
use crate::collect::{self, Field, Kind, Source, Status};
use crate::error::Error;

/// serde_json values to Python objects (strings and numbers directly, the rest via `json`).
fn to_py<'py>(py: Python<'py>, v: &serde_json::Value) -> PyResult<Bound<'py, PyAny>> {
    match v {
        serde_json::Value::Null => Ok(py.None().into_bound(py)),
        serde_json::Value::Bool(b) => b.into_bound_py_any(py),
        serde_json::Value::String(s) => s.into_bound_py_any(py),
        serde_json::Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => i.into_bound_py_any(py),
            (None, Some(f)) => f.into_bound_py_any(py),
            _ => n.to_string().into_bound_py_any(py),
        },
        other => py
            .import("json")?
            .getattr("loads")?
            .call1((other.to_string(),)),
    }
}

/// Batch results held in Rust: one row per record.
#[pyclass(frozen, module = "bedrock_batch", name = "_Results")]
pub struct PyResults {
    inner: collect::Results,
}

#[pymethods]
impl PyResults {
    fn __len__(&self) -> usize {
        self.inner.rows.len()
    }

    /// The table as columns: recordId, status, text, the schema fields, stop_reason,
    /// input_tokens, output_tokens, error_code, error_message (and embedding, json, file, line).
    fn columns<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let rows = &self.inner.rows;
        let d = PyDict::new(py);
        let col = |f: &dyn Fn(&collect::Row) -> PyResult<Bound<'py, PyAny>>| -> PyResult<Bound<'py, PyList>> {
            let l = PyList::empty(py);
            for r in rows {
                l.append(f(r)?)?;
            }
            Ok(l)
        };
        d.set_item(
            "recordId",
            col(&|r| r.record_id.as_str().into_bound_py_any(py))?,
        )?;
        d.set_item("status", col(&|r| r.status.name().into_bound_py_any(py))?)?;
        if self.inner.attempts {
            d.set_item("attempts", col(&|r| r.attempts.into_bound_py_any(py))?)?;
        }
        d.set_item("text", col(&|r| r.text.as_deref().into_bound_py_any(py))?)?;
        for (i, f) in self.inner.schema.iter().enumerate() {
            d.set_item(
                f.name.as_str(),
                col(&|r| match r.fields.get(i).and_then(Option::as_ref) {
                    Some(v) => to_py(py, v),
                    None => Ok(py.None().into_bound(py)),
                })?,
            )?;
        }
        d.set_item(
            "stop_reason",
            col(&|r| r.stop_reason.as_deref().into_bound_py_any(py))?,
        )?;
        d.set_item(
            "input_tokens",
            col(&|r| r.input_tokens.into_bound_py_any(py))?,
        )?;
        d.set_item(
            "output_tokens",
            col(&|r| r.output_tokens.into_bound_py_any(py))?,
        )?;
        d.set_item(
            "error_code",
            col(&|r| r.error_code.as_deref().into_bound_py_any(py))?,
        )?;
        d.set_item(
            "error_message",
            col(&|r| r.error_message.as_deref().into_bound_py_any(py))?,
        )?;
        if rows.iter().any(|r| r.embedding.is_some()) {
            d.set_item(
                "embedding",
                col(&|r| r.embedding.clone().into_bound_py_any(py))?,
            )?;
        }
        if self.inner.schema.is_empty() && rows.iter().any(|r| r.json.is_some()) {
            d.set_item(
                "json",
                col(&|r| match &r.json {
                    Some(v) => to_py(py, v),
                    None => Ok(py.None().into_bound(py)),
                })?,
            )?;
        }
        d.set_item("file", col(&|r| (&*r.file).into_bound_py_any(py))?)?;
        d.set_item("line", col(&|r| r.line.into_bound_py_any(py))?)?;
        Ok(d)
    }

    /// The same columns as one Arrow table (an object with `__arrow_c_stream__`): text as
    /// `large_string`, counts as `int64`, schema fields as the type their values share (else
    /// JSON text, marked in the field's metadata), built without a Python object per cell.
    fn arrow_table(&self, py: Python<'_>) -> PyResult<pyo3_arrow::PyTable> {
        let batch = py
            .detach(|| collect::arrow::record_batch(&self.inner))
            .py_err(py)?;
        let schema = batch.schema();
        pyo3_arrow::PyTable::try_new(vec![batch], schema)
    }

    /// Problems that are not rows: (file, line, recordId, message).
    #[getter]
    fn problems(&self) -> Vec<(String, usize, Option<String>, String)> {
        self.inner
            .problems
            .iter()
            .map(|p| {
                (
                    p.file.clone(),
                    p.line,
                    p.record_id.clone(),
                    p.message.clone(),
                )
            })
            .collect()
    }

    /// Each manifest.json.out found: (path, its fields as a dict).
    #[getter]
    fn manifests<'py>(&self, py: Python<'py>) -> PyResult<Vec<(String, Bound<'py, PyAny>)>> {
        self.inner
            .manifests
            .iter()
            .map(|(p, m)| Ok((p.clone(), to_py(py, &serde_json::Value::Object(m.clone()))?)))
            .collect()
    }

    /// Record counts by status and token totals of the rows.
    fn summary<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        let rows = &self.inner.rows;
        d.set_item("records", rows.len())?;
        for s in [
            Status::Succeeded,
            Status::Failed,
            Status::InvalidOutput,
            Status::Missing,
        ] {
            d.set_item(s.name(), rows.iter().filter(|r| r.status == s).count())?;
        }
        d.set_item(
            "input_tokens",
            rows.iter().filter_map(|r| r.input_tokens).sum::<u64>(),
        )?;
        d.set_item(
            "output_tokens",
            rows.iter().filter_map(|r| r.output_tokens).sum::<u64>(),
        )?;
        d.set_item("problems", self.inner.problems.len())?;
        Ok(d)
    }

    /// The ids to run again: rows whose status is in `statuses`.
    #[pyo3(signature = (statuses = vec!["failed".to_string(), "missing".to_string(), "invalid_output".to_string()]))]
    fn retry_ids(&self, py: Python<'_>, statuses: Vec<String>) -> PyResult<Vec<String>> {
        for s in &statuses {
            if !["succeeded", "failed", "missing", "invalid_output"].contains(&s.as_str()) {
                return Err(Error::InvalidArgument(format!(
                    "unknown status {s:?}: use succeeded, failed, missing, invalid_output"
                )))
                .py_err(py);
            }
        }
        Ok(self
            .inner
            .rows
            .iter()
            .filter(|r| statuses.iter().any(|s| s == r.status.name()))
            .map(|r| r.record_id.clone())
            .collect())
    }
}

fn parse_schema(py: Python<'_>, schema: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<Field>> {
    let Some(schema) = schema else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    if let Ok(d) = schema.cast::<PyDict>() {
        for (k, v) in d.iter() {
            let name: String = k.extract()?;
            let kind = if v.is_none() {
                None
            } else if let Ok(s) = v.extract::<String>() {
                Some(Kind::parse(&s).py_err(py)?)
            } else {
                let tname: String = v.getattr("__name__")?.extract()?;
                Some(Kind::parse(&tname).py_err(py)?)
            };
            out.push(Field { name, kind });
        }
    } else {
        for item in schema.try_iter()? {
            out.push(Field {
                name: item?.extract()?,
                kind: None,
            });
        }
    }
    Ok(out)
}

/// Reads batch outputs (a `.jsonl.out` file, a folder of job folders, or bytes).
#[pyfunction]
#[pyo3(signature = (source, *, inputs = None, json = false, schema = None, prefill = None, attempts = false))]
pub fn read_results_core(
    py: Python<'_>,
    source: &Bound<'_, PyAny>,
    inputs: Option<&Bound<'_, PyAny>>,
    json: bool,
    schema: Option<&Bound<'_, PyAny>>,
    prefill: Option<String>,
    attempts: bool,
) -> PyResult<PyResults> {
    let src = if let Ok(b) = source.cast::<PyBytes>() {
        Source::Bytes(b.as_bytes().to_vec())
    } else if let Ok(p) = source.extract::<PathBuf>() {
        Source::Path(p)
    } else {
        return Err(Error::InvalidType("source must be a path or bytes".into())).py_err(py);
    };
    let inputs = match inputs {
        None => None,
        // An Arrow column of ids (pyarrow, polars, pandas): read in place.
        Some(ids)
            if !ids.is_instance_of::<PyList>()
                && (ids.hasattr("__arrow_c_array__")? || ids.hasattr("__arrow_c_stream__")?) =>
        {
            let arrow: pyo3_arrow::input::AnyArray = ids.extract()?;
            let (chunks, field) = arrow.into_chunked_array()?.into_inner();
            let mut v = Vec::new();
            for c in &chunks {
                v.extend(super::arrow::id_cells(c, field.name(), v.len()).py_err(py)?);
            }
            Some(v.into_iter().map(Option::unwrap_or_default).collect())
        }
        Some(ids) => {
            let mut v = Vec::new();
            for item in ids.try_iter()? {
                let item = item?;
                v.push(match item.cast::<PyString>() {
                    Ok(s) => text_of(s),
                    Err(_) => item.str()?.to_string(),
                });
            }
            Some(v)
        }
    };
    let opts = collect::Options {
        json,
        schema: parse_schema(py, schema)?,
        prefill,
        inputs,
        attempts,
    };
    let inner = py
        .detach(|| collect::read_results(&src, &opts))
        .py_err(py)?;
    Ok(PyResults { inner })
}

/// Cost of token counts at on-demand and batch prices (the cost report's arithmetic).
#[pyfunction]
#[pyo3(signature = (model, records, input_tokens, output_tokens, *, prices = None))]
pub fn cost_estimate<'py>(
    py: Python<'py>,
    model: &str,
    records: usize,
    input_tokens: u64,
    output_tokens: u64,
    prices: Option<Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyDict>> {
    let base = crate::pack::base_model_id(model);
    super::pack::estimate_dict(
        py,
        base,
        records,
        input_tokens,
        output_tokens,
        prices.as_ref(),
    )
}
