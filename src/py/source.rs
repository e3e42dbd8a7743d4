//! Python bindings of the sources: a WordPress export (WXR) as an Arrow stream built in Rust,
//! so reading one needs no pyarrow.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use arrow_array::{ArrayRef, RecordBatch, RecordBatchReader, StructArray};
use arrow_schema::{ArrowError, Field, SchemaRef};
use pyo3::prelude::*;
use pyo3::types::{PyCapsule, PyDict, PyString};
use pyo3_arrow::ffi::{to_schema_pycapsule, to_stream_pycapsule, ArrayIterator};

use super::errors::IntoPyResult;
use crate::error::Error;
use crate::source::wxr::{Filter, Options, WxrReader};

/// The batches of a WXR file: the first, read when the file was opened, then the rest.
struct Batches {
    first: Option<RecordBatch>,
    reader: WxrReader,
}

impl Iterator for Batches {
    type Item = Result<RecordBatch, ArrowError>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(first) = self.first.take() {
            return Some(Ok(first));
        }
        // A consumer (pyarrow, polars, DuckDB) gets the core's message: file, line, column.
        self.reader.next().map(|r| {
            r.map_err(|e| match e {
                Error::Io { path, source } => {
                    ArrowError::IoError(format!("{path}: {source}"), source)
                }
                other => ArrowError::ParseError(other.to_string()),
            })
        })
    }
}

impl RecordBatchReader for Batches {
    fn schema(&self) -> SchemaRef {
        self.reader.schema()
    }
}

/// Articles read from a file as a stream of Arrow record batches, for any reader of the Arrow
/// PyCapsule interface: ``pa.table(s)``, ``pa.RecordBatchReader.from_stream(s)``,
/// ``pl.DataFrame(s)``, ``duckdb.sql("from s")``, ``bb.pack(s, ...)``. It can be read once.
#[pyclass(frozen, module = "bedrock_batch", name = "ArticleStream")]
pub struct PyArticleStream {
    batches: Mutex<Option<Batches>>,
    schema: SchemaRef,
    path: String,
}

impl PyArticleStream {
    fn take(&self) -> Result<Batches, Error> {
        self.batches
            .lock()
            .map_err(|_| Error::InvalidInput("the stream's reader failed while reading".into()))?
            .take()
            .ok_or_else(|| {
                Error::InvalidArgument(format!(
                    "the articles of {} were already read: an ArticleStream can be read once \
                     (call read_articles again, or keep pa.table(stream))",
                    self.path
                ))
            })
    }
}

#[pymethods]
impl PyArticleStream {
    /// Exports the stream (the Arrow PyCapsule interface); the stream is then used up.
    #[pyo3(signature = (requested_schema = None))]
    fn __arrow_c_stream__<'py>(
        &self,
        py: Python<'py>,
        requested_schema: Option<Bound<'py, PyCapsule>>,
    ) -> PyResult<Bound<'py, PyCapsule>> {
        let batches = self.take().py_err(py)?;
        let field = Field::new_struct("", self.schema.fields().clone(), false)
            .with_metadata(self.schema.metadata().clone());
        let arrays = batches.map(|b| b.map(|b| Arc::new(StructArray::from(b)) as ArrayRef));
        Ok(to_stream_pycapsule(
            py,
            Box::new(ArrayIterator::new(arrays, Arc::new(field))),
            requested_schema,
        )?)
    }

    /// The schema (the Arrow PyCapsule interface): ``pa.schema(stream)``.
    fn __arrow_c_schema__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyCapsule>> {
        Ok(to_schema_pycapsule(py, self.schema.as_ref())?)
    }

    /// The column names, in order.
    #[getter]
    fn column_names(&self) -> Vec<String> {
        self.schema
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect()
    }

    /// The file read.
    #[getter]
    fn path(&self) -> &str {
        &self.path
    }

    /// Whether the stream was read (exported) already.
    #[getter]
    fn closed(&self) -> bool {
        self.batches.lock().map_or(true, |b| b.is_none())
    }

    fn __repr__(&self) -> String {
        format!(
            "ArticleStream({:?}, columns=[{}]{})",
            self.path,
            self.column_names().join(", "),
            if self.closed() { ", read" } else { "" }
        )
    }
}

/// The filter argument: "published", "all", None (all) or ``{column: [values]}``.
fn filter_of(filter: Option<&Bound<'_, PyAny>>) -> PyResult<Result<Filter, Error>> {
    let Some(filter) = filter else {
        return Ok(Ok(Filter::all()));
    };
    if let Ok(s) = filter.cast::<PyString>() {
        return Ok(match s.to_str()? {
            "published" => Ok(Filter::published()),
            "all" => Ok(Filter::all()),
            other => Err(Error::InvalidArgument(format!(
                "filter must be \"published\", \"all\", None or a dict of column to values, got \
                 {other:?}"
            ))),
        });
    }
    let Ok(rules) = filter.cast::<PyDict>() else {
        return Ok(Err(Error::InvalidType(format!(
            "filter must be \"published\", \"all\", None or a dict of column to values, got {}",
            filter.get_type().name()?
        ))));
    };
    let mut out = Vec::with_capacity(rules.len());
    for (k, v) in rules.iter() {
        let key: String = k.extract()?;
        let values: Vec<String> = match v.cast::<PyString>() {
            Ok(s) => vec![s.to_str()?.to_string()],
            Err(_) => v.extract()?,
        };
        out.push((key, values));
    }
    Ok(Filter::new(out))
}

/// Reads a WordPress export (WXR) as a stream of Arrow record batches of ``batch_size``
/// items: ``id``, ``title``, ``content``, ``excerpt``, ``date``, ``status``, ``post_type``,
/// ``link`` (``large_string``, null where the item has no such field) and ``categories``,
/// ``tags`` (``list<large_string>``). ``filter``: "published" (published posts and pages),
/// "all" or None (every item), or ``{column: [values]}``. The first batch is read here, so a
/// file that is malformed early raises at once.
#[pyfunction]
#[pyo3(signature = (path, *, columns = None, filter = None, batch_size = 1024))]
pub fn read_wxr(
    py: Python<'_>,
    path: PathBuf,
    columns: Option<Vec<String>>,
    filter: Option<&Bound<'_, PyAny>>,
    batch_size: usize,
) -> PyResult<PyArticleStream> {
    let filter = filter_of(filter)?.py_err(py)?;
    let options = Options {
        columns,
        filter,
        batch_size,
    };
    let name = path.display().to_string();
    let batches = py
        .detach(|| -> Result<Batches, Error> {
            let mut reader = WxrReader::open(&path, options)?;
            let first = reader.next_batch()?;
            Ok(Batches { first, reader })
        })
        .py_err(py)?;
    let schema = batches.reader.schema();
    Ok(PyArticleStream {
        batches: Mutex::new(Some(batches)),
        schema,
        path: name,
    })
}
