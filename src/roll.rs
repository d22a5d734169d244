//! Live ingest's unit of output, shared by the follower and the listener: a roll of
//! parts (one per partition) written into a dataset, then listed in a manifest.

use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use rayon::prelude::*;

use crate::convert::{self, ConvertError};
use crate::dataset::{self, Manifest, ManifestEntry, Partitioning};
use crate::input::{self, ChunkBytes};
use crate::parse::Catalogue;
use crate::parse::date::LocalZone;
use crate::parse::value::StaticText;
use crate::pipeline::{self, ChunkJob, ChunkResult, ParseContext};
use crate::schema;
use crate::sink::{FileSettings, ParquetSink, SinkError};
use crate::store::Store;

/// The dataset rolls go into, and how lines become rows for it.
pub struct Target {
    pub store: Store,
    pub partitioning: Partitioning,
    schema: SchemaRef,
    settings: FileSettings,
    pool: Arc<rayon::ThreadPool>,
    catalogue: Catalogue,
    zone: LocalZone,
    chunk_size: usize,
    sequence: u64,
}

/// What has been read and written, in all.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Counts {
    pub rolls: u64,
    pub parts: u64,
    pub lines: u64,
    pub rows: u64,
    pub events: u64,
    pub rejects: u64,
}

impl Counts {
    pub fn add(&mut self, result: &ChunkResult) {
        self.lines += result.lines;
        self.rows += result.rows;
        self.events += result.events;
        self.rejects += result.rejects.len() as u64;
    }

    /// `lines L = rows R + events E + rejects J`.
    pub fn reconciliation(&self) -> String {
        format!("lines {} = rows {} + events {} + rejects {}", self.lines, self.rows, self.events, self.rejects)
    }
}

/// Where rolls go, how lines are read into rows, and when a roll is written: what the
/// follower and the listener share.
#[derive(Clone)]
pub struct RollSettings {
    /// A dataset: a directory or an object-store prefix.
    pub output: String,
    pub partitioning: Partitioning,
    /// A roll is written this long after its first line...
    pub roll_every: std::time::Duration,
    /// ...or when it holds this many rows, whichever comes first.
    pub roll_rows: u64,
    pub catalogue: Catalogue,
    pub zone: LocalZone,
    pub threads: usize,
    pub chunk_size: usize,
    pub compression: parquet::basic::Compression,
}

impl Target {
    pub fn open(options: &RollSettings) -> Result<Target, ConvertError> {
        let pool = convert::worker_pool(options.threads)?;
        let metadata = vec![("halake.version".to_string(), env!("CARGO_PKG_VERSION").to_string())];
        let settings = FileSettings { compression: options.compression, metadata, encoders: Some(pool.clone()) };
        let store = Store::open(&options.output)?;
        store.prepare()?;
        Ok(Target {
            store,
            partitioning: options.partitioning,
            schema: Arc::new(schema::arrow_schema(options.catalogue.column_specs())),
            settings,
            pool,
            catalogue: options.catalogue.clone(),
            zone: options.zone.clone(),
            chunk_size: options.chunk_size,
            sequence: 0,
        })
    }

    /// Parses whole lines in chunks on the worker pool; results in order.
    pub fn parse(
        &mut self,
        bytes: &[u8],
        source: StaticText,
        first_line: u64,
    ) -> Result<Vec<ChunkResult>, ConvertError> {
        let mut jobs = Vec::new();
        let (mut start, mut first_line) = (0, first_line);
        while let Some(end) = input::chunk_end(bytes, start, self.chunk_size) {
            let piece = bytes[start..end].to_vec();
            let lines = input::count_lines(&piece);
            jobs.push(ChunkJob {
                sequence: self.sequence,
                source,
                input: 0,
                first_line,
                reference_ms: input::now_ms(),
                bytes: ChunkBytes::owned(piece),
            });
            self.sequence += 1;
            first_line += lines;
            start = end;
        }
        let context =
            ParseContext { catalogue: &self.catalogue, zone: self.zone.clone(), keep_events: false, projection: None };
        let results: Vec<_> =
            self.pool.install(|| jobs.par_iter().map(|job| pipeline::parse_chunk(job, &context)).collect());
        Ok(results.into_iter().collect::<Result<_, _>>()?)
    }

    /// Writes the manifest `name` with `entries`, atomically.
    pub(crate) fn save_manifest<'a>(
        &self,
        name: &str,
        entries: impl Iterator<Item = &'a ManifestEntry>,
    ) -> Result<(), ConvertError> {
        let mut file = self.store.create(name)?;
        serde_json::to_writer_pretty(&mut file, &Manifest::to_json(entries))
            .map_err(|e| SinkError::Finish { path: self.store.display(name), source: e.into() })?;
        Ok(file.commit()?)
    }
}

/// The parts of one source's open roll, one per partition.
#[derive(Default)]
pub struct Roll {
    open: Vec<(String, String, ParquetSink)>,
    pub rows: u64,
}

impl Roll {
    /// Writes `batch` into the parts of its partitions; a new part is named by `name`
    /// from its position among this roll's parts.
    pub fn write(
        &mut self,
        target: &Target,
        batch: &RecordBatch,
        name: impl Fn(usize) -> String,
    ) -> Result<(), ConvertError> {
        let keys = dataset::partition_keys(batch, target.partitioning);
        let mut start = 0;
        while start < keys.len() {
            let end = (start..keys.len()).find(|&i| keys[i] != keys[start]).unwrap_or(keys.len());
            let position = match self.open.iter().position(|(partition, _, _)| *partition == keys[start]) {
                Some(position) => position,
                None => {
                    let partition = keys[start].clone();
                    let file = name(self.open.len());
                    let relative = if partition.is_empty() { file } else { format!("{partition}/{file}") };
                    let sink =
                        ParquetSink::new(target.store.create(&relative)?, target.schema.clone(), &target.settings);
                    self.open.push((partition, relative, sink));
                    self.open.len() - 1
                }
            };
            self.open[position].2.write(&batch.slice(start, end - start))?;
            start = end;
        }
        self.rows += batch.num_rows() as u64;
        Ok(())
    }

    /// Completes the parts (each appears whole, or not at all); returns their names
    /// and rows, and leaves the roll empty.
    pub fn finish(&mut self) -> Result<(Vec<String>, u64), ConvertError> {
        let mut parts = Vec::new();
        for (_, relative, sink) in std::mem::take(&mut self.open) {
            sink.finish()?;
            parts.push(relative);
        }
        Ok((parts, std::mem::take(&mut self.rows)))
    }
}
