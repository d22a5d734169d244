//! The convert job: log inputs in, Parquet out, every line accounted for.
//!
//! Each line becomes a traffic row, an event, or a reject with a reason; the summary
//! reconciles them (lines = rows + events + rejects). Reading and parsing run in
//! parallel (`crate::pipeline`); this module opens the inputs, feeds their chunks in
//! order, and writes what comes back.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::dataset::{DatasetError, DatasetSink, InputIdentity, Manifest, Partitioning, Shard};
use crate::input::{self, Growth, InputError, InputPath, Opened, count_lines};
use crate::parse::Catalogue;
use crate::parse::date::LocalZone;
use crate::parse::value::leak_text;
use crate::pipeline::{self, ChunkJob, ChunkResult, ParseContext, Reject};
use crate::schema;
use crate::signals;
use crate::sink::{AtomicFile, FileSettings, ParquetSink, SinkError};
use crate::store::{self, Store, StoreError};

/// 8 MiB: large enough that per-chunk overhead vanishes, small enough that a few chunks
/// per thread keep memory low.
pub const DEFAULT_CHUNK_SIZE: usize = 8 << 20;

pub struct ConvertOptions {
    pub inputs: Vec<InputPath>,
    /// A path, or an object-store URL (`s3://bucket/key.parquet`, `s3://bucket/lake/`).
    pub output: String,
    /// Write a dataset partitioned this way instead of one file.
    pub dataset: Option<Partitioning>,
    /// Convert only this share of the inputs (into a dataset).
    pub shard: Option<Shard>,
    /// Where events go, as a second Parquet file; counted either way.
    pub events: Option<String>,
    /// Where rejected lines go, one JSON object per line.
    pub rejects: Option<String>,
    /// Fail on the first rejected line.
    pub strict: bool,
    pub catalogue: Catalogue,
    pub zone: LocalZone,
    pub threads: usize,
    pub chunk_size: usize,
    /// Show a progress bar on standard error.
    pub progress: bool,
    pub compression: parquet::basic::Compression,
}

#[derive(Debug, thiserror::Error)]
pub enum ConvertError {
    #[error(transparent)]
    Input(#[from] InputError),
    #[error("{path}:{line}: rejected: {reason}")]
    Strict { path: String, line: u64, reason: String },
    #[error(transparent)]
    Sink(#[from] SinkError),
    #[error("building a record batch: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
    #[error("writing rejects to {path}: {source}")]
    Rejects { path: String, source: std::io::Error },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Dataset(#[from] DatasetError),
    #[error("cannot read {path}: {source}")]
    Identity { path: String, source: std::io::Error },
    #[error("cannot start {threads} worker threads: {message}")]
    Threads { threads: usize, message: String },
    #[error("{0}")]
    InputFailed(String),
    #[error("interrupted: the files being written were deleted, nothing half-written is left")]
    Interrupted,
}

/// What a conversion read and wrote.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    pub files: u64,
    /// Inputs a dataset already held unchanged, not read again.
    pub skipped: u64,
    /// Inputs left to the other shards.
    pub other_shards: u64,
    /// Parquet files written (1 unless a dataset).
    pub files_written: u64,
    /// Bytes of log text read (after decompression).
    pub bytes: u64,
    pub lines: u64,
    pub rows: u64,
    pub events: u64,
    pub rejects: u64,
    /// Rows per first two characters of the termination state (what halog -tc counts).
    pub termination: Vec<(String, u64)>,
    /// The first few rejects, to show without opening the rejects file.
    pub sample_rejects: Vec<String>,
    /// Inputs, or their ends, that could not be read: unreadable files, corrupt
    /// compressed data, files truncated while read. The rest of the run still converts.
    pub input_errors: Vec<String>,
    /// What the user should know that is not an error (a live log that grew meanwhile).
    pub notices: Vec<String>,
    pub elapsed: Duration,
}

const SAMPLE_REJECTS: usize = 5;

/// One pool parses chunks and encodes row groups, so `--threads` bounds both.
pub fn worker_pool(threads: usize) -> Result<Arc<rayon::ThreadPool>, ConvertError> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("halake-worker-{i}"))
        .build()
        .map_err(|e| ConvertError::Threads { threads, message: e.to_string() })?;
    Ok(Arc::new(pool))
}

pub fn convert(options: &ConvertOptions) -> Result<Summary, ConvertError> {
    let started = Instant::now();
    let catalogue = &options.catalogue;
    let metadata = vec![
        ("halake.version".to_string(), env!("CARGO_PKG_VERSION").to_string()),
        (
            "halake.log_formats".to_string(),
            catalogue
                .formats()
                .iter()
                .filter(|(_, format, _)| !format.is_empty())
                .map(|(name, format, _)| format!("{name}={format}"))
                .collect::<Vec<_>>()
                .join("\n"),
        ),
        ("halake.sources".to_string(), options.inputs.iter().map(InputPath::display).collect::<Vec<_>>().join("\n")),
    ];
    let pool = worker_pool(options.threads)?;
    let settings = FileSettings { compression: options.compression, metadata, encoders: Some(pool.clone()) };
    let schema = Arc::new(schema::arrow_schema(catalogue.column_specs()));
    // A dataset remembers what it holds: inputs unchanged since are not read again.
    let mut inputs: Vec<(&InputPath, Option<InputIdentity>)> = Vec::new();
    let (mut skipped, mut other_shards) = (0, 0);
    let traffic = match options.dataset {
        None => {
            inputs.extend(options.inputs.iter().map(|input| (input, None)));
            Output::File(ParquetSink::new(store::create_file(&options.output)?, schema, &settings))
        }
        Some(partitioning) => {
            let store = Store::open(&options.output)?;
            store.prepare()?;
            let manifest = Manifest::load(&store, options.shard)?;
            for input in &options.inputs {
                let identity = InputIdentity::of(input)
                    .map_err(|source| ConvertError::Identity { path: input.display(), source })?;
                let theirs = |identity: &InputIdentity| options.shard.is_some_and(|s| !s.takes(&identity.path));
                if identity.as_ref().is_some_and(theirs) {
                    other_shards += 1;
                } else if identity.as_ref().is_some_and(|identity| manifest.contains(identity)) {
                    skipped += 1;
                } else {
                    inputs.push((input, identity));
                }
            }
            Output::Dataset(DatasetSink::create(store, partitioning, schema, settings.clone(), manifest)?)
        }
    };
    let identities: Vec<Option<InputIdentity>> = inputs.iter().map(|(_, identity)| identity.clone()).collect();
    let mut writer = Writer {
        traffic,
        identities,
        current_input: None,
        failed_inputs: HashSet::new(),
        events: match &options.events {
            Some(path) => {
                let schema = Arc::new(schema::arrow_schema(&schema::events::columns()));
                Some(ParquetSink::new(store::create_file(path)?, schema, &settings))
            }
            None => None,
        },
        rejects: match &options.rejects {
            Some(path) => Some(store::create_file(path)?),
            None => None,
        },
        rejects_path: options.rejects.clone().unwrap_or_default(),
        strict: options.strict,
        summary: Summary::default(),
        termination: HashMap::new(),
        progress: options.progress.then(|| progress_bar(&options.inputs)),
    };
    let context =
        ParseContext { catalogue, zone: options.zone.clone(), keep_events: options.events.is_some(), projection: None };
    // Enough chunks in flight to keep every worker busy while the writer waits for a
    // row group to be encoded.
    let depth = options.threads * 2 + 1;
    let mut files = 0;
    let mut notices = Vec::new();
    pipeline::run(
        &pool,
        &context,
        depth,
        |submitter| {
            let mut sequence = 0;
            for (index, (input, _)) in inputs.iter().enumerate() {
                let opened = match Opened::open(input) {
                    Ok(opened) => opened,
                    Err(error) => {
                        // The other inputs still convert; the summary names this one.
                        let source = leak_text(input.display());
                        if !submitter.fail(sequence, source, index, 1, error.to_string()) {
                            return Ok(());
                        }
                        sequence += 1;
                        continue;
                    }
                };
                files += 1;
                // Every row of this input shares the name: one copy for the whole run.
                let source = leak_text(opened.name.clone());
                let reference_ms = opened.modified_ms;
                let mut first_line = 1;
                let mut chunks = opened.chunks(options.chunk_size);
                for chunk in chunks.by_ref() {
                    let bytes = match chunk {
                        Ok(bytes) => bytes,
                        Err(error) => {
                            let converted = match first_line {
                                1 => "nothing before it could be read".to_string(),
                                2 => "line 1 before it was converted".to_string(),
                                n => format!("lines 1-{} before it were converted", n - 1),
                            };
                            let why = format!("{error}; {converted}");
                            if !submitter.fail(sequence, source, index, first_line, why) {
                                return Ok(());
                            }
                            sequence += 1;
                            break;
                        }
                    };
                    if signals::stop_requested() {
                        return Err(ConvertError::Interrupted);
                    }
                    let lines = count_lines(bytes.bytes());
                    let job = ChunkJob { sequence, source, input: index, first_line, reference_ms, bytes };
                    sequence += 1;
                    first_line += lines;
                    if !submitter.submit(job) {
                        return Ok(());
                    }
                }
                if let Some(growth) = chunks.growth() {
                    notices.push(growth_notice(source, &growth));
                }
            }
            Ok(())
        },
        |chunk| writer.write(chunk),
    )?;
    if signals::stop_requested() {
        // Between the last chunk and the renames: still nothing may appear.
        return Err(ConvertError::Interrupted);
    }
    let mut summary = writer.finish()?;
    summary.files = files;
    summary.notices = notices;
    summary.skipped = skipped;
    summary.other_shards = other_shards;
    summary.elapsed = started.elapsed();
    Ok(summary)
}

/// Where traffic rows go.
enum Output {
    File(ParquetSink),
    Dataset(DatasetSink),
}

/// Takes chunk results in input order and writes them out.
struct Writer {
    traffic: Output,
    identities: Vec<Option<InputIdentity>>,
    current_input: Option<usize>,
    /// Inputs that failed part way: later chunks of theirs are dropped.
    failed_inputs: HashSet<usize>,
    events: Option<ParquetSink>,
    rejects: Option<AtomicFile>,
    rejects_path: String,
    strict: bool,
    summary: Summary,
    termination: HashMap<[u8; 2], u64>,
    progress: Option<ProgressBar>,
}

impl Writer {
    fn write(&mut self, chunk: ChunkResult) -> Result<(), ConvertError> {
        if self.failed_inputs.contains(&chunk.input) {
            // What follows a failure in an input is not trusted (see below).
            return Ok(());
        }
        let failure = match chunk.failure {
            Some(why) => Some(why),
            None if chunk.changed => Some(format!(
                "{}: the file changed while it was read (truncated, as logrotate's copytruncate does); \
                 lines from {} on were not converted",
                chunk.source, chunk.first_line
            )),
            None => None,
        };
        if let Some(why) = failure {
            if self.strict {
                return Err(ConvertError::InputFailed(why));
            }
            self.failed_inputs.insert(chunk.input);
            if let Output::Dataset(dataset) = &mut self.traffic
                && self.current_input == Some(chunk.input)
            {
                dataset.input_incomplete();
            }
            self.summary.input_errors.push(why);
            return Ok(());
        }
        if self.strict
            && let Some(reject) = chunk.rejects.first()
        {
            return Err(ConvertError::Strict {
                path: reject.source.to_string(),
                line: reject.line,
                reason: reject.reason.clone(),
            });
        }
        match &mut self.traffic {
            Output::File(sink) => {
                for batch in &chunk.traffic {
                    sink.write(batch)?;
                }
            }
            Output::Dataset(dataset) => {
                if self.current_input != Some(chunk.input) {
                    dataset.start_input(self.identities[chunk.input].clone())?;
                    self.current_input = Some(chunk.input);
                }
                for batch in &chunk.traffic {
                    dataset.write(batch)?;
                }
            }
        }
        if let Some(events) = &mut self.events {
            for batch in &chunk.event_batches {
                events.write(batch)?;
            }
        }
        for reject in &chunk.rejects {
            if self.summary.sample_rejects.len() < SAMPLE_REJECTS {
                self.summary.sample_rejects.push(format!("{}:{}: {}", reject.source, reject.line, reject.reason));
            }
            if let Some(file) = &mut self.rejects {
                write_reject(file, reject)
                    .map_err(|source| ConvertError::Rejects { path: self.rejects_path.clone(), source })?;
            }
        }
        let summary = &mut self.summary;
        summary.bytes += chunk.bytes;
        summary.lines += chunk.lines;
        summary.rows += chunk.rows;
        summary.events += chunk.events;
        summary.rejects += chunk.rejects.len() as u64;
        for (code, count) in chunk.termination {
            *self.termination.entry(code).or_default() += count;
        }
        if let Some(bar) = &self.progress {
            bar.inc(chunk.bytes);
            bar.set_message(format!("{} lines, {} rejects", summary.lines, summary.rejects));
        }
        Ok(())
    }

    fn finish(self) -> Result<Summary, ConvertError> {
        if let Some(bar) = &self.progress {
            bar.finish_and_clear();
        }
        let files_written = match self.traffic {
            Output::File(sink) => sink.finish().map(|_| 1)?,
            Output::Dataset(dataset) => dataset.finish()?,
        };
        if let Some(events) = self.events {
            events.finish()?;
        }
        if let Some(file) = self.rejects {
            file.commit()?;
        }
        let mut summary = self.summary;
        summary.files_written = files_written;
        let mut termination: Vec<(String, u64)> = self
            .termination
            .into_iter()
            .map(|(code, count)| (String::from_utf8_lossy(&code).into_owned(), count))
            .collect();
        termination.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        summary.termination = termination;
        Ok(summary)
    }
}

/// Bytes, rate and time left when every input is a plain file of known size; bytes and
/// rate otherwise (stdin, compressed files: their decoded size is unknown up front).
fn progress_bar(inputs: &[InputPath]) -> ProgressBar {
    let mut total = Some(0u64);
    for source in inputs {
        let plain_size = match source {
            InputPath::File(path) => input::plain_size(path),
            InputPath::Stdin | InputPath::Remote(_) => None,
        };
        total = total.zip(plain_size).map(|(t, s)| t + s);
    }
    let (bar, template) = match total {
        Some(total) => (ProgressBar::new(total), "{bar:30} {bytes}/{total_bytes} {bytes_per_sec} eta {eta} {msg}"),
        None => (ProgressBar::new_spinner(), "{spinner} {bytes} {bytes_per_sec} {elapsed} {msg}"),
    };
    bar.set_draw_target(ProgressDrawTarget::stderr_with_hz(4));
    bar.set_style(ProgressStyle::with_template(template).expect("valid template"));
    bar
}

fn growth_notice(source: &str, growth: &Growth) -> String {
    let mut notice = format!(
        "{source} grew to {} bytes while it was read: converted its first {} bytes, as it was when the run started",
        growth.now, growth.read
    );
    if growth.held_back > 0 {
        notice += &format!(
            "; its last line ({} bytes) was still being written and was left for the next run",
            growth.held_back
        );
    }
    notice
}

fn write_reject(out: &mut impl Write, reject: &Reject) -> std::io::Result<()> {
    let record = serde_json::json!({
        "file": reject.source,
        "line": reject.line,
        "reason": reject.reason,
        "text": String::from_utf8_lossy(&reject.text),
    });
    serde_json::to_writer(&mut *out, &record)?;
    out.write_all(b"\n")
}
