//! S3: upload a file or a shard folder (multipart with parallel parts, checked against the
//! ETag S3 computes), list a prefix, download a prefix (parallel, never outside the target).

use std::path::{Component, Path, PathBuf};

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{ChecksumAlgorithm, CompletedMultipartUpload, CompletedPart};
use futures::stream::{self, StreamExt, TryStreamExt};
use sha2::Digest;

use super::{sdk_error, Cancel, Client};
use crate::error::Error;

/// Files above this size go up in parts (fewer, larger requests measured faster against S3
/// servers than boto3's 8 MiB default).
pub const MULTIPART_THRESHOLD: u64 = 64 << 20;
/// Part size (S3's minimum is 5 MiB).
pub const PART_SIZE: u64 = 16 << 20;
/// Files in flight at once, and parts in flight per file.
pub const CONCURRENCY: usize = 8;
pub const PART_CONCURRENCY: usize = 4;

/// `s3://bucket/prefix` to (bucket, prefix without a leading slash).
pub fn parse_s3_uri(uri: &str) -> Result<(String, String), Error> {
    let rest = uri.strip_prefix("s3://").ok_or_else(|| {
        Error::InvalidArgument(format!("{uri:?} is not an S3 URI (s3://bucket/prefix)"))
    })?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        return Err(Error::InvalidArgument(format!("{uri:?} has no bucket")));
    }
    Ok((bucket.to_string(), prefix.to_string()))
}

fn join_key(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else if prefix.ends_with('/') {
        format!("{prefix}{name}")
    } else {
        format!("{prefix}/{name}")
    }
}

/// A local path for an S3 key under `root`, or an error when the key would escape it
/// (`..`, absolute paths, empty components).
pub fn safe_local_path(root: &Path, relative_key: &str) -> Result<PathBuf, Error> {
    let rel = Path::new(relative_key);
    let mut out = root.to_path_buf();
    for c in rel.components() {
        match c {
            Component::Normal(part) => out.push(part),
            Component::CurDir => {}
            _ => {
                return Err(Error::InvalidInput(format!(
                    "S3 key {relative_key:?} would write outside {}; refused",
                    root.display()
                )))
            }
        }
    }
    if out == root {
        return Err(Error::InvalidInput(format!(
            "S3 key {relative_key:?} names no file"
        )));
    }
    Ok(out)
}

/// One uploaded object.
#[derive(Clone, Debug)]
pub struct Uploaded {
    pub key: String,
    pub bytes: u64,
    pub etag: String,
}

fn io(path: &Path, e: std::io::Error) -> Error {
    Error::Io {
        path: path.display().to_string(),
        source: e,
    }
}

fn md5_hex(data: &[u8]) -> String {
    hex::encode(md5_digest(data))
}

fn md5_digest(data: &[u8]) -> [u8; 16] {
    // S3's ETag for a single-part object is the MD5 of its bytes; the check needs MD5, not a
    // cryptographic guarantee.
    md5::compute(data).0
}

fn clean_etag(e: Option<&str>) -> String {
    e.unwrap_or("").trim_matches('"').to_string()
}

/// With SSE-KMS, DSSE-KMS or SSE-C, S3's ETag is not an MD5 of the data: nothing to compare.
fn etag_is_md5(sse: Option<&aws_sdk_s3::types::ServerSideEncryption>, sse_c: Option<&str>) -> bool {
    use aws_sdk_s3::types::ServerSideEncryption as Sse;
    sse_c.is_none() && !matches!(sse, Some(Sse::AwsKms | Sse::AwsKmsDsse))
}

/// The objects an upload has started to write, so that an interrupted one can remove them.
type Started = std::sync::Mutex<Vec<(String, String)>>;

impl Client {
    /// Uploads one file to `bucket/key`; parts in parallel above [`MULTIPART_THRESHOLD`]. The
    /// ETag S3 returns is checked against the MD5 computed here. A key that held no object
    /// is noted in `started` before the first request (an interrupted upload removes only
    /// what it created, never an object that was there before).
    async fn upload_file(
        &self,
        path: &Path,
        bucket: &str,
        key: &str,
        started: &Started,
    ) -> Result<Uploaded, Error> {
        let existed = self
            .s3
            .head_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .is_ok();
        if !existed {
            if let Ok(mut s) = started.lock() {
                s.push((bucket.to_string(), key.to_string()));
            }
        }
        let size = tokio::fs::metadata(path)
            .await
            .map_err(|e| io(path, e))?
            .len();
        if size <= MULTIPART_THRESHOLD {
            let data = tokio::fs::read(path).await.map_err(|e| io(path, e))?;
            let want = md5_hex(&data);
            let out = self
                .s3
                .put_object()
                .bucket(bucket)
                .key(key)
                .body(ByteStream::from(data))
                .send()
                .await
                .map_err(|e| sdk_error(&format!("PutObject s3://{bucket}/{key}"), e))?;
            let got = clean_etag(out.e_tag());
            if !got.is_empty() && got != want {
                return Err(Error::Aws {
                    code: "ChecksumMismatch".into(),
                    message: format!(
                        "s3://{bucket}/{key}: S3 stored ETag {got}, the file's MD5 is {want}"
                    ),
                    hint: "the upload was corrupted in transit; upload again".into(),
                });
            }
            return Ok(Uploaded {
                key: key.to_string(),
                bytes: size,
                etag: got,
            });
        }
        let create = self
            .s3
            .create_multipart_upload()
            .bucket(bucket)
            .key(key)
            .checksum_algorithm(ChecksumAlgorithm::Crc32)
            .send()
            .await
            .map_err(|e| sdk_error(&format!("CreateMultipartUpload s3://{bucket}/{key}"), e))?;
        let upload_id = create.upload_id().unwrap_or_default().to_string();
        let parts = size.div_ceil(PART_SIZE);
        let result: Result<Vec<(i32, String, [u8; 16], Option<String>)>, Error> =
            stream::iter(0..parts)
                .map(|i| {
                    let upload_id = upload_id.clone();
                    async move {
                        use tokio::io::{AsyncReadExt, AsyncSeekExt};
                        let mut f = tokio::fs::File::open(path).await.map_err(|e| io(path, e))?;
                        f.seek(std::io::SeekFrom::Start(i * PART_SIZE))
                            .await
                            .map_err(|e| io(path, e))?;
                        let len = PART_SIZE.min(size - i * PART_SIZE) as usize;
                        let mut buf = vec![0u8; len];
                        f.read_exact(&mut buf).await.map_err(|e| io(path, e))?;
                        let digest = md5_digest(&buf);
                        let n = i32::try_from(i + 1).unwrap_or(i32::MAX);
                        let out = self
                            .s3
                            .upload_part()
                            .bucket(bucket)
                            .key(key)
                            .upload_id(&upload_id)
                            .part_number(n)
                            .checksum_algorithm(ChecksumAlgorithm::Crc32)
                            .body(ByteStream::from(buf))
                            .send()
                            .await
                            .map_err(|e| {
                                sdk_error(&format!("UploadPart {n} s3://{bucket}/{key}"), e)
                            })?;
                        // S3 checks each part's CRC32 on arrival; the completion lists them again.
                        Ok((
                            n,
                            clean_etag(out.e_tag()),
                            digest,
                            out.checksum_crc32().map(String::from),
                        ))
                    }
                })
                .buffered(PART_CONCURRENCY)
                .try_collect()
                .await;
        let parts_done = match result {
            Ok(p) => p,
            Err(e) => {
                let _ = self
                    .s3
                    .abort_multipart_upload()
                    .bucket(bucket)
                    .key(key)
                    .upload_id(&upload_id)
                    .send()
                    .await;
                return Err(e);
            }
        };
        let completed = CompletedMultipartUpload::builder()
            .set_parts(Some(
                parts_done
                    .iter()
                    .map(|(n, etag, _, crc)| {
                        CompletedPart::builder()
                            .part_number(*n)
                            .e_tag(etag.clone())
                            .set_checksum_crc32(crc.clone())
                            .build()
                    })
                    .collect(),
            ))
            .build();
        let out = self
            .s3
            .complete_multipart_upload()
            .bucket(bucket)
            .key(key)
            .upload_id(&upload_id)
            .multipart_upload(completed)
            .send()
            .await
            .map_err(|e| sdk_error(&format!("CompleteMultipartUpload s3://{bucket}/{key}"), e))?;
        // A multipart ETag is MD5(concat(part MD5s))-N.
        let mut concat = Vec::with_capacity(parts_done.len() * 16);
        for (_, _, d, _) in &parts_done {
            concat.extend_from_slice(d);
        }
        let want = format!("{}-{}", md5_hex(&concat), parts_done.len());
        let got = clean_etag(out.e_tag());
        let comparable = etag_is_md5(out.server_side_encryption(), None);
        if comparable && !got.is_empty() && got != want {
            return Err(Error::Aws {
                code: "ChecksumMismatch".into(),
                message: format!("s3://{bucket}/{key}: S3 stored ETag {got}, expected {want}"),
                hint: "the upload was corrupted in transit; upload again".into(),
            });
        }
        Ok(Uploaded {
            key: key.to_string(),
            bytes: size,
            etag: got,
        })
    }

    /// Uploads a file, or every file under a folder (keys keep the relative paths), to `uri`.
    ///
    /// When `cancel` fires, the requests in flight are dropped and every object the upload
    /// created is removed: finished objects deleted, multipart uploads aborted (twice, a short
    /// while apart, for requests the server was still completing), then `Interrupted`. Keys
    /// that held an object before the upload are left (possibly overwritten).
    pub async fn upload(
        &self,
        local: &Path,
        uri: &str,
        cancel: &Cancel,
    ) -> Result<Vec<Uploaded>, Error> {
        let started = Started::default();
        let mut work = Box::pin(self.upload_all(local, uri, &started));
        tokio::select! {
            out = &mut work => out,
            () = cancel.cancelled() => {
                drop(work);
                let keys = started.lock().map(|s| s.clone()).unwrap_or_default();
                self.remove_started(&keys).await;
                Err(Error::Interrupted(format!(
                    "upload to {uri} interrupted; the {} object(s) it had started were removed",
                    keys.len()
                )))
            }
        }
    }

    /// Deletes `keys` and aborts their multipart uploads.
    async fn remove_started(&self, keys: &[(String, String)]) {
        for pass in 0..2 {
            if pass > 0 {
                tokio::time::sleep(std::time::Duration::from_millis(150)).await;
            }
            let undo = keys.iter().map(|(bucket, key)| async move {
                if let Ok(list) = self
                    .s3
                    .list_multipart_uploads()
                    .bucket(bucket)
                    .prefix(key)
                    .send()
                    .await
                {
                    for u in list.uploads() {
                        if u.key() == Some(key.as_str()) {
                            let _ = self
                                .s3
                                .abort_multipart_upload()
                                .bucket(bucket)
                                .key(key)
                                .upload_id(u.upload_id().unwrap_or_default())
                                .send()
                                .await;
                        }
                    }
                }
                let _ = self.s3.delete_object().bucket(bucket).key(key).send().await;
            });
            futures::future::join_all(undo).await;
        }
    }

    async fn upload_all(
        &self,
        local: &Path,
        uri: &str,
        started: &Started,
    ) -> Result<Vec<Uploaded>, Error> {
        let (bucket, prefix) = parse_s3_uri(uri)?;
        if !local.exists() {
            return Err(Error::NotFound {
                path: local.display().to_string(),
                message: "no such file or folder".into(),
            });
        }
        let mut files = Vec::new();
        if local.is_file() {
            let name = local
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("data")
                .to_string();
            files.push((local.to_path_buf(), join_key(&prefix, &name)));
        } else {
            let mut stack = vec![local.to_path_buf()];
            while let Some(dir) = stack.pop() {
                for entry in std::fs::read_dir(&dir).map_err(|e| io(&dir, e))? {
                    let p = entry.map_err(|e| io(&dir, e))?.path();
                    if p.is_dir() {
                        stack.push(p);
                    } else if !p
                        .file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with('.'))
                    {
                        let rel = p.strip_prefix(local).unwrap_or(&p);
                        let rel = rel
                            .components()
                            .map(|c| c.as_os_str().to_string_lossy())
                            .collect::<Vec<_>>()
                            .join("/");
                        files.push((p.clone(), join_key(&prefix, &rel)));
                    }
                }
            }
            files.sort();
        }
        let bucket = &bucket;
        stream::iter(files)
            .map(|(path, key)| async move { self.upload_file(&path, bucket, &key, started).await })
            .buffered(CONCURRENCY)
            .try_collect()
            .await
    }

    /// Every object under `uri`: (key, size).
    pub async fn list(&self, uri: &str) -> Result<Vec<(String, u64)>, Error> {
        let (bucket, prefix) = parse_s3_uri(uri)?;
        let mut out = Vec::new();
        let mut pages = self
            .s3
            .list_objects_v2()
            .bucket(&bucket)
            .prefix(&prefix)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page =
                page.map_err(|e| sdk_error(&format!("ListObjectsV2 s3://{bucket}/{prefix}"), e))?;
            for o in page.contents() {
                out.push((
                    o.key().unwrap_or_default().to_string(),
                    o.size().unwrap_or(0).max(0) as u64,
                ));
            }
        }
        Ok(out)
    }

    /// Downloads every object under `uri` into `dir` (relative keys become paths), in parallel,
    /// streaming to temporary files renamed when complete.
    pub async fn download(&self, uri: &str, dir: &Path) -> Result<Vec<PathBuf>, Error> {
        let (bucket, prefix) = parse_s3_uri(uri)?;
        let objects = self.list(uri).await?;
        let base = if prefix.is_empty() || prefix.ends_with('/') {
            prefix.clone()
        } else {
            format!("{prefix}/")
        };
        let mut jobs = Vec::new();
        for (key, _) in objects {
            let rel = key.strip_prefix(&base).unwrap_or(&key).to_string();
            if rel.is_empty() || rel.ends_with('/') {
                continue;
            }
            jobs.push((key.clone(), safe_local_path(dir, &rel)?));
        }
        let bucket = &bucket;
        stream::iter(jobs)
            .map(|(key, path)| async move {
                use tokio::io::AsyncWriteExt;
                if let Some(parent) = path.parent() {
                    tokio::fs::create_dir_all(parent)
                        .await
                        .map_err(|e| io(parent, e))?;
                }
                let obj = self
                    .s3
                    .get_object()
                    .bucket(bucket)
                    .key(&key)
                    .send()
                    .await
                    .map_err(|e| sdk_error(&format!("GetObject s3://{bucket}/{key}"), e))?;
                let tmp = path.with_extension("part.tmp");
                let mut f = tokio::fs::File::create(&tmp)
                    .await
                    .map_err(|e| io(&tmp, e))?;
                let mut body = obj.body;
                while let Some(chunk) = body.try_next().await.map_err(|e| Error::Aws {
                    code: "ConnectionError".into(),
                    message: format!("GetObject s3://{bucket}/{key}: {e}"),
                    hint: "the download was cut; try again".into(),
                })? {
                    f.write_all(&chunk).await.map_err(|e| io(&tmp, e))?;
                }
                f.flush().await.map_err(|e| io(&tmp, e))?;
                tokio::fs::rename(&tmp, &path)
                    .await
                    .map_err(|e| io(&path, e))?;
                Ok::<PathBuf, Error>(path)
            })
            .buffered(CONCURRENCY)
            .try_collect()
            .await
    }
}

/// One object: its bytes and ETag.
#[derive(Clone, Debug)]
pub struct Object {
    pub data: Vec<u8>,
    pub etag: String,
}

/// When a write may happen: always, only where no object is (`If-None-Match: *`), or only
/// over the object with this ETag (`If-Match`). A refused write is `Error::Aws` with code
/// `PreconditionFailed` (or `ConditionalRequestConflict` when two writes race).
#[derive(Clone, Debug)]
pub enum Condition {
    Always,
    Absent,
    Etag(String),
}

impl Client {
    /// The object at `uri`, or `None` when there is none.
    pub async fn get_object(&self, uri: &str) -> Result<Option<Object>, Error> {
        let (bucket, key) = parse_s3_uri(uri)?;
        let out = match self.s3.get_object().bucket(&bucket).key(&key).send().await {
            Ok(out) => out,
            Err(e) => {
                let err = sdk_error(&format!("GetObject s3://{bucket}/{key}"), e);
                return match &err {
                    Error::Aws { code, .. } if code == "NoSuchKey" || code == "NotFound" => {
                        Ok(None)
                    }
                    _ => Err(err),
                };
            }
        };
        let etag = clean_etag(out.e_tag());
        let data = out
            .body
            .collect()
            .await
            .map_err(|e| Error::Aws {
                code: "ConnectionError".into(),
                message: format!("GetObject s3://{bucket}/{key}: {e}"),
                hint: "the download was cut; try again".into(),
            })?
            .into_bytes()
            .to_vec();
        Ok(Some(Object { data, etag }))
    }

    /// Writes `data` at `uri` when `condition` allows: the new ETag.
    pub async fn put_object(
        &self,
        uri: &str,
        data: Vec<u8>,
        condition: Condition,
    ) -> Result<String, Error> {
        let (bucket, key) = parse_s3_uri(uri)?;
        let mut req = self
            .s3
            .put_object()
            .bucket(&bucket)
            .key(&key)
            .body(ByteStream::from(data));
        req = match condition {
            Condition::Always => req,
            Condition::Absent => req.if_none_match("*"),
            Condition::Etag(etag) => req.if_match(format!("\"{}\"", etag.trim_matches('"'))),
        };
        let out = req
            .send()
            .await
            .map_err(|e| sdk_error(&format!("PutObject s3://{bucket}/{key}"), e))?;
        Ok(clean_etag(out.e_tag()))
    }

    /// Deletes the object at `uri` (with `if_match`, only while it has that ETag).
    pub async fn delete_object(&self, uri: &str, if_match: Option<String>) -> Result<(), Error> {
        let (bucket, key) = parse_s3_uri(uri)?;
        let mut req = self.s3.delete_object().bucket(&bucket).key(&key);
        if let Some(etag) = if_match {
            req = req.if_match(format!("\"{}\"", etag.trim_matches('"')));
        }
        req.send()
            .await
            .map_err(|e| sdk_error(&format!("DeleteObject s3://{bucket}/{key}"), e))?;
        Ok(())
    }
}

/// SHA-256 of the uploaded objects' (key, size, ETag): the content identity of a job's input.
pub fn content_digest(items: &[Uploaded]) -> String {
    let mut sorted: Vec<&Uploaded> = items.iter().collect();
    sorted.sort_by(|a, b| a.key.cmp(&b.key));
    let mut h = sha2::Sha256::new();
    for u in sorted {
        h.update(u.key.as_bytes());
        h.update(u.bytes.to_le_bytes());
        h.update(u.etag.as_bytes());
    }
    hex::encode(h.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_and_paths() {
        assert_eq!(
            parse_s3_uri("s3://b/p/q/").unwrap(),
            ("b".into(), "p/q/".into())
        );
        assert_eq!(parse_s3_uri("s3://b").unwrap(), ("b".into(), String::new()));
        assert!(parse_s3_uri("https://b/x").is_err());
        let root = Path::new("/tmp/out");
        assert_eq!(
            safe_local_path(root, "job/a.jsonl.out").unwrap(),
            Path::new("/tmp/out/job/a.jsonl.out")
        );
        for bad in ["../etc/passwd", "/abs", "a/../../x", ""] {
            assert!(safe_local_path(root, bad).is_err(), "{bad}");
        }
    }
}
