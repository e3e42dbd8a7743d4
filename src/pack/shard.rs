//! Splitting records into jobs (one S3 input prefix each) and files within the batch quotas.

use std::fs;
use std::ops::Range;
use std::path::{Path, PathBuf};

use super::Records;
use crate::error::Error;

/// Bedrock batch inference quotas (defaults per model and Region, from the Amazon Bedrock
/// service quotas table; see the Python `Quotas` docs for each source).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Quotas {
    /// "Minimum number of records per batch inference job": 100, not adjustable.
    pub min_records_per_job: usize,
    /// "Records per batch inference job": 50,000.
    pub max_records_per_job: usize,
    /// "Records per input file per batch inference job": 50,000.
    pub max_records_per_file: usize,
    /// "Batch inference input file size": 1 GB.
    pub max_bytes_per_file: u64,
    /// "Batch inference job size": 5 GB.
    pub max_bytes_per_job: u64,
    /// "Sum of in-progress and submitted batch inference jobs using a base model": 20.
    pub max_concurrent_jobs: usize,
}

impl Default for Quotas {
    fn default() -> Self {
        Quotas {
            min_records_per_job: 100,
            max_records_per_job: 50_000,
            max_records_per_file: 50_000,
            max_bytes_per_file: 1_000_000_000,
            max_bytes_per_job: 5_000_000_000,
            max_concurrent_jobs: 20,
        }
    }
}

impl Quotas {
    pub fn check(&self) -> Result<(), Error> {
        let bad = |m: &str| Err(Error::InvalidArgument(format!("Quotas: {m}")));
        if self.min_records_per_job == 0
            || self.max_records_per_job == 0
            || self.max_records_per_file == 0
        {
            return bad("record limits must be at least 1");
        }
        if self.min_records_per_job > self.max_records_per_job {
            return bad("min_records_per_job is above max_records_per_job");
        }
        if self.max_bytes_per_file == 0
            || self.max_bytes_per_job == 0
            || self.max_concurrent_jobs == 0
        {
            return bad("byte limits and max_concurrent_jobs must be at least 1");
        }
        Ok(())
    }
}

/// Splits `0..n` into `k` contiguous ranges whose lengths differ by at most one.
fn even(range: Range<usize>, k: usize) -> Vec<Range<usize>> {
    let n = range.len();
    (0..k)
        .map(|i| range.start + i * n / k..range.start + (i + 1) * n / k)
        .collect()
}

fn bytes_of(prefix: &[u64], r: &Range<usize>) -> u64 {
    prefix[r.end] - prefix[r.start]
}

/// Plans jobs and files: for each job, the record ranges of its files.
///
/// Jobs are balanced (record counts differ by at most one), so no job is a small tail below the
/// minimum; the job count is the smallest that keeps every job within the record and byte
/// limits. `sizes` are the bytes of each line including its newline; `ids` name records in
/// errors.
pub fn plan(sizes: &[u64], ids: &[String], q: &Quotas) -> Result<Vec<Vec<Range<usize>>>, Error> {
    q.check()?;
    let n = sizes.len();
    if n == 0 {
        return Err(Error::InvalidInput("no records to write".into()));
    }
    if n < q.min_records_per_job {
        return Err(Error::InvalidInput(format!(
            "{n} records: a batch job needs at least {} ({} more); add records or lower \
             Quotas(min_records_per_job=...) if your account's quota allows",
            q.min_records_per_job,
            q.min_records_per_job - n
        )));
    }
    if let Some((i, s)) = sizes
        .iter()
        .enumerate()
        .find(|(_, s)| **s > q.max_bytes_per_file)
    {
        return Err(Error::InvalidInput(format!(
            "record {:?} is {s} bytes, above the {}-byte file limit; shorten it (max_chars=) or drop it",
            ids[i], q.max_bytes_per_file
        )));
    }
    let mut prefix = Vec::with_capacity(n + 1);
    prefix.push(0u64);
    for s in sizes {
        prefix.push(prefix.last().copied().unwrap_or(0) + s);
    }
    let total = prefix[n];
    let mut k = n
        .div_ceil(q.max_records_per_job)
        .max(usize::try_from(total.div_ceil(q.max_bytes_per_job)).unwrap_or(usize::MAX))
        .max(1);
    let jobs = loop {
        if n / k < q.min_records_per_job {
            return Err(Error::InvalidInput(format!(
                "cannot split {n} records ({total} bytes) into jobs of at least {} records and \
                 at most {} bytes; shorten the records or raise the byte limit",
                q.min_records_per_job, q.max_bytes_per_job
            )));
        }
        let parts = even(0..n, k);
        if parts
            .iter()
            .all(|r| bytes_of(&prefix, r) <= q.max_bytes_per_job)
        {
            break parts;
        }
        k += 1;
    };
    let mut out = Vec::with_capacity(jobs.len());
    for job in jobs {
        let m = job.len();
        let bytes = bytes_of(&prefix, &job);
        let mut f = m
            .div_ceil(q.max_records_per_file)
            .max(usize::try_from(bytes.div_ceil(q.max_bytes_per_file)).unwrap_or(usize::MAX))
            .clamp(1, m);
        // With one record per file every file fits (checked above), so this ends.
        let files = loop {
            let parts = even(job.clone(), f);
            if f >= m
                || parts
                    .iter()
                    .all(|r| bytes_of(&prefix, r) <= q.max_bytes_per_file)
            {
                break parts;
            }
            f += 1;
        };
        out.push(files);
    }
    Ok(out)
}

/// One written file.
#[derive(Clone, Debug)]
pub struct ShardInfo {
    pub path: PathBuf,
    /// 1-based job number; the job's folder is the file's parent.
    pub job: usize,
    pub records: usize,
    pub bytes: u64,
    pub input_tokens: u64,
}

fn io_err(path: &Path, e: std::io::Error) -> Error {
    Error::Io {
        path: path.display().to_string(),
        source: e,
    }
}

/// Writes `out_dir/job-0001/part-00001.jsonl`, ... Each file is written under a temporary name
/// and renamed, so a reader never sees half a file. Existing `job-*` folders are an error unless
/// `overwrite`, which moves them aside first and removes them while the new ones are written (a
/// stale job folder would be uploaded with the new ones).
pub fn write_shards(
    records: &Records<'_>,
    out_dir: &Path,
    q: &Quotas,
    overwrite: bool,
) -> Result<Vec<ShardInfo>, Error> {
    let ids: Vec<String> = records.records.iter().map(|r| r.id.clone()).collect();
    let n = ids.len();
    // When the records' largest possible sizes fit one file of one job, so do their real
    // ones: the lines are written straight away and measured as they are rendered. Otherwise
    // they are measured first and planned by their real sizes.
    let exact = |records: &Records<'_>| -> Vec<u64> {
        records
            .measures()
            .iter()
            .map(|m| m.len as u64 + 1)
            .collect()
    };
    let jobs = match records.known_measures() {
        Some(_) => plan(&exact(records), &ids, q)?,
        None => match plan(&records.size_bounds(), &ids, q) {
            Ok(one) if one.len() == 1 && one[0].len() == 1 => one,
            _ => plan(&exact(records), &ids, q)?,
        },
    };
    fs::create_dir_all(out_dir).map_err(|e| io_err(out_dir, e))?;
    let named = |p: &Path, prefix: &str| {
        p.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with(prefix))
    };
    let entries: Vec<PathBuf> = fs::read_dir(out_dir)
        .map_err(|e| io_err(out_dir, e))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    let existing: Vec<&PathBuf> = entries.iter().filter(|p| named(p, "job-")).collect();
    if !existing.is_empty() && !overwrite {
        return Err(Error::InvalidInput(format!(
            "{} already has job folders ({}); pass overwrite=True to replace them",
            out_dir.display(),
            existing.len()
        )));
    }
    // The old job folders are moved aside at once (a rename in the same folder) and removed
    // while the new ones are written; `write` returns when both are done. Folders left aside
    // by a run that was killed are removed too. Nothing reads `.removing-*` folders.
    let mut aside: Vec<PathBuf> = if overwrite {
        entries
            .iter()
            .filter(|p| named(p, REMOVING))
            .cloned()
            .collect()
    } else {
        Vec::new()
    };
    for (k, p) in existing.into_iter().enumerate() {
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let to = out_dir.join(format!("{REMOVING}{}-{stamp}-{k}", std::process::id()));
        fs::rename(p, &to).map_err(|e| io_err(p, e))?;
        aside.push(to);
    }
    let (written, removed) = std::thread::scope(|scope| {
        let removing = (!aside.is_empty()).then(|| {
            scope.spawn(|| {
                // Every folder is tried; the last failure is reported, with how many failed.
                let failed: Vec<(&PathBuf, std::io::Error)> = aside
                    .iter()
                    .filter_map(|p| fs::remove_dir_all(p).err().map(|e| (p, e)))
                    .collect();
                match failed.into_iter().enumerate().last() {
                    None => Ok(()),
                    Some((more, (p, e))) => Err(Error::Io {
                        path: p.display().to_string(),
                        source: std::io::Error::new(
                            e.kind(),
                            format!(
                                "the new job folders are written, but the old ones moved \
                                 aside could not all be removed ({} failed): {e}",
                                more + 1
                            ),
                        ),
                    }),
                }
            })
        });
        let written = write_jobs(records, out_dir, &jobs, n);
        let removed = removing.map_or(Ok(()), |h| {
            h.join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        });
        (written, removed)
    });
    let shards = written?;
    removed?;
    Ok(shards)
}

/// The prefix of old job folders being removed.
const REMOVING: &str = ".removing-";

/// Writes each job's files (see [`write_shards`]).
fn write_jobs(
    records: &Records<'_>,
    out_dir: &Path,
    jobs: &[Vec<Range<usize>>],
    n: usize,
) -> Result<Vec<ShardInfo>, Error> {
    let mut shards = Vec::new();
    let mut learned = Vec::new();
    for (j, files) in jobs.iter().enumerate() {
        let dir = out_dir.join(format!("job-{:04}", j + 1));
        fs::create_dir_all(&dir).map_err(|e| io_err(&dir, e))?;
        for (f, range) in files.iter().enumerate() {
            let path = dir.join(format!("part-{:05}.jsonl", f + 1));
            let tmp = dir.join(format!(".part-{:05}.jsonl.tmp", f + 1));
            let mut file = fs::File::create(&tmp).map_err(|e| io_err(&tmp, e))?;
            let measures = records
                .write_jsonl(range.clone(), &mut file)
                .map_err(|e| io_err(&tmp, e))?;
            let bytes: u64 = measures.iter().map(|m| m.len as u64 + 1).sum();
            let tokens: u64 = measures.iter().map(|m| m.input_tokens).sum();
            fs::rename(&tmp, &path).map_err(|e| io_err(&path, e))?;
            if range.len() == n {
                learned = measures;
            }
            shards.push(ShardInfo {
                path,
                job: j + 1,
                records: range.len(),
                bytes,
                input_tokens: tokens,
            });
        }
    }
    records.learn_measures(learned);
    Ok(shards)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("r{i}")).collect()
    }

    #[test]
    fn balanced_jobs_never_leave_a_small_tail() {
        let q = Quotas::default();
        let jobs = plan(&vec![100; 120_001], &ids(120_001), &q).unwrap();
        let counts: Vec<usize> = jobs
            .iter()
            .map(|f| f.iter().map(Range::len).sum())
            .collect();
        assert_eq!(counts, [40_000, 40_000, 40_001]);
        let jobs = plan(&vec![10; 50_050], &ids(50_050), &q).unwrap();
        let counts: Vec<usize> = jobs
            .iter()
            .map(|f| f.iter().map(Range::len).sum())
            .collect();
        assert_eq!(counts, [25_025, 25_025]);
    }

    #[test]
    fn minimum_edges() {
        let q = Quotas::default();
        assert_eq!(plan(&[10; 100], &ids(100), &q).unwrap().len(), 1);
        let err = plan(&[10; 99], &ids(99), &q).unwrap_err().to_string();
        assert!(err.contains("at least 100 (1 more)"), "{err}");
        let jobs = plan(&vec![10; 50_001], &ids(50_001), &q).unwrap();
        assert_eq!(jobs.len(), 2);
    }

    #[test]
    fn bytes_bind_before_records() {
        let q = Quotas {
            max_bytes_per_file: 1_000,
            max_bytes_per_job: 3_000,
            min_records_per_job: 10,
            ..Quotas::default()
        };
        let jobs = plan(&[100; 60], &ids(60), &q).unwrap();
        assert_eq!(jobs.len(), 2);
        for files in &jobs {
            assert_eq!(files.len(), 3);
            for f in files {
                assert!(f.len() * 100 <= 1_000);
            }
        }
        let err = plan(
            &[100, 2_000, 100],
            &ids(3),
            &Quotas {
                min_records_per_job: 1,
                ..q
            },
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("record \"r1\" is 2000 bytes"),
            "{err}"
        );
    }
}
