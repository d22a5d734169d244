//! From one log line to one row: syslog header, then the first format that fits, then
//! the event patterns; anything else is rejected with a reason.

pub mod date;
pub mod event;
pub mod fast;
pub mod plan;
pub mod structured;
pub mod syslog;
pub mod termination;
pub mod value;

use std::collections::HashSet;

use crate::format::{self, FormatError, builtin};
use crate::schema::{Col, ColumnSpec};
use date::LocalZone;
use event::Event;
use plan::{CaptureColumns, CaptureNames, ColumnSet, Fit, Mismatch, Needs, Plan, Trail};
use structured::{Decoded, StructuredPlan};
use syslog::{Header, HeaderTime};
use value::{Row, StaticText, Value, capture_slots};

/// A format to recognise besides the standard ones: a user's `log-format`, or a
/// frontend's format from haproxy.cfg.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormatSource {
    /// The `log_format` value of its rows.
    pub name: String,
    /// The format string, unquoted from the configuration.
    pub format: String,
    /// Frontends that log with it; empty means any.
    pub frontends: Vec<String>,
    pub captures: CaptureNames,
}

/// Every format a run recognises, compiled once, and the columns they fill.
#[derive(Debug, Clone)]
pub struct Catalogue {
    pub plans: Vec<Plan>,
    /// JSON and CBOR formats (`%{+json}o`) from the configuration, then the two that
    /// recognise HAProxy's field names in a JSON or CBOR line of no known format.
    pub structured: Vec<StructuredPlan>,
    pub columns: ColumnSet,
    /// Frontends whose format the configuration gives: only that format reads them.
    configured_frontends: HashSet<Vec<u8>>,
    /// `shared[a][b]`: how many first steps plans `a` and `b` have in common.
    shared: Vec<Vec<usize>>,
    /// Whether the straight-line reader of the standard formats may stand in for their plans.
    fast: bool,
}

impl Catalogue {
    /// The given formats first (they are the most specific), then HAProxy's standard
    /// ones. `legacy_timers` reads HTTP lines with the pre-1.7 timers.
    pub fn new(sources: &[FormatSource], legacy_timers: bool) -> Result<Catalogue, CatalogueError> {
        let mut columns = ColumnSet::default();
        let mut plans = Vec::new();
        let mut structured = Vec::new();
        for source in sources {
            let (items, encoding) = format::lex_with_encoding(&source.format)
                .map_err(|error| CatalogueError { name: source.name.clone(), error })?;
            if encoding == format::Encoding::Text {
                let mut plan = Plan::compile(&source.name, &source.format, &items, &source.captures, &mut columns);
                plan.frontends = source.frontends.clone();
                plans.push(plan);
            } else {
                let mut plan = StructuredPlan::compile(
                    &source.name,
                    &source.format,
                    &items,
                    encoding,
                    &source.captures,
                    &mut columns,
                );
                plan.frontends = source.frontends.clone();
                structured.push(plan);
            }
        }
        structured.push(StructuredPlan::recognising("json", format::Encoding::Json));
        structured.push(StructuredPlan::recognising("cbor", format::Encoding::Cbor));
        for &(name, standard) in builtin::STANDARD {
            let format = if legacy_timers {
                builtin::LEGACY.iter().find(|(n, _)| *n == name).map_or(standard, |(_, f)| *f)
            } else {
                standard
            };
            let items = format::lex(format).expect("built-in formats lex");
            let mut plan = Plan::compile(name, format, &items, &CaptureNames::default(), &mut columns);
            plan.any_frontend = builtin::ANY_FRONTEND.contains(&name);
            plans.push(plan);
        }
        let with_always_filled = |mut filled: Vec<usize>| {
            filled.extend(Col::ALL.iter().filter(|c| c.always_filled()).map(|c| c.index()));
            filled.sort_unstable();
            filled.dedup();
            filled
        };
        for plan in &mut plans {
            plan.filled = with_always_filled(plan.columns());
        }
        for plan in &mut structured {
            plan.filled = with_always_filled(plan.columns());
        }
        let configured_frontends: HashSet<Vec<u8>> = plans
            .iter()
            .flat_map(|p| &p.frontends)
            .chain(structured.iter().flat_map(|p| &p.frontends))
            .map(|f| f.as_bytes().to_vec())
            .collect();
        let shared = plans
            .iter()
            .map(|a| plans.iter().map(|b| a.steps.iter().zip(&b.steps).take_while(|(x, y)| x == y).count()).collect())
            .collect();
        let formats: Vec<&str> = plans.iter().map(|p| p.format.as_str()).collect();
        let fast = fast::stands_in(&formats, !configured_frontends.is_empty());
        Ok(Catalogue { plans, structured, columns, configured_frontends, shared, fast })
    }

    /// Every format by name: its format string and the columns its rows can fill.
    pub fn formats(&self) -> Vec<(StaticText, &str, &[usize])> {
        let text = self.plans.iter().map(|p| (p.name, p.format.as_str(), &p.filled[..]));
        let structured = self.structured.iter().map(|p| (p.name, p.format.as_str(), &p.filled[..]));
        text.chain(structured).collect()
    }

    pub fn standard() -> Catalogue {
        Catalogue::new(&[], false).expect("built-in formats compile")
    }

    pub fn column_specs(&self) -> &[ColumnSpec] {
        &self.columns.specs
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("log format '{name}': {error}")]
pub struct CatalogueError {
    pub name: String,
    pub error: FormatError,
}

/// What one line turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A traffic row, in [`LineParser::row`].
    Traffic,
    Event(Event, Header),
    Rejected(String),
}

/// HAProxy's smallest `len` is 80: a line cut by it has at least 79 bytes. Shorter
/// lines that end early are malformed, not cut.
const SHORTEST_CUT_LINE: usize = 79;

/// Parses lines one at a time. Holds the reused row buffers, so one per thread.
pub struct LineParser<'c> {
    catalogue: &'c Catalogue,
    zone: LocalZone,
    row: Row,
    truncated: Row,
    /// The preferred plan's row while the plans before it are tried.
    complete: Row,
    trail: Trail,
    /// What the reads do beyond deciding the fit: all of it unless [`LineParser::project`].
    needs: Needs,
    /// Whether the rows' `invalid_utf8` and syslog times are read.
    needs_utf8_check: bool,
    needs_header_time: bool,
    /// Whether standard lines go through the straight-line reader (see [`fast`]).
    fast: bool,
    /// The plan that read the previous line: logs come in runs of one format.
    preferred: usize,
    /// The columns the last traffic row can have values in.
    last_filled: &'c [usize],
    /// JSON and CBOR lines, decoded.
    decoded: Decoded,
    /// The last traffic row's values are offsets into `decoded.line`, not into the line.
    row_in_decoded: bool,
    /// An instant near the lines being read (the file's modification time): RFC3164
    /// headers of lines with no date of their own take the year nearest to it. Only the
    /// line itself and this count, so a line parses the same in any chunk.
    reference_ms: i64,
}

impl<'c> LineParser<'c> {
    /// `reference_ms`: an instant near the lines, such as the file's modification time:
    /// RFC3164 headers of lines with no date of their own take the year nearest to it.
    pub fn new(catalogue: &'c Catalogue, zone: LocalZone, reference_ms: i64) -> LineParser<'c> {
        let columns = catalogue.columns.specs.len();
        LineParser {
            catalogue,
            zone,
            row: Row::new(columns),
            truncated: Row::new(columns),
            complete: Row::new(columns),
            trail: Trail::default(),
            needs: Needs::ALL,
            needs_utf8_check: true,
            needs_header_time: true,
            fast: catalogue.fast,
            preferred: 0,
            last_filled: &[],
            decoded: Decoded::default(),
            row_in_decoded: false,
            reference_ms,
        }
    }

    /// Leaves out what only columns outside `columns` (catalogue indexes) would show.
    /// Lines fit, or are rejected, exactly as before; the other columns' values in
    /// [`LineParser::row`] may then be missing or unconverted.
    pub fn project(&mut self, columns: &[usize]) {
        let reads = |col: Col| columns.contains(&col.index());
        let syslog_time = reads(Col::SyslogTime);
        self.needs = Needs {
            request_parts: plan::REQUEST_PARTS.into_iter().any(reads),
            // The syslog time takes its year from the request's date.
            utc_times: syslog_time || reads(Col::RequestTime) || reads(Col::AcceptTime),
        };
        self.needs_utf8_check = reads(Col::InvalidUtf8);
        self.needs_header_time = syslog_time;
    }

    /// Reads every line with the format plans alone: the reference the straight-line
    /// reader is checked against.
    pub fn interpret_only(&mut self) {
        self.fast = false;
    }

    /// Forgets the lines read so far: the next is read as a new parser reads its first.
    pub fn reset(&mut self) {
        self.preferred = 0;
    }

    /// The row of the last [`Outcome::Traffic`]; offsets are into [`LineParser::row_line`].
    pub fn row(&self) -> &Row {
        &self.row
    }

    /// What the last traffic row's offsets point into: `line` itself, or for a JSON or
    /// CBOR line its decoded text.
    pub fn row_line<'a>(&'a self, line: &'a [u8]) -> &'a [u8] {
        if self.row_in_decoded { &self.decoded.line } else { line }
    }

    /// The columns the last traffic row can have values in (see `Plan::filled`).
    pub fn filled_columns(&self) -> &[usize] {
        self.last_filled
    }

    /// For the caller's own columns (provenance) before the row is appended.
    pub fn row_mut(&mut self) -> &mut Row {
        &mut self.row
    }

    /// `line` excludes its terminator.
    pub fn parse(&mut self, line: &[u8]) -> Outcome {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            return Outcome::Rejected("empty line".into());
        }
        // NUL bytes come from corruption (a file preallocated before a crash), not from
        // HAProxy's text formats: say where, rather than store them in names.
        if let Some(at) = memchr::memchr(0, line) {
            return Outcome::Rejected(format!("NUL byte at byte {} (corrupted file?)", at + 1));
        }
        let header = syslog::parse_header(line);
        if header.message >= line.len() {
            return Outcome::Rejected("syslog header without a message".into());
        }
        self.row_in_decoded = false;
        // A JSON or CBOR line: the configuration's formats for it first; the names HAProxy
        // users give its fields only after every text format (a hand-written JSON
        // log-format is a text format, read by position).
        let mut structured_reason = None;
        let structured = structured::sniff(&line[header.message..]).filter(|&encoding| {
            match self.decoded.decode(line, header.message, encoding) {
                Ok(()) => true,
                Err(reason) => {
                    structured_reason = Some(format!("{} line: {reason}", encoding_name(encoding)));
                    false
                }
            }
        });
        if structured.is_some() && self.read_structured(line, &header, true, &mut structured_reason) {
            return Outcome::Traffic;
        }
        if self.fast {
            self.row.clear();
            if let Some(shape) = fast::read(line, header.message, &mut self.row, &mut self.zone, self.needs) {
                let index = shape.plan_index();
                self.preferred = index;
                self.finish_text_row(index, line, &header, false);
                return Outcome::Traffic;
            }
        }
        let mut best_mismatch: Option<(usize, Mismatch)> = None;
        let mut truncated_plan = None;
        let plans = &self.catalogue.plans;
        let order = std::iter::once(self.preferred).chain((0..plans.len()).filter(|&i| i != self.preferred));
        let mut previous: Option<usize> = None;
        // The preferred plan read the line, but one before it in catalogue order may too
        // (an ambiguous line): that one wins, whichever plan read the previous line.
        let mut preferred_complete = false;
        for index in order {
            if preferred_complete && index > self.preferred {
                break;
            }
            let plan = &plans[index];
            let resume_at = previous.map_or(0, |p| {
                let step = self.catalogue.shared[p][index].min(self.trail.reached());
                if plans[p].resumable_from(step) { step } else { 0 }
            });
            let read = match previous {
                Some(p) if resume_at > 0 => {
                    plan.resume(&plans[p], resume_at, line, &mut self.row, &mut self.zone, self.needs, &mut self.trail)
                }
                _ => {
                    self.row.clear();
                    plan.read(line, header.message, &mut self.row, &mut self.zone, self.needs, &mut self.trail)
                }
            };
            let fit = read.and_then(|fit| self.check_frontend(plan, line).map(|()| fit));
            let first = previous.is_none();
            previous = Some(index);
            match fit {
                // Tried in catalogue order after the first: nothing before it fits.
                Ok(Fit::Complete) if !first || index == 0 => {
                    self.preferred = index;
                    self.finish_text_row(index, line, &header, false);
                    return Outcome::Traffic;
                }
                Ok(Fit::Complete) => {
                    preferred_complete = true;
                    self.complete.clone_from(&self.row);
                }
                Ok(Fit::Truncated) => {
                    // The first plan in catalogue order, not in trial order: which plan read
                    // the previous line (another chunk, maybe) must not change this one.
                    if truncated_plan.is_none_or(|t| index < t) && line.len() >= SHORTEST_CUT_LINE {
                        truncated_plan = Some(index);
                        self.truncated.clone_from(&self.row);
                    }
                }
                Err(mismatch) => {
                    // Ties go to catalogue order, like truncated fits: the reason must not
                    // depend on which plan read the previous line.
                    let better = |(best_index, best): (usize, Mismatch)| {
                        (mismatch.step, std::cmp::Reverse(index)) > (best.step, std::cmp::Reverse(best_index))
                    };
                    if best_mismatch.is_none_or(better) {
                        best_mismatch = Some((index, mismatch));
                    }
                }
            }
        }
        if preferred_complete {
            std::mem::swap(&mut self.row, &mut self.complete);
            self.finish_text_row(self.preferred, line, &header, false);
            return Outcome::Traffic;
        }
        // Before a text format that read the line as cut: a hex CBOR line can pass for
        // the start of an address.
        if structured.is_some() && self.read_structured(line, &header, false, &mut structured_reason) {
            return Outcome::Traffic;
        }
        if let Some(index) = truncated_plan {
            std::mem::swap(&mut self.row, &mut self.truncated);
            self.preferred = index;
            self.finish_text_row(index, line, &header, true);
            return Outcome::Traffic;
        }
        if let Some(event) = event::classify(line, header.message) {
            return Outcome::Event(event, header);
        }
        Outcome::Rejected(match best_mismatch {
            Some((index, mismatch)) if mismatch.step > 2 => {
                let plan = &plans[index];
                let field = if mismatch.label.is_empty() {
                    String::new()
                } else {
                    format!(" (%{})", mismatch.label.trim_start_matches('%'))
                };
                format!("closest format {}: {}{field} at byte {}", plan.name, mismatch.reason, mismatch.offset + 1)
            }
            _ => structured_reason.unwrap_or_else(|| "not an HAProxy traffic line nor a known HAProxy event".into()),
        })
    }

    /// Reads the decoded JSON or CBOR line with the configuration's structured formats
    /// (`configured`) or with the plans that recognise HAProxy's field names. On a fit the
    /// row is finished; otherwise `reason` says why the first plan refused it.
    fn read_structured(&mut self, line: &[u8], header: &Header, configured: bool, reason: &mut Option<String>) -> bool {
        let Some(encoding) = self.decoded.encoding() else { return false };
        let catalogue = self.catalogue;
        for plan in catalogue.structured.iter().filter(|p| p.recognising != configured && p.encoding == encoding) {
            self.row.clear();
            let read = plan.read(&self.decoded, &mut self.row, &mut self.zone, self.needs);
            let read = read.and_then(|fit| {
                let fits = self.frontend_fits(&plan.frontends, &self.decoded.line);
                match fit {
                    _ if !fits => Err(structured::MemberMismatch {
                        member: usize::MAX,
                        reason: "frontend logs with another format",
                    }),
                    Fit::Truncated if line.len() < SHORTEST_CUT_LINE => {
                        Err(structured::MemberMismatch { member: usize::MAX, reason: "the object ends early" })
                    }
                    fit => Ok(fit),
                }
            });
            match read {
                Ok(fit) => {
                    let decoded_line = std::mem::take(&mut self.decoded.line);
                    self.finish_row(
                        plan.name,
                        &plan.captures,
                        &plan.filled,
                        &decoded_line,
                        line,
                        header,
                        fit == Fit::Truncated,
                    );
                    self.decoded.line = decoded_line;
                    self.row_in_decoded = true;
                    return true;
                }
                Err(mismatch) => {
                    if reason.is_none() {
                        let key = match mismatch.member {
                            usize::MAX => String::new(),
                            member => format!(" (key \"{}\")", self.decoded.key_text(member)),
                        };
                        *reason = Some(format!("format {}: {}{key}", plan.name, mismatch.reason));
                    }
                }
            }
        }
        false
    }

    /// A format from the configuration reads its own frontends' lines, and only it: a
    /// standard format that happens to fit (greedy CLF capture slots) would split worse.
    fn check_frontend(&self, plan: &Plan, line: &[u8]) -> Result<(), Mismatch> {
        let configured = &self.catalogue.configured_frontends;
        if configured.is_empty() || plan.any_frontend || !plan.reads_frontend() {
            return Ok(());
        }
        if self.frontend_fits(&plan.frontends, line) {
            Ok(())
        } else {
            Err(Mismatch { step: 0, offset: 0, reason: "frontend logs with another format", label: "" })
        }
    }

    /// Whether the row's frontend may be read by a format given to `frontends` (none:
    /// any frontend the configuration gives no format). `line`: what the row points into.
    fn frontend_fits(&self, frontends: &[String], line: &[u8]) -> bool {
        let frontend = self.row.get(Col::Frontend.index()).bytes(line).unwrap_or_default();
        if frontends.is_empty() {
            !self.catalogue.configured_frontends.contains(frontend)
        } else {
            frontends.iter().any(|f| f.as_bytes() == frontend)
        }
    }

    fn finish_text_row(&mut self, index: usize, line: &[u8], header: &Header, truncated: bool) {
        let plan = &self.catalogue.plans[index];
        self.finish_row(plan.name, &plan.captures, &plan.filled, line, line, header, truncated);
    }

    /// `values`: what the row's offsets point into; `line`: the line as read.
    #[allow(clippy::too_many_arguments)]
    fn finish_row(
        &mut self,
        name: StaticText,
        captures: &CaptureColumns,
        filled: &'c [usize],
        values: &[u8],
        line: &[u8],
        header: &Header,
        truncated: bool,
    ) {
        self.last_filled = filled;
        let row = &mut self.row;
        row.set(Col::LogFormat.index(), Value::Static(name));
        row.set(Col::LineTruncated.index(), Value::Bool(truncated));
        if self.needs_utf8_check {
            row.set(Col::InvalidUtf8.index(), Value::Bool(std::str::from_utf8(line).is_err()));
        }
        // The decoded columns read their character from the state itself.
        let state = row.get(Col::TerminationState.index());
        for col in [Col::TerminationCause, Col::TerminationPhase, Col::PersistenceCookie, Col::SetCookieAction] {
            row.set(col.index(), state);
        }
        for (columns, source) in [(&captures.request, Col::RequestHeaders), (&captures.response, Col::ResponseHeaders)]
        {
            if columns.is_empty() {
                continue;
            }
            let captured = row.get(source.index());
            for (&column, slot) in columns.iter().zip(capture_slots(captured, values)) {
                if let Some((start, end)) = slot {
                    row.set(column, Value::encoded(start, end));
                }
            }
        }
        let reference = match (row.get(Col::RequestTime.index()), row.get(Col::AcceptTime.index())) {
            (Value::Time(t), _) | (_, Value::Time(t)) => t,
            _ => self.reference_ms,
        };
        set_header(row, header, &mut self.zone, reference, self.needs_header_time);
    }

    /// The header time of an event line, as UTC µs.
    pub fn header_time(&mut self, header: &Header) -> Option<i64> {
        header_micros(header, &mut self.zone, self.reference_ms)
    }
}

fn set_header(row: &mut Row, header: &Header, zone: &mut LocalZone, reference_ms: i64, time: bool) {
    if time && let Some(micros) = header_micros(header, zone, reference_ms) {
        row.set(Col::SyslogTime.index(), Value::Time(micros));
    }
    let range = |r: Option<(usize, usize)>| r.map_or(Value::Null, |(s, e)| Value::text(s, e));
    row.set(Col::SyslogHost.index(), range(header.host));
    row.set(Col::SyslogTag.index(), range(header.tag));
    row.set(Col::SyslogStructuredData.index(), range(header.structured_data));
    row.set(Col::SyslogPid.index(), header.pid.map_or(Value::Null, Value::Int));
    row.set(Col::SyslogFacility.index(), header.facility().map_or(Value::Null, Value::Static));
    row.set(Col::SyslogSeverity.index(), header.severity().map_or(Value::Null, Value::Static));
}

fn encoding_name(encoding: format::Encoding) -> &'static str {
    match encoding {
        format::Encoding::Json => "JSON",
        format::Encoding::Cbor => "CBOR",
        format::Encoding::Text => "text",
    }
}

/// The header time as UTC µs. RFC3164 dates have no year: take the one that puts the
/// header closest to the reference, the line's own date when it has one (a line accepted
/// on Dec 31 may be emitted on Jan 1).
fn header_micros(header: &Header, zone: &mut LocalZone, reference_ms: i64) -> Option<i64> {
    match header.time {
        HeaderTime::None => None,
        HeaderTime::Instant(micros) => Some(micros),
        HeaderTime::Legacy(legacy) => {
            let year = date::year_of(reference_ms);
            // Within a third of a year of the reference, no other year can be closer.
            let same_year = zone.to_utc(legacy.naive_ms(year));
            if (same_year - reference_ms).abs() < 120 * 86_400_000 {
                return Some(same_year * 1000);
            }
            let ms = (year - 1..=year + 1)
                .map(|y| zone.to_utc(legacy.naive_ms(y)))
                .min_by_key(|candidate| (candidate - reference_ms).abs())
                .expect("three candidates");
            Some(ms * 1000)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use plan::Step;

    /// 2026-11-23T00:00:00Z, near the corpus lines.
    const NOV_2026: i64 = 1_795_392_000_000;

    fn parse(line: &str) -> (Outcome, Row) {
        let catalogue = Box::leak(Box::new(Catalogue::standard()));
        let mut parser = LineParser::new(catalogue, LocalZone::utc(), NOV_2026);
        let outcome = parser.parse(line.as_bytes());
        (outcome, parser.row().clone())
    }

    #[test]
    fn httpslog_goes_on_where_httplog_stopped() {
        let catalogue = Catalogue::standard();
        let index = |name: &str| catalogue.plans.iter().position(|p| *p.name == name).unwrap();
        let (http, https) = (index("httplog"), index("httpslog"));
        let shared = catalogue.shared[http][https];
        assert_eq!(shared, catalogue.plans[http].steps.len() - 1, "all but the request, which ends the httplog line");
        assert!(catalogue.plans[http].resumable_from(shared) && catalogue.plans[https].resumable_from(shared));
        // The timers before `%B` and `%B` itself both write `logasap`.
        let bytes = catalogue.plans[http]
            .steps
            .iter()
            .position(|s| matches!(s, Step::Field(f) if f.column == Col::BytesToClient.index()));
        assert!(!catalogue.plans[http].resumable_from(bytes.unwrap()));
    }

    /// Lines of alternating formats read the same by one parser as each by a new one:
    /// a read that goes on from another plan's must not keep anything of it.
    #[test]
    fn alternating_formats_read_as_if_each_line_were_alone() {
        let lines = [
            "10.0.0.1:1 [23/Nov/2026:20:24:30.050] fe~ be/s 1/0/2/3/9 200 10 - - ---- 1/1/1/1/0 0/0 \"GET /a?b HTTP/1.1\" 0/0000000000000000/0/0/0 www.example.com/TLSv1.3/TLS_AES_256_GCM_SHA384",
            // Found by the fuzzer: an unquoted request reads as httplog (to the end of the
            // line) and as httpslog (its last word taken for TLS fields).
            "10.0.0.1:1 [23/Nov/2026:20:24:30.050] fe~ be/s 1/0/2/3/9 200 10 - - ---- 1/1/1/1/0 0/0 s://h/x HTTP/2.0\" 0/0/0/0/- 0/TLSv1.3/TLS_X",
            "10.0.0.2:2 [23/Nov/2026:20:24:30.051] fe be/s 1/0/2/3/+9 200 +10 - - ---- 1/1/1/1/0 0/0 {h} \"POST /x HTTP/1.1\"",
            "10.0.0.3:3 [23/Nov/2026:20:24:30.052] fe be/s 0/0/646 89402 -- 3/5/3/1/0 0/0",
            "10.0.0.1:1 [23/Nov/2026:20:24:30.053] fe~ be/s 1/0/2/3/9 200 10 - - ---- 1/1/1/1/0 0/0 \"GET /a?b HTTP/1.1\" -/-/-/-/- -/-/-",
            "10.0.0.2:2 [23/Nov/2026:20:24:30.054] fe be/s 1/0/2/3/9 200 10 - - ---- 1/1/1/1/0 0/0 \"GET /cut",
            "10.0.0.2:2 [23/Nov/2026:20:24:30.055] fe be/s 1/0/2/3/9 200 10 - - ---- 1/1/1/1/0 0/0 \"GET /z HTTP/1.1\" trailing",
        ];
        let catalogue = Catalogue::standard();
        let mut running = LineParser::new(&catalogue, LocalZone::utc(), NOV_2026);
        for _ in 0..2 {
            for line in lines {
                let mut alone = LineParser::new(&catalogue, LocalZone::utc(), NOV_2026);
                let expected = alone.parse(line.as_bytes());
                assert_eq!(running.parse(line.as_bytes()), expected, "{line}");
                if expected == Outcome::Traffic {
                    assert_eq!(running.row(), alone.row(), "{line}");
                }
            }
        }
    }

    fn text<'a>(line: &'a str, row: &Row, col: Col) -> Option<&'a str> {
        row.get(col.index()).bytes(line.as_bytes()).map(|b| std::str::from_utf8(b).unwrap())
    }

    #[test]
    fn detects_each_standard_format_by_shape() {
        let cases = [
            (
                "<134>Nov 23 20:36:02 haproxy[2908]: 127.0.0.1:59534 [23/Nov/2026:20:36:02.589] fe_http be_app/app1 0/0/0/0/0 200 96 - - ---- 1/1/0/0/0 0/0 {h|ua} {text/plain} \"GET /ok HTTP/1.1\"",
                "httplog",
            ),
            (
                "127.0.0.1:57266 [23/Nov/2026:20:36:14.385] fe_https~ be_app/app1 0/0/0/5/5 200 96 - - ---- 27/27/0/0/0 0/0 {h|ua} {t} \"GET https://127.0.0.1:18443/ok?h2=1 HTTP/2.0\" 0/0000000000000000/0/0/0 -/TLSv1.3/TLS_AES_256_GCM_SHA384",
                "httpslog",
            ),
            (
                "Nov 23 20:37:00 myhost haproxy[2908]: 127.0.0.1:52872 [23/Nov/2026:20:37:00.614] fe_tcp be_tcp_app/app1 1/0/1 112 -- 4/4/2/2/0 0/0",
                "tcplog",
            ),
            (
                "127.0.0.1 - - [23/Nov/2026:20:36:29 +0000] \"GET /ok HTTP/1.1\" 200 96 \"\" \"\" 47980 082 \"fe_clf\" \"be_app\" \"app1\" 0 0 0 3 3 ---- 2 2 1 1 0 0 0 \"\" \"\" \"h\" \"ua\" \"t\"",
                "httplog_clf",
            ),
            (
                "127.0.0.1 - - [23/Nov/2026:20:24:37 +0000] \"TCP \" 000 211 \"\" \"\" 33660 640 \"fe_tcpclf\" \"betcp\" \"s1\" 0 1 0 2 18 ---- 1 1 0 0 0 0 0 \"\" \"\" ",
                "tcplog_clf",
            ),
            ("Connect from 127.0.0.1:46188 to 127.0.0.1:18083 (fe_defhttp/HTTP)", "connect"),
            ("Connect to unix:3 (fe/TCP)", "connect"),
            ("::1:56882 [23/Nov/2026:20:36:22.034] fe_https/2: SSL handshake failure", "connection_error"),
            ("unknown [23/Nov/2026:20:36:22.034] fe_https/2: Timeout during SSL handshake", "connection_error"),
        ];
        for (line, format) in cases {
            let (outcome, row) = parse(line);
            assert_eq!(outcome, Outcome::Traffic, "{line}");
            assert_eq!(row.get(Col::LogFormat.index()).bytes(b""), Some(format.as_bytes()), "{line}");
            assert_eq!(row.get(Col::LineTruncated.index()), Value::Bool(false), "{line}");
        }
    }

    /// A query that counts statuses has the same rows as a conversion, and their
    /// statuses, with no request split, time zone or UTF-8 check.
    #[test]
    fn a_projected_read_fits_the_same_lines_with_the_same_values() {
        let catalogue = Catalogue::standard();
        let kept = [Col::Status.index(), Col::LogFormat.index(), Col::Frontend.index()];
        let mut whole = LineParser::new(&catalogue, LocalZone::utc(), NOV_2026);
        let mut projected = LineParser::new(&catalogue, LocalZone::utc(), NOV_2026);
        projected.project(&kept);
        assert_eq!(projected.needs, Needs { request_parts: false, utc_times: false });
        let corpus = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/data/httplog.rsyslog.log")).unwrap();
        let mut rows = 0;
        for line in crate::input::lines(&corpus) {
            let outcome = whole.parse(line);
            assert_eq!(projected.parse(line), outcome);
            if outcome == Outcome::Traffic {
                rows += 1;
                for column in kept {
                    assert_eq!(projected.row().get(column), whole.row().get(column));
                }
                assert!(projected.row().get(Col::Path.index()).is_null());
            }
        }
        assert!(rows > 100, "{rows}");
    }

    #[test]
    fn header_fields_and_year_from_the_message_date() {
        let line =
            "<134>Jan  1 00:00:01 haproxy[7]: 127.0.0.1:1 [31/Dec/2026:23:59:59.000] fe be/s 1/0/2 3 -- 1/1/1/1/0 0/0";
        let (outcome, row) = parse(line);
        assert_eq!(outcome, Outcome::Traffic);
        assert_eq!(text(line, &row, Col::SyslogTag), Some("haproxy"));
        assert_eq!(row.get(Col::SyslogPid.index()), Value::Int(7));
        assert_eq!(row.get(Col::SyslogFacility.index()), Value::Static(&"local0"));
        let jan_first_2027 = date::days_from_civil(2027, 1, 1) * 86_400_000;
        assert_eq!(row.get(Col::SyslogTime.index()), Value::Time((jan_first_2027 + 1000) * 1000));
    }

    #[test]
    fn connection_errors_keep_frontend_bind_and_message() {
        let line = "127.0.0.1:57268 [23/Nov/2026:20:36:14.380] fe_https/1: SSL handshake failure (error:0A00010B:SSL routines::wrong version number)";
        let (_, row) = parse(line);
        assert_eq!(text(line, &row, Col::Frontend), Some("fe_https"));
        assert_eq!(text(line, &row, Col::Bind), Some("1"));
        assert_eq!(
            text(line, &row, Col::ConnectionError),
            Some("SSL handshake failure (error:0A00010B:SSL routines::wrong version number)")
        );
    }

    #[test]
    fn events_are_recognised_and_garbage_is_rejected_with_a_reason() {
        let (outcome, _) = parse("<137>Nov 23 20:36:01 haproxy[2908]: Server be_ckpersist/s3 is DOWN.");
        assert!(matches!(outcome, Outcome::Event(e, _) if *e.kind == "server_state"));
        let (outcome, _) = parse("Nov 23 20:36:01 myhost sshd[1]: Accepted publickey for root");
        assert_eq!(outcome, Outcome::Rejected("not an HAProxy traffic line nor a known HAProxy event".into()));
        let (outcome, _) = parse("127.0.0.1:1 [23/Nov/2026:20:24:30.050] fe be/s 0/0/x 1 -- 1/1/1/1/0 0/0");
        let Outcome::Rejected(reason) = outcome else { panic!() };
        assert!(reason.starts_with("closest format ") && reason.ends_with(" at byte 52"), "{reason}");
        assert_eq!(parse("").0, Outcome::Rejected("empty line".into()));
        assert_eq!(parse("\r").0, Outcome::Rejected("empty line".into()));
    }

    /// httplog and tcplog fail this line at the same step: which one the reason names
    /// must not depend on the line before (another chunk may hold it).
    #[test]
    fn a_reject_reason_does_not_depend_on_the_previous_line() {
        let catalogue = Catalogue::standard();
        let bad = b"127.0.0.1:1 [23/Nov/2026:20:24:30.050] fe be/s 0/0/x 1 -- 1/1/1/1/0 0/0";
        let previous: [&[u8]; 3] = [
            b"",
            b"127.0.0.1:1 [23/Nov/2026:20:24:30.050] fe be/s 1/0/2 3 -- 1/1/1/1/0 0/0",
            b"127.0.0.1:1 [23/Nov/2026:20:24:30.050] fe be/s 0/0/0/1/1 200 9 - - ---- 1/1/0/0/0 0/0 \"GET / HTTP/1.1\"",
        ];
        let reasons: Vec<Outcome> = previous
            .iter()
            .map(|line| {
                let mut parser = LineParser::new(&catalogue, LocalZone::utc(), NOV_2026);
                parser.parse(line);
                parser.parse(bad)
            })
            .collect();
        assert!(matches!(&reasons[0], Outcome::Rejected(_)));
        assert_eq!(reasons[0], reasons[1]);
        assert_eq!(reasons[0], reasons[2]);
    }

    #[test]
    fn a_short_line_that_ends_early_is_rejected_not_truncated() {
        let (outcome, _) = parse("127.0.0.1:1 [23/Nov/2026:20:24:30.050] fe be/s 1/0/2");
        assert!(matches!(outcome, Outcome::Rejected(_)), "{outcome:?}");
    }

    #[test]
    fn configured_formats_only_read_their_frontends() {
        let source = FormatSource {
            name: "custom:fe_x".into(),
            format: "%ci:%cp [%tr] %ft %ST".into(),
            frontends: vec!["fe_x".into()],
            captures: CaptureNames::default(),
        };
        let catalogue = Box::leak(Box::new(Catalogue::new(&[source], false).unwrap()));
        let mut parser = LineParser::new(catalogue, LocalZone::utc(), NOV_2026);
        assert_eq!(parser.parse(b"1.2.3.4:5 [23/Nov/2026:20:24:30.050] fe_x 200"), Outcome::Traffic);
        assert!(matches!(parser.parse(b"1.2.3.4:5 [23/Nov/2026:20:24:30.050] fe_y 200"), Outcome::Rejected(_)));
    }
}
