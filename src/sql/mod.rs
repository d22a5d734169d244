//! SQL over HAProxy logs through DataFusion: Parquet files, Hive-partitioned dataset
//! directories, or raw log files read in place.
//!
//! - [`logs`]: raw log files as a table, parsed in parallel with projection pushdown.
//! - [`functions`]: SQL functions (status classes, termination states explained).
//! - [`output`]: results as an aligned table, CSV, JSON or Parquet.
//! - [`reports`]: the canned reports of `queries/`.
//! - [`shared`]: one parse of raw logs feeding several queries at once.

pub mod functions;
pub mod logs;
pub mod output;
pub mod reports;
pub mod shared;

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use arrow::datatypes::{DataType, SchemaRef};
use arrow::record_batch::RecordBatch;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl};
use datafusion::error::DataFusionError;
use datafusion::prelude::{SessionConfig, SessionContext};
use datafusion::sql::parser::DFParser;

use crate::input;
use crate::parse::Catalogue;
use crate::parse::date::LocalZone;
use crate::store;
use logs::{LogTable, ScanCounts};
use shared::SharedLogs;

#[derive(Debug, thiserror::Error)]
pub enum SqlError {
    #[error(transparent)]
    DataFusion(#[from] DataFusionError),
    #[error(transparent)]
    Input(#[from] input::InputError),
    #[error("cannot read {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("cannot start the query runtime: {0}")]
    Runtime(std::io::Error),
    #[error("{0}")]
    Usage(String),
    /// The cluster a session sends its queries to cannot be used.
    #[error("{0}")]
    Cluster(String),
    /// Object storage refused or failed (the source, so that the exit status can tell).
    #[error("{0}")]
    Store(#[source] store::StoreError),
}

/// How raw log tables are parsed.
#[derive(Debug, Clone)]
pub struct LogSettings {
    pub catalogue: Catalogue,
    pub zone: LocalZone,
    pub chunk_size: usize,
}

/// What a table was made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableKind {
    Parquet,
    Logs,
}

/// A query session: its tables, its functions, and the runtime that executes it.
pub struct Sql {
    context: SessionContext,
    runtime: tokio::runtime::Runtime,
    settings: LogSettings,
    counts: Vec<(String, Arc<ScanCounts>)>,
    /// The raw-log tables, by name.
    log_tables: Vec<(String, Arc<LogTable>)>,
    /// The scheduler the queries run on, if not here.
    cluster: Option<String>,
}

/// The result of a statement.
pub struct QueryResult {
    pub schema: SchemaRef,
    pub batches: Vec<RecordBatch>,
}

impl QueryResult {
    pub fn rows(&self) -> usize {
        self.batches.iter().map(RecordBatch::num_rows).sum()
    }
}

impl Sql {
    pub fn new(threads: usize, settings: LogSettings) -> Result<Sql, SqlError> {
        Sql::start(threads, settings, None)
    }

    /// A session whose queries run on the Ballista scheduler at `url` (`df://host:port`).
    /// Its tables are Parquet that the cluster's executors can reach: object storage, or
    /// paths that are the same on every machine.
    #[cfg(feature = "cluster")]
    pub fn on_cluster(url: &str, threads: usize, settings: LogSettings) -> Result<Sql, SqlError> {
        Sql::start(threads, settings, Some(url))
    }

    fn start(threads: usize, settings: LogSettings, cluster: Option<&str>) -> Result<Sql, SqlError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .thread_name("halake-sql")
            // Object storage's HTTP client needs the runtime's timers and sockets.
            .enable_all()
            .build()
            .map_err(SqlError::Runtime)?;
        let config = SessionConfig::new().with_target_partitions(threads).with_information_schema(true);
        let context = match cluster {
            None => SessionContext::new_with_config(config),
            #[cfg(feature = "cluster")]
            Some(url) => crate::cluster::client_context(url, config, &runtime)?,
            #[cfg(not(feature = "cluster"))]
            Some(url) => return Err(SqlError::Usage(format!("{url}: this build has no cluster support"))),
        };
        functions::register(&context);
        Ok(Sql {
            context,
            runtime,
            settings,
            counts: Vec::new(),
            log_tables: Vec::new(),
            cluster: cluster.map(str::to_string),
        })
    }

    /// Registers `paths` as the table `name`: Parquet files or dataset directories, or
    /// log files and directories of them. The kind is read from the files, not their names.
    pub fn register(&mut self, name: &str, paths: &[PathBuf]) -> Result<TableKind, SqlError> {
        if paths.is_empty() {
            return Err(SqlError::Usage(format!("table '{name}' has no input")));
        }
        let parquet: Vec<bool> = paths.iter().map(|p| holds_parquet(p)).collect::<Result<_, _>>()?;
        if parquet.iter().all(|&p| p) {
            self.register_parquet(name, paths)?;
            return Ok(TableKind::Parquet);
        }
        if parquet.iter().any(|&p| p) {
            return Err(SqlError::Usage(format!(
                "table '{name}' mixes Parquet and log files: give each its own --table"
            )));
        }
        if let Some(cluster) = &self.cluster {
            return Err(SqlError::Usage(format!(
                "table '{name}' is raw logs, which only this machine reads: convert them to a dataset the \
                 executors of {cluster} can reach (halake convert ... -o s3://bucket/lake/) and query that"
            )));
        }
        let inputs = input::expand(paths)?;
        if inputs.is_empty() {
            return Err(SqlError::Usage(format!("no log files found for table '{name}'")));
        }
        let counts = Arc::new(ScanCounts::default());
        let settings = self.settings.clone();
        let table =
            Arc::new(LogTable::new(inputs, settings.catalogue, settings.zone, settings.chunk_size, counts.clone()));
        self.context.register_table(name, table.clone())?;
        self.counts.push((name.to_string(), counts));
        self.log_tables.push((name.to_string(), table));
        Ok(TableKind::Logs)
    }

    /// Parquet files or dataset directories, on disk or in object storage. A bucket is
    /// registered with DataFusion, which lists, prunes partitions and reads byte ranges
    /// through the same store the converter writes with.
    fn register_parquet(&mut self, name: &str, paths: &[PathBuf]) -> Result<(), SqlError> {
        let mut urls = Vec::new();
        let mut partitions = Vec::new();
        for path in paths {
            let mut text = path.to_string_lossy().into_owned();
            let (is_directory, first_file) =
                if store::is_remote(&text) { self.register_bucket(&text)? } else { (path.is_dir(), None) };
            if is_directory && !text.ends_with('/') {
                text.push('/');
            }
            if is_directory && paths.len() == 1 {
                partitions = match first_file {
                    Some(file) => hive_partition_columns(Path::new(file.strip_prefix(&text).unwrap_or_default())),
                    None => hive_partitions(path),
                };
            }
            urls.push(ListingTableUrl::parse(&text)?);
        }
        self.register_listing(name, urls, partitions)
    }

    /// Registers the bucket of `target` with DataFusion; returns whether `target` is a
    /// prefix (a dataset) rather than one object, and the URL of its first object.
    #[cfg(feature = "object-store")]
    fn register_bucket(&mut self, target: &str) -> Result<(bool, Option<String>), SqlError> {
        let (bucket, object_store) = store::remote::store_for(target).map_err(SqlError::Store)?;
        self.context.register_object_store(&bucket, object_store);
        let objects = store::remote::objects(target).map_err(SqlError::Store)?;
        let is_prefix = !(objects.len() == 1 && objects[0].url == target);
        Ok((is_prefix, objects.into_iter().next().map(|object| object.url)))
    }

    #[cfg(not(feature = "object-store"))]
    fn register_bucket(&mut self, target: &str) -> Result<(bool, Option<String>), SqlError> {
        Err(SqlError::Usage(format!("{target}: this build has no object storage (build with the default features)")))
    }

    fn register_listing(
        &mut self,
        name: &str,
        urls: Vec<ListingTableUrl>,
        partitions: Vec<(String, DataType)>,
    ) -> Result<(), SqlError> {
        let options = ListingOptions::new(Arc::new(ParquetFormat::default()))
            .with_file_extension(".parquet")
            .with_table_partition_cols(partitions);
        let context = &self.context;
        let table = self.runtime.block_on(async {
            let config = ListingTableConfig::new_with_multi_paths(urls)
                .with_listing_options(options)
                .infer_schema(&context.state())
                .await?;
            ListingTable::try_new(config)
        })?;
        self.context.register_table(name, Arc::new(table))?;
        Ok(())
    }

    /// Runs every statement of `text` in order; returns the last one's result.
    pub fn run(&self, text: &str) -> Result<QueryResult, SqlError> {
        let statements = DFParser::parse_sql(text)?;
        if statements.is_empty() {
            return Err(SqlError::Usage("no SQL statement given".into()));
        }
        for (_, counts) in &self.counts {
            counts.reset();
        }
        let state = self.context.state();
        self.runtime.block_on(async {
            let mut last = None;
            for statement in statements {
                let plan = state.statement_to_plan(statement).await?;
                let frame = self.context.execute_logical_plan(plan).await?;
                let schema = Arc::new(frame.schema().as_arrow().clone());
                let batches = frame.collect().await?;
                last = Some(QueryResult { schema, batches });
            }
            Ok(last.expect("at least one statement"))
        })
    }

    /// Runs single-statement queries at once, each raw-log table parsed once for all of
    /// them ([`shared`]); Parquet tables are read by each as usual. The results are in
    /// the order of `texts`.
    pub fn run_together(&self, texts: &[String]) -> Result<Vec<QueryResult>, SqlError> {
        for (_, counts) in &self.counts {
            counts.reset();
        }
        let partitions = self.context.state().config().target_partitions();
        let shared: Vec<Arc<SharedLogs>> =
            self.log_tables.iter().map(|(_, table)| Arc::new(SharedLogs::new(table.clone(), partitions))).collect();
        for ((name, _), feed) in self.log_tables.iter().zip(&shared) {
            self.context.deregister_table(name.as_str())?;
            self.context.register_table(name.as_str(), feed.clone())?;
        }
        let results = self.runtime.block_on(async {
            let state = self.context.state();
            let mut plans = Vec::new();
            for text in texts {
                let mut statements = DFParser::parse_sql(text)?;
                let (Some(statement), None) = (statements.pop_front(), statements.front()) else {
                    return Err(SqlError::Usage("queries run together are one statement each".into()));
                };
                let plan = state.statement_to_plan(statement).await?;
                let frame = self.context.execute_logical_plan(plan).await?;
                let schema = Arc::new(frame.schema().as_arrow().clone());
                plans.push((schema, frame.create_physical_plan().await?));
            }
            let parses: Vec<_> = shared.iter().flat_map(|feed| feed.start()).collect();
            let task = self.context.task_ctx();
            let running: Vec<_> = plans
                .into_iter()
                .map(|(schema, plan)| {
                    let task = task.clone();
                    tokio::spawn(
                        async move { datafusion::physical_plan::collect(plan, task).await.map(|b| (schema, b)) },
                    )
                })
                .collect();
            let mut results = Vec::new();
            for query in running {
                let (schema, batches) = query.await.map_err(|e| SqlError::Usage(format!("a query stopped: {e}")))??;
                results.push(QueryResult { schema, batches });
            }
            for parse in parses {
                parse.await.map_err(|e| SqlError::Usage(format!("a shared scan stopped: {e}")))?;
            }
            Ok(results)
        });
        for (name, table) in &self.log_tables {
            self.context.deregister_table(name.as_str())?;
            self.context.register_table(name.as_str(), table.clone())?;
        }
        results
    }

    /// About the time span of the raw-log table `name`, from the ends of its files
    /// ([`LogTable::time_bounds`]), in ms.
    pub fn log_time_bounds(&self, name: &str) -> Option<(i64, i64)> {
        self.log_tables.iter().find(|(table, _)| table == name).and_then(|(_, table)| table.time_bounds())
    }

    /// Whether the table `name` is read from raw logs (parsed by each scan), not Parquet.
    pub fn reads_raw_logs(&self, name: &str) -> bool {
        self.counts.iter().any(|(table, _)| table == name)
    }

    /// The raw log inputs the last statement could not read completely, and why.
    pub fn unread_inputs(&self) -> Vec<String> {
        self.counts.iter().flat_map(|(_, counts)| counts.unread()).collect()
    }

    /// For each raw log table the last run read: how many inputs a time filter let one
    /// of its scans skip.
    pub fn skipped_inputs(&self) -> Vec<(String, usize)> {
        self.counts
            .iter()
            .map(|(name, counts)| (name.clone(), counts.skipped_inputs()))
            .filter(|(_, skipped)| *skipped > 0)
            .collect()
    }

    /// For each raw log table read so far: lines that were not rows (events, rejects).
    pub fn skipped_lines(&self) -> Vec<(String, u64, u64)> {
        self.counts
            .iter()
            .map(|(name, counts)| {
                (name.clone(), counts.events.load(Ordering::Relaxed), counts.rejects.load(Ordering::Relaxed))
            })
            .filter(|(_, events, rejects)| events + rejects > 0)
            .collect()
    }
}

/// A Parquet file, or a directory with Parquet files somewhere below it; in object
/// storage, an object or a prefix whose objects are named `.parquet`.
fn holds_parquet(path: &Path) -> Result<bool, SqlError> {
    let read_error = |source| SqlError::Read { path: path.display().to_string(), source };
    if path.as_os_str() == "-" {
        return Ok(false);
    }
    let text = path.to_string_lossy();
    if store::is_remote(&text) {
        #[cfg(feature = "object-store")]
        {
            let objects = store::remote::objects(&text).map_err(SqlError::Store)?;
            return Ok(objects.iter().all(|object| object.url.ends_with(".parquet")));
        }
        #[cfg(not(feature = "object-store"))]
        return Ok(false);
    }
    let metadata = std::fs::metadata(path).map_err(read_error)?;
    if metadata.is_dir() {
        return Ok(first_parquet_file(path).is_some());
    }
    // A file that cannot be read is no Parquet: the log scan names it and goes on with
    // the other inputs.
    let mut magic = [0u8; 4];
    let read = File::open(path).and_then(|mut file| input::read_fully(&mut file, &mut magic));
    Ok(matches!(read, Ok(4)) && &magic == b"PAR1")
}

fn first_parquet_file(directory: &Path) -> Option<PathBuf> {
    let mut entries: Vec<_> = std::fs::read_dir(directory).ok()?.filter_map(|e| e.ok()).map(|e| e.path()).collect();
    entries.sort();
    for path in &entries {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if name.starts_with('.') || name.starts_with('_') {
            continue;
        }
        if path.is_dir() {
            if let Some(found) = first_parquet_file(path) {
                return Some(found);
            }
        } else if name.ends_with(".parquet") {
            return Some(path.clone());
        }
    }
    None
}

/// The `key=value` directories between a dataset's root and its first file: the Hive
/// partition columns (`date`, `hour`), read as text.
fn hive_partitions(root: &Path) -> Vec<(String, DataType)> {
    let Some(file) = first_parquet_file(root) else { return Vec::new() };
    let Ok(relative) = file.strip_prefix(root) else { return Vec::new() };
    hive_partition_columns(relative)
}

/// `date=2026-11-23/hour=20/part.parquet`: date and hour, as text.
fn hive_partition_columns(relative: &Path) -> Vec<(String, DataType)> {
    relative
        .parent()
        .into_iter()
        .flat_map(Path::components)
        .filter_map(|part| {
            let text = part.as_os_str().to_string_lossy();
            text.split_once('=').map(|(key, _)| (key.to_string(), DataType::Utf8))
        })
        .collect()
}

/// Reads a SQL file.
pub fn read_query_file(path: &Path) -> Result<String, SqlError> {
    let mut text = String::new();
    File::open(path)
        .and_then(|mut file| file.read_to_string(&mut text))
        .map_err(|source| SqlError::Read { path: path.display().to_string(), source })?;
    Ok(text)
}
