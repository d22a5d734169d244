//! A Parquet dataset directory: rows partitioned Hive-style by day or hour
//! (`date=2026-11-23/part-<input>-<n>.parquet`), and a manifest of the inputs already
//! converted so that a daily run converts only what is new.
//!
//! Exactly once: part files carry the identity of their input (a hash of its path, then
//! of its size, mtime and first 64 KiB). Before an input is written, every part of its
//! path goes: older versions (the live log grew) and what killed runs left, listed in
//! the manifest or not. The manifest is rewritten atomically at the end, and when a run
//! stops on an error or Ctrl-C, the parts of the input it was writing are deleted.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::{Path, PathBuf};

use arrow::array::{Array, AsArray};
use arrow::datatypes::{SchemaRef, TimestampMicrosecondType, TimestampMillisecondType};
use arrow::record_batch::RecordBatch;
use chrono::DateTime;

use crate::input::{self, InputPath};
use crate::schema::Col;
use crate::sink::{self, AtomicFile, FileSettings, ParquetSink, SinkError};

pub const MANIFEST: &str = "_halake_manifest.json";
/// Partitions written at once: logs are in time order, so one or two are active.
const OPEN_PARTITIONS: usize = 4;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Partitioning {
    None,
    Day,
    Hour,
}

/// What identifies one version of an input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputIdentity {
    pub path: String,
    pub size: u64,
    pub modified_ms: i64,
    pub head_hash: u64,
}

impl InputIdentity {
    /// None for stdin: a stream has no identity to remember.
    pub fn of(input: &InputPath) -> std::io::Result<Option<InputIdentity>> {
        let InputPath::File(path) = input else { return Ok(None) };
        let metadata = fs::metadata(path)?;
        let mut head = vec![0; 64 << 10];
        let read = input::read_fully(&mut fs::File::open(path)?, &mut head)?;
        let path = fs::canonicalize(path)?.display().to_string();
        let modified_ms = input::modified_ms(&metadata);
        Ok(Some(InputIdentity { path, size: metadata.len(), modified_ms, head_hash: fnv1a(&head[..read]) }))
    }

    /// What the part files of every version of this input start with: the path's hash.
    pub fn path_key(&self) -> String {
        format!("{:016x}", fnv1a(self.path.as_bytes()))
    }

    /// The prefix of this version's part files: the path's hash, then the version's.
    pub fn key(&self) -> String {
        let mut bytes = self.size.to_le_bytes().to_vec();
        bytes.extend_from_slice(&self.modified_ms.to_le_bytes());
        bytes.extend_from_slice(&self.head_hash.to_le_bytes());
        format!("{}-{:08x}", self.path_key(), fnv1a(&bytes) as u32)
    }
}

/// FNV-1a, 64 bits: stable across builds and platforms, which a manifest needs and
/// std's hasher does not promise.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3))
}

/// The inputs a dataset already holds, and the files each one wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Manifest {
    entries: BTreeMap<String, ManifestEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct ManifestEntry {
    identity: InputIdentity,
    parts: Vec<String>,
    rows: u64,
    /// False when the input could not be read to its end (corrupt, truncated while read):
    /// its parts are listed so that the next run replaces them, and it is read again.
    complete: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    #[error("reading the manifest {path}: {message}")]
    Manifest { path: PathBuf, message: String },
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error(transparent)]
    Sink(#[from] SinkError),
}

impl Manifest {
    pub fn load(root: &Path) -> Result<Manifest, DatasetError> {
        let path = root.join(MANIFEST);
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Manifest::default()),
            Err(source) => return Err(DatasetError::Io { path, source }),
        };
        let bad = |message: String| DatasetError::Manifest { path: path.clone(), message };
        let json: serde_json::Value = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
        let mut manifest = Manifest::default();
        for entry in json["inputs"].as_array().ok_or_else(|| bad("no 'inputs' list".into()))? {
            let text = |key: &str| entry[key].as_str().map(str::to_string).ok_or_else(|| bad(format!("no '{key}'")));
            let number = |key: &str| entry[key].as_i64().ok_or_else(|| bad(format!("no '{key}'")));
            let identity = InputIdentity {
                path: text("path")?,
                size: number("size")? as u64,
                modified_ms: number("modified_ms")?,
                head_hash: u64::from_str_radix(&text("head_hash")?, 16).map_err(|e| bad(e.to_string()))?,
            };
            let parts = entry["parts"].as_array().into_iter().flatten().filter_map(|p| p.as_str()).map(str::to_string);
            let parts = parts.collect();
            let rows = number("rows")? as u64;
            let complete = entry["complete"].as_bool().unwrap_or(true);
            manifest.entries.insert(identity.path.clone(), ManifestEntry { identity, parts, rows, complete });
        }
        Ok(manifest)
    }

    pub fn contains(&self, identity: &InputIdentity) -> bool {
        self.entries.get(&identity.path).is_some_and(|e| e.complete && e.identity == *identity)
    }

    fn save(&self, root: &Path) -> Result<(), DatasetError> {
        let inputs: Vec<serde_json::Value> = self
            .entries
            .values()
            .map(|e| {
                serde_json::json!({
                    "path": e.identity.path,
                    "size": e.identity.size,
                    "modified_ms": e.identity.modified_ms,
                    "head_hash": format!("{:016x}", e.identity.head_hash),
                    "rows": e.rows,
                    "complete": e.complete,
                    "parts": e.parts,
                })
            })
            .collect();
        let path = root.join(MANIFEST);
        let mut file = AtomicFile::create(&path)?;
        let json = serde_json::json!({ "halake_version": env!("CARGO_PKG_VERSION"), "inputs": inputs });
        serde_json::to_writer_pretty(&mut file, &json).map_err(|e| DatasetError::Io { path, source: e.into() })?;
        Ok(file.commit()?)
    }
}

/// The input being written, and what it has written so far.
struct CurrentInput {
    identity: InputIdentity,
    parts: Vec<String>,
    rows: u64,
    complete: bool,
}

/// A part file being written.
struct OpenPart {
    partition: String,
    relative: String,
    sink: ParquetSink,
}

/// Writes the rows of a run into a dataset directory.
pub struct DatasetSink {
    root: PathBuf,
    partitioning: Partitioning,
    schema: SchemaRef,
    settings: FileSettings,
    manifest: Manifest,
    current: Option<CurrentInput>,
    /// Partition, the part's path relative to the root, and its writer.
    open: Vec<OpenPart>,
    next_part: HashMap<String, u32>,
    /// Parts of a stream have no input identity: this run's own key keeps a later run
    /// from replacing them.
    stream_key: String,
    pub files_written: u64,
    /// Inputs of this run written to their end.
    inputs_finished: usize,
}

impl DatasetSink {
    pub fn create(
        root: &Path,
        partitioning: Partitioning,
        schema: SchemaRef,
        settings: FileSettings,
        manifest: Manifest,
    ) -> Result<DatasetSink, DatasetError> {
        fs::create_dir_all(root).map_err(|source| DatasetError::Io { path: root.to_path_buf(), source })?;
        remove_stale_parts(root)?;
        Ok(DatasetSink {
            root: root.to_path_buf(),
            partitioning,
            schema,
            settings,
            manifest,
            current: None,
            open: Vec::new(),
            next_part: HashMap::new(),
            stream_key: format!("stdin{:x}{:x}", input::now_ms(), std::process::id()),
            files_written: 0,
            inputs_finished: 0,
        })
    }

    /// Rows that follow belong to `identity` (None: stdin, never recorded).
    pub fn start_input(&mut self, identity: Option<InputIdentity>) -> Result<(), DatasetError> {
        self.finish_input()?;
        let Some(identity) = identity else { return Ok(()) };
        // Older versions of this input, and what killed runs of any version left: their
        // parts go, whether the manifest lists them or not.
        let mut stale: Vec<PathBuf> = Vec::new();
        if let Some(entry) = self.manifest.entries.remove(&identity.path) {
            stale.extend(entry.parts.iter().map(|p| self.root.join(p)));
            // First forget them, then delete them: killed in between, the manifest must
            // not name parts that are gone.
            self.manifest.save(&self.root)?;
        }
        let prefix = format!("part-{}-", identity.path_key());
        collect_parts(&self.root, &prefix, &mut stale)?;
        for path in stale {
            match fs::remove_file(&path) {
                Err(source) if source.kind() != std::io::ErrorKind::NotFound => {
                    return Err(DatasetError::Io { path, source });
                }
                _ => {}
            }
        }
        self.current = Some(CurrentInput { identity, parts: Vec::new(), rows: 0, complete: true });
        Ok(())
    }

    /// The current input could not be read to its end: it stays in the manifest only
    /// to have its parts replaced, and the next run reads it again.
    pub fn input_incomplete(&mut self) {
        if let Some(current) = &mut self.current {
            current.complete = false;
        }
    }

    pub fn write(&mut self, batch: &RecordBatch) -> Result<(), DatasetError> {
        let keys = partition_keys(batch, self.partitioning);
        let mut start = 0;
        while start < keys.len() {
            let end = (start..keys.len()).find(|&i| keys[i] != keys[start]).unwrap_or(keys.len());
            let slice = batch.slice(start, end - start);
            self.sink(&keys[start])?.write(&slice)?;
            start = end;
        }
        if let Some(current) = &mut self.current {
            current.rows += batch.num_rows() as u64;
        }
        Ok(())
    }

    fn sink(&mut self, partition: &str) -> Result<&mut ParquetSink, DatasetError> {
        if let Some(index) = self.open.iter().position(|part| part.partition == partition) {
            // Most recently used last.
            let entry = self.open.remove(index);
            self.open.push(entry);
        } else {
            if self.open.len() == OPEN_PARTITIONS {
                let part = self.open.remove(0);
                self.close(part)?;
            }
            let directory = self.root.join(partition);
            fs::create_dir_all(&directory).map_err(|source| DatasetError::Io { path: directory.clone(), source })?;
            let key = self.current.as_ref().map_or_else(|| self.stream_key.clone(), |current| current.identity.key());
            let number = self.next_part.entry(key.clone()).or_default();
            let name = format!("part-{key}-{number:04}.parquet");
            *number += 1;
            let sink = ParquetSink::create(&directory.join(&name), self.schema.clone(), &self.settings)?;
            let relative = if partition.is_empty() { name } else { format!("{partition}/{name}") };
            self.open.push(OpenPart { partition: partition.to_string(), relative, sink });
        }
        Ok(&mut self.open.last_mut().expect("just pushed").sink)
    }

    fn close(&mut self, part: OpenPart) -> Result<(), DatasetError> {
        part.sink.finish()?;
        self.files_written += 1;
        if let Some(current) = &mut self.current {
            current.parts.push(part.relative);
        }
        Ok(())
    }

    fn finish_input(&mut self) -> Result<(), DatasetError> {
        for part in std::mem::take(&mut self.open) {
            self.close(part)?;
        }
        if let Some(CurrentInput { identity, parts, rows, complete }) = self.current.take() {
            self.inputs_finished += 1;
            self.manifest.entries.insert(identity.path.clone(), ManifestEntry { identity, parts, rows, complete });
        }
        Ok(())
    }

    pub fn finish(mut self) -> Result<u64, DatasetError> {
        self.finish_input()?;
        self.manifest.save(&self.root)?;
        Ok(self.files_written)
    }
}

impl Drop for DatasetSink {
    /// Not finished (an error, Ctrl-C): the parts the unfinished input already closed
    /// go too, so that the dataset holds whole inputs only (its open parts delete their
    /// own temporary files), and the manifest records the inputs that were finished, so
    /// that a re-run converts only the rest.
    fn drop(&mut self) {
        if let Some(current) = self.current.take() {
            for relative in current.parts {
                let _ = fs::remove_file(self.root.join(relative));
            }
            if self.inputs_finished > 0 {
                let _ = self.manifest.save(&self.root);
            }
        }
    }
}

/// `date=2026-11-23` or `date=2026-11-23/hour=20` per row, from the first time the row
/// has (request, accept, syslog header); Hive's default partition when it has none.
fn partition_keys(batch: &RecordBatch, partitioning: Partitioning) -> Vec<String> {
    let rows = batch.num_rows();
    if partitioning == Partitioning::None {
        return vec![String::new(); rows];
    }
    let millis = |col: Col| batch.column(col.index()).as_primitive_opt::<TimestampMillisecondType>().cloned();
    let request = millis(Col::RequestTime);
    let accept = millis(Col::AcceptTime);
    let syslog = batch.column(Col::SyslogTime.index()).as_primitive_opt::<TimestampMicrosecondType>().cloned();
    let mut last: Option<(i64, String)> = None;
    (0..rows)
        .map(|row| {
            let pick = |a: &Option<arrow::array::TimestampMillisecondArray>| {
                a.as_ref().filter(|a| a.is_valid(row)).map(|a| a.value(row))
            };
            let ms = pick(&request)
                .or_else(|| pick(&accept))
                .or_else(|| syslog.as_ref().filter(|a| a.is_valid(row)).map(|a| a.value(row) / 1000));
            let Some(ms) = ms else { return "date=__HIVE_DEFAULT_PARTITION__".to_string() };
            let unit = if partitioning == Partitioning::Hour { 3_600_000 } else { 86_400_000 };
            let bucket = ms.div_euclid(unit);
            if let Some((last_bucket, key)) = &last
                && *last_bucket == bucket
            {
                return key.clone();
            }
            let time = DateTime::from_timestamp_millis(bucket * unit).expect("in range");
            let key = match partitioning {
                Partitioning::Hour => time.format("date=%Y-%m-%d/hour=%H").to_string(),
                _ => time.format("date=%Y-%m-%d").to_string(),
            };
            last = Some((bucket, key.clone()));
            key
        })
        .collect()
}

/// Temporary parts of killed runs, in every partition directory.
fn remove_stale_parts(root: &Path) -> Result<(), DatasetError> {
    for directory in directories(root)? {
        sink::remove_stale_temporaries(&directory, ".");
    }
    Ok(())
}

/// The part files, in any partition, whose names start with `prefix`.
fn collect_parts(root: &Path, prefix: &str, out: &mut Vec<PathBuf>) -> Result<(), DatasetError> {
    for directory in directories(root)? {
        let io_error = |source| DatasetError::Io { path: directory.clone(), source };
        for entry in fs::read_dir(&directory).map_err(io_error)? {
            let entry = entry.map_err(io_error)?;
            if entry.file_name().to_string_lossy().starts_with(prefix) && !entry.path().is_dir() {
                out.push(entry.path());
            }
        }
    }
    Ok(())
}

/// `root` and every directory under it: the partitions.
fn directories(root: &Path) -> Result<Vec<PathBuf>, DatasetError> {
    let mut found = vec![root.to_path_buf()];
    let mut next = 0;
    while next < found.len() {
        let directory = found[next].clone();
        next += 1;
        let io_error = |source| DatasetError::Io { path: directory.clone(), source };
        for entry in fs::read_dir(&directory).map_err(io_error)? {
            let entry = entry.map_err(io_error)?;
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                found.push(entry.path());
            }
        }
    }
    Ok(found)
}
