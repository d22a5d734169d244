//! The convert job: log files in, Parquet out, every line accounted for.
//!
//! Each line becomes a traffic row, an event, or a reject with a reason; the summary
//! reconciles them (lines = rows + events + rejects).

use std::collections::HashMap;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use memmap2::Mmap;

use crate::batch::BatchBuilder;
use crate::parse::date::LocalZone;
use crate::parse::event::Event;
use crate::parse::syslog::Header;
use crate::parse::value::{Row, Value};
use crate::parse::{Catalogue, LineParser, Outcome};
use crate::schema::{self, Col};
use crate::sink::{AtomicFile, ParquetSink, SinkError};

pub struct ConvertOptions {
    pub inputs: Vec<PathBuf>,
    pub output: PathBuf,
    /// Where events go, as a second Parquet file; counted either way.
    pub events: Option<PathBuf>,
    /// Where rejected lines go, one JSON object per line.
    pub rejects: Option<PathBuf>,
    /// Fail on the first rejected line.
    pub strict: bool,
    pub catalogue: Catalogue,
    pub zone: LocalZone,
}

#[derive(Debug, thiserror::Error)]
pub enum ConvertError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path} is {kind}-compressed: halake reads plain logs for now; decompress it first (e.g. zcat)")]
    Compressed { path: PathBuf, kind: &'static str },
    #[error("{path}:{line}: rejected: {reason}")]
    Strict { path: PathBuf, line: u64, reason: String },
    #[error(transparent)]
    Sink(#[from] SinkError),
    #[error("building a record batch: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
    #[error("writing rejects to {path}: {source}")]
    Rejects { path: PathBuf, source: std::io::Error },
}

/// What a conversion read and wrote.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    pub files: u64,
    pub bytes: u64,
    pub lines: u64,
    pub rows: u64,
    pub events: u64,
    pub rejects: u64,
    /// Rows per first two characters of the termination state (what halog -tc counts).
    pub termination: Vec<(String, u64)>,
    /// The first few rejects, to show without opening the rejects file.
    pub sample_rejects: Vec<String>,
    pub elapsed: Duration,
}

const SAMPLE_REJECTS: usize = 5;

pub fn convert(options: &ConvertOptions) -> Result<Summary, ConvertError> {
    let started = Instant::now();
    let catalogue = &options.catalogue;
    let mut rows = BatchBuilder::new(catalogue.column_specs());
    let metadata = vec![
        ("halake.version".to_string(), env!("CARGO_PKG_VERSION").to_string()),
        (
            "halake.log_formats".to_string(),
            catalogue.plans.iter().map(|p| format!("{}={}", p.name, p.format)).collect::<Vec<_>>().join("\n"),
        ),
        (
            "halake.sources".to_string(),
            options.inputs.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join("\n"),
        ),
    ];
    let mut sink = ParquetSink::create(&options.output, rows.schema(), metadata.clone())?;
    let mut events = match &options.events {
        Some(path) => {
            let builder = BatchBuilder::new(&schema::events::columns());
            let sink = ParquetSink::create(path, builder.schema(), metadata)?;
            Some((builder, sink, Row::new(schema::events::columns().len())))
        }
        None => None,
    };
    let mut rejects = match &options.rejects {
        Some(path) => Some(AtomicFile::create(path)?),
        None => None,
    };
    let mut parser = LineParser::new(catalogue, options.zone.clone(), 0);
    let mut summary = Summary::default();
    let mut termination: HashMap<[u8; 2], u64> = HashMap::new();

    for path in &options.inputs {
        let input = Input::open(path)?;
        let source: &'static str = Box::leak(path.display().to_string().into_boxed_str());
        parser.set_reference(input.modified_ms);
        summary.files += 1;
        summary.bytes += input.bytes().len() as u64;
        for (index, line) in lines(input.bytes()).enumerate() {
            let number = index as u64 + 1;
            summary.lines += 1;
            match parser.parse(line) {
                Outcome::Traffic => {
                    let row = parser.row_mut();
                    if let Some(state) = row.get(Col::TerminationState.index()).bytes(line)
                        && state.len() >= 2
                    {
                        *termination.entry([state[0], state[1]]).or_default() += 1;
                    }
                    row.set(Col::SourceFile.index(), Value::Static(source));
                    row.set(Col::SourceLine.index(), Value::Int(number as i64));
                    rows.append(row, line);
                    summary.rows += 1;
                    if rows.is_full() {
                        sink.write(&rows.finish()?)?;
                    }
                }
                Outcome::Event(event, header) => {
                    summary.events += 1;
                    if let Some((builder, sink, row)) = &mut events {
                        let time = parser.header_time(&header);
                        fill_event_row(row, line, &event, &header, time, source, number);
                        builder.append(row, line);
                        if builder.is_full() {
                            sink.write(&builder.finish()?)?;
                        }
                    }
                }
                Outcome::Rejected(reason) => {
                    summary.rejects += 1;
                    if options.strict {
                        return Err(ConvertError::Strict { path: path.clone(), line: number, reason });
                    }
                    if summary.sample_rejects.len() < SAMPLE_REJECTS {
                        summary.sample_rejects.push(format!("{}:{number}: {reason}", path.display()));
                    }
                    if let Some(file) = &mut rejects {
                        write_reject(file, source, number, &reason, line).map_err(|source| ConvertError::Rejects {
                            path: options.rejects.clone().unwrap_or_default(),
                            source,
                        })?;
                    }
                }
            }
        }
    }
    if !rows.is_empty() {
        sink.write(&rows.finish()?)?;
    }
    sink.finish()?;
    if let Some((mut builder, mut sink, _)) = events {
        if !builder.is_empty() {
            sink.write(&builder.finish()?)?;
        }
        sink.finish()?;
    }
    if let Some(file) = rejects {
        file.commit()?;
    }
    let mut termination: Vec<(String, u64)> =
        termination.into_iter().map(|(code, count)| (String::from_utf8_lossy(&code).into_owned(), count)).collect();
    termination.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    summary.termination = termination;
    summary.elapsed = started.elapsed();
    Ok(summary)
}

fn fill_event_row(
    row: &mut Row,
    line: &[u8],
    event: &Event,
    header: &Header,
    time: Option<i64>,
    source: &'static str,
    number: u64,
) {
    use schema::events::*;
    let range = |r: Option<(usize, usize)>| r.map_or(Value::Null, |(s, e)| Value::text(s, e));
    row.clear();
    row.set(SOURCE_FILE, Value::Static(source));
    row.set(SOURCE_LINE, Value::Int(number as i64));
    row.set(SYSLOG_TIME, time.map_or(Value::Null, Value::Time));
    row.set(SYSLOG_HOST, range(header.host));
    row.set(SYSLOG_TAG, range(header.tag));
    row.set(SYSLOG_PID, header.pid.map_or(Value::Null, Value::Int));
    row.set(SYSLOG_SEVERITY, header.severity().map_or(Value::Null, Value::Static));
    row.set(EVENT_KIND, Value::Static(event.kind));
    row.set(PROXY, range(event.proxy));
    row.set(SERVER, range(event.server));
    row.set(MESSAGE, Value::text(header.message, line.len()));
}

fn write_reject(out: &mut impl Write, source: &str, line: u64, reason: &str, text: &[u8]) -> std::io::Result<()> {
    let record = serde_json::json!({
        "file": source,
        "line": line,
        "reason": reason,
        "text": String::from_utf8_lossy(text),
    });
    serde_json::to_writer(&mut *out, &record)?;
    out.write_all(b"\n")
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

/// An input file's bytes, memory-mapped when possible.
struct Input {
    data: InputData,
    /// RFC3164 headers of undated lines take their year from it.
    modified_ms: i64,
}

enum InputData {
    Mapped(Mmap),
    Read(Vec<u8>),
}

impl Input {
    fn open(path: &Path) -> Result<Input, ConvertError> {
        let read_error = |source| ConvertError::Read { path: path.to_path_buf(), source };
        let file = File::open(path).map_err(read_error)?;
        let metadata = file.metadata().map_err(read_error)?;
        let modified_ms = metadata
            .modified()
            .ok()
            .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_millis() as i64);
        let data = if metadata.is_file() && metadata.len() > 0 {
            // SAFETY: the map is read-only and lives only while this file is converted.
            // If another process truncates the file meanwhile, reads past the new end
            // fault (SIGBUS); log files are appended to, not truncated, while rotated
            // files are not touched at all.
            match unsafe { Mmap::map(&file) } {
                Ok(map) => InputData::Mapped(map),
                Err(_) => InputData::Read(std::fs::read(path).map_err(read_error)?),
            }
        } else {
            InputData::Read(std::fs::read(path).map_err(read_error)?)
        };
        let input = Input { data, modified_ms };
        if let Some(kind) = compression(input.bytes()) {
            return Err(ConvertError::Compressed { path: path.to_path_buf(), kind });
        }
        Ok(input)
    }

    fn bytes(&self) -> &[u8] {
        match &self.data {
            InputData::Mapped(map) => map,
            InputData::Read(bytes) => bytes,
        }
    }
}

fn compression(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        Some("gzip")
    } else if bytes.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Some("zstd")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_keep_a_missing_final_newline_and_empty_lines() {
        let collected: Vec<&[u8]> = lines(b"a\n\nb\r\nc").collect();
        assert_eq!(collected, vec![&b"a"[..], b"", b"b\r", b"c"]);
        assert_eq!(lines(b"").count(), 0);
        assert_eq!(lines(b"\n").count(), 1);
    }
}
