//! Python bindings of the AWS layer: every call as a sync method (the GIL released while the
//! shared tokio runtime blocks; works inside a running event loop, e.g. Jupyter) and an `_async`
//! twin returning an awaitable.

use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use pyo3::IntoPyObject;

use super::errors::to_py;
use crate::aws::{self, Cancel, Client, ClientConfig, JobInfo, JobRequest, ListFilter};
use crate::error::Error;

fn runtime() -> &'static tokio::runtime::Runtime {
    pyo3_async_runtimes::tokio::get_runtime()
}

/// How often a blocked call wakes to check for Ctrl-C, and how long an interrupted call may
/// take to undo what it started before it is dropped.
const TICK: Duration = Duration::from_millis(100);
const UNDO: Duration = Duration::from_millis(1500);

/// Runs the future `make` returns on the shared runtime with the GIL released, waking every
/// 100 ms to check for Ctrl-C. On `KeyboardInterrupt` the future's [`Cancel`] fires and it gets
/// up to 1.5 s to undo its work (an upload removes what it wrote) before it is dropped.
fn block<T, F>(py: Python<'_>, make: impl FnOnce(Cancel) -> F) -> PyResult<T>
where
    T: Send + 'static,
    F: Future<Output = Result<T, Error>> + Send + 'static,
{
    let (handle, cancel) = Cancel::new();
    let mut task = runtime().spawn(make(cancel));
    loop {
        let waited =
            py.detach(|| runtime().block_on(async { tokio::time::timeout(TICK, &mut task).await }));
        if let Ok(joined) = waited {
            return joined
                .map_err(|e| PyRuntimeError::new_err(format!("bedrock-batch task failed: {e}")))?
                .map_err(|e| to_py(py, e));
        }
        if let Err(interrupt) = py.check_signals() {
            handle.cancel();
            let _ = py.detach(|| {
                runtime().block_on(async { tokio::time::timeout(UNDO, &mut task).await })
            });
            task.abort();
            return Err(interrupt);
        }
    }
}

fn spawn<'py, T>(
    py: Python<'py>,
    fut: impl Future<Output = Result<T, Error>> + Send + 'static,
) -> PyResult<Bound<'py, PyAny>>
where
    T: for<'a> IntoPyObject<'a> + Send + 'static,
{
    pyo3_async_runtimes::tokio::future_into_py(py, async move {
        fut.await.map_err(|e| Python::attach(|py| to_py(py, e)))
    })
}

/// A job as a dict for Python.
#[derive(IntoPyObject)]
pub struct PyJobInfo {
    job_arn: String,
    job_name: Option<String>,
    model_id: String,
    status: Option<String>,
    message: Option<String>,
    submit_time: Option<f64>,
    last_modified_time: Option<f64>,
    end_time: Option<f64>,
    input_uri: Option<String>,
    output_uri: Option<String>,
    role_arn: String,
    client_request_token: Option<String>,
    timeout_hours: Option<i32>,
    invocation_type: Option<String>,
    total_records: Option<i64>,
    processed_records: Option<i64>,
    success_records: Option<i64>,
    error_records: Option<i64>,
}

impl From<JobInfo> for PyJobInfo {
    fn from(j: JobInfo) -> Self {
        PyJobInfo {
            job_arn: j.job_arn,
            job_name: j.job_name,
            model_id: j.model_id,
            status: j.status,
            message: j.message,
            submit_time: j.submit_time,
            last_modified_time: j.last_modified_time,
            end_time: j.end_time,
            input_uri: j.input_uri,
            output_uri: j.output_uri,
            role_arn: j.role_arn,
            client_request_token: j.client_request_token,
            timeout_hours: j.timeout_hours,
            invocation_type: j.invocation_type,
            total_records: j.total_records,
            processed_records: j.processed_records,
            success_records: j.success_records,
            error_records: j.error_records,
        }
    }
}

/// What a submit did, as a dict for Python.
#[derive(IntoPyObject)]
pub struct Submitted {
    job_arn: String,
    client_request_token: String,
    files: usize,
    bytes: u64,
}

impl From<aws::Submitted> for Submitted {
    fn from(s: aws::Submitted) -> Self {
        Submitted {
            job_arn: s.job_arn,
            client_request_token: s.client_request_token,
            files: s.files,
            bytes: s.bytes,
        }
    }
}

async fn submit(
    client: Client,
    local: PathBuf,
    req: JobRequest,
    cancel: Cancel,
) -> Result<Submitted, Error> {
    client
        .submit(&local, req, &cancel)
        .await
        .map(Submitted::from)
}

async fn probe(client: Client, uri: String) -> Result<Vec<(String, bool, String)>, Error> {
    let steps = client.probe(&uri).await?;
    Ok(steps.into_iter().map(|s| (s.step, s.ok, s.error)).collect())
}

/// S3, Bedrock and Bedrock runtime clients (the Rust core of `bedrock_batch.Client`).
#[pyclass(frozen, module = "bedrock_batch", name = "_AwsClient")]
pub struct PyAwsClient {
    inner: Client,
}

#[allow(clippy::too_many_arguments)]
fn job_request(
    name: &str,
    role_arn: String,
    model_id: String,
    input_uri: String,
    output_uri: String,
    token: Option<String>,
    kms_key: Option<String>,
    timeout_hours: Option<i32>,
    tags: Option<Vec<(String, String)>>,
    converse: bool,
    subnet_ids: Option<Vec<String>>,
    security_group_ids: Option<Vec<String>>,
) -> JobRequest {
    JobRequest {
        name: aws::job_name(name),
        role_arn,
        model_id,
        input_uri,
        output_uri,
        client_request_token: token,
        kms_key,
        timeout_hours,
        tags: tags.unwrap_or_default(),
        converse,
        subnet_ids: subnet_ids.unwrap_or_default(),
        security_group_ids: security_group_ids.unwrap_or_default(),
    }
}

fn condition(if_match: Option<String>, if_none_match: bool) -> aws::Condition {
    match (if_match, if_none_match) {
        (Some(etag), _) => aws::Condition::Etag(etag),
        (None, true) => aws::Condition::Absent,
        (None, false) => aws::Condition::Always,
    }
}

#[pymethods]
impl PyAwsClient {
    #[new]
    #[pyo3(signature = (*, region = None, profile = None, endpoint_url = None, access_key_id = None, secret_access_key = None, session_token = None, connect_timeout = None, max_attempts = None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        region: Option<String>,
        profile: Option<String>,
        endpoint_url: Option<String>,
        access_key_id: Option<String>,
        secret_access_key: Option<String>,
        session_token: Option<String>,
        connect_timeout: Option<f64>,
        max_attempts: Option<u32>,
    ) -> PyResult<Self> {
        let cfg = ClientConfig {
            region,
            profile,
            endpoint_url,
            access_key_id,
            secret_access_key,
            session_token,
            connect_timeout: connect_timeout.map(std::time::Duration::from_secs_f64),
            max_attempts,
        };
        let inner = block(py, |_| Client::new(cfg))?;
        Ok(PyAwsClient { inner })
    }

    /// The region the client resolved (None when none is configured).
    #[getter]
    fn region(&self) -> Option<String> {
        self.inner.region.clone()
    }

    /// The endpoint override, if any.
    #[getter]
    fn endpoint_url(&self) -> Option<String> {
        self.inner.endpoint_url.clone()
    }

    /// Uploads a file or folder to an S3 URI: [(key, bytes, etag)].
    fn upload(
        &self,
        py: Python<'_>,
        local: PathBuf,
        uri: String,
    ) -> PyResult<Vec<(String, u64, String)>> {
        let c = self.inner.clone();
        let up = block(py, move |cancel| async move {
            c.upload(&local, &uri, &cancel).await
        })?;
        Ok(up.into_iter().map(|u| (u.key, u.bytes, u.etag)).collect())
    }

    fn upload_async<'py>(
        &self,
        py: Python<'py>,
        local: PathBuf,
        uri: String,
    ) -> PyResult<Bound<'py, PyAny>> {
        let c = self.inner.clone();
        spawn(py, async move {
            let up = c.upload(&local, &uri, &Cancel::never()).await?;
            Ok(up
                .into_iter()
                .map(|u| (u.key, u.bytes, u.etag))
                .collect::<Vec<_>>())
        })
    }

    /// Objects under an S3 URI: [(key, size)].
    fn list(&self, py: Python<'_>, uri: String) -> PyResult<Vec<(String, u64)>> {
        let c = self.inner.clone();
        block(py, |_| async move { c.list(&uri).await })
    }

    fn list_async<'py>(&self, py: Python<'py>, uri: String) -> PyResult<Bound<'py, PyAny>> {
        let c = self.inner.clone();
        spawn(py, async move { c.list(&uri).await })
    }

    /// Downloads every object under an S3 URI into a folder: the local paths.
    fn download(&self, py: Python<'_>, uri: String, dir: PathBuf) -> PyResult<Vec<PathBuf>> {
        let c = self.inner.clone();
        block(py, |_| async move { c.download(&uri, &dir).await })
    }

    fn download_async<'py>(
        &self,
        py: Python<'py>,
        uri: String,
        dir: PathBuf,
    ) -> PyResult<Bound<'py, PyAny>> {
        let c = self.inner.clone();
        spawn(py, async move { c.download(&uri, &dir).await })
    }

    /// Uploads a job folder to `input_uri` and creates the job.
    #[pyo3(signature = (local, *, name, role_arn, model_id, input_uri, output_uri, client_request_token = None, kms_key = None, timeout_hours = None, tags = None, converse = false, subnet_ids = None, security_group_ids = None))]
    #[allow(clippy::too_many_arguments)]
    fn submit(
        &self,
        py: Python<'_>,
        local: PathBuf,
        name: &str,
        role_arn: String,
        model_id: String,
        input_uri: String,
        output_uri: String,
        client_request_token: Option<String>,
        kms_key: Option<String>,
        timeout_hours: Option<i32>,
        tags: Option<Vec<(String, String)>>,
        converse: bool,
        subnet_ids: Option<Vec<String>>,
        security_group_ids: Option<Vec<String>>,
    ) -> PyResult<Submitted> {
        let req = job_request(
            name,
            role_arn,
            model_id,
            input_uri,
            output_uri,
            client_request_token,
            kms_key,
            timeout_hours,
            tags,
            converse,
            subnet_ids,
            security_group_ids,
        );
        block(py, |cancel| submit(self.inner.clone(), local, req, cancel))
    }

    #[pyo3(signature = (local, *, name, role_arn, model_id, input_uri, output_uri, client_request_token = None, kms_key = None, timeout_hours = None, tags = None, converse = false, subnet_ids = None, security_group_ids = None))]
    #[allow(clippy::too_many_arguments)]
    fn submit_async<'py>(
        &self,
        py: Python<'py>,
        local: PathBuf,
        name: &str,
        role_arn: String,
        model_id: String,
        input_uri: String,
        output_uri: String,
        client_request_token: Option<String>,
        kms_key: Option<String>,
        timeout_hours: Option<i32>,
        tags: Option<Vec<(String, String)>>,
        converse: bool,
        subnet_ids: Option<Vec<String>>,
        security_group_ids: Option<Vec<String>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let req = job_request(
            name,
            role_arn,
            model_id,
            input_uri,
            output_uri,
            client_request_token,
            kms_key,
            timeout_hours,
            tags,
            converse,
            subnet_ids,
            security_group_ids,
        );
        spawn(py, submit(self.inner.clone(), local, req, Cancel::never()))
    }

    /// CreateModelInvocationJob for input already in S3: the job ARN.
    #[pyo3(signature = (*, name, role_arn, model_id, input_uri, output_uri, client_request_token, kms_key = None, timeout_hours = None, tags = None, converse = false, subnet_ids = None, security_group_ids = None))]
    #[allow(clippy::too_many_arguments)]
    fn create_job(
        &self,
        py: Python<'_>,
        name: &str,
        role_arn: String,
        model_id: String,
        input_uri: String,
        output_uri: String,
        client_request_token: String,
        kms_key: Option<String>,
        timeout_hours: Option<i32>,
        tags: Option<Vec<(String, String)>>,
        converse: bool,
        subnet_ids: Option<Vec<String>>,
        security_group_ids: Option<Vec<String>>,
    ) -> PyResult<String> {
        let req = job_request(
            name,
            role_arn,
            model_id,
            input_uri,
            output_uri,
            Some(client_request_token),
            kms_key,
            timeout_hours,
            tags,
            converse,
            subnet_ids,
            security_group_ids,
        );
        let c = self.inner.clone();
        block(py, |_| async move { c.create_job(&req).await })
    }

    #[pyo3(signature = (*, name, role_arn, model_id, input_uri, output_uri, client_request_token, kms_key = None, timeout_hours = None, tags = None, converse = false, subnet_ids = None, security_group_ids = None))]
    #[allow(clippy::too_many_arguments)]
    fn create_job_async<'py>(
        &self,
        py: Python<'py>,
        name: &str,
        role_arn: String,
        model_id: String,
        input_uri: String,
        output_uri: String,
        client_request_token: String,
        kms_key: Option<String>,
        timeout_hours: Option<i32>,
        tags: Option<Vec<(String, String)>>,
        converse: bool,
        subnet_ids: Option<Vec<String>>,
        security_group_ids: Option<Vec<String>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let req = job_request(
            name,
            role_arn,
            model_id,
            input_uri,
            output_uri,
            Some(client_request_token),
            kms_key,
            timeout_hours,
            tags,
            converse,
            subnet_ids,
            security_group_ids,
        );
        let c = self.inner.clone();
        spawn(py, async move { c.create_job(&req).await })
    }

    /// GetObject: `(bytes, etag)`, or None when there is no object.
    fn get_object(&self, py: Python<'_>, uri: String) -> PyResult<Option<(Py<PyBytes>, String)>> {
        let c = self.inner.clone();
        let got = block(py, |_| async move { c.get_object(&uri).await })?;
        Ok(got.map(|o| (PyBytes::new(py, &o.data).unbind(), o.etag)))
    }

    fn get_object_async<'py>(&self, py: Python<'py>, uri: String) -> PyResult<Bound<'py, PyAny>> {
        let c = self.inner.clone();
        spawn(py, async move {
            let got = c.get_object(&uri).await?;
            // `Cow<[u8]>` becomes `bytes` (a `Vec<u8>` would become a list of ints).
            Ok(got.map(|o| (std::borrow::Cow::<[u8]>::Owned(o.data), o.etag)))
        })
    }

    /// PutObject: the new ETag. `if_none_match=True` writes only where no object is;
    /// `if_match=etag` only over that version (else `ConflictError`, code `PreconditionFailed`).
    #[pyo3(signature = (uri, data, *, if_match = None, if_none_match = false))]
    fn put_object(
        &self,
        py: Python<'_>,
        uri: String,
        data: &[u8],
        if_match: Option<String>,
        if_none_match: bool,
    ) -> PyResult<String> {
        let data = data.to_vec();
        let c = self.inner.clone();
        let cond = condition(if_match, if_none_match);
        block(py, |_| async move { c.put_object(&uri, data, cond).await })
    }

    #[pyo3(signature = (uri, data, *, if_match = None, if_none_match = false))]
    fn put_object_async<'py>(
        &self,
        py: Python<'py>,
        uri: String,
        data: &[u8],
        if_match: Option<String>,
        if_none_match: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let data = data.to_vec();
        let c = self.inner.clone();
        let cond = condition(if_match, if_none_match);
        spawn(py, async move { c.put_object(&uri, data, cond).await })
    }

    /// DeleteObject (with `if_match`, only while the object has that ETag).
    #[pyo3(signature = (uri, *, if_match = None))]
    fn delete_object(&self, py: Python<'_>, uri: String, if_match: Option<String>) -> PyResult<()> {
        let c = self.inner.clone();
        block(py, |_| async move { c.delete_object(&uri, if_match).await })
    }

    #[pyo3(signature = (uri, *, if_match = None))]
    fn delete_object_async<'py>(
        &self,
        py: Python<'py>,
        uri: String,
        if_match: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let c = self.inner.clone();
        spawn(py, async move { c.delete_object(&uri, if_match).await })
    }

    /// GetModelInvocationJob as a dict.
    fn get_job(&self, py: Python<'_>, job: String) -> PyResult<PyJobInfo> {
        let c = self.inner.clone();
        block(
            py,
            |_| async move { c.get_job(&job).await.map(PyJobInfo::from) },
        )
    }

    fn get_job_async<'py>(&self, py: Python<'py>, job: String) -> PyResult<Bound<'py, PyAny>> {
        let c = self.inner.clone();
        spawn(
            py,
            async move { c.get_job(&job).await.map(PyJobInfo::from) },
        )
    }

    /// ListModelInvocationJobs (all pages) as dicts.
    #[pyo3(signature = (*, status = None, name_contains = None, submitted_after = None, max_results = None))]
    fn list_jobs(
        &self,
        py: Python<'_>,
        status: Option<String>,
        name_contains: Option<String>,
        submitted_after: Option<f64>,
        max_results: Option<i32>,
    ) -> PyResult<Vec<PyJobInfo>> {
        let c = self.inner.clone();
        let f = ListFilter {
            status,
            name_contains,
            submitted_after,
            max_results,
        };
        block(py, |_| async move {
            Ok(c.list_jobs(&f)
                .await?
                .into_iter()
                .map(PyJobInfo::from)
                .collect())
        })
    }

    #[pyo3(signature = (*, status = None, name_contains = None, submitted_after = None, max_results = None))]
    fn list_jobs_async<'py>(
        &self,
        py: Python<'py>,
        status: Option<String>,
        name_contains: Option<String>,
        submitted_after: Option<f64>,
        max_results: Option<i32>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let c = self.inner.clone();
        let f = ListFilter {
            status,
            name_contains,
            submitted_after,
            max_results,
        };
        spawn(py, async move {
            Ok(c.list_jobs(&f)
                .await?
                .into_iter()
                .map(PyJobInfo::from)
                .collect::<Vec<_>>())
        })
    }

    /// StopModelInvocationJob.
    fn stop_job(&self, py: Python<'_>, job: String) -> PyResult<()> {
        let c = self.inner.clone();
        block(py, |_| async move { c.stop_job(&job).await })
    }

    fn stop_job_async<'py>(&self, py: Python<'py>, job: String) -> PyResult<Bound<'py, PyAny>> {
        let c = self.inner.clone();
        spawn(py, async move { c.stop_job(&job).await })
    }

    /// InvokeModel with a JSON body (content type and accept `application/json`): the response
    /// body unchanged.
    fn invoke_model(&self, py: Python<'_>, model_id: String, body: &[u8]) -> PyResult<Py<PyBytes>> {
        let body = body.to_vec();
        let c = self.inner.clone();
        let out = block(py, |_| async move { c.invoke_model(&model_id, body).await })?;
        Ok(PyBytes::new(py, &out).unbind())
    }

    fn invoke_model_async<'py>(
        &self,
        py: Python<'py>,
        model_id: String,
        body: &[u8],
    ) -> PyResult<Bound<'py, PyAny>> {
        let body = body.to_vec();
        let c = self.inner.clone();
        spawn(py, async move {
            let out = c.invoke_model(&model_id, body).await?;
            Ok(std::borrow::Cow::<[u8]>::Owned(out))
        })
    }

    /// Converse with a body as a Converse batch record's `modelInput` (JSON, text blocks only):
    /// the response as JSON, as a Converse job's `modelOutput` holds it.
    fn converse(&self, py: Python<'_>, model_id: String, body: &[u8]) -> PyResult<Py<PyBytes>> {
        let body = body.to_vec();
        let c = self.inner.clone();
        let out = block(py, |_| async move { c.converse(&model_id, &body).await })?;
        Ok(PyBytes::new(py, &out).unbind())
    }

    fn converse_async<'py>(
        &self,
        py: Python<'py>,
        model_id: String,
        body: &[u8],
    ) -> PyResult<Bound<'py, PyAny>> {
        let body = body.to_vec();
        let c = self.inner.clone();
        spawn(py, async move {
            let out = c.converse(&model_id, &body).await?;
            Ok(std::borrow::Cow::<[u8]>::Owned(out))
        })
    }

    /// CountTokens: the input tokens of an InvokeModel body, or with `converse=True` of a
    /// Converse body (its `inferenceConfig` is not counted).
    #[pyo3(signature = (model_id, body, *, converse = false))]
    fn count_tokens(
        &self,
        py: Python<'_>,
        model_id: String,
        body: &[u8],
        converse: bool,
    ) -> PyResult<i32> {
        let body = body.to_vec();
        let c = self.inner.clone();
        block(py, |_| async move {
            c.count_tokens(&model_id, body, converse).await
        })
    }

    #[pyo3(signature = (model_id, body, *, converse = false))]
    fn count_tokens_async<'py>(
        &self,
        py: Python<'py>,
        model_id: String,
        body: &[u8],
        converse: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let body = body.to_vec();
        let c = self.inner.clone();
        spawn(py, async move {
            c.count_tokens(&model_id, body, converse).await
        })
    }

    /// Write, read, list and delete a probe object under an S3 URI: [(step, ok, error)].
    fn probe(&self, py: Python<'_>, uri: String) -> PyResult<Vec<(String, bool, String)>> {
        block(py, |_| probe(self.inner.clone(), uri))
    }

    fn probe_async<'py>(&self, py: Python<'py>, uri: String) -> PyResult<Bound<'py, PyAny>> {
        spawn(py, probe(self.inner.clone(), uri))
    }

    fn __repr__(&self) -> String {
        format!(
            "_AwsClient(region={:?}, endpoint_url={:?})",
            self.inner.region, self.inner.endpoint_url
        )
    }
}

/// A job name made valid for Bedrock.
#[pyfunction]
pub fn valid_job_name(name: &str) -> String {
    aws::job_name(name)
}
