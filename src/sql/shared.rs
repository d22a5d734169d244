//! One parse of a raw-log table feeding several queries at once (the dashboard's
//! panels): parsing is what a query over raw logs costs, so each partition's chunks
//! are parsed once, into the union of the columns the queries read, and every batch goes
//! to each query cut to its own columns.
//!
//! Every `scan` of the table while the queries are planned registers one consumer;
//! [`SharedLogs::start`] then parses, sending into bounded channels, so memory stays a
//! few batches per consumer and partition, and the queries must run concurrently. A
//! consumer whose plan was dropped (its query failed or stopped early) closes its
//! channels and is skipped.

use std::sync::{Arc, Mutex};

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use async_trait::async_trait;
use datafusion::catalog::{Session, TableProvider};
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::{Expr, TableType};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::streaming::{PartitionStream, StreamingTableExec};
use tokio::sync::mpsc;

use super::logs::{LogTable, scanned_columns};

/// Batches waiting per consumer and partition.
const QUEUED_BATCHES: usize = 2;

type Queue = mpsc::Sender<Result<RecordBatch>>;

/// A scan to feed: its columns (indices into the table's schema) and one queue per
/// partition.
struct Consumer {
    projection: Vec<usize>,
    queues: Vec<Queue>,
}

#[derive(Debug)]
pub struct SharedLogs {
    table: Arc<LogTable>,
    partitions: usize,
    consumers: Mutex<Vec<Consumer>>,
}

impl std::fmt::Debug for Consumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Consumer").field("projection", &self.projection).finish_non_exhaustive()
    }
}

impl SharedLogs {
    pub fn new(table: Arc<LogTable>, partitions: usize) -> SharedLogs {
        SharedLogs { table, partitions: partitions.max(1), consumers: Mutex::new(Vec::new()) }
    }

    /// Parses the table once for every scan planned so far, on blocking threads of the
    /// current runtime; the returned tasks end when the inputs are read or nobody
    /// listens any more.
    pub fn start(&self) -> Vec<tokio::task::JoinHandle<()>> {
        let consumers = std::mem::take(&mut *self.consumers.lock().unwrap_or_else(|p| p.into_inner()));
        if consumers.is_empty() {
            return Vec::new();
        }
        let mut union: Vec<usize> = consumers.iter().flat_map(|c| c.projection.iter().copied()).collect();
        union.sort_unstable();
        union.dedup();
        // Each consumer's columns as positions in the parsed batches.
        let picks: Arc<Vec<Vec<usize>>> = Arc::new(
            consumers
                .iter()
                .map(|c| c.projection.iter().map(|column| union.binary_search(column).expect("in the union")).collect())
                .collect(),
        );
        let queues: Vec<Vec<Queue>> = consumers.into_iter().map(|c| c.queues).collect();
        (0..self.partitions)
            .map(|part| {
                let mine: Vec<Queue> = queues.iter().map(|q| q[part].clone()).collect();
                let (table, union, picks, count) = (self.table.clone(), union.clone(), picks.clone(), self.partitions);
                tokio::task::spawn_blocking(move || {
                    let send = |batch: RecordBatch| {
                        let mut listened = false;
                        for (queue, pick) in mine.iter().zip(picks.iter()) {
                            if queue.is_closed() {
                                continue;
                            }
                            let cut = batch.project(pick).map_err(DataFusionError::from);
                            listened |= queue.blocking_send(cut).is_ok();
                        }
                        listened
                    };
                    if let Err(error) = table.scan_into(union, part, count, send) {
                        let message = error.to_string();
                        for queue in &mine {
                            let _ = queue.blocking_send(Err(DataFusionError::Execution(message.clone())));
                        }
                    }
                })
            })
            .collect()
    }
}

#[async_trait]
impl TableProvider for SharedLogs {
    fn schema(&self) -> SchemaRef {
        self.table.schema()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    async fn scan(
        &self,
        _state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        _limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let schema = self.table.schema();
        let projection = scanned_columns(projection, &schema);
        let projected = Arc::new(schema.project(&projection)?);
        let mut queues = Vec::new();
        let mut partitions: Vec<Arc<dyn PartitionStream>> = Vec::new();
        for _ in 0..self.partitions {
            let (sender, receiver) = mpsc::channel(QUEUED_BATCHES);
            queues.push(sender);
            partitions.push(Arc::new(Fed { schema: projected.clone(), receiver: Mutex::new(Some(receiver)) }));
        }
        self.consumers.lock().unwrap_or_else(|p| p.into_inner()).push(Consumer { projection, queues });
        Ok(Arc::new(StreamingTableExec::try_new(projected, partitions, None, [], false, None)?))
    }
}

/// One partition of a consumer's scan: what the parse sends it.
#[derive(Debug)]
struct Fed {
    schema: SchemaRef,
    receiver: Mutex<Option<mpsc::Receiver<Result<RecordBatch>>>>,
}

impl PartitionStream for Fed {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn execute(&self, _context: Arc<TaskContext>) -> SendableRecordBatchStream {
        let schema = self.schema.clone();
        let Some(receiver) = self.receiver.lock().unwrap_or_else(|p| p.into_inner()).take() else {
            let error = DataFusionError::Internal("a shared scan's partition was executed twice".into());
            return Box::pin(RecordBatchStreamAdapter::new(schema, futures::stream::once(async { Err(error) })));
        };
        let stream = futures::stream::unfold(receiver, |mut receiver| async move {
            receiver.recv().await.map(|item| (item, receiver))
        });
        Box::pin(RecordBatchStreamAdapter::new(schema, stream))
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use arrow::util::pretty::pretty_format_batches;

    use crate::parse::Catalogue;
    use crate::parse::date::LocalZone;
    use crate::sql::{LogSettings, Sql};

    #[test]
    fn queries_run_together_answer_as_each_run_alone_and_count_each_line_once() {
        // Small chunks: many batches through the queues, from both partitions.
        let settings =
            LogSettings { catalogue: Catalogue::standard(), zone: LocalZone::new("UTC").unwrap(), chunk_size: 4096 };
        let mut session = Sql::new(2, settings).unwrap();
        session.register("logs", &[Path::new(env!("CARGO_MANIFEST_DIR")).join("data")]).unwrap();
        let texts: Vec<String> = [
            "SELECT status, count(*) AS n FROM logs GROUP BY 1 ORDER BY 1",
            "SELECT termination_state, backend, sum(bytes_to_client) AS b FROM logs GROUP BY 1, 2 ORDER BY 1, 2",
            "SELECT count(*) AS n FROM logs",
            // Stops after its first rows: its queues close, the others are still fed.
            "SELECT client_ip FROM logs LIMIT 1",
            "SELECT a.n + b.n AS twice FROM (SELECT count(*) AS n FROM logs) a CROSS JOIN (SELECT count(*) AS n FROM logs) b",
        ]
        .map(str::to_string)
        .to_vec();
        let together = session.run_together(&texts).unwrap();
        let lines_skipped = session.skipped_lines();
        assert!(!lines_skipped.is_empty(), "data/ has event lines");
        for (text, result) in texts.iter().zip(&together) {
            let alone = session.run(text).unwrap();
            if text.contains("LIMIT") {
                assert_eq!(result.rows(), 1);
                continue;
            }
            assert!(result.rows() > 0, "{text}");
            let shown = |batches| pretty_format_batches(batches).unwrap().to_string();
            assert_eq!(shown(&result.batches), shown(&alone.batches), "{text}");
        }
        // One parse for all of them: the lines that are not rows were counted once, as by
        // one query alone.
        session.run("SELECT count(*) FROM logs").unwrap();
        assert_eq!(lines_skipped, session.skipped_lines());
        // The table is itself again afterwards.
        assert!(session.run("SELECT count(*) FROM logs WHERE status = 200").is_ok());
    }
}
