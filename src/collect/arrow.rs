//! Results as Arrow record batches, their storage once collected: text as `large_string`,
//! counts as `int64`, each schema field as the Arrow type its values share (text, integer,
//! float or boolean), else its values' JSON text (the field's metadata says
//! `bedrock_batch.json`), embeddings as lists of floats.
//!
//! Each block of output lines becomes a [`Chunk`] of columns as soon as it is parsed, on the
//! thread that parsed it, so a million answers are never held as a million heap strings. When
//! the rows keep the order they were read in, each chunk is one record batch as it is.

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::builder::{Float64Builder, Int64Builder, LargeStringBuilder, ListBuilder};
use arrow_array::{new_null_array, Array, ArrayRef, LargeStringArray, RecordBatch};
use arrow_schema::{DataType, Field as ArrowField, Schema, SchemaRef};
use serde_json::Value;

use super::{Field, Kept, Row};
use crate::error::Error;

/// Field metadata marking a column of JSON text (values that are not all one scalar type).
pub const JSON_META: &str = "bedrock_batch.json";

/// A schema field's values in one chunk: its strings in place, anything else (not null) aside.
struct FieldChunk {
    strings: LargeStringArray,
    others: Vec<(usize, Value)>,
}

/// The answers of one block of lines, as columns; rows point into it by index.
pub(crate) struct Chunk {
    len: usize,
    text: ArrayRef,
    stop_reason: ArrayRef,
    error_code: ArrayRef,
    error_message: ArrayRef,
    fields: Vec<FieldChunk>,
    json: Option<ArrayRef>,
    embedding: Option<ArrayRef>,
}

/// A string column from each row's slot, the strings dropped as they are copied.
fn take_strings(rows: &mut [Row], slot: impl Fn(&mut Row) -> &mut Option<String>) -> ArrayRef {
    let bytes = rows
        .iter_mut()
        .map(|r| slot(r).as_ref().map_or(0, String::len))
        .sum();
    let mut b = LargeStringBuilder::with_capacity(rows.len(), bytes);
    for r in rows {
        b.append_option(slot(r).take());
    }
    Arc::new(b.finish())
}

fn embedding_type() -> DataType {
    DataType::List(Arc::new(ArrowField::new("item", DataType::Float64, true)))
}

impl Chunk {
    /// Moves the rows' answers into columns, leaving each row only its light part.
    pub(crate) fn take(rows: &mut [Row], schema_len: usize) -> Chunk {
        let fields = (0..schema_len)
            .map(|i| {
                let mut others = Vec::new();
                let bytes = rows
                    .iter()
                    .filter_map(|r| r.fields.get(i).and_then(Option::as_ref))
                    .filter_map(Value::as_str)
                    .map(str::len)
                    .sum();
                let mut b = LargeStringBuilder::with_capacity(rows.len(), bytes);
                for (slot, r) in rows.iter_mut().enumerate() {
                    match r.fields.get_mut(i).and_then(Option::take) {
                        Some(Value::String(s)) => b.append_value(s),
                        Some(Value::Null) | None => b.append_null(),
                        Some(v) => {
                            others.push((slot, v));
                            b.append_null();
                        }
                    }
                }
                FieldChunk {
                    strings: b.finish(),
                    others,
                }
            })
            .collect();
        let json = rows.iter().any(|r| r.json.is_some()).then(|| {
            let mut b = LargeStringBuilder::new();
            for r in rows.iter_mut() {
                b.append_option(r.json.take().map(|v| v.to_string()));
            }
            Arc::new(b.finish()) as ArrayRef
        });
        let embedding = rows.iter().any(|r| r.embedding.is_some()).then(|| {
            let mut b = ListBuilder::new(Float64Builder::new());
            for r in rows.iter_mut() {
                match r.embedding.take() {
                    Some(e) => {
                        b.values().append_slice(&e);
                        b.append(true);
                    }
                    None => b.append(false),
                }
            }
            Arc::new(b.finish()) as ArrayRef
        });
        Chunk {
            len: rows.len(),
            text: take_strings(rows, |r| &mut r.text),
            stop_reason: take_strings(rows, |r| &mut r.stop_reason),
            error_code: take_strings(rows, |r| &mut r.error_code),
            error_message: take_strings(rows, |r| &mut r.error_message),
            fields,
            json,
            embedding,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Typed {
    Str,
    Bool,
    Int,
    Float,
    Json,
}

/// The Arrow type a schema field's values share across every chunk.
fn field_type(chunks: &[Chunk], i: usize) -> Typed {
    let strings = chunks
        .iter()
        .any(|c| c.fields[i].strings.null_count() < c.len);
    let mut others = chunks
        .iter()
        .flat_map(|c| c.fields[i].others.iter())
        .map(|(_, v)| v);
    if others.clone().next().is_none() {
        return Typed::Str;
    }
    if strings {
        return Typed::Json;
    }
    if others.clone().all(Value::is_boolean) {
        Typed::Bool
    } else if others.clone().all(|v| v.as_i64().is_some()) {
        Typed::Int
    } else if others.all(Value::is_number) {
        Typed::Float
    } else {
        Typed::Json
    }
}

/// One chunk's column of a schema field, as `t`.
fn field_array(f: FieldChunk, len: usize, t: Typed) -> ArrayRef {
    if t == Typed::Str {
        return Arc::new(f.strings);
    }
    let mut at: Vec<Option<Value>> = vec![None; len];
    for (slot, v) in f.others {
        at[slot] = Some(v);
    }
    match t {
        Typed::Bool => Arc::new(
            at.iter()
                .map(|v| v.as_ref().and_then(Value::as_bool))
                .collect::<arrow_array::BooleanArray>(),
        ),
        Typed::Int => Arc::new(
            at.iter()
                .map(|v| v.as_ref().and_then(Value::as_i64))
                .collect::<arrow_array::Int64Array>(),
        ),
        Typed::Float => Arc::new(
            at.iter()
                .map(|v| v.as_ref().and_then(Value::as_f64))
                .collect::<arrow_array::Float64Array>(),
        ),
        Typed::Str | Typed::Json => {
            let mut b = LargeStringBuilder::with_capacity(len, 0);
            for (slot, v) in at.iter().enumerate() {
                if let Some(v) = v {
                    b.append_value(v.to_string());
                } else if f.strings.is_valid(slot) {
                    b.append_value(Value::from(f.strings.value(slot)).to_string());
                } else {
                    b.append_null();
                }
            }
            Arc::new(b.finish())
        }
    }
}

fn strings<'a>(rows: &'a [Kept], get: impl Fn(&'a Kept) -> &'a str) -> ArrayRef {
    let bytes = rows.iter().map(|r| get(r).len()).sum();
    let mut b = LargeStringBuilder::with_capacity(rows.len(), bytes);
    for r in rows {
        b.append_value(get(r));
    }
    Arc::new(b.finish())
}

fn ints(rows: &[Kept], get: impl Fn(&Kept) -> Option<i64>) -> ArrayRef {
    let mut b = Int64Builder::with_capacity(rows.len());
    for r in rows {
        b.append_option(get(r));
    }
    Arc::new(b.finish())
}

/// A column made of one array per chunk, plus the values of the rows no chunk holds (records
/// with no output line).
struct Heavy {
    field: ArrowField,
    chunks: Vec<ArrayRef>,
    own: ArrayRef,
}

enum Col {
    Light(ArrowField, ArrayRef),
    Heavy(Heavy),
}

/// The results as record batches, columns in the order `columns()` gives them: one batch per
/// chunk when the rows are in the order read (nothing copied), else one batch.
pub(crate) fn into_batches(
    rows: &[Kept],
    chunks: Vec<Chunk>,
    schema: &[Field],
    attempts: bool,
) -> Result<(SchemaRef, Vec<RecordBatch>), Error> {
    let own_rows: Vec<usize> = (0..rows.len()).filter(|&i| rows[i].at.is_none()).collect();
    let n_own = own_rows.len();
    let plain = |name: &str, t: DataType| ArrowField::new(name, t, true);
    let nulls = |t: &DataType| new_null_array(t, n_own);
    let lens: Vec<usize> = chunks.iter().map(|c| c.len).collect();
    let types: Vec<Option<Typed>> = (0..schema.len())
        .map(|i| {
            let repeated = schema[..i].iter().any(|g| g.name == schema[i].name);
            (!repeated).then(|| field_type(&chunks, i))
        })
        .collect();
    let any_json = schema.is_empty() && chunks.iter().any(|c| c.json.is_some());
    let any_embedding = chunks.iter().any(|c| c.embedding.is_some());

    // Per column, each chunk's array (the chunks taken apart as they are read).
    let mut text = Vec::new();
    let mut stop = Vec::new();
    let mut code = Vec::new();
    let mut message = Vec::new();
    let mut field_cols: Vec<Vec<ArrayRef>> = vec![Vec::new(); schema.len()];
    let mut json = Vec::new();
    let mut embedding = Vec::new();
    for c in chunks {
        text.push(c.text);
        stop.push(c.stop_reason);
        code.push(c.error_code);
        message.push(c.error_message);
        for (i, f) in c.fields.into_iter().enumerate() {
            if let Some(t) = types[i] {
                field_cols[i].push(field_array(f, c.len, t));
            }
        }
        if any_json {
            json.push(
                c.json
                    .unwrap_or_else(|| new_null_array(&DataType::LargeUtf8, c.len)),
            );
        }
        if any_embedding {
            embedding.push(
                c.embedding
                    .unwrap_or_else(|| new_null_array(&embedding_type(), c.len)),
            );
        }
    }
    let repeat = |s: &str| -> ArrayRef {
        Arc::new(LargeStringArray::from_iter_values(std::iter::repeat_n(
            s, n_own,
        )))
    };
    let mut heavy: Vec<Heavy> = vec![Heavy {
        field: plain("text", DataType::LargeUtf8),
        chunks: text,
        own: nulls(&DataType::LargeUtf8),
    }];
    for (i, f) in schema.iter().enumerate() {
        let Some(t) = types[i] else { continue };
        let dt = match t {
            Typed::Bool => DataType::Boolean,
            Typed::Int => DataType::Int64,
            Typed::Float => DataType::Float64,
            Typed::Str | Typed::Json => DataType::LargeUtf8,
        };
        let mut field = plain(&f.name, dt.clone());
        if t == Typed::Json {
            field = field.with_metadata(HashMap::from([(JSON_META.to_string(), "1".to_string())]));
        }
        heavy.push(Heavy {
            field,
            chunks: std::mem::take(&mut field_cols[i]),
            own: nulls(&dt),
        });
    }
    heavy.push(Heavy {
        field: plain("stop_reason", DataType::LargeUtf8),
        chunks: stop,
        own: nulls(&DataType::LargeUtf8),
    });
    // Light columns come from the rows; `None` marks where the heavy ones go.
    let count = |v: Option<u64>| v.map(|n| i64::try_from(n).unwrap_or(i64::MAX));
    let mut light: Vec<(ArrowField, ArrayRef)> = vec![
        (
            plain("recordId", DataType::LargeUtf8),
            strings(rows, |r| r.record_id.as_str()),
        ),
        (
            plain("status", DataType::LargeUtf8),
            strings(rows, |r| r.status.name()),
        ),
    ];
    if attempts {
        light.push((
            plain("attempts", DataType::Int64),
            ints(rows, |r| Some(i64::from(r.attempts))),
        ));
    }
    let tokens_in = ints(rows, |r| count(r.input_tokens));
    let tokens_out = ints(rows, |r| count(r.output_tokens));
    let mut tail_heavy: Vec<Heavy> = vec![
        Heavy {
            field: plain("error_code", DataType::LargeUtf8),
            chunks: code,
            own: repeat("missing"),
        },
        Heavy {
            field: plain("error_message", DataType::LargeUtf8),
            chunks: message,
            own: repeat("no output line for this record"),
        },
    ];
    if any_embedding {
        tail_heavy.push(Heavy {
            field: plain("embedding", embedding_type()),
            chunks: embedding,
            own: nulls(&embedding_type()),
        });
    }
    if any_json {
        let mut field = plain("json", DataType::LargeUtf8);
        field = field.with_metadata(HashMap::from([(JSON_META.to_string(), "1".to_string())]));
        tail_heavy.push(Heavy {
            field,
            chunks: json,
            own: nulls(&DataType::LargeUtf8),
        });
    }
    let tail_light: Vec<(ArrowField, ArrayRef)> = vec![
        (
            plain("file", DataType::LargeUtf8),
            strings(rows, |r| &r.file),
        ),
        (
            plain("line", DataType::Int64),
            ints(rows, |r| Some(i64::try_from(r.line).unwrap_or(i64::MAX))),
        ),
    ];
    let middle_light = [
        (plain("input_tokens", DataType::Int64), tokens_in),
        (plain("output_tokens", DataType::Int64), tokens_out),
    ];

    // The column order: light head, heavy (text, fields, stop_reason), tokens, heavy tail,
    // light tail.
    let mut cols: Vec<Col> = Vec::new();
    cols.extend(light.into_iter().map(|(f, a)| Col::Light(f, a)));
    cols.extend(heavy.into_iter().map(Col::Heavy));
    cols.extend(middle_light.into_iter().map(|(f, a)| Col::Light(f, a)));
    cols.extend(tail_heavy.into_iter().map(Col::Heavy));
    cols.extend(tail_light.into_iter().map(|(f, a)| Col::Light(f, a)));
    let schema_ref: SchemaRef = Arc::new(Schema::new(
        cols.iter()
            .map(|c| match c {
                Col::Light(f, _) => f.clone(),
                Col::Heavy(h) => h.field.clone(),
            })
            .collect::<Vec<_>>(),
    ));
    let err = |e: arrow_schema::ArrowError| Error::InvalidInput(format!("results as Arrow: {e}"));

    // In the order read: every row is the next one of its chunk.
    let mut expect = (0usize, 0usize);
    let in_order = n_own == 0
        && rows.len() == lens.iter().sum::<usize>()
        && rows.iter().all(|r| {
            while expect.0 < lens.len() && expect.1 == lens[expect.0] {
                expect = (expect.0 + 1, 0);
            }
            let ok = r.at == Some((expect.0 as u32, expect.1 as u32));
            expect.1 += 1;
            ok
        });
    if in_order {
        let mut batches = Vec::new();
        let mut offset = 0usize;
        for (k, &len) in lens.iter().enumerate() {
            if len == 0 {
                continue;
            }
            let columns = cols
                .iter()
                .map(|c| match c {
                    Col::Light(_, a) => a.slice(offset, len),
                    Col::Heavy(h) => h.chunks[k].clone(),
                })
                .collect();
            batches.push(RecordBatch::try_new(schema_ref.clone(), columns).map_err(err)?);
            offset += len;
        }
        if batches.is_empty() {
            batches.push(RecordBatch::new_empty(schema_ref.clone()));
        }
        return Ok((schema_ref, batches));
    }
    // Reordered, merged or with missing records: each column copied into place, its chunks
    // dropped once it is built.
    let own_slot: HashMap<usize, usize> =
        own_rows.iter().enumerate().map(|(k, &i)| (i, k)).collect();
    let n_chunks = lens.len();
    let indices: Vec<(usize, usize)> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| match r.at {
            Some((c, s)) => (c as usize, s as usize),
            None => (n_chunks, own_slot[&i]),
        })
        .collect();
    let mut columns = Vec::with_capacity(cols.len());
    for c in cols {
        columns.push(match c {
            Col::Light(_, a) => a,
            Col::Heavy(h) => {
                let mut parts: Vec<&dyn Array> = h.chunks.iter().map(AsRef::as_ref).collect();
                parts.push(h.own.as_ref());
                arrow_select::interleave::interleave(&parts, &indices).map_err(err)?
            }
        });
    }
    let batch = RecordBatch::try_new(schema_ref.clone(), columns).map_err(err)?;
    Ok((schema_ref, vec![batch]))
}
