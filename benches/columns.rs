//! What each column costs to encode: reads a Parquet file halake wrote and writes each
//! column alone through halake's Parquet sink, timing it and measuring its bytes.
//!
//! cargo bench --bench columns -- FILE.parquet

use std::fs::File;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow::array::RecordBatch;
use arrow::datatypes::Schema;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::{Compression, ZstdLevel};

use halake::sink::{FileSettings, ParquetSink};

fn main() {
    let Some(path) = std::env::args().skip(1).find(|arg| !arg.starts_with('-')) else {
        eprintln!("usage: cargo bench --bench columns -- FILE.parquet");
        return;
    };
    let reader = ParquetRecordBatchReaderBuilder::try_new(File::open(&path).expect("open"))
        .expect("parquet file")
        .with_batch_size(64 * 1024)
        .build()
        .expect("reader");
    let batches: Vec<RecordBatch> = reader.map(|batch| batch.expect("batch")).collect();
    let schema = batches[0].schema();
    let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
    let settings = FileSettings::new(Compression::ZSTD(ZstdLevel::try_new(1).expect("level")), vec![]);
    let scratch = tempfile::tempdir().expect("scratch directory");
    let target = scratch.path().join("column.parquet");
    let mut costs = Vec::new();
    for (index, field) in schema.fields().iter().enumerate() {
        let column_schema = Arc::new(Schema::new(vec![field.as_ref().clone()]));
        let started = Instant::now();
        let mut sink = ParquetSink::create(&target, column_schema.clone(), &settings).expect("sink");
        for batch in &batches {
            let column =
                RecordBatch::try_new(column_schema.clone(), vec![batch.column(index).clone()]).expect("column");
            sink.write(&column).expect("write");
        }
        sink.finish().expect("finish");
        let bytes = std::fs::metadata(&target).expect("written").len() as usize;
        costs.push((field.name().clone(), started.elapsed(), bytes));
    }
    let total_time: Duration = costs.iter().map(|(_, time, _)| *time).sum();
    let total_bytes: usize = costs.iter().map(|(_, _, bytes)| bytes).sum();
    costs.sort_by_key(|(_, time, _)| std::cmp::Reverse(*time));
    println!("{rows} rows; encoding every column alone took {:.2} s, {} bytes", total_time.as_secs_f64(), total_bytes);
    println!("{:<28} {:>9} {:>7} {:>12} {:>7}", "column", "ms", "time %", "bytes", "size %");
    for (name, time, bytes) in costs {
        println!(
            "{name:<28} {:>9.1} {:>6.1}% {bytes:>12} {:>6.1}%",
            time.as_secs_f64() * 1e3,
            time.as_secs_f64() * 100.0 / total_time.as_secs_f64(),
            bytes as f64 * 100.0 / total_bytes as f64
        );
    }
}
