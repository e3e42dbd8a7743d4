//! Python bindings of the pack, shard and validate stages.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyFloat, PyInt, PyList, PyString};

use super::clean::{text_of, type_name, PyText};
use super::errors::IntoPyResult;
use super::prompt::{PyPrompt, PyQuotas};
use super::runtime::detach;
use crate::clean::{Format, Options as CleanOptions};
use crate::cost;
use crate::error::Error;
use crate::pack::{self, CleanSpec, Column, Family, Invocation, Missing, Table};

/// One written shard file.
#[pyclass(frozen, module = "bedrock_batch", name = "Shard")]
pub struct PyShard {
    #[pyo3(get)]
    path: PathBuf,
    #[pyo3(get)]
    job: usize,
    #[pyo3(get)]
    records: usize,
    #[pyo3(get)]
    bytes: u64,
    #[pyo3(get)]
    input_tokens: u64,
}

#[pymethods]
impl PyShard {
    /// The job's folder: one job's S3 input prefix.
    #[getter]
    fn job_dir(&self) -> PathBuf {
        self.path.parent().map(PathBuf::from).unwrap_or_default()
    }

    fn __repr__(&self) -> String {
        format!(
            "Shard(path={:?}, job={}, records={}, bytes={}, input_tokens={})",
            self.path.display().to_string(),
            self.job,
            self.records,
            self.bytes,
            self.input_tokens
        )
    }
}

/// Packed batch records held in Rust, in input order.
///
/// A record's line is rendered from its cells when it is written, so the records keep the
/// cells' Python objects alive (`anchors`): every text of `inner` points into one of them or
/// into a `String` moved with them. `inner` is declared first so it is dropped first.
#[pyclass(frozen, module = "bedrock_batch", name = "Records")]
pub struct PyRecords {
    pub inner: pack::Records<'static>,
    anchors: Arc<Vec<Anchor>>,
}

/// What keeps a lent text alive and unchanged: its `str` or `bytes` object, or the `String`
/// it was copied into (moving a `String` does not move its characters).
enum Anchor {
    #[allow(dead_code)] // held, never read
    Object(Py<PyAny>),
    #[allow(dead_code)]
    Owned(String),
    /// An Arrow table's record batches: their buffers are shared and never move.
    #[allow(dead_code)]
    Arrow(Vec<arrow_array::RecordBatch>),
}

impl From<PyText<'_>> for Anchor {
    fn from(t: PyText<'_>) -> Self {
        match t {
            PyText::Stored { _obj: obj, .. } => Anchor::Object(obj.into_any().unbind()),
            PyText::Encoded(b) => Anchor::Object(b.into_any().unbind()),
            PyText::Owned(s) => Anchor::Owned(s),
        }
    }
}

/// `prices={"input": .., "output": ..}` as numbers.
fn given_prices(py: Python<'_>, prices: Option<&Bound<'_, PyAny>>) -> PyResult<Option<(f64, f64)>> {
    let Some(p) = prices else {
        return Ok(None);
    };
    let get = |k: &str| -> PyResult<f64> {
        p.get_item(k)
            .map_err(|_| {
                super::errors::to_py(
                    py,
                    Error::InvalidArgument(format!(
                        "prices needs \"input\" and \"output\" (dollars per million tokens); missing {k:?}"
                    )),
                )
            })?
            .extract()
    };
    Ok(Some((get("input")?, get("output")?)))
}

/// [`cost::estimate`] as a dict (shared by `Records.estimate` and the cost report).
pub fn estimate_dict<'py>(
    py: Python<'py>,
    model: &str,
    records: usize,
    input_tokens: u64,
    output_tokens: u64,
    prices: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyDict>> {
    let e = cost::estimate(
        model,
        records,
        input_tokens,
        output_tokens,
        given_prices(py, prices)?,
    );
    let d = PyDict::new(py);
    d.set_item("model", &e.model)?;
    d.set_item("records", e.records)?;
    d.set_item("input_tokens", e.input_tokens)?;
    d.set_item("output_tokens", e.output_tokens)?;
    let price = e.price.as_ref();
    d.set_item("price_input_per_mtok", price.map(|p| p.input_per_mtok))?;
    d.set_item("price_output_per_mtok", price.map(|p| p.output_per_mtok))?;
    d.set_item("price_source", price.map(|p| p.source.as_str()))?;
    d.set_item("on_demand_cost", e.on_demand.map(|c| c.total()))?;
    d.set_item("batch_cost", e.batch.map(|c| c.total()))?;
    d.set_item("saving", e.saving())?;
    Ok(d)
}

#[pymethods]
impl PyRecords {
    fn __len__(&self) -> usize {
        self.inner.records.len()
    }

    /// The recordIds, in order.
    #[getter]
    fn ids(&self) -> Vec<String> {
        self.inner.records.iter().map(|r| r.id.clone()).collect()
    }

    /// The model id the records were packed for.
    #[getter]
    fn model(&self) -> String {
        self.inner.model.id.clone()
    }

    /// The request family: "claude", "nova", "titan-embed", "llama3" or "llama4".
    #[getter]
    fn family(&self) -> &'static str {
        self.inner.model.family.name()
    }

    /// The job's `modelInvocationType`: "InvokeModel" or "Converse".
    #[getter]
    fn invocation(&self) -> &'static str {
        self.inner.invocation.api_name()
    }

    /// Estimated input tokens of every record (measured once, in parallel, if need be).
    #[getter]
    fn input_tokens(&self, py: Python<'_>) -> PyResult<u64> {
        detach(py, || self.inner.input_tokens())
    }

    /// Each record's estimated input tokens, in order (measured once, in parallel, if need be).
    fn token_counts(&self, py: Python<'_>) -> PyResult<Vec<u64>> {
        detach(py, || {
            self.inner
                .measures()
                .iter()
                .map(|m| m.input_tokens)
                .collect()
        })
    }

    /// The first `n` records as dicts (`recordId`, `modelInput`), to inspect.
    #[pyo3(signature = (n = 5))]
    fn head<'py>(&self, py: Python<'py>, n: usize) -> PyResult<Bound<'py, PyList>> {
        let loads = py.import("json")?.getattr("loads")?;
        let out = PyList::empty(py);
        for i in 0..n.min(self.inner.records.len()) {
            out.append(loads.call1((PyBytes::new(py, &self.inner.line(i)),))?)?;
        }
        Ok(out)
    }

    /// All records as JSONL bytes (UTF-8, one record per line).
    fn to_jsonl<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let all = 0..self.inner.records.len();
        let len = detach(py, || self.inner.jsonl_len(all.clone()))?;
        // Rendered straight into the bytes object, in parallel.
        PyBytes::new_with(py, len, |buf| {
            detach(py, || self.inner.render_into(all, buf))?.py_err(py)
        })
    }

    /// The records whose id is not in `ids` (str or int): the "remaining" batch after a run.
    fn exclude(&self, ids: &Bound<'_, PyAny>) -> PyResult<PyRecords> {
        let mut done = HashSet::new();
        for item in ids.try_iter()? {
            let item = item?;
            done.insert(if let Ok(s) = item.cast::<PyString>() {
                text_of(s)
            } else {
                item.str()?.to_string()
            });
        }
        Ok(PyRecords {
            inner: self.inner.exclude(&done),
            anchors: Arc::clone(&self.anchors),
        })
    }

    /// Records, estimated input tokens, output tokens and the cost at batch and on-demand prices.
    ///
    /// Output tokens are `output_tokens` per record when given, else `max_tokens` per record (an
    /// upper bound). `prices={"input": .., "output": ..}` (dollars per million tokens, on demand)
    /// overrides the shipped price table; batch is half of on-demand.
    #[pyo3(signature = (*, prices = None, output_tokens = None))]
    fn estimate<'py>(
        &self,
        py: Python<'py>,
        prices: Option<Bound<'py, PyAny>>,
        output_tokens: Option<u64>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let n = self.inner.records.len();
        let output = cost::output_tokens(
            self.inner.model.family,
            n,
            output_tokens,
            self.inner.max_tokens,
        );
        let input_tokens = detach(py, || self.inner.input_tokens())?;
        estimate_dict(
            py,
            &self.inner.model.base,
            n,
            input_tokens,
            output,
            prices.as_ref(),
        )
    }

    /// Writes `out_dir/job-0001/part-00001.jsonl`, ... within `quotas`; one folder per job.
    #[pyo3(signature = (out_dir, *, quotas = None, overwrite = false))]
    fn write(
        &self,
        py: Python<'_>,
        out_dir: PathBuf,
        quotas: Option<PyRef<'_, PyQuotas>>,
        overwrite: bool,
    ) -> PyResult<Vec<PyShard>> {
        let q = quotas.map(|q| q.inner.clone()).unwrap_or_default();
        let shards = py
            .detach(|| pack::write_shards(&self.inner, &out_dir, &q, overwrite))
            .py_err(py)?;
        Ok(shards
            .into_iter()
            .map(|s| PyShard {
                path: s.path,
                job: s.job,
                records: s.records,
                bytes: s.bytes,
                input_tokens: s.input_tokens,
            })
            .collect())
    }

    /// Each record's JSONL line in bytes, its newline included (measured once, in parallel).
    fn line_sizes(&self, py: Python<'_>) -> PyResult<Vec<u64>> {
        detach(py, || {
            self.inner
                .measures()
                .iter()
                .map(|m| m.len as u64 + 1)
                .collect()
        })
    }

    /// Appends records `start..stop` to the file at `path` as JSONL (created when missing):
    /// `(records, bytes, input_tokens)` written. For writers that stream a large source into
    /// shards batch by batch.
    #[pyo3(signature = (path, start = 0, stop = None))]
    fn append_to(
        &self,
        py: Python<'_>,
        path: PathBuf,
        start: usize,
        stop: Option<usize>,
    ) -> PyResult<(usize, u64, u64)> {
        let n = self.inner.records.len();
        let stop = stop.unwrap_or(n).min(n);
        if start > stop {
            return Err(Error::InvalidArgument(format!(
                "append_to: start {start} is past stop {stop}"
            )))
            .py_err(py);
        }
        let io = |e: std::io::Error| Error::Io {
            path: path.display().to_string(),
            source: e,
        };
        detach(py, || {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .map_err(io)?;
            let mut w = std::io::BufWriter::with_capacity(1 << 20, file);
            let measures = self.inner.write_jsonl(start..stop, &mut w).map_err(io)?;
            std::io::Write::flush(&mut w).map_err(io)?;
            let bytes = measures.iter().map(|m| m.len as u64 + 1).sum();
            let tokens = measures.iter().map(|m| m.input_tokens).sum();
            Ok::<_, Error>((stop - start, bytes, tokens))
        })?
        .py_err(py)
    }

    fn __repr__(&self) -> String {
        format!(
            "Records({} records, model={:?}, family={}, invocation={})",
            self.inner.records.len(),
            self.inner.model.id,
            self.inner.model.family,
            self.inner.invocation.api_name()
        )
    }
}

fn is_missing(obj: &Bound<'_, PyAny>) -> bool {
    obj.is_none()
        || obj.cast::<PyFloat>().is_ok_and(|f| f.value().is_nan())
        || matches!(type_name(obj).as_str(), "NAType" | "NaTType")
}

/// A recordId from an id cell: a str, an int (not a bool), or missing.
fn id_of(py: Python<'_>, item: &Bound<'_, PyAny>, row: usize) -> PyResult<Option<String>> {
    if let Ok(s) = item.cast::<PyString>() {
        Ok(Some(text_of(s)))
    } else if let Ok(i) = item.cast_exact::<PyInt>() {
        // A plain int (never a bool, which is a subclass), written in Rust when it fits.
        match i.extract::<i64>() {
            Ok(v) => Ok(Some(v.to_string())),
            Err(_) => Ok(Some(item.str()?.to_string())),
        }
    } else if item.cast::<PyInt>().is_ok() && type_name(item) != "bool" {
        Ok(Some(item.str()?.to_string()))
    } else if is_missing(item) {
        Ok(None)
    } else {
        Err(Error::InvalidType(format!(
            "row {row}: ids must be str or int, got {}",
            type_name(item)
        )))
        .py_err(py)
    }
}

/// A template cell: text, UTF-8 `bytes`, `str()` of any other value, or missing.
fn cell<'py>(obj: Bound<'py, PyAny>, row: usize, column: &str) -> PyResult<Option<PyText<'py>>> {
    let obj = match obj.cast_into::<PyString>() {
        Ok(s) => return Ok(Some(PyText::from_owned(s))),
        Err(e) => e.into_inner(),
    };
    if is_missing(&obj) {
        return Ok(None);
    }
    let py = obj.py();
    let obj = match obj.cast_into::<PyBytes>() {
        // Held as they are (the records read them in place) once they check as UTF-8.
        Ok(b) => {
            return match std::str::from_utf8(b.as_bytes()) {
                Ok(_) => Ok(Some(PyText::Encoded(b))),
                Err(e) => Err(Error::InvalidInput(format!(
                    "row {row}: column {column:?} holds bytes that are not UTF-8 (byte {} is \\x{:02x}); decode them to str first",
                    e.valid_up_to(),
                    b.as_bytes()[e.valid_up_to()]
                )))
                .py_err(py),
            }
        }
        Err(e) => e.into_inner(),
    };
    match obj.str() {
        Ok(s) => Ok(Some(PyText::Owned(s.to_string()))),
        Err(_) => Err(Error::InvalidType(format!(
            "row {row}: column {column:?} holds a {} that has no text",
            type_name(&obj)
        )))
        .py_err(py),
    }
}

/// Asks the memory for the cells of row `row` of a list of dicts, a few rows before they are
/// read: each cell is a separate object, usually far from the last one and out of the caches,
/// and reading them one after the other waits for each in turn. Only the values' addresses are
/// used (a prefetch never faults and reads nothing into the program); the row is looked up
/// again, with references counted, when its turn comes. A lookup runs a key's `__eq__` when a
/// non-`str` key has the same hash as a field name, so such a key's `__eq__` runs twice per
/// row (its errors are raised by the second lookup).
#[allow(unsafe_code)]
fn prefetch_row(list: &Bound<'_, PyList>, row: usize, keys: &[Bound<'_, PyString>]) {
    use pyo3::ffi;
    if !crate::sys::PREFETCH {
        return;
    }
    // The row after it: its dict, for the lookups of the next call (its address only:
    // counting a reference would touch it now).
    if let Ok(after) = ffi::Py_ssize_t::try_from(row + PREFETCH_ROWS) {
        // SAFETY: the GIL is held; `PyList_GetItem` checks the index and returns a borrowed
        // reference or NULL with an IndexError (cleared). The pointer is used only as a
        // prefetch hint, valid for any address.
        unsafe {
            let next = ffi::PyList_GetItem(list.as_ptr(), after);
            if next.is_null() {
                ffi::PyErr_Clear();
            } else {
                crate::sys::prefetch(next.cast::<u8>().cast_const());
            }
        }
    }
    // A counted reference: a key's `__eq__`, run by the lookup, could drop the list's.
    let Ok(item) = list.get_item(row) else { return };
    let Ok(dict) = item.cast::<PyDict>() else {
        return;
    };
    for key in keys {
        // SAFETY: the GIL is held and `dict` and `key` are alive for the call, which
        // returns a borrowed value or NULL with an error (cleared: the read looks the key
        // up again and reports it). The value's address is used only as a prefetch hint,
        // valid for any address, even if the value were gone by then.
        unsafe {
            let value = ffi::PyDict_GetItemWithError(dict.as_ptr(), key.as_ptr());
            if value.is_null() {
                ffi::PyErr_Clear();
            } else {
                // The header (length, state, data) may cross into a second cache line.
                let at = value.cast::<u8>().cast_const();
                crate::sys::prefetch(at);
                crate::sys::prefetch(at.wrapping_add(64));
            }
        }
    }
}

/// How many rows ahead [`prefetch_row`] asks for a row's cells (and twice as far for its dict).
const PREFETCH_ROWS: usize = 8;

fn parse_clean(py: Python<'_>, clean: Option<&Bound<'_, PyDict>>) -> PyResult<Vec<CleanSpec>> {
    let mut out = Vec::new();
    let Some(clean) = clean else { return Ok(out) };
    for (k, v) in clean.iter() {
        let column: String = k.extract()?;
        let mut spec = CleanSpec {
            column,
            format: Format::Auto,
            options: CleanOptions::default(),
        };
        if let Ok(fmt) = v.extract::<String>() {
            spec.format = fmt.parse().py_err(py)?;
        } else if let Ok(d) = v.cast::<PyDict>() {
            for (ok, ov) in d.iter() {
                let key: String = ok.extract()?;
                match key.as_str() {
                    "format" => spec.format = ov.extract::<String>()?.parse().py_err(py)?,
                    "drop_code" => spec.options.drop_code = ov.extract()?,
                    "drop_images" => spec.options.drop_images = ov.extract()?,
                    "keep_paragraphs" => spec.options.keep_paragraphs = ov.extract()?,
                    "max_chars" => spec.options.max_chars = ov.extract()?,
                    other => {
                        return Err(Error::InvalidArgument(format!(
                            "clean[{:?}]: unknown option {other:?} (format, drop_code, drop_images, keep_paragraphs, max_chars)",
                            spec.column
                        )))
                        .py_err(py)
                    }
                }
            }
        } else {
            return Err(Error::InvalidArgument(format!(
                "clean[{:?}] must be a format (\"html\", \"markdown\", \"auto\", \"text\") or a dict of clean options",
                spec.column
            )))
            .py_err(py);
        }
        out.push(spec);
    }
    Ok(out)
}

/// Packs table columns into records (the `bb.pack` core; `bedrock_batch.pack` adapts tables).
///
/// `columns` is a dict of column name to values, a list of plain dicts (rows) whose `fields`
/// are read in one pass over the rows, or an Arrow table (any object with `__arrow_c_stream__`
/// or `__arrow_c_array__`: pyarrow, polars, pandas, DuckDB) whose `fields` columns are read in
/// place from its buffers (`rows` is then its length); the ids from `id_field` when given.
#[pyfunction]
#[pyo3(signature = (columns, rows, *, prompt, model, ids = None, invocation = "auto", clean = None, family = None, missing = "error", extra = None, fields = None, id_field = None))]
#[allow(clippy::too_many_arguments)]
pub fn pack_columns(
    py: Python<'_>,
    columns: &Bound<'_, PyAny>,
    rows: usize,
    prompt: PyRef<'_, PyPrompt>,
    model: &str,
    ids: Option<&Bound<'_, PyAny>>,
    invocation: &str,
    clean: Option<&Bound<'_, PyDict>>,
    family: Option<&str>,
    missing: &str,
    extra: Option<&str>,
    fields: Option<Vec<String>>,
    id_field: Option<&str>,
) -> PyResult<PyRecords> {
    let family = family.map(str::parse::<Family>).transpose().py_err(py)?;
    let info = pack::model_info(model, family).py_err(py)?;
    let invocation = Invocation::parse_option(invocation)
        .py_err(py)?
        .unwrap_or(Invocation::Invoke);
    let missing = match missing {
        "error" => Missing::Error,
        "empty" => Missing::Empty,
        other => {
            return Err(Error::InvalidArgument(format!(
                "missing must be \"error\" or \"empty\", got {other:?}"
            )))
            .py_err(py)
        }
    };
    let mut prompt_core = prompt.inner.clone();
    if let Some(extra) = extra {
        prompt_core.settings.extra = serde_json::from_str(extra)
            .map_err(|e| Error::InvalidArgument(format!("extra must be a JSON object: {e}")))
            .py_err(py)?;
    }
    // Check the prompt and the columns before converting any row.
    pack::check_prompt(&prompt_core, &info, invocation).py_err(py)?;
    let clean_specs = parse_clean(py, clean)?;
    let mut table = Table {
        columns: Vec::new(),
        rows,
    };
    // An Arrow table: its text is read in place, its record batches kept by the records.
    let is_arrow = !columns.is_instance_of::<PyList>()
        && !columns.is_instance_of::<PyDict>()
        && (columns.hasattr("__arrow_c_stream__")? || columns.hasattr("__arrow_c_array__")?);
    let mut batches: Vec<arrow_array::RecordBatch> = Vec::new();
    let mut arrow_ids: Option<Vec<Option<String>>> = None;
    if is_arrow {
        let input: pyo3_arrow::input::AnyRecordBatch = columns.extract()?;
        let (b, schema) = py.detach(|| input.into_table())?.into_inner();
        batches = b;
        table.rows = batches.iter().map(arrow_array::RecordBatch::num_rows).sum();
        let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        let position = |name: &str| {
            names.iter().position(|n| *n == name).ok_or_else(|| {
                Error::InvalidInput(format!(
                    "column {name:?} is not in the table (columns: {})",
                    names.join(", ")
                ))
            })
        };
        for name in fields.clone().unwrap_or_default() {
            let at = position(&name).py_err(py)?;
            let mut values = Vec::with_capacity(table.rows);
            for batch in &batches {
                let cells = super::arrow::text_cells(batch.column(at), &name, values.len());
                values.extend(cells.py_err(py)?);
            }
            table.columns.push(Column { name, values });
        }
        if let Some(id) = id_field {
            let at = position(id).py_err(py)?;
            let mut out = Vec::with_capacity(table.rows);
            for batch in &batches {
                out.extend(super::arrow::id_cells(batch.column(at), id, out.len()).py_err(py)?);
            }
            arrow_ids = Some(out);
        }
    }
    // The cell texts are held (ASCII borrowed in place) and read while the GIL is released.
    let mut held: Vec<(String, Vec<Option<PyText<'_>>>)> = Vec::new();
    let mut row_ids: Option<Vec<Option<String>>> = arrow_ids;
    if is_arrow {
        // Read above.
    } else if let Ok(list) = columns.cast::<PyList>() {
        // Rows of plain dicts: each row is visited once, for every field.
        let fields = fields.unwrap_or_default();
        held = fields
            .iter()
            .map(|f| (f.clone(), Vec::with_capacity(rows)))
            .collect();
        let keys: Vec<Bound<'_, PyString>> = fields.iter().map(|f| PyString::new(py, f)).collect();
        let id_key = id_field.map(|f| PyString::new(py, f));
        let mut id_values = Vec::with_capacity(if id_key.is_some() { rows } else { 0 });
        let mut ahead = keys.clone();
        ahead.extend(id_key.clone());
        for row in 0..PREFETCH_ROWS {
            prefetch_row(list, row, &ahead);
        }
        for (row, item) in list.iter().enumerate() {
            prefetch_row(list, row + PREFETCH_ROWS, &ahead);
            let dict = item.cast::<PyDict>().map_err(|_| {
                super::errors::to_py(
                    py,
                    Error::InvalidType(format!(
                        "row {row}: expected a mapping (dict), got {}",
                        type_name(&item)
                    )),
                )
            })?;
            for ((name, values), key) in held.iter_mut().zip(&keys) {
                values.push(match dict.get_item(key)? {
                    Some(v) => cell(v, row, name)?,
                    None => None,
                });
            }
            if let Some(key) = &id_key {
                id_values.push(match dict.get_item(key)? {
                    Some(v) => id_of(py, &v, row)?,
                    None => None,
                });
            }
        }
        if id_key.is_some() {
            row_ids = Some(id_values);
        }
    } else {
        let columns = columns.cast::<PyDict>()?;
        for (k, v) in columns.iter() {
            let name: String = k.extract()?;
            let mut values = Vec::with_capacity(rows);
            for (row, item) in v.try_iter()?.enumerate() {
                let item = item?;
                values.push(cell(item, row, &name)?);
            }
            held.push((name, values));
        }
    }
    for (name, values) in &held {
        if values.len() != rows {
            return Err(Error::InvalidInput(format!(
                "column {name:?} has {} values, the table {rows} rows",
                values.len()
            )))
            .py_err(py);
        }
    }
    for (name, cells) in &held {
        let name = name.clone();
        let values = cells.iter().map(|c| c.as_ref().map(PyText::text)).collect();
        table.columns.push(Column { name, values });
    }
    #[allow(unsafe_code)]
    // SAFETY: every text of `table` points into an object of `held` (a `str`'s storage or
    // UTF-8, a `bytes`' data), into the characters of a `String` there, or into the buffers of
    // `batches` (Arrow buffers: reference-counted, immutable, never moved). `held` and
    // `batches` become the records' anchors below: the objects stay alive (and, being
    // `str`/`bytes`, unchanged), the `String`s keep their characters where they are and the
    // buffers stay allocated, for as long as the records, which `PyRecords` drops before its
    // anchors.
    let table: Table<'static> = unsafe { std::mem::transmute::<Table<'_>, Table<'static>>(table) };
    let mut anchors: Vec<Anchor> = held
        .into_iter()
        .flat_map(|(_, cells)| cells.into_iter().flatten())
        .map(Anchor::from)
        .collect();
    if !batches.is_empty() {
        anchors.push(Anchor::Arrow(batches));
    }
    let ids: Option<Vec<Option<String>>> = match ids {
        None => row_ids,
        Some(ids) => {
            let mut out = Vec::with_capacity(rows);
            for (row, item) in ids.try_iter()?.enumerate() {
                out.push(id_of(py, &item?, row)?);
            }
            Some(out)
        }
    };
    let records = py
        .detach(|| {
            pack::pack(
                table,
                ids.as_deref(),
                &prompt_core,
                &info,
                invocation,
                &clean_specs,
                missing,
            )
        })
        .py_err(py)?;
    Ok(PyRecords {
        inner: records,
        anchors: Arc::new(anchors),
    })
}

/// The shipped price table: (model prefix, input $/Mtok, output $/Mtok, source).
#[pyfunction]
pub fn price_table() -> Vec<(&'static str, f64, f64, &'static str)> {
    cost::PRICES
        .iter()
        .map(|p| (p.model, p.input_per_mtok, p.output_per_mtok, p.source))
        .collect()
}

/// Estimated tokens of a text (see the `tokens` heuristic and its expected error).
#[pyfunction]
pub fn estimate_tokens(text: &Bound<'_, PyString>) -> u64 {
    crate::tokens::estimate(&text_of(text))
}

/// The family and limits the library knows for a model id, inference profile or ARN.
#[pyfunction]
#[pyo3(signature = (model, *, family = None))]
pub fn model_info<'py>(
    py: Python<'py>,
    model: &str,
    family: Option<&str>,
) -> PyResult<Bound<'py, PyDict>> {
    let family = family.map(str::parse::<Family>).transpose().py_err(py)?;
    let m = pack::model_info(model, family).py_err(py)?;
    let d = PyDict::new(py);
    d.set_item("model", m.id)?;
    d.set_item("base_model", m.base)?;
    d.set_item("family", m.family.name())?;
    d.set_item("max_output_tokens", m.max_output_tokens)?;
    d.set_item("context_tokens", m.context_tokens)?;
    Ok(d)
}

/// The foundation model behind a model id, inference-profile id or ARN (what Bedrock's
/// per-model job quota counts): `us.anthropic.x` and `arn:...:foundation-model/anthropic.x`
/// both give `anthropic.x`.
#[pyfunction]
pub fn base_model_id(model: &str) -> String {
    pack::base_model_id(model).to_string()
}
