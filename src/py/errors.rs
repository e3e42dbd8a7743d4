//! Maps the core's [`Error`] to the exception tree in `bedrock_batch.exceptions`.
//!
//! The classes are defined in Python so they can inherit from both `BedrockBatchError` and the
//! builtin users expect (`ValueError`, `TypeError`, `FileNotFoundError`).

use pyo3::exceptions::{PyKeyboardInterrupt, PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyType;

use crate::error::Error;

fn class<'py>(py: Python<'py>, name: &str) -> Option<Bound<'py, PyType>> {
    let module = py.import("bedrock_batch.exceptions").ok()?;
    module.getattr(name).ok()?.cast_into::<PyType>().ok()
}

fn raise(py: Python<'_>, name: &str, message: String, fallback: fn(String) -> PyErr) -> PyErr {
    match class(py, name) {
        Some(cls) => PyErr::from_type(cls, message),
        None => fallback(message),
    }
}

/// Converts a core error into the matching Python exception.
pub fn to_py(py: Python<'_>, err: Error) -> PyErr {
    let message = err.to_string();
    match err {
        Error::InvalidArgument(_) | Error::InvalidInput(_) => {
            raise(py, "InputError", message, PyValueError::new_err)
        }
        Error::InvalidType(_) => raise(py, "InputTypeError", message, PyTypeError::new_err),
        Error::NotFound { .. } => raise(py, "NotFoundError", message, PyValueError::new_err),
        Error::Io { .. } => raise(py, "BedrockBatchError", message, PyRuntimeError::new_err),
        Error::Interrupted(_) => PyKeyboardInterrupt::new_err(message),
        Error::Aws { code, .. } => {
            let name = match code.as_str() {
                "AccessDeniedException"
                | "AccessDenied"
                | "InvalidAccessKeyId"
                | "SignatureDoesNotMatch" => "AccessDeniedError",
                "ThrottlingException" | "SlowDown" | "TooManyRequestsException" => {
                    "ThrottlingError"
                }
                "ValidationException" => "AwsValidationError",
                "ConflictException" | "PreconditionFailed" | "ConditionalRequestConflict" => {
                    "ConflictError"
                }
                "ServiceQuotaExceededException" => "QuotaExceededError",
                "ResourceNotFoundException" | "NoSuchBucket" | "NoSuchKey" | "NotFound" => {
                    "AwsNotFoundError"
                }
                "ConnectionError" => "AwsConnectionError",
                _ => "AwsError",
            };
            let err = raise(py, name, message, PyRuntimeError::new_err);
            // The service's error code, for callers that branch on it.
            let _ = err.value(py).setattr("code", code);
            err
        }
    }
}

/// `Result` of the core to `PyResult`, attaching to the interpreter only on error.
pub trait IntoPyResult<T> {
    fn py_err(self, py: Python<'_>) -> PyResult<T>;
}

impl<T> IntoPyResult<T> for Result<T, Error> {
    fn py_err(self, py: Python<'_>) -> PyResult<T> {
        self.map_err(|e| to_py(py, e))
    }
}
