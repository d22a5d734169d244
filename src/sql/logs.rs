//! Raw log files as a DataFusion table: no conversion step.
//!
//! A scan splits the inputs into the convert pipeline's newline-aligned chunks and
//! deals them out to the query's partitions, which parse them on blocking threads in
//! parallel. Only the columns the query reads are built, and a partition stops as soon
//! as the query stops asking (a `LIMIT` that is satisfied drops the stream).

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use arrow::datatypes::SchemaRef;
use async_trait::async_trait;
use datafusion::catalog::{Session, TableProvider};
use datafusion::error::Result;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::{Expr, TableType};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::stream::RecordBatchReceiverStreamBuilder;
use datafusion::physical_plan::streaming::{PartitionStream, StreamingTableExec};

use crate::input::{InputPath, Opened, count_lines};
use crate::parse::Catalogue;
use crate::parse::date::LocalZone;
use crate::pipeline::{ChunkJob, ParseContext, parse_chunk};
use crate::schema;

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
}

impl ScanCounts {
    /// Zero before each statement, so the notes speak of that statement's scans.
    pub fn reset(&self) {
        self.events.store(0, Ordering::Relaxed);
        self.rejects.store(0, Ordering::Relaxed);
        self.unread.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clear();
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
    names: Vec<&'static str>,
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
        let names = inputs.iter().map(|input| &*Box::leak(input.display().into_boxed_str())).collect();
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

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let projection: Vec<usize> = match projection {
            Some(columns) => columns.clone(),
            None => (0..self.schema.fields().len()).collect(),
        };
        let projected = Arc::new(self.schema.project(&projection)?);
        let count = state.config().target_partitions().max(1);
        let partitions: Vec<Arc<dyn PartitionStream>> = (0..count)
            .map(|part| {
                Arc::new(LogPartition {
                    shared: self.shared.clone(),
                    schema: projected.clone(),
                    projection: projection.clone(),
                    part,
                    count,
                }) as Arc<dyn PartitionStream>
            })
            .collect();
        Ok(Arc::new(StreamingTableExec::try_new(projected, partitions, None, [], false, limit)?))
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
        builder.spawn_blocking(move || {
            let send = |batch| sender.blocking_send(Ok(batch)).is_ok();
            scan_partition(&shared, projection, part, count, send)
        });
        builder.build()
    }
}

/// Parses this partition's share of the inputs, handing each batch to `send`, which
/// says false once nobody reads the stream any more.
fn scan_partition(
    shared: &Shared,
    projection: Vec<usize>,
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
        if matches!(input, InputPath::Stdin) && index % count != part {
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
