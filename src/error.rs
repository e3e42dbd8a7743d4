//! The one error type of the core. The Python layer maps each variant to an exception class in
//! `bedrock_batch.exceptions`.

/// Errors of every stage. Messages name the record, line and field where there is one.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A bad argument value (an unknown format, a negative limit).
    #[error("{0}")]
    InvalidArgument(String),
    /// A value of the wrong type at a position of the input.
    #[error("{0}")]
    InvalidType(String),
    /// Bad input data (a record, a line, a field).
    #[error("{0}")]
    InvalidInput(String),
    /// A file or folder that does not exist.
    #[error("{path}: {message}")]
    NotFound { path: String, message: String },
    /// An AWS call failed: the service's error code, its message and what to fix.
    #[error("{code}: {message}{}", if hint.is_empty() { String::new() } else { format!(" ({hint})") })]
    Aws {
        code: String,
        message: String,
        hint: String,
    },
    /// The caller gave up (Ctrl-C) and what the call had started was undone.
    #[error("{0}")]
    Interrupted(String),
    /// Any other I/O error, with the path it concerns.
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

pub type Result<T> = std::result::Result<T, Error>;
