//! Inputs: what a path names (files, directories, `-` for stdin), how its bytes are read
//! (memory-mapped when plain, streamed when compressed or piped), and how they are cut
//! into newline-aligned chunks that workers parse independently.
//!
//! Chunks never split a line, and where they end depends only on the bytes and the
//! chunk size, never on the number of threads: that keeps output deterministic.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use crate::mapping::GuardedMap;

/// One input as the user named it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputPath {
    File(PathBuf),
    Stdin,
    /// An object in object storage, by URL: read as it downloads.
    Remote(String),
}

impl InputPath {
    pub fn display(&self) -> String {
        match self {
            InputPath::File(path) => path.display().to_string(),
            InputPath::Stdin => "-".to_string(),
            InputPath::Remote(url) => url.clone(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("cannot read {path}: {source}")]
    Read { path: String, source: io::Error },
    #[error("{path}: {kind} data is corrupt or truncated after byte {offset} of the decompressed text: {source}")]
    Decompress { path: String, kind: &'static str, offset: u64, source: io::Error },
    /// Object storage that could not be listed or read: the store's error names the URL.
    #[error("{0}")]
    Store(#[from] crate::store::StoreError),
}

/// Files as given; directories by their regular files, recursively, in name order
/// (hidden files skipped); `-` is standard input; a pattern the shell did not expand
/// (`'logs/*.gz'` in a cron line) is expanded here.
pub fn expand(paths: &[PathBuf]) -> Result<Vec<InputPath>, InputError> {
    let mut out = Vec::new();
    for path in paths {
        let text = path.to_string_lossy();
        if path.as_os_str() == "-" {
            out.push(InputPath::Stdin);
        } else if crate::store::is_remote(&text) {
            expand_remote(&text, &mut out)?;
        } else if !path.exists() && text.contains(['*', '?', '[']) {
            let pattern_error =
                |message: String| InputError::Read { path: text.to_string(), source: io::Error::other(message) };
            let matches = glob::glob(&text).map_err(|e| pattern_error(e.to_string()))?;
            let mut found: Vec<PathBuf> =
                matches.collect::<Result<_, _>>().map_err(|e| pattern_error(e.to_string()))?;
            if found.is_empty() {
                return Err(pattern_error("no file matches this pattern".into()));
            }
            found.sort();
            for path in found {
                expand_path(&path, &mut out)?;
            }
        } else {
            expand_path(path, &mut out)?;
        }
    }
    Ok(out)
}

/// An object, or every object under a prefix, in name order.
fn expand_remote(target: &str, out: &mut Vec<InputPath>) -> Result<(), InputError> {
    #[cfg(feature = "object-store")]
    {
        let objects = crate::store::remote::objects(target)?;
        out.extend(objects.into_iter().map(|object| InputPath::Remote(object.url)));
        Ok(())
    }
    #[cfg(not(feature = "object-store"))]
    {
        let _ = out;
        Err(InputError::Read {
            path: target.to_string(),
            source: io::Error::other("this build has no object storage (build with the default features)"),
        })
    }
}

fn expand_path(path: &Path, out: &mut Vec<InputPath>) -> Result<(), InputError> {
    let read_error = |source| InputError::Read { path: path.display().to_string(), source };
    let metadata = std::fs::metadata(path).map_err(read_error)?;
    if !metadata.is_dir() {
        out.push(InputPath::File(path.to_path_buf()));
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(read_error)?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .map_err(read_error)?;
    entries.sort();
    for entry in entries {
        if entry.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')) {
            continue;
        }
        if entry.is_dir() {
            expand_path(&entry, out)?;
        } else {
            // Not followed here: a dangling link or an unreadable file inside a directory
            // fails when it is opened, where it is reported and the others still convert.
            out.push(InputPath::File(entry));
        }
    }
    Ok(())
}

/// How an input's bytes are stored, detected by magic bytes, not by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Plain,
    Gzip,
    Zstd,
}

impl Encoding {
    /// From the first bytes of a file.
    pub fn sniff(head: &[u8]) -> Encoding {
        if head.starts_with(&[0x1f, 0x8b]) {
            Encoding::Gzip
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Encoding::Zstd
        } else {
            Encoding::Plain
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Encoding::Plain => "plain",
            Encoding::Gzip => "gzip",
            Encoding::Zstd => "zstd",
        }
    }
}

/// The bytes of one chunk: a range of a shared map, or a block read from a stream.
#[derive(Clone)]
pub enum ChunkBytes {
    Mapped(Arc<GuardedMap>, Range<usize>),
    Owned(Arc<Block>),
}

/// A block of a stream's bytes. When its chunk has been parsed the buffer goes back to
/// the stream's pool: the next block is read into memory already paged in and written,
/// not into fresh pages the kernel must fault in and zero (a tenth of a gzip conversion's
/// time went there).
pub struct Block {
    buffer: Vec<u8>,
    /// The block's bytes are the buffer's first `len`; the rest was written before.
    len: usize,
    pool: Arc<BufferPool>,
}

impl Drop for Block {
    fn drop(&mut self) {
        let buffer = std::mem::take(&mut self.buffer);
        let mut pool = self.pool.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if pool.len() < POOLED_BUFFERS {
            pool.push(buffer);
        }
    }
}

/// Enough for the chunks in flight of one stream to come back and go out again; more
/// would only hold memory.
const POOLED_BUFFERS: usize = 4;

#[derive(Default)]
struct BufferPool(std::sync::Mutex<Vec<Vec<u8>>>);

impl BufferPool {
    fn take(&self) -> Vec<u8> {
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).pop().unwrap_or_default()
    }
}

impl ChunkBytes {
    /// Bytes read by the caller, not from a pooled stream.
    pub fn owned(buffer: Vec<u8>) -> ChunkBytes {
        let len = buffer.len();
        ChunkBytes::Owned(Arc::new(Block { buffer, len, pool: Arc::default() }))
    }

    pub fn bytes(&self) -> &[u8] {
        match self {
            ChunkBytes::Mapped(map, range) => &map[range.clone()],
            ChunkBytes::Owned(block) => &block.buffer[..block.len],
        }
    }

    /// The map's pages of this chunk are no longer needed: drop them from memory, so a
    /// 10 GB file costs no more resident memory than a 1 GB one. Pages that straddle
    /// the chunk's ends are kept for the neighbours.
    pub fn release(&self) {
        if let ChunkBytes::Mapped(map, range) = self {
            const PAGE: usize = 4096;
            let start = range.start.next_multiple_of(PAGE);
            let end = range.end / PAGE * PAGE;
            if end > start {
                // SAFETY: the map is private and read-only; MADV_DONTNEED only drops
                // clean pages, which the kernel reads back from the file if touched
                // again. No reference into this range outlives the chunk's parse.
                let _ =
                    unsafe { map.map().unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, start, end - start) };
            }
        }
    }

    /// Whether the bytes read from this chunk were the file's: false when its file was
    /// truncated while mapped (see [`crate::mapping`]), and what was read must be dropped.
    pub fn intact(&self) -> bool {
        match self {
            ChunkBytes::Mapped(map, _) => map.intact(),
            ChunkBytes::Owned(_) => true,
        }
    }
}

/// An opened input.
pub struct Opened {
    pub name: String,
    pub encoding: Encoding,
    pub modified_ms: i64,
    source: Source,
}

enum Source {
    Mapped(Arc<GuardedMap>),
    Stream(Box<dyn Read + Send>),
}

impl Opened {
    pub fn open(input: &InputPath) -> Result<Opened, InputError> {
        let name = input.display();
        let read_error = |source| InputError::Read { path: name.clone(), source };
        let (mut reader, modified_ms): (Box<dyn Read + Send>, i64) = match input {
            InputPath::Stdin => (Box::new(io::stdin()), now_ms()),
            InputPath::Remote(url) => remote_reader(url)?,
            InputPath::File(path) => {
                let file = File::open(path).map_err(read_error)?;
                let metadata = file.metadata().map_err(read_error)?;
                let modified_ms = modified_ms(&metadata);
                if metadata.is_file()
                    && metadata.len() > 0
                    && let Some(map) = file.try_clone().ok().and_then(GuardedMap::new)
                {
                    let encoding = Encoding::sniff(&map);
                    if encoding == Encoding::Plain {
                        let _ = map.map().advise(memmap2::Advice::Sequential);
                        return Ok(Opened { name, encoding, modified_ms, source: Source::Mapped(Arc::new(map)) });
                    }
                    // Compressed: decoded as a stream. Read, not mapped: a decoder cannot
                    // take back bytes that turn out to be zeros of a truncated file.
                }
                (Box::new(file), modified_ms)
            }
        };
        let mut head = [0u8; 4];
        let read = read_fully(&mut reader, &mut head).map_err(read_error)?;
        let reader: Box<dyn Read + Send> = Box::new(io::Cursor::new(head[..read].to_vec()).chain(reader));
        Opened::stream(name, reader, modified_ms, Encoding::sniff(&head[..read]))
    }

    fn stream(
        name: String,
        reader: Box<dyn Read + Send>,
        modified_ms: i64,
        encoding: Encoding,
    ) -> Result<Opened, InputError> {
        let reader: Box<dyn Read + Send> = match encoding {
            Encoding::Plain => reader,
            // Multi-member gzip (logrotate, `cat a.gz b.gz`) is one stream.
            Encoding::Gzip => Box::new(flate2::read::MultiGzDecoder::new(BufReader::with_capacity(1 << 20, reader))),
            Encoding::Zstd => {
                Box::new(zstd::Decoder::new(reader).map_err(|source| InputError::Read { path: name.clone(), source })?)
            }
        };
        Ok(Opened { name, encoding, modified_ms, source: Source::Stream(reader) })
    }

    /// Memory-mapped (a plain file): its chunks can be cut anywhere without reading it.
    pub fn is_mapped(&self) -> bool {
        matches!(self.source, Source::Mapped(_))
    }

    /// The first and the last lines of a mapped input, about `size` bytes of each, cut
    /// at newlines (one range twice for a small file); None for a stream. Only the pages
    /// of those bytes are touched.
    pub fn ends(&self, size: usize) -> Option<[ChunkBytes; 2]> {
        let Source::Mapped(map) = &self.source else { return None };
        let head = chunk_end(&map[..], 0, size)?;
        let len = map.len();
        let from = len.saturating_sub(size);
        let tail = match from {
            0 => 0,
            _ if map[from - 1] == b'\n' => from,
            _ => match memchr::memchr(b'\n', &map[from..]) {
                Some(p) if from + p + 1 < len => from + p + 1,
                // The last line alone is longer than `size`.
                _ => memchr::memrchr(b'\n', &map[..len - 1]).map_or(0, |p| p + 1),
            },
        };
        Some([ChunkBytes::Mapped(map.clone(), 0..head), ChunkBytes::Mapped(map.clone(), tail..len)])
    }

    /// The input's chunks, in order, of about `chunk_size` bytes each.
    pub fn chunks(self, chunk_size: usize) -> Chunks {
        let chunk_size = chunk_size.max(1);
        match self.source {
            Source::Mapped(map) => Chunks {
                name: self.name,
                encoding: self.encoding,
                chunk_size,
                state: ChunkState::Mapped { map, offset: 0 },
                growth: None,
            },
            Source::Stream(reader) => Chunks {
                name: self.name,
                encoding: self.encoding,
                chunk_size,
                state: ChunkState::Stream {
                    reader,
                    carry: Vec::new(),
                    pool: Arc::default(),
                    done: false,
                    decoded: 0,
                    error: None,
                },
                growth: None,
            },
        }
    }
}

#[cfg(feature = "object-store")]
fn remote_reader(url: &str) -> Result<(Box<dyn Read + Send>, i64), InputError> {
    let (reader, info) = crate::store::remote::open_reader(url)?;
    Ok((Box::new(reader), info.modified_ms))
}

#[cfg(not(feature = "object-store"))]
fn remote_reader(url: &str) -> Result<(Box<dyn Read + Send>, i64), InputError> {
    Err(InputError::Read { path: url.to_string(), source: io::Error::other("this build has no object storage") })
}

pub fn now_ms() -> i64 {
    ms_since_epoch(SystemTime::now())
}

/// A file's modification time, ms since the epoch (0 when the platform has none).
pub fn modified_ms(metadata: &std::fs::Metadata) -> i64 {
    metadata.modified().map_or(0, ms_since_epoch)
}

fn ms_since_epoch(time: SystemTime) -> i64 {
    time.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// The size of a plain (uncompressed) file; None for compressed ones, whose decoded
/// size is not known up front.
pub fn plain_size(path: &Path) -> Option<u64> {
    let mut file = File::open(path).ok()?;
    let mut magic = [0u8; 4];
    let read = read_fully(&mut file, &mut magic).ok()?;
    (Encoding::sniff(&magic[..read]) == Encoding::Plain).then(|| file.metadata().ok().map(|m| m.len()))?
}

/// Reads until `buffer` is full or the input ends; returns how much was read.
pub fn read_fully(reader: &mut impl Read, buffer: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        match reader.read(&mut buffer[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Newline-aligned chunks of one input.
pub struct Chunks {
    pub name: String,
    encoding: Encoding,
    chunk_size: usize,
    state: ChunkState,
    growth: Option<Growth>,
}

/// A mapped file that grew while it was read: the active log. Only the bytes it had
/// when it was opened are read, up to the last complete line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Growth {
    /// Bytes read: the size when opened, less `held_back`.
    pub read: u64,
    /// The size when the last chunk was cut.
    pub now: u64,
    /// A last line still being written when the file was opened: left for the next run.
    pub held_back: u64,
}

enum ChunkState {
    Mapped {
        map: Arc<GuardedMap>,
        offset: usize,
    },
    Stream {
        reader: Box<dyn Read + Send>,
        carry: Vec<u8>,
        pool: Arc<BufferPool>,
        done: bool,
        decoded: u64,
        error: Option<InputError>,
    },
}

impl Chunks {
    /// Set once the last chunk of a mapped file is cut, if the file had grown by then.
    pub fn growth(&self) -> Option<Growth> {
        self.growth
    }

    fn next_mapped(&mut self) -> Option<Result<ChunkBytes, InputError>> {
        let ChunkState::Mapped { map, offset } = &mut self.state else { unreachable!("a mapped input") };
        let start = *offset;
        let mut end = chunk_end(&map[..], start, self.chunk_size)?;
        *offset = end;
        if end == map.len()
            && let Some(now) = map.current_len().filter(|&now| now > map.len() as u64)
        {
            // Still being written: a last line without its newline is not complete yet.
            let complete = if map[end - 1] == b'\n' {
                end
            } else {
                memchr::memrchr(b'\n', &map[start..end]).map_or(start, |p| start + p + 1)
            };
            self.growth = Some(Growth { read: complete as u64, now, held_back: (end - complete) as u64 });
            end = complete;
            if end == start {
                return None;
            }
        }
        Some(Ok(ChunkBytes::Mapped(map.clone(), start..end)))
    }

    fn next_streamed(&mut self) -> Option<Result<ChunkBytes, InputError>> {
        let chunk_size = self.chunk_size;
        let ChunkState::Stream { reader, carry, pool, done, decoded, error } = &mut self.state else {
            unreachable!("a streamed input")
        };
        if *done && carry.is_empty() {
            return error.take().map(Err);
        }
        // Fill a block, keep the bytes after its last newline for the next one. The
        // buffer's length is what was ever written to it: only growth is zeroed.
        let mut buffer = pool.take();
        let mut filled = carry.len();
        if buffer.len() < filled {
            buffer.resize(filled, 0);
        }
        buffer[..filled].copy_from_slice(carry);
        carry.clear();
        // A chunk ends at the first newline at or past `chunk_size`: read until the block
        // holds one (or the stream ends).
        let has_end =
            |block: &[u8]| block.len() >= chunk_size && memchr::memchr(b'\n', &block[chunk_size - 1..]).is_some();
        while !*done && !has_end(&buffer[..filled]) {
            let want = chunk_size.max(filled + 64 * 1024).min(filled + (16 << 20));
            if buffer.len() < want {
                buffer.resize(want, 0);
            }
            match reader.read(&mut buffer[filled..want]) {
                Ok(0) => *done = true,
                Ok(n) => {
                    filled += n;
                    *decoded += n as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(source) => {
                    *done = true;
                    // The complete lines decoded so far are good: they go out first, and
                    // the error after them. A line cut by the error is not a line.
                    let complete = memchr::memrchr(b'\n', &buffer[..filled]).map_or(0, |p| p + 1);
                    let incomplete = (filled - complete) as u64;
                    filled = complete;
                    *error = Some(if self.encoding == Encoding::Plain {
                        InputError::Read { path: self.name.clone(), source }
                    } else {
                        InputError::Decompress {
                            path: self.name.clone(),
                            kind: self.encoding.name(),
                            offset: *decoded - incomplete,
                            source,
                        }
                    });
                }
            }
        }
        if !*done {
            let cut = chunk_end(&buffer[..filled], 0, chunk_size).unwrap_or(filled);
            carry.extend_from_slice(&buffer[cut..filled]);
            filled = cut;
        }
        let block = Block { buffer, len: filled, pool: pool.clone() };
        if filled == 0 {
            return error.take().map(Err);
        }
        Some(Ok(ChunkBytes::Owned(Arc::new(block))))
    }
}

impl Iterator for Chunks {
    type Item = Result<ChunkBytes, InputError>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.state {
            ChunkState::Mapped { .. } => self.next_mapped(),
            ChunkState::Stream { .. } => self.next_streamed(),
        }
    }
}

/// Where the chunk that starts at `start` ends: just after the first newline at or past
/// `start + size`, or at the end of the bytes. None when nothing is left.
pub fn chunk_end(bytes: &[u8], start: usize, size: usize) -> Option<usize> {
    if start >= bytes.len() {
        return None;
    }
    let target = start.saturating_add(size.max(1)).min(bytes.len());
    Some(match memchr::memchr(b'\n', &bytes[target - 1..]) {
        Some(p) => target - 1 + p + 1,
        None => bytes.len(),
    })
}

/// Lines in `bytes` as [`lines`] yields them.
pub fn count_lines(bytes: &[u8]) -> u64 {
    let newlines = memchr::memchr_iter(b'\n', bytes).count() as u64;
    newlines + u64::from(bytes.last().is_some_and(|&b| b != b'\n'))
}

/// Lines without their terminator; a last line without a newline still counts.
pub fn lines(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = bytes;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        match memchr::memchr(b'\n', rest) {
            Some(end) => {
                let line = &rest[..end];
                rest = &rest[end + 1..];
                Some(line)
            }
            None => {
                let line = rest;
                rest = &[];
                Some(line)
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(bytes: &[u8], size: usize) -> Vec<&[u8]> {
        let mut out = Vec::new();
        let mut start = 0;
        while let Some(end) = chunk_end(bytes, start, size) {
            out.push(&bytes[start..end]);
            start = end;
        }
        out
    }

    #[test]
    fn lines_keep_a_missing_final_newline_and_empty_lines() {
        let collected: Vec<&[u8]> = lines(b"a\n\nb\r\nc").collect();
        assert_eq!(collected, vec![&b"a"[..], b"", b"b\r", b"c"]);
        assert_eq!(lines(b"").count(), 0);
        assert_eq!(lines(b"\n").count(), 1);
        for text in [&b"a\n\nb\r\nc"[..], b"", b"\n", b"x", b"x\n"] {
            assert_eq!(count_lines(text), lines(text).count() as u64);
        }
    }

    #[test]
    fn chunks_end_after_a_newline_and_cover_everything() {
        let bytes = b"aa\nbbbb\n\ncc";
        for size in 1..=bytes.len() + 1 {
            let chunks = split(bytes, size);
            assert_eq!(chunks.concat(), bytes, "size {size}");
            for chunk in &chunks[..chunks.len() - 1] {
                assert_eq!(chunk.last(), Some(&b'\n'), "size {size}");
            }
        }
        assert_eq!(split(bytes, 1), vec![&b"aa\n"[..], b"bbbb\n", b"\n", b"cc"]);
        assert_eq!(split(b"", 4).len(), 0);
    }

    #[test]
    fn streamed_chunks_match_mapped_chunks() {
        let mut text = Vec::new();
        for i in 0..1000 {
            text.extend_from_slice(format!("line {i} {}\n", "x".repeat(i % 37)).as_bytes());
        }
        /// Hands out a few bytes per read, as a pipe or a decoder may.
        struct Dribble(io::Cursor<Vec<u8>>);
        impl Read for Dribble {
            fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
                let n = buffer.len().min(13);
                self.0.read(&mut buffer[..n])
            }
        }
        for size in [1, 7, 100, 4096, 1 << 20] {
            for dribble in [false, true] {
                let cursor = io::Cursor::new(text.clone());
                let reader: Box<dyn Read + Send> = if dribble { Box::new(Dribble(cursor)) } else { Box::new(cursor) };
                let opened = Opened::stream("t".into(), reader, 0, Encoding::Plain).unwrap();
                // Each chunk is dropped before the next is cut: its buffer is reused, with
                // the longer lines of earlier chunks still in it past the new block's end.
                let chunks: Vec<Vec<u8>> = opened.chunks(size).map(|c| c.unwrap().bytes().to_vec()).collect();
                let expected: Vec<Vec<u8>> = split(&text, size).into_iter().map(<[u8]>::to_vec).collect();
                assert_eq!(chunks, expected, "size {size}, dribble {dribble}");
            }
        }
    }

    #[test]
    fn the_ends_of_a_mapped_file_are_whole_lines_at_each_end() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.log");
        let mut text = Vec::new();
        for i in 0..1000 {
            text.extend_from_slice(format!("line {i} {}\n", "x".repeat(i % 37)).as_bytes());
        }
        let cases: [(&[u8], usize); 6] = [
            (&text, 100),
            (&text, 1 << 20),
            (b"one line, no newline", 4),
            (b"a\n", 1),
            (b"a\nbb\n", 2),
            (b"a\nbb\n", 3),
        ];
        for (bytes, size) in cases {
            std::fs::write(&path, bytes).unwrap();
            let opened = Opened::open(&InputPath::File(path.clone())).unwrap();
            let [head, tail] = opened.ends(size).expect("a plain file is mapped");
            let (head, tail) = (head.bytes(), tail.bytes());
            let label = format!("{} bytes, size {size}", bytes.len());
            assert_eq!(head, split(bytes, size)[0], "{label}");
            assert!(bytes.ends_with(tail) && !tail.is_empty(), "{label}");
            let before = bytes.len() - tail.len();
            assert!(before == 0 || bytes[before - 1] == b'\n', "the tail starts a line: {label}");
            let last_line =
                bytes[..bytes.len() - 1].iter().rposition(|&b| b == b'\n').map_or(bytes.len(), |p| bytes.len() - p - 1);
            assert!(tail.len() <= size.max(last_line), "{label}");
        }
        std::fs::write(&path, b"").unwrap();
        assert!(Opened::open(&InputPath::File(path)).unwrap().ends(8).is_none(), "an empty file is not mapped");
    }
}
