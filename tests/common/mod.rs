//! Helpers shared by the integration tests: run the real binary, read its Parquet back.
#![allow(dead_code)]

pub mod faults;
pub mod haproxy;
pub mod s3;

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use arrow::array::RecordBatch;
use arrow::util::display::{ArrayFormatter, FormatOptions};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

pub fn corpus(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus").join(name)
}

pub fn halake(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_halake")).args(args).output().expect("run halake")
}

/// Runs `halake convert` and fails the test, with halake's stderr, if it fails.
pub fn convert(inputs: &[&Path], output: &Path, extra: &[&str]) -> String {
    let mut args: Vec<String> = vec!["convert".into()];
    args.extend(inputs.iter().map(|p| p.display().to_string()));
    args.extend(["-o".to_string(), output.display().to_string()]);
    args.extend(extra.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = halake(&args);
    assert!(result.status.success(), "halake {args:?} failed:\n{}", String::from_utf8_lossy(&result.stderr));
    String::from_utf8(result.stdout).expect("UTF-8 summary")
}

pub fn read_parquet(path: &Path) -> Vec<RecordBatch> {
    let file = File::open(path).unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    ParquetRecordBatchReaderBuilder::try_new(file)
        .expect("parquet footer")
        .build()
        .expect("reader")
        .collect::<Result<Vec<_>, _>>()
        .expect("batches")
}

/// Every row as column name → displayed value (`None` for null).
pub type Record = HashMap<String, Option<String>>;

pub fn records(path: &Path) -> Vec<Record> {
    let options = FormatOptions::default();
    let mut records = Vec::new();
    for batch in read_parquet(path) {
        let schema = batch.schema();
        let formatters: Vec<_> =
            batch.columns().iter().map(|c| ArrayFormatter::try_new(c.as_ref(), &options).expect("formatter")).collect();
        for row in 0..batch.num_rows() {
            let mut record = Record::new();
            for (i, field) in schema.fields().iter().enumerate() {
                let value = (!batch.column(i).is_null(row)).then(|| formatters[i].value(row).to_string());
                record.insert(field.name().clone(), value);
            }
            records.push(record);
        }
    }
    records
}

/// The `lines = rows + events + rejects` line of a convert summary.
pub fn reconciliation(summary: &str) -> (u64, u64, u64, u64) {
    let line =
        summary.lines().find(|l| l.starts_with("lines ")).unwrap_or_else(|| panic!("no reconciliation in:\n{summary}"));
    let numbers: Vec<u64> = line.split_whitespace().filter_map(|w| w.parse().ok()).collect();
    assert_eq!(numbers.len(), 4, "{line}");
    assert_eq!(numbers[0], numbers[1] + numbers[2] + numbers[3], "{line}");
    (numbers[0], numbers[1], numbers[2], numbers[3])
}

/// A report's rows as CSV lines, header dropped.
pub fn report(name: &str, input: &Path) -> Vec<String> {
    let output = halake(&["report", name, input.to_str().unwrap(), "--format", "csv"]);
    assert!(output.status.success(), "report {name}: {}", String::from_utf8_lossy(&output.stderr));
    let text = String::from_utf8(output.stdout).unwrap();
    text.lines().skip(1).map(str::to_string).collect()
}

/// The first `count` comma-separated fields of a CSV line.
pub fn fields(line: &str, count: usize) -> Vec<String> {
    line.split(',').take(count).map(str::to_string).collect()
}

/// halog's rows: its output without the `#` lines, the line-count line and what it
/// said about lines it skipped.
pub fn halog_rows(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.contains(" lines in, ") && !line.starts_with("Truncated line"))
        .map(|line| line.split_whitespace().map(str::to_string).collect())
        .collect()
}
