//! Query results written out: an aligned table for people, CSV, JSON or Parquet for
//! programs.

use std::io::Write;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, StringBuilder};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::error::ArrowError;
use arrow::record_batch::RecordBatch;
use arrow::util::display::{ArrayFormatter, FormatOptions};
use parquet::arrow::ArrowWriter;

use super::QueryResult;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// Aligned columns, for a terminal.
    Table,
    Csv,
    /// One JSON array of objects.
    Json,
    /// One JSON object per line.
    Ndjson,
    /// A Parquet file (needs -o).
    Parquet,
}

/// Writes `result` as `format`. A table shows at most `max_rows` rows and says so when
/// it cut some.
pub fn write<W: Write + Send>(
    result: &QueryResult,
    format: OutputFormat,
    max_rows: Option<usize>,
    mut out: W,
) -> Result<(), ArrowError> {
    match format {
        OutputFormat::Table => write_table(result, max_rows, &mut out),
        OutputFormat::Csv => {
            let mut writer = arrow::csv::WriterBuilder::new().with_header(true).build(&mut out);
            for batch in &result.batches {
                writer.write(&flatten(batch)?)?;
            }
            if result.batches.is_empty() {
                // Still name the columns.
                writer.write(&RecordBatch::new_empty(flat_schema(&result.schema)))?;
            }
            Ok(())
        }
        OutputFormat::Json => {
            let mut writer = arrow::json::ArrayWriter::new(&mut out);
            for batch in &result.batches {
                writer.write(&plain(batch)?)?;
            }
            writer.finish()
        }
        OutputFormat::Ndjson => {
            let mut writer = arrow::json::LineDelimitedWriter::new(&mut out);
            for batch in &result.batches {
                writer.write(&plain(batch)?)?;
            }
            writer.finish()
        }
        OutputFormat::Parquet => {
            let mut writer = ArrowWriter::try_new(&mut out, result.schema.clone(), None)?;
            for batch in &result.batches {
                writer.write(batch)?;
            }
            writer.close()?;
            Ok(())
        }
    }
}

fn write_table(result: &QueryResult, max_rows: Option<usize>, out: &mut dyn Write) -> Result<(), ArrowError> {
    let total = result.rows();
    let shown = max_rows.map_or(total, |limit| limit.min(total));
    let mut batches = Vec::new();
    let mut left = shown;
    for batch in &result.batches {
        if left == 0 {
            break;
        }
        let take = left.min(batch.num_rows());
        batches.push(batch.slice(0, take));
        left -= take;
    }
    let table = if batches.is_empty() {
        arrow::util::pretty::pretty_format_batches(&[RecordBatch::new_empty(result.schema.clone())])?
    } else {
        arrow::util::pretty::pretty_format_batches(&batches)?
    };
    let io = |e: std::io::Error| ArrowError::IoError(e.to_string(), e);
    writeln!(out, "{table}").map_err(io)?;
    if shown < total {
        writeln!(out, "{shown} of {total} rows shown (--max-rows 0 shows all)").map_err(io)?;
    } else {
        writeln!(out, "{total} row{}", if total == 1 { "" } else { "s" }).map_err(io)?;
    }
    Ok(())
}

/// Dictionary columns as their values: JSON has no dictionaries.
fn plain(batch: &RecordBatch) -> Result<RecordBatch, ArrowError> {
    convert(batch, |array| match array.data_type() {
        DataType::Dictionary(_, value) => cast(array, value).map(Some),
        _ => Ok(None),
    })
}

/// Every column a CSV cell can hold: dictionaries as values, lists as their display text.
fn flatten(batch: &RecordBatch) -> Result<RecordBatch, ArrowError> {
    convert(batch, |array| match array.data_type() {
        DataType::Dictionary(_, value) => cast(array, value).map(Some),
        DataType::List(_) | DataType::LargeList(_) | DataType::Struct(_) | DataType::Map(..) => {
            let formatter = ArrayFormatter::try_new(array.as_ref(), &FormatOptions::default())?;
            let mut text = StringBuilder::new();
            for row in 0..array.len() {
                if array.is_null(row) {
                    text.append_null();
                } else {
                    text.append_value(formatter.value(row).to_string());
                }
            }
            Ok(Some(Arc::new(text.finish()) as ArrayRef))
        }
        _ => Ok(None),
    })
}

fn flat_schema(schema: &SchemaRef) -> SchemaRef {
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|field| match field.data_type() {
            DataType::Dictionary(_, value) => field.as_ref().clone().with_data_type(value.as_ref().clone()),
            DataType::List(_) | DataType::LargeList(_) | DataType::Struct(_) | DataType::Map(..) => {
                field.as_ref().clone().with_data_type(DataType::Utf8)
            }
            _ => field.as_ref().clone(),
        })
        .collect();
    Arc::new(Schema::new(fields))
}

fn convert(
    batch: &RecordBatch,
    change: impl Fn(&ArrayRef) -> Result<Option<ArrayRef>, ArrowError>,
) -> Result<RecordBatch, ArrowError> {
    let mut fields = Vec::new();
    let mut columns = Vec::new();
    for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
        match change(column)? {
            Some(changed) => {
                fields.push(field.as_ref().clone().with_data_type(changed.data_type().clone()));
                columns.push(changed);
            }
            None => {
                fields.push(field.as_ref().clone());
                columns.push(column.clone());
            }
        }
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
}
