//! Dictionary-encoded columns written without arrow-rs's per-row hashing.
//!
//! arrow-rs builds a column's Parquet dictionary by hashing every row's value with a
//! general-purpose hasher, even when the column arrives as an Arrow dictionary
//! (apache/arrow-rs#10465): about a tenth of a conversion for the names, and as much
//! again for the integers. Here a batch of names has its few distinct values looked up
//! once each, and a row costs the translation of its key; an integer is looked up with a
//! multiply-and-shift hash. The chunk is what arrow-rs writes for such a column: a PLAIN
//! dictionary page, then v1 data pages of RLE_DICTIONARY keys after RLE definition
//! levels, with chunk statistics and an offset index. Integers whose dictionary outgrows
//! 1 MiB go on in PLAIN pages, as arrow-rs does.

use std::collections::HashMap;
use std::io::Write as _;

use arrow::array::{Array, ArrayRef, AsArray, DictionaryArray};
use arrow::buffer::NullBuffer;
use arrow::datatypes::{ArrowDictionaryKeyType, ArrowNativeType, DataType, Int16Type, Int32Type, Int64Type, UInt8Type};
use bytes::Bytes;
use parquet::basic::{Compression, Encoding};
use parquet::column::page::{CompressedPage, Page, PageWriter};
use parquet::column::writer::ColumnCloseResult;
use parquet::data_type::ByteArray;
use parquet::errors::ParquetError;
use parquet::file::metadata::ColumnChunkMetaData;
use parquet::file::page_index::offset_index::{OffsetIndexMetaData, PageLocation};
use parquet::file::statistics::{Statistics, ValueStatistics};
use parquet::file::writer::{SerializedPageWriter, SerializedRowGroupWriter, TrackedWrite};
use parquet::schema::types::ColumnDescPtr;

/// Rows per data page, as arrow-rs cuts them by default.
const PAGE_ROWS: usize = 20_000;

/// The dictionary page size past which integers are written PLAIN, as arrow-rs's default.
const DICTIONARY_LIMIT: usize = 1 << 20;

/// Whether [`DictionaryChunk`] writes columns of `data_type` under `compression`.
pub fn handles(data_type: &DataType, compression: Compression) -> bool {
    let column = match data_type {
        DataType::Dictionary(key, value) => {
            matches!(key.as_ref(), DataType::Int32 | DataType::UInt8) && value.as_ref() == &DataType::Utf8
        }
        DataType::Int16 | DataType::Int32 | DataType::Int64 => true,
        _ => false,
    };
    column && matches!(compression, Compression::ZSTD(_) | Compression::UNCOMPRESSED)
}

/// One column chunk, built a batch at a time.
pub struct DictionaryChunk {
    descriptor: ColumnDescPtr,
    compression: Compression,
    dictionary: Dictionary,
    /// The dictionary grew too big: rows from here on are written PLAIN.
    plain: bool,
    /// The page being gathered: a definition level per row, and per non-null row its
    /// key, or its PLAIN bytes once `plain`.
    levels: Vec<u8>,
    page_keys: Vec<u32>,
    page_values: Vec<u8>,
    /// The data pages written so far, and where each one starts.
    pages: TrackedWrite<Vec<u8>>,
    locations: Vec<PageLocation>,
    encodings: Vec<Encoding>,
    uncompressed_bytes: usize,
    rows: usize,
    nulls: u64,
    /// Reused between pages.
    body: Vec<u8>,
}

/// A chunk's dictionary: each value once, in key order.
enum Dictionary {
    Text(TextValues),
    Int32(IntValues<i32>),
    Int64(IntValues<i64>),
}

#[derive(Default)]
struct TextValues {
    values: Vec<Vec<u8>>,
    keys: HashMap<Vec<u8>, u32>,
}

impl TextValues {
    fn key(&mut self, value: &[u8]) -> u32 {
        if let Some(&key) = self.keys.get(value) {
            return key;
        }
        let key = self.values.len() as u32;
        self.values.push(value.to_vec());
        self.keys.insert(value.to_vec(), key);
        key
    }
}

/// The Parquet integer types, as the Arrow integer columns are stored.
trait Integer: Copy + Ord + Default {
    fn hash(self) -> u64;
    fn write_plain(self, out: &mut Vec<u8>);
    fn values_of(dictionary: &mut Dictionary) -> &mut IntValues<Self>;
}

macro_rules! integer {
    ($type:ty, $variant:ident) => {
        impl Integer for $type {
            fn hash(self) -> u64 {
                mix(self as u64)
            }
            fn write_plain(self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
            fn values_of(dictionary: &mut Dictionary) -> &mut IntValues<$type> {
                match dictionary {
                    Dictionary::$variant(values) => values,
                    _ => unreachable!("a column's dictionary has the column's type"),
                }
            }
        }
    };
}

integer!(i32, Int32);
integer!(i64, Int64);

/// hashbrown takes its tag from the top bits and the bucket from the low ones: a
/// multiply spreads a small integer over both.
fn mix(value: u64) -> u64 {
    let product = u128::from(value) * 0x9E37_79B9_7F4A_7C15;
    (product as u64) ^ ((product >> 64) as u64)
}

struct IntValues<T> {
    values: Vec<T>,
    table: hashbrown::HashTable<u32>,
    /// The last value looked up and its key: neighbouring rows often repeat a value (a
    /// status, an empty queue).
    last: Option<(T, u32)>,
    /// Over every non-null value, the PLAIN ones included.
    bounds: Option<(T, T)>,
}

impl<T: Integer> IntValues<T> {
    fn new() -> IntValues<T> {
        IntValues { values: Vec::new(), table: hashbrown::HashTable::new(), last: None, bounds: None }
    }

    fn key(&mut self, value: T) -> u32 {
        if let Some((last, key)) = self.last
            && last == value
        {
            return key;
        }
        let IntValues { values, table, .. } = self;
        let hash = value.hash();
        let key = match table.find(hash, |&key| values[key as usize] == value) {
            Some(&key) => key,
            None => {
                let key = values.len() as u32;
                values.push(value);
                table.insert_unique(hash, key, |&key| values[key as usize].hash());
                self.widen(value);
                key
            }
        };
        self.last = Some((value, key));
        key
    }

    fn widen(&mut self, value: T) {
        self.bounds = Some(match self.bounds {
            None => (value, value),
            Some((min, max)) => (min.min(value), max.max(value)),
        });
    }
}

impl Dictionary {
    fn len(&self) -> usize {
        match self {
            Dictionary::Text(text) => text.values.len(),
            Dictionary::Int32(ints) => ints.values.len(),
            Dictionary::Int64(ints) => ints.values.len(),
        }
    }

    /// The dictionary page's values, PLAIN.
    fn write_plain(&self, out: &mut Vec<u8>) {
        match self {
            Dictionary::Text(text) => {
                for value in &text.values {
                    out.extend_from_slice(&(value.len() as u32).to_le_bytes());
                    out.extend_from_slice(value);
                }
            }
            Dictionary::Int32(ints) => ints.values.iter().for_each(|v| v.write_plain(out)),
            Dictionary::Int64(ints) => ints.values.iter().for_each(|v| v.write_plain(out)),
        }
    }

    fn statistics(&self, nulls: u64) -> Statistics {
        match self {
            // Strings compare as unsigned bytes, as Parquet orders UTF8.
            Dictionary::Text(text) => {
                let min = text.values.iter().min().map(|v| ByteArray::from(v.clone()));
                let max = text.values.iter().max().map(|v| ByteArray::from(v.clone()));
                Statistics::ByteArray(ValueStatistics::new(min, max, None, Some(nulls), false))
            }
            Dictionary::Int32(ints) => {
                let (min, max) = ints.bounds.unzip();
                Statistics::Int32(ValueStatistics::new(min, max, None, Some(nulls), false))
            }
            Dictionary::Int64(ints) => {
                let (min, max) = ints.bounds.unzip();
                Statistics::Int64(ValueStatistics::new(min, max, None, Some(nulls), false))
            }
        }
    }
}

impl DictionaryChunk {
    /// `data_type`: the Arrow type of the column, one [`handles`] takes.
    pub fn new(descriptor: ColumnDescPtr, data_type: &DataType, compression: Compression) -> DictionaryChunk {
        let dictionary = match data_type {
            DataType::Int16 | DataType::Int32 => Dictionary::Int32(IntValues::new()),
            DataType::Int64 => Dictionary::Int64(IntValues::new()),
            _ => Dictionary::Text(TextValues::default()),
        };
        DictionaryChunk {
            descriptor,
            compression,
            dictionary,
            plain: false,
            levels: Vec::with_capacity(PAGE_ROWS),
            page_keys: Vec::with_capacity(PAGE_ROWS),
            page_values: Vec::new(),
            pages: TrackedWrite::new(Vec::new()),
            locations: Vec::new(),
            encodings: vec![Encoding::RLE],
            uncompressed_bytes: 0,
            rows: 0,
            nulls: 0,
            body: Vec::new(),
        }
    }

    pub fn write(&mut self, column: &ArrayRef) -> Result<(), ParquetError> {
        match (column.data_type(), &self.dictionary) {
            (DataType::Dictionary(key, _), Dictionary::Text(_)) if key.as_ref() == &DataType::Int32 => {
                self.write_keys(column.as_dictionary::<Int32Type>())
            }
            (DataType::Dictionary(key, _), Dictionary::Text(_)) if key.as_ref() == &DataType::UInt8 => {
                self.write_keys(column.as_dictionary::<UInt8Type>())
            }
            (DataType::Int16, Dictionary::Int32(_)) => {
                let ints = column.as_primitive::<Int16Type>();
                self.write_ints(ints.values().iter().map(|&v| i32::from(v)), ints.nulls())
            }
            (DataType::Int32, Dictionary::Int32(_)) => {
                let ints = column.as_primitive::<Int32Type>();
                self.write_ints(ints.values().iter().copied(), ints.nulls())
            }
            (DataType::Int64, Dictionary::Int64(_)) => {
                let ints = column.as_primitive::<Int64Type>();
                self.write_ints(ints.values().iter().copied(), ints.nulls())
            }
            (other, _) => Err(ParquetError::General(format!("not a column this writer was made for: {other}"))),
        }
    }

    fn write_keys<K: ArrowDictionaryKeyType>(&mut self, column: &DictionaryArray<K>) -> Result<(), ParquetError> {
        let values = column.values().as_string::<i32>();
        // A batch key becomes a chunk key the first time a row uses it: values a slice of
        // the batch does not use stay out of the dictionary and its statistics.
        const UNSEEN: u32 = u32::MAX;
        let mut chunk_keys = vec![UNSEEN; values.len()];
        let keys = column.keys().values();
        // A row is null when its key is, or when the value its key points at is (a
        // query's result may hold such dictionaries; halake's own batches do not).
        let nulls = column.logical_nulls();
        for (row, key) in keys.iter().enumerate() {
            if nulls.as_ref().is_some_and(|nulls| nulls.is_null(row)) {
                self.levels.push(0);
                self.nulls += 1;
            } else {
                let key = key.as_usize();
                let mut chunk_key = chunk_keys[key];
                if chunk_key == UNSEEN {
                    let Dictionary::Text(text) = &mut self.dictionary else { unreachable!("checked by write") };
                    chunk_key = text.key(values.value(key).as_bytes());
                    chunk_keys[key] = chunk_key;
                }
                self.levels.push(1);
                self.page_keys.push(chunk_key);
            }
            if self.levels.len() == PAGE_ROWS {
                self.flush_page()?;
            }
        }
        Ok(())
    }

    fn write_ints<T: Integer>(
        &mut self,
        values: impl Iterator<Item = T>,
        nulls: Option<&NullBuffer>,
    ) -> Result<(), ParquetError> {
        for (row, value) in values.enumerate() {
            if nulls.is_some_and(|nulls| nulls.is_null(row)) {
                self.levels.push(0);
                self.nulls += 1;
            } else {
                self.levels.push(1);
                let ints = T::values_of(&mut self.dictionary);
                if self.plain {
                    ints.widen(value);
                    value.write_plain(&mut self.page_values);
                } else {
                    self.page_keys.push(ints.key(value));
                    if ints.values.len() * size_of::<T>() > DICTIONARY_LIMIT {
                        // The rows so far keep their keys; the rest go PLAIN.
                        self.flush_page()?;
                        self.plain = true;
                    }
                }
            }
            if self.levels.len() == PAGE_ROWS {
                self.flush_page()?;
            }
        }
        Ok(())
    }

    /// Writes the gathered rows as one data page.
    fn flush_page(&mut self) -> Result<(), ParquetError> {
        if self.levels.is_empty() {
            return Ok(());
        }
        let mut levels = Vec::new();
        encode_hybrid(&self.levels, 1, &mut levels);
        self.body.clear();
        self.body.extend_from_slice(&(levels.len() as u32).to_le_bytes());
        self.body.extend_from_slice(&levels);
        // Without keys (PLAIN rows, or nulls only: the whole chunk may be null, and then
        // has no dictionary), the page is PLAIN.
        let encoding = if self.page_keys.is_empty() {
            self.body.extend_from_slice(&self.page_values);
            Encoding::PLAIN
        } else {
            let width = bit_width(self.dictionary.len().saturating_sub(1) as u32);
            self.body.push(width);
            encode_hybrid(&self.page_keys, width, &mut self.body);
            Encoding::RLE_DICTIONARY
        };
        if !self.encodings.contains(&encoding) {
            self.encodings.push(encoding);
        }
        let page = Page::DataPage {
            buf: self.compress()?,
            num_values: self.levels.len() as u32,
            encoding,
            def_level_encoding: Encoding::RLE,
            rep_level_encoding: Encoding::RLE,
            statistics: None,
        };
        let spec = SerializedPageWriter::new(&mut self.pages).write_page(CompressedPage::new(page, self.body.len()))?;
        self.locations.push(PageLocation {
            offset: spec.offset as i64,
            compressed_page_size: spec.compressed_size as i32,
            first_row_index: self.rows as i64,
        });
        self.uncompressed_bytes += spec.uncompressed_size;
        self.rows += self.levels.len();
        self.levels.clear();
        self.page_keys.clear();
        self.page_values.clear();
        Ok(())
    }

    fn compress(&self) -> Result<Bytes, ParquetError> {
        let Compression::ZSTD(level) = self.compression else { return Ok(Bytes::copy_from_slice(&self.body)) };
        compress_zstd(&self.body, level.compression_level())
    }

    /// Adds the chunk to `row_group`: the dictionary page, then the data pages.
    pub fn append_to<W: std::io::Write + Send>(
        mut self,
        row_group: &mut SerializedRowGroupWriter<'_, W>,
    ) -> Result<(), ParquetError> {
        self.flush_page()?;
        let mut chunk = TrackedWrite::new(Vec::new());
        let dictionary_len = if self.dictionary.len() == 0 {
            0
        } else {
            self.body.clear();
            self.dictionary.write_plain(&mut self.body);
            let page = Page::DictionaryPage {
                buf: self.compress()?,
                num_values: self.dictionary.len() as u32,
                encoding: Encoding::PLAIN,
                is_sorted: false,
            };
            let spec = SerializedPageWriter::new(&mut chunk).write_page(CompressedPage::new(page, self.body.len()))?;
            self.uncompressed_bytes += spec.uncompressed_size;
            if !self.encodings.contains(&Encoding::PLAIN) {
                self.encodings.push(Encoding::PLAIN);
            }
            spec.bytes_written as i64
        };
        chunk.write_all(&self.pages.into_inner()?)?;
        let bytes = Bytes::from(chunk.into_inner()?);

        let mut metadata = ColumnChunkMetaData::builder(self.descriptor.clone())
            .set_encodings(self.encodings)
            .set_compression(self.compression)
            .set_num_values(self.rows as i64)
            .set_total_compressed_size(bytes.len() as i64)
            .set_total_uncompressed_size(self.uncompressed_bytes as i64)
            .set_data_page_offset(dictionary_len)
            .set_statistics(self.dictionary.statistics(self.nulls));
        if dictionary_len > 0 {
            metadata = metadata.set_dictionary_page_offset(Some(0));
        }
        let page_locations = self
            .locations
            .iter()
            .map(|location| PageLocation { offset: location.offset + dictionary_len, ..location.clone() })
            .collect();
        let close = ColumnCloseResult {
            bytes_written: bytes.len() as u64,
            rows_written: self.rows as u64,
            metadata: metadata.build()?,
            bloom_filter: None,
            column_index: None,
            offset_index: Some(OffsetIndexMetaData { page_locations, unencoded_byte_array_data_bytes: None }),
        };
        row_group.append_column(&bytes, close)
    }
}

/// Compresses `data` as one zstd frame. A context costs more to set up than a page
/// costs to compress: each thread keeps one, whatever column it encodes.
fn compress_zstd(data: &[u8], level: i32) -> Result<Bytes, ParquetError> {
    thread_local! {
        static COMPRESSOR: std::cell::RefCell<Option<(i32, zstd::bulk::Compressor<'static>)>> =
            const { std::cell::RefCell::new(None) };
    }
    COMPRESSOR.with_borrow_mut(|slot| {
        let compressor = match slot {
            Some((kept, compressor)) if *kept == level => compressor,
            _ => &mut slot.insert((level, zstd::bulk::Compressor::new(level)?)).1,
        };
        Ok(Bytes::from(compressor.compress(data)?))
    })
}

/// Bits needed to write `max`.
fn bit_width(max: u32) -> u8 {
    (32 - max.leading_zeros()) as u8
}

/// Parquet's RLE / bit-packed hybrid encoding of `values`, each `width` bits: a repeat
/// of at least eight values as one run, the rest bit-packed eight at a time.
fn encode_hybrid<T: Copy + Into<u32> + PartialEq>(values: &[T], width: u8, out: &mut Vec<u8>) {
    let repeats = |at: usize| values[at..].iter().take_while(|&&v| v == values[at]).count();
    let mut at = 0;
    while at < values.len() {
        let run = repeats(at);
        if run >= 8 {
            write_varint((run as u64) << 1, out);
            let value = values[at].into();
            out.extend_from_slice(&value.to_le_bytes()[..usize::from(width).div_ceil(8)]);
            at += run;
            continue;
        }
        // Groups of eight until a long repeat starts; the last group is padded with zeros.
        let start = at;
        at += 8;
        while at < values.len() && repeats(at) < 8 {
            at += 8;
        }
        let end = at.min(values.len());
        write_varint((((end - start).div_ceil(8)) as u64) << 1 | 1, out);
        let mut bits: u64 = 0;
        let mut held = 0;
        for index in start..start + (end - start).div_ceil(8) * 8 {
            let value: u32 = values.get(index).map_or(0, |&v| v.into());
            bits |= u64::from(value) << held;
            held += u32::from(width);
            while held >= 8 {
                out.push(bits as u8);
                bits >>= 8;
                held -= 8;
            }
        }
        at = end;
    }
}

fn write_varint(mut value: u64, out: &mut Vec<u8>) {
    while value >= 0x80 {
        out.push(value as u8 | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

#[cfg(test)]
mod tests {
    use std::fs::File;
    use std::sync::Arc;

    use arrow::array::{Int16Array, Int32Array, Int64Array, StringArray, UInt8Array};
    use arrow::compute::cast;
    use arrow::datatypes::{Field, Schema};
    use arrow::record_batch::RecordBatch;
    use parquet::arrow::arrow_reader::{ArrowReaderOptions, ParquetRecordBatchReaderBuilder};
    use parquet::basic::{PageType, ZstdLevel};
    use parquet::file::metadata::PageIndexPolicy;
    use parquet::file::reader::{FileReader, SerializedFileReader};
    use proptest::prelude::*;

    use super::*;
    use crate::sink::{FileSettings, ParquetSink};

    fn dictionary_type(key: DataType) -> DataType {
        DataType::Dictionary(Box::new(key), Box::new(DataType::Utf8))
    }

    /// A dictionary column of `rows` (None: null) over `values`, with `Int32` keys.
    fn column(values: &[&str], rows: &[Option<usize>]) -> ArrayRef {
        let keys: arrow::array::Int32Array = rows.iter().map(|row| row.map(|key| key as i32)).collect();
        Arc::new(DictionaryArray::try_new(keys, Arc::new(StringArray::from(values.to_vec()))).unwrap())
    }

    /// Writes `batches` through the sink, into a file that lives as long as the directory.
    fn write(batches: &[RecordBatch], compression: Compression) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.parquet");
        let settings = FileSettings::new(compression, vec![]);
        let mut sink = ParquetSink::create(&target, batches[0].schema(), &settings).unwrap();
        for batch in batches {
            sink.write(batch).unwrap();
        }
        sink.finish().unwrap();
        (dir, target)
    }

    /// Writes `batches` through the sink and reads the column back, as strings, with the
    /// page index loaded.
    fn round_trip(batches: &[RecordBatch], compression: Compression) -> Vec<Option<String>> {
        let (_dir, target) = write(batches, compression);
        // The offset index is written for these columns, the column index is not.
        let options = ArrowReaderOptions::new()
            .with_offset_index_policy(PageIndexPolicy::Required)
            .with_column_index_policy(PageIndexPolicy::Optional);
        let reader = ParquetRecordBatchReaderBuilder::try_new_with_options(File::open(&target).unwrap(), options)
            .unwrap()
            .build()
            .unwrap();
        let mut read = Vec::new();
        for batch in reader {
            let strings = cast(batch.unwrap().column(0), &DataType::Utf8).unwrap();
            read.extend(strings.as_string::<i32>().iter().map(|v| v.map(str::to_string)));
        }
        read
    }

    fn expected(batches: &[RecordBatch]) -> Vec<Option<String>> {
        let mut all = Vec::new();
        for batch in batches {
            let strings = cast(batch.column(0), &DataType::Utf8).unwrap();
            all.extend(strings.as_string::<i32>().iter().map(|v| v.map(str::to_string)));
        }
        all
    }

    fn batch_of(column: ArrayRef) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![Field::new("name", column.data_type().clone(), true)]));
        RecordBatch::try_new(schema, vec![column]).unwrap()
    }

    #[test]
    fn the_sink_takes_names_and_signed_integers_under_zstd_or_no_compression() {
        let zstd = Compression::ZSTD(ZstdLevel::try_new(1).unwrap());
        assert!(handles(&dictionary_type(DataType::Int32), zstd));
        assert!(handles(&dictionary_type(DataType::UInt8), Compression::UNCOMPRESSED));
        assert!(!handles(&dictionary_type(DataType::Int64), zstd));
        assert!(handles(&DataType::Int16, zstd));
        assert!(!handles(&DataType::UInt64, zstd));
        assert!(!handles(&DataType::Utf8, zstd));
        assert!(!handles(&dictionary_type(DataType::Int32), Compression::SNAPPY));
    }

    #[test]
    fn pages_nulls_batches_and_slices_read_back_as_written() {
        let zstd = Compression::ZSTD(ZstdLevel::try_new(1).unwrap());
        // Three data pages and a bit: runs, alternations, nulls, a value used only later.
        let rows: Vec<Option<usize>> = (0..65_000)
            .map(|i| match i % 7 {
                0 => None,
                1 | 2 => Some(0),
                _ if i > 50_000 => Some(3),
                _ => Some((i / 1000) % 3),
            })
            .collect();
        let values = ["be_app", "be_api", "", "late"];
        let first = batch_of(column(&values, &rows));
        // Another batch with its own dictionary, in another order, sliced so that a
        // value of its dictionary is never used.
        let second = batch_of(column(&["unused", "late", "be_api"], &[Some(1), Some(2), None, Some(0)])).slice(1, 2);
        let nulls = batch_of(column(&["x"], &[None; 30_000]));
        for compression in [zstd, Compression::UNCOMPRESSED] {
            let batches = [first.clone(), second.clone(), nulls.clone()];
            assert_eq!(round_trip(&batches, compression), expected(&batches));
        }
        // A column of nulls only: no dictionary page at all.
        assert_eq!(round_trip(std::slice::from_ref(&nulls), zstd), vec![None; 30_000]);
    }

    fn statistics(target: &std::path::Path) -> Statistics {
        let reader = SerializedFileReader::new(File::open(target).unwrap()).unwrap();
        reader.metadata().row_group(0).column(0).statistics().unwrap().clone()
    }

    /// The encoding of each data page of the file's first column.
    fn data_page_encodings(target: &std::path::Path) -> Vec<Encoding> {
        let reader = SerializedFileReader::new(File::open(target).unwrap()).unwrap();
        let pages = reader.get_row_group(0).unwrap().get_column_page_reader(0).unwrap();
        pages
            .map(|page| page.unwrap())
            .filter(|page| page.page_type() != PageType::DICTIONARY_PAGE)
            .map(|page| page.encoding())
            .collect()
    }

    #[test]
    fn statistics_cover_the_values_used_and_count_the_nulls() {
        let batch = batch_of(column(&["zz", "b", "a", "ab"], &[Some(1), None, Some(3), Some(1), Some(2)])).slice(0, 4);
        let (_dir, target) = write(&[batch], Compression::UNCOMPRESSED);
        let statistics = statistics(&target);
        assert_eq!(statistics.min_bytes_opt(), Some(&b"ab"[..]));
        assert_eq!(statistics.max_bytes_opt(), Some(&b"b"[..]));
        assert_eq!(statistics.null_count_opt(), Some(1));
    }

    #[test]
    fn integers_of_every_width_read_back_with_their_bounds() {
        let zstd = Compression::ZSTD(ZstdLevel::try_new(1).unwrap());
        let int16: ArrayRef = Arc::new(Int16Array::from(vec![Some(200), None, Some(-1), Some(200), Some(504)]));
        let int32: ArrayRef = Arc::new(Int32Array::from(vec![None, Some(i32::MIN), Some(7), Some(i32::MAX)]));
        let int64: ArrayRef = Arc::new(Int64Array::from(vec![Some(-5), Some(1 << 40), None, None]));
        for column in [int16, int32, int64] {
            let batch = batch_of(column);
            assert_eq!(round_trip(std::slice::from_ref(&batch), zstd), expected(std::slice::from_ref(&batch)));
            let (_dir, target) = write(&[batch], zstd);
            let (min, max) = match statistics(&target) {
                Statistics::Int32(s) => (i64::from(*s.min_opt().unwrap()), i64::from(*s.max_opt().unwrap())),
                Statistics::Int64(s) => (*s.min_opt().unwrap(), *s.max_opt().unwrap()),
                other => panic!("{other:?}"),
            };
            assert!([(-1, 504), (i64::from(i32::MIN), i64::from(i32::MAX)), (-5, 1 << 40)].contains(&(min, max)));
        }
    }

    #[test]
    fn integers_past_a_mebibyte_of_dictionary_go_on_plain() {
        // The file's first rows repeat, so the sink gives the column a dictionary; then
        // 160 000 distinct 8-byte values: the dictionary stops past 131 072 (1 MiB).
        let repeating = batch_of(Arc::new(Int64Array::from_iter_values((0..70_000i64).map(|i| i % 100))));
        let values: Vec<Option<i64>> = (0..200_000i64).map(|i| (i % 5 != 4).then_some(i * 1_000_003 - 7)).collect();
        let batches = [repeating, batch_of(Arc::new(Int64Array::from(values)))];
        let (_dir, target) = write(&batches, Compression::UNCOMPRESSED);
        let encodings = data_page_encodings(&target);
        assert_eq!(encodings.first(), Some(&Encoding::RLE_DICTIONARY));
        assert_eq!(encodings.last(), Some(&Encoding::PLAIN));
        assert_eq!(round_trip(&batches, Compression::UNCOMPRESSED), expected(&batches));
        let Statistics::Int64(bounds) = statistics(&target) else { panic!("INT64 statistics") };
        assert_eq!((*bounds.min_opt().unwrap(), *bounds.max_opt().unwrap()), (-7, 199_998 * 1_000_003 - 7));
        assert_eq!(bounds.null_count_opt(), Some(40_000));
    }

    #[test]
    fn a_key_pointing_at_a_null_value_is_a_null_row() {
        let keys = arrow::array::Int32Array::from(vec![Some(0), Some(1), None, Some(0)]);
        let values = Arc::new(StringArray::from(vec![Some("GET"), None]));
        let batch = batch_of(Arc::new(DictionaryArray::try_new(keys, values).unwrap()));
        let read = round_trip(std::slice::from_ref(&batch), Compression::UNCOMPRESSED);
        assert_eq!(read, vec![Some("GET".to_string()), None, None, Some("GET".to_string())]);
    }

    #[test]
    fn single_byte_keys_as_the_termination_columns_have() {
        let keys = UInt8Array::from(vec![Some(2), Some(0), None, Some(2), Some(1)]);
        let values = Arc::new(StringArray::from(vec!["client_abort", "normal", "server_timeout"]));
        let batch = batch_of(Arc::new(DictionaryArray::try_new(keys, values).unwrap()));
        assert_eq!(round_trip(std::slice::from_ref(&batch), Compression::UNCOMPRESSED), expected(&[batch]));
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

        /// Any keys over any number of values (so every bit width up to 9, and runs of
        /// every length) read back as written.
        #[test]
        fn any_keys_read_back_as_written(
            distinct in 1usize..400,
            rows in proptest::collection::vec(proptest::option::weighted(0.9, 0usize..400), 1..3000),
            run in 0usize..40,
        ) {
            let values: Vec<String> = (0..distinct).map(|v| format!("v{v}")).collect();
            let values: Vec<&str> = values.iter().map(String::as_str).collect();
            // Stretch each row into a run, so long repeats and short ones both occur.
            let rows: Vec<Option<usize>> = rows
                .iter()
                .enumerate()
                .flat_map(|(i, row)| std::iter::repeat_n(row.map(|key| key % distinct), 1 + (i * run) % 17))
                .collect();
            let batch = batch_of(column(&values, &rows));
            prop_assert_eq!(
                round_trip(std::slice::from_ref(&batch), Compression::UNCOMPRESSED),
                expected(&[batch])
            );
        }
    }
}
