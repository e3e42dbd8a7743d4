//! Results as one Arrow record batch: text as `large_string`, counts as `int64`, each schema
//! field as the Arrow type its values share (text, integer, float or boolean), else its values'
//! JSON text (the field's metadata says `bedrock_batch.json`), embeddings as lists of floats.

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::builder::{
    BooleanBuilder, Float64Builder, Int64Builder, LargeStringBuilder, ListBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use serde_json::Value;

use super::{Results, Row};
use crate::error::Error;

/// Field metadata marking a column of JSON text (values that are not all one scalar type).
pub const JSON_META: &str = "bedrock_batch.json";

fn strings<'a>(rows: &'a [Row], get: impl Fn(&'a Row) -> Option<&'a str>) -> ArrayRef {
    let bytes = rows.iter().filter_map(&get).map(str::len).sum();
    let mut b = LargeStringBuilder::with_capacity(rows.len(), bytes);
    for r in rows {
        b.append_option(get(r));
    }
    Arc::new(b.finish())
}

fn ints(rows: &[Row], get: impl Fn(&Row) -> Option<i64>) -> ArrayRef {
    let mut b = Int64Builder::with_capacity(rows.len());
    for r in rows {
        b.append_option(get(r));
    }
    Arc::new(b.finish())
}

/// A schema field's column: the Arrow type all its values share, else JSON text.
fn field_column(rows: &[Row], i: usize) -> (ArrayRef, DataType, bool) {
    let values = || {
        rows.iter()
            .map(move |r| r.fields.get(i).and_then(Option::as_ref))
    };
    let all = |f: fn(&Value) -> bool| values().all(|v| v.is_none_or(|v| v.is_null() || f(v)));
    if all(Value::is_string) {
        let col = strings(rows, |r| {
            r.fields
                .get(i)
                .and_then(Option::as_ref)
                .and_then(Value::as_str)
        });
        return (col, DataType::LargeUtf8, false);
    }
    if all(Value::is_boolean) {
        let mut b = BooleanBuilder::with_capacity(rows.len());
        for v in values() {
            b.append_option(v.and_then(Value::as_bool));
        }
        return (Arc::new(b.finish()), DataType::Boolean, false);
    }
    if all(|v| v.as_i64().is_some()) {
        let mut b = Int64Builder::with_capacity(rows.len());
        for v in values() {
            b.append_option(v.and_then(Value::as_i64));
        }
        return (Arc::new(b.finish()), DataType::Int64, false);
    }
    if all(Value::is_number) {
        let mut b = Float64Builder::with_capacity(rows.len());
        for v in values() {
            b.append_option(v.and_then(Value::as_f64));
        }
        return (Arc::new(b.finish()), DataType::Float64, false);
    }
    let texts: Vec<Option<String>> = values()
        .map(|v| v.filter(|v| !v.is_null()).map(Value::to_string))
        .collect();
    let mut b = LargeStringBuilder::with_capacity(rows.len(), 0);
    for t in &texts {
        b.append_option(t.as_deref());
    }
    (Arc::new(b.finish()), DataType::LargeUtf8, true)
}

/// The results as one record batch, columns in the order `columns()` gives them.
pub fn record_batch(results: &Results) -> Result<RecordBatch, Error> {
    let rows = &results.rows;
    let mut fields: Vec<Field> = Vec::new();
    let mut columns: Vec<ArrayRef> = Vec::new();
    let mut push = |name: &str, col: ArrayRef, t: DataType, json: bool| {
        let mut f = Field::new(name, t, true);
        if json {
            f = f.with_metadata(HashMap::from([(JSON_META.to_string(), "1".to_string())]));
        }
        fields.push(f);
        columns.push(col);
    };
    push(
        "recordId",
        strings(rows, |r| Some(r.record_id.as_str())),
        DataType::LargeUtf8,
        false,
    );
    push(
        "status",
        strings(rows, |r| Some(r.status.name())),
        DataType::LargeUtf8,
        false,
    );
    if results.attempts {
        push(
            "attempts",
            ints(rows, |r| Some(i64::from(r.attempts))),
            DataType::Int64,
            false,
        );
    }
    push(
        "text",
        strings(rows, |r| r.text.as_deref()),
        DataType::LargeUtf8,
        false,
    );
    for (i, f) in results.schema.iter().enumerate() {
        if results.schema[..i].iter().any(|g| g.name == f.name) {
            continue; // a key the schema repeats is one column
        }
        let (col, t, json) = field_column(rows, i);
        push(&f.name, col, t, json);
    }
    push(
        "stop_reason",
        strings(rows, |r| r.stop_reason.as_deref()),
        DataType::LargeUtf8,
        false,
    );
    let count = |v: Option<u64>| v.map(|n| i64::try_from(n).unwrap_or(i64::MAX));
    push(
        "input_tokens",
        ints(rows, |r| count(r.input_tokens)),
        DataType::Int64,
        false,
    );
    push(
        "output_tokens",
        ints(rows, |r| count(r.output_tokens)),
        DataType::Int64,
        false,
    );
    push(
        "error_code",
        strings(rows, |r| r.error_code.as_deref()),
        DataType::LargeUtf8,
        false,
    );
    push(
        "error_message",
        strings(rows, |r| r.error_message.as_deref()),
        DataType::LargeUtf8,
        false,
    );
    if rows.iter().any(|r| r.embedding.is_some()) {
        let mut b = ListBuilder::new(Float64Builder::new());
        for r in rows {
            match &r.embedding {
                Some(e) => {
                    b.values().append_slice(e);
                    b.append(true);
                }
                None => b.append(false),
            }
        }
        let t = DataType::List(Arc::new(Field::new("item", DataType::Float64, true)));
        push("embedding", Arc::new(b.finish()), t, false);
    }
    if results.schema.is_empty() && rows.iter().any(|r| r.json.is_some()) {
        let texts: Vec<Option<String>> = rows
            .iter()
            .map(|r| r.json.as_ref().map(Value::to_string))
            .collect();
        let mut b = LargeStringBuilder::new();
        for t in &texts {
            b.append_option(t.as_deref());
        }
        push("json", Arc::new(b.finish()), DataType::LargeUtf8, true);
    }
    push(
        "file",
        strings(rows, |r| Some(&*r.file)),
        DataType::LargeUtf8,
        false,
    );
    push(
        "line",
        ints(rows, |r| Some(i64::try_from(r.line).unwrap_or(i64::MAX))),
        DataType::Int64,
        false,
    );
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
        .map_err(|e| Error::InvalidInput(format!("results as Arrow: {e}")))
}
