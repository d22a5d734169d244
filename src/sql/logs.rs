//! Raw log files as a DataFusion table: no conversion step.
//!
//! A scan splits the inputs into the convert pipeline's newline-aligned chunks and
//! deals them out to the query's partitions, which parse them on blocking threads in
//! parallel. Only the columns the query reads are built, and a partition stops as soon
//! as the query stops asking (a `LIMIT` that is satisfied drops the stream). A filter
//! that asks for times from some instant on skips the files last written well before it
//! (the rotated months of an archive), unread.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use arrow::array::TimestampMillisecondArray;
use arrow::compute::{max, min};
use arrow::datatypes::SchemaRef;
use async_trait::async_trait;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::stats::Precision;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{ScalarValue, Statistics};
use datafusion::error::Result;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::{Between, BinaryExpr, Expr, Operator, TableProviderFilterPushDown, TableType};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_plan::stream::RecordBatchReceiverStreamBuilder;
use datafusion::physical_plan::streaming::{PartitionStream, StreamingTableExec};
use datafusion::physical_plan::{DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties};

use crate::input::{InputPath, Opened, count_lines, modified_ms, plain_size};
use crate::parse::Catalogue;
use crate::parse::date::LocalZone;
use crate::parse::value::{StaticText, leak_text};
use crate::pipeline::{ChunkJob, ParseContext, parse_chunk};
use crate::schema::{self, Col};

/// Lines the scans of a log table read that are not rows (events, rejects), and inputs
/// they could not read to the end, for the notes after a query: the user should know
/// what was left out.
#[derive(Debug, Default)]
pub struct ScanCounts {
    pub events: AtomicU64,
    pub rejects: AtomicU64,
    /// One message per input that failed (unreadable, corrupt, truncated while read): the
    /// query answers over what came before, as a conversion keeps it.
    unread: Mutex<Vec<String>>,
    /// Inputs (by position) that a time filter let a scan skip.
    skipped: Mutex<BTreeSet<usize>>,
}

impl ScanCounts {
    /// Zero before each statement, so the notes speak of that statement's scans.
    pub fn reset(&self) {
        self.events.store(0, Ordering::Relaxed);
        self.rejects.store(0, Ordering::Relaxed);
        self.unread.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clear();
        self.skipped.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clear();
    }

    /// How many inputs the time filters of the last run's scans let one of them skip.
    pub fn skipped_inputs(&self) -> usize {
        self.skipped.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).len()
    }

    /// The inputs the last statement could not read completely, and why.
    pub fn unread(&self) -> Vec<String> {
        self.unread.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    fn report_unread(&self, message: String) {
        let mut unread = self.unread.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        // Every partition opens every mapped file: say it once.
        if !unread.contains(&message) {
            unread.push(message);
        }
    }
}

/// Log files (plain, gzip, zstd, or stdin) read as the traffic table.
#[derive(Debug)]
pub struct LogTable {
    shared: Arc<Shared>,
    schema: SchemaRef,
}

struct Shared {
    inputs: Vec<InputPath>,
    /// The inputs' names as rows record them: made once, whatever the scans.
    names: Vec<StaticText>,
    catalogue: Catalogue,
    zone: LocalZone,
    chunk_size: usize,
    counts: Arc<ScanCounts>,
}

impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LogTable").field("inputs", &self.inputs.len()).finish_non_exhaustive()
    }
}

impl LogTable {
    pub fn new(
        inputs: Vec<InputPath>,
        catalogue: Catalogue,
        zone: LocalZone,
        chunk_size: usize,
        counts: Arc<ScanCounts>,
    ) -> LogTable {
        let schema = Arc::new(schema::arrow_schema(catalogue.column_specs()));
        let names = inputs.iter().map(|input| leak_text(input.display())).collect();
        LogTable { shared: Arc::new(Shared { inputs, names, catalogue, zone, chunk_size, counts }), schema }
    }
}

#[async_trait]
impl TableProvider for LogTable {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    /// Time filters choose the files; DataFusion still applies them to every row.
    fn supports_filters_pushdown(&self, filters: &[&Expr]) -> Result<Vec<TableProviderFilterPushDown>> {
        Ok(filters
            .iter()
            .map(|filter| match earliest_time(filter) {
                Some(_) => TableProviderFilterPushDown::Inexact,
                None => TableProviderFilterPushDown::Unsupported,
            })
            .collect())
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let skip = match filters.iter().filter_map(earliest_time).max() {
            Some(since_micros) => self.written_before(since_micros),
            None => vec![false; self.shared.inputs.len()],
        };
        let skip: Arc<[bool]> = skip.into();
        let projection = scanned_columns(projection, &self.schema);
        let projected = Arc::new(self.schema.project(&projection)?);
        let count = state.config().target_partitions().max(1);
        let partitions: Vec<Arc<dyn PartitionStream>> = (0..count)
            .map(|part| {
                Arc::new(LogPartition {
                    shared: self.shared.clone(),
                    schema: projected.clone(),
                    projection: projection.clone(),
                    skip: skip.clone(),
                    part,
                    count,
                }) as Arc<dyn PartitionStream>
            })
            .collect();
        let scan = Arc::new(StreamingTableExec::try_new(projected, partitions, None, [], false, limit)?);
        Ok(Arc::new(EstimatedScan { scan, rows: self.estimated_rows(&skip) }))
    }
}

impl LogTable {
    /// Parses partition `part` of `count` into the columns `projection`, handing each
    /// batch to `send` (false: nobody listens any more), as one scan: the shared scan of
    /// several queries ([`super::shared`]).
    pub(super) fn scan_into(
        &self,
        projection: Vec<usize>,
        part: usize,
        count: usize,
        send: impl FnMut(arrow::record_batch::RecordBatch) -> bool,
    ) -> Result<()> {
        let skip = vec![false; self.shared.inputs.len()];
        scan_partition(&self.shared, projection, &skip, part, count, send)
    }

    /// The earliest and latest time (request, or accept for TCP) among the first and the
    /// last lines of every input (`BOUNDS_BYTES` at each end), in ms: about the
    /// span of the whole, for logs written in order. None when an input is a stream
    /// (compressed, standard input, an object), whose end is only known once it is read.
    pub fn time_bounds(&self) -> Option<(i64, i64)> {
        let columns = vec![Col::AcceptTime.index(), Col::RequestTime.index()];
        let context = ParseContext {
            catalogue: &self.shared.catalogue,
            zone: self.shared.zone.clone(),
            keep_events: false,
            projection: Some(columns),
        };
        let mut bounds: Option<(i64, i64)> = None;
        for (index, input) in self.shared.inputs.iter().enumerate() {
            let opened = Opened::open(input).ok()?;
            let reference_ms = opened.modified_ms;
            for bytes in opened.ends(BOUNDS_BYTES)? {
                let source = self.shared.names[index];
                let job = ChunkJob { sequence: 0, source, input: index, first_line: 1, reference_ms, bytes };
                let Ok(result) = parse_chunk(&job, &context) else { continue };
                for batch in &result.traffic {
                    for column in batch.columns() {
                        let Some(times) = column.as_any().downcast_ref::<TimestampMillisecondArray>() else { continue };
                        if let (Some(low), Some(high)) = (min(times), max(times)) {
                            bounds = Some(bounds.map_or((low, high), |(a, b)| (a.min(low), b.max(high))));
                        }
                    }
                }
            }
        }
        bounds
    }

    /// About how many lines the inputs hold, from their sizes; None when one is a pipe.
    fn estimated_rows(&self, skip: &[bool]) -> Option<usize> {
        let mut bytes = 0u64;
        for (input, skipped) in self.shared.inputs.iter().zip(skip) {
            let InputPath::File(path) = input else { return None };
            if *skipped {
                continue;
            }
            bytes += match plain_size(path) {
                Some(size) => size,
                None => std::fs::metadata(path).map_or(0, |m| m.len()) * COMPRESSION_RATIO,
            };
        }
        Some((bytes / LINE_BYTES) as usize)
    }

    /// Which inputs are regular files last written more than [`CLOCK_SLACK_MS`] before
    /// `since_micros`, and so hold no row from then on.
    fn written_before(&self, since_micros: i64) -> Vec<bool> {
        self.shared
            .inputs
            .iter()
            .map(|input| match input {
                InputPath::File(path) => std::fs::metadata(path).is_ok_and(|metadata| {
                    let modified = modified_ms(&metadata);
                    // A pipe's time says nothing of what will come through it; a time
                    // before HAProxy existed is a placeholder (unknown, or clamped by an
                    // archive or a reproducible build), not a last write.
                    metadata.is_file()
                        && modified >= FIRST_HAPROXY_RELEASE_MS
                        && (modified + CLOCK_SLACK_MS).saturating_mul(1000) < since_micros
                }),
                InputPath::Stdin | InputPath::Remote(_) => false,
            })
            .collect()
    }
}

/// The columns a scan asked for, all of them when it named none.
pub(super) fn scanned_columns(projection: Option<&Vec<usize>>, schema: &SchemaRef) -> Vec<usize> {
    match projection {
        Some(columns) => columns.clone(),
        None => (0..schema.fields().len()).collect(),
    }
}

/// What `LogTable::time_bounds` parses at each end of a file: about a thousand lines,
/// enough for the first and last times of a log written in order, and quick next to the
/// scan that follows.
const BOUNDS_BYTES: usize = 256 << 10;

/// A typical HAProxy HTTP line with a syslog header, in bytes.
const LINE_BYTES: u64 = 256;

/// How much bigger logs are once gzip or zstd has been undone, roughly.
const COMPRESSION_RATIO: u64 = 8;

/// The scan with an estimate of its rows. Without one, DataFusion cannot tell months of
/// logs from a four-row table, and may build a join's hash table (or hold a cross join's
/// side) from the logs: `logs CROSS JOIN` four values took 11.8 s over 1 GiB instead of 1.8.
#[derive(Debug)]
struct EstimatedScan {
    scan: Arc<StreamingTableExec>,
    rows: Option<usize>,
}

impl DisplayAs for EstimatedScan {
    fn fmt_as(&self, format: DisplayFormatType, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.scan.fmt_as(format, f)?;
        match self.rows {
            Some(rows) => write!(f, ", estimated_rows={rows}"),
            None => Ok(()),
        }
    }
}

impl ExecutionPlan for EstimatedScan {
    fn name(&self) -> &str {
        "LogScanExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        self.scan.properties()
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![]
    }

    fn with_new_children(self: Arc<Self>, _children: Vec<Arc<dyn ExecutionPlan>>) -> Result<Arc<dyn ExecutionPlan>> {
        Ok(self)
    }

    fn apply_expressions(
        &self,
        visit: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        self.scan.apply_expressions(visit)
    }

    fn execute(&self, partition: usize, context: Arc<TaskContext>) -> Result<SendableRecordBatchStream> {
        self.scan.execute(partition, context)
    }

    fn fetch(&self) -> Option<usize> {
        self.scan.fetch()
    }

    fn partition_statistics(&self, partition: Option<usize>) -> Result<Arc<Statistics>> {
        let mut statistics = Statistics::new_unknown(&self.schema());
        if let Some(rows) = self.rows {
            let parts = match partition {
                Some(_) => self.properties().output_partitioning().partition_count().max(1),
                None => 1,
            };
            let rows = self.fetch().map_or(rows, |limit| rows.min(limit)) / parts;
            statistics.num_rows = Precision::Inexact(rows);
        }
        Ok(Arc::new(statistics))
    }
}

/// HAProxy writes a line when its session ends, so no time in it is later than its
/// file's last write, unless the clock of the host that logged it was ahead of the
/// syslog host's, or `--timezone` is wrong (by up to 26 hours): two days cover both.
const CLOCK_SLACK_MS: i64 = 2 * 86_400_000;

/// 2001-12-16, HAProxy 1.0.
const FIRST_HAPROXY_RELEASE_MS: i64 = 1_008_460_800_000;

/// The earliest time (µs since the epoch) a row can have and pass `filter`, when the
/// filter bounds one of the row's times from below: `request_time >= TIMESTAMP '...'`,
/// `>`, `BETWEEN`, the literal on either side, or such a bound within an `AND`.
fn earliest_time(filter: &Expr) -> Option<i64> {
    let is_time = |expr: &Expr| match expr {
        Expr::Column(column) => {
            [Col::RequestTime, Col::AcceptTime, Col::SyslogTime].iter().any(|time| column.name == time.name())
        }
        _ => false,
    };
    match filter {
        Expr::BinaryExpr(BinaryExpr { left, op: Operator::And, right }) => {
            earliest_time(left).into_iter().chain(earliest_time(right)).max()
        }
        Expr::BinaryExpr(BinaryExpr { left, op, right }) => match op {
            Operator::GtEq | Operator::Gt if is_time(left) => micros(right),
            Operator::LtEq | Operator::Lt if is_time(right) => micros(left),
            _ => None,
        },
        Expr::Between(Between { expr, negated: false, low, .. }) if is_time(expr) => micros(low),
        _ => None,
    }
}

/// A timestamp literal in µs since the epoch.
fn micros(expr: &Expr) -> Option<i64> {
    let Expr::Literal(value, _) = expr else { return None };
    match value {
        ScalarValue::TimestampSecond(Some(v), _) => v.checked_mul(1_000_000),
        ScalarValue::TimestampMillisecond(Some(v), _) => v.checked_mul(1000),
        ScalarValue::TimestampMicrosecond(Some(v), _) => Some(*v),
        ScalarValue::TimestampNanosecond(Some(v), _) => Some(v / 1000),
        _ => None,
    }
}

/// One partition of a scan: every `count`-th chunk of the mapped files, starting at
/// `part`, and every `count`-th streamed input (compressed files and stdin are read
/// start to end by one partition).
#[derive(Debug)]
struct LogPartition {
    shared: Arc<Shared>,
    schema: SchemaRef,
    projection: Vec<usize>,
    /// Per input: left unread (see [`LogTable::written_before`]).
    skip: Arc<[bool]>,
    part: usize,
    count: usize,
}

impl PartitionStream for LogPartition {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn execute(&self, _context: Arc<TaskContext>) -> SendableRecordBatchStream {
        let mut builder = RecordBatchReceiverStreamBuilder::new(self.schema.clone(), 2);
        let sender = builder.tx();
        let (shared, projection, part, count) = (self.shared.clone(), self.projection.clone(), self.part, self.count);
        let skip = self.skip.clone();
        if part == 0 {
            // Counted when run (not when only planned, as by EXPLAIN), once per scan.
            let mut skipped = shared.counts.skipped.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            skipped.extend(skip.iter().enumerate().filter(|(_, skip)| **skip).map(|(index, _)| index));
        }
        builder.spawn_blocking(move || {
            let send = |batch| sender.blocking_send(Ok(batch)).is_ok();
            scan_partition(&shared, projection, &skip, part, count, send)
        });
        builder.build()
    }
}

/// Parses this partition's share of the inputs, handing each batch to `send`, which
/// says false once nobody reads the stream any more.
fn scan_partition(
    shared: &Shared,
    projection: Vec<usize>,
    skip: &[bool],
    part: usize,
    count: usize,
    mut send: impl FnMut(arrow::record_batch::RecordBatch) -> bool,
) -> Result<()> {
    // Line numbers need the newlines of every chunk counted, also of the chunks other
    // partitions parse; a query without `source_line` skips that pass.
    let numbered = projection.contains(&schema::Col::SourceLine.index());
    let context = ParseContext {
        catalogue: &shared.catalogue,
        zone: shared.zone.clone(),
        keep_events: false,
        projection: Some(projection),
    };
    let mut chunk_index = 0usize;
    for (index, input) in shared.inputs.iter().enumerate() {
        // A stream (standard input, an object downloading) is read by one partition.
        if skip[index] || (matches!(input, InputPath::Stdin | InputPath::Remote(_)) && index % count != part) {
            continue;
        }
        let opened = match Opened::open(input) {
            Ok(opened) => opened,
            Err(error) => {
                shared.counts.report_unread(error.to_string());
                continue;
            }
        };
        let mapped = opened.is_mapped();
        if !mapped && index % count != part {
            continue;
        }
        let source = shared.names[index];
        // A streamed input is read by this partition alone, which can then say how far
        // it got if the input fails.
        let counted = numbered || !mapped;
        let reference_ms = opened.modified_ms;
        let mut first_line = 1;
        for chunk in opened.chunks(shared.chunk_size) {
            let bytes = match chunk {
                Ok(bytes) => bytes,
                Err(error) => {
                    let read = if counted {
                        format!("; the query read lines 1-{} of it", first_line - 1)
                    } else {
                        String::new()
                    };
                    shared.counts.report_unread(format!("{error}{read}"));
                    break;
                }
            };
            let mine = !mapped || chunk_index % count == part;
            chunk_index += usize::from(mapped);
            let lines = if counted { count_lines(bytes.bytes()) } else { 0 };
            if !mine {
                // Another partition's: give the pages back (see `ChunkBytes::release`).
                bytes.release();
            } else {
                let job = ChunkJob { sequence: 0, source, input: index, first_line, reference_ms, bytes };
                let result = parse_chunk(&job, &context)?;
                job.bytes.release();
                if result.changed {
                    shared.counts.report_unread(format!(
                        "{source}: the file changed while it was read (truncated, as logrotate's copytruncate \
                         does); the query left out its lines from {first_line} on"
                    ));
                    break;
                }
                let counts = &shared.counts;
                counts.events.fetch_add(result.events, Ordering::Relaxed);
                counts.rejects.fetch_add(result.rejects.len() as u64, Ordering::Relaxed);
                for batch in result.traffic {
                    if !send(batch) {
                        return Ok(());
                    }
                }
            }
            first_line += lines;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::prelude::{col, lit};

    #[test]
    fn only_a_lower_bound_on_a_time_chooses_files() {
        let instant = |ms: i64| lit(ScalarValue::TimestampMillisecond(Some(ms), Some("UTC".into())));
        assert_eq!(earliest_time(&col("request_time").gt_eq(instant(5))), Some(5000));
        assert_eq!(earliest_time(&instant(5).lt(col("syslog_time"))), Some(5000));
        assert_eq!(earliest_time(&col("accept_time").between(instant(5), instant(9))), Some(5000));
        let both = col("request_time").gt(instant(5)).and(col("accept_time").gt(instant(7)));
        assert_eq!(earliest_time(&both), Some(7000));
        // Upper bounds, alternatives, negations and other columns say nothing of a start.
        for filter in [
            col("request_time").lt(instant(5)),
            instant(5).gt_eq(col("request_time")),
            col("request_time").gt(instant(5)).or(col("status").eq(lit(200))),
            col("request_time").not_between(instant(5), instant(9)),
            col("total_ms").gt_eq(lit(5)),
            col("request_time").gt_eq(lit("2026-11-23")),
        ] {
            assert_eq!(earliest_time(&filter), None, "{filter}");
        }
    }
}
