//! Python bindings of the collect stage.

use std::path::PathBuf;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type};
use arrow_array::{Array, ArrayRef};
use arrow_schema::DataType;
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

/// An Arrow column of the results (one array per batch) as a Python list, for the table
/// without pyarrow; columns of JSON text are parsed back.
fn column_list<'py>(
    py: Python<'py>,
    parts: &[&ArrayRef],
    json: bool,
    name: &str,
) -> PyResult<Bound<'py, PyList>> {
    let l = PyList::empty(py);
    let loads = json
        .then(|| py.import("json")?.getattr("loads"))
        .transpose()?;
    for col in parts {
        match col.data_type() {
            DataType::LargeUtf8 => {
                for v in col.as_string::<i64>() {
                    match (v, &loads) {
                        (Some(s), Some(f)) => l.append(f.call1((s,))?)?,
                        (v, _) => l.append(v)?,
                    }
                }
            }
            DataType::Int64 => {
                for v in col.as_primitive::<Int64Type>() {
                    l.append(v)?;
                }
            }
            DataType::Float64 => {
                for v in col.as_primitive::<Float64Type>() {
                    l.append(v)?;
                }
            }
            DataType::Boolean => {
                for v in col.as_boolean() {
                    l.append(v)?;
                }
            }
            DataType::List(_) => {
                let lists = col.as_list::<i32>();
                for i in 0..lists.len() {
                    if lists.is_null(i) {
                        l.append(py.None())?;
                    } else {
                        let v = lists.value(i);
                        l.append(v.as_primitive::<Float64Type>().values().to_vec())?;
                    }
                }
            }
            other => {
                return Err(Error::InvalidInput(format!(
                    "results column {name:?} has Arrow type {other}"
                )))
                .py_err(py)
            }
        }
    }
    Ok(l)
}

#[pymethods]
impl PyResults {
    fn __len__(&self) -> usize {
        self.inner.len()
    }

    /// The table as columns: recordId, status, text, the schema fields, stop_reason,
    /// input_tokens, output_tokens, error_code, error_message (and embedding, json, file, line).
    fn columns<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for (k, f) in self.inner.arrow_schema.fields().iter().enumerate() {
            let json = f.metadata().contains_key(collect::arrow::JSON_META);
            let parts: Vec<&ArrayRef> = self.inner.batches.iter().map(|b| b.column(k)).collect();
            d.set_item(f.name(), column_list(py, &parts, json, f.name())?)?;
        }
        Ok(d)
    }

    /// The same columns as one Arrow table (an object with `__arrow_c_stream__`): text as
    /// `large_string`, counts as `int64`, schema fields as the type their values share (else
    /// JSON text, marked in the field's metadata); the table the results are held in.
    fn arrow_table(&self) -> PyResult<pyo3_arrow::PyTable> {
        pyo3_arrow::PyTable::try_new(self.inner.batches.clone(), self.inner.arrow_schema.clone())
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
        d.set_item("records", self.inner.len())?;
        for s in Status::ALL {
            d.set_item(s.name(), self.inner.count(s))?;
        }
        d.set_item("input_tokens", self.inner.total("input_tokens"))?;
        d.set_item("output_tokens", self.inner.total("output_tokens"))?;
        d.set_item("problems", self.inner.problems.len())?;
        Ok(d)
    }

    /// The ids to run again: rows whose status is in `statuses`.
    #[pyo3(signature = (statuses = vec!["failed".to_string(), "missing".to_string(), "invalid_output".to_string()]))]
    fn retry_ids(&self, py: Python<'_>, statuses: Vec<String>) -> PyResult<Vec<String>> {
        let wanted = statuses
            .iter()
            .map(|s| Status::parse(s))
            .collect::<Result<Vec<_>, _>>()
            .py_err(py)?;
        Ok(self.inner.ids_with(&wanted))
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
