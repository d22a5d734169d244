//! `halake convert --follow`: log files converted as they grow, like `tail -F`, into a
//! dataset, one roll of parts at a time, each line exactly once across kills and
//! rotations.
//!
//! A roll writes, for each file that grew, one part per partition, named by the file
//! and the offset the roll started from; then it saves the follower's manifest
//! ([`MANIFEST`]) with every file's new offset. The manifest is the truth: a part it
//! does not list was written by a roll that never committed (the process died between
//! the two), and a restart deletes it and reads those lines again from the offset the
//! manifest records. A last line without its newline waits for the next poll.
//!
//! Rotation: when the path names a new file (logrotate's rename, then create), the new
//! one is read from its start while the old one, wherever it was renamed to in the same
//! directory, is read to its end until it has been quiet for [`ROTATED_GRACE`]. A file
//! that shrinks (copytruncate) is read again from its start, as a new generation of
//! that file. Globs are expanded again at every poll, so new files are picked up.

use std::collections::HashSet;
use std::fs::{self, File};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::convert::ConvertError;
use crate::dataset::{self, Followed, InputIdentity, Manifest, ManifestEntry};
use crate::input;
use crate::parse::value::{StaticText, leak_text};
use crate::roll::{Counts, Roll, RollSettings, Target};
use crate::signals;

/// The follower's manifest, beside the dataset's: read with it by queries and `verify`.
pub const MANIFEST: &str = "_halake_manifest.follow.json";
/// How long a rotated file is still read after it last grew: the writer may hold it
/// open until it is told to reopen (rsyslog's HUP after logrotate).
pub const ROTATED_GRACE: Duration = Duration::from_secs(5);
/// Chunks read from one file per poll, per thread: a long backlog is taken in steps of
/// enough chunks to keep every thread busy, so memory stays a few chunks per thread.
const CHUNKS_PER_THREAD: u64 = 2;
/// The first bytes of a file, hashed: a restart checks that the file at the recorded
/// inode is still the one it was reading.
const HEAD_BYTES: u64 = 64 << 10;

pub struct FollowOptions {
    /// Files or globs, expanded again at every poll.
    pub patterns: Vec<String>,
    pub roll: RollSettings,
    /// How often files are looked at when nothing was read.
    pub poll: Duration,
    /// Print a line per roll on standard error.
    pub verbose: bool,
    /// Stop once every file has been read to its end (for tests and one-off catch-ups).
    pub exit_when_idle: bool,
}

/// What a follower read and wrote, in all.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FollowSummary {
    pub counts: Counts,
    pub rotations: u64,
    pub truncations: u64,
}

/// One file being read: one inode, one generation of it.
struct Tracked {
    /// The name it was followed by.
    path: String,
    source: StaticText,
    file: File,
    /// As committed in the manifest.
    committed: Followed,
    /// How far the open roll has read.
    offset: u64,
    lines: u64,
    /// What the manifest lists for it.
    parts: Vec<String>,
    rows: u64,
    /// This roll's parts.
    roll: Roll,
    /// When the path stopped naming this file.
    rotated: Option<Instant>,
    last_growth: Instant,
}

impl Tracked {
    fn entry(&self) -> ManifestEntry {
        ManifestEntry {
            identity: InputIdentity {
                path: self.path.clone(),
                size: self.committed.offset,
                modified_ms: input::now_ms(),
                head_hash: head_hash(&self.file, self.committed.offset).unwrap_or_default(),
            },
            parts: self.parts.clone(),
            rows: self.rows,
            complete: true,
            follow: Some(self.committed),
        }
    }

    fn key(&self) -> (u64, u64) {
        (self.committed.device, self.committed.inode)
    }
}

fn head_hash(file: &File, offset: u64) -> std::io::Result<u64> {
    let mut head = vec![0; offset.min(HEAD_BYTES) as usize];
    file.read_exact_at(&mut head, 0)?;
    Ok(dataset::fnv1a(&head))
}

struct Follower<'a> {
    options: &'a FollowOptions,
    target: Target,
    tracked: Vec<Tracked>,
    /// Files read to their end and let go: their entries stay in the manifest.
    finished: Vec<ManifestEntry>,
    /// Paths already warned about (not a regular file).
    warned: HashSet<String>,
    /// When the open roll read its first line.
    roll_started: Option<Instant>,
    summary: FollowSummary,
}

/// Follows `options.patterns` until Ctrl-C or SIGTERM (or, with `exit_when_idle`, until
/// every file is read), committing a last roll of what it holds before it returns.
pub fn follow(options: &FollowOptions) -> Result<FollowSummary, ConvertError> {
    let target = Target::open(&options.roll)?;
    let mut follower = Follower {
        options,
        target,
        tracked: Vec::new(),
        finished: Vec::new(),
        warned: HashSet::new(),
        roll_started: None,
        summary: FollowSummary::default(),
    };
    follower.resume()?;
    loop {
        let stopping = signals::stop_requested();
        follower.discover()?;
        let read = follower.read()?;
        let due = follower.roll_started.is_some_and(|started| started.elapsed() >= options.roll.roll_every)
            || follower.tracked.iter().map(|t| t.roll.rows).sum::<u64>() >= options.roll.roll_rows;
        let idle = read == 0 && options.exit_when_idle;
        if due || stopping || idle {
            follower.roll()?;
        }
        follower.let_go_of_rotated()?;
        if stopping || idle {
            return Ok(follower.summary);
        }
        if read == 0 {
            std::thread::sleep(options.poll);
        }
    }
}

impl Follower<'_> {
    /// Picks up where the manifest says the last run committed, and deletes the parts
    /// of a roll that never committed.
    fn resume(&mut self) -> Result<(), ConvertError> {
        let entries = match self.target.store.read(MANIFEST)? {
            Some(bytes) => Manifest::parse(&bytes).map_err(|message| dataset::DatasetError::Manifest {
                path: self.target.store.display(MANIFEST),
                message,
            })?,
            None => Vec::new(),
        };
        let files = self.target.store.list()?;
        let mut listed: HashSet<String> = HashSet::new();
        for name in files.iter().filter(|f| dataset::is_manifest(f)) {
            let bytes = self.target.store.read(name)?.unwrap_or_default();
            let other = Manifest::parse(&bytes).map_err(|message| dataset::DatasetError::Manifest {
                path: self.target.store.display(name),
                message,
            })?;
            listed.extend(other.into_iter().flat_map(|entry| entry.parts));
        }
        let mut prefixes: HashSet<String> = entries.iter().map(|e| part_prefix(&e.identity.path)).collect();
        prefixes.extend(self.expand().iter().map(|path| part_prefix(path)));
        for part in &files {
            let name = dataset::file_name(part);
            if name.ends_with(".parquet")
                && !listed.contains(part)
                && prefixes.iter().any(|prefix| name.starts_with(prefix))
            {
                self.target.store.delete(part)?;
            }
        }
        // Newest last: a file whose inode an older, let-go entry also names (inodes are
        // reused) is read for the newest only.
        for entry in entries.into_iter().rev() {
            let Some(position) = entry.follow else {
                self.finished.push(entry);
                continue;
            };
            if self.tracked.iter().any(|t| t.key() == (position.device, position.inode)) {
                self.finished.push(entry);
                continue;
            }
            match self.reopen(&entry, position) {
                Some(tracked) => self.tracked.push(tracked),
                None => self.finished.push(entry),
            }
        }
        self.finished.reverse();
        self.tracked.reverse();
        Ok(())
    }

    /// The file a manifest entry was reading, at its path or renamed beside it, if it is
    /// still the same file. A file that shrank or whose head changed is read again from
    /// its start, as the next generation.
    fn reopen(&mut self, entry: &ManifestEntry, position: Followed) -> Option<Tracked> {
        let path = Path::new(&entry.identity.path);
        let same = |candidate: &Path| {
            fs::metadata(candidate).ok().filter(|m| m.dev() == position.device && m.ino() == position.inode)
        };
        let found = same(path).map(|_| path.to_path_buf()).or_else(|| {
            let directory = path.parent()?;
            fs::read_dir(directory).ok()?.flatten().map(|e| e.path()).find(|candidate| same(candidate).is_some())
        })?;
        let file = File::open(&found).ok()?;
        let size = file.metadata().ok()?.len();
        let mut tracked = self.track(entry.identity.path.clone(), file, position);
        tracked.parts = entry.parts.clone();
        tracked.rows = entry.rows;
        tracked.rotated = (found != path).then(Instant::now);
        let intact = size >= position.offset
            && head_hash(&tracked.file, position.offset).is_ok_and(|hash| hash == entry.identity.head_hash);
        if !intact {
            self.start_generation(&mut tracked);
        }
        Some(tracked)
    }

    fn track(&self, path: String, file: File, position: Followed) -> Tracked {
        Tracked {
            source: leak_text(path.clone()),
            path,
            file,
            committed: position,
            offset: position.offset,
            lines: position.lines,
            parts: Vec::new(),
            rows: 0,
            roll: Roll::default(),
            rotated: None,
            last_growth: Instant::now(),
        }
    }

    /// The file was truncated (copytruncate) or replaced in place: read it again from
    /// its start. Its parts so far stay; the new ones are named by the new generation.
    fn start_generation(&mut self, tracked: &mut Tracked) {
        tracked.committed.generation += 1;
        tracked.committed.offset = 0;
        tracked.committed.lines = 0;
        tracked.offset = 0;
        tracked.lines = 0;
        self.summary.truncations += 1;
    }

    /// The paths the patterns name now, absolute, in order.
    fn expand(&self) -> Vec<String> {
        let mut paths = Vec::new();
        for pattern in &self.options.patterns {
            let matches: Vec<PathBuf> = match glob::glob(pattern) {
                Ok(found) => found.flatten().collect(),
                Err(_) => vec![PathBuf::from(pattern)],
            };
            let matches = if matches.is_empty() && !pattern.contains(['*', '?', '[']) {
                vec![PathBuf::from(pattern)]
            } else {
                matches
            };
            for path in matches {
                let absolute = std::path::absolute(&path).unwrap_or(path);
                let text = absolute.display().to_string();
                if !paths.contains(&text) {
                    paths.push(text);
                }
            }
        }
        paths
    }

    /// New files, and paths that now name another file than the one being read. A new
    /// file is recorded at once, before any of it is read: renamed away before the first
    /// roll, it is still found by its inode after a crash.
    fn discover(&mut self) -> Result<(), ConvertError> {
        let known = self.tracked.len();
        for path in self.expand() {
            let Ok(metadata) = fs::metadata(&path) else { continue };
            if !metadata.is_file() {
                if self.warned.insert(path.clone()) {
                    eprintln!("halake: {path} is not a regular file (a directory, a FIFO?): not followed");
                }
                continue;
            }
            let key = (metadata.dev(), metadata.ino());
            if self.tracked.iter().any(|t| t.key() == key) {
                continue;
            }
            let Ok(file) = File::open(&path) else { continue };
            // The path names a new file: the one it named before was rotated away.
            for old in self.tracked.iter_mut().filter(|t| t.path == path && t.rotated.is_none()) {
                old.rotated = Some(Instant::now());
                self.summary.rotations += 1;
            }
            let position = Followed { device: key.0, inode: key.1, generation: 0, offset: 0, lines: 0 };
            let tracked = self.track(path, file, position);
            self.tracked.push(tracked);
        }
        if self.tracked.len() > known { self.save() } else { Ok(()) }
    }

    /// Reads what every file gained since the last poll, up to its last whole line, and
    /// writes the rows into the open roll. Returns the bytes read.
    fn read(&mut self) -> Result<u64, ConvertError> {
        let mut total = 0;
        for index in 0..self.tracked.len() {
            let size = match self.tracked[index].file.metadata() {
                Ok(metadata) => metadata.len(),
                Err(_) => continue,
            };
            if size < self.tracked[index].offset {
                // Truncated (copytruncate): what was read stays; the file starts again.
                let mut tracked = self.tracked.remove(index);
                let rolled = self.roll_one(&mut tracked);
                self.start_generation(&mut tracked);
                self.tracked.insert(index, tracked);
                rolled?;
                self.save()?;
            }
            let tracked = &self.tracked[index];
            let step = (self.options.roll.chunk_size as u64) * (self.options.roll.threads as u64) * CHUNKS_PER_THREAD;
            let wanted = (size - tracked.offset).min(step);
            if wanted == 0 {
                continue;
            }
            let mut bytes = vec![0; wanted as usize];
            let read = tracked.file.read_at(&mut bytes, tracked.offset).map_err(|source| {
                ConvertError::Input(input::InputError::Read { path: tracked.path.clone(), source })
            })?;
            bytes.truncate(read);
            let whole = match memchr::memrchr(b'\n', &bytes) {
                Some(last) => last + 1,
                // A line longer than a step is cut there rather than waited for forever.
                None if wanted == step => bytes.len(),
                None => continue,
            };
            bytes.truncate(whole);
            total += whole as u64;
            self.parse_into_roll(index, bytes)?;
        }
        Ok(total)
    }

    fn parse_into_roll(&mut self, index: usize, bytes: Vec<u8>) -> Result<(), ConvertError> {
        self.roll_started.get_or_insert_with(Instant::now);
        let tracked = &self.tracked[index];
        let results = self.target.parse(&bytes, tracked.source, tracked.lines + 1)?;
        let tracked = &mut self.tracked[index];
        let Followed { inode, generation, offset, .. } = tracked.committed;
        let prefix = part_prefix(&tracked.path);
        let name = |n: usize| format!("{prefix}{inode:x}-{generation}-{offset:012x}-{n:02}.parquet");
        for result in &results {
            tracked.lines += result.lines;
            self.summary.counts.add(result);
            for batch in &result.traffic {
                tracked.roll.write(&self.target, batch, name)?;
            }
        }
        tracked.offset += bytes.len() as u64;
        tracked.last_growth = Instant::now();
        Ok(())
    }

    /// Closes one file's parts of the open roll and moves its committed position on;
    /// the caller saves the manifest.
    fn roll_one(&mut self, tracked: &mut Tracked) -> Result<(), ConvertError> {
        let (parts, rows) = tracked.roll.finish()?;
        self.summary.counts.parts += parts.len() as u64;
        tracked.parts.extend(parts);
        tracked.rows += rows;
        tracked.committed.offset = tracked.offset;
        tracked.committed.lines = tracked.lines;
        Ok(())
    }

    /// Writes the open roll: its parts first, then the manifest that lists them.
    fn roll(&mut self) -> Result<(), ConvertError> {
        if self.tracked.iter().all(|t| t.offset == t.committed.offset) {
            self.roll_started = None;
            return Ok(());
        }
        let (parts_before, rows) = (self.summary.counts.parts, self.tracked.iter().map(|t| t.roll.rows).sum::<u64>());
        let mut tracked = std::mem::take(&mut self.tracked);
        let result = tracked.iter_mut().try_for_each(|t| self.roll_one(t));
        self.tracked = tracked;
        result?;
        self.save()?;
        self.summary.counts.rolls += 1;
        self.roll_started = None;
        if self.options.verbose {
            let (s, counts) = (&self.summary, &self.summary.counts);
            eprintln!(
                "halake: roll {}: {rows} rows in {} parts; in all {}, {} files followed, {} rotations, {} truncations",
                counts.rolls,
                counts.parts - parts_before,
                counts.reconciliation(),
                self.tracked.len(),
                s.rotations,
                s.truncations
            );
        }
        Ok(())
    }

    fn save(&self) -> Result<(), ConvertError> {
        let entries: Vec<ManifestEntry> =
            self.finished.iter().cloned().chain(self.tracked.iter().map(Tracked::entry)).collect();
        self.target.save_manifest(MANIFEST, entries.iter())
    }

    /// Rotated files read to their end and quiet for [`ROTATED_GRACE`], with nothing in
    /// the open roll, are let go of.
    fn let_go_of_rotated(&mut self) -> Result<(), ConvertError> {
        let done = |t: &Tracked| {
            t.rotated.is_some_and(|at| at.elapsed() >= ROTATED_GRACE)
                && t.last_growth.elapsed() >= ROTATED_GRACE
                && t.offset == t.committed.offset
                && t.file.metadata().is_ok_and(|m| m.len() <= t.offset)
        };
        if !self.tracked.iter().any(done) {
            return Ok(());
        }
        let (gone, kept): (Vec<Tracked>, Vec<Tracked>) = std::mem::take(&mut self.tracked).into_iter().partition(done);
        self.tracked = kept;
        self.finished.extend(gone.iter().map(Tracked::entry));
        self.save()
    }
}

/// What a followed path's part names start with: not what `convert`'s parts of the
/// same path start with, so that neither replaces the other's.
fn part_prefix(path: &str) -> String {
    format!("part-follow-{:016x}-", dataset::fnv1a(path.as_bytes()))
}
