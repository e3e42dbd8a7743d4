//! The collect stage: Bedrock batch outputs (`<output>/<jobId>/*.jsonl.out` and
//! `manifest.json.out`) from every model family into rows, every input record accounted for.

pub mod arrow;
mod extract;
mod output;
mod settle;

use std::borrow::Cow;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use rayon::prelude::*;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

pub use extract::{extract_json, extract_keys};
use output::{code_of, get_str, parse_output};
use settle::settle;

use crate::error::Error;
use crate::lines;
use crate::tape::{Kind as TapeKind, Tape};

/// What happened to a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    Succeeded,
    InvalidOutput,
    Failed,
    Missing,
}

impl Status {
    pub fn name(self) -> &'static str {
        match self {
            Status::Succeeded => "succeeded",
            Status::Failed => "failed",
            Status::InvalidOutput => "invalid_output",
            Status::Missing => "missing",
        }
    }

    pub const ALL: [Status; 4] = [
        Status::Succeeded,
        Status::Failed,
        Status::InvalidOutput,
        Status::Missing,
    ];

    pub fn parse(s: &str) -> Result<Status, Error> {
        Status::ALL
            .into_iter()
            .find(|st| st.name() == s)
            .ok_or_else(|| {
                Error::InvalidArgument(format!(
                    "unknown status {s:?}: use succeeded, failed, missing, invalid_output"
                ))
            })
    }
}

/// A JSON field the prompt asked for, and its expected type (`None`: any).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Field {
    pub name: String,
    pub kind: Option<Kind>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Str,
    Int,
    Float,
    Bool,
    List,
    Dict,
}

impl Kind {
    pub fn parse(s: &str) -> Result<Kind, Error> {
        Ok(match s {
            "str" | "string" => Kind::Str,
            "int" | "integer" => Kind::Int,
            "float" | "number" => Kind::Float,
            "bool" | "boolean" => Kind::Bool,
            "list" | "array" => Kind::List,
            "dict" | "object" => Kind::Dict,
            other => {
                return Err(Error::InvalidArgument(format!(
                    "schema type {other:?}: use str, int, float, bool, list or dict"
                )))
            }
        })
    }

    fn name(self) -> &'static str {
        match self {
            Kind::Str => "str",
            Kind::Int => "int",
            Kind::Float => "float",
            Kind::Bool => "bool",
            Kind::List => "list",
            Kind::Dict => "dict",
        }
    }

    fn matches(self, v: &Value) -> bool {
        match self {
            Kind::Str => v.is_string(),
            Kind::Int => v.is_i64() || v.is_u64(),
            Kind::Float => v.is_number(),
            Kind::Bool => v.is_boolean(),
            Kind::List => v.is_array(),
            Kind::Dict => v.is_object(),
        }
    }
}

/// Options of a collection.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Parse each answer's text as JSON.
    pub json: bool,
    /// Expected JSON keys (implies `json`); each becomes a column.
    pub schema: Vec<Field>,
    /// The prompt's assistant prefill, put back in front of the answer.
    pub prefill: Option<String>,
    /// Input recordIds: each appears exactly once in the result.
    pub inputs: Option<Vec<String>>,
    /// Records were sent more than once (retries): a repeated recordId is expected, not a
    /// problem; each row keeps its best outcome (the later line on a tie) and counts its lines.
    pub attempts: bool,
}

/// One result row.
#[derive(Clone, Debug)]
pub struct Row {
    pub record_id: String,
    pub status: Status,
    pub text: Option<String>,
    /// The parsed JSON answer (with `json`), and the schema fields from it.
    pub json: Option<Value>,
    pub fields: Vec<Option<Value>>,
    pub stop_reason: Option<String>,
    pub input_tokens: Option<u64>,
    pub output_tokens: Option<u64>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub embedding: Option<Vec<f64>>,
    /// The output file the row came from, shared by every row of that file.
    pub file: std::sync::Arc<str>,
    pub line: usize,
    /// How many output lines the record had (with `Options::attempts`; else 1, or 0 missing).
    pub attempts: u32,
}

/// A row once its answer has moved into a chunk of columns: what ordering and merging need.
#[derive(Clone, Debug)]
pub(crate) struct Kept {
    pub record_id: String,
    pub status: Status,
    pub input_tokens: Option<u64>,
    pub output_tokens: Option<u64>,
    pub file: std::sync::Arc<str>,
    pub line: usize,
    pub attempts: u32,
    /// Its chunk and place in it; `None` for a record with no output line.
    pub at: Option<(u32, u32)>,
}

impl Kept {
    fn missing(id: String) -> Kept {
        Kept {
            record_id: id,
            status: Status::Missing,
            input_tokens: None,
            output_tokens: None,
            file: no_file(),
            line: 0,
            attempts: 0,
            at: None,
        }
    }

    fn of(r: Row, chunk: u32, slot: u32) -> Kept {
        Kept {
            record_id: r.record_id,
            status: r.status,
            input_tokens: r.input_tokens,
            output_tokens: r.output_tokens,
            file: r.file,
            line: r.line,
            attempts: r.attempts,
            at: Some((chunk, slot)),
        }
    }
}

/// Something in the output that is not a row: an unreadable line with no recordId, a duplicate,
/// an id that was never input, a manifest that disagrees, a missing manifest.
#[derive(Clone, Debug)]
pub struct Problem {
    pub file: String,
    pub line: usize,
    pub record_id: Option<String>,
    pub message: String,
}

/// A collection's result: one row per record, held as Arrow record batches.
#[derive(Clone, Debug)]
pub struct Results {
    pub arrow_schema: arrow_schema::SchemaRef,
    pub batches: Vec<arrow_array::RecordBatch>,
    /// Each row's status, in the table's order.
    pub statuses: Vec<Status>,
    pub problems: Vec<Problem>,
    /// Each `manifest.json.out` found: its path and every field (unknown ones kept).
    pub manifests: Vec<(String, Map<String, Value>)>,
    pub schema: Vec<Field>,
    /// Whether rows count their attempts (`Options::attempts`).
    pub attempts: bool,
}

impl Results {
    pub fn len(&self) -> usize {
        self.statuses.len()
    }

    pub fn is_empty(&self) -> bool {
        self.statuses.is_empty()
    }

    /// How many rows have this status.
    pub fn count(&self, status: Status) -> usize {
        self.statuses.iter().filter(|&&s| s == status).count()
    }

    /// The total of an integer column (`input_tokens`, `output_tokens`).
    pub fn total(&self, column: &str) -> u64 {
        self.batches
            .iter()
            .filter_map(|b| b.column_by_name(column))
            .filter_map(|c| c.as_any().downcast_ref::<arrow_array::Int64Array>())
            .flat_map(|c| c.iter().flatten())
            .map(|v| u64::try_from(v).unwrap_or(0))
            .sum()
    }

    /// The recordIds of the rows whose status is one of `statuses`, in the table's order.
    pub fn ids_with(&self, statuses: &[Status]) -> Vec<String> {
        let ids = self
            .batches
            .iter()
            .filter_map(|b| b.column_by_name("recordId"))
            .filter_map(|c| c.as_any().downcast_ref::<arrow_array::LargeStringArray>())
            .flat_map(|c| c.iter());
        self.statuses
            .iter()
            .zip(ids)
            .filter(|(s, _)| statuses.contains(s))
            .filter_map(|(_, id)| id.map(str::to_string))
            .collect()
    }
}

/// What to read.
pub enum Source {
    Path(PathBuf),
    Bytes(Vec<u8>),
}

/// A line as `serde_json` reads it: the slow path, for lines the fast one cannot read.
#[derive(Deserialize)]
struct SerdeLine<'a> {
    #[serde(rename = "recordId", borrow, default)]
    record_id: Option<Cow<'a, str>>,
    #[serde(rename = "modelOutput", borrow, default)]
    model_output: Option<&'a RawValue>,
    #[serde(borrow, default)]
    error: Option<&'a RawValue>,
}

/// A line's members: recordId, and `modelOutput` or `error` as tapes of their JSON.
struct OutLine<'a> {
    record_id: Option<Cow<'a, str>>,
    model_output: Option<Tape<'a>>,
    error: Option<Tape<'a>>,
}

/// Finds `"recordId": "..."` in a line that is not JSON (a partial write, Python-style quotes).
fn salvage_id(text: &str) -> Option<String> {
    let pos = text
        .find("\"recordId\"")
        .or_else(|| text.find("'recordId'"))?;
    let rest = text[pos + 10..]
        .trim_start()
        .strip_prefix(':')?
        .trim_start();
    let q = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let inner = &rest[1..];
    let end = inner.find(q)?;
    let id = &inner[..end];
    (!id.is_empty() && !id.contains('\\')).then(|| id.to_string())
}

enum Parsed {
    Row(Row),
    Problem(Problem),
}

fn apply_json(row: &mut Row, opts: &Options) {
    if row.status != Status::Succeeded || (!opts.json && opts.schema.is_empty()) {
        return;
    }
    let text = row.text.as_deref().unwrap_or("");
    let names: Vec<&str> = opts.schema.iter().map(|f| f.name.as_str()).collect();
    let keys = (!names.is_empty()).then_some(names.as_slice());
    match extract_keys(text, opts.prefill.as_deref(), keys) {
        Ok(mut v) => {
            let mut missing: Vec<String> = Vec::new();
            let mut fields = Vec::with_capacity(opts.schema.len());
            // With a schema only the fields are kept (moved out, not copied); without one the
            // whole answer is.
            let is_object = v.is_object();
            for (i, f) in opts.schema.iter().enumerate() {
                // Moved out, unless a later schema entry names the same key.
                let again = opts.schema[i + 1..].iter().any(|g| g.name == f.name);
                let taken = v.as_object_mut().and_then(|m| {
                    if again {
                        m.get(&f.name).cloned()
                    } else {
                        m.remove(&f.name)
                    }
                });
                match taken {
                    Some(val) if f.kind.is_none_or(|k| k.matches(&val)) => {
                        fields.push(Some(val));
                    }
                    Some(val) => {
                        missing.push(format!(
                            "key {:?} is {} but should be {}",
                            f.name,
                            match val {
                                Value::Null => "null",
                                Value::Bool(_) => "bool",
                                Value::Number(_) => "a number",
                                Value::String(_) => "str",
                                Value::Array(_) => "list",
                                Value::Object(_) => "dict",
                            },
                            f.kind.map_or("", Kind::name)
                        ));
                        fields.push(Some(val));
                    }
                    None => {
                        missing.push(format!("missing key {:?}", f.name));
                        fields.push(None);
                    }
                }
            }
            if !opts.schema.is_empty() && !is_object {
                missing.insert(0, "the JSON answer is not an object".into());
            }
            row.fields = fields;
            if opts.schema.is_empty() {
                row.json = Some(v);
            }
            if !missing.is_empty() {
                row.status = Status::InvalidOutput;
                row.error_code = Some("invalid_output".into());
                row.error_message = Some(missing.join("; "));
            }
        }
        Err(reason) => {
            row.fields = vec![None; opts.schema.len()];
            row.status = Status::InvalidOutput;
            row.error_code = Some("invalid_output".into());
            row.error_message = Some(reason);
        }
    }
}

/// The `file` of a row no output line gave (one shared empty name).
fn no_file() -> std::sync::Arc<str> {
    static EMPTY: std::sync::OnceLock<std::sync::Arc<str>> = std::sync::OnceLock::new();
    EMPTY.get_or_init(|| std::sync::Arc::from("")).clone()
}

fn blank_row(id: String, file: &std::sync::Arc<str>, line: usize, opts: &Options) -> Row {
    Row {
        record_id: id,
        status: Status::Failed,
        text: None,
        json: None,
        fields: vec![None; opts.schema.len()],
        stop_reason: None,
        input_tokens: None,
        output_tokens: None,
        error_code: None,
        error_message: None,
        embedding: None,
        file: file.clone(),
        line,
        attempts: 1,
    }
}

/// A line that is not a readable output record: marked on its recordId when one can be found.
fn unreadable(
    raw: &[u8],
    file: &std::sync::Arc<str>,
    line: usize,
    opts: &Options,
) -> Option<Parsed> {
    let text = String::from_utf8_lossy(raw);
    if text.trim().is_empty() {
        return None;
    }
    let why = match std::str::from_utf8(raw) {
        Err(_) => "the line is not valid UTF-8".to_string(),
        Ok(t) => match serde_json::from_str::<SerdeLine<'_>>(t) {
            Err(e) if e.is_eof() => "the line is cut off (a partial write?)".to_string(),
            Err(e) => format!("the line is not JSON: {e}"),
            Ok(_) => "the line could not be read".to_string(),
        },
    };
    Some(match salvage_id(&text) {
        Some(id) => {
            let mut r = blank_row(id, file, line, opts);
            r.error_code = Some("unreadable_line".into());
            r.error_message = Some(format!("{file}:{line}: {why}"));
            Parsed::Row(r)
        }
        None => Parsed::Problem(Problem {
            file: file.to_string(),
            line,
            record_id: None,
            message: format!("{why}; no recordId found, so no record can be marked"),
        }),
    })
}

/// The value of the last top-level member `needle` (a key in quotes) of a one-object line, as a
/// tape, found without parsing what comes before it (the echoed `modelInput`, most of the line).
///
/// In valid JSON the bytes `"key":` with an unescaped quote can only open a member name (a quote
/// inside a string is escaped), and requiring that the value runs to the line's closing `}`
/// keeps nested members out. Any doubt returns `None` and the caller parses the whole line.
fn last_member<'a>(raw: &'a [u8], finder: &memchr::memmem::FinderRev<'static>) -> Option<Tape<'a>> {
    let needle = finder.needle();
    let mut end = raw.len();
    while let Some(pos) = finder.rfind(&raw[..end]) {
        let backslashes = raw[..pos].iter().rev().take_while(|&&b| b == b'\\').count();
        if backslashes % 2 == 0 {
            let rest = raw[pos + needle.len()..]
                .trim_ascii_start()
                .strip_prefix(b":")?;
            let value = rest.trim_ascii_end().strip_suffix(b"}")?;
            if !crate::simd::is_utf8(value) {
                return None;
            }
            #[allow(unsafe_code)]
            // SAFETY: just checked.
            return Tape::parse(unsafe { std::str::from_utf8_unchecked(value) });
        }
        end = pos;
    }
    None
}

// Built once: a searcher costs more to set up than a search near the end of a line.
static MODEL_OUTPUT: LazyLock<memchr::memmem::FinderRev<'static>> =
    LazyLock::new(|| memchr::memmem::FinderRev::new(b"\"modelOutput\""));
static ERROR: LazyLock<memchr::memmem::FinderRev<'static>> =
    LazyLock::new(|| memchr::memmem::FinderRev::new(b"\"error\""));

/// The fast path: `{"recordId": "...", ..., "modelOutput"|"error": {...}}` read from both ends.
fn fast_line(raw: &[u8]) -> Option<OutLine<'_>> {
    let body = raw.trim_ascii();
    let rest = body.strip_prefix(b"{")?.trim_ascii_start();
    let rest = rest
        .strip_prefix(b"\"recordId\"")?
        .trim_ascii_start()
        .strip_prefix(b":")?;
    let mut de = serde_json::Deserializer::from_slice(rest.trim_ascii_start());
    let id: Cow<'_, str> = serde::Deserialize::deserialize(&mut de).ok()?;
    if id.contains('\\') {
        return None;
    }
    let (model_output, error) = match last_member(body, &MODEL_OUTPUT) {
        Some(v) => (Some(v), None),
        None => (None, Some(last_member(body, &ERROR)?)),
    };
    Some(OutLine {
        record_id: Some(id),
        model_output,
        error,
    })
}

/// The slow path: the whole line through `serde_json`.
fn full_line(raw: &[u8]) -> Option<OutLine<'_>> {
    let l = serde_json::from_slice::<SerdeLine<'_>>(raw).ok()?;
    Some(OutLine {
        record_id: l.record_id,
        model_output: l.model_output.and_then(|v| Tape::parse(v.get())),
        error: l.error.and_then(|v| Tape::parse(v.get())),
    })
}

fn parse_line(
    raw: &[u8],
    file: &std::sync::Arc<str>,
    line: usize,
    opts: &Options,
) -> Option<Parsed> {
    // Most of a line is the echoed modelInput: read recordId at the front and modelOutput (or
    // error) at the back; anything unusual takes the full parse, which checks UTF-8 as it reads.
    let Some(l) = fast_line(raw).or_else(|| full_line(raw)) else {
        return unreadable(raw, file, line, opts);
    };
    let Some(id) = l.record_id.map(Cow::into_owned) else {
        return Some(Parsed::Problem(Problem {
            file: file.to_string(),
            line,
            record_id: None,
            message: "the line has no recordId".into(),
        }));
    };
    let mut r = blank_row(id, file, line, opts);
    if let Some(e) = &l.error {
        let e = e.root();
        let eo = (e.kind() == TapeKind::Object).then_some(e);
        r.error_code = Some(
            eo.and_then(|o| o.get("errorCode").map(code_of))
                .unwrap_or_else(|| "error".into()),
        );
        r.error_message = Some(
            eo.and_then(|o| get_str(o, "errorMessage").or_else(|| get_str(o, "message")))
                .unwrap_or_else(|| e.raw().to_string()),
        );
        return Some(Parsed::Row(r));
    }
    let Some(mo) = &l.model_output else {
        r.error_code = Some("no_output".into());
        r.error_message = Some("the line has neither modelOutput nor error".into());
        return Some(Parsed::Row(r));
    };
    match parse_output(mo.root()) {
        Ok(out) => {
            r.status = Status::Succeeded;
            r.text = out.text;
            r.stop_reason = out.stop_reason;
            r.input_tokens = out.input_tokens;
            r.output_tokens = out.output_tokens;
            r.embedding = out.embedding;
            apply_json(&mut r, opts);
        }
        Err((code, message)) => {
            r.status = if code == "invalid_output" {
                Status::InvalidOutput
            } else {
                Status::Failed
            };
            r.error_code = Some(code);
            r.error_message = Some(message);
        }
    }
    Some(Parsed::Row(r))
}

fn parse_stream(
    input: lines::Input<'_>,
    file: &str,
    opts: &Options,
    rows: &mut Vec<Kept>,
    chunks: &mut Vec<arrow::Chunk>,
    problems: &mut Vec<Problem>,
) -> Result<usize, Error> {
    let mut lines_seen = 0usize;
    let shared: std::sync::Arc<str> = std::sync::Arc::from(file);
    lines::for_each_batch(input, file, |blocks| {
        // Each block's answers become a chunk of columns on the thread that read them.
        let parsed: Vec<(Vec<Row>, Vec<Problem>, arrow::Chunk, usize)> = blocks
            .par_iter()
            .map(|b| {
                let mut block_rows = Vec::new();
                let mut block_problems = Vec::new();
                let mut seen = 0usize;
                for p in b
                    .lines()
                    .filter_map(|(n, text, _)| parse_line(text, &shared, n, opts))
                {
                    seen += 1;
                    match p {
                        Parsed::Row(r) => block_rows.push(r),
                        Parsed::Problem(p) => block_problems.push(p),
                    }
                }
                let chunk = arrow::Chunk::take(&mut block_rows, opts.schema.len());
                (block_rows, block_problems, chunk, seen)
            })
            .collect();
        for (block_rows, block_problems, chunk, seen) in parsed {
            lines_seen += seen;
            let k = u32::try_from(chunks.len())
                .map_err(|_| Error::InvalidInput(format!("{file}: too many blocks of output")))?;
            chunks.push(chunk);
            rows.reserve(block_rows.len());
            for (slot, r) in block_rows.into_iter().enumerate() {
                rows.push(Kept::of(r, k, u32::try_from(slot).unwrap_or(u32::MAX)));
            }
            problems.extend(block_problems);
        }
        Ok(())
    })?;
    if lines_seen == 0 {
        problems.push(Problem {
            file: file.to_string(),
            line: 0,
            record_id: None,
            message: "the output file is empty".into(),
        });
    }
    Ok(lines_seen)
}

/// Output files (`*.out` except the manifest) and manifests under `root`, in path order.
fn find(root: &Path) -> Result<(Vec<PathBuf>, Vec<PathBuf>, Vec<PathBuf>), Error> {
    let io = |p: &Path, e: std::io::Error| Error::Io {
        path: p.display().to_string(),
        source: e,
    };
    if !root.exists() {
        return Err(Error::NotFound {
            path: root.display().to_string(),
            message: "no such file or folder".into(),
        });
    }
    if root.is_file() {
        return Ok((vec![root.to_path_buf()], Vec::new(), Vec::new()));
    }
    let (mut outs, mut manifests, mut dirs) = (Vec::new(), Vec::new(), Vec::new());
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let mut has_out = false;
        for entry in fs::read_dir(&dir).map_err(|e| io(&dir, e))? {
            let p = entry.map_err(|e| io(&dir, e))?.path();
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if p.is_dir() {
                stack.push(p);
            } else if name == "manifest.json.out" {
                manifests.push(p);
            } else if Path::new(name).extension().is_some_and(|e| e == "out") {
                outs.push(p);
                has_out = true;
            }
        }
        if has_out {
            dirs.push(dir);
        }
    }
    outs.sort();
    manifests.sort();
    dirs.sort();
    Ok((outs, manifests, dirs))
}

/// Reads batch outputs into rows.
pub fn read_results(source: &Source, opts: &Options) -> Result<Results, Error> {
    let mut rows = Vec::new();
    let mut chunks = Vec::new();
    let mut problems = Vec::new();
    let mut manifests = Vec::new();
    match source {
        Source::Bytes(b) => {
            parse_stream(
                lines::Input::Bytes(b),
                "<bytes>",
                opts,
                &mut rows,
                &mut chunks,
                &mut problems,
            )?;
        }
        Source::Path(root) => {
            let (outs, manifest_paths, dirs) = find(root)?;
            if outs.is_empty() {
                return Err(Error::NotFound {
                    path: root.display().to_string(),
                    message: "no batch output files (*.jsonl.out) here".into(),
                });
            }
            for p in &outs {
                let name = p.display().to_string();
                let f = fs::File::open(p).map_err(|e| Error::Io {
                    path: name.clone(),
                    source: e,
                })?;
                parse_stream(
                    lines::Input::File(&f),
                    &name,
                    opts,
                    &mut rows,
                    &mut chunks,
                    &mut problems,
                )?;
            }
            for p in &manifest_paths {
                let name = p.display().to_string();
                let text = fs::read(p).map_err(|e| Error::Io {
                    path: name.clone(),
                    source: e,
                })?;
                match serde_json::from_slice::<Map<String, Value>>(&text) {
                    Ok(m) => manifests.push((name, m)),
                    Err(e) => problems.push(Problem {
                        file: name,
                        line: 0,
                        record_id: None,
                        message: format!("manifest is not a JSON object: {e}"),
                    }),
                }
            }
            for d in &dirs {
                if !d.join("manifest.json.out").exists() && root.is_dir() {
                    problems.push(Problem {
                        file: d.display().to_string(),
                        line: 0,
                        record_id: None,
                        message: "no manifest.json.out beside these outputs (the job may still be running, or the download is incomplete)".into(),
                    });
                }
            }
        }
    }
    check_manifests(&manifests, &rows, &mut problems);
    let rows = settle(rows, opts.inputs.as_deref(), opts.attempts, &mut problems);
    let statuses = rows.iter().map(|r| r.status).collect();
    let (arrow_schema, batches) = arrow::into_batches(&rows, chunks, &opts.schema, opts.attempts)?;
    Ok(Results {
        arrow_schema,
        batches,
        statuses,
        problems,
        manifests,
        schema: opts.schema.clone(),
        attempts: opts.attempts,
    })
}

/// Cross-checks manifest counts against the lines read (one manifest per job folder).
fn check_manifests(
    manifests: &[(String, Map<String, Value>)],
    rows: &[Kept],
    problems: &mut Vec<Problem>,
) {
    for (path, m) in manifests {
        let dir = Path::new(path)
            .parent()
            .map(|d| d.display().to_string())
            .unwrap_or_default();
        let in_dir: Vec<&Kept> = rows
            .iter()
            .filter(|r| {
                Path::new(&*r.file)
                    .parent()
                    .map(|d| d.display().to_string())
                    == Some(dir.clone())
            })
            .collect();
        let ok = in_dir
            .iter()
            .filter(|r| matches!(r.status, Status::Succeeded | Status::InvalidOutput))
            .count() as u64;
        let failed = in_dir.len() as u64 - ok;
        for (key, seen) in [
            ("processedRecordCount", in_dir.len() as u64),
            ("successRecordCount", ok),
            ("errorRecordCount", failed),
        ] {
            if let Some(n) = m.get(key).and_then(Value::as_u64) {
                if n != seen {
                    problems.push(Problem {
                        file: path.clone(),
                        line: 0,
                        record_id: None,
                        message: format!("manifest says {key}={n}, the output files have {seen}"),
                    });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dropped_duplicate_is_the_problem_on_its_own_line() {
        // Found by fuzzing: the later, better line wins, so the problem is the first line's.
        let data = concat!(
            r#"{"recordId": "c", "error": {"errorCode": 500, "errorMessage": "x"}}"#,
            "\n",
            r#"{"recordId": "c", "modelOutput": {"embedding": [0.5], "inputTextTokenCount": 2}}"#,
            "\n"
        );
        let res = read_results(&Source::Bytes(data.into()), &Options::default()).unwrap();
        assert_eq!(res.len(), 1);
        assert_eq!(res.statuses, [Status::Succeeded]);
        assert_eq!(res.problems.len(), 1);
        assert_eq!(res.problems[0].line, 1);
        let m = &res.problems[0].message;
        assert!(
            m.contains("again at <bytes>:2") && m.ends_with("the later one is kept"),
            "{m}"
        );
    }

    #[test]
    fn salvages_ids() {
        assert_eq!(
            salvage_id(r#"{ "recordId" : "3223593EFGH", "modelOutput" : {'a': 1}}"#).as_deref(),
            Some("3223593EFGH")
        );
        assert_eq!(
            salvage_id(r#"{"recordId": "abc", "modelOutp"#).as_deref(),
            Some("abc")
        );
        assert_eq!(salvage_id("garbage"), None);
    }
}
