//! Bedrock batch inference jobs: create, get, list (paginated), stop.

use aws_sdk_bedrock::types::{
    ModelInvocationJobInputDataConfig, ModelInvocationJobOutputDataConfig,
    ModelInvocationJobS3InputDataConfig, ModelInvocationJobS3OutputDataConfig,
    ModelInvocationJobStatus, ModelInvocationType, S3InputFormat, Tag, VpcConfig,
};
use aws_smithy_types::DateTime;

use super::{sdk_error, Client};
use crate::error::Error;

/// A job name valid for `[a-zA-Z0-9]{1,63}(-*[a-zA-Z0-9\+\-\.]){0,63}` (at most 63 characters):
/// other characters become `-`, a leading non-alphanumeric is dropped, an empty name is `job`.
pub fn job_name(wanted: &str) -> String {
    let mapped: String = wanted
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.') {
                c
            } else {
                '-'
            }
        })
        .collect();
    let trimmed = mapped.trim_start_matches(|c: char| !c.is_ascii_alphanumeric());
    let mut name: String = trimmed.chars().take(63).collect();
    if name.is_empty() {
        name = "job".into();
    }
    name
}

/// A CreateModelInvocationJob request.
#[derive(Clone, Debug, Default)]
pub struct JobRequest {
    pub name: String,
    pub role_arn: String,
    pub model_id: String,
    pub input_uri: String,
    pub output_uri: String,
    pub client_request_token: Option<String>,
    pub kms_key: Option<String>,
    pub timeout_hours: Option<i32>,
    pub tags: Vec<(String, String)>,
    pub converse: bool,
    pub subnet_ids: Vec<String>,
    pub security_group_ids: Vec<String>,
}

/// What GetModelInvocationJob / ListModelInvocationJobs say of a job.
#[derive(Clone, Debug, Default)]
pub struct JobInfo {
    pub job_arn: String,
    pub job_name: Option<String>,
    pub model_id: String,
    pub status: Option<String>,
    pub message: Option<String>,
    pub submit_time: Option<f64>,
    pub last_modified_time: Option<f64>,
    pub end_time: Option<f64>,
    pub input_uri: Option<String>,
    pub output_uri: Option<String>,
    pub role_arn: String,
    pub client_request_token: Option<String>,
    pub timeout_hours: Option<i32>,
    pub invocation_type: Option<String>,
    pub total_records: Option<i64>,
    pub processed_records: Option<i64>,
    pub success_records: Option<i64>,
    pub error_records: Option<i64>,
}

/// ListModelInvocationJobs filters.
#[derive(Clone, Debug, Default)]
pub struct ListFilter {
    pub status: Option<String>,
    pub name_contains: Option<String>,
    pub submitted_after: Option<f64>,
    pub max_results: Option<i32>,
}

fn secs(t: Option<&DateTime>) -> Option<f64> {
    t.map(DateTime::as_secs_f64)
}

fn input_uri(c: Option<&ModelInvocationJobInputDataConfig>) -> Option<String> {
    match c? {
        ModelInvocationJobInputDataConfig::S3InputDataConfig(s) => Some(s.s3_uri().to_string()),
        _ => None,
    }
}

fn output_uri(c: Option<&ModelInvocationJobOutputDataConfig>) -> Option<String> {
    match c? {
        ModelInvocationJobOutputDataConfig::S3OutputDataConfig(s) => Some(s.s3_uri().to_string()),
        _ => None,
    }
}

/// A [`JobInfo`] from a GetModelInvocationJob output or a ListModelInvocationJobs summary: the
/// two SDK types have the same accessors (the job name is optional on one, required on the
/// other).
macro_rules! job_info {
    ($o:expr, $name:expr) => {
        JobInfo {
            job_arn: $o.job_arn().to_string(),
            job_name: $name,
            model_id: $o.model_id().to_string(),
            status: $o.status().map(|s| s.as_str().to_string()),
            message: $o.message().map(String::from),
            submit_time: secs(Some($o.submit_time())),
            last_modified_time: secs($o.last_modified_time()),
            end_time: secs($o.end_time()),
            input_uri: input_uri($o.input_data_config()),
            output_uri: output_uri($o.output_data_config()),
            role_arn: $o.role_arn().to_string(),
            client_request_token: $o.client_request_token().map(String::from),
            timeout_hours: $o.timeout_duration_in_hours(),
            invocation_type: $o.model_invocation_type().map(|t| t.as_str().to_string()),
            total_records: $o.total_record_count(),
            processed_records: $o.processed_record_count(),
            success_records: $o.success_record_count(),
            error_records: $o.error_record_count(),
        }
    };
}

fn build_err(what: &str, e: impl std::fmt::Display) -> Error {
    Error::InvalidArgument(format!("{what}: {e}"))
}

impl Client {
    /// CreateModelInvocationJob; returns the job ARN.
    pub async fn create_job(&self, r: &JobRequest) -> Result<String, Error> {
        let input = ModelInvocationJobS3InputDataConfig::builder()
            .s3_uri(&r.input_uri)
            .s3_input_format(S3InputFormat::Jsonl)
            .build()
            .map_err(|e| build_err("input_uri", e))?;
        let output = ModelInvocationJobS3OutputDataConfig::builder()
            .s3_uri(&r.output_uri)
            .set_s3_encryption_key_id(r.kms_key.clone())
            .build()
            .map_err(|e| build_err("output_uri", e))?;
        let mut req = self
            .bedrock
            .create_model_invocation_job()
            .job_name(&r.name)
            .role_arn(&r.role_arn)
            .model_id(&r.model_id)
            .input_data_config(ModelInvocationJobInputDataConfig::S3InputDataConfig(input))
            .output_data_config(ModelInvocationJobOutputDataConfig::S3OutputDataConfig(
                output,
            ))
            .set_client_request_token(r.client_request_token.clone())
            .set_timeout_duration_in_hours(r.timeout_hours);
        if r.converse {
            req = req.model_invocation_type(ModelInvocationType::Converse);
        }
        for (k, v) in &r.tags {
            req = req.tags(
                Tag::builder()
                    .key(k)
                    .value(v)
                    .build()
                    .map_err(|e| build_err("tags", e))?,
            );
        }
        if !r.subnet_ids.is_empty() {
            req = req.vpc_config(
                VpcConfig::builder()
                    .set_subnet_ids(Some(r.subnet_ids.clone()))
                    .set_security_group_ids(Some(r.security_group_ids.clone()))
                    .build()
                    .map_err(|e| build_err("vpc_config", e))?,
            );
        }
        let out = req
            .send()
            .await
            .map_err(|e| sdk_error(&format!("CreateModelInvocationJob {}", r.name), e))?;
        Ok(out.job_arn().to_string())
    }

    /// GetModelInvocationJob.
    pub async fn get_job(&self, job: &str) -> Result<JobInfo, Error> {
        let o = self
            .bedrock
            .get_model_invocation_job()
            .job_identifier(job)
            .send()
            .await
            .map_err(|e| sdk_error(&format!("GetModelInvocationJob {job}"), e))?;
        Ok(job_info!(o, o.job_name().map(String::from)))
    }

    /// ListModelInvocationJobs, every page.
    pub async fn list_jobs(&self, f: &ListFilter) -> Result<Vec<JobInfo>, Error> {
        let mut req = self
            .bedrock
            .list_model_invocation_jobs()
            .set_name_contains(f.name_contains.clone())
            .set_max_results(f.max_results)
            .set_submit_time_after(f.submitted_after.map(DateTime::from_secs_f64));
        if let Some(s) = &f.status {
            req = req.status_equals(ModelInvocationJobStatus::from(s.as_str()));
        }
        let mut pages = req.into_paginator().send();
        let mut out = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| sdk_error("ListModelInvocationJobs", e))?;
            for s in page.invocation_job_summaries() {
                out.push(job_info!(s, Some(s.job_name().to_string())));
            }
        }
        Ok(out)
    }

    /// StopModelInvocationJob.
    pub async fn stop_job(&self, job: &str) -> Result<(), Error> {
        self.bedrock
            .stop_model_invocation_job()
            .job_identifier(job)
            .send()
            .await
            .map_err(|e| sdk_error(&format!("StopModelInvocationJob {job}"), e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::job_name;

    #[test]
    fn names_are_made_valid() {
        assert_eq!(job_name("summaries 2026/11 #1"), "summaries-2026-11--1");
        assert_eq!(job_name("--x"), "x");
        assert_eq!(job_name("日本語"), "job");
        assert_eq!(job_name(&"a".repeat(100)).len(), 63);
    }
}
