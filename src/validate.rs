//! The validate stage: every line of a batch input checked locally, in seconds, instead of a job
//! failing 10-15 minutes after submission.
//!
//! Works on any batch input (ours, other tools', hand-written). Streams: files are read in blocks
//! of whole lines, each batch of blocks checked in parallel, so memory stays bounded by the block
//! batch (plus the set of record ids, needed to find duplicates).

use std::borrow::Cow;
use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::de::IgnoredAny;
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::error::Error;
use crate::lines;
use crate::pack::{check_record_id, Family, Invocation, ModelInfo, Quotas};
use crate::tape::{Kind, Tape, Val};
use crate::tokens;

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

/// A problem found on one line, before it is placed in a file.
struct LineProblem {
    field: Cow<'static, str>,
    message: String,
    severity: Severity,
    kind: &'static str,
}

fn err(field: impl Into<Cow<'static, str>>, kind: &'static str, message: String) -> LineProblem {
    LineProblem {
        field: field.into(),
        message,
        severity: Severity::Error,
        kind,
    }
}

struct LineResult {
    line: usize,
    /// False for a line Bedrock cannot read as a record at all (empty, not UTF-8, not JSON).
    is_record: bool,
    id: Option<String>,
    tokens: u64,
    problems: Vec<LineProblem>,
}

/// A line as `serde_json` reads it, only to say precisely why a line is not a record.
#[derive(Deserialize)]
#[allow(dead_code)]
struct Line {
    #[serde(rename = "recordId", default)]
    record_id: Option<IgnoredAny>,
    #[serde(rename = "modelInput", default)]
    model_input: Option<IgnoredAny>,
}

/// Tokens of a JSON value's text, estimated on its raw form (escapes count as the characters
/// they spell, close enough for an estimate).
fn raw_tokens(v: Val<'_, '_>) -> u64 {
    tokens::estimate(v.raw())
}

fn kind_of(v: &RawValue) -> &'static str {
    match v.get().as_bytes().first() {
        Some(b'"') => "string",
        Some(b'{') => "object",
        Some(b'[') => "array",
        Some(b't' | b'f') => "boolean",
        Some(b'n') => "null",
        _ => "number",
    }
}

struct Checker<'o> {
    opts: &'o Options,
}

impl Checker<'_> {
    fn family_of(&self, input: Val<'_, '_>) -> Option<(Family, Invocation)> {
        if let Some(m) = &self.opts.model {
            let inv = self.opts.invocation.unwrap_or(Invocation::Invoke);
            return Some((m.family, inv));
        }
        if self.opts.invocation == Some(Invocation::Converse) {
            return Some((Family::Nova, Invocation::Converse));
        }
        if input.get("anthropic_version").is_some() {
            Some((Family::Claude, Invocation::Invoke))
        } else if input.get("inputText").is_some() {
            Some((Family::TitanEmbed, Invocation::Invoke))
        } else if input.get("prompt").is_some() {
            Some((Family::Llama3, Invocation::Invoke))
        } else if input.get("messages").is_some() {
            Some((Family::Nova, Invocation::Invoke))
        } else {
            None
        }
    }

    fn number_in(
        &self,
        input: Val<'_, '_>,
        key: &'static str,
        lo: f64,
        hi: f64,
        out: &mut Vec<LineProblem>,
    ) -> bool {
        match input.get(key) {
            None => false,
            Some(v) => match v.as_f64() {
                Some(x) if (lo..=hi).contains(&x) => true,
                Some(x) => {
                    out.push(err(
                        format!("modelInput.{key}"),
                        "value",
                        format!("{x} is outside {lo}..{hi}"),
                    ));
                    true
                }
                None => {
                    out.push(err(
                        format!("modelInput.{key}"),
                        "type",
                        format!("must be a number, got {}", v.kind_name()),
                    ));
                    true
                }
            },
        }
    }

    fn max_tokens(
        &self,
        v: Option<Val<'_, '_>>,
        field: &'static str,
        limit: Option<u64>,
        out: &mut Vec<LineProblem>,
    ) -> u64 {
        let Some(v) = v else {
            out.push(err(field, "missing", "is required".into()));
            return 0;
        };
        match v.as_u64() {
            Some(0) | None => {
                out.push(err(
                    field,
                    "type",
                    format!("must be a positive integer, got {}", v.raw()),
                ));
                0
            }
            Some(n) => {
                if let Some(max) = limit {
                    if n > max {
                        out.push(err(
                            field,
                            "limit",
                            format!("{n} is above the model's limit of {max}"),
                        ));
                    }
                }
                n
            }
        }
    }

    /// Claude messages: `[{"role": "user"|"assistant", "content": str | [{"type": ...}]}]`.
    fn claude_messages(&self, v: Option<Val<'_, '_>>, out: &mut Vec<LineProblem>) -> u64 {
        let Some(msgs) = message_list(v, out) else {
            return 0;
        };
        let mut tokens = 0;
        for (i, m) in msgs.iter().enumerate() {
            let role = check_role(*m, i, out);
            if i == 0 && role.as_deref() == Some("assistant") {
                out.push(err(
                    "modelInput.messages[0].role",
                    "value",
                    "the first message must be from the user".into(),
                ));
            }
            match m.get("content") {
                None => out.push(err(
                    format!("modelInput.messages[{i}].content"),
                    "missing",
                    "is required".into(),
                )),
                Some(c) => match c.kind_name() {
                    "string" => {
                        // Unescape only what can matter: short strings (empty?) and the final
                        // assistant turn (trailing whitespace?); long texts are only counted.
                        let last_assistant =
                            i + 1 == msgs.len() && role.as_deref() == Some("assistant");
                        let text = if c.raw().len() < 64 || last_assistant {
                            c.as_str().unwrap_or_default()
                        } else {
                            Cow::Borrowed("x")
                        };
                        if text.trim().is_empty() {
                            out.push(err(
                                format!("modelInput.messages[{i}].content"),
                                "value",
                                "is empty".into(),
                            ));
                        } else if i + 1 == msgs.len()
                            && role.as_deref() == Some("assistant")
                            && text.ends_with(char::is_whitespace)
                        {
                            out.push(err(
                                format!("modelInput.messages[{i}].content"),
                                "value",
                                "a final assistant turn (prefill) must not end with whitespace"
                                    .into(),
                            ));
                        }
                        tokens += raw_tokens(c);
                    }
                    "array" => match c.objects() {
                        Some(blocks) if !blocks.is_empty() => {
                            for (j, b) in blocks.iter().enumerate() {
                                if b.get("type").is_none_or(|t| t.kind_name() != "string") {
                                    out.push(err(
                                        format!("modelInput.messages[{i}].content[{j}].type"),
                                        "missing",
                                        "each content block needs a \"type\"".into(),
                                    ));
                                }
                                if let Some(t) = b.get("text") {
                                    tokens += raw_tokens(t);
                                }
                            }
                        }
                        _ => out.push(err(
                            format!("modelInput.messages[{i}].content"),
                            "value",
                            "must be a non-empty string or array of content blocks".into(),
                        )),
                    },
                    k => out.push(err(
                        format!("modelInput.messages[{i}].content"),
                        "type",
                        format!("must be a string or an array, got {k}"),
                    )),
                },
            }
        }
        tokens
    }

    /// Nova / Converse messages: `[{"role", "content": [{"text": ...}, ...]}]`.
    fn block_messages(&self, v: Option<Val<'_, '_>>, out: &mut Vec<LineProblem>) -> u64 {
        let Some(msgs) = message_list(v, out) else {
            return 0;
        };
        let mut tokens = 0;
        for (i, m) in msgs.iter().enumerate() {
            check_role(*m, i, out);
            match m.get("content").map(Val::objects) {
                Some(Some(blocks)) if !blocks.is_empty() => {
                    for b in &blocks {
                        if let Some(t) = b.get("text") {
                            if t.kind_name() != "string" {
                                out.push(err(
                                    format!("modelInput.messages[{i}].content.text"),
                                    "type",
                                    "must be a string".into(),
                                ));
                            }
                            tokens += raw_tokens(t);
                        }
                    }
                }
                Some(_) => out.push(err(
                    format!("modelInput.messages[{i}].content"),
                    "type",
                    "must be a non-empty array of content blocks like {\"text\": ...}".into(),
                )),
                None => out.push(err(
                    format!("modelInput.messages[{i}].content"),
                    "missing",
                    "is required".into(),
                )),
            }
        }
        tokens
    }

    fn check(&self, input: Val<'_, '_>, out: &mut Vec<LineProblem>) -> u64 {
        let Some((family, invocation)) = self.family_of(input) else {
            out.push(err("modelInput", "shape", "cannot tell the model family (no anthropic_version, messages, inputText or prompt); pass model=".into()));
            return 0;
        };
        let model = self.opts.model.as_ref();
        let max_out = model.and_then(|m| m.max_output_tokens);
        let (tokens, output) = if invocation == Invocation::Converse || family == Family::Nova {
            let mut t = self.block_messages(input.get("messages"), out);
            if let Some(sys) = input.get("system") {
                match sys.objects() {
                    Some(blocks) => {
                        t += blocks
                            .iter()
                            .filter_map(|b| b.get("text"))
                            .map(raw_tokens)
                            .sum::<u64>();
                    }
                    None => out.push(err(
                        "modelInput.system",
                        "type",
                        "must be an array of {\"text\": ...} blocks".into(),
                    )),
                }
            }
            let mut n = 0;
            match input
                .get("inferenceConfig")
                .map(|c| (c.kind() == Kind::Object).then_some(c))
            {
                Some(Some(cfg)) => {
                    if let Some(v) = cfg.get("maxTokens") {
                        n = self.max_tokens(
                            Some(v),
                            "modelInput.inferenceConfig.maxTokens",
                            max_out,
                            out,
                        );
                    }
                    for key in ["temperature", "topP"] {
                        if let Some(v) = cfg.get(key) {
                            if !v.as_f64().is_some_and(|x| (0.0..=1.0).contains(&x)) {
                                out.push(err(
                                    format!("modelInput.inferenceConfig.{key}"),
                                    "value",
                                    format!("must be a number in 0..1, got {}", v.raw()),
                                ));
                            }
                        }
                    }
                }
                Some(None) => out.push(err(
                    "modelInput.inferenceConfig",
                    "type",
                    "must be an object".into(),
                )),
                None => {}
            }
            (t, n)
        } else {
            match family {
                Family::Claude => {
                    match input
                        .get("anthropic_version")
                        .and_then(Val::as_str)
                        .as_deref()
                    {
                        Some("bedrock-2023-05-31") => {}
                        Some(v) => out.push(err(
                            "modelInput.anthropic_version",
                            "value",
                            format!("must be \"bedrock-2023-05-31\", got {v:?}"),
                        )),
                        None => out.push(err(
                            "modelInput.anthropic_version",
                            "missing",
                            "is required: \"bedrock-2023-05-31\"".into(),
                        )),
                    }
                    let n = self.max_tokens(
                        input.get("max_tokens"),
                        "modelInput.max_tokens",
                        max_out,
                        out,
                    );
                    let mut t = self.claude_messages(input.get("messages"), out);
                    if let Some(sys) = input.get("system") {
                        match sys.kind_name() {
                            "string" | "array" => t += raw_tokens(sys),
                            k => out.push(err(
                                "modelInput.system",
                                "type",
                                format!("must be a string or an array, got {k}"),
                            )),
                        }
                    }
                    let has_t = self.number_in(input, "temperature", 0.0, 1.0, out);
                    let has_p = self.number_in(input, "top_p", 0.0, 1.0, out);
                    if has_t && has_p && model.is_some_and(|m| m.exclusive_sampling) {
                        out.push(err(
                            "modelInput.top_p",
                            "value",
                            "this model accepts temperature or top_p, not both".into(),
                        ));
                    }
                    if let Some(s) = input.get("stop_sequences") {
                        if s.kind() != Kind::Array || s.items().any(|x| x.kind() != Kind::String) {
                            out.push(err(
                                "modelInput.stop_sequences",
                                "type",
                                "must be an array of strings".into(),
                            ));
                        }
                    }
                    (t, n)
                }
                Family::TitanEmbed => {
                    let mut t = 0;
                    match input.get("inputText") {
                        Some(v) => match v.as_str() {
                            Some(s) if !s.trim().is_empty() => {
                                t = tokens::estimate(&s);
                                if s.chars().count() > 50_000 {
                                    out.push(err(
                                        "modelInput.inputText",
                                        "limit",
                                        "is longer than 50,000 characters".into(),
                                    ));
                                }
                            }
                            Some(_) => {
                                out.push(err("modelInput.inputText", "value", "is empty".into()));
                            }
                            None => out.push(err(
                                "modelInput.inputText",
                                "type",
                                format!("must be a string, got {}", v.kind_name()),
                            )),
                        },
                        None => {
                            out.push(err("modelInput.inputText", "missing", "is required".into()));
                        }
                    }
                    if let Some(d) = input.get("dimensions") {
                        if !matches!(d.as_u64(), Some(256 | 512 | 1024)) {
                            out.push(err(
                                "modelInput.dimensions",
                                "value",
                                format!("must be 256, 512 or 1024, got {}", d.raw()),
                            ));
                        }
                    }
                    if let Some(n) = input.get("normalize") {
                        if n.kind_name() != "boolean" {
                            out.push(err(
                                "modelInput.normalize",
                                "type",
                                "must be true or false".into(),
                            ));
                        }
                    }
                    (t, 0)
                }
                Family::Llama3 | Family::Llama4 => {
                    let mut t = 0;
                    match input.get("prompt") {
                        Some(v) if v.kind_name() == "string" => {
                            if v.as_str().is_some_and(|s| s.trim().is_empty()) {
                                out.push(err("modelInput.prompt", "value", "is empty".into()));
                            }
                            t = raw_tokens(v);
                        }
                        Some(v) => out.push(err(
                            "modelInput.prompt",
                            "type",
                            format!("must be a string, got {}", v.kind_name()),
                        )),
                        None => out.push(err("modelInput.prompt", "missing", "is required".into())),
                    }
                    let n = match input.get("max_gen_len") {
                        Some(v) => self.max_tokens(Some(v), "modelInput.max_gen_len", max_out, out),
                        None => 0,
                    };
                    self.number_in(input, "temperature", 0.0, 1.0, out);
                    self.number_in(input, "top_p", 0.0, 1.0, out);
                    (t, n)
                }
                Family::Nova => unreachable!("handled above"),
            }
        };
        if let Some(ctx) = model.and_then(|m| m.context_tokens) {
            if tokens + output > ctx {
                out.push(err(
                    "modelInput",
                    "limit",
                    format!("~{tokens} input tokens (estimated) + {output} output tokens exceed the {ctx}-token context window"),
                ));
            }
        }
        tokens
    }

    fn line(&self, text: &[u8], line: usize) -> LineResult {
        let mut problems = Vec::new();
        let mut result = LineResult {
            line,
            is_record: false,
            id: None,
            tokens: 0,
            problems: Vec::new(),
        };
        // `simd::is_utf8` (simdutf8) checks Japanese text several times faster than `str::from_utf8`,
        // which runs only to locate an error.
        let checked = if crate::simd::is_utf8(text) {
            #[allow(unsafe_code)]
            // SAFETY: just checked.
            Ok(unsafe { std::str::from_utf8_unchecked(text) })
        } else {
            std::str::from_utf8(text)
        };
        let text = match checked {
            Ok(t) => t,
            Err(e) => {
                problems.push(err(
                    "line",
                    "utf8",
                    format!("not UTF-8 (invalid byte at column {})", e.valid_up_to() + 1),
                ));
                result.problems = problems;
                return result;
            }
        };
        if text.trim().is_empty() {
            problems.push(LineProblem {
                field: "line".into(),
                kind: "empty",
                severity: Severity::Warning,
                message: "empty line (not a record)".into(),
            });
            result.problems = problems;
            return result;
        }
        if !text.trim_start().starts_with('{') {
            let message = match serde_json::from_str::<&RawValue>(text) {
                Ok(v) => format!("not a JSON object: the line is a JSON {}", kind_of(v)),
                Err(e) => format!("not valid JSON: {e}"),
            };
            problems.push(err("line", "json", message));
            result.problems = problems;
            return result;
        }
        // The fast path: one pass validates the line and finds its fields. Invalid JSON and a
        // repeated top-level field (which Bedrock's reader refuses) take the slow path below,
        // whose messages say where the line breaks.
        if let Some(tape) = Tape::parse(text) {
            let root = tape.root();
            if root.count("recordId") <= 1 && root.count("modelInput") <= 1 {
                result.is_record = true;
                // null reads as absent, as a typed reader would.
                let id = root.get("recordId").and_then(Val::present);
                record_id(id, &mut result, &mut problems);
                match root.get("modelInput").and_then(Val::present) {
                    None => problems.push(err("modelInput", "missing", "is required".into())),
                    Some(mi) if mi.kind() == Kind::Object => {
                        result.tokens = self.check(mi, &mut problems);
                    }
                    Some(mi) => problems.push(err(
                        "modelInput",
                        "type",
                        format!("must be an object, got {}", mi.kind_name()),
                    )),
                }
                result.problems = problems;
                return result;
            }
        }
        // The slow path says precisely what is wrong.
        let parsed: Line = match serde_json::from_str(text) {
            Ok(l) => l,
            Err(e) => {
                let what = if e.is_data() {
                    "not a JSON object"
                } else {
                    "not valid JSON"
                };
                problems.push(err("line", "json", format!("{what}: {e}")));
                result.problems = problems;
                return result;
            }
        };
        // serde_json read the line although the fast path did not: only a line nested more
        // than 512 levels deep does that.
        let _ = parsed;
        problems.push(err(
            "line",
            "json",
            "nested too deeply to check (more than 512 levels)".into(),
        ));
        result.problems = problems;
        result
    }
}

fn record_id(id: Option<Val<'_, '_>>, result: &mut LineResult, problems: &mut Vec<LineProblem>) {
    let Some(id) = id else { return };
    match id.as_str() {
        Some(s) => {
            if let Err(why) = check_record_id(&s) {
                problems.push(LineProblem {
                    field: "recordId".into(),
                    kind: "value",
                    severity: if s.is_empty() {
                        Severity::Error
                    } else {
                        Severity::Warning
                    },
                    message: format!("{s:?} {why}"),
                });
            }
            result.id = Some(s.into_owned());
        }
        None => problems.push(err(
            "recordId",
            "type",
            format!("must be a string, got {}", id.kind_name()),
        )),
    }
}

/// The `messages` array of a body, or `None` (with the problem) when it is missing or malformed.
fn message_list<'t, 'a>(
    v: Option<Val<'t, 'a>>,
    out: &mut Vec<LineProblem>,
) -> Option<Vec<Val<'t, 'a>>> {
    let Some(v) = v else {
        out.push(err("modelInput.messages", "missing", "is required".into()));
        return None;
    };
    let Some(msgs) = v.objects() else {
        out.push(err(
            "modelInput.messages",
            "type",
            "must be an array of {role, content} objects".into(),
        ));
        return None;
    };
    if msgs.is_empty() {
        out.push(err(
            "modelInput.messages",
            "value",
            "must not be empty".into(),
        ));
    }
    Some(msgs)
}

/// A message's role: "user" or "assistant"; anything else is a problem.
fn check_role<'a>(m: Val<'_, 'a>, i: usize, out: &mut Vec<LineProblem>) -> Option<Cow<'a, str>> {
    let role = m.get("role").and_then(Val::as_str);
    match role.as_deref() {
        Some("user" | "assistant") => {}
        Some(r) => out.push(err(
            format!("modelInput.messages[{i}].role"),
            "value",
            format!("must be \"user\" or \"assistant\", got {r:?}"),
        )),
        None => out.push(err(
            format!("modelInput.messages[{i}].role"),
            "missing",
            "is required (a string)".into(),
        )),
    }
    role
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
