//! Dictionary columns written to Parquet from their Arrow dictionaries.
//!
//! arrow-rs builds a column's Parquet dictionary by hashing every row's value again, even
//! when the column arrives as an Arrow dictionary (apache/arrow-rs#10465): about a tenth
//! of a conversion. Here a batch's few distinct values are looked up once each, and a row
//! costs the translation of its key. The chunk is what arrow-rs writes for such a column:
//! a PLAIN dictionary page, then v1 data pages of RLE_DICTIONARY keys after RLE
//! definition levels, with chunk statistics and an offset index.

use std::collections::HashMap;
use std::io::Write as _;

use arrow::array::{Array, ArrayRef, AsArray, DictionaryArray};
use arrow::datatypes::ArrowNativeType;
use arrow::datatypes::{ArrowDictionaryKeyType, DataType, Int32Type, UInt8Type};
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

/// Whether `data_type` and `compression` are what [`DictionaryChunk`] writes.
pub fn handles(data_type: &DataType, compression: Compression) -> bool {
    let keys_and_values = matches!(
        data_type,
        DataType::Dictionary(key, value)
            if matches!(key.as_ref(), DataType::Int32 | DataType::UInt8) && value.as_ref() == &DataType::Utf8
    );
    keys_and_values && matches!(compression, Compression::ZSTD(_) | Compression::UNCOMPRESSED)
}

/// One column chunk of a dictionary column, built a batch at a time.
pub struct DictionaryChunk {
    descriptor: ColumnDescPtr,
    compression: Compression,
    /// The chunk's dictionary: each value once, in key order.
    values: Vec<Vec<u8>>,
    keys: HashMap<Vec<u8>, u32>,
    /// The page being gathered: a definition level per row, a key per non-null row.
    levels: Vec<u8>,
    page_keys: Vec<u32>,
    /// The data pages written so far, and where each one starts.
    pages: TrackedWrite<Vec<u8>>,
    locations: Vec<PageLocation>,
    uncompressed_bytes: usize,
    rows: usize,
    nulls: u64,
    /// Reused between pages.
    body: Vec<u8>,
}

impl DictionaryChunk {
    pub fn new(descriptor: ColumnDescPtr, compression: Compression) -> DictionaryChunk {
        DictionaryChunk {
            descriptor,
            compression,
            values: Vec::new(),
            keys: HashMap::new(),
            levels: Vec::with_capacity(PAGE_ROWS),
            page_keys: Vec::with_capacity(PAGE_ROWS),
            pages: TrackedWrite::new(Vec::new()),
            locations: Vec::new(),
            uncompressed_bytes: 0,
            rows: 0,
            nulls: 0,
            body: Vec::new(),
        }
    }

    pub fn write(&mut self, column: &ArrayRef) -> Result<(), ParquetError> {
        match column.data_type() {
            DataType::Dictionary(key, _) if key.as_ref() == &DataType::Int32 => {
                self.write_keys(column.as_dictionary::<Int32Type>())
            }
            DataType::Dictionary(key, _) if key.as_ref() == &DataType::UInt8 => {
                self.write_keys(column.as_dictionary::<UInt8Type>())
            }
            other => Err(ParquetError::General(format!("not a dictionary column this writer takes: {other}"))),
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
                    chunk_key = self.intern(values.value(key).as_bytes());
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

    fn intern(&mut self, value: &[u8]) -> u32 {
        if let Some(&key) = self.keys.get(value) {
            return key;
        }
        let key = self.values.len() as u32;
        self.values.push(value.to_vec());
        self.keys.insert(value.to_vec(), key);
        key
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
        // A page of nulls only has no keys: PLAIN, with no value bytes, needs no
        // dictionary (the whole chunk may be null, and then has none).
        let encoding = if self.page_keys.is_empty() {
            Encoding::PLAIN
        } else {
            let width = bit_width(self.values.len().saturating_sub(1) as u32);
            self.body.push(width);
            encode_hybrid(&self.page_keys, width, &mut self.body);
            Encoding::RLE_DICTIONARY
        };
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
        Ok(())
    }

    fn compress(&self) -> Result<Bytes, ParquetError> {
        match self.compression {
            Compression::ZSTD(level) => zstd::bulk::compress(&self.body, level.compression_level())
                .map(Bytes::from)
                .map_err(|error| ParquetError::External(Box::new(error))),
            _ => Ok(Bytes::copy_from_slice(&self.body)),
        }
    }

    /// Adds the chunk to `row_group`: the dictionary page, then the data pages.
    pub fn append_to<W: std::io::Write + Send>(
        mut self,
        row_group: &mut SerializedRowGroupWriter<'_, W>,
    ) -> Result<(), ParquetError> {
        self.flush_page()?;
        let mut chunk = TrackedWrite::new(Vec::new());
        let mut encodings = vec![Encoding::RLE];
        let dictionary_len = if self.values.is_empty() {
            encodings.push(Encoding::PLAIN);
            0
        } else {
            self.body.clear();
            for value in &self.values {
                self.body.extend_from_slice(&(value.len() as u32).to_le_bytes());
                self.body.extend_from_slice(value);
            }
            let page = Page::DictionaryPage {
                buf: self.compress()?,
                num_values: self.values.len() as u32,
                encoding: Encoding::PLAIN,
                is_sorted: false,
            };
            let spec = SerializedPageWriter::new(&mut chunk).write_page(CompressedPage::new(page, self.body.len()))?;
            self.uncompressed_bytes += spec.uncompressed_size;
            encodings.extend([Encoding::PLAIN, Encoding::RLE_DICTIONARY]);
            spec.bytes_written as i64
        };
        chunk.write_all(&self.pages.into_inner()?)?;
        let bytes = Bytes::from(chunk.into_inner()?);

        // Strings compare as unsigned bytes, as Parquet orders UTF8.
        let min = self.values.iter().min().map(|v| ByteArray::from(v.clone()));
        let max = self.values.iter().max().map(|v| ByteArray::from(v.clone()));
        let statistics = Statistics::ByteArray(ValueStatistics::new(min, max, None, Some(self.nulls), false));
        let mut metadata = ColumnChunkMetaData::builder(self.descriptor.clone())
            .set_encodings(encodings)
            .set_compression(self.compression)
            .set_num_values(self.rows as i64)
            .set_total_compressed_size(bytes.len() as i64)
            .set_total_uncompressed_size(self.uncompressed_bytes as i64)
            .set_data_page_offset(dictionary_len)
            .set_statistics(statistics);
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

    use arrow::array::{StringArray, UInt8Array};
    use arrow::compute::cast;
    use arrow::datatypes::{Field, Schema};
    use arrow::record_batch::RecordBatch;
    use parquet::arrow::arrow_reader::{ArrowReaderOptions, ParquetRecordBatchReaderBuilder};
    use parquet::basic::ZstdLevel;
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

    /// Writes `batches` through the sink and reads the column back, as strings, with the
    /// page index loaded.
    fn round_trip(batches: &[RecordBatch], compression: Compression) -> Vec<Option<String>> {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.parquet");
        let settings = FileSettings::new(compression, vec![]);
        let mut sink = ParquetSink::create(&target, batches[0].schema(), &settings).unwrap();
        for batch in batches {
            sink.write(batch).unwrap();
        }
        sink.finish().unwrap();
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
    fn the_sink_takes_dictionaries_of_strings_under_zstd_or_no_compression() {
        let zstd = Compression::ZSTD(ZstdLevel::try_new(1).unwrap());
        assert!(handles(&dictionary_type(DataType::Int32), zstd));
        assert!(handles(&dictionary_type(DataType::UInt8), Compression::UNCOMPRESSED));
        assert!(!handles(&dictionary_type(DataType::Int64), zstd));
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

    #[test]
    fn statistics_cover_the_values_used_and_count_the_nulls() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.parquet");
        let batch = batch_of(column(&["zz", "b", "a", "ab"], &[Some(1), None, Some(3), Some(1), Some(2)])).slice(0, 4);
        let settings = FileSettings::new(Compression::UNCOMPRESSED, vec![]);
        let mut sink = ParquetSink::create(&target, batch.schema(), &settings).unwrap();
        sink.write(&batch).unwrap();
        sink.finish().unwrap();
        let reader = SerializedFileReader::new(File::open(&target).unwrap()).unwrap();
        let statistics = reader.metadata().row_group(0).column(0).statistics().unwrap().clone();
        assert_eq!(statistics.min_bytes_opt(), Some(&b"ab"[..]));
        assert_eq!(statistics.max_bytes_opt(), Some(&b"b"[..]));
        assert_eq!(statistics.null_count_opt(), Some(1));
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
