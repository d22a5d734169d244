//! A straight-line reader for the lines most logs are made of: `httplog`, `httpslog` and
//! `tcplog` in their usual shape, read in one pass with no step dispatch.
//!
//! BE ADVISED: the plan interpreter (`plan.rs`) stays the definition of what a line
//! means. This reader gives up (`None`) on anything unusual — a line cut short, a `-`
//! where a number usually is, an unquoted request, a doubtful httpslog tail — and the
//! interpreter then reads the line. Whenever this reader does accept a line, the
//! interpreter must read it as the same format into the same row: the fuzzer
//! (`fuzzing::parse_lines`) and the tests below check exactly that, so any rule added
//! to one must be added to the other.

use super::date::{self, LocalZone};
use super::plan::{FieldParse, Needs, find_byte, find_either, plausible_prefix, read_request, scan_decimal};
use super::value::{CaptureStyle, Row, Value};
use crate::format::builtin;
use crate::schema::Col;

/// Which standard format a line read as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Http,
    Https,
    Tcp,
}

impl Shape {
    /// The format's index in a catalogue this reader stands in for (see [`stands_in`]).
    pub fn plan_index(self) -> usize {
        match self {
            Shape::Http => 0,
            Shape::Https => 1,
            Shape::Tcp => 2,
        }
    }
}

/// Whether this reader may stand in for the catalogue's plans: only when its formats
/// begin with HAProxy's current `httplog`, `httpslog` and `tcplog`, in that order, and no
/// frontend is tied to a format. A line that fits one of them then reads as the first
/// that fits, and no format tried before them can claim it.
pub fn stands_in(formats: &[&str], frontends_tied: bool) -> bool {
    !frontends_tied && formats.get(..3) == Some(&[builtin::HTTPLOG, builtin::HTTPSLOG, builtin::TCPLOG][..])
}

/// Where the read stands: every method gives up with `None` where the interpreter
/// could read the line in another way, or not at all.
struct Cursor<'a> {
    line: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    #[inline(always)]
    fn peek(&self) -> Option<u8> {
        self.line.get(self.pos).copied()
    }

    #[inline(always)]
    fn expect(&mut self, byte: u8) -> Option<()> {
        (self.peek()? == byte).then(|| self.pos += 1)
    }

    /// A `%d` number ending at `end`, which is consumed.
    #[inline(always)]
    fn number(&mut self, plus: bool, end: u8) -> Option<(i64, bool)> {
        let (value, plus, at) = scan_decimal(self.line, self.pos, plus, true)?;
        (*self.line.get(at)? == end).then(|| {
            self.pos = at + 1;
            (value, plus)
        })
    }

    /// A number that may also be `-` (absent): the `%[...]` integer samples.
    #[inline(always)]
    fn optional_number(&mut self, end: u8) -> Option<Value> {
        if self.line.get(self.pos..self.pos + 2) == Some(&[b'-', end]) {
            self.pos += 2;
            return Some(Value::Null);
        }
        self.number(false, end).map(|(value, _)| Value::Int(value))
    }

    /// Text up to the next space, which is consumed.
    #[inline(always)]
    fn word(&mut self) -> Option<(usize, usize)> {
        let start = self.pos;
        let end = start + find_byte(&self.line[start..], b' ')?;
        self.pos = end + 1;
        Some((start, end))
    }

    /// Text up to `end` with no space before it; `end` is consumed.
    #[inline(always)]
    fn token(&mut self, end: u8) -> Option<(usize, usize)> {
        let start = self.pos;
        let at = start + find_either(&self.line[start..], end, b' ')?;
        (self.line[at] == end).then(|| {
            self.pos = at + 1;
            (start, at)
        })
    }

    /// A termination state of `width` printable characters, then a space.
    #[inline(always)]
    fn state(&mut self, width: usize) -> Option<Value> {
        let start = self.pos;
        let text = self.line.get(start..start + width + 1)?;
        (text[..width].iter().all(u8::is_ascii_graphic) && text[width] == b' ').then(|| {
            self.pos += width + 1;
            Value::text(start, start + width)
        })
    }

    /// `%hr`/`%hs`: a `{...}` block, or nothing at all (no captures, or an error line).
    /// Mirrors the interpreter's separator: the space after an absent item is optional.
    #[inline(always)]
    fn capture_block(&mut self) -> Option<Value> {
        let mut value = Value::Null;
        if self.peek()? == b'{' {
            let start = self.pos + 1;
            let end = start + memchr::memchr(b'}', &self.line[start..])?;
            value = Value::Captures { start: start as u32, end: end as u32, style: CaptureStyle::Braced };
            self.pos = end + 1;
            self.expect(b' ')?;
        } else if self.peek()? == b' ' {
            self.pos += 1;
        }
        Some(value)
    }
}

/// A raw text field: `-` means absent.
#[inline(always)]
fn text(line: &[u8], (start, end): (usize, usize)) -> Value {
    if &line[start..end] == b"-" { Value::Null } else { Value::text(start, end) }
}

/// Reads `line[start..]` into `row` (clear) when it is a standard line of the usual shape.
pub fn read(line: &[u8], start: usize, row: &mut Row, zone: &mut LocalZone, needs: Needs) -> Option<Shape> {
    let mut at = Cursor { line, pos: start };
    let set = |row: &mut Row, col: Col, value: Value| row.set(col.index(), value);

    // %ci:%cp — IPv6 addresses hold colons: the port follows the last one.
    let word_end = start + find_byte(&line[start..], b' ')?;
    let colon = start + memchr::memrchr(b':', &line[start..word_end])?;
    let address = &line[start..colon];
    if address != b"-" {
        if !plausible_prefix(FieldParse::Address, false, address) {
            return None;
        }
        set(row, Col::ClientIp, Value::text(start, colon));
    }
    at.pos = colon + 1;
    set(row, Col::ClientPort, Value::Int(at.number(false, b' ')?.0));

    // [%tr] or [%t]: which column it goes to depends on the format, known later.
    at.expect(b'[')?;
    let local = date::parse_local_millis(line.get(at.pos..at.pos + 24)?)?;
    let time = Value::Time(if needs.utc_times { zone.to_utc(local) } else { local });
    at.pos += 24;
    at.expect(b']')?;
    at.expect(b' ')?;

    // %ft %b/%s
    let frontend = at.word()?;
    if &line[frontend.0..frontend.1] != b"-" {
        let tls = line[frontend.0..frontend.1].last() == Some(&b'~');
        set(row, Col::Frontend, Value::text(frontend.0, frontend.1 - usize::from(tls)));
        set(row, Col::FrontendTls, Value::Bool(tls));
    }
    let backend = at.token(b'/')?;
    set(row, Col::Backend, text(line, backend));
    let server = at.word()?;
    set(row, Col::Server, text(line, server));

    // Five timers for HTTP, three for TCP. A timer of -1 was not reached: no value.
    let mut logasap = false;
    let mut timer = |row: &mut Row, col: Col, (value, plus): (i64, bool)| {
        logasap |= plus;
        if value >= 0 {
            row.set(col.index(), Value::Int(value));
        }
    };
    let first = at.number(true, b'/')?;
    let second = at.number(true, b'/')?;
    let (third_value, third_plus, third_end) = scan_decimal(line, at.pos, true, true)?;
    at.pos = third_end + 1;
    let shape = match *line.get(third_end)? {
        b'/' => {
            timer(row, Col::RequestMs, first);
            timer(row, Col::QueueMs, second);
            timer(row, Col::ConnectMs, (third_value, third_plus));
            let response = at.number(true, b'/')?;
            timer(row, Col::ResponseMs, response);
            let active = at.number(true, b' ')?;
            timer(row, Col::ActiveMs, active);
            set(row, Col::RequestTime, time);
            set(row, Col::Status, Value::Int(at.number(false, b' ')?.0));
            let (bytes, plus) = at.number(true, b' ')?;
            logasap |= plus;
            set(row, Col::BytesToClient, Value::Int(bytes));
            let request_cookie = at.word()?;
            set(row, Col::RequestCookie, text(line, request_cookie));
            let response_cookie = at.word()?;
            set(row, Col::ResponseCookie, text(line, response_cookie));
            set(row, Col::TerminationState, at.state(4)?);
            Shape::Http
        }
        b' ' => {
            timer(row, Col::QueueMs, first);
            timer(row, Col::ConnectMs, second);
            timer(row, Col::TotalMs, (third_value, third_plus));
            set(row, Col::AcceptTime, time);
            let (bytes, plus) = at.number(true, b' ')?;
            logasap |= plus;
            set(row, Col::BytesToClient, Value::Int(bytes));
            set(row, Col::TerminationState, at.state(2)?);
            Shape::Tcp
        }
        _ => return None,
    };
    set(row, Col::Logasap, Value::Bool(logasap));

    // %ac/%fc/%bc/%sc/%rc %sq/%bq
    for col in [Col::ActiveConns, Col::FrontendConns, Col::BackendConns, Col::ServerConns] {
        set(row, col, Value::Int(at.number(false, b'/')?.0));
    }
    let (retries, redispatched) = at.number(true, b' ')?;
    set(row, Col::Retries, Value::Int(retries));
    set(row, Col::Redispatched, Value::Bool(redispatched));
    set(row, Col::ServerQueue, Value::Int(at.number(false, b'/')?.0));
    if shape == Shape::Tcp {
        let (queue, _, end) = scan_decimal(line, at.pos, false, true)?;
        set(row, Col::BackendQueue, Value::Int(queue));
        return (end == line.len()).then_some(Shape::Tcp);
    }
    set(row, Col::BackendQueue, Value::Int(at.number(false, b' ')?.0));

    // %hr %hs %{+Q}r: the request is #XX-encoded, so its first `"` closes it.
    set(row, Col::RequestHeaders, at.capture_block()?);
    set(row, Col::ResponseHeaders, at.capture_block()?);
    at.expect(b'"')?;
    let request_start = at.pos;
    let request_end = request_start + memchr::memchr(b'"', &line[request_start..])?;
    if needs.request_parts {
        read_request(line, request_start, request_end, false, row);
    }
    at.pos = request_end + 1;
    if at.pos == line.len() {
        return Some(Shape::Http);
    }

    // httpslog: %[fc_err]/%[ssl_fc_err,hex]/%[ssl_c_err]/%[ssl_c_ca_err]/%[ssl_fc_is_resumed]
    // %[ssl_fc_sni]/%sslv/%sslc
    at.expect(b' ')?;
    set(row, Col::FrontendConnError, at.optional_number(b'/')?);
    let tls_error = at.token(b'/')?;
    set(row, Col::TlsError, text(line, tls_error));
    set(row, Col::ClientCertError, at.optional_number(b'/')?);
    set(row, Col::ClientCertCaError, at.optional_number(b'/')?);
    let resumed = at.word()?;
    match &line[resumed.0..resumed.1] {
        b"0" => set(row, Col::TlsResumed, Value::Bool(false)),
        b"1" => set(row, Col::TlsResumed, Value::Bool(true)),
        b"-" => {}
        _ => return None,
    }
    let sni = at.token(b'/')?;
    set(row, Col::TlsSni, text(line, sni));
    let version = at.token(b'/')?;
    set(row, Col::TlsVersion, text(line, version));
    if at.pos >= line.len() {
        return None;
    }
    set(row, Col::TlsCipher, text(line, (at.pos, line.len())));
    Some(Shape::Https)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::{Catalogue, LineParser, Outcome, syslog};

    /// 2026-11-23T00:00:00Z, near the corpus lines.
    const NOV_2026: i64 = 1_795_392_000_000;

    /// Reads every line with the straight-line reader and with the plans alone, checks
    /// they agree, and returns how many lines the straight-line reader took.
    fn agree(catalogue: &Catalogue, text: &[u8]) -> usize {
        agree_on_traffic(catalogue, text).0
    }

    /// [`agree`], and how many lines the plans read as one of the formats it stands in for.
    fn agree_on_traffic(catalogue: &Catalogue, text: &[u8]) -> (usize, usize) {
        let standard: Vec<Value> = catalogue.plans[..3].iter().map(|plan| Value::Static(plan.name)).collect();
        let mut fast = LineParser::new(catalogue, LocalZone::utc(), NOV_2026);
        let mut plans = LineParser::new(catalogue, LocalZone::utc(), NOV_2026);
        plans.interpret_only();
        let mut row = Row::new(catalogue.column_specs().len());
        let (mut taken, mut traffic) = (0, 0);
        for line in crate::input::lines(text) {
            let outcome = plans.parse(line);
            let format = plans.row().get(Col::LogFormat.index());
            traffic += usize::from(outcome == Outcome::Traffic && standard.contains(&format));
            assert_eq!(fast.parse(line), outcome, "{}", String::from_utf8_lossy(line));
            if outcome == Outcome::Traffic {
                assert_eq!(fast.row(), plans.row(), "{}", String::from_utf8_lossy(line));
            }
            row.clear();
            let start = syslog::parse_header(line).message;
            if let Some(shape) = read(line, start, &mut row, &mut LocalZone::utc(), Needs::ALL) {
                assert!(catalogue.fast);
                let plan = &catalogue.plans[shape.plan_index()];
                assert_eq!(plans.row().get(Col::LogFormat.index()), Value::Static(plan.name));
                taken += 1;
            }
        }
        (taken, traffic)
    }

    #[test]
    fn reads_the_corpus_as_the_plans_do() {
        let catalogue = Catalogue::standard();
        let directory = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
        let mut taken = std::collections::BTreeMap::new();
        for entry in std::fs::read_dir(directory).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "log") {
                let name = path.file_name().unwrap().to_string_lossy().into_owned();
                taken.insert(name, agree(&catalogue, &std::fs::read(&path).unwrap()));
            }
        }
        // The standard lines go the straight way; the rest are the plans' alone.
        assert!(taken["httplog.raw.log"] > 150, "{taken:?}");
        assert!(taken["httpslog.rsyslog.log"] > 150, "{taken:?}");
        assert!(taken["tcplog.rfc3164.log"] > 50, "{taken:?}");
        assert_eq!(taken["clf.raw.log"], 0, "{taken:?}");
    }

    #[test]
    fn reads_every_profile_as_the_plans_do_and_takes_nearly_all_its_traffic() {
        use clap::ValueEnum;
        let catalogue = Catalogue::standard();
        for &profile in crate::generate::Profile::value_variants() {
            let mut text = Vec::new();
            crate::generate::generate(&mut text, 2 << 20, 7, profile).unwrap();
            let (taken, traffic) = agree_on_traffic(&catalogue, &text);
            eprintln!("{profile:?}: the straight-line reader took {taken} of {traffic} standard lines");
            assert_eq!(taken, traffic, "{profile:?}: every standard line goes the straight way");
        }
    }

    /// Lines the straight-line reader leaves to the plans, and lines at the edges of what
    /// it takes: each reads the same either way.
    #[test]
    fn unusual_lines_read_as_the_plans_do() {
        let lines = [
            // logasap, redispatch, -1 timers, IPv6, absent captures
            r#"::1:33976 [23/Nov/2026:20:24:29.958] fe_http~ be/s1 0/0/1/-1/+1 200 +202 - SID=abc ---- 1/1/0/0/+1 0/3 "GET https://h:1/v6?a=1 HTTP/2.0""#,
            // a double space where the capture blocks are absent, one block only
            r#"1.2.3.4:5 [23/Nov/2026:20:24:29.958] fe be/s 0/0/1/1/1 200 2 - - ---- 1/1/0/0/0 0/0  "GET / HTTP/1.1""#,
            r#"1.2.3.4:5 [23/Nov/2026:20:24:29.958] fe be/s 0/0/1/1/1 200 2 - - ---- 1/1/0/0/0 0/0 {a|b} "GET / HTTP/1.1""#,
            r#"1.2.3.4:5 [23/Nov/2026:20:24:29.958] fe be/s 0/0/1/1/1 200 2 - - ---- 1/1/0/0/0 0/0 {a|b}"GET / HTTP/1.1""#,
            // a dash where numbers are, an unquoted request, a cut line
            r#"-:- [23/Nov/2026:20:24:29.958] - -/- 0/0/1/1/1 - 2 - - ---- 1/1/0/0/0 0/0 "GET / HTTP/1.1""#,
            r#"1.2.3.4:5 [23/Nov/2026:20:24:29.958] fe be/s 0/0/1/1/1 200 2 - - ---- 1/1/0/0/0 0/0 GET / HTTP/1.1"#,
            r#"1.2.3.4:5 [23/Nov/2026:20:24:29.958] fe be/s 0/0/1/1/1 200 2 - - ---- 1/1/0/0/0 0/0 {a|b} "GET /very/long"#,
            // httpslog tails: absent, odd, cut, with spaces in the cipher
            r#"1.2.3.4:5 [23/Nov/2026:20:24:29.958] fe~ be/s 0/0/1/1/1 200 2 - - ---- 1/1/0/0/0 0/0 "GET / HTTP/1.1" -/-/-/-/- -/-/-"#,
            r#"1.2.3.4:5 [23/Nov/2026:20:24:29.958] fe~ be/s 0/0/1/1/1 200 2 - - ---- 1/1/0/0/0 0/0 "GET / HTTP/1.1" -5/0A/0/-0/1 a/b/c d"#,
            r#"1.2.3.4:5 [23/Nov/2026:20:24:29.958] fe~ be/s 0/0/1/1/1 200 2 - - ---- 1/1/0/0/0 0/0 "GET / HTTP/1.1" 0/0/0/0/2 a/b/c"#,
            r#"1.2.3.4:5 [23/Nov/2026:20:24:29.958] fe~ be/s 0/0/1/1/1 200 2 - - ---- 1/1/0/0/0 0/0 "GET / HTTP/1.1" 0/0/0/0/0 a/b/"#,
            r#"1.2.3.4:5 [23/Nov/2026:20:24:29.958] fe~ be/s 0/0/1/1/1 200 2 - - ---- 1/1/0/0/0 0/0 "GET / HTTP/1.1" +1/0/0/0/0 a/b/c"#,
            // tcplog, and the shapes between it and httplog
            "1.2.3.4:5 [23/Nov/2026:20:24:29.958] fe be/s 0/-1/+7 +12 CD 1/1/0/0/0 0/0",
            "1.2.3.4:5 [23/Nov/2026:20:24:29.958] fe be/s 0/1/7 12 CD 1/1/0/0/0 0/-",
            "1.2.3.4:5 [23/Nov/2026:20:24:29.958] fe be/s 0/1/7 12 CD 1/1/0/0/0 0/0 ",
            "1.2.3.4:5 [23/Nov/2026:20:24:29.958] fe be/s 0/1/7/8 12 CD 1/1/0/0/0 0/0",
            "1.2.3.4:5 [23/Nov/2026:20:24:29.958] fe be/s 00/1/7 12 CD 1/1/0/0/0 0/0",
            "1.2.3.4:5 [23/Nov/2026:20:24:29.958] fe be/s 0/1/7 12 CDX 1/1/0/0/0 0/0",
            "1.2.3.4:5 [23/Nov/2026:20:24:29.958] fe be/s 0/1/7 12 C 1/1/0/0/0 0/0",
            "1.2.3.4:5 [23/Nov/2026:20:24:29.958] fe be/s 0/1/7 1234567890123456789 CD 1/1/0/0/0 0/0",
            "zz:5 [23/Nov/2026:20:24:29.958] fe be/s 0/1/7 12 CD 1/1/0/0/0 0/0",
            "1.2.3.4:5 [23/Nov/2026:20:24:29.95] fe be/s 0/1/7 12 CD 1/1/0/0/0 0/0",
        ];
        let catalogue = Catalogue::standard();
        let taken: Vec<usize> = (0..lines.len()).filter(|&i| agree(&catalogue, lines[i].as_bytes()) == 1).collect();
        assert_eq!(taken, [0, 1, 2, 7, 8, 12]);
    }

    #[test]
    fn stands_in_only_for_the_standard_formats_with_no_frontend_tied() {
        let standard = [builtin::HTTPLOG, builtin::HTTPSLOG, builtin::TCPLOG, builtin::HTTPLOG_CLF];
        assert!(stands_in(&standard, false));
        assert!(!stands_in(&standard, true));
        assert!(!stands_in(&standard[1..], false));
        let legacy = [builtin::HTTPLOG_LEGACY, builtin::HTTPSLOG, builtin::TCPLOG];
        assert!(!stands_in(&legacy, false));
        assert!(Catalogue::standard().fast);
        assert!(!Catalogue::new(&[], true).unwrap().fast);
    }
}
