//! The parallel engine: chunks are parsed into record batches on a rayon pool while one
//! writer thread takes the results in input order.
//!
//! At most `depth` chunks are in flight (being read, parsed, or waiting for the writer),
//! so memory is bounded by `depth × chunk size`, not by the input: when the writer falls
//! behind, the reader waits. Results are written in chunk order whatever the thread
//! count, so the output does not depend on it.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;

use arrow::record_batch::RecordBatch;

use crate::batch::BatchBuilder;
use crate::input::ChunkBytes;
use crate::parse::date::LocalZone;
use crate::parse::event::Event;
use crate::parse::syslog::Header;
use crate::parse::value::{Row, StaticText, Value};
use crate::parse::{Catalogue, LineParser, Outcome};
use crate::schema::{self, Col};

/// What the workers need to parse any chunk.
pub struct ParseContext<'a> {
    pub catalogue: &'a Catalogue,
    pub zone: LocalZone,
    pub keep_events: bool,
    /// The traffic columns to build (indexes into the catalogue's columns); all when none.
    pub projection: Option<Vec<usize>>,
}

/// One chunk to parse, with where it sits in its input.
pub struct ChunkJob {
    /// Position in the whole run: results are written in this order.
    pub sequence: u64,
    /// The input's name as rows record it.
    pub source: StaticText,
    /// The input's position among the run's inputs.
    pub input: usize,
    /// Line number (1-based) of the chunk's first line in its input.
    pub first_line: u64,
    /// The input's modification time: the year of undated RFC3164 lines.
    pub reference_ms: i64,
    pub bytes: ChunkBytes,
}

/// A line that did not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reject {
    pub source: StaticText,
    pub line: u64,
    pub reason: String,
    pub text: Vec<u8>,
}

/// Everything one chunk produced.
pub struct ChunkResult {
    pub sequence: u64,
    pub source: StaticText,
    pub input: usize,
    pub first_line: u64,
    /// The chunk's file was truncated while it was read: what it read may not be the
    /// file's, and it produced nothing.
    pub changed: bool,
    /// The input could not be read on from here: why. Not a chunk, a place in the order.
    pub failure: Option<String>,
    pub bytes: u64,
    pub lines: u64,
    pub rows: u64,
    pub events: u64,
    pub traffic: Vec<RecordBatch>,
    pub event_batches: Vec<RecordBatch>,
    pub rejects: Vec<Reject>,
    /// Rows per first two characters of the termination state.
    pub termination: HashMap<[u8; 2], u64>,
}

/// Parses one chunk. Runs on a worker; touches nothing shared but the catalogue.
pub fn parse_chunk(job: &ChunkJob, context: &ParseContext) -> Result<ChunkResult, arrow::error::ArrowError> {
    let bytes = job.bytes.bytes();
    let catalogue = context.catalogue;
    let mut parser = LineParser::new(catalogue, context.zone.clone(), job.reference_ms);
    if let Some(projection) = &context.projection {
        parser.project(projection);
    }
    let mut rows = match &context.projection {
        Some(projection) => BatchBuilder::projected(catalogue.column_specs(), projection),
        None => BatchBuilder::new(catalogue.column_specs()),
    };
    let mut events = context
        .keep_events
        .then(|| (BatchBuilder::new(&schema::events::columns()), Row::new(schema::events::COLUMN_COUNT)));
    let mut result = ChunkResult::empty(job.sequence, job.source, job.input, job.first_line);
    let mut termination = Tally::default();
    result.bytes = bytes.len() as u64;
    for (index, line) in crate::input::lines(bytes).enumerate() {
        let number = job.first_line + index as u64;
        result.lines += 1;
        match parser.parse(line) {
            Outcome::Traffic => {
                let row = parser.row_mut();
                row.set(Col::SourceFile.index(), Value::Static(job.source));
                row.set(Col::SourceLine.index(), Value::Int(number as i64));
                let line = parser.row_line(line);
                if let Some(state) = parser.row().get(Col::TerminationState.index()).bytes(line)
                    && state.len() >= 2
                {
                    termination.count([state[0], state[1]]);
                }
                rows.append(parser.row(), line);
                result.rows += 1;
                if rows.is_full() {
                    result.traffic.push(rows.finish()?);
                }
            }
            Outcome::Event(event, header) => {
                result.events += 1;
                if let Some((builder, row)) = &mut events {
                    let time = parser.header_time(&header);
                    fill_event_row(row, line, &event, &header, time, job.source, number);
                    builder.append(row, line);
                    if builder.is_full() {
                        result.event_batches.push(builder.finish()?);
                    }
                }
            }
            Outcome::Rejected(reason) => {
                result.rejects.push(Reject { source: job.source, line: number, reason, text: line.to_vec() });
            }
        }
    }
    if !rows.is_empty() {
        result.traffic.push(rows.finish()?);
    }
    result.termination = termination.counts.into_iter().collect();
    if let Some((mut builder, _)) = events
        && !builder.is_empty()
    {
        result.event_batches.push(builder.finish()?);
    }
    if !job.bytes.intact() {
        // Zeros where the file was cut are no log: nothing of this chunk is kept.
        result =
            ChunkResult { changed: true, ..ChunkResult::empty(job.sequence, job.source, job.input, job.first_line) };
    }
    Ok(result)
}

/// Counts of a few distinct keys that arrive in runs: the last key's slot is checked
/// first, then a short list, with no hashing per row.
#[derive(Default)]
struct Tally {
    counts: Vec<([u8; 2], u64)>,
    last: usize,
}

impl Tally {
    fn count(&mut self, key: [u8; 2]) {
        if self.counts.get(self.last).is_none_or(|(k, _)| *k != key) {
            self.last = match self.counts.iter().position(|(k, _)| *k == key) {
                Some(at) => at,
                None => {
                    self.counts.push((key, 0));
                    self.counts.len() - 1
                }
            };
        }
        self.counts[self.last].1 += 1;
    }
}

impl ChunkResult {
    fn empty(sequence: u64, source: StaticText, input: usize, first_line: u64) -> ChunkResult {
        ChunkResult {
            sequence,
            source,
            input,
            first_line,
            changed: false,
            failure: None,
            bytes: 0,
            lines: 0,
            rows: 0,
            events: 0,
            traffic: Vec::new(),
            event_batches: Vec::new(),
            rejects: Vec::new(),
            termination: HashMap::new(),
        }
    }
}

fn fill_event_row(
    row: &mut Row,
    line: &[u8],
    event: &Event,
    header: &Header,
    time: Option<i64>,
    source: StaticText,
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

/// Runs `produce` (which submits jobs through the [`Submitter`]) and `consume` (which
/// receives results in sequence order) concurrently, with at most `depth` chunks in
/// flight. The first error of either side stops both.
pub fn run<E, P, C>(
    pool: &rayon::ThreadPool,
    context: &ParseContext,
    depth: usize,
    produce: P,
    consume: C,
) -> Result<(), E>
where
    E: Send + From<arrow::error::ArrowError>,
    P: FnOnce(&mut Submitter<'_, '_>) -> Result<(), E>,
    C: FnMut(ChunkResult) -> Result<(), E> + Send,
{
    let (result_tx, result_rx) = mpsc::channel::<Result<ChunkResult, arrow::error::ArrowError>>();
    // A slot per chunk in flight: the producer takes one before reading a chunk, the
    // writer gives it back once the chunk is written.
    let (slot_tx, slot_rx) = mpsc::sync_channel::<()>(depth.max(1));
    let abort = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let writer = scope.spawn(|| write_in_order(result_rx, slot_rx, &abort, consume));
        let produced = pool.in_place_scope(|rayon_scope| {
            let mut submitter =
                Submitter { scope: rayon_scope, context, results: result_tx, slots: slot_tx, abort: &abort };
            produce(&mut submitter)
        });
        let written = writer.join().expect("writer thread panicked");
        produced.and(written)
    })
}

/// Hands chunks to the pool.
pub struct Submitter<'scope, 'env> {
    scope: &'scope rayon::Scope<'env>,
    context: &'env ParseContext<'env>,
    results: mpsc::Sender<Result<ChunkResult, arrow::error::ArrowError>>,
    slots: mpsc::SyncSender<()>,
    abort: &'env AtomicBool,
}

impl Submitter<'_, '_> {
    /// Waits for a free slot, then parses `job` on the pool. Returns false when the run
    /// is being stopped and no more input should be read.
    pub fn submit(&mut self, job: ChunkJob) -> bool {
        if self.abort.load(Ordering::Relaxed) || self.slots.send(()).is_err() {
            return false;
        }
        let context = self.context;
        let results = self.results.clone();
        self.scope.spawn(move |_| {
            let result = parse_chunk(&job, context);
            job.bytes.release();
            let _ = results.send(result);
        });
        true
    }

    /// Puts, in the chunk order, the news that the input stopped being readable at this
    /// point. Returns false when the run is being stopped.
    pub fn fail(&mut self, sequence: u64, source: StaticText, input: usize, first_line: u64, why: String) -> bool {
        if self.abort.load(Ordering::Relaxed) || self.slots.send(()).is_err() {
            return false;
        }
        let failure = ChunkResult { failure: Some(why), ..ChunkResult::empty(sequence, source, input, first_line) };
        self.results.send(Ok(failure)).is_ok()
    }
}

fn write_in_order<E, C>(
    results: mpsc::Receiver<Result<ChunkResult, arrow::error::ArrowError>>,
    slots: mpsc::Receiver<()>,
    abort: &AtomicBool,
    mut consume: C,
) -> Result<(), E>
where
    E: From<arrow::error::ArrowError>,
    C: FnMut(ChunkResult) -> Result<(), E>,
{
    let mut waiting: BTreeMap<u64, ChunkResult> = BTreeMap::new();
    let mut next = 0;
    let mut outcome = Ok(());
    for result in results {
        if outcome.is_err() {
            // Stopping: free a slot for every chunk that still arrives, so that a
            // producer waiting for one wakes up and sees the abort.
            let _ = slots.try_recv();
            continue;
        }
        match result {
            Ok(chunk) => {
                waiting.insert(chunk.sequence, chunk);
            }
            Err(error) => outcome = Err(E::from(error)),
        }
        while outcome.is_ok()
            && let Some(chunk) = waiting.remove(&next)
        {
            next += 1;
            outcome = consume(chunk);
            let _ = slots.recv();
        }
        if outcome.is_err() {
            abort.store(true, Ordering::Relaxed);
            for _ in 0..waiting.len() + 1 {
                let _ = slots.try_recv();
            }
            waiting.clear();
        }
    }
    outcome
}
