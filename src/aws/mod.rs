//! The AWS layer: S3 and Bedrock clients on one shared tokio runtime, built from the standard
//! credential chain, region and endpoint overrides. One async function per AWS call.

mod bedrock;
mod cancel;
mod s3;

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};

pub use bedrock::{job_name, JobInfo, JobRequest, ListFilter};
pub use cancel::{Cancel, CancelHandle};
pub use s3::{content_digest, parse_s3_uri, safe_local_path, Condition, Object, Uploaded};

use crate::error::Error;

/// How a client is built.
#[derive(Clone, Debug, Default)]
pub struct ClientConfig {
    pub region: Option<String>,
    pub profile: Option<String>,
    /// One endpoint for S3 and Bedrock (the local emulator); `AWS_ENDPOINT_URL`,
    /// `AWS_ENDPOINT_URL_S3` and `AWS_ENDPOINT_URL_BEDROCK` are honoured by aws-config itself.
    pub endpoint_url: Option<String>,
    /// Static credentials (the emulator's); never logged.
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    pub session_token: Option<String>,
    pub connect_timeout: Option<Duration>,
    pub max_attempts: Option<u32>,
}

/// S3 and Bedrock clients sharing one AWS configuration.
#[derive(Clone, Debug)]
pub struct Client {
    pub s3: aws_sdk_s3::Client,
    pub bedrock: aws_sdk_bedrock::Client,
    pub region: Option<String>,
    pub endpoint_url: Option<String>,
}

impl Client {
    /// Builds both clients. Throttling and 5xx are retried with backoff (standard retry mode,
    /// 5 attempts); a connection that cannot be made fails within the connect timeout.
    pub async fn new(cfg: ClientConfig) -> Result<Client, Error> {
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .retry_config(RetryConfig::standard().with_max_attempts(cfg.max_attempts.unwrap_or(5)))
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(cfg.connect_timeout.unwrap_or(Duration::from_secs(5)))
                    // A server that accepts and never answers must not hang a notebook.
                    .read_timeout(Duration::from_secs(120))
                    .build(),
            );
        if let Some(r) = &cfg.region {
            loader = loader.region(Region::new(r.clone()));
        }
        if let Some(p) = &cfg.profile {
            loader = loader.profile_name(p);
        }
        if let Some(url) = &cfg.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        if let (Some(k), Some(s)) = (&cfg.access_key_id, &cfg.secret_access_key) {
            loader = loader.credentials_provider(aws_sdk_s3::config::Credentials::new(
                k.clone(),
                s.clone(),
                cfg.session_token.clone(),
                None,
                "bedrock-batch-static",
            ));
        }
        let shared = loader.load().await;
        let region = shared.region().map(ToString::to_string);
        // Path-style addressing whenever the endpoint is overridden (emulators, S3-compatible
        // stores): virtual-hosted buckets need DNS that loopback does not have.
        let overridden = cfg.endpoint_url.is_some()
            || std::env::var_os("AWS_ENDPOINT_URL").is_some()
            || std::env::var_os("AWS_ENDPOINT_URL_S3").is_some();
        let s3_conf = aws_sdk_s3::config::Builder::from(&shared)
            .force_path_style(overridden)
            .build();
        Ok(Client {
            s3: aws_sdk_s3::Client::from_conf(s3_conf),
            bedrock: aws_sdk_bedrock::Client::new(&shared),
            region,
            endpoint_url: cfg.endpoint_url,
        })
    }
}

/// Turns an SDK error into our error, with what to fix where we know it.
pub fn sdk_error<E, R>(what: &str, err: aws_sdk_s3::error::SdkError<E, R>) -> Error
where
    E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    use aws_sdk_s3::error::SdkError;
    match &err {
        SdkError::DispatchFailure(d) => {
            let kind = if d.is_timeout() {
                "timed out"
            } else {
                "failed"
            };
            Error::Aws {
                code: "ConnectionError".into(),
                message: format!(
                    "{what}: the connection {kind} ({})",
                    aws_sdk_s3::error::DisplayErrorContext(&err)
                ),
                hint: "check the endpoint URL and network (for the local emulator: is it running?)"
                    .into(),
            }
        }
        SdkError::TimeoutError(_) => Error::Aws {
            code: "ConnectionError".into(),
            message: format!("{what}: timed out"),
            hint: "check the endpoint URL and network".into(),
        },
        SdkError::ServiceError(se) => {
            let e = se.err();
            let code = e.code().unwrap_or("Unknown").to_string();
            let message = match e.message() {
                Some(m) => format!("{what}: {m}"),
                None => format!("{what}: {}", aws_sdk_s3::error::DisplayErrorContext(&err)),
            };
            Error::Aws {
                hint: hint_for(what, &code),
                code,
                message,
            }
        }
        _ => Error::Aws {
            code: "Unknown".into(),
            message: format!("{what}: {}", aws_sdk_s3::error::DisplayErrorContext(&err)),
            hint: String::new(),
        },
    }
}

fn hint_for(what: &str, code: &str) -> String {
    match code {
        "AccessDeniedException" | "AccessDenied" if what.starts_with("CreateModelInvocationJob") => {
            "the caller needs bedrock:CreateModelInvocationJob and iam:PassRole on the job role (see bb.iam.caller_policy)".into()
        }
        "AccessDeniedException" | "AccessDenied" => {
            "check the caller's permissions for this call; for the bucket, the role's S3 permissions (see bb.iam.role_policy)".into()
        }
        "ValidationException" => "a request value breaks Bedrock's rules: the message names it".into(),
        "ConflictException" => "the job is in a state that does not allow this (already stopping or finished?)".into(),
        "ServiceQuotaExceededException" => {
            "too many submitted + in-progress jobs for this model: wait for some to finish (Quotas.max_concurrent_jobs)".into()
        }
        "ThrottlingException" | "SlowDown" => "still throttled after retries: slow down and try again".into(),
        "NoSuchBucket" => "the bucket does not exist (or is in another account)".into(),
        _ => String::new(),
    }
}
