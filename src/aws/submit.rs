//! Submitting a job folder (upload, then create with an idempotency token derived from what was
//! uploaded) and the preflight probe of an S3 prefix.

use std::path::Path;

use sha2::Digest;

use super::{content_digest, parse_s3_uri, sdk_error, Cancel, Client, JobRequest, Uploaded};
use crate::error::Error;

/// What a submit did.
#[derive(Clone, Debug)]
pub struct Submitted {
    pub job_arn: String,
    pub client_request_token: String,
    pub files: usize,
    pub bytes: u64,
}

/// One step of the preflight probe: its name, whether it worked, and why not.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProbeStep {
    pub step: String,
    pub ok: bool,
    pub error: String,
}

/// The idempotency token of a job: SHA-256 of the uploaded content's digest and the request's
/// model, role, input, output and name. The same input and request give the same token, so a
/// retried submit never creates a second billed job; any change gives another.
pub fn idempotency_token(uploaded: &[Uploaded], req: &JobRequest) -> String {
    let mut h = sha2::Sha256::new();
    for part in [
        content_digest(uploaded).as_str(),
        &req.model_id,
        &req.role_arn,
        &req.input_uri,
        &req.output_uri,
        &req.name,
    ] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    hex::encode(h.finalize())
}

impl Client {
    /// Uploads the job folder `local` to the request's input and creates the job, with the
    /// request's token or else [`idempotency_token`].
    pub async fn submit(
        &self,
        local: &Path,
        mut req: JobRequest,
        cancel: &Cancel,
    ) -> Result<Submitted, Error> {
        let uploaded = self.upload(local, &req.input_uri, cancel).await?;
        if uploaded.is_empty() {
            return Err(Error::InvalidInput(format!(
                "{}: nothing to upload",
                local.display()
            )));
        }
        let token = req
            .client_request_token
            .clone()
            .unwrap_or_else(|| idempotency_token(&uploaded, &req));
        req.client_request_token = Some(token.clone());
        let job_arn = self.create_job(&req).await?;
        Ok(Submitted {
            job_arn,
            client_request_token: token,
            files: uploaded.len(),
            bytes: uploaded.iter().map(|u| u.bytes).sum(),
        })
    }

    /// Writes, reads, lists and deletes a probe object under `uri` (the preflight): each step's
    /// outcome, the delete only when the write worked.
    pub async fn probe(&self, uri: &str) -> Result<Vec<ProbeStep>, Error> {
        let (bucket, prefix) = parse_s3_uri(uri)?;
        let sep = if prefix.is_empty() || prefix.ends_with('/') {
            ""
        } else {
            "/"
        };
        let key = format!("{prefix}{sep}.bedrock-batch-preflight");
        let step = |name: &str, r: Result<(), Error>| ProbeStep {
            step: name.to_string(),
            ok: r.is_ok(),
            error: r.err().map(|e| e.to_string()).unwrap_or_default(),
        };
        let mut out = Vec::new();
        let put = self
            .s3
            .put_object()
            .bucket(&bucket)
            .key(&key)
            .body(aws_sdk_s3::primitives::ByteStream::from_static(b"probe"))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| sdk_error(&format!("PutObject s3://{bucket}/{key}"), e));
        let wrote = put.is_ok();
        out.push(step("write", put));
        let get = self
            .s3
            .get_object()
            .bucket(&bucket)
            .key(&key)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| sdk_error("GetObject", e));
        out.push(step("read", get));
        out.push(step("list", self.list(uri).await.map(|_| ())));
        if wrote {
            let del = self
                .s3
                .delete_object()
                .bucket(&bucket)
                .key(&key)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| sdk_error("DeleteObject", e));
            out.push(step("delete", del));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> JobRequest {
        JobRequest {
            name: "job-1".into(),
            role_arn: "arn:aws:iam::123456789012:role/batch".into(),
            model_id: "anthropic.claude-3-haiku-20240307-v1:0".into(),
            input_uri: "s3://b/in/job-1/".into(),
            output_uri: "s3://b/out/".into(),
            client_request_token: None,
            kms_key: None,
            timeout_hours: None,
            tags: vec![],
            converse: false,
            subnet_ids: vec![],
            security_group_ids: vec![],
        }
    }

    fn uploaded(etag: &str) -> Vec<Uploaded> {
        vec![Uploaded {
            key: "in/job-1/part-0.jsonl".into(),
            bytes: 1234,
            etag: etag.into(),
        }]
    }

    #[test]
    fn the_token_follows_content_and_request() {
        let token = idempotency_token(&uploaded("\"e1\""), &request());
        assert_eq!(token.len(), 64);
        assert_eq!(token, idempotency_token(&uploaded("\"e1\""), &request()));
        assert_ne!(token, idempotency_token(&uploaded("\"e2\""), &request()));
        for change in [
            |r: &mut JobRequest| r.model_id.push('x'),
            |r: &mut JobRequest| r.role_arn.push('x'),
            |r: &mut JobRequest| r.input_uri.push('x'),
            |r: &mut JobRequest| r.output_uri.push('x'),
            |r: &mut JobRequest| r.name.push('x'),
        ] {
            let mut r = request();
            change(&mut r);
            assert_ne!(token, idempotency_token(&uploaded("\"e1\""), &r));
        }
        // Fields are separated: moving a character from one to the next changes the token.
        let mut a = request();
        a.input_uri = "s3://b/in/job-1".into();
        a.output_uri = "/s3://b/out/".into();
        assert_ne!(token, idempotency_token(&uploaded("\"e1\""), &a));
    }
}
