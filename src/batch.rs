//! Rows into Arrow record batches: one builder per column, chosen once from the
//! column's kind, fed straight from the line's bytes.
//!
//! A row only touches the columns its format fills; the others catch up with one bulk
//! `append_nulls` when next written or when the batch is finished.

use std::fmt::Write as _;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use arrow::array::{ArrayBuilder, AsArray, NullBufferBuilder};
use arrow::array::{
    ArrayRef, BinaryBuilder, BooleanBuilder, DictionaryArray, Int16Builder, Int32Array, Int32Builder, Int64Builder,
    ListArray, ListBuilder, StringArray, StringBuilder, TimestampMicrosecondBuilder, TimestampMillisecondBuilder,
    UInt8Builder, UInt64Builder,
};
use arrow::datatypes::{DataType, Field, Int32Type, SchemaRef, UInt8Type};
use arrow::error::ArrowError;
use arrow::record_batch::{RecordBatch, RecordBatchOptions};

use crate::parse::termination;
use crate::parse::value::{Row, Value, capture_slots, decode_hash_escapes};
use crate::schema::{ColumnKind, ColumnSpec, arrow_schema};

/// DataFusion's default batch size: batches of it flow through without re-chunking.
pub const BATCH_ROWS: usize = 8192;

/// Text columns are built as bytes and checked as UTF-8 once per batch (one pass over
/// the whole buffer), not once per value: values come from lines that are ASCII, or were
/// checked or repaired one by one when the line is not.
enum Builder {
    Utf8(BinaryBuilder),
    Dictionary(DictionaryColumn),
    TerminationChar(u8, UInt8Builder),
    Boolean(BooleanBuilder),
    Int16(Int16Builder),
    Int32(Int32Builder),
    Int64(Int64Builder),
    UInt64(UInt64Builder),
    TimestampMillis(TimestampMillisecondBuilder),
    TimestampMicros(TimestampMicrosecondBuilder),
    Utf8List(ListBuilder<BinaryBuilder>),
}

impl Builder {
    /// `text_bytes`: room for the text of `capacity` values, for text columns.
    fn new(kind: ColumnKind, capacity: usize, text_bytes: usize) -> Builder {
        match kind {
            ColumnKind::Utf8 => Builder::Utf8(BinaryBuilder::with_capacity(capacity, text_bytes)),
            ColumnKind::Dictionary => Builder::Dictionary(DictionaryColumn::new(capacity)),
            ColumnKind::TerminationChar(p) => Builder::TerminationChar(p, UInt8Builder::with_capacity(capacity)),
            ColumnKind::Boolean => Builder::Boolean(BooleanBuilder::with_capacity(capacity)),
            ColumnKind::Int16 => Builder::Int16(Int16Builder::with_capacity(capacity)),
            ColumnKind::Int32 => Builder::Int32(Int32Builder::with_capacity(capacity)),
            ColumnKind::Int64 => Builder::Int64(Int64Builder::with_capacity(capacity)),
            ColumnKind::UInt64 => Builder::UInt64(UInt64Builder::with_capacity(capacity)),
            ColumnKind::TimestampMillis => {
                Builder::TimestampMillis(TimestampMillisecondBuilder::with_capacity(capacity).with_timezone("UTC"))
            }
            ColumnKind::TimestampMicros => {
                Builder::TimestampMicros(TimestampMicrosecondBuilder::with_capacity(capacity).with_timezone("UTC"))
            }
            ColumnKind::Utf8List => Builder::Utf8List(ListBuilder::with_capacity(
                BinaryBuilder::with_capacity(capacity, text_bytes),
                capacity,
            )),
        }
    }

    fn append_nulls(&mut self, n: usize) {
        match self {
            Builder::Utf8(b) => b.append_nulls(n),
            Builder::Dictionary(b) => b.append_nulls(n),
            Builder::TerminationChar(_, b) => b.append_nulls(n),
            Builder::Boolean(b) => b.append_nulls(n),
            Builder::Int16(b) => b.append_nulls(n),
            Builder::Int32(b) => b.append_nulls(n),
            Builder::Int64(b) => b.append_nulls(n),
            Builder::UInt64(b) => b.append_nulls(n),
            Builder::TimestampMillis(b) => b.append_nulls(n),
            Builder::TimestampMicros(b) => b.append_nulls(n),
            Builder::Utf8List(b) => (0..n).for_each(|_| b.append_null()),
        }
    }

    /// Bytes of text held, to size the next batch's buffers.
    fn text_bytes(&self) -> usize {
        match self {
            Builder::Utf8(b) => b.values_slice().len(),
            Builder::Utf8List(b) => b.values_ref().values_slice().len(),
            _ => 0,
        }
    }

    fn finish(&mut self) -> Result<ArrayRef, ArrowError> {
        Ok(match self {
            Builder::Utf8(b) => Arc::new(StringArray::try_from_binary(b.finish())?),
            Builder::Dictionary(b) => b.finish()?,
            Builder::TerminationChar(position, keys) => {
                let keys = keys.finish();
                Arc::new(DictionaryArray::<UInt8Type>::try_new(keys, termination::dictionary(*position))?)
            }
            Builder::Boolean(b) => Arc::new(b.finish()),
            Builder::Int16(b) => Arc::new(b.finish()),
            Builder::Int32(b) => Arc::new(b.finish()),
            Builder::Int64(b) => Arc::new(b.finish()),
            Builder::UInt64(b) => Arc::new(b.finish()),
            Builder::TimestampMillis(b) => Arc::new(b.finish()),
            Builder::TimestampMicros(b) => Arc::new(b.finish()),
            Builder::Utf8List(b) => {
                let (_, offsets, values, nulls) = b.finish().into_parts();
                let values = StringArray::try_from_binary(values.as_binary::<i32>().clone())?;
                let item = Arc::new(Field::new("item", DataType::Utf8, true));
                Arc::new(ListArray::try_new(item, offsets, Arc::new(values), nulls)?)
            }
        })
    }
}

/// Builds record batches of one schema, or of the projection of it a query reads.
pub struct BatchBuilder {
    schema: SchemaRef,
    kinds: Vec<ColumnKind>,
    builders: Vec<Builder>,
    /// The builder of each column of the full schema; none for a column not projected.
    slots: Vec<Option<usize>>,
    /// How many rows each builder holds: columns a row does not touch lag behind.
    filled: Vec<usize>,
    all_columns: Vec<usize>,
    rows: usize,
    /// Reused for `#XX` decoding and address formatting: no allocation per line.
    scratch: Vec<u8>,
    text: String,
}

impl BatchBuilder {
    pub fn new(columns: &[ColumnSpec]) -> BatchBuilder {
        BatchBuilder::projected(columns, &(0..columns.len()).collect::<Vec<_>>())
    }

    /// Builds only the `projection` columns (indexes into `columns`), in that order:
    /// what a query does not read costs no decoding and no copying.
    pub fn projected(columns: &[ColumnSpec], projection: &[usize]) -> BatchBuilder {
        let mut slots = vec![None; columns.len()];
        for (slot, &column) in projection.iter().enumerate() {
            slots[column] = Some(slot);
        }
        let chosen: Vec<ColumnSpec> = projection.iter().map(|&c| columns[c].clone()).collect();
        BatchBuilder {
            schema: Arc::new(arrow_schema(&chosen)),
            kinds: chosen.iter().map(|c| c.kind).collect(),
            builders: chosen.iter().map(|c| Builder::new(c.kind, BATCH_ROWS, BATCH_ROWS * 16)).collect(),
            slots,
            filled: vec![0; chosen.len()],
            all_columns: (0..columns.len()).collect(),
            rows: 0,
            scratch: Vec::new(),
            text: String::new(),
        }
    }

    pub fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    pub fn len(&self) -> usize {
        self.rows
    }

    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    pub fn is_full(&self) -> bool {
        self.rows >= BATCH_ROWS
    }

    /// Appends one row. `row` values index into `line`.
    pub fn append(&mut self, row: &Row, line: &[u8]) {
        let columns = std::mem::take(&mut self.all_columns);
        self.append_columns(row, line, &columns);
        self.all_columns = columns;
    }

    /// Appends one row whose values outside `columns` are null or not built: the columns
    /// its format can fill (`Plan::filled`), or those of them this builder builds.
    pub fn append_columns(&mut self, row: &Row, line: &[u8], columns: &[usize]) {
        debug_assert!(
            (0..row.values.len()).all(|c| row.values[c].is_null() || columns.contains(&c) || self.slots[c].is_none()),
            "a value outside the columns its format fills would be lost"
        );
        let rows = self.rows;
        // Any slice of an ASCII line is UTF-8: one check per line rather than per value,
        // and none for a row whose columns hold no text of the line.
        let mut ascii = None;
        for &column in columns {
            let Some(slot) = self.slots[column] else { continue };
            let builder = &mut self.builders[slot];
            let behind = rows - self.filled[slot];
            if behind > 0 {
                builder.append_nulls(behind);
            }
            append_value(builder, row.values[column], line, &mut ascii, &mut self.scratch, &mut self.text);
            self.filled[slot] = rows + 1;
        }
        self.rows += 1;
    }

    /// The rows appended since the last call, as a batch.
    pub fn finish(&mut self) -> Result<RecordBatch, ArrowError> {
        let rows = self.rows;
        let columns: Result<Vec<ArrayRef>, ArrowError> = self
            .builders
            .iter_mut()
            .zip(&mut self.filled)
            .zip(&self.kinds)
            .map(|((builder, filled), &kind)| {
                builder.append_nulls(rows - *filled);
                *filled = 0;
                // Arrow's builders hand their buffers to the array and start again from
                // nothing: sized like this batch, the next one grows without reallocating.
                let fresh = Builder::new(kind, rows, builder.text_bytes() + builder.text_bytes() / 8);
                std::mem::replace(builder, fresh).finish()
            })
            .collect();
        self.rows = 0;
        // A projection may be empty (`count(*)`): the batch then carries only its length.
        RecordBatch::try_new_with_options(
            self.schema.clone(),
            columns?,
            &RecordBatchOptions::new().with_row_count(Some(rows)),
        )
    }
}

/// Dictionary-encoded text. Neighbouring rows mostly repeat a value (the same format,
/// host, frontend, method), so the last value is checked before the hash map.
struct DictionaryColumn {
    keys: Vec<i32>,
    valid: NullBufferBuilder,
    values: StringBuilder,
    lookup: hashbrown::HashMap<Box<[u8]>, i32>,
    last: Vec<u8>,
    last_key: Option<i32>,
}

impl DictionaryColumn {
    fn new(capacity: usize) -> DictionaryColumn {
        DictionaryColumn {
            keys: Vec::with_capacity(capacity),
            valid: NullBufferBuilder::new(capacity),
            values: StringBuilder::new(),
            lookup: hashbrown::HashMap::new(),
            last: Vec::new(),
            last_key: None,
        }
    }

    /// `bytes` are UTF-8 (see [`as_text`]).
    fn append_value(&mut self, bytes: &[u8]) {
        let key = match self.last_key {
            Some(key) if same_bytes(&self.last, bytes) => key,
            _ => {
                let key = match self.lookup.get(bytes) {
                    Some(&key) => key,
                    None => {
                        let key = self.values.len() as i32;
                        self.values.append_value(String::from_utf8_lossy(bytes));
                        self.lookup.insert(bytes.into(), key);
                        key
                    }
                };
                self.last.clear();
                self.last.extend_from_slice(bytes);
                self.last_key = Some(key);
                key
            }
        };
        self.keys.push(key);
        self.valid.append_non_null();
    }

    fn append_nulls(&mut self, n: usize) {
        self.keys.resize(self.keys.len() + n, 0);
        self.valid.append_n_nulls(n);
    }

    fn finish(&mut self) -> Result<ArrayRef, ArrowError> {
        let keys = std::mem::replace(&mut self.keys, Vec::with_capacity(BATCH_ROWS));
        let keys = Int32Array::new(keys.into(), self.valid.finish());
        let values = Arc::new(self.values.finish());
        self.lookup.clear();
        self.last_key = None;
        Ok(Arc::new(DictionaryArray::<Int32Type>::try_new(keys, values)?))
    }
}

/// Equality of short names without a call to memcmp, which costs more than the compare.
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y)
}

fn append_value(
    builder: &mut Builder,
    value: Value,
    line: &[u8],
    ascii: &mut Option<bool>,
    scratch: &mut Vec<u8>,
    text: &mut String,
) {
    match builder {
        Builder::Utf8(b) => match as_text(value, line, ascii, scratch, text) {
            Some(s) => b.append_value(s),
            None => b.append_null(),
        },
        Builder::Dictionary(b) => match as_text(value, line, ascii, scratch, text) {
            Some(s) => b.append_value(s),
            None => b.append_nulls(1),
        },
        Builder::TerminationChar(position, b) => {
            match value.bytes(line).and_then(|state| state.get(usize::from(*position))) {
                Some(&code) => b.append_value(code),
                None => b.append_null(),
            }
        }
        Builder::Boolean(b) => match value {
            Value::Bool(v) => b.append_value(v),
            _ => b.append_null(),
        },
        Builder::Int16(b) => match value {
            Value::Int(v) => b.append_option(i16::try_from(v).ok()),
            _ => b.append_null(),
        },
        Builder::Int32(b) => match value {
            Value::Int(v) => b.append_option(i32::try_from(v).ok()),
            _ => b.append_null(),
        },
        Builder::Int64(b) => match value {
            Value::Int(v) => b.append_value(v),
            _ => b.append_null(),
        },
        Builder::UInt64(b) => match value {
            Value::Int(v) => b.append_option(u64::try_from(v).ok()),
            _ => b.append_null(),
        },
        Builder::TimestampMillis(b) => match value {
            Value::Time(v) => b.append_value(v),
            _ => b.append_null(),
        },
        Builder::TimestampMicros(b) => match value {
            Value::Time(v) => b.append_value(v),
            _ => b.append_null(),
        },
        Builder::Utf8List(b) => {
            if !matches!(value, Value::Captures { .. }) {
                b.append_null();
                return;
            }
            for slot in capture_slots(value, line) {
                let item = slot.and_then(|(s, e)| as_text(Value::encoded(s, e), line, ascii, scratch, text));
                b.values().append_option(item);
            }
            b.append(true);
        }
    }
}

/// The text of a value, as UTF-8 bytes. Encoded text is decoded unless that gives bytes
/// that are not UTF-8, in which case it stays as HAProxy logged it. Invalid UTF-8 in raw
/// text is replaced (the row's `invalid_utf8` says so). `ascii`: whether the line is
/// ASCII, once known.
fn as_text<'a>(
    value: Value,
    line: &'a [u8],
    ascii: &mut Option<bool>,
    scratch: &'a mut Vec<u8>,
    text: &'a mut String,
) -> Option<&'a [u8]> {
    match value {
        Value::Static(s) => Some(s.as_bytes()),
        Value::Text { start, end } => Some(utf8(&line[start as usize..end as usize], line, ascii, text)),
        Value::Encoded { start, end } => {
            let raw = &line[start as usize..end as usize];
            if memchr::memchr(b'#', raw).is_none() {
                return Some(utf8(raw, line, ascii, text));
            }
            decode_hash_escapes(raw, scratch);
            match std::str::from_utf8(scratch) {
                Ok(decoded) => Some(decoded.as_bytes()),
                Err(_) => Some(utf8(raw, line, ascii, text)),
            }
        }
        Value::Ipv4(v) => {
            text.clear();
            let _ = write!(text, "{}", Ipv4Addr::from(v));
            Some(text.as_bytes())
        }
        Value::Ipv6(v) => {
            text.clear();
            let _ = write!(text, "{}", Ipv6Addr::from(v));
            Some(text.as_bytes())
        }
        Value::Int(v) => {
            text.clear();
            let _ = write!(text, "{v}");
            Some(text.as_bytes())
        }
        Value::Null | Value::Bool(_) | Value::Time(_) | Value::Captures { .. } => None,
    }
}

fn utf8<'a>(bytes: &'a [u8], line: &[u8], ascii: &mut Option<bool>, text: &'a mut String) -> &'a [u8] {
    if *ascii.get_or_insert_with(|| line.is_ascii()) || std::str::from_utf8(bytes).is_ok() {
        return bytes;
    }
    text.clear();
    text.push_str(&String::from_utf8_lossy(bytes));
    text.as_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-11-23T00:00:00Z, near the corpus lines.
    const NOV_2026: i64 = 1_795_392_000_000;
    use crate::parse::date::LocalZone;
    use crate::parse::{Catalogue, LineParser, Outcome};
    use crate::schema::Col;
    use arrow::array::Array;

    #[test]
    fn decoded_termination_columns_share_the_state_bytes() {
        let catalogue = Catalogue::standard();
        let mut parser = LineParser::new(&catalogue, LocalZone::utc(), NOV_2026);
        let line = b"127.0.0.1:1 [23/Nov/2026:20:24:30.050] fe be/s 1/0/2 3 sD 1/1/1/1/0 0/0";
        assert_eq!(parser.parse(line), Outcome::Traffic);
        let mut builder = BatchBuilder::new(catalogue.column_specs());
        builder.append(parser.row(), line);
        let batch = builder.finish().unwrap();
        let cause = batch.column(Col::TerminationCause.index()).as_dictionary::<UInt8Type>();
        assert!(cause.is_valid(0));
        let values = cause.values().as_string::<i32>();
        assert_eq!(values.value(cause.keys().value(0) as usize), "server_timeout");
        let phase = batch.column(Col::TerminationPhase.index()).as_dictionary::<UInt8Type>();
        assert_eq!(phase.values().as_string::<i32>().value(phase.keys().value(0) as usize), "data");
        assert!(batch.column(Col::PersistenceCookie.index()).is_null(0));
    }
}
