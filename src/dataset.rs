//! A Parquet dataset, in a directory or an object-store prefix: rows partitioned
//! Hive-style by day or hour (`date=2026-11-23/part-<input>-<n>.parquet`), and a
//! manifest of the inputs already converted so that a daily run converts only what is
//! new.
//!
//! A fleet converts into one dataset in shards (`--shard K/N`): each takes a stable
//! share of the inputs, by a hash of their path, and keeps a manifest of its own
//! (`_halake_manifest.shard-K-of-N.json`), so no two shards write the same part or the
//! same manifest. Every manifest is read to tell what the dataset holds.
//!
//! Exactly once: part files carry the identity of their input (a hash of its path, then
//! of its size, mtime and first 64 KiB). Before an input is written, every part of its
//! path goes: older versions (the live log grew) and what killed runs left, listed in
//! the manifest or not. The manifest is rewritten atomically at the end, and when a run
//! stops on an error or Ctrl-C, the parts of the input it was writing are deleted.

use std::collections::{BTreeMap, HashMap};
use std::fs;

use arrow::array::{Array, AsArray};
use arrow::datatypes::{SchemaRef, TimestampMicrosecondType, TimestampMillisecondType};
use arrow::record_batch::RecordBatch;
use chrono::DateTime;

use crate::input::{self, InputPath};
use crate::schema::Col;
use crate::sink::{FileSettings, ParquetSink, SinkError};
use crate::store::{Store, StoreError};

/// The manifest of an unsharded dataset; a shard's is `_halake_manifest.shard-K-of-N.json`.
pub const MANIFEST: &str = "_halake_manifest.json";
/// Partitions written at once: logs are in time order, so one or two are active.
const OPEN_PARTITIONS: usize = 4;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Partitioning {
    None,
    Day,
    Hour,
}

/// The K-th of N shares of a conversion's inputs (K from 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl Shard {
    /// `K/N`, as a job array numbers its tasks: 1/4 to 4/4.
    pub fn parse(text: &str) -> Result<Shard, String> {
        let usage = || format!("'{text}' is not a shard: give K/N with 1 <= K <= N, as in 3/8");
        let (index, count) = text.split_once('/').ok_or_else(usage)?;
        let (index, count) = (index.trim().parse().map_err(|_| usage())?, count.trim().parse().map_err(|_| usage())?);
        if index == 0 || index > count {
            return Err(usage());
        }
        Ok(Shard { index, count })
    }

    /// Whether this shard converts the input at `path` (canonical, as the manifest
    /// records it): the same answer on every machine that sees the file at that path.
    pub fn takes(&self, path: &str) -> bool {
        fnv1a(path.as_bytes()) % u64::from(self.count) == u64::from(self.index - 1)
    }

    fn manifest_name(shard: Option<Shard>) -> String {
        match shard {
            None => MANIFEST.to_string(),
            Some(Shard { index, count }) => format!("_halake_manifest.shard-{index}-of-{count}.json"),
        }
    }
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
        #[cfg(feature = "object-store")]
        if let InputPath::Remote(url) = input {
            use crate::store::remote;
            let remote_error = |e: crate::store::StoreError| std::io::Error::other(e.to_string());
            let info = remote::objects(url).map_err(remote_error)?.into_iter().next();
            let info = info.ok_or_else(|| std::io::Error::other("no object there"))?;
            let head = remote::read_head(url, 64 << 10).map_err(remote_error)?;
            let (size, modified_ms) = (info.size, info.modified_ms);
            return Ok(Some(InputIdentity { path: url.clone(), size, modified_ms, head_hash: fnv1a(&head) }));
        }
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
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3))
}

/// The inputs a dataset already holds, and the files each one wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Manifest {
    /// The file this run keeps: the dataset's, or its shard's.
    name: String,
    entries: BTreeMap<String, ManifestEntry>,
    /// What the other shards' manifests (or the unsharded one) hold: read, never written.
    others: Vec<ManifestEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ManifestEntry {
    pub(crate) identity: InputIdentity,
    pub(crate) parts: Vec<String>,
    pub(crate) rows: u64,
    /// False when the input could not be read to its end (corrupt, truncated while read):
    /// its parts are listed so that the next run replaces them, and it is read again.
    pub(crate) complete: bool,
    /// For a file a follower reads as it grows: which file, and how far its rows go.
    pub(crate) follow: Option<Followed>,
}

/// Where a follower is in one file (one inode: a rotation starts another entry). The
/// rows of its lines up to `offset` are in the entry's parts, the rest in none.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Followed {
    pub(crate) device: u64,
    pub(crate) inode: u64,
    /// Times the file was truncated and read again from its start (copytruncate).
    pub(crate) generation: u64,
    /// Bytes of whole lines converted.
    pub(crate) offset: u64,
    /// Lines in those bytes.
    pub(crate) lines: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    #[error("reading the manifest {path}: {message}")]
    Manifest { path: String, message: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Sink(#[from] SinkError),
}

impl Manifest {
    /// The manifests of the dataset at `store`; this run keeps its shard's.
    pub fn load(store: &Store, shard: Option<Shard>) -> Result<Manifest, DatasetError> {
        let name = Shard::manifest_name(shard);
        let mut manifest = Manifest { name: name.clone(), ..Manifest::default() };
        let files = store.list()?;
        for file in files.iter().filter(|f| is_manifest(f)) {
            let Some(bytes) = store.read(file)? else { continue };
            let entries = Manifest::parse(&bytes)
                .map_err(|message| DatasetError::Manifest { path: store.display(file), message })?;
            if *file == name {
                manifest.entries = entries.into_iter().map(|e| (e.identity.path.clone(), e)).collect();
            } else {
                manifest.others.extend(entries);
            }
        }
        Ok(manifest)
    }

    /// A manifest's entries, or what is wrong with it: a hand-edited or damaged manifest
    /// is an error, never read as an empty one (that would convert everything again).
    pub(crate) fn parse(bytes: &[u8]) -> Result<Vec<ManifestEntry>, String> {
        let json: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        let mut entries = Vec::new();
        for entry in json["inputs"].as_array().ok_or("no 'inputs' list")? {
            let text = |key: &str| entry[key].as_str().map(str::to_string).ok_or_else(|| format!("no '{key}'"));
            let number = |key: &str| entry[key].as_i64().ok_or_else(|| format!("no '{key}'"));
            let count = |key: &str| entry[key].as_u64().ok_or_else(|| format!("no '{key}' (a count from 0)"));
            let identity = InputIdentity {
                path: text("path")?,
                size: count("size")?,
                modified_ms: number("modified_ms")?,
                head_hash: u64::from_str_radix(&text("head_hash")?, 16).map_err(|e| e.to_string())?,
            };
            let parts = entry["parts"].as_array().into_iter().flatten().filter_map(|p| p.as_str()).map(str::to_string);
            let parts = parts.collect();
            let rows = count("rows")?;
            let complete = entry["complete"].as_bool().unwrap_or(true);
            let follow = match entry.get("follow") {
                None => None,
                Some(position) => {
                    let count =
                        |key: &str| position[key].as_u64().ok_or_else(|| format!("no 'follow.{key}' (a count from 0)"));
                    let (device, inode, generation) = (count("device")?, count("inode")?, count("generation")?);
                    Some(Followed { device, inode, generation, offset: count("offset")?, lines: count("lines")? })
                }
            };
            entries.push(ManifestEntry { identity, parts, rows, complete, follow });
        }
        Ok(entries)
    }

    pub fn contains(&self, identity: &InputIdentity) -> bool {
        let holds = |e: &ManifestEntry| e.complete && e.identity == *identity;
        self.entries.get(&identity.path).is_some_and(holds) || self.others.iter().any(holds)
    }

    /// Drops the input at `path` from this run's manifest; returns the parts it listed.
    pub(crate) fn forget(&mut self, path: &str) -> Vec<String> {
        self.entries.remove(path).map(|entry| entry.parts).unwrap_or_default()
    }

    pub(crate) fn save(&self, store: &Store) -> Result<(), DatasetError> {
        let mut file = store.create(&self.name)?;
        serde_json::to_writer_pretty(&mut file, &Manifest::to_json(self.entries.values()))
            .map_err(|e| SinkError::Finish { path: store.display(&self.name), source: e.into() })?;
        Ok(file.commit()?)
    }

    pub(crate) fn to_json<'a>(entries: impl Iterator<Item = &'a ManifestEntry>) -> serde_json::Value {
        let inputs: Vec<serde_json::Value> = entries
            .map(|e| {
                let mut entry = serde_json::json!({
                    "path": e.identity.path,
                    "size": e.identity.size,
                    "modified_ms": e.identity.modified_ms,
                    "head_hash": format!("{:016x}", e.identity.head_hash),
                    "rows": e.rows,
                    "complete": e.complete,
                    "parts": e.parts,
                });
                if let Some(Followed { device, inode, generation, offset, lines }) = e.follow {
                    entry["follow"] = serde_json::json!({
                        "device": device, "inode": inode, "generation": generation, "offset": offset, "lines": lines,
                    });
                }
                entry
            })
            .collect();
        serde_json::json!({ "halake_version": env!("CARGO_PKG_VERSION"), "inputs": inputs })
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

/// Writes the rows of a run into a dataset.
pub struct DatasetSink {
    store: Store,
    /// The files of the dataset: as listed when the run started, and the parts it wrote.
    files: Vec<String>,
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
    /// Writes into `store`, made ready with [`Store::prepare`].
    pub fn create(
        store: Store,
        partitioning: Partitioning,
        schema: SchemaRef,
        settings: FileSettings,
        manifest: Manifest,
    ) -> Result<DatasetSink, DatasetError> {
        let files = store.list()?;
        Ok(DatasetSink {
            store,
            files,
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
        let mut stale: Vec<String> = Vec::new();
        if let Some(entry) = self.manifest.entries.remove(&identity.path) {
            stale.extend(entry.parts);
            // First forget them, then delete them: killed in between, the manifest must
            // not name parts that are gone.
            self.manifest.save(&self.store)?;
        }
        let prefix = format!("part-{}-", identity.path_key());
        stale.extend(self.files.iter().filter(|f| file_name(f).starts_with(&prefix)).cloned());
        stale.sort();
        stale.dedup();
        for relative in &stale {
            self.store.delete(relative)?;
        }
        self.files.retain(|f| !stale.contains(f));
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
            let key = self.current.as_ref().map_or_else(|| self.stream_key.clone(), |current| current.identity.key());
            let number = self.next_part.entry(key.clone()).or_default();
            let name = format!("part-{key}-{number:04}.parquet");
            *number += 1;
            let relative = if partition.is_empty() { name } else { format!("{partition}/{name}") };
            let sink = ParquetSink::new(self.store.create(&relative)?, self.schema.clone(), &self.settings);
            self.open.push(OpenPart { partition: partition.to_string(), relative, sink });
        }
        Ok(&mut self.open.last_mut().expect("just pushed").sink)
    }

    fn close(&mut self, part: OpenPart) -> Result<(), DatasetError> {
        part.sink.finish()?;
        self.files_written += 1;
        self.files.push(part.relative.clone());
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
            self.manifest
                .entries
                .insert(identity.path.clone(), ManifestEntry { identity, parts, rows, complete, follow: None });
        }
        Ok(())
    }

    pub fn finish(mut self) -> Result<u64, DatasetError> {
        self.finish_input()?;
        self.manifest.save(&self.store)?;
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
                let _ = self.store.delete(&relative);
            }
            if self.inputs_finished > 0 {
                let _ = self.manifest.save(&self.store);
            }
        }
    }
}

/// `date=2026-11-23` or `date=2026-11-23/hour=20` per row, from the first time the row
/// has (request, accept, syslog header); Hive's default partition when it has none.
pub(crate) fn partition_keys(batch: &RecordBatch, partitioning: Partitioning) -> Vec<String> {
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

/// Whether a file of the dataset (by relative name) is one of its manifests: the
/// dataset's or a shard's, at its root.
pub(crate) fn is_manifest(name: &str) -> bool {
    !name.contains('/') && name.starts_with("_halake_manifest") && name.ends_with(".json")
}

/// The last component of a relative name.
pub(crate) fn file_name(relative: &str) -> &str {
    relative.rsplit('/').next().unwrap_or(relative)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_damaged_manifest_is_refused_with_the_reason() {
        let entry = r#"{"path": "/l", "size": 1, "modified_ms": 2, "head_hash": "ff", "rows": 3, "parts": ["p"]}"#;
        let entries = Manifest::parse(format!(r#"{{"inputs": [{entry}]}}"#).as_bytes()).unwrap();
        assert_eq!((entries[0].identity.size, entries[0].rows, entries[0].complete), (1, 3, true));
        let negative = entry.replace(r#""size": 1"#, r#""size": -1"#);
        let error = Manifest::parse(format!(r#"{{"inputs": [{negative}]}}"#).as_bytes()).unwrap_err();
        assert!(error.contains("'size'"), "{error}");
        assert!(Manifest::parse(b"{\"inputs\": [").is_err());
        assert!(Manifest::parse(b"{}").unwrap_err().contains("'inputs'"));
    }

    #[test]
    fn a_followed_file_keeps_its_position_through_a_manifest() {
        let text = r#"{"inputs": [{"path": "/var/log/haproxy.log", "size": 10, "modified_ms": 2, "head_hash": "ff",
            "rows": 3, "parts": ["p"], "follow": {"device": 1, "inode": 2, "generation": 1, "offset": 10, "lines": 4}}]}"#;
        let entries = Manifest::parse(text.as_bytes()).unwrap();
        let position = Followed { device: 1, inode: 2, generation: 1, offset: 10, lines: 4 };
        assert_eq!(entries[0].follow, Some(position));
        let written = serde_json::to_vec(&Manifest::to_json(entries.iter())).unwrap();
        assert_eq!(Manifest::parse(&written).unwrap(), entries);
        let damaged = text.replace(r#""inode": 2"#, r#""inode": "2""#);
        assert!(Manifest::parse(damaged.as_bytes()).unwrap_err().contains("follow.inode"));
    }

    #[test]
    fn shards_split_every_input_once() {
        assert_eq!(Shard::parse("3/8"), Ok(Shard { index: 3, count: 8 }));
        for bad in ["0/4", "5/4", "4", "a/b", "1/0"] {
            assert!(Shard::parse(bad).unwrap_err().contains("K/N"), "{bad}");
        }
        let shards: Vec<Shard> = (1..=4).map(|index| Shard { index, count: 4 }).collect();
        let paths: Vec<String> = (0..100).map(|day| format!("/var/log/lb{}/haproxy.log.{day}.gz", day % 3)).collect();
        for path in &paths {
            assert_eq!(shards.iter().filter(|s| s.takes(path)).count(), 1, "{path}");
        }
        // Every shard gets a share.
        assert!(shards.iter().all(|s| paths.iter().filter(|p| s.takes(p)).count() > 10));
        assert_eq!(Shard::manifest_name(Some(shards[1])), "_halake_manifest.shard-2-of-4.json");
    }
}
