//! The validate stage: every line of a batch input checked locally, in seconds, instead of a job
//! failing 10-15 minutes after submission.
//!
//! Works on any batch input (ours, other tools', hand-written). Streams: files are read in blocks
//! of whole lines, each batch of blocks checked in parallel, so memory stays bounded by the block
//! batch (plus the set of record ids, needed to find duplicates).

use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

mod line;

use crate::error::Error;
use crate::lines;
use crate::pack::{Invocation, ModelInfo, Quotas};
use line::{Checker, LineResult};

/// How bad a problem is: an error fails the job or loses records; a warning is worth a look.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Warning,
}

impl Severity {
    pub fn name(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// One problem, located as precisely as the input allows.
#[derive(Clone, Debug)]
pub struct Problem {
    pub file: String,
    /// 1-based line number; 0 for a problem of a whole file or job.
    pub line: usize,
    pub record_id: Option<String>,
    pub field: String,
    pub message: String,
    pub severity: Severity,
    /// A short kind (`json`, `missing`, `type`, `value`, `duplicate`, `limit`, ...), for counts.
    pub kind: &'static str,
}

/// The result of a validation.
#[derive(Clone, Debug, Default)]
pub struct Report {
    pub files: usize,
    pub jobs: usize,
    pub records: usize,
    pub bytes: u64,
    pub input_tokens: u64,
    /// The first `max_problems` problems, in file and line order.
    pub problems: Vec<Problem>,
    /// Every problem counted, including those not kept.
    pub problem_count: usize,
    pub error_count: usize,
    /// Problems counted by (severity, field, kind).
    pub counts: BTreeMap<(Severity, String, &'static str), usize>,
}

impl Report {
    pub fn ok(&self) -> bool {
        self.error_count == 0
    }
}

/// Options of a validation.
#[derive(Clone, Debug)]
pub struct Options {
    /// The model the job will run; without it the family is read from each line's shape.
    pub model: Option<ModelInfo>,
    pub invocation: Option<Invocation>,
    pub quotas: Quotas,
    /// Problems kept in full; the rest are counted.
    pub max_problems: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            model: None,
            invocation: None,
            quotas: Quotas::default(),
            max_problems: 100,
        }
    }
}

/// What to validate.
pub enum Source {
    Path(PathBuf),
    Bytes(Vec<u8>),
}

struct Collector<'o> {
    report: Report,
    opts: &'o Options,
    ids: HashSet<String>,
}

impl Collector<'_> {
    fn add(&mut self, p: Problem) {
        self.report.problem_count += 1;
        if p.severity == Severity::Error {
            self.report.error_count += 1;
        }
        *self
            .report
            .counts
            .entry((p.severity, p.field.clone(), p.kind))
            .or_insert(0) += 1;
        if self.report.problems.len() < self.opts.max_problems {
            self.report.problems.push(p);
        }
    }
}

/// Files to check, grouped by job folder (the folder that holds them).
fn collect_files(root: &Path) -> Result<Vec<(PathBuf, Vec<PathBuf>)>, Error> {
    if !root.exists() {
        return Err(Error::NotFound {
            path: root.display().to_string(),
            message: "no such file or folder".into(),
        });
    }
    if root.is_file() {
        let parent = root.parent().map(Path::to_path_buf).unwrap_or_default();
        return Ok(vec![(parent, vec![root.to_path_buf()])]);
    }
    let mut groups: BTreeMap<PathBuf, Vec<PathBuf>> = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries = fs::read_dir(&dir).map_err(|e| Error::Io {
            path: dir.display().to_string(),
            source: e,
        })?;
        for entry in entries {
            let entry = entry.map_err(|e| Error::Io {
                path: dir.display().to_string(),
                source: e,
            })?;
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                groups.entry(dir.clone()).or_default().push(p);
            }
        }
    }
    Ok(groups
        .into_iter()
        .map(|(d, mut files)| {
            files.sort();
            (d, files)
        })
        .collect())
}

/// Checks one stream of lines; returns (records, bytes).
fn check_stream(
    input: lines::Input<'_>,
    file: &str,
    checker: &Checker<'_>,
    col: &mut Collector<'_>,
) -> Result<(usize, u64), Error> {
    let mut records = 0usize;
    let mut bytes = 0u64;
    lines::for_each_batch(input, file, |blocks| {
        let results: Vec<Vec<(LineResult, u64)>> = blocks
            .par_iter()
            .map(|block| {
                block
                    .lines()
                    .map(|(n, text, len)| (checker.line(text, n), len))
                    .collect()
            })
            .collect();
        for block in results {
            for (r, len) in block {
                bytes += len;
                let id = r.id.clone();
                for p in r.problems {
                    col.add(Problem {
                        file: file.to_string(),
                        line: r.line,
                        record_id: id.clone(),
                        field: p.field.into_owned(),
                        message: p.message,
                        severity: p.severity,
                        kind: p.kind,
                    });
                }
                // An empty or unparsable line is not a record Bedrock will run.
                if !r.is_record {
                    continue;
                }
                records += 1;
                col.report.input_tokens += r.tokens;
                if let Some(id) = id {
                    if !col.ids.insert(id.clone()) {
                        col.add(Problem {
                            file: file.to_string(),
                            line: r.line,
                            record_id: Some(id.clone()),
                            field: "recordId".into(),
                            message: format!(
                                "duplicate recordId {id:?}: results could not be joined back"
                            ),
                            severity: Severity::Error,
                            kind: "duplicate",
                        });
                    }
                }
            }
        }
        Ok(())
    })?;
    Ok((records, bytes))
}

/// Validates a batch input: a `.jsonl` file, a folder of job folders, or bytes.
pub fn validate(source: &Source, opts: &Options) -> Result<Report, Error> {
    opts.quotas.check()?;
    let checker = Checker { opts };
    let mut col = Collector {
        report: Report::default(),
        opts,
        ids: HashSet::new(),
    };
    let q = &opts.quotas;
    let groups: Vec<(String, Vec<(String, Option<PathBuf>)>)> = match source {
        Source::Bytes(_) => vec![("<bytes>".into(), vec![("<bytes>".into(), None)])],
        Source::Path(p) => collect_files(p)?
            .into_iter()
            .map(|(d, files)| {
                (
                    d.display().to_string(),
                    files
                        .into_iter()
                        .map(|f| (f.display().to_string(), Some(f)))
                        .collect(),
                )
            })
            .collect(),
    };
    col.report.jobs = groups.len();
    for (job, files) in &groups {
        let mut job_records = 0usize;
        let mut job_bytes = 0u64;
        for (name, path) in files {
            col.report.files += 1;
            let (records, bytes) = match path {
                None => {
                    let Source::Bytes(b) = source else {
                        unreachable!()
                    };
                    check_stream(lines::Input::Bytes(b), name, &checker, &mut col)?
                }
                Some(p) => {
                    if p.extension().and_then(|e| e.to_str()) != Some("jsonl") {
                        col.add(Problem {
                            file: name.clone(),
                            line: 0,
                            record_id: None,
                            field: "file".into(),
                            message: "Bedrock reads only files ending in .jsonl from a job's input prefix; move this file out".into(),
                            severity: Severity::Error,
                            kind: "extension",
                        });
                        continue;
                    }
                    let f = fs::File::open(p).map_err(|e| Error::Io {
                        path: name.clone(),
                        source: e,
                    })?;
                    check_stream(lines::Input::File(&f), name, &checker, &mut col)?
                }
            };
            let file_problem = |message: String, kind: &'static str| Problem {
                file: name.clone(),
                line: 0,
                record_id: None,
                field: "file".into(),
                message,
                severity: Severity::Error,
                kind,
            };
            if records == 0 {
                col.add(file_problem("has no records".into(), "empty"));
            }
            if records > q.max_records_per_file {
                col.add(file_problem(
                    format!(
                        "{records} records, above the {} per file",
                        q.max_records_per_file
                    ),
                    "limit",
                ));
            }
            if bytes > q.max_bytes_per_file {
                col.add(file_problem(
                    format!("{bytes} bytes, above the {} per file", q.max_bytes_per_file),
                    "limit",
                ));
            }
            job_records += records;
            job_bytes += bytes;
        }
        col.report.records += job_records;
        col.report.bytes += job_bytes;
        let job_problem = |message: String| Problem {
            file: job.clone(),
            line: 0,
            record_id: None,
            field: "job".into(),
            message,
            severity: Severity::Error,
            kind: "limit",
        };
        if job_records < q.min_records_per_job {
            col.add(job_problem(format!(
                "{job_records} records: a batch job needs at least {} ({} more)",
                q.min_records_per_job,
                q.min_records_per_job - job_records
            )));
        }
        if job_records > q.max_records_per_job {
            col.add(job_problem(format!(
                "{job_records} records, above the {} per job",
                q.max_records_per_job
            )));
        }
        if job_bytes > q.max_bytes_per_job {
            col.add(job_problem(format!(
                "{job_bytes} bytes, above the {} per job",
                q.max_bytes_per_job
            )));
        }
    }
    if col.report.jobs > q.max_concurrent_jobs {
        let n = col.report.jobs;
        col.add(Problem {
            file: String::new(),
            line: 0,
            record_id: None,
            field: "jobs".into(),
            message: format!("{n} jobs; at most {} run (submitted + in progress) at once per model: the rest wait their turn", q.max_concurrent_jobs),
            severity: Severity::Warning,
            kind: "limit",
        });
    }
    Ok(col.report)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{"recordId":"R1","modelInput":{"anthropic_version":"bedrock-2023-05-31","max_tokens":100,"messages":[{"role":"user","content":"Summarise: 日本語の文章です。"}]}}"#;

    /// Small inputs: a job of one record is allowed here.
    fn opts() -> Options {
        Options {
            quotas: Quotas {
                min_records_per_job: 1,
                ..Quotas::default()
            },
            ..Options::default()
        }
    }

    fn report(lines: &[&str]) -> Report {
        let mut bytes = lines.join("\n").into_bytes();
        bytes.push(b'\n');
        validate(&Source::Bytes(bytes), &opts()).unwrap()
    }

    fn problem(r: &Report, line: usize) -> &Problem {
        r.problems
            .iter()
            .find(|p| p.line == line)
            .unwrap_or_else(|| panic!("no problem on line {line}: {:?}", r.problems))
    }

    #[test]
    fn a_good_line_counts_its_tokens() {
        let r = report(&[GOOD]);
        assert!(r.ok(), "{:?}", r.problems);
        assert_eq!(r.records, 1);
        assert!(r.input_tokens > 5, "{}", r.input_tokens);
    }

    #[test]
    fn problems_name_the_line_and_the_field() {
        let no_id = GOOD.replace(r#""recordId":"R1""#, r#""recordId":1"#);
        let empty = GOOD.replace("Summarise: 日本語の文章です。", " ");
        let r = report(&[GOOD, &no_id, "[1, 2]", "{\"recordId\": ", &empty]);
        assert!(!r.ok());
        assert_eq!(problem(&r, 2).field, "recordId");
        assert_eq!(problem(&r, 3).kind, "json");
        assert!(
            problem(&r, 3).message.contains("array"),
            "{:?}",
            problem(&r, 3)
        );
        assert_eq!(problem(&r, 4).kind, "json");
        assert_eq!(problem(&r, 5).field, "modelInput.messages[0].content");
        assert!(r.problems.iter().all(|p| p.line != 1), "{:?}", r.problems);
    }

    #[test]
    fn duplicates_and_bad_bytes_are_located() {
        let mut bytes = format!("{GOOD}\n{GOOD}\n").into_bytes();
        bytes.extend_from_slice(b"{\"recordId\":\"R2\xff\"}\n");
        let r = validate(&Source::Bytes(bytes), &opts()).unwrap();
        let dup = problem(&r, 2);
        assert_eq!((dup.field.as_str(), dup.kind), ("recordId", "duplicate"));
        let utf8 = problem(&r, 3);
        assert_eq!(utf8.kind, "utf8");
        assert!(utf8.message.contains("column 16"), "{}", utf8.message);
    }

    #[test]
    fn max_problems_keeps_the_first_and_counts_all() {
        let lines: Vec<String> = (0..5).map(|_| "[]".to_string()).collect();
        let mut bytes = lines.join("\n").into_bytes();
        bytes.push(b'\n');
        let opts = Options {
            max_problems: 2,
            ..opts()
        };
        let r = validate(&Source::Bytes(bytes), &opts).unwrap();
        assert_eq!(r.problems.len(), 2);
        // Five bad lines, plus what the job as a whole lacks (it has no record).
        let json: usize = r
            .counts
            .iter()
            .filter(|((_, field, kind), _)| field == "line" && *kind == "json")
            .map(|(_, n)| n)
            .sum();
        assert_eq!(json, 5);
        assert!(r.problem_count > 5 && r.problem_count == r.counts.values().sum::<usize>());
        assert_eq!((r.problems[0].line, r.problems[1].line), (1, 2));
    }
}
