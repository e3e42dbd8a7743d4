//! Python classes of the pack stage's settings: `Quotas` and `Prompt`.

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

use super::errors::IntoPyResult;
use crate::error::Error;
use crate::pack::{self, Quotas, Template};

/// Batch inference quotas. Every limit is per model and Region; defaults are AWS's.
#[pyclass(frozen, module = "bedrock_batch", name = "Quotas")]
#[derive(Clone)]
pub struct PyQuotas {
    pub inner: Quotas,
}

#[pymethods]
impl PyQuotas {
    #[new]
    #[pyo3(signature = (*, min_records_per_job = 100, max_records_per_job = 50_000, max_records_per_file = 50_000, max_bytes_per_file = 1_000_000_000, max_bytes_per_job = 5_000_000_000, max_concurrent_jobs = 20))]
    fn new(
        py: Python<'_>,
        min_records_per_job: usize,
        max_records_per_job: usize,
        max_records_per_file: usize,
        max_bytes_per_file: u64,
        max_bytes_per_job: u64,
        max_concurrent_jobs: usize,
    ) -> PyResult<Self> {
        let inner = Quotas {
            min_records_per_job,
            max_records_per_job,
            max_records_per_file,
            max_bytes_per_file,
            max_bytes_per_job,
            max_concurrent_jobs,
        };
        inner.check().py_err(py)?;
        Ok(PyQuotas { inner })
    }

    #[getter]
    fn min_records_per_job(&self) -> usize {
        self.inner.min_records_per_job
    }
    #[getter]
    fn max_records_per_job(&self) -> usize {
        self.inner.max_records_per_job
    }
    #[getter]
    fn max_records_per_file(&self) -> usize {
        self.inner.max_records_per_file
    }
    #[getter]
    fn max_bytes_per_file(&self) -> u64 {
        self.inner.max_bytes_per_file
    }
    #[getter]
    fn max_bytes_per_job(&self) -> u64 {
        self.inner.max_bytes_per_job
    }
    #[getter]
    fn max_concurrent_jobs(&self) -> usize {
        self.inner.max_concurrent_jobs
    }

    /// For pickle (Dask and multiprocessing workers): the keyword arguments that make it again.
    fn __getnewargs_ex__<'py>(
        &self,
        py: Python<'py>,
    ) -> PyResult<(Bound<'py, PyTuple>, Bound<'py, PyDict>)> {
        let q = &self.inner;
        let kw = PyDict::new(py);
        kw.set_item("min_records_per_job", q.min_records_per_job)?;
        kw.set_item("max_records_per_job", q.max_records_per_job)?;
        kw.set_item("max_records_per_file", q.max_records_per_file)?;
        kw.set_item("max_bytes_per_file", q.max_bytes_per_file)?;
        kw.set_item("max_bytes_per_job", q.max_bytes_per_job)?;
        kw.set_item("max_concurrent_jobs", q.max_concurrent_jobs)?;
        Ok((PyTuple::empty(py), kw))
    }

    fn __repr__(&self) -> String {
        let q = &self.inner;
        format!(
            "Quotas(min_records_per_job={}, max_records_per_job={}, max_records_per_file={}, max_bytes_per_file={}, max_bytes_per_job={}, max_concurrent_jobs={})",
            q.min_records_per_job, q.max_records_per_job, q.max_records_per_file, q.max_bytes_per_file, q.max_bytes_per_job, q.max_concurrent_jobs
        )
    }
}

/// A prompt: `{column}` templates for the system and user turns, and generation settings.
#[pyclass(frozen, module = "bedrock_batch", name = "Prompt")]
pub struct PyPrompt {
    pub inner: pack::Prompt,
    system_text: Option<String>,
    user_text: String,
}

#[pymethods]
impl PyPrompt {
    #[new]
    #[pyo3(signature = (*, user, system = None, max_tokens = 4096, temperature = None, top_p = None, stop_sequences = None, prefill = None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        user: String,
        system: Option<String>,
        max_tokens: u64,
        temperature: Option<f64>,
        top_p: Option<f64>,
        stop_sequences: Option<Vec<String>>,
        prefill: Option<String>,
    ) -> PyResult<Self> {
        let sys = system
            .as_deref()
            .map(|s| Template::parse(s).map_err(|e| prefix("system", e)))
            .transpose()
            .py_err(py)?;
        let usr = Template::parse(&user)
            .map_err(|e| prefix("user", e))
            .py_err(py)?;
        Ok(PyPrompt {
            inner: pack::Prompt {
                system: sys,
                user: usr,
                settings: pack::Settings {
                    max_tokens,
                    temperature,
                    top_p,
                    stop_sequences: stop_sequences.unwrap_or_default(),
                    prefill,
                    extra: serde_json::Map::new(),
                },
            },
            system_text: system,
            user_text: user,
        })
    }

    /// The columns the templates read.
    #[getter]
    fn fields(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .inner
            .user
            .fields()
            .into_iter()
            .map(String::from)
            .collect();
        if let Some(s) = &self.inner.system {
            for f in s.fields() {
                if !out.iter().any(|o| o == f) {
                    out.push(f.to_string());
                }
            }
        }
        out
    }
    #[getter]
    fn system(&self) -> Option<String> {
        self.system_text.clone()
    }
    #[getter]
    fn user(&self) -> String {
        self.user_text.clone()
    }
    #[getter]
    fn max_tokens(&self) -> u64 {
        self.inner.settings.max_tokens
    }
    #[getter]
    fn temperature(&self) -> Option<f64> {
        self.inner.settings.temperature
    }
    #[getter]
    fn top_p(&self) -> Option<f64> {
        self.inner.settings.top_p
    }
    #[getter]
    fn stop_sequences(&self) -> Vec<String> {
        self.inner.settings.stop_sequences.clone()
    }
    #[getter]
    fn prefill(&self) -> Option<String> {
        self.inner.settings.prefill.clone()
    }

    /// For pickle (Dask and multiprocessing workers): the keyword arguments that make it again.
    fn __getnewargs_ex__<'py>(
        &self,
        py: Python<'py>,
    ) -> PyResult<(Bound<'py, PyTuple>, Bound<'py, PyDict>)> {
        let s = &self.inner.settings;
        let kw = PyDict::new(py);
        kw.set_item("user", &self.user_text)?;
        kw.set_item("system", &self.system_text)?;
        kw.set_item("max_tokens", s.max_tokens)?;
        kw.set_item("temperature", s.temperature)?;
        kw.set_item("top_p", s.top_p)?;
        kw.set_item("stop_sequences", s.stop_sequences.clone())?;
        kw.set_item("prefill", s.prefill.clone())?;
        Ok((PyTuple::empty(py), kw))
    }

    fn __repr__(&self) -> String {
        format!(
            "Prompt(system={:?}, user={:?}, max_tokens={})",
            self.system_text, self.user_text, self.inner.settings.max_tokens
        )
    }
}

fn prefix(what: &str, e: Error) -> Error {
    match e {
        Error::InvalidArgument(m) => Error::InvalidArgument(format!("{what} {m}")),
        other => other,
    }
}
