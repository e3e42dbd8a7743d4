//! The AWS layer: S3, Bedrock and Bedrock runtime clients on one shared tokio runtime, built
//! from the standard credential chain, region and endpoint overrides. One async function per AWS
//! call.

mod bedrock;
mod cancel;
mod converse;
mod runtime;
mod s3;
mod submit;

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};
use aws_smithy_runtime_api::client::auth::AuthSchemeId;

pub use bedrock::{job_name, JobInfo, JobRequest, ListFilter};
pub use cancel::{Cancel, CancelHandle};
pub use converse::{converse_response_json, ConverseBody};
pub use s3::{content_digest, parse_s3_uri, safe_local_path, Condition, Object, Uploaded};
pub use submit::{idempotency_token, ProbeStep, Submitted};

use crate::error::Error;

/// How long the runtime client waits for a response to start (the other clients: 120 s).
pub const RUNTIME_READ_TIMEOUT: Duration = Duration::from_mins(15);

/// How a client is built.
#[derive(Clone, Debug, Default)]
pub struct ClientConfig {
    pub region: Option<String>,
    pub profile: Option<String>,
    /// One endpoint for S3, Bedrock and the Bedrock runtime (the local emulator);
    /// `AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL_BEDROCK` and
    /// `AWS_ENDPOINT_URL_BEDROCK_RUNTIME` are honoured by aws-config itself.
    pub endpoint_url: Option<String>,
    /// Static credentials (the emulator's); never logged.
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    pub session_token: Option<String>,
    pub connect_timeout: Option<Duration>,
    pub max_attempts: Option<u32>,
}

/// S3, Bedrock and Bedrock runtime clients sharing one AWS configuration.
#[derive(Clone, Debug)]
pub struct Client {
    pub s3: aws_sdk_s3::Client,
    pub bedrock: aws_sdk_bedrock::Client,
    pub runtime: aws_sdk_bedrockruntime::Client,
    pub region: Option<String>,
    pub endpoint_url: Option<String>,
}

impl Client {
    /// Builds the clients. Throttling and 5xx are retried with backoff (standard retry mode,
    /// 5 attempts); a connection that cannot be made fails within the connect timeout.
    pub async fn new(cfg: ClientConfig) -> Result<Client, Error> {
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .retry_config(RetryConfig::standard().with_max_attempts(cfg.max_attempts.unwrap_or(5)))
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(cfg.connect_timeout.unwrap_or(Duration::from_secs(5)))
                    // A server that accepts and never answers must not hang a notebook.
                    .read_timeout(Duration::from_mins(2))
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
        let mut runtime_conf = aws_sdk_bedrockruntime::config::Builder::from(&shared)
            // A Converse or InvokeModel response starts only once the model has finished
            // writing: a long answer takes minutes, and a read timeout would retry (and pay for)
            // it again.
            .timeout_config(
                shared
                    .timeout_config()
                    .map(aws_config::timeout::TimeoutConfig::to_builder)
                    .unwrap_or_default()
                    .read_timeout(RUNTIME_READ_TIMEOUT)
                    .build(),
            );
        if cfg.access_key_id.is_some() && cfg.secret_access_key.is_some() {
            // Explicit keys are meant: a Bedrock API key in the environment
            // (AWS_BEARER_TOKEN_BEDROCK) would otherwise replace their signature, which the
            // local emulator routes by.
            runtime_conf = runtime_conf.auth_scheme_preference([AuthSchemeId::from("sigv4")]);
        }
        let runtime_conf = runtime_conf.build();
        Ok(Client {
            s3: aws_sdk_s3::Client::from_conf(s3_conf),
            bedrock: aws_sdk_bedrock::Client::new(&shared),
            runtime: aws_sdk_bedrockruntime::Client::from_conf(runtime_conf),
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

/// Whether `what` names a Bedrock runtime call (one request to a model).
fn is_runtime(what: &str) -> bool {
    ["InvokeModel ", "Converse ", "CountTokens "]
        .iter()
        .any(|op| what.starts_with(op))
}

fn hint_for(what: &str, code: &str) -> String {
    match code {
        "AccessDeniedException" if is_runtime(what) => {
            "the caller needs permission to call this model (bedrock:InvokeModel, or bedrock:CountTokens for CountTokens) and access to the model in this region".into()
        }
        "ResourceNotFoundException" if is_runtime(what) => {
            "no such model here: check the model ID and region (some models are called through an inference profile ID, e.g. us.<model>)".into()
        }
        "ServiceQuotaExceededException" if is_runtime(what) => {
            "the account's on-demand quota for this model is used up: slow down, or ask for a higher quota".into()
        }
        "ModelTimeoutException" => "the model took too long: try again, or ask for fewer output tokens".into(),
        "ModelNotReadyException" => "the model is not ready to serve yet, after the retries: try again later".into(),
        "ModelErrorException" => "the model failed on this request: the message says why".into(),
        "ServiceUnavailableException" | "InternalServerException" => {
            "a Bedrock server error, still failing after retries: try again later".into()
        }
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
