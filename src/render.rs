//! The inverse of the parser: a converted row printed back as HAProxy would print it,
//! with the same plan. Round-trip tests hold the parser to it: for a line HAProxy
//! writes, parse → render gives the line back.
//!
//! Dates are printed in UTC (render with the zone the rows were parsed with: UTC).

use std::fmt::Write as _;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{DataType, Int32Type, UInt8Type};
use chrono::DateTime;

use crate::parse::plan::{FieldParse, FieldStep, Plan, Step};
use crate::parse::value::encode_hash_escapes;
use crate::schema::Col;

/// Appends row `row` of `batch`, printed with `plan`, to `out` (no newline).
pub fn render_row(plan: &Plan, batch: &RecordBatch, row: usize, out: &mut Vec<u8>) {
    let mut printed_since_separator = false;
    let mut field_text = Vec::new();
    for step in &plan.steps {
        match step {
            Step::Literal(bytes) => {
                out.extend_from_slice(bytes);
                printed_since_separator = true;
            }
            Step::Separator => {
                if printed_since_separator {
                    out.push(b' ');
                    printed_since_separator = false;
                }
            }
            Step::Field(field) => {
                field_text.clear();
                render_field(field, batch, row, &mut field_text);
                if !field_text.is_empty() {
                    out.extend_from_slice(&field_text);
                    printed_since_separator = true;
                }
            }
        }
    }
}

fn render_field(field: &FieldStep, batch: &RecordBatch, row: usize, out: &mut Vec<u8>) {
    use FieldParse::*;
    let column = batch.column(field.column);
    let col = |c: Col| batch.column(c.index()).as_ref();
    let flag = |c: Col| bool_at(col(c), row).unwrap_or(false);
    let mut text = String::new();
    match field.parse {
        Text | Address => quoted_text(field, text_at(column, row).as_deref(), false, out),
        EncodedText => quoted_text(field, text_at(column, row).as_deref(), true, out),
        Target => quoted_text(field, target(batch, row, true).as_deref(), true, out),
        PathWithAuthority => quoted_text(field, target(batch, row, false).as_deref(), true, out),
        Query => {
            if let Some(query) = text_at(column, row) {
                quoted_text(field, Some(&format!("?{query}")), true, out);
            }
        }
        Request => {
            let request = text_at(column, row).or_else(|| rebuilt_request(batch, row));
            quoted_text(field, Some(request.as_deref().unwrap_or("<BADREQ>")), true, out);
        }
        Port | Counter | Integer => match int_at(column, row) {
            Some(v) if field.hex && field.parse != Integer => {
                let _ = write!(text, "{v:04X}");
                out.extend_from_slice(text.as_bytes());
            }
            Some(v) => {
                let _ = write!(text, "{v}");
                out.extend_from_slice(text.as_bytes());
            }
            None => out.push(b'-'),
        },
        Millis => {
            let _ = write!(text, "{:03}", int_at(column, row).unwrap_or(0));
            out.extend_from_slice(text.as_bytes());
        }
        Timer | Bytes => {
            // HAProxy marks the totals and the byte count under logasap, not the steps.
            if flag(Col::Logasap) && matches!(field.label, "Ta" | "Tt" | "Tu" | "B") {
                out.push(b'+');
            }
            let _ = write!(text, "{}", int_at(column, row).unwrap_or(-1));
            out.extend_from_slice(text.as_bytes());
        }
        Retries => {
            if flag(Col::Redispatched) {
                out.push(b'+');
            }
            let _ = write!(text, "{}", int_at(column, row).unwrap_or(0));
            out.extend_from_slice(text.as_bytes());
        }
        LocalDate | OffsetDate | Epoch => {
            let ms = time_at(column, row).unwrap_or(0);
            let time = DateTime::from_timestamp_millis(ms).expect("timestamp in range");
            let _ = match field.parse {
                LocalDate => write!(text, "{}", time.format("%d/%b/%Y:%H:%M:%S%.3f")),
                OffsetDate => write!(text, "{} +0000", time.format("%d/%b/%Y:%H:%M:%S")),
                _ => write!(text, "{}", ms.div_euclid(1000)),
            };
            out.extend_from_slice(text.as_bytes());
        }
        FrontendTransport => {
            let mut name = text_at(column, row).unwrap_or_default();
            if flag(Col::FrontendTls) {
                name.push('~');
            }
            quoted_text(field, Some(&name), false, out);
        }
        TermState(_) => out.extend_from_slice(text_at(column, row).unwrap_or_default().as_bytes()),
        CaptureBlock => {
            if let Some(items) = list_at(column, row) {
                out.push(b'{');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(b'|');
                    }
                    encode_hash_escapes(item.as_deref().unwrap_or("").as_bytes(), true, out);
                }
                out.push(b'}');
            }
        }
        CaptureSlots => {
            for (i, item) in list_at(column, row).unwrap_or_default().iter().enumerate() {
                if i > 0 {
                    out.push(b' ');
                }
                match (item, field.quoted) {
                    (Some(value), true) => {
                        out.push(b'"');
                        encode_hash_escapes(value.as_bytes(), true, out);
                        out.push(b'"');
                    }
                    (None, true) => out.extend_from_slice(b"\"\""),
                    (Some(value), false) => encode_hash_escapes(value.as_bytes(), true, out),
                    (None, false) => out.push(b'-'),
                }
            }
        }
        Flag => match bool_at(column, row) {
            Some(v) => out.push(if v { b'1' } else { b'0' }),
            None => out.push(b'-'),
        },
    }
}

/// A text item as HAProxy prints it: `-` when missing (`""` under `Q`).
/// The request target from its parts: `uri_origin`, `path`, then `?query` if wanted.
fn target(batch: &RecordBatch, row: usize, with_query: bool) -> Option<String> {
    let part = |c: Col| text_at(batch.column(c.index()).as_ref(), row);
    let query = if with_query { part(Col::Query) } else { None };
    let (origin, path) = (part(Col::UriOrigin), part(Col::Path));
    if origin.is_none() && path.is_none() && query.is_none() {
        return None;
    }
    let mut text = origin.unwrap_or_default() + &path.unwrap_or_default();
    if let Some(query) = query {
        text.push('?');
        text.push_str(&query);
    }
    Some(text)
}

/// `method SP target [SP version]`: what a null `request_line` stands for.
fn rebuilt_request(batch: &RecordBatch, row: usize) -> Option<String> {
    let method = text_at(batch.column(Col::Method.index()).as_ref(), row)?;
    let mut text = format!("{method} {}", target(batch, row, true).unwrap_or_default());
    if let Some(version) = text_at(batch.column(Col::HttpVersion.index()).as_ref(), row) {
        text.push(' ');
        text.push_str(&version);
    }
    Some(text)
}

fn quoted_text(field: &FieldStep, value: Option<&str>, encoded: bool, out: &mut Vec<u8>) {
    if field.quoted {
        out.push(b'"');
    }
    match value {
        Some(v) if encoded => encode_hash_escapes(v.as_bytes(), false, out),
        Some(v) => out.extend_from_slice(v.as_bytes()),
        None if !field.quoted => out.push(b'-'),
        None => {}
    }
    if field.quoted {
        out.push(b'"');
    }
}

fn text_at(array: &dyn Array, row: usize) -> Option<String> {
    if array.is_null(row) {
        return None;
    }
    Some(match array.data_type() {
        DataType::Utf8 => array.as_string::<i32>().value(row).to_string(),
        DataType::Dictionary(key, _) if **key == DataType::Int32 => {
            let dictionary = array.as_dictionary::<Int32Type>();
            let key = dictionary.keys().value(row) as usize;
            dictionary.values().as_string::<i32>().value(key).to_string()
        }
        DataType::Dictionary(_, _) => {
            let dictionary = array.as_dictionary::<UInt8Type>();
            let key = dictionary.keys().value(row) as usize;
            dictionary.values().as_string::<i32>().value(key).to_string()
        }
        other => unreachable!("text column of type {other}"),
    })
}

fn int_at(array: &dyn Array, row: usize) -> Option<i64> {
    if array.is_null(row) {
        return None;
    }
    use arrow::datatypes::{Int16Type, Int64Type, UInt64Type};
    Some(match array.data_type() {
        DataType::Int16 => array.as_primitive::<Int16Type>().value(row) as i64,
        DataType::Int32 => array.as_primitive::<Int32Type>().value(row) as i64,
        DataType::Int64 => array.as_primitive::<Int64Type>().value(row),
        DataType::UInt64 => array.as_primitive::<UInt64Type>().value(row) as i64,
        other => unreachable!("integer column of type {other}"),
    })
}

fn bool_at(array: &dyn Array, row: usize) -> Option<bool> {
    (!array.is_null(row)).then(|| array.as_boolean().value(row))
}

fn time_at(array: &dyn Array, row: usize) -> Option<i64> {
    use arrow::datatypes::TimestampMillisecondType;
    (!array.is_null(row)).then(|| array.as_primitive::<TimestampMillisecondType>().value(row))
}

fn list_at(array: &dyn Array, row: usize) -> Option<Vec<Option<String>>> {
    if array.is_null(row) {
        return None;
    }
    let items = array.as_list::<i32>().value(row);
    let strings = items.as_string::<i32>();
    Some((0..strings.len()).map(|i| (!strings.is_null(i)).then(|| strings.value(i).to_string())).collect())
}
