//! The pack stage: rows of a table to Bedrock batch JSONL lines (`{"recordId", "modelInput"}`),
//! sharded into job folders and files within the quotas.

mod body;
pub mod json;
mod model;
mod shard;
mod template;

use std::collections::HashSet;

use rayon::prelude::*;

pub use body::{llama_prompt, Settings};
pub use model::{base_model_id, model_info, Family, Invocation, ModelInfo};
pub use shard::{plan, write_shards, Quotas, ShardInfo};
pub use template::Template;

use crate::clean::{self, Format, Options};
use crate::error::Error;
use crate::tokens;
use crate::unicode::Text;
use crate::utf8;

/// A piece of the user template: a literal, escaped for JSON, with its byte classes; or the
/// index of the field a placeholder names.
enum Piece {
    Literal(Vec<u8>, utf8::Classes),
    Field(usize),
}

thread_local! {
    /// Each worker's buffer for the line it is writing.
    static LINE: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// A prompt: templates for the system and user turns plus the generation settings.
#[derive(Clone, Debug)]
pub struct Prompt {
    pub system: Option<Template>,
    pub user: Template,
    pub settings: Settings,
}

/// A column of text cells; `None` is a missing value.
#[derive(Clone, Debug)]
pub struct Column<'a> {
    pub name: String,
    /// Cell texts, borrowed from the caller where it can lend them; made UTF-8 by the worker
    /// that packs the row.
    pub values: Vec<Option<Text<'a>>>,
}

/// The columns a pack needs (template fields, cleaned columns), all of one length.
#[derive(Clone, Debug, Default)]
pub struct Table<'a> {
    pub columns: Vec<Column<'a>>,
    pub rows: usize,
}

impl Table<'_> {
    fn index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }
}

/// A column to run through the clean stage before the template reads it.
#[derive(Clone, Debug)]
pub struct CleanSpec {
    pub column: String,
    pub format: Format,
    pub options: Options,
}

/// What to do with a missing value in a template column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Missing {
    Error,
    Empty,
}

/// One packed record.
#[derive(Clone, Debug)]
pub struct Record {
    pub id: String,
    /// The JSON line, without its newline.
    pub line: Vec<u8>,
    /// Estimated input tokens (system, user and prefill text).
    pub input_tokens: u64,
}

/// Packed records, in input order.
#[derive(Clone, Debug)]
pub struct Records {
    pub model: ModelInfo,
    pub invocation: Invocation,
    pub max_tokens: u64,
    pub records: Vec<Record>,
}

/// The recordId rule: 1 to 256 characters from `A-Z a-z 0-9 _ - . : /`. Bedrock documents no
/// pattern (its examples are 11 alphanumerics); these characters survive every step (S3, JSON,
/// CSV, shells) unchanged.
pub fn check_record_id(id: &str) -> Result<(), String> {
    if id.is_empty() {
        return Err("is empty".into());
    }
    if id.chars().count() > 256 {
        return Err("is longer than 256 characters".into());
    }
    if let Some(c) = id
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':' | '/')))
    {
        return Err(format!(
            "has {c:?}; allowed are A-Z a-z 0-9 _ - . : / (1-256 characters)"
        ));
    }
    Ok(())
}

/// The id given to row `i` (0-based) when the table has no id column: `R` and ten digits, an
/// 11-character alphanumeric like the AWS examples, stable for the same row order.
pub fn generated_id(i: usize) -> String {
    format!("R{:010}", i + 1)
}

/// Checks a prompt against a model before any row is read.
pub fn check_prompt(
    prompt: &Prompt,
    model: &ModelInfo,
    invocation: Invocation,
) -> Result<(), Error> {
    let s = &prompt.settings;
    let bad = |m: String| Err(Error::InvalidArgument(m));
    if model.family == Family::TitanEmbed {
        if invocation == Invocation::Converse {
            return bad(format!(
                "{}: embedding models have no Converse invocation type",
                model.id
            ));
        }
        if prompt.system.is_some() || s.prefill.is_some() || !s.stop_sequences.is_empty() {
            return bad(format!(
                "{}: an embedding model takes only the user template (inputText); drop system, prefill and stop_sequences",
                model.id
            ));
        }
    } else {
        if s.max_tokens == 0 {
            return bad("max_tokens must be at least 1".into());
        }
        if let Some(max) = model.max_output_tokens {
            if s.max_tokens > max {
                return bad(format!(
                    "max_tokens={} is above {}'s limit of {max} output tokens",
                    s.max_tokens, model.base
                ));
            }
        }
    }
    for (name, v) in [("temperature", s.temperature), ("top_p", s.top_p)] {
        if let Some(v) = v {
            if !(0.0..=1.0).contains(&v) {
                return bad(format!("{name}={v} is outside 0..1"));
            }
        }
    }
    if model.exclusive_sampling && s.temperature.is_some() && s.top_p.is_some() {
        return bad(format!(
            "{} accepts temperature or top_p, not both",
            model.base
        ));
    }
    if matches!(model.family, Family::Llama3 | Family::Llama4)
        && invocation == Invocation::Invoke
        && !s.stop_sequences.is_empty()
    {
        return bad(
            "Llama's native body has no stop sequences; use invocation=\"converse\"".into(),
        );
    }
    if let Some(p) = &s.prefill {
        if p.is_empty() || p.ends_with(char::is_whitespace) {
            return bad(
                "prefill must be non-empty and must not end with whitespace (Claude rejects a final assistant turn that does)".into(),
            );
        }
    }
    let generated: &[&str] = match (model.family, invocation) {
        (_, Invocation::Converse) | (Family::Nova, _) => &["system", "messages", "inferenceConfig"],
        (Family::Claude, _) => &[
            "anthropic_version",
            "max_tokens",
            "system",
            "messages",
            "temperature",
            "top_p",
            "stop_sequences",
        ],
        (Family::TitanEmbed, _) => &["inputText"],
        (Family::Llama3 | Family::Llama4, _) => &["prompt", "max_gen_len", "temperature", "top_p"],
    };
    if invocation == Invocation::Invoke {
        if let Some(k) = s.extra.keys().find(|k| generated.contains(&k.as_str())) {
            return bad(format!(
                "extra key {k:?} is written by the Prompt; set it there"
            ));
        }
    }
    Ok(())
}

/// Packs the rows of `table` into records.
///
/// Every template column must exist (checked before any row is read); a missing cell is an error
/// naming its row and column unless `missing` is [`Missing::Empty`]. `ids` are the id column's
/// values (already text); without them ids are generated.
pub fn pack(
    table: &Table<'_>,
    ids: Option<&[Option<String>]>,
    prompt: &Prompt,
    model: &ModelInfo,
    invocation: Invocation,
    clean_specs: &[CleanSpec],
    missing: Missing,
) -> Result<Records, Error> {
    check_prompt(prompt, model, invocation)?;
    let mut fields: Vec<&str> = prompt.user.fields();
    if let Some(sys) = &prompt.system {
        for f in sys.fields() {
            if !fields.contains(&f) {
                fields.push(f);
            }
        }
    }
    let available = || {
        table
            .columns
            .iter()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut field_cols = Vec::with_capacity(fields.len());
    for f in &fields {
        match table.index(f) {
            Some(i) => field_cols.push(i),
            None => {
                return Err(Error::InvalidInput(format!(
                    "the prompt uses column {f:?}, which the table does not have (columns: {})",
                    available()
                )))
            }
        }
    }
    let mut cleaners: Vec<Option<&CleanSpec>> = vec![None; table.columns.len()];
    for spec in clean_specs {
        let i = table.index(&spec.column).ok_or_else(|| {
            Error::InvalidInput(format!(
                "clean= names column {:?}, which the table does not have (columns: {})",
                spec.column,
                available()
            ))
        })?;
        cleaners[i] = Some(spec);
    }
    if table.rows == 0 {
        return Err(Error::InvalidInput(
            "the table has no rows: nothing to pack".into(),
        ));
    }
    let ids: Vec<String> = match ids {
        Some(given) => {
            let mut out = Vec::with_capacity(given.len());
            for (row, id) in given.iter().enumerate() {
                let Some(id) = id else {
                    return Err(Error::InvalidInput(format!("row {row}: the id is missing")));
                };
                if let Err(why) = check_record_id(id) {
                    return Err(Error::InvalidInput(format!("row {row}: id {id:?} {why}")));
                }
                out.push(id.clone());
            }
            let mut seen = HashSet::with_capacity(out.len());
            let mut dups: Vec<&str> = Vec::new();
            for id in &out {
                if !seen.insert(id.as_str()) && !dups.contains(&id.as_str()) {
                    dups.push(id);
                }
            }
            if !dups.is_empty() {
                let shown: Vec<String> = dups.iter().take(10).map(|d| format!("{d:?}")).collect();
                return Err(Error::InvalidInput(format!(
                    "{} duplicate id(s): {}{}",
                    dups.len(),
                    shown.join(", "),
                    if dups.len() > 10 { ", ..." } else { "" }
                )));
            }
            out
        }
        None => (0..table.rows).map(generated_id).collect(),
    };
    let settings = &prompt.settings;
    // A static system prompt is rendered once, and so are its and the prefill's tokens.
    let fixed_system = prompt
        .system
        .as_ref()
        .filter(|t| t.is_static())
        .map(|t| t.render(|_| ""));
    let fixed_tokens = fixed_system.as_deref().map_or(0, tokens::estimate)
        + settings.prefill.as_deref().map_or(0, tokens::estimate);
    // The user template's pieces: literals escaped (and their byte classes counted) once,
    // placeholders as the index of their field.
    let pieces: Vec<Piece> = prompt
        .user
        .pieces()
        .map(|p| match p {
            Ok(literal) => {
                let mut escaped = Vec::new();
                json::escaped(&mut escaped, literal);
                Piece::Literal(escaped, crate::simd::byte_classes(literal.as_bytes()))
            }
            Err(name) => Piece::Field(fields.iter().position(|f| *f == name).unwrap_or(0)),
        })
        .collect();
    let results: Vec<Result<Record, Error>> = (0..table.rows)
        .into_par_iter()
        .with_min_len(16)
        .map_init(
            String::new,
            |scratch, row| {
            // Cleaned cells are made first; the others are escaped straight into the line.
            let mut cleaned: Vec<Option<String>> = Vec::new();
            for (k, (f, &ci)) in fields.iter().zip(&field_cols).enumerate() {
                let cell = &table.columns[ci].values[row];
                if cell.is_none() && missing != Missing::Empty {
                    return Err(Error::InvalidInput(format!(
                        "row {row} (id {:?}): column {f:?} is missing (None/NaN); fill it, drop the row, or pass missing=\"empty\"",
                        ids[row]
                    )));
                }
                if let (Some(spec), Some(text)) = (cleaners[ci], cell) {
                    if cleaned.is_empty() {
                        cleaned.resize(fields.len(), None);
                    }
                    cleaned[k] = Some(clean::clean(
                        text.utf8_in(scratch),
                        spec.format,
                        &spec.options,
                    ));
                }
            }
            let cell = |k: usize| -> Option<Text<'_>> {
                if let Some(Some(c)) = cleaned.get(k) {
                    return Some(Text::from(c.as_str()));
                }
                table.columns[field_cols[k]].values[row].as_ref().map(|t| match t {
                    Text::Utf8(s) => Text::Utf8(std::borrow::Cow::Borrowed(s)),
                    Text::Latin1(b) => Text::Latin1(b),
                    Text::Ucs2(u) => Text::Ucs2(u),
                    Text::Ucs4(c) => Text::Ucs4(c),
                })
            };
            let cells: Vec<Option<Text<'_>>> = (0..fields.len()).map(cell).collect();
            let value = |name: &str, out: &mut String| {
                if let Some(Some(text)) = fields.iter().position(|f| *f == name).map(|k| &cells[k]) {
                    text.push_to(out);
                }
            };
            let system: Option<std::borrow::Cow<'_, str>> = match &prompt.system {
                Some(t) if fixed_system.is_none() => {
                    let mut s = String::new();
                    t.render_into(&mut s, value);
                    Some(s.into())
                }
                _ => fixed_system.as_deref().map(Into::into),
            };
            let system = system.as_deref();
            let mut classes: utf8::Classes = [0; 4];
            // The line is written into this thread's buffer (escaping straight from the cells'
            // storage, with room for the worst case) and then copied out at its exact size.
            let line = LINE.with_borrow_mut(|line| {
                line.clear();
                line.extend_from_slice(b"{\"recordId\":");
                json::string(line, &ids[row]);
                line.extend_from_slice(b",\"modelInput\":");
                body::write(line, model.family, invocation, settings, system, &mut |out| {
                    for p in &pieces {
                        match p {
                            Piece::Literal(escaped, c) => {
                                out.extend_from_slice(escaped);
                                for (sum, n) in classes.iter_mut().zip(c) {
                                    *sum += n;
                                }
                            }
                            Piece::Field(k) => {
                                if let Some(text) = &cells[*k] {
                                    text.push_json(out, &mut classes);
                                }
                            }
                        }
                    }
                });
                line.push(b'}');
                let copy = line.as_slice().to_vec();
                // Keep a huge record's buffer from pinning its memory for good.
                if line.capacity() > 1 << 24 {
                    *line = Vec::new();
                }
                copy
            });
            // Bedrock rejects an empty message or inputText; say so now, not in the job. ASCII
            // other than whitespace settles it; text with none and no other character is
            // empty; otherwise (all non-ASCII) the rendered text decides.
            let [ascii, space, lead, _] = classes;
            let blank = ascii == space
                && (lead == 0 || {
                    let mut user = String::new();
                    prompt.user.render_into(&mut user, value);
                    user.trim().is_empty()
                });
            if blank {
                return Err(Error::InvalidInput(format!(
                    "row {row} (id {:?}): the user prompt is empty once filled (columns {}); drop the row or fill it",
                    ids[row],
                    fields.join(", ")
                )));
            }
            let input_tokens = tokens::from_classes(classes)
                + fixed_tokens
                + if fixed_system.is_none() {
                    system.map_or(0, tokens::estimate)
                } else {
                    0
                };
            Ok(Record {
                id: ids[row].clone(),
                line,
                input_tokens,
            })
            },
        )
        .collect();
    let mut records = Vec::with_capacity(results.len());
    for r in results {
        records.push(r?);
    }
    Ok(Records {
        model: model.clone(),
        invocation,
        max_tokens: settings.max_tokens,
        records,
    })
}

impl Records {
    /// All lines, each ending in `\n`.
    pub fn to_jsonl(&self) -> Vec<u8> {
        let size: usize = self.records.iter().map(|r| r.line.len() + 1).sum();
        let mut out = Vec::with_capacity(size);
        for r in &self.records {
            out.extend_from_slice(&r.line);
            out.push(b'\n');
        }
        out
    }

    /// The records whose id is not in `done`.
    pub fn exclude(&self, done: &HashSet<String>) -> Records {
        Records {
            model: self.model.clone(),
            invocation: self.invocation,
            max_tokens: self.max_tokens,
            records: self
                .records
                .iter()
                .filter(|r| !done.contains(&r.id))
                .cloned()
                .collect(),
        }
    }

    /// Estimated input tokens of all records.
    pub fn input_tokens(&self) -> u64 {
        self.records.iter().map(|r| r.input_tokens).sum()
    }
}
