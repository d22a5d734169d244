//! A compiled log format: the steps that read one line of it into a [`Row`].
//!
//! BE ADVISED: the interpreter mirrors how HAProxy *prints* a line, so that reading is
//! its exact inverse:
//! - a separator prints one space only if something was printed since the previous one,
//!   so an item that printed nothing (absent capture block, empty `%HQ` on 3.x) takes
//!   its space with it;
//! - `Q` quotes text items only; numbers, dates and termination states never are;
//! - raw items (`%[...]`, names, cookies) are not escaped, so a quoted raw item ends at
//!   the first `"` that is followed by what the format prints next;
//! - a line may be cut anywhere (`len`): reaching its end early is "truncated", not an
//!   error, and the field cut in half is dropped rather than stored wrong.

use crate::format::{Alias, Flags, Item};
use crate::parse::date::{self, LocalZone};
use crate::parse::value::{CaptureStyle, Row, StaticText, Value, leak_text};
use crate::schema::{Col, ColumnKind, ColumnSpec, sanitize_name};

/// The columns of one conversion: the core ones plus what the formats add.
#[derive(Debug, Clone)]
pub struct ColumnSet {
    pub specs: Vec<ColumnSpec>,
}

impl Default for ColumnSet {
    fn default() -> Self {
        ColumnSet { specs: Col::ALL.iter().map(|c| c.spec()).collect() }
    }
}

impl ColumnSet {
    /// The index of a column added by a format, created on first use.
    pub fn extra(&mut self, name: &str, kind: ColumnKind, doc: String) -> usize {
        let mut name = name.to_string();
        if name.is_empty() || Col::by_name(&name).is_some() {
            name = format!("sample_{name}");
        }
        if let Some(index) = self.specs.iter().position(|s| s.name == name) {
            return index;
        }
        self.specs.push(ColumnSpec { name, kind, doc });
        self.specs.len() - 1
    }
}

/// How a field's text becomes a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldParse {
    /// Raw text; `-` means absent.
    Text,
    /// `#XX`-encoded text.
    EncodedText,
    Address,
    Port,
    /// `%rt`, `%lc`, `%pid`: a number that `+X` prints as `%04X`.
    Counter,
    /// A timer: `-1` means "not reached", a `+` means logasap.
    Timer,
    /// `%B`: may carry the logasap `+`.
    Bytes,
    /// HAProxy prints integers with `%d`: no leading zeros. That is what tells an HTTP
    /// CLF status from the literal `000` of the TCP CLF.
    Integer,
    /// `%ms`: three digits, zero-padded.
    Millis,
    /// `%rc`: a `+` means redispatched.
    Retries,
    LocalDate,
    OffsetDate,
    Epoch,
    /// `%ft`: the name, then `~` for an SSL/QUIC listener.
    FrontendTransport,
    TermState(u8),
    CaptureBlock,
    CaptureSlots,
    Request,
    /// `%HU`: the request target, split into origin, path and query.
    Target,
    /// `%HP`: keeps scheme and authority for absolute URIs; split into origin and path.
    PathWithAuthority,
    /// `%HQ`: printed with its `?`, stored without.
    Query,
    /// `0`/`1`.
    Flag,
}

impl FieldParse {
    /// Text items are the ones `Q` quotes.
    fn quotable(self) -> bool {
        matches!(
            self,
            FieldParse::Text
                | FieldParse::EncodedText
                | FieldParse::Address
                | FieldParse::FrontendTransport
                | FieldParse::CaptureSlots
                | FieldParse::Request
                | FieldParse::Target
                | FieldParse::PathWithAuthority
                | FieldParse::Query
        )
    }

    /// HTTP items are `#XX`-encoded, so they cannot hold a raw `"`.
    fn encoded(self) -> bool {
        matches!(
            self,
            FieldParse::EncodedText
                | FieldParse::CaptureSlots
                | FieldParse::Request
                | FieldParse::Target
                | FieldParse::PathWithAuthority
                | FieldParse::Query
        )
    }
}

/// What ends a field: decided at compile time from the step after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldEnd {
    Space,
    Byte(u8),
    EndOfLine,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldStep {
    pub column: usize,
    pub parse: FieldParse,
    pub quoted: bool,
    pub hex: bool,
    pub end: FieldEnd,
    /// For capture slots: how many, when the configuration says.
    pub slots: Option<usize>,
    /// What the format calls it, for error messages and rendering.
    pub label: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Literal(Box<[u8]>),
    Separator,
    Field(FieldStep),
}

/// Where the slots of one capture block go, when their names are known.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaptureColumns {
    pub request: Vec<usize>,
    pub response: Vec<usize>,
}

#[derive(Debug, Clone)]
pub struct Plan {
    /// The `log_format` value of rows this plan reads.
    pub name: StaticText,
    pub format: String,
    pub steps: Vec<Step>,
    /// Frontends the configuration gives this format; empty means any.
    pub frontends: Vec<String>,
    /// Lines every frontend may write whatever its format ('Connect from', connection
    /// errors): the configuration's format does not replace them.
    pub any_frontend: bool,
    pub captures: CaptureColumns,
    /// Every column a row of this plan can have a value in, with provenance and header:
    /// the others stay null (`halake schema --format` lists these).
    pub filled: Vec<usize>,
    /// See [`Plan::resumable_from`], for each step and the end.
    resumable: Vec<bool>,
}

/// Work a read does only for columns someone reads (a query that counts statuses reads
/// no path). None of it decides whether a line fits: a line reads as the same kind of
/// row, or is rejected for the same reason, whatever is left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Needs {
    /// Split the request line into method, origin, path, query and version.
    pub request_parts: bool,
    /// Local dates to UTC (they are checked either way).
    pub utc_times: bool,
}

impl Needs {
    pub const ALL: Needs = Needs { request_parts: true, utc_times: true };
}

/// Capture names from the configuration, in declaration order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaptureNames {
    pub request: Vec<String>,
    pub response: Vec<String>,
}

/// Where a read stood before each step. Plans that begin with the same steps read a line
/// the same way up to where they differ: the next plan tried goes on from there instead
/// of reading it all again (`httplog` and `httpslog` differ only at the end).
#[derive(Debug, Clone, Default)]
pub struct Trail {
    /// Before each step: the position, and whether text was printed since the last separator.
    at: Vec<(usize, bool)>,
    /// The last step whose entry in `at` belongs to the read that ended.
    reached: usize,
    /// A raw quoted field tries its ends by reading the rest of its own plan: what came
    /// after it is not shared with any other plan.
    limit: usize,
}

impl Trail {
    fn start(&mut self, step: usize) {
        self.reached = step;
        self.limit = usize::MAX;
    }

    fn record(&mut self, step: usize, pos: usize, printed_since_separator: bool) {
        if step > self.limit {
            return;
        }
        if self.at.len() <= step {
            self.at.resize(step + 1, (0, false));
        }
        self.at[step] = (pos, printed_since_separator);
        self.reached = step;
    }

    pub fn reached(&self) -> usize {
        self.reached
    }
}

/// Why a line did not fit a plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mismatch {
    /// Index of the step that failed: the furthest attempt explains best.
    pub step: usize,
    pub offset: usize,
    pub reason: &'static str,
    pub label: &'static str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fit {
    Complete,
    /// The line ended before the format did (HAProxy's `len` cut).
    Truncated,
}

impl Plan {
    pub fn compile(name: &str, format: &str, items: &[Item], captures: &CaptureNames, columns: &mut ColumnSet) -> Plan {
        let mut steps = Vec::with_capacity(items.len());
        for item in items {
            steps.push(match item {
                Item::Literal(bytes) => Step::Literal(bytes.clone().into_boxed_slice()),
                Item::Separator => Step::Separator,
                Item::Alias { alias, flags, .. } => Step::Field(alias_step(*alias, *flags, captures)),
                Item::Sample { expr, flags, name } => Step::Field(sample_step(expr, name.as_deref(), *flags, columns)),
            });
        }
        // A field ends where the next thing the format prints begins.
        for i in 0..steps.len() {
            let end = match steps.get(i + 1) {
                None => FieldEnd::EndOfLine,
                Some(Step::Separator) => FieldEnd::Space,
                Some(Step::Literal(bytes)) => FieldEnd::Byte(bytes[0]),
                Some(Step::Field(_)) => FieldEnd::EndOfLine,
            };
            if let Step::Field(field) = &mut steps[i] {
                field.end = end;
            }
        }
        let fields: Vec<&FieldStep> = steps
            .iter()
            .filter_map(|s| match s {
                Step::Field(f) => Some(f),
                _ => None,
            })
            .collect();
        let capture_columns = capture_columns(&fields, captures, columns);
        let resumable = (0..=steps.len())
            .map(|step| {
                let before: Vec<usize> = steps[..step].iter().flat_map(step_columns).collect();
                step > 0 && steps[step..].iter().flat_map(step_columns).all(|c| !before.contains(&c))
            })
            .collect();
        Plan {
            name: static_name(name),
            format: format.to_string(),
            steps,
            frontends: Vec::new(),
            any_frontend: false,
            captures: capture_columns,
            filled: Vec::new(),
            resumable,
        }
    }

    /// Reads `line[start..]` into `row`, which must be clear. Values are offsets into `line`.
    pub fn read(
        &self,
        line: &[u8],
        start: usize,
        row: &mut Row,
        zone: &mut LocalZone,
        needs: Needs,
        trail: &mut Trail,
    ) -> Result<Fit, Mismatch> {
        trail.start(0);
        self.read_steps(0, start, false, line, row, zone, needs, trail)
    }

    /// Reads the line on from `step`, where the last read (of `previous`, whose first
    /// `step` steps are this plan's) stood before it: see [`Plan::resumable_from`].
    #[allow(clippy::too_many_arguments)]
    pub fn resume(
        &self,
        previous: &Plan,
        step: usize,
        line: &[u8],
        row: &mut Row,
        zone: &mut LocalZone,
        needs: Needs,
        trail: &mut Trail,
    ) -> Result<Fit, Mismatch> {
        debug_assert!(step <= trail.reached && self.steps[..step] == previous.steps[..step]);
        for column in previous.columns_of_steps(step) {
            row.set(column, Value::Null);
        }
        let (pos, printed_since_separator) = trail.at[step];
        trail.start(step);
        self.read_steps(step, pos, printed_since_separator, line, row, zone, needs, trail)
    }

    /// Whether a read of this plan can be taken back to what it was before `step` by
    /// clearing the columns of the steps from there on: true unless a step before it
    /// and one after it write the same column (the timers and `%B` share `logasap`).
    pub fn resumable_from(&self, step: usize) -> bool {
        self.resumable.get(step).copied().unwrap_or(false)
    }

    /// The columns steps `from..` write, their own and derived ones.
    fn columns_of_steps(&self, from: usize) -> impl Iterator<Item = usize> + '_ {
        self.steps[from.min(self.steps.len())..].iter().flat_map(step_columns)
    }

    #[allow(clippy::too_many_arguments)]
    fn read_steps(
        &self,
        first: usize,
        start: usize,
        mut printed_since_separator: bool,
        line: &[u8],
        row: &mut Row,
        zone: &mut LocalZone,
        needs: Needs,
        trail: &mut Trail,
    ) -> Result<Fit, Mismatch> {
        let mut pos = start;
        let len = line.len();
        for (index, step) in self.steps.iter().enumerate().skip(first) {
            trail.record(index, pos, printed_since_separator);
            let mismatch = |offset: usize, reason: &'static str, label: &'static str| Mismatch {
                step: index,
                offset,
                reason,
                label,
            };
            match step {
                Step::Separator => {
                    if pos < len && line[pos] == b' ' {
                        pos += 1;
                        printed_since_separator = false;
                    } else if pos < len && printed_since_separator {
                        return Err(mismatch(pos, "expected a space", ""));
                    }
                }
                Step::Literal(bytes) => {
                    if pos >= len {
                        return Ok(self.cut_short(index));
                    }
                    let available = &line[pos..len.min(pos + bytes.len())];
                    // Literals are a byte or two: a loop beats a call to memcmp.
                    if !available.iter().zip(bytes.iter()).all(|(a, b)| a == b) {
                        return Err(mismatch(pos, "expected literal text of the format", ""));
                    }
                    pos += available.len();
                    printed_since_separator = true;
                    if available.len() < bytes.len() {
                        return Ok(Fit::Truncated);
                    }
                }
                Step::Field(field) => {
                    if pos >= len {
                        return Ok(self.cut_short(index));
                    }
                    if field.quoted && !field.parse.encoded() && line[pos] == b'"' {
                        return self.read_raw_quoted(index, field, pos, line, row, zone, needs, trail);
                    }
                    let (next, cut) = read_field(field, line, pos, row, zone, needs)
                        .map_err(|reason| mismatch(pos, reason, field.label))?;
                    if next > pos {
                        printed_since_separator = true;
                    }
                    pos = next;
                    if cut {
                        return Ok(Fit::Truncated);
                    }
                }
            }
        }
        trail.record(self.steps.len(), pos, printed_since_separator);
        if pos < len {
            return Err(Mismatch {
                step: self.steps.len(),
                offset: pos,
                reason: "unexpected text after the last field",
                label: "",
            });
        }
        Ok(Fit::Complete)
    }

    /// A quoted raw value may hold `"` followed by what comes next in the format, so
    /// each such quote is a candidate end: the first with which the rest of the line
    /// reads wins.
    #[allow(clippy::too_many_arguments)]
    fn read_raw_quoted(
        &self,
        index: usize,
        field: &FieldStep,
        pos: usize,
        line: &[u8],
        row: &mut Row,
        zone: &mut LocalZone,
        needs: Needs,
        trail: &mut Trail,
    ) -> Result<Fit, Mismatch> {
        /// Bounds the search on hostile lines full of quotes.
        const MAX_CANDIDATES: usize = 8;
        trail.limit = trail.limit.min(index);
        let derived = DERIVED_COLUMNS.map(|c| row.get(c.index()));
        let mut first_mismatch = None;
        let mut from = pos + 1;
        for _ in 0..MAX_CANDIDATES {
            let Some(close) = closing_quote(line, from, field.end) else {
                break;
            };
            if first_mismatch.is_some() {
                for (column, value) in DERIVED_COLUMNS.iter().zip(derived) {
                    row.set(column.index(), value);
                }
                for step in &self.steps[index..] {
                    if let Step::Field(f) = step {
                        row.set(f.column, Value::Null);
                    }
                }
            }
            let stored = store(field, line, pos + 1, close, false, row, needs).map_err(|reason| Mismatch {
                step: index,
                offset: pos,
                reason,
                label: field.label,
            });
            match stored.and_then(|()| self.read_steps(index + 1, close + 1, true, line, row, zone, needs, trail)) {
                // A later quote is believed only when the rest of the line then reads to
                // the end of the format: a line that stops early after it is likelier
                // one that does not fit than a value with a quote in it, then cut.
                Ok(Fit::Truncated) if first_mismatch.is_some() => from = close + 1,
                Ok(fit) => return Ok(fit),
                Err(mismatch) => {
                    first_mismatch.get_or_insert(mismatch);
                    from = close + 1;
                }
            }
        }
        match first_mismatch {
            Some(mismatch) => Err(mismatch),
            // No quote closes it: the line was cut inside this value.
            None => {
                store(field, line, pos + 1, line.len(), true, row, needs).map_err(|reason| Mismatch {
                    step: index,
                    offset: pos,
                    reason,
                    label: field.label,
                })?;
                Ok(Fit::Truncated)
            }
        }
    }

    /// The line ended before step `index`: complete if nothing that must print remains.
    fn cut_short(&self, index: usize) -> Fit {
        let rest_may_be_empty = self.steps[index.min(self.steps.len())..].iter().all(|s| match s {
            Step::Separator => true,
            Step::Field(f) => {
                matches!(f.parse, FieldParse::CaptureBlock | FieldParse::CaptureSlots | FieldParse::Query)
            }
            Step::Literal(_) => false,
        });
        if rest_may_be_empty { Fit::Complete } else { Fit::Truncated }
    }

    /// The columns rows of this plan can fill, besides provenance and header: each
    /// field's own column and the ones derived from it.
    pub fn columns(&self) -> Vec<usize> {
        let mut columns: Vec<usize> = self.columns_of_steps(0).collect();
        columns.extend(self.captures.request.iter().chain(&self.captures.response));
        columns.sort_unstable();
        columns.dedup();
        columns
    }

    /// True when the plan reads the frontend name, so rows can be checked against the
    /// frontends the configuration gives this format.
    pub fn reads_frontend(&self) -> bool {
        self.steps.iter().any(|s| matches!(s, Step::Field(f) if f.column == Col::Frontend.index()))
    }
}

/// The columns of the configuration's named captures, for a format that logs them.
pub(super) fn capture_columns(
    fields: &[&FieldStep],
    captures: &CaptureNames,
    columns: &mut ColumnSet,
) -> CaptureColumns {
    let mut capture_columns = CaptureColumns::default();
    let mut named = |prefix: &str, names: &[String]| -> Vec<usize> {
        names
            .iter()
            .map(|n| {
                let doc = format!("captured {} '{n}'", prefix.replace('_', " "));
                columns.extra(&format!("{prefix}_{}", sanitize_name(n)), ColumnKind::Utf8, doc)
            })
            .collect()
    };
    if fields.iter().any(|f| f.column == Col::RequestHeaders.index()) {
        capture_columns.request = named("request_header", &captures.request);
    }
    if fields.iter().any(|f| f.column == Col::ResponseHeaders.index()) {
        capture_columns.response = named("response_header", &captures.response);
    }
    capture_columns
}

/// The columns a step writes: its field's own and the ones derived from it.
pub(super) fn step_columns(step: &Step) -> impl Iterator<Item = usize> {
    let (own, derived): (Option<usize>, &[Col]) = match step {
        Step::Field(field) => (
            Some(field.column),
            match field.parse {
                FieldParse::Timer | FieldParse::Bytes => &[Col::Logasap],
                FieldParse::Retries => &[Col::Redispatched],
                FieldParse::Target => &[Col::UriOrigin, Col::Query],
                FieldParse::PathWithAuthority => &[Col::UriOrigin],
                FieldParse::FrontendTransport => &[Col::FrontendTls],
                FieldParse::TermState(_) => {
                    &[Col::TerminationCause, Col::TerminationPhase, Col::PersistenceCookie, Col::SetCookieAction]
                }
                FieldParse::Request => {
                    &[Col::Method, Col::UriOrigin, Col::Path, Col::Query, Col::HttpVersion, Col::RequestTruncated]
                }
                _ => &[],
            },
        ),
        Step::Literal(_) | Step::Separator => (None, &[]),
    };
    own.into_iter().chain(derived.iter().map(|c| c.index()))
}

/// A plan's name for the whole run: every row shares it without a copy. Each distinct
/// name is kept once, however many times plans are compiled (the fuzzer compiles
/// millions).
pub(super) fn static_name(name: &str) -> StaticText {
    static NAMES: std::sync::Mutex<Vec<StaticText>> = std::sync::Mutex::new(Vec::new());
    let mut names = NAMES.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(known) = names.iter().find(|known| ***known == name) {
        return known;
    }
    let leaked = leak_text(name.to_string());
    names.push(leaked);
    leaked
}

fn field(column: Col, parse: FieldParse, flags: Flags, label: &'static str) -> FieldStep {
    FieldStep {
        column: column.index(),
        parse,
        quoted: flags.quote && parse.quotable(),
        hex: flags.hex,
        end: FieldEnd::EndOfLine,
        slots: None,
        label,
    }
}

pub(super) fn alias_step(alias: Alias, flags: Flags, captures: &CaptureNames) -> FieldStep {
    use FieldParse::*;
    let (column, parse) = match alias {
        Alias::GlobalFlags => unreachable!("the lexer consumes %o"),
        Alias::LogOrigin => (Col::LogOrigin, Text),
        Alias::ClientIp => (Col::ClientIp, Address),
        Alias::ClientPort => (Col::ClientPort, Port),
        Alias::FrontendIp => (Col::FrontendIp, Address),
        Alias::FrontendPort => (Col::FrontendPort, Port),
        Alias::BackendSourceIp => (Col::BackendSourceIp, Address),
        Alias::BackendSourcePort => (Col::BackendSourcePort, Port),
        Alias::ServerIp => (Col::ServerIp, Address),
        Alias::ServerPort => (Col::ServerPort, Port),
        Alias::Frontend => (Col::Frontend, Text),
        Alias::FrontendTransport => (Col::Frontend, FrontendTransport),
        Alias::Backend => (Col::Backend, Text),
        Alias::Server => (Col::Server, Text),
        Alias::AcceptDate => (Col::AcceptTime, LocalDate),
        Alias::RequestDate => (Col::RequestTime, LocalDate),
        Alias::AcceptDateGmt | Alias::AcceptDateLocal => (Col::AcceptTime, OffsetDate),
        Alias::RequestDateGmt | Alias::RequestDateLocal => (Col::RequestTime, OffsetDate),
        Alias::AcceptEpoch => (Col::AcceptTime, Epoch),
        Alias::AcceptMillis => (Col::AcceptMillis, Millis),
        Alias::HandshakeTime => (Col::HandshakeMs, Timer),
        Alias::IdleTime => (Col::IdleMs, Timer),
        Alias::RequestTime => (Col::RequestMs, Timer),
        Alias::RequestTotalTime => (Col::RequestTotalMs, Timer),
        Alias::QueueTime => (Col::QueueMs, Timer),
        Alias::ConnectTime => (Col::ConnectMs, Timer),
        Alias::ResponseTime => (Col::ResponseMs, Timer),
        Alias::DataTime => (Col::DataMs, Timer),
        Alias::ActiveTime => (Col::ActiveMs, Timer),
        Alias::TotalTime => (Col::TotalMs, Timer),
        Alias::UserTime => (Col::UserMs, Timer),
        Alias::Status => (Col::Status, Integer),
        Alias::BytesRead => (Col::BytesToClient, Bytes),
        Alias::BytesUploaded => (Col::BytesFromClient, Bytes),
        Alias::RequestCookie => (Col::RequestCookie, Text),
        Alias::ResponseCookie => (Col::ResponseCookie, Text),
        Alias::TermState => (Col::TerminationState, TermState(2)),
        Alias::TermStateCookie => (Col::TerminationState, TermState(4)),
        Alias::ActiveConns => (Col::ActiveConns, Integer),
        Alias::FrontendConns => (Col::FrontendConns, Integer),
        Alias::BackendConns => (Col::BackendConns, Integer),
        Alias::ServerConns => (Col::ServerConns, Integer),
        Alias::Retries => (Col::Retries, Retries),
        Alias::ServerQueue => (Col::ServerQueue, Integer),
        Alias::BackendQueue => (Col::BackendQueue, Integer),
        Alias::RequestHeaders => (Col::RequestHeaders, CaptureBlock),
        Alias::ResponseHeaders => (Col::ResponseHeaders, CaptureBlock),
        Alias::RequestHeaderList => (Col::RequestHeaders, CaptureSlots),
        Alias::ResponseHeaderList => (Col::ResponseHeaders, CaptureSlots),
        Alias::Request => (Col::RequestLine, Request),
        Alias::Method => (Col::Method, EncodedText),
        Alias::Uri => (Col::Path, Target),
        Alias::PathWithAuthority => (Col::Path, PathWithAuthority),
        Alias::PathOnly => (Col::Path, EncodedText),
        Alias::Query => (Col::Query, Query),
        Alias::Version => (Col::HttpVersion, EncodedText),
        Alias::UniqueId => (Col::UniqueId, Text),
        Alias::RequestCounter => (Col::RequestCounter, Counter),
        Alias::LogCounter => (Col::FrontendLogCounter, Counter),
        Alias::Pid => (Col::Pid, Counter),
        Alias::Hostname => (Col::Hostname, Text),
        Alias::SslVersion => (Col::TlsVersion, Text),
        Alias::SslCipher => (Col::TlsCipher, Text),
    };
    let mut step = field(column, parse, flags, alias.name());
    step.slots = match alias {
        Alias::RequestHeaderList if !captures.request.is_empty() => Some(captures.request.len()),
        Alias::ResponseHeaderList if !captures.response.is_empty() => Some(captures.response.len()),
        _ => None,
    };
    step
}

/// Sample fetches with a typed home among the core columns.
fn known_sample(expr: &str) -> Option<(Col, FieldParse)> {
    use FieldParse::*;
    let fetch = expr.split(',').next().unwrap_or(expr).trim();
    Some(match fetch {
        "fc_err" => (Col::FrontendConnError, Integer),
        "ssl_fc_err" => (Col::TlsError, Text),
        "ssl_c_err" => (Col::ClientCertError, Integer),
        "ssl_c_ca_err" => (Col::ClientCertCaError, Integer),
        "ssl_fc_is_resumed" => (Col::TlsResumed, Flag),
        "ssl_fc_sni" => (Col::TlsSni, Text),
        "ssl_fc_protocol" => (Col::TlsVersion, Text),
        "ssl_fc_cipher" => (Col::TlsCipher, Text),
        "src" => (Col::ClientIp, Address),
        "src_port" => (Col::ClientPort, Port),
        "dst" => (Col::FrontendIp, Address),
        "dst_port" => (Col::FrontendPort, Port),
        "unique-id" => (Col::UniqueId, Text),
        "fe_name" => (Col::Frontend, Text),
        "be_name" => (Col::Backend, Text),
        "srv_name" => (Col::Server, Text),
        "txn.status" => (Col::Status, Integer),
        "method" => (Col::Method, Text),
        "req.ver" => (Col::HttpVersion, Text),
        "pid" => (Col::Pid, Integer),
        "hostname" => (Col::Hostname, Text),
        "halake.mode" => (Col::ProxyMode, Text),
        "halake.bind" => (Col::Bind, Text),
        "halake.message" => (Col::ConnectionError, Text),
        _ => return None,
    })
}

pub(super) fn sample_step(expr: &str, name: Option<&str>, flags: Flags, columns: &mut ColumnSet) -> FieldStep {
    // A converter can change the meaning (`ssl_fc_err` vs `ssl_fc_err,hex` is only a
    // matter of notation; `src,ipmask(24)` is not): only bare fetches and `,hex` map to
    // core columns.
    let converters: Vec<&str> = expr.split(',').skip(1).map(str::trim).collect();
    let plain = converters.is_empty() || converters == ["hex"];
    if plain && let Some((column, parse)) = known_sample(expr) {
        return field(column, parse, flags, "%[sample]");
    }
    let column_name = sanitize_name(name.unwrap_or(expr));
    let doc = format!("sample expression %[{expr}]");
    let column = columns.extra(&column_name, ColumnKind::Utf8, doc);
    FieldStep { column, ..field(Col::SourceFile, FieldParse::Text, flags, "%[sample]") }
}

/// Reads one field at `pos`. Returns where the next step starts, and whether the line
/// ended inside this field.
pub(super) fn read_field(
    field: &FieldStep,
    line: &[u8],
    pos: usize,
    row: &mut Row,
    zone: &mut LocalZone,
    needs: Needs,
) -> Result<(usize, bool), &'static str> {
    use FieldParse::*;
    let len = line.len();
    match field.parse {
        LocalDate | OffsetDate => {
            let width = if field.parse == LocalDate { 24 } else { 26 };
            if pos + width > len {
                let template: &[u8] = if field.parse == LocalDate { LOCAL_DATE_SHAPE } else { OFFSET_DATE_SHAPE };
                return if fits_shape(&line[pos..], template) {
                    Ok((len, true))
                } else {
                    Err("expected a date like 23/Nov/2026:20:24:40.854")
                };
            }
            let text = &line[pos..pos + width];
            let value = if field.parse == LocalDate {
                // The check is the parse; the time zone is only for a column someone reads.
                date::parse_local_millis(text)
                    .map(|local| Value::Time(if needs.utc_times { zone.to_utc(local) } else { local }))
            } else {
                date::parse_with_offset(text).map(Value::Time)
            };
            row.set(field.column, value.ok_or("expected a date like 23/Nov/2026:20:24:40.854")?);
            return Ok((pos + width, false));
        }
        TermState(width) => {
            let width = width as usize;
            if pos + width > len {
                return if line[pos..].iter().all(u8::is_ascii_graphic) {
                    Ok((len, true))
                } else {
                    Err("expected a termination state")
                };
            }
            let text = &line[pos..pos + width];
            if text.iter().any(|b| !b.is_ascii_graphic()) {
                return Err("expected a termination state");
            }
            row.set(field.column, Value::text(pos, pos + width));
            return Ok((pos + width, false));
        }
        CaptureBlock => {
            if line[pos] != b'{' {
                // No capture slots, or a stream-less error line: the block is absent.
                return Ok((pos, false));
            }
            return match memchr::memchr(b'}', &line[pos + 1..]) {
                Some(close) => {
                    let end = pos + 1 + close;
                    row.set(
                        field.column,
                        Value::Captures { start: pos as u32 + 1, end: end as u32, style: CaptureStyle::Braced },
                    );
                    Ok((end + 1, false))
                }
                None => Ok((len, true)),
            };
        }
        CaptureSlots => return read_capture_slots(field, line, pos, row),
        // 3.x prints nothing at all for an empty query.
        Query if !field.quoted && line[pos] != b'?' => return Ok((pos, false)),
        _ => {}
    }

    if let Some(next) = read_plain_number(field, line, pos, row) {
        return Ok((next, false));
    }
    let (start, end, next, cut) = if field.quoted && line[pos] == b'"' {
        let close = if field.parse.encoded() {
            memchr::memchr(b'"', &line[pos + 1..]).map(|p| pos + 1 + p)
        } else {
            closing_quote(line, pos + 1, field.end)
        };
        match close {
            Some(close) => (pos + 1, close, close + 1, false),
            None => (pos + 1, len, len, true),
        }
    } else {
        token_extent(field, line, pos)?
    };
    store(field, line, start, end, cut, row, needs)?;
    Ok((next, cut))
}

/// Most fields are small decimal numbers: read them in one pass, with no search for the
/// field's end and no second look at its text. Anything else (`-`, hex, a leading zero,
/// a line cut inside the number, a wrong separator) returns `None` for [`store`], which
/// gives the same value or the reason.
fn read_plain_number(field: &FieldStep, line: &[u8], pos: usize, row: &mut Row) -> Option<usize> {
    use FieldParse::*;
    let signs = match field.parse {
        Port | Counter | Integer => (false, true),
        Timer | Bytes | Retries => (true, true),
        _ => return None,
    };
    if field.hex {
        return None;
    }
    let len = line.len();
    let (value, plus, at) = scan_decimal(line, pos, signs.0, signs.1)?;
    let ended = match field.end {
        FieldEnd::EndOfLine => at == len,
        FieldEnd::Space => at < len && line[at] == b' ',
        FieldEnd::Byte(byte) => at < len && line[at] == byte,
    };
    if !ended {
        return None;
    }
    match field.parse {
        Timer | Bytes => {
            if plus || row.get(Col::Logasap.index()).is_null() {
                row.set(Col::Logasap.index(), Value::Bool(plus));
            }
            if value >= 0 || field.parse == Bytes {
                row.set(field.column, Value::Int(value));
            }
        }
        Retries => {
            row.set(field.column, Value::Int(value));
            row.set(Col::Redispatched.index(), Value::Bool(plus));
        }
        _ => row.set(field.column, Value::Int(value)),
    }
    Some(at)
}

/// A decimal as `%d` prints it, at `pos`: a `+` first when `plus` may be there (logasap,
/// redispatch), a `-` when `minus` may, then 1 to 18 digits without a leading zero.
/// Returns the value, whether it had the `+`, and where the digits end. Longer or
/// zero-led numbers are left to [`parse_int`], which refuses them.
#[inline(always)]
pub(super) fn scan_decimal(line: &[u8], pos: usize, plus: bool, minus: bool) -> Option<(i64, bool, usize)> {
    let len = line.len();
    let mut at = pos;
    let plus = plus && line.get(at) == Some(&b'+');
    at += usize::from(plus);
    let minus = minus && line.get(at) == Some(&b'-');
    at += usize::from(minus);
    let digits_start = at;
    let mut value: i64 = 0;
    // Most numbers are short: eight bytes at once find where the digits stop and add
    // them up without a branch per digit.
    let word = line.get(at..at + 8).map(|bytes| u64::from_le_bytes(bytes.try_into().expect("eight bytes")));
    match word.map(|word| (word, leading_digits(word))) {
        Some((word, digits @ 1..8)) => {
            value = digits_value(word, digits) as i64;
            at += digits;
        }
        _ => {
            // 18 digits cannot overflow; a 19th is left for `store` to refuse.
            while at < len && at - digits_start < 18 && line[at].is_ascii_digit() {
                value = value * 10 + i64::from(line[at] - b'0');
                at += 1;
            }
        }
    }
    let digits = at - digits_start;
    if digits == 0 || (digits > 1 && line[digits_start] == b'0') {
        return None;
    }
    Some((if minus { -value } else { value }, plus, at))
}

/// How many of the eight bytes (first byte lowest) are ASCII digits before any other.
#[inline(always)]
fn leading_digits(word: u64) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    // A byte's top bit ends up set when it is below '0' (the subtraction wraps), above '9'
    // (the addition reaches 0x80) or not ASCII. Carries and borrows only move towards
    // later bytes, so they never flag a byte before the first non-digit.
    let flags = (word.wrapping_sub(0x30 * ONES) | word.wrapping_add(0x46 * ONES) | word) & (0x80 * ONES);
    (flags.trailing_zeros() / 8) as usize
}

/// The value of the first `digits` (1 to 7) bytes of `word`, all ASCII digits.
#[inline(always)]
fn digits_value(word: u64, digits: usize) -> u64 {
    // Shifted so that the digits are the last bytes and zeros lead; then pairs, fours
    // and eights of digits are combined by multiplication.
    let value = (word.wrapping_sub(0x3030_3030_3030_3030)) << (8 * (8 - digits));
    let value = ((value & 0x0F0F_0F0F_0F0F_0F0F).wrapping_mul(2561)) >> 8;
    let value = ((value & 0x00FF_00FF_00FF_00FF).wrapping_mul(6_553_601)) >> 16;
    ((value & 0x0000_FFFF_0000_FFFF).wrapping_mul(42_949_672_960_001)) >> 32
}

/// `memchr` pays a setup cost that outweighs the search on the short tokens most fields
/// are: look at the first bytes one by one before handing over.
pub(super) fn find_byte(haystack: &[u8], byte: u8) -> Option<usize> {
    let head = haystack.len().min(16);
    match haystack[..head].iter().position(|&b| b == byte) {
        Some(p) => Some(p),
        None => memchr::memchr(byte, &haystack[head..]).map(|p| p + head),
    }
}

pub(super) fn find_either(haystack: &[u8], a: u8, b: u8) -> Option<usize> {
    let head = haystack.len().min(16);
    match haystack[..head].iter().position(|&x| x == a || x == b) {
        Some(p) => Some(p),
        None => memchr::memchr2(a, b, &haystack[head..]).map(|p| p + head),
    }
}

/// `%tr`, `%t`, `%T`: `0` a digit, `a` a letter, `+` a sign, anything else itself.
const LOCAL_DATE_SHAPE: &[u8] = b"00/aaa/0000:00:00:00.000";
const OFFSET_DATE_SHAPE: &[u8] = b"00/aaa/0000:00:00:00 +0000";

/// Whether `text` (at most as long as `shape`) has the shape's characters.
fn fits_shape(text: &[u8], shape: &[u8]) -> bool {
    text.len() <= shape.len()
        && text.iter().zip(shape).all(|(&b, &s)| match s {
            b'0' => b.is_ascii_digit(),
            b'a' => b.is_ascii_alphabetic(),
            b'+' => b == b'+' || b == b'-',
            _ => b == s,
        })
}

/// Whether `text`, cut by the end of the line, could be the start of a value of this
/// kind. A cut line is only believed when what it kept looks like its format: otherwise
/// any long line without spaces would be "an address cut short".
pub(super) fn plausible_prefix(parse: FieldParse, hex: bool, text: &[u8]) -> bool {
    use FieldParse::*;
    if text.iter().any(|&b| b < 0x20 || b == 0x7f) {
        return false;
    }
    let number = |text: &[u8]| {
        text.iter()
            .enumerate()
            .all(|(i, &b)| b.is_ascii_digit() || (hex && b.is_ascii_hexdigit()) || (i == 0 && matches!(b, b'-' | b'+')))
    };
    match parse {
        Address => {
            text.iter().all(|&b| b.is_ascii_hexdigit() || matches!(b, b'.' | b':' | b'[' | b']'))
                || b"unix".starts_with(text)
                || text == b"-"
        }
        Port | Counter | Integer | Millis | Timer | Bytes | Retries | Epoch | Flag => number(text),
        _ => true,
    }
}

/// What a request line is split into (see `read_request`), and the line itself.
pub const REQUEST_PARTS: [Col; 7] =
    [Col::RequestLine, Col::Method, Col::UriOrigin, Col::Path, Col::Query, Col::HttpVersion, Col::RequestTruncated];

/// Columns that fields fill besides their own: flags of timers, retries and the
/// frontend, and the request's parts.
const DERIVED_COLUMNS: [Col; 10] = {
    let flags = [Col::Logasap, Col::Redispatched, Col::FrontendTls];
    let mut all = [Col::Logasap; 10];
    let mut i = 0;
    while i < all.len() {
        all[i] = if i < flags.len() { flags[i] } else { REQUEST_PARTS[i - flags.len()] };
        i += 1;
    }
    all
};

/// Stores the field text `line[start..end]`. A field `cut` by the end of the line is
/// only kept when a prefix of it still means something (the request line, a URI): half
/// a name or half a number would be wrong, not partial.
#[inline(always)]
fn store(
    field: &FieldStep,
    line: &[u8],
    start: usize,
    end: usize,
    cut: bool,
    row: &mut Row,
    needs: Needs,
) -> Result<(), &'static str> {
    use FieldParse::*;
    let text = &line[start..end];
    if cut && !matches!(field.parse, Request | EncodedText | Target) {
        return if plausible_prefix(field.parse, field.hex, text) {
            Ok(())
        } else {
            Err("the line ends inside a value that does not look like one")
        };
    }
    // HTTP aliases print <BADREQ> when there was no valid request: nothing to store.
    // Seen live: under `+Q`, a stream without a server connection prints `%bi:%bp` as
    // `"":""`; the port is quoted too, though a port alone is not.
    let dash = text == b"-"
        || (field.quoted && text.is_empty())
        || (text == b"\"\"" && field.parse == Port)
        || (text == b"<BADREQ>" && matches!(field.parse, EncodedText | Target | PathWithAuthority | Query));
    match field.parse {
        Text | EncodedText | Target | PathWithAuthority | Query if dash => {}
        Text => row.set(field.column, Value::text(start, end)),
        EncodedText => row.set(field.column, Value::encoded(start, end)),
        Target => {
            split_target(line, start, end, row, &mut true);
        }
        PathWithAuthority => {
            split_target(line, start, end, row, &mut true);
        }
        Query => {
            let skip = usize::from(text.first() == Some(&b'?'));
            row.set(field.column, Value::encoded(start + skip, end));
        }
        Address => {
            if !dash {
                if !plausible_prefix(Address, false, text) {
                    return Err("expected an address");
                }
                row.set(field.column, address_value(text, start, end, field.hex));
            }
        }
        Port | Counter | Integer | Millis => {
            if !dash {
                let value = if field.hex && field.parse != Integer {
                    parse_hex(text)
                } else if field.parse == Millis {
                    date::digits(text).filter(|_| text.len() <= 3).map(i64::from)
                } else {
                    parse_int(text)
                };
                row.set(field.column, Value::Int(value.ok_or("expected a number")?));
            }
        }
        Timer | Bytes => {
            let (plus, digits) = match text.first() {
                Some(b'+') => (true, &text[1..]),
                _ => (false, text),
            };
            let value = parse_int(digits).ok_or("expected a number")?;
            if plus || row.get(Col::Logasap.index()).is_null() {
                row.set(Col::Logasap.index(), Value::Bool(plus));
            }
            if value >= 0 || field.parse == Bytes {
                row.set(field.column, Value::Int(value));
            }
        }
        Retries => {
            let (plus, digits) = match text.first() {
                Some(b'+') => (true, &text[1..]),
                _ => (false, text),
            };
            row.set(field.column, Value::Int(parse_int(digits).ok_or("expected a number")?));
            row.set(Col::Redispatched.index(), Value::Bool(plus));
        }
        Epoch => {
            if !dash {
                let seconds = if field.hex { parse_hex(text) } else { parse_int(text) };
                let millis = seconds.and_then(|s| s.checked_mul(1000)).ok_or("expected Unix seconds")?;
                row.set(field.column, Value::Time(millis));
            }
        }
        FrontendTransport => {
            if !dash {
                let tls = text.last() == Some(&b'~');
                row.set(field.column, Value::text(start, end - usize::from(tls)));
                row.set(Col::FrontendTls.index(), Value::Bool(tls));
            }
        }
        Request if needs.request_parts => read_request(line, start, end, cut, row),
        Request => {}
        Flag => match text {
            b"0" => row.set(field.column, Value::Bool(false)),
            b"1" => row.set(field.column, Value::Bool(true)),
            b"-" => {}
            _ => return Err("expected 0 or 1"),
        },
        LocalDate | OffsetDate | TermState(_) | CaptureBlock | CaptureSlots => {
            unreachable!("read by read_field")
        }
    }
    Ok(())
}

/// The extent of an unquoted field: `(start, end, next, cut)`.
fn token_extent(field: &FieldStep, line: &[u8], pos: usize) -> Result<(usize, usize, usize, bool), &'static str> {
    let len = line.len();
    let rest = &line[pos..];
    if field.parse == FieldParse::Request && field.end != FieldEnd::EndOfLine {
        return Ok(unquoted_request_extent(line, pos));
    }
    Ok(match field.end {
        FieldEnd::EndOfLine => (pos, len, len, false),
        FieldEnd::Space => match find_byte(rest, b' ') {
            Some(p) => (pos, pos + p, pos + p, false),
            None => (pos, len, len, true),
        },
        // IPv6 addresses hold colons: the port follows the last one before the space.
        FieldEnd::Byte(b':') if field.parse == FieldParse::Address => {
            let token_end = find_byte(rest, b' ').map_or(len, |p| pos + p);
            match memchr::memrchr(b':', &line[pos..token_end]) {
                Some(p) => (pos, pos + p, pos + p, false),
                None if token_end == len => (pos, len, len, true),
                None => return Err("expected ':' after the address"),
            }
        }
        FieldEnd::Byte(byte) => match find_either(rest, byte, b' ') {
            Some(p) if rest[p] == byte => (pos, pos + p, pos + p, false),
            Some(_) => return Err("field ended before the expected separator"),
            None => (pos, len, len, true),
        },
    })
}

/// `%r` without quotes: `METHOD URI VERSION`, where the version may be missing.
fn unquoted_request_extent(line: &[u8], pos: usize) -> (usize, usize, usize, bool) {
    let len = line.len();
    let Some(first) = memchr::memchr(b' ', &line[pos..]).map(|p| pos + p) else {
        return (pos, len, len, true);
    };
    let second = memchr::memchr(b' ', &line[first + 1..]).map_or(len, |p| first + 1 + p);
    if line[second.min(len)..].starts_with(b" HTTP/") {
        let third = memchr::memchr(b' ', &line[second + 1..]).map_or(len, |p| second + 1 + p);
        return (pos, third, third, false);
    }
    (pos, second, second, second == len)
}

/// A raw quoted value may contain `"`: it ends at the first `"` followed by what the
/// format prints next.
fn closing_quote(line: &[u8], from: usize, end: FieldEnd) -> Option<usize> {
    let mut at = from;
    while let Some(p) = memchr::memchr(b'"', &line[at..]) {
        let close = at + p;
        let follows = line.get(close + 1).copied();
        let fits = match end {
            FieldEnd::EndOfLine => follows.is_none(),
            FieldEnd::Space => follows.is_none() || follows == Some(b' '),
            FieldEnd::Byte(byte) => follows.is_none() || follows == Some(byte),
        };
        if fits {
            return Some(close);
        }
        at = close + 1;
    }
    None
}

fn read_capture_slots(
    field: &FieldStep,
    line: &[u8],
    pos: usize,
    row: &mut Row,
) -> Result<(usize, bool), &'static str> {
    let len = line.len();
    let mut at = pos;
    let mut count = 0;
    let style = if line[pos] == b'"' { CaptureStyle::QuotedSlots } else { CaptureStyle::BareSlots };
    let mut cut = false;
    loop {
        if let Some(wanted) = field.slots
            && count == wanted
        {
            break;
        }
        if at >= len {
            cut = count > 0 && field.slots.is_some_and(|wanted| count < wanted);
            break;
        }
        if count > 0 {
            if line[at] != b' ' {
                break;
            }
            if style == CaptureStyle::QuotedSlots && line.get(at + 1) != Some(&b'"') {
                break;
            }
            if style == CaptureStyle::BareSlots && field.slots.is_none() {
                break;
            }
            at += 1;
        }
        let slot_end = match style {
            CaptureStyle::QuotedSlots => {
                if line[at] != b'"' {
                    return Err("expected a quoted capture slot");
                }
                match memchr::memchr(b'"', &line[at + 1..]) {
                    Some(p) => at + 1 + p + 1,
                    None => {
                        cut = true;
                        len
                    }
                }
            }
            _ => memchr::memchr(b' ', &line[at..]).map_or(len, |p| at + p),
        };
        at = slot_end;
        count += 1;
        if cut {
            break;
        }
    }
    if count > 0 && !cut {
        row.set(field.column, Value::Captures { start: pos as u32, end: at as u32, style });
    }
    Ok((at, cut))
}

/// Splits a request line into method, target (origin, path, query) and version. The
/// values go to their columns unless an explicit alias (`%HM`...) already filled them.
/// The line itself is stored only when those columns would not rebuild it exactly as
/// `method SP origin path ?query SP version`: most rows then carry the request once.
pub(super) fn read_request(line: &[u8], start: usize, end: usize, cut: bool, row: &mut Row) {
    let text = &line[start..end];
    // `#XX` decoding falls back to the raw text when the result is not UTF-8, which
    // could differ between the whole line and its parts: such lines keep their text.
    let mut exact = !text.is_empty() && text != b"<BADREQ>" && memchr::memchr(b'#', text).is_none();
    read_request_parts(line, start, end, cut, row, &mut exact);
    if !exact {
        row.set(Col::RequestLine.index(), Value::encoded(start, end));
    }
}

fn read_request_parts(line: &[u8], start: usize, end: usize, cut: bool, row: &mut Row, exact: &mut bool) {
    let text = &line[start..end];
    if text == b"<BADREQ>" || text.is_empty() {
        return;
    }
    let Some(method_end) = memchr::memchr(b' ', text) else {
        fill(row, line, Col::Method, Value::encoded(start, end), exact);
        fill(row, line, Col::RequestTruncated, Value::Bool(true), exact);
        *exact = false;
        return;
    };
    fill(row, line, Col::Method, Value::encoded(start, start + method_end), exact);
    let target_start = start + method_end + 1;
    let mut target_end = end;
    let mut truncated = true;
    if let Some(last_space) = memchr::memrchr(b' ', &line[target_start..end]).map(|p| target_start + p)
        && line[last_space + 1..end].starts_with(b"HTTP/")
        && !cut
    {
        fill(row, line, Col::HttpVersion, Value::encoded(last_space + 1, end), exact);
        target_end = last_space;
        truncated = false;
    }
    fill(row, line, Col::RequestTruncated, Value::Bool(truncated), exact);
    if target_end <= target_start {
        *exact = false;
        return;
    }
    split_target(line, target_start, target_end, row, exact);
}

/// Splits a request target into `uri_origin` (absolute form only), `path` and `query`.
fn split_target(line: &[u8], start: usize, end: usize, row: &mut Row, exact: &mut bool) {
    let query_at = memchr::memchr(b'?', &line[start..end]).map(|q| start + q);
    let path_end = query_at.unwrap_or(end);
    let path_start = start + path_offset(&line[start..path_end]);
    if path_start > start {
        fill(row, line, Col::UriOrigin, Value::encoded(start, path_start), exact);
    }
    if path_start < path_end {
        fill(row, line, Col::Path, Value::encoded(path_start, path_end), exact);
    }
    if let Some(q) = query_at {
        fill(row, line, Col::Query, Value::encoded(q + 1, end), exact);
    }
}

/// Fills a column unless an explicit alias did already; `exact` turns false when that
/// alias holds something else.
fn fill(row: &mut Row, line: &[u8], col: Col, value: Value, exact: &mut bool) {
    let current = row.get(col.index());
    if current.is_null() {
        row.set(col.index(), value);
        return;
    }
    let same = match (current.bytes(line), value.bytes(line)) {
        (Some(held), Some(new)) => held == new,
        _ => current == value,
    };
    *exact &= same;
}

/// Where the path starts in a URI that may be absolute (`https://host:port/path`).
fn path_offset(uri: &[u8]) -> usize {
    if uri.first() == Some(&b'/') {
        return 0;
    }
    match memchr::memmem::find(uri, b"://") {
        Some(scheme_end) => {
            let authority = scheme_end + 3;
            memchr::memchr(b'/', &uri[authority..]).map_or(uri.len(), |p| authority + p)
        }
        None => 0,
    }
}

fn address_value(text: &[u8], start: usize, end: usize, hex: bool) -> Value {
    if hex {
        if text.len() == 8
            && let Some(v) = parse_hex(text)
        {
            return Value::Ipv4(v as u32);
        }
        if text.len() == 32 && text.iter().all(u8::is_ascii_hexdigit) {
            return Value::Ipv6Hex { start: start as u32, end: end as u32 };
        }
    }
    Value::text(start, end)
}

/// A decimal integer as `%d` prints it: optional `-`, no leading zeros.
pub fn parse_int(text: &[u8]) -> Option<i64> {
    let (negative, digits) = match text.first()? {
        b'-' => (true, &text[1..]),
        _ => (false, text),
    };
    if digits.is_empty() || digits.len() > 18 || (digits.len() > 1 && digits[0] == b'0') {
        return None;
    }
    let mut value: i64 = 0;
    for &b in digits {
        if !b.is_ascii_digit() {
            return None;
        }
        value = value * 10 + i64::from(b - b'0');
    }
    Some(if negative { -value } else { value })
}

fn parse_hex(text: &[u8]) -> Option<i64> {
    if text.is_empty() || text.len() > 15 {
        return None;
    }
    let s = std::str::from_utf8(text).ok()?;
    i64::from_str_radix(s, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::{builtin, lex};

    fn plan(format: &str) -> (Plan, ColumnSet) {
        let mut columns = ColumnSet::default();
        let plan = Plan::compile("test", format, &lex(format).unwrap(), &CaptureNames::default(), &mut columns);
        (plan, columns)
    }

    fn text(line: &str, row: &Row, col: Col) -> Option<String> {
        row.get(col.index()).bytes(line.as_bytes()).map(|b| String::from_utf8_lossy(b).into_owned())
    }

    /// Every number of up to 18 digits, with what follows it, reads as the digit loop
    /// reads it, wherever the line ends.
    #[test]
    fn numbers_read_eight_bytes_at_a_time_as_one_at_a_time() {
        let scalar = |text: &[u8]| {
            let digits = text.iter().take_while(|b| b.is_ascii_digit()).count().min(18);
            let value = text[..digits].iter().fold(0i64, |v, b| v * 10 + i64::from(b - b'0'));
            (digits > 0 && !(digits > 1 && text[0] == b'0')).then_some((value, false, digits))
        };
        let mut texts: Vec<Vec<u8>> = Vec::new();
        for digits in 0..=20 {
            for tail in [&b""[..], b" ", b"/", b"/1/2/3/4/5", b"\xff", b"0", b"9:", b".5"] {
                for first in [b'0', b'1', b'7', b'9'] {
                    let mut text = vec![first];
                    text.extend((1..digits).map(|i| b'0' + (i * 7 % 10) as u8));
                    text.truncate(digits);
                    text.extend_from_slice(tail);
                    texts.push(text);
                }
            }
        }
        for text in &texts {
            assert_eq!(scan_decimal(text, 0, false, false), scalar(text), "{}", String::from_utf8_lossy(text));
        }
        for byte in 0..=255u8 {
            let text = [b'4', b'2', byte, b' ', b' ', b' ', b' ', b' ', b' '];
            let expected = if byte.is_ascii_digit() { 420 + i64::from(byte - b'0') } else { 42 };
            assert_eq!(scan_decimal(&text, 0, false, false).unwrap().0, expected);
        }
        assert_eq!(scan_decimal(b"+-1234567/", 0, true, true), Some((-1234567, true, 9)));
    }

    #[test]
    fn reads_an_httplog_line() {
        let (plan, columns) = plan(builtin::HTTPLOG);
        let line = r#"::1:33976 [23/Nov/2026:20:24:29.958] fe_http~ be/s1 0/0/1/-1/1 200 +202 - SID=abc ---- 1/1/0/0/+1 0/3 {[::1]:8080|curl/7.88.1} {} "GET https://h:1/v6?a=1 HTTP/2.0""#;
        let mut row = Row::new(columns.specs.len());
        assert_eq!(
            plan.read(line.as_bytes(), 0, &mut row, &mut LocalZone::utc(), Needs::ALL, &mut Trail::default()),
            Ok(Fit::Complete)
        );
        assert_eq!(text(line, &row, Col::ClientIp).as_deref(), Some("::1"));
        assert_eq!(row.get(Col::ClientPort.index()), Value::Int(33976));
        assert_eq!(text(line, &row, Col::Frontend).as_deref(), Some("fe_http"));
        assert_eq!(row.get(Col::FrontendTls.index()), Value::Bool(true));
        assert_eq!(row.get(Col::ResponseMs.index()), Value::Null);
        assert_eq!(row.get(Col::ActiveMs.index()), Value::Int(1));
        assert_eq!(row.get(Col::Logasap.index()), Value::Bool(true));
        assert_eq!(row.get(Col::Redispatched.index()), Value::Bool(true));
        assert_eq!(row.get(Col::BackendQueue.index()), Value::Int(3));
        assert_eq!(text(line, &row, Col::RequestCookie), None);
        assert_eq!(text(line, &row, Col::ResponseCookie).as_deref(), Some("SID=abc"));
        assert_eq!(text(line, &row, Col::UriOrigin).as_deref(), Some("https://h:1"));
        assert_eq!(text(line, &row, Col::Path).as_deref(), Some("/v6"));
        assert_eq!(text(line, &row, Col::Query).as_deref(), Some("a=1"));
        assert_eq!(text(line, &row, Col::HttpVersion).as_deref(), Some("HTTP/2.0"));
        assert_eq!(row.get(Col::RequestTruncated.index()), Value::Bool(false));
        assert_eq!(row.get(Col::RequestLine.index()), Value::Null, "the parts rebuild it");
    }

    fn request_columns(format: &str, line: &str) -> Vec<Option<String>> {
        let (plan, columns) = plan(format);
        let mut row = Row::new(columns.specs.len());
        assert_eq!(
            plan.read(line.as_bytes(), 0, &mut row, &mut LocalZone::utc(), Needs::ALL, &mut Trail::default()),
            Ok(Fit::Complete),
            "{line}"
        );
        [Col::RequestLine, Col::Method, Col::UriOrigin, Col::Path, Col::Query, Col::HttpVersion]
            .iter()
            .map(|&col| text(line, &row, col))
            .collect()
    }

    #[test]
    fn the_request_line_is_kept_only_when_its_parts_do_not_rebuild_it() {
        let some = |s: &str| Some(s.to_string());
        assert_eq!(
            request_columns("%r", "GET /a?b=1 HTTP/1.1"),
            [None, some("GET"), None, some("/a"), some("b=1"), some("HTTP/1.1")]
        );
        assert_eq!(
            request_columns("%r", "GET ?x HTTP/1.1"),
            [None, some("GET"), None, None, some("x"), some("HTTP/1.1")]
        );
        assert_eq!(request_columns("%r", "GET http://h HTTP/1.1")[2..4], [some("http://h"), None]);
        assert_eq!(request_columns("%r", "GET /cut")[..4], [None, some("GET"), None, some("/cut")]);
        for kept in ["<BADREQ>", "GET", "GET ", "GET /#41 HTTP/1.1"] {
            assert_eq!(request_columns("%r", kept)[0].as_deref(), Some(kept), "{kept}");
        }
        // Explicit aliases first: the line is redundant only if they agree with it.
        assert_eq!(request_columns("%HM %{+Q}r", r#"GET "GET /a HTTP/1.1""#)[0], None);
        assert_eq!(
            request_columns("%HM %{+Q}r", r#"PUT "GET /a HTTP/1.1""#)[..2],
            [some("GET /a HTTP/1.1"), some("PUT")]
        );
    }

    #[test]
    fn an_explicit_target_is_split_like_the_request_line() {
        let some = |s: &str| Some(s.to_string());
        assert_eq!(
            request_columns("%HM %HU %HV", "POST https://h/p?q HTTP/2.0"),
            [None, some("POST"), some("https://h"), some("/p"), some("q"), some("HTTP/2.0")]
        );
        assert_eq!(request_columns("%HP", "https://h/p")[2..4], [some("https://h"), some("/p")]);
    }

    #[test]
    fn capture_blocks_are_optional_and_take_their_space_with_them() {
        let (plan, columns) = plan(builtin::HTTPLOG);
        let line = r#"127.0.0.1:35252 [23/Nov/2026:20:24:30.050] fe_http fe_http/<NOSRV> -1/-1/-1/-1/0 400 0 - - PR-- 1/1/0/0/0 0/0 "<BADREQ>""#;
        let mut row = Row::new(columns.specs.len());
        assert_eq!(
            plan.read(line.as_bytes(), 0, &mut row, &mut LocalZone::utc(), Needs::ALL, &mut Trail::default()),
            Ok(Fit::Complete)
        );
        assert_eq!(row.get(Col::RequestHeaders.index()), Value::Null);
        assert_eq!(text(line, &row, Col::RequestLine).as_deref(), Some("<BADREQ>"));
        assert_eq!(row.get(Col::Method.index()), Value::Null);
    }

    #[test]
    fn a_line_cut_inside_the_request_is_truncated_and_keeps_what_it_has() {
        let (plan, columns) = plan(builtin::HTTPLOG);
        let line = r#"127.0.0.1:1 [23/Nov/2026:20:24:30.050] fe be/s 0/0/0/1/1 200 9 - - ---- 1/1/0/0/0 0/0 "GET /ok?pad=aaaa"#;
        let mut row = Row::new(columns.specs.len());
        assert_eq!(
            plan.read(line.as_bytes(), 0, &mut row, &mut LocalZone::utc(), Needs::ALL, &mut Trail::default()),
            Ok(Fit::Truncated)
        );
        assert_eq!(text(line, &row, Col::Path).as_deref(), Some("/ok"));
        assert_eq!(text(line, &row, Col::Query).as_deref(), Some("pad=aaaa"));
        assert_eq!(row.get(Col::RequestTruncated.index()), Value::Bool(true));
    }

    #[test]
    fn a_number_cut_in_half_is_dropped() {
        let (plan, columns) = plan(builtin::TCPLOG);
        let line = "127.0.0.1:1 [23/Nov/2026:20:24:30.050] fe be/s 1/0/12";
        let mut row = Row::new(columns.specs.len());
        assert_eq!(
            plan.read(line.as_bytes(), 0, &mut row, &mut LocalZone::utc(), Needs::ALL, &mut Trail::default()),
            Ok(Fit::Truncated)
        );
        assert_eq!(row.get(Col::ConnectMs.index()), Value::Int(0));
        assert_eq!(row.get(Col::TotalMs.index()), Value::Null);
    }

    #[test]
    fn tcplog_does_not_read_an_http_line() {
        let (plan, columns) = plan(builtin::TCPLOG);
        let line =
            "127.0.0.1:1 [23/Nov/2026:20:24:30.050] fe be/s 0/0/0/1/1 200 9 - - ---- 1/1/0/0/0 0/0 \"GET / HTTP/1.1\"";
        let mut row = Row::new(columns.specs.len());
        let mismatch = plan
            .read(line.as_bytes(), 0, &mut row, &mut LocalZone::utc(), Needs::ALL, &mut Trail::default())
            .unwrap_err();
        assert_eq!((mismatch.reason, mismatch.label), ("expected a number", "Tt"));
    }

    #[test]
    fn clf_lines_with_quoted_fields_and_slots() {
        let mut columns = ColumnSet::default();
        let captures =
            CaptureNames { request: vec!["Host".into(), "User-Agent".into()], response: vec!["Content-Type".into()] };
        let format = builtin::HTTPLOG_CLF;
        let plan = Plan::compile("clf", format, &lex(format).unwrap(), &captures, &mut columns);
        let line = r#"127.0.0.1 - - [23/Nov/2026:20:36:29 +0000] "GET /ok HTTP/1.1" 200 96 "" "" 47980 082 "fe_clf" "be_app" "app1" 0 0 0 3 3 ---- 2 2 1 1 +0 0 0 "" "SID=a" "127.0.0.1:18082" "corpus client" "text/plain""#;
        let mut row = Row::new(columns.specs.len());
        assert_eq!(
            plan.read(line.as_bytes(), 0, &mut row, &mut LocalZone::utc(), Needs::ALL, &mut Trail::default()),
            Ok(Fit::Complete)
        );
        assert_eq!(text(line, &row, Col::Frontend).as_deref(), Some("fe_clf"));
        assert_eq!(row.get(Col::AcceptMillis.index()), Value::Int(82));
        assert_eq!(row.get(Col::Redispatched.index()), Value::Bool(true));
        assert_eq!(text(line, &row, Col::RequestCookie), None);
        assert_eq!(text(line, &row, Col::ResponseCookie).as_deref(), Some("SID=a"));
        let Value::Captures { start, end, .. } = row.get(Col::RequestHeaders.index()) else {
            panic!("no request captures");
        };
        assert_eq!(&line[start as usize..end as usize], r#""127.0.0.1:18082" "corpus client""#);
        assert_eq!(plan.captures.request.len(), 2);
        assert_eq!(columns.specs[plan.captures.response[0]].name, "response_header_content_type");
    }

    #[test]
    fn raw_quoted_samples_end_at_the_quote_the_format_expects() {
        let (plan, columns) = plan(r#"%{+Q}[var(txn.ua)] %ST"#);
        let line = r#""say "hi" now" 200"#;
        let mut row = Row::new(columns.specs.len());
        assert_eq!(
            plan.read(line.as_bytes(), 0, &mut row, &mut LocalZone::utc(), Needs::ALL, &mut Trail::default()),
            Ok(Fit::Complete)
        );
        let extra = columns.specs.iter().position(|s| s.name == "var_txn_ua").unwrap();
        assert_eq!(row.get(extra).bytes(line.as_bytes()), Some(&b"say \"hi\" now"[..]));
        assert_eq!(row.get(Col::Status.index()), Value::Int(200));
    }

    /// The right end fails further on, and a later quote would take the rest of the line
    /// for a cut value: the line does not fit, it is not a truncated row.
    #[test]
    fn a_later_quote_does_not_turn_a_misfit_into_a_cut_line() {
        let (plan, columns) = plan(r#"%{+Q}[var(txn.ua)] %ST %b"#);
        let line = r#""say" x200 be ""#;
        let mut row = Row::new(columns.specs.len());
        assert_eq!(
            plan.read(line.as_bytes(), 0, &mut row, &mut LocalZone::utc(), Needs::ALL, &mut Trail::default())
                .map_err(|mismatch| mismatch.reason),
            Err("expected a number")
        );
    }

    #[test]
    fn hex_addresses_and_epochs() {
        let (plan, columns) = plan("%{+X}o %ci:%cp %Ts");
        let line = "7F000001:CA38 6B04A3D8";
        let mut row = Row::new(columns.specs.len());
        assert_eq!(
            plan.read(line.as_bytes(), 0, &mut row, &mut LocalZone::utc(), Needs::ALL, &mut Trail::default()),
            Ok(Fit::Complete)
        );
        assert_eq!(row.get(Col::ClientIp.index()), Value::Ipv4(0x7F00_0001));
        assert_eq!(row.get(Col::ClientPort.index()), Value::Int(0xCA38));
        assert_eq!(row.get(Col::AcceptTime.index()), Value::Time(0x6B04_A3D8 * 1000));
    }

    #[test]
    fn quoted_addresses_without_a_connection() {
        let (plan, columns) = plan("%{+Q}o %ft|%bi:%bp|%si:%sp|%ST");
        let line = "\"fe\"|\"\":\"\"|\"127.0.0.1\":8080|403";
        let mut row = Row::new(columns.specs.len());
        assert_eq!(
            plan.read(line.as_bytes(), 0, &mut row, &mut LocalZone::utc(), Needs::ALL, &mut Trail::default()),
            Ok(Fit::Complete)
        );
        assert_eq!(row.get(Col::BackendSourcePort.index()), Value::Null);
        assert_eq!(row.get(Col::ServerPort.index()), Value::Int(8080));
        assert_eq!(row.get(Col::Status.index()), Value::Int(403));
    }

    #[test]
    fn hex_counters_as_the_documented_unique_id_prints_them() {
        // Seen live: `%{+X}rt` gives 004A. The status is never hexadecimal.
        let (plan, columns) = plan("%{+X}o %rt:%lc:%pid %ST");
        let line = "004A:0000:41C3 200";
        let mut row = Row::new(columns.specs.len());
        assert_eq!(
            plan.read(line.as_bytes(), 0, &mut row, &mut LocalZone::utc(), Needs::ALL, &mut Trail::default()),
            Ok(Fit::Complete)
        );
        assert_eq!(row.get(Col::RequestCounter.index()), Value::Int(0x4A));
        assert_eq!(row.get(Col::FrontendLogCounter.index()), Value::Int(0));
        assert_eq!(row.get(Col::Pid.index()), Value::Int(0x41C3));
        assert_eq!(row.get(Col::Status.index()), Value::Int(200));
    }

    #[test]
    fn empty_query_on_3x_vanishes_with_its_space() {
        let (plan, columns) = plan("%HP %HQ %ST");
        let mut row = Row::new(columns.specs.len());
        assert_eq!(
            plan.read(b"/a 200", 0, &mut row, &mut LocalZone::utc(), Needs::ALL, &mut Trail::default()),
            Ok(Fit::Complete)
        );
        assert_eq!(row.get(Col::Status.index()), Value::Int(200));
        row.clear();
        assert_eq!(
            plan.read(b"/a ?x=1 200", 0, &mut row, &mut LocalZone::utc(), Needs::ALL, &mut Trail::default()),
            Ok(Fit::Complete)
        );
        assert_eq!(row.get(Col::Query.index()).bytes(b"/a ?x=1 200"), Some(&b"x=1"[..]));
    }
}
