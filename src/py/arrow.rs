//! Arrow columns in and out through the PyCapsule interface (pyo3-arrow): text cells are read
//! in place from the Arrow buffers of a pyarrow, polars, pandas (Arrow-backed) or DuckDB column,
//! never as one Python object per cell, and results go back as Arrow arrays.

use std::borrow::Cow;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Int16Type, Int32Type, Int64Type, Int8Type, UInt16Type, UInt32Type};
use arrow_array::{Array, ArrayRef, LargeStringArray};
use arrow_schema::{DataType, Field};

use crate::error::Error;
use crate::unicode::Text;

/// The cells of one Arrow array as text (`None` for nulls), borrowed from its buffers: string,
/// large_string and string_view read in place; binary kinds when they are UTF-8 (else an error
/// naming the row and `column`); dictionary-encoded text through its dictionary; a null
/// column as all missing. `first_row` numbers the rows in messages. Other types are refused
/// with the column named.
pub fn text_cells<'a>(
    array: &'a ArrayRef,
    column: &str,
    first_row: usize,
) -> Result<Vec<Option<Text<'a>>>, Error> {
    let utf8 = |b: &'a [u8], i: usize| -> Result<Text<'a>, Error> {
        std::str::from_utf8(b)
            .map(|s| Text::Utf8(Cow::Borrowed(s)))
            .map_err(|e| {
                Error::InvalidInput(format!(
                    "row {}: {} holds bytes that are not UTF-8 (byte {} is \\x{:02x}); decode them first",
                    first_row + i,
                    named(column),
                    e.valid_up_to(),
                    b[e.valid_up_to()]
                ))
            })
    };
    let n = array.len();
    let mut out = Vec::with_capacity(n);
    macro_rules! each {
        ($arr:expr, $get:expr) => {{
            let a = $arr;
            for i in 0..n {
                out.push(if a.is_null(i) {
                    None
                } else {
                    Some($get(a, i)?)
                });
            }
        }};
    }
    match array.data_type() {
        DataType::Utf8 => each!(
            array.as_string::<i32>(),
            |a: &'a arrow_array::StringArray, i| {
                Ok::<_, Error>(Text::Utf8(Cow::Borrowed(a.value(i))))
            }
        ),
        DataType::LargeUtf8 => each!(array.as_string::<i64>(), |a: &'a LargeStringArray, i| {
            Ok::<_, Error>(Text::Utf8(Cow::Borrowed(a.value(i))))
        }),
        DataType::Utf8View => {
            each!(
                array.as_string_view(),
                |a: &'a arrow_array::StringViewArray, i| {
                    Ok::<_, Error>(Text::Utf8(Cow::Borrowed(a.value(i))))
                }
            );
        }
        DataType::Binary => each!(
            array.as_binary::<i32>(),
            |a: &'a arrow_array::BinaryArray, i| utf8(a.value(i), i)
        ),
        DataType::LargeBinary => {
            each!(
                array.as_binary::<i64>(),
                |a: &'a arrow_array::LargeBinaryArray, i| utf8(a.value(i), i)
            );
        }
        DataType::BinaryView => {
            each!(
                array.as_binary_view(),
                |a: &'a arrow_array::BinaryViewArray, i| utf8(a.value(i), i)
            );
        }
        DataType::Null => out.resize(n, None),
        DataType::Dictionary(key, value) if is_text(value) => {
            macro_rules! dict {
                ($k:ty) => {{
                    let d = array.as_dictionary::<$k>();
                    let values = text_cells(d.values(), column, 0)?;
                    for i in 0..n {
                        out.push(if d.is_null(i) {
                            None
                        } else {
                            let k = d.keys().value(i) as usize;
                            values.get(k).cloned().flatten()
                        });
                    }
                }};
            }
            match key.as_ref() {
                DataType::Int8 => dict!(Int8Type),
                DataType::Int16 => dict!(Int16Type),
                DataType::Int32 => dict!(Int32Type),
                DataType::Int64 => dict!(Int64Type),
                DataType::UInt16 => dict!(UInt16Type),
                DataType::UInt32 => dict!(UInt32Type),
                other => {
                    return Err(refused(
                        column,
                        &DataType::Dictionary(Box::new(other.clone()), value.clone()),
                    ))
                }
            }
        }
        other => return Err(refused(column, other)),
    }
    Ok(out)
}

fn is_text(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Utf8
            | DataType::LargeUtf8
            | DataType::Utf8View
            | DataType::Binary
            | DataType::LargeBinary
            | DataType::BinaryView
    )
}

fn refused(column: &str, t: &DataType) -> Error {
    Error::InvalidType(format!(
        "{} is Arrow {t}, not text (string, large_string or string_view); cast it to a string column first",
        named(column)
    ))
}

/// `column "x"`, or `the column` for an unnamed array.
fn named(column: &str) -> String {
    if column.is_empty() {
        "the column".to_string()
    } else {
        format!("column {column:?}")
    }
}

/// Texts as an Arrow `large_string` array (nulls where `None`), with its field.
pub fn large_strings(values: &[Option<String>], name: &str) -> (ArrayRef, Arc<Field>) {
    let bytes = values.iter().flatten().map(String::len).sum();
    let mut b = arrow_array::builder::LargeStringBuilder::with_capacity(values.len(), bytes);
    for v in values {
        match v {
            Some(s) => b.append_value(s),
            None => b.append_null(),
        }
    }
    let array: ArrayRef = Arc::new(b.finish());
    let field = Arc::new(Field::new(name, DataType::LargeUtf8, true));
    (array, field)
}

/// The cells of an Arrow id column as recordIds: text as it is, integers in decimal; other
/// types are refused with the column named.
pub fn id_cells(
    array: &ArrayRef,
    column: &str,
    first_row: usize,
) -> Result<Vec<Option<String>>, Error> {
    use arrow_array::types::{UInt64Type, UInt8Type};
    macro_rules! ints {
        ($t:ty) => {{
            let a = array.as_primitive::<$t>();
            Ok((0..a.len())
                .map(|i| (!a.is_null(i)).then(|| a.value(i).to_string()))
                .collect())
        }};
    }
    match array.data_type() {
        DataType::Int8 => ints!(Int8Type),
        DataType::Int16 => ints!(Int16Type),
        DataType::Int32 => ints!(Int32Type),
        DataType::Int64 => ints!(Int64Type),
        DataType::UInt8 => ints!(UInt8Type),
        DataType::UInt16 => ints!(UInt16Type),
        DataType::UInt32 => ints!(UInt32Type),
        DataType::UInt64 => ints!(UInt64Type),
        _ => Ok(text_cells(array, column, first_row)
            .map_err(|_| {
                Error::InvalidType(format!(
                    "id column {column:?} is Arrow {}: ids must be text or integers",
                    array.data_type()
                ))
            })?
            .into_iter()
            .map(|t| t.map(|t| t.utf8().into_owned()))
            .collect()),
    }
}
