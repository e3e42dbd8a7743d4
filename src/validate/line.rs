//! One line of batch input: whether it is UTF-8 and a JSON object, its recordId, and its
//! `modelInput` checked against what the model's family accepts, with its estimated tokens.

use std::borrow::Cow;

use serde::de::IgnoredAny;
use serde::Deserialize;
use serde_json::value::RawValue;

use super::{Options, Severity};
use crate::pack::{check_record_id, Family, Invocation};
use crate::tape::{Kind, Tape, Val};
use crate::tokens;

/// A problem found on one line, before it is placed in a file.
pub(super) struct LineProblem {
    pub(super) field: Cow<'static, str>,
    pub(super) message: String,
    pub(super) severity: Severity,
    pub(super) kind: &'static str,
}

pub(super) fn err(
    field: impl Into<Cow<'static, str>>,
    kind: &'static str,
    message: String,
) -> LineProblem {
    LineProblem {
        field: field.into(),
        message,
        severity: Severity::Error,
        kind,
    }
}

pub(super) struct LineResult {
    pub(super) line: usize,
    /// False for a line Bedrock cannot read as a record at all (empty, not UTF-8, not JSON).
    pub(super) is_record: bool,
    pub(super) id: Option<String>,
    pub(super) tokens: u64,
    pub(super) problems: Vec<LineProblem>,
}

/// A line as `serde_json` reads it, only to say precisely why a line is not a record.
#[derive(Deserialize)]
#[allow(dead_code)]
pub(super) struct Line {
    #[serde(rename = "recordId", default)]
    pub(super) record_id: Option<IgnoredAny>,
    #[serde(rename = "modelInput", default)]
    pub(super) model_input: Option<IgnoredAny>,
}

/// Tokens of a JSON value's text, estimated on its raw form (escapes count as the characters
/// they spell, close enough for an estimate).
pub(super) fn raw_tokens(v: Val<'_, '_>) -> u64 {
    tokens::estimate(v.raw())
}

pub(super) fn kind_of(v: &RawValue) -> &'static str {
    match v.get().as_bytes().first() {
        Some(b'"') => "string",
        Some(b'{') => "object",
        Some(b'[') => "array",
        Some(b't' | b'f') => "boolean",
        Some(b'n') => "null",
        _ => "number",
    }
}

pub(super) struct Checker<'o> {
    pub(super) opts: &'o Options,
}

impl Checker<'_> {
    pub(super) fn family_of(&self, input: Val<'_, '_>) -> Option<(Family, Invocation)> {
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

    pub(super) fn number_in(
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

    pub(super) fn max_tokens(
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
    pub(super) fn claude_messages(
        &self,
        v: Option<Val<'_, '_>>,
        out: &mut Vec<LineProblem>,
    ) -> u64 {
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
    pub(super) fn block_messages(&self, v: Option<Val<'_, '_>>, out: &mut Vec<LineProblem>) -> u64 {
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

    pub(super) fn check(&self, input: Val<'_, '_>, out: &mut Vec<LineProblem>) -> u64 {
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

    pub(super) fn line(&self, text: &[u8], line: usize) -> LineResult {
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

pub(super) fn record_id(
    id: Option<Val<'_, '_>>,
    result: &mut LineResult,
    problems: &mut Vec<LineProblem>,
) {
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
pub(super) fn message_list<'t, 'a>(
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
pub(super) fn check_role<'a>(
    m: Val<'_, 'a>,
    i: usize,
    out: &mut Vec<LineProblem>,
) -> Option<Cow<'a, str>> {
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
