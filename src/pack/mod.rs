//! The pack stage: rows of a table to Bedrock batch JSONL lines (`{"recordId", "modelInput"}`),
//! sharded into job folders and files within the quotas.

mod body;
mod model;
mod records;
mod shard;
mod template;

use std::sync::Arc;

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

/// One packed record: its id and its row of the table.
#[derive(Clone, Debug)]
pub struct Record {
    pub id: String,
    /// The row of the table it was packed from.
    pub row: usize,
}

/// What a record's line takes: its length without the newline, and its estimated input
/// tokens (system, user and prefill text).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Measure {
    pub len: usize,
    pub input_tokens: u64,
}

/// Packed records, in input order.
///
/// Lines are rendered when they are written (or asked for), from the table the records hold:
/// keeping 14,108 lines (83 MB) cost more in fresh memory than building them did, and held a
/// second copy of every article. Each line's size and tokens are measured once, when packing
/// has to read the cells anyway (`clean=` columns, a template that may fill to nothing), when
/// they are asked for, or while the lines are written.
#[derive(Clone)]
pub struct Records<'a> {
    pub model: ModelInfo,
    pub invocation: Invocation,
    pub max_tokens: u64,
    pub records: Vec<Record>,
    source: Arc<Source<'a>>,
    measured: std::sync::OnceLock<Vec<Measure>>,
}

/// What renders a record's line: the table, the prompt's pieces and the body's settings.
struct Source<'a> {
    table: Table<'a>,
    family: Family,
    invocation: Invocation,
    settings: Settings,
    /// The user template, for the exact emptiness check; and its pieces.
    user: Template,
    pieces: Vec<Piece>,
    /// The system prompt: rendered once when it has no placeholder.
    system: Option<Template>,
    fixed_system: Option<String>,
    /// The template fields and their columns.
    fields: Vec<String>,
    field_cols: Vec<usize>,
    /// Cleaned cells (`clean=` columns), a row's by field; empty without `clean=`.
    cleaned: Vec<Vec<Option<String>>>,
    /// The length of a line with an empty id and no cells, and the tokens of the fixed system
    /// prompt and the prefill.
    base: usize,
    fixed_tokens: u64,
}

/// A rendered line's user-text classes and dynamic system prompt tokens.
struct Rendered {
    classes: utf8::Classes,
    system_tokens: u64,
}

impl Source<'_> {
    /// A row's cells by field: cleaned text where there is some, else the table's.
    fn cells<'s>(
        &'s self,
        row: usize,
        cleaned: Option<&'s [Option<String>]>,
    ) -> Vec<Option<Text<'s>>> {
        (0..self.fields.len())
            .map(|k| {
                if let Some(Some(c)) = cleaned.map(|c| &c[k]) {
                    return Some(Text::from(c.as_str()));
                }
                self.table.columns[self.field_cols[k]].values[row]
                    .as_ref()
                    .map(Text::reborrow)
            })
            .collect()
    }

    /// Appends the text of field `name` among `cells` (nothing for a missing one).
    fn push_field(&self, cells: &[Option<Text<'_>>], name: &str, out: &mut String) {
        if let Some(Some(text)) = self
            .fields
            .iter()
            .position(|f| f == name)
            .map(|k| &cells[k])
        {
            text.push_to(out);
        }
    }

    /// Appends the line of record `id` (without its newline) from its cells; with `count`,
    /// the user text's classes are counted.
    fn render(
        &self,
        id: &str,
        cells: &[Option<Text<'_>>],
        out: &mut Vec<u8>,
        count: bool,
    ) -> Rendered {
        let value = |name: &str, out: &mut String| self.push_field(cells, name, out);
        let dynamic: Option<String> = match &self.system {
            Some(t) if self.fixed_system.is_none() => {
                let mut s = String::new();
                t.render_into(&mut s, value);
                Some(s)
            }
            _ => None,
        };
        let system = dynamic.as_deref().or(self.fixed_system.as_deref());
        let mut classes: utf8::Classes = [0; 4];
        out.extend_from_slice(b"{\"recordId\":");
        crate::json::string(out, id);
        out.extend_from_slice(b",\"modelInput\":");
        body::write(
            out,
            self.family,
            self.invocation,
            &self.settings,
            system,
            &mut |out| {
                for p in &self.pieces {
                    match p {
                        Piece::Literal(escaped, c) => {
                            out.extend_from_slice(escaped);
                            for (sum, n) in classes.iter_mut().zip(c) {
                                *sum += n;
                            }
                        }
                        Piece::Field(k) => match &cells[*k] {
                            Some(text) if count => text.push_json(out, &mut classes),
                            Some(text) => text.push_json_uncounted(out),
                            None => {}
                        },
                    }
                }
            },
        );
        out.push(b'}');
        Rendered {
            classes,
            system_tokens: dynamic.as_deref().map_or(0, tokens::estimate),
        }
    }

    /// What [`Source::render`] gives for these cells, without rendering: the line's length
    /// (`base`, the length of the line with an empty id and no cells, plus the id and each
    /// cell as escaped) and its classes. A system prompt with placeholders is rendered.
    fn measure(&self, base: usize, id: &str, cells: &[Option<Text<'_>>]) -> (usize, Rendered) {
        if self.system.is_some() && self.fixed_system.is_none() {
            return with_line(|line| {
                let r = self.render(id, cells, line, true);
                (line.len(), r)
            });
        }
        let mut classes: utf8::Classes = [0; 4];
        let mut len = base + utf8::json_measure_utf8(id, &mut [0; 4]);
        for p in &self.pieces {
            match p {
                Piece::Literal(_, c) => {
                    for (sum, n) in classes.iter_mut().zip(c) {
                        *sum += n;
                    }
                }
                Piece::Field(k) => {
                    if let Some(text) = &cells[*k] {
                        len += text.json_measure(&mut classes);
                    }
                }
            }
        }
        (
            len,
            Rendered {
                classes,
                system_tokens: 0,
            },
        )
    }

    /// Asks the memory for the start of a row's cells (the kernels prefetch the rest as they
    /// go), before the row is rendered.
    fn prefetch_row(&self, row: usize) {
        for &col in &self.field_cols {
            if let Some(Some(t)) = self.table.columns[col].values.get(row) {
                t.prefetch(1024);
            }
        }
    }

    /// A row's cells: cleaned text where there is some, else the table's.
    fn row_cells(&self, row: usize) -> Vec<Option<Text<'_>>> {
        let cleaned = self.cleaned.get(row).filter(|c| !c.is_empty());
        self.cells(row, cleaned.map(Vec::as_slice))
    }

    /// The measure of a record's line from its cells, and the user text's classes.
    fn measure_cells(&self, id: &str, cells: &[Option<Text<'_>>]) -> (Measure, utf8::Classes) {
        let (len, r) = self.measure(self.base, id, cells);
        (
            Measure {
                len,
                input_tokens: tokens::from_classes(r.classes) + self.fixed_tokens + r.system_tokens,
            },
            r.classes,
        )
    }

    /// True when the user text of these cells is empty once trimmed (`classes` are its byte
    /// classes: ASCII other than whitespace settles it; text with none and no other character
    /// is empty; otherwise, all non-ASCII, the rendered text decides).
    fn blank(&self, cells: &[Option<Text<'_>>], classes: utf8::Classes) -> bool {
        let [ascii, space, lead, _] = classes;
        ascii == space
            && (lead == 0 || {
                let mut user = String::new();
                self.user
                    .render_into(&mut user, |name, out| self.push_field(cells, name, out));
                user.trim().is_empty()
            })
    }
}

thread_local! {
    /// Each worker's buffer for the line it renders.
    static LINE: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Runs `f` with this thread's line buffer, emptied; a huge record's buffer is not kept.
fn with_line<T>(f: impl FnOnce(&mut Vec<u8>) -> T) -> T {
    LINE.with_borrow_mut(|line| {
        line.clear();
        let out = f(line);
        if line.capacity() > 1 << 24 {
            *line = Vec::new();
        }
        out
    })
}

/// The recordId rule: 1 to 256 characters from `A-Z a-z 0-9 _ - . : /`. Bedrock documents no
/// pattern (its examples are 11 alphanumerics); these characters survive every step (S3, JSON,
/// CSV, shells) unchanged.
pub fn check_record_id(id: &str) -> Result<(), String> {
    let safe = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':' | b'/');
    if !id.is_empty() && id.len() <= 256 && id.as_bytes().iter().all(safe) {
        return Ok(());
    }
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
pub fn pack<'a>(
    table: Table<'a>,
    ids: Option<&[Option<String>]>,
    prompt: &Prompt,
    model: &ModelInfo,
    invocation: Invocation,
    clean_specs: &[CleanSpec],
    missing: Missing,
) -> Result<Records<'a>, Error> {
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
            let mut seen = foldhash::HashSet::with_capacity_and_hasher(
                out.len(),
                foldhash::fast::RandomState::default(),
            );
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
    // A static system prompt is rendered once, and so are its and the prefill's tokens.
    let fixed_system = prompt
        .system
        .as_ref()
        .filter(|t| t.is_static())
        .map(|t| t.render(|_| ""));
    let fixed_tokens = fixed_system.as_deref().map_or(0, tokens::estimate)
        + prompt
            .settings
            .prefill
            .as_deref()
            .map_or(0, tokens::estimate);
    // The user template's pieces: literals escaped (and their byte classes counted) once,
    // placeholders as the index of their field.
    let pieces: Vec<Piece> = prompt
        .user
        .pieces()
        .map(|p| match p {
            Ok(literal) => {
                let mut escaped = Vec::new();
                crate::json::escaped(&mut escaped, literal);
                Piece::Literal(escaped, crate::simd::byte_classes(literal.as_bytes()))
            }
            Err(name) => Piece::Field(fields.iter().position(|f| *f == name).unwrap_or(0)),
        })
        .collect();
    let fields: Vec<String> = fields.iter().map(|f| (*f).to_string()).collect();
    // A template with text of its own never fills to nothing; another needs every row read.
    let has_text = prompt
        .user
        .pieces()
        .any(|p| p.is_ok_and(|l| l.chars().any(|c| !c.is_whitespace())));
    let mut source = Source {
        table,
        family: model.family,
        invocation,
        settings: prompt.settings.clone(),
        user: prompt.user.clone(),
        pieces,
        system: prompt.system.clone(),
        fixed_system,
        fields,
        field_cols,
        cleaned: Vec::new(),
        base: 0,
        fixed_tokens,
    };
    source.base = with_line(|line| {
        source.render("", &vec![None; source.fields.len()], line, false);
        line.len()
    });
    // A missing value is named (the first in row order) before anything else is read.
    if missing == Missing::Error {
        for (row, id) in ids.iter().enumerate() {
            for (f, &ci) in source.fields.iter().zip(&source.field_cols) {
                if source.table.columns[ci].values[row].is_none() {
                    return Err(Error::InvalidInput(format!(
                        "row {row} (id {id:?}): column {f:?} is missing (None/NaN); fill it, drop the row, or pass missing=\"empty\""
                    )));
                }
            }
        }
    }
    let records: Vec<Record> = ids
        .into_iter()
        .enumerate()
        .map(|(row, id)| Record { id, row })
        .collect();
    let measured = std::sync::OnceLock::new();
    if !clean_specs.is_empty() || !has_text {
        // Every row is read here: its `clean=` cells made and kept, its line measured and
        // checked.
        let src = &source;
        let results: Vec<Result<(Measure, Option<Vec<Option<String>>>), Error>> = records
            .par_iter()
            .with_min_len(16)
            .map_init(String::new, |scratch, rec| {
                let row = rec.row;
                let mut cleaned: Option<Vec<Option<String>>> = None;
                for (k, &ci) in src.field_cols.iter().enumerate() {
                    if let (Some(spec), Some(text)) = (cleaners[ci], &src.table.columns[ci].values[row]) {
                        cleaned.get_or_insert_with(|| vec![None; src.fields.len()])[k] =
                            Some(clean::clean(text.utf8_in(scratch), spec.format, &spec.options));
                    }
                }
                let cells = src.cells(row, cleaned.as_deref());
                let (m, classes) = src.measure_cells(&rec.id, &cells);
                // Bedrock rejects an empty message or inputText; say so now, not in the job.
                if src.blank(&cells, classes) {
                    return Err(Error::InvalidInput(format!(
                        "row {row} (id {:?}): the user prompt is empty once filled (columns {}); drop the row or fill it",
                        rec.id,
                        src.fields.join(", ")
                    )));
                }
                drop(cells);
                Ok((m, cleaned))
            })
            .collect();
        let mut measures = Vec::with_capacity(results.len());
        let mut cleaned = Vec::new();
        for r in results {
            let (m, cells) = r?;
            measures.push(m);
            if let Some(cells) = cells {
                cleaned.resize(measures.len() - 1, Vec::new());
                cleaned.push(cells);
            }
        }
        if !cleaned.is_empty() {
            cleaned.resize(measures.len(), Vec::new());
        }
        source.cleaned = cleaned;
        let _ = measured.set(measures);
    }
    Ok(Records {
        model: model.clone(),
        invocation,
        max_tokens: prompt.settings.max_tokens,
        records,
        source: Arc::new(source),
        measured,
    })
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;
    use std::collections::HashSet;

    use super::*;

    fn prompt(user: &str) -> Prompt {
        Prompt {
            system: None,
            user: Template::parse(user).unwrap(),
            settings: Settings {
                max_tokens: 64,
                temperature: None,
                top_p: None,
                stop_sequences: vec![],
                prefill: None,
                extra: serde_json::Map::new(),
            },
        }
    }

    fn table(cells: &[Option<&'static str>]) -> Table<'static> {
        Table {
            columns: vec![Column {
                name: "text".into(),
                values: cells
                    .iter()
                    .map(|c| c.map(|s| Text::Utf8(Cow::Borrowed(s))))
                    .collect(),
            }],
            rows: cells.len(),
        }
    }

    fn claude() -> ModelInfo {
        model_info("anthropic.claude-3-haiku-20240307-v1:0", None).unwrap()
    }

    fn lines(records: &Records<'_>) -> Vec<serde_json::Value> {
        let jsonl = records.to_jsonl().unwrap();
        std::str::from_utf8(&jsonl)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    #[test]
    fn rows_become_lines_with_ids_and_text() {
        let t = table(&[Some("一つ目 \"quoted\"\n"), Some("second")]);
        let ids = vec![Some("a-1".to_string()), Some("a-2".to_string())];
        let r = pack(
            t,
            Some(&ids),
            &prompt("Summarise: {text}"),
            &claude(),
            Invocation::Invoke,
            &[],
            Missing::Error,
        )
        .unwrap();
        let got = lines(&r);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0]["recordId"], "a-1");
        let input = &got[0]["modelInput"];
        assert_eq!(input["max_tokens"], 64);
        assert_eq!(
            input["messages"][0]["content"],
            "Summarise: 一つ目 \"quoted\"\n"
        );
        assert_eq!(
            got[1]["modelInput"]["messages"][0]["content"],
            "Summarise: second"
        );
        // Each line's measured length is the line as written.
        let jsonl = r.to_jsonl().unwrap();
        let first = jsonl.split(|&b| b == b'\n').next().unwrap();
        assert_eq!(r.measures()[0].len, first.len());
        assert!(r.input_tokens() > 0);
    }

    #[test]
    fn generated_ids_and_exclude() {
        let t = table(&[Some("x"), Some("y"), Some("z")]);
        let r = pack(
            t,
            None,
            &prompt("{text}"),
            &claude(),
            Invocation::Invoke,
            &[],
            Missing::Error,
        )
        .unwrap();
        let ids: Vec<&str> = r.records.iter().map(|x| x.id.as_str()).collect();
        assert_eq!(ids, [generated_id(0), generated_id(1), generated_id(2)]);
        let done: HashSet<String> = [generated_id(1)].into_iter().collect();
        let rest = r.exclude(&done);
        assert_eq!(rest.records.len(), 2);
        let texts: Vec<String> = lines(&rest)
            .iter()
            .map(|l| {
                l["modelInput"]["messages"][0]["content"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        assert_eq!(texts, ["x", "z"]);
    }

    #[test]
    fn missing_cells_and_columns_are_named() {
        let t = table(&[Some("x"), None]);
        let err = pack(
            t,
            None,
            &prompt("{text}"),
            &claude(),
            Invocation::Invoke,
            &[],
            Missing::Error,
        )
        .err()
        .unwrap()
        .to_string();
        assert!(err.contains("text") && err.contains('1'), "{err}");
        let t = table(&[Some("x"), None]);
        let r = pack(
            t,
            None,
            &prompt("Say: {text}"),
            &claude(),
            Invocation::Invoke,
            &[],
            Missing::Empty,
        )
        .unwrap();
        let got = lines(&r);
        assert_eq!(got[1]["modelInput"]["messages"][0]["content"], "Say: ");
        let t = table(&[Some("x")]);
        let err = pack(
            t,
            None,
            &prompt("{body}"),
            &claude(),
            Invocation::Invoke,
            &[],
            Missing::Error,
        )
        .err()
        .unwrap()
        .to_string();
        assert!(err.contains("body"), "{err}");
    }

    #[test]
    fn record_ids_are_checked() {
        assert!(check_record_id("job-1/a_b.c:2").is_ok());
        for bad in ["", "has space", "ü", &"x".repeat(257)] {
            assert!(check_record_id(bad).is_err(), "{bad:?}");
        }
    }
}
