//! Rows into Arrow record batches: one builder per column, chosen once from the
//! column's kind, fed from the line's bytes a column at a time.

use std::fmt::Write as _;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use arrow::array::{
    ArrayRef, BinaryBuilder, BooleanBuilder, DictionaryArray, Int16Builder, Int32Array, Int32Builder, Int64Builder,
    ListArray, ListBuilder, StringArray, TimestampMicrosecondBuilder, TimestampMillisecondBuilder, UInt8Builder,
    UInt64Builder,
};
use arrow::array::{AsArray, NullBufferBuilder};
use arrow::buffer::OffsetBuffer;
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
            Builder::Utf8List(b) => b.append_nulls(n),
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

/// Rows wait in a small stage, copied whole, and go into the builders a column at a
/// time. Appending each row to every builder touches some hundred buffers per row: the
/// parse bench took 421 ms that way and 394 ms staged (interleaved runs). Stage sizes,
/// compared in one run: 16 rows 419 ms, 32 387 ms, 64 379 ms, 128 380 ms; 256 rows
/// stored a column at a time 431 ms.
const STAGED_ROWS: usize = 64;

/// Builds record batches of one schema, or of the projection of it a query reads.
pub struct BatchBuilder {
    schema: SchemaRef,
    kinds: Vec<ColumnKind>,
    builders: Vec<Builder>,
    /// The column (an index into the full schema) each builder builds.
    projection: Vec<usize>,
    /// The projection is every column, in order: a row is staged with one copy.
    whole_rows: bool,
    /// Some column holds text of the line: lines are staged with their rows.
    needs_lines: bool,
    /// The staged rows' values, a row at a time: one value per builder, for up to
    /// `STAGED_ROWS` rows.
    staged: Vec<Value>,
    /// The staged rows' lines, end to end, and where each one starts.
    staged_lines: Vec<u8>,
    line_starts: Vec<usize>,
    /// Rows appended since the last batch, staged ones included.
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
        let chosen: Vec<ColumnSpec> = projection.iter().map(|&c| columns[c].clone()).collect();
        BatchBuilder {
            schema: Arc::new(arrow_schema(&chosen)),
            kinds: chosen.iter().map(|c| c.kind).collect(),
            builders: chosen.iter().map(|c| Builder::new(c.kind, BATCH_ROWS, BATCH_ROWS * 16)).collect(),
            projection: projection.to_vec(),
            whole_rows: projection.iter().copied().eq(0..columns.len()),
            needs_lines: chosen.iter().any(|c| c.kind.holds_text()),
            staged: vec![Value::Null; STAGED_ROWS * projection.len()],
            staged_lines: Vec::with_capacity(STAGED_ROWS * 512),
            line_starts: vec![0],
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
        let at = self.line_starts.len() - 1;
        let staged = &mut self.staged[at * self.projection.len()..(at + 1) * self.projection.len()];
        if self.whole_rows && row.values.len() == staged.len() {
            staged.copy_from_slice(&row.values);
        } else {
            for (value, &column) in staged.iter_mut().zip(&self.projection) {
                *value = row.values[column];
            }
        }
        if self.needs_lines {
            self.staged_lines.extend_from_slice(line);
        }
        self.line_starts.push(self.staged_lines.len());
        self.rows += 1;
        if at + 1 == STAGED_ROWS {
            self.flush();
        }
    }

    /// Appends the staged rows to the builders, a column at a time.
    fn flush(&mut self) {
        let count = self.line_starts.len() - 1;
        if count == 0 {
            return;
        }
        let lines = StagedLines { bytes: &self.staged_lines, starts: &self.line_starts };
        // Any slice of an ASCII line is UTF-8: one check per line rather than per value,
        // and none for a row whose columns hold no text of the line.
        let mut ascii = [None; STAGED_ROWS];
        let width = self.projection.len();
        for (slot, builder) in self.builders.iter_mut().enumerate() {
            let values = self.staged[..count * width].iter().skip(slot).step_by(width);
            // Most columns belong to formats other than the row's (TLS fields on plain
            // HTTP lines, HTTP fields on TCP lines): null in every staged row, and one
            // call appends them all.
            if values.clone().all(Value::is_null) {
                builder.append_nulls(count);
                continue;
            }
            append_values(builder, values, lines, &mut ascii, &mut self.scratch, &mut self.text);
        }
        self.staged_lines.clear();
        self.line_starts.truncate(1);
    }

    /// The rows appended since the last call, as a batch.
    pub fn finish(&mut self) -> Result<RecordBatch, ArrowError> {
        self.flush();
        let rows = self.rows;
        let columns: Result<Vec<ArrayRef>, ArrowError> = self
            .builders
            .iter_mut()
            .zip(&self.kinds)
            .map(|(builder, &kind)| {
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

/// The lines of the staged rows.
#[derive(Clone, Copy)]
struct StagedLines<'a> {
    bytes: &'a [u8],
    starts: &'a [usize],
}

impl<'a> StagedLines<'a> {
    fn line(self, row: usize) -> &'a [u8] {
        &self.bytes[self.starts[row]..self.starts[row + 1]]
    }
}

/// Dictionary-encoded text. Neighbouring rows mostly repeat a value (the same format,
/// host, frontend, method), so the last value is checked before the hash table. Each
/// distinct value is stored once, in the array's own value buffer, and the table holds
/// only keys: a new value costs no allocation of its own.
struct DictionaryColumn {
    keys: Vec<i32>,
    valid: NullBufferBuilder,
    /// The distinct values, in key order.
    offsets: Vec<i32>,
    bytes: Vec<u8>,
    table: hashbrown::HashTable<i32>,
    last_key: Option<i32>,
}

impl DictionaryColumn {
    fn new(capacity: usize) -> DictionaryColumn {
        DictionaryColumn {
            keys: Vec::with_capacity(capacity),
            valid: NullBufferBuilder::new(capacity),
            offsets: vec![0],
            bytes: Vec::new(),
            table: hashbrown::HashTable::new(),
            last_key: None,
        }
    }

    /// `bytes` are UTF-8 (see [`as_text`]).
    fn append_value(&mut self, value: &[u8]) {
        let DictionaryColumn { keys, valid, offsets, bytes, table, last_key } = self;
        let key = match *last_key {
            Some(key) if same_bytes(stored(bytes, offsets, key), value) => key,
            _ => {
                let hash = name_hash(value);
                let key = match table.find(hash, |&key| same_bytes(stored(bytes, offsets, key), value)) {
                    Some(&key) => key,
                    None => {
                        let key = offsets.len() as i32 - 1;
                        bytes.extend_from_slice(value);
                        offsets.push(bytes.len() as i32);
                        table.insert_unique(hash, key, |&key| name_hash(stored(bytes, offsets, key)));
                        key
                    }
                };
                *last_key = Some(key);
                key
            }
        };
        keys.push(key);
        valid.append_non_null();
    }

    fn append_nulls(&mut self, n: usize) {
        self.keys.resize(self.keys.len() + n, 0);
        self.valid.append_n_nulls(n);
    }

    fn finish(&mut self) -> Result<ArrayRef, ArrowError> {
        let keys = std::mem::replace(&mut self.keys, Vec::with_capacity(BATCH_ROWS));
        let keys = Int32Array::new(keys.into(), self.valid.finish());
        let offsets = std::mem::replace(&mut self.offsets, vec![0]);
        let values =
            StringArray::try_new(OffsetBuffer::new(offsets.into()), std::mem::take(&mut self.bytes).into(), None)?;
        self.table.clear();
        self.last_key = None;
        Ok(Arc::new(DictionaryArray::<Int32Type>::try_new(keys, Arc::new(values))?))
    }
}

/// The value of dictionary key `key`.
fn stored<'a>(bytes: &'a [u8], offsets: &[i32], key: i32) -> &'a [u8] {
    let key = key as usize;
    &bytes[offsets[key] as usize..offsets[key + 1] as usize]
}

/// The eight bytes at `at`, as one word.
fn word_at(bytes: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"))
}

/// Equality of short names, eight bytes at a time, without a call to memcmp (which
/// costs more than the compare).
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    if n < 8 {
        return a.iter().zip(b).all(|(x, y)| x == y);
    }
    let mut at = 0;
    while at + 8 < n {
        if word_at(a, at) != word_at(b, at) {
            return false;
        }
        at += 8;
    }
    // The last word overlaps the one before when the length is not a multiple of 8.
    word_at(a, n - 8) == word_at(b, n - 8)
}

/// A hash of a short name, a word at a time: the dictionary's names are a few to a few
/// dozen bytes, where a general-purpose hasher spends more on setup than on the bytes.
fn name_hash(bytes: &[u8]) -> u64 {
    const MULTIPLIER: u64 = 0x9E37_79B9_7F4A_7C15;
    let mix = |state: u64, word: u64| {
        let product = u128::from(state ^ word) * u128::from(MULTIPLIER);
        (product as u64) ^ ((product >> 64) as u64)
    };
    let n = bytes.len();
    let mut state = n as u64;
    // Words may overlap (the last one, or both halves of a short name): no byte is
    // copied into a padded buffer, which would cost a call to memcpy.
    if n >= 8 {
        let mut at = 0;
        while at + 8 < n {
            state = mix(state, word_at(bytes, at));
            at += 8;
        }
        state = mix(state, word_at(bytes, n - 8));
    } else if n >= 4 {
        let half = |at: usize| u64::from(u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes")));
        state = mix(state, half(0) | half(n - 4) << 32);
    } else if n > 0 {
        state = mix(state, u64::from(bytes[0]) | u64::from(bytes[n / 2]) << 8 | u64::from(bytes[n - 1]) << 16);
    }
    // hashbrown takes its 7-bit tag from the top bits and the bucket from the low ones.
    mix(state, MULTIPLIER)
}

/// Appends one column of the staged rows: `values[row]` indexes into `lines.line(row)`.
fn append_values<'a>(
    builder: &mut Builder,
    values: impl Iterator<Item = &'a Value>,
    lines: StagedLines,
    ascii: &mut [Option<bool>],
    scratch: &mut Vec<u8>,
    text: &mut String,
) {
    match builder {
        Builder::Utf8(b) => {
            for (row, &value) in values.enumerate() {
                match as_text(value, lines.line(row), &mut ascii[row], scratch, text) {
                    Some(s) => b.append_value(s),
                    None => b.append_null(),
                }
            }
        }
        Builder::Dictionary(b) => {
            for (row, &value) in values.enumerate() {
                match as_text(value, lines.line(row), &mut ascii[row], scratch, text) {
                    Some(s) => b.append_value(s),
                    None => b.append_nulls(1),
                }
            }
        }
        Builder::TerminationChar(position, b) => {
            for (row, value) in values.enumerate() {
                match value.bytes(lines.line(row)).and_then(|state| state.get(usize::from(*position))) {
                    Some(&code) => b.append_value(code),
                    None => b.append_null(),
                }
            }
        }
        Builder::Boolean(b) => {
            values.for_each(|v| b.append_option(if let Value::Bool(v) = *v { Some(v) } else { None }))
        }
        Builder::Int16(b) => values.for_each(|v| b.append_option(integer(*v).and_then(|v| i16::try_from(v).ok()))),
        Builder::Int32(b) => values.for_each(|v| b.append_option(integer(*v).and_then(|v| i32::try_from(v).ok()))),
        Builder::Int64(b) => values.for_each(|v| b.append_option(integer(*v))),
        Builder::UInt64(b) => values.for_each(|v| b.append_option(integer(*v).and_then(|v| u64::try_from(v).ok()))),
        Builder::TimestampMillis(b) => values.for_each(|v| b.append_option(instant(*v))),
        Builder::TimestampMicros(b) => values.for_each(|v| b.append_option(instant(*v))),
        Builder::Utf8List(b) => {
            for (row, &value) in values.enumerate() {
                if !matches!(value, Value::Captures { .. }) {
                    b.append_null();
                    continue;
                }
                let line = lines.line(row);
                for slot in capture_slots(value, line) {
                    let item =
                        slot.and_then(|(s, e)| as_text(Value::encoded(s, e), line, &mut ascii[row], scratch, text));
                    b.values().append_option(item);
                }
                b.append(true);
            }
        }
    }
}

fn integer(value: Value) -> Option<i64> {
    if let Value::Int(v) = value { Some(v) } else { None }
}

fn instant(value: Value) -> Option<i64> {
    if let Value::Time(v) = value { Some(v) } else { None }
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
        Value::Ipv6Hex { start, end } => {
            let hex = &line[start as usize..end as usize];
            let address = std::str::from_utf8(hex).ok().and_then(|hex| u128::from_str_radix(hex, 16).ok());
            text.clear();
            match address {
                Some(address) => write!(text, "{}", Ipv6Addr::from(address)),
                None => write!(text, "{}", String::from_utf8_lossy(hex)),
            }
            .ok()?;
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
    // A short value is checked on its own: a query that reads a name or a state from each
    // line then never looks at the whole line.
    if bytes.len() <= 16 && bytes.is_ascii() {
        return bytes;
    }
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
    use crate::parse::value::leak_text;
    use crate::parse::{Catalogue, LineParser, Outcome};
    use crate::schema::Col;
    use arrow::array::Array;

    #[test]
    fn names_compare_and_hash_equal_exactly_when_their_bytes_do() {
        let base: Vec<u8> = (0..40).map(|i| b'a' + i % 26).collect();
        for len in 0..base.len() {
            let name = &base[..len];
            let copy = name.to_vec();
            assert!(same_bytes(name, &copy));
            assert!(!same_bytes(name, &base[..len + 1]));
            for at in 0..len {
                let mut other = name.to_vec();
                other[at] ^= 1;
                assert!(!same_bytes(name, &other), "length {len}, byte {at}");
                // Not a guarantee of a hash, but these one-bit changes must all be seen.
                assert_ne!(name_hash(name), name_hash(&other), "length {len}, byte {at}");
            }
        }
    }

    #[test]
    fn a_dictionary_stores_each_name_once_in_first_seen_order() {
        let mut column = DictionaryColumn::new(4);
        let names: [&[u8]; 7] = [b"be_app", b"be_api", b"be_app", b"", b"backend_with_a_long_name", b"be_api", b""];
        for name in names {
            column.append_value(name);
        }
        column.append_nulls(1);
        let array = column.finish().unwrap();
        let dictionary = array.as_dictionary::<Int32Type>();
        let values = dictionary.values().as_string::<i32>();
        assert_eq!(values.iter().flatten().collect::<Vec<_>>(), ["be_app", "be_api", "", "backend_with_a_long_name"]);
        let read: Vec<Option<&str>> =
            dictionary.keys().iter().map(|key| key.map(|k| values.value(k as usize))).collect();
        let expected: Vec<Option<&str>> =
            names.iter().map(|n| Some(std::str::from_utf8(n).unwrap())).chain([None]).collect();
        assert_eq!(read, expected);
        // The next batch starts a new dictionary.
        column.append_value(b"be_api");
        let array = column.finish().unwrap();
        assert_eq!(array.as_dictionary::<Int32Type>().values().len(), 1);
    }

    #[test]
    fn hex_addresses_are_written_in_their_usual_notation() {
        let specs = [Col::ClientIp.spec(), Col::SourceFile.spec()];
        let mut builder = BatchBuilder::new(&specs);
        let line = b"7F000001 20010DB8000000000000000000000001";
        let source = leak_text("access.log".to_string());
        let mut row = Row::new(specs.len());
        row.set(1, Value::Static(source));
        row.set(0, Value::Ipv4(0x7F00_0001));
        builder.append(&row, line);
        row.set(0, Value::Ipv6Hex { start: 9, end: 41 });
        builder.append(&row, line);
        let batch = builder.finish().unwrap();
        let addresses = batch.column(0).as_string::<i32>();
        assert_eq!(addresses.value(0), "127.0.0.1");
        assert_eq!(addresses.value(1), "2001:db8::1");
        let sources = arrow::compute::cast(batch.column(1), &DataType::Utf8).unwrap();
        assert_eq!(sources.as_string::<i32>().value(1), "access.log");
    }

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

    #[test]
    fn rows_keep_their_values_across_stage_flushes_whole_or_projected() {
        let catalogue = Catalogue::standard();
        let mut parser = LineParser::new(&catalogue, LocalZone::utc(), NOV_2026);
        // Formats alternate, so each row leaves other columns null than the one before.
        let line = |i: usize| -> Vec<u8> {
            if i.is_multiple_of(3) {
                format!("10.0.0.{}:{i} [23/Nov/2026:20:24:30.050] fe be/s 1/0/2 {i} sD 1/1/1/1/0 0/0", i % 250)
            } else {
                format!(
                    "10.0.0.{}:{i} [23/Nov/2026:20:24:30.050] web~ be/s{} 0/0/1/2/3 {} {i} - - ---- 1/1/0/0/0 0/0 \"GET /p{i} HTTP/1.1\"",
                    i % 250,
                    i % 4,
                    200 + i % 7
                )
            }
            .into_bytes()
        };
        let rows = 3 * STAGED_ROWS + 5;
        let projection = [Col::Status.index(), Col::ClientIp.index(), Col::Server.index(), Col::Path.index()];
        let mut whole = BatchBuilder::new(catalogue.column_specs());
        let mut projected = BatchBuilder::projected(catalogue.column_specs(), &projection);
        let mut expected = Vec::new();
        for i in 0..rows {
            let line = line(i);
            assert_eq!(parser.parse(&line), Outcome::Traffic, "{}", String::from_utf8_lossy(&line));
            let text =
                |col: Col| parser.row().get(col.index()).bytes(&line).map(|b| String::from_utf8(b.to_vec()).unwrap());
            let status = match parser.row().get(Col::Status.index()) {
                Value::Int(v) => Some(v as i16),
                _ => None,
            };
            expected.push((status, text(Col::ClientIp), text(Col::Server), text(Col::Path)));
            whole.append(parser.row(), &line);
            projected.append(parser.row(), &line);
        }
        let whole = whole.finish().unwrap();
        let projected = projected.finish().unwrap();
        assert_eq!(projected.num_columns(), projection.len());
        for (batch, columns) in [(&whole, projection), (&projected, [0, 1, 2, 3])] {
            assert_eq!(batch.num_rows(), rows);
            let status = batch.column(columns[0]).as_primitive::<arrow::datatypes::Int16Type>();
            let client = batch.column(columns[1]).as_string::<i32>();
            let server = batch.column(columns[2]).as_dictionary::<Int32Type>();
            let names = server.values().as_string::<i32>();
            let path = batch.column(columns[3]).as_string::<i32>();
            for (row, (want_status, want_client, want_server, want_path)) in expected.iter().enumerate() {
                assert_eq!(status.is_valid(row).then(|| status.value(row)), *want_status, "row {row}");
                assert_eq!(client.is_valid(row).then(|| client.value(row).to_string()), *want_client, "row {row}");
                let name =
                    server.keys().is_valid(row).then(|| names.value(server.keys().value(row) as usize).to_string());
                assert_eq!(name, *want_server, "row {row}");
                assert_eq!(path.is_valid(row).then(|| path.value(row).to_string()), *want_path, "row {row}");
            }
        }
        // TCP rows have no path: the column is null there, and only there.
        assert!(whole.column(Col::Path.index()).is_null(0) && whole.column(Col::Path.index()).is_valid(1));
    }
}
