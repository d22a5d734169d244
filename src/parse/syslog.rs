//! Syslog headers, detected line by line.
//!
//! What reaches the disk depends on who wrote it: HAProxy's own headers (`local`,
//! `rfc3164`, `rfc5424`, `priority`, `short`, `timed`, `iso`, `raw`) or a syslog daemon's
//! (`Mmm dd HH:MM:SS host tag[pid]:` or its RFC3339 form). One file can mix them.

use crate::parse::date::{self, LegacyTime};
use crate::parse::value::StaticText;

/// The header fields of one line. Ranges are byte offsets into the line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Header {
    pub priority: Option<u8>,
    /// `short`/`timed` carry the severity alone.
    pub severity_only: bool,
    pub time: HeaderTime,
    pub host: Option<(usize, usize)>,
    pub tag: Option<(usize, usize)>,
    pub pid: Option<i64>,
    pub structured_data: Option<(usize, usize)>,
    /// Where the message starts.
    pub message: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HeaderTime {
    #[default]
    None,
    /// RFC3164: local time without a year.
    Legacy(LegacyTime),
    /// ISO 8601 with offset: an instant, µs.
    Instant(i64),
}

pub static FACILITIES: [&str; 24] = [
    "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "auth2", "ftp", "ntp", "audit",
    "alert", "cron2", "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
];
pub static SEVERITIES: [&str; 8] = ["emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"];

impl Header {
    pub fn facility(&self) -> Option<StaticText> {
        match self.priority {
            Some(p) if !self.severity_only => FACILITIES.get(usize::from(p >> 3)),
            _ => None,
        }
    }

    pub fn severity(&self) -> Option<StaticText> {
        self.priority.map(|p| &SEVERITIES[usize::from(p & 7)])
    }
}

/// Parses the header at the start of `line`. Never fails: a line with no recognisable
/// header is all message.
pub fn parse_header(line: &[u8]) -> Header {
    let mut header = Header::default();
    let mut pos = 0;
    if let Some((priority, after)) = priority(line) {
        header.priority = Some(priority);
        pos = after;
        if line[pos..].starts_with(b"1 ")
            && let Some(parsed) = rfc5424(line, pos + 2, header)
        {
            return parsed;
        }
    }
    if let Some(time) = date::parse_legacy_header(&line[pos..])
        && line.get(pos + 15) == Some(&b' ')
    {
        header.time = HeaderTime::Legacy(time);
        return host_and_tag(line, pos + 16, header);
    }
    if let Some((instant, len)) = date::parse_iso_micros(&line[pos..])
        && line.get(pos + len) == Some(&b' ')
    {
        header.time = HeaderTime::Instant(instant);
        // `timed` and `short` give the severity alone (`<6>`).
        header.severity_only = header.priority.is_some_and(|p| p < 8);
        return host_and_tag(line, pos + len + 1, header);
    }
    header.severity_only = header.priority.is_some_and(|p| p < 8);
    header.message = pos;
    header
}

/// `<PRI>`: 1 to 3 digits, at most 191.
fn priority(line: &[u8]) -> Option<(u8, usize)> {
    if line.first() != Some(&b'<') {
        return None;
    }
    let close = line.iter().take(5).position(|&b| b == b'>')?;
    let value = date::digits(&line[1..close])?;
    (close > 1 && value <= 191).then_some((value as u8, close + 1))
}

/// After the date: `host tag[pid]: msg`, `tag[pid]: msg` (HAProxy's `local` format, and
/// its RFC3164 datagrams), or the message itself (`timed`/`iso`).
fn host_and_tag(line: &[u8], pos: usize, mut header: Header) -> Header {
    let first_end = token_end(line, pos);
    if let Some(parsed) = tag(line, pos, first_end) {
        header.tag = Some(parsed.0);
        header.pid = parsed.1;
        header.message = parsed.2;
        return header;
    }
    if first_end < line.len() {
        let second_end = token_end(line, first_end + 1);
        if let Some(parsed) = tag(line, first_end + 1, second_end) {
            header.host = Some((pos, first_end));
            header.tag = Some(parsed.0);
            header.pid = parsed.1;
            header.message = parsed.2;
            return header;
        }
    }
    header.message = pos;
    header
}

fn token_end(line: &[u8], pos: usize) -> usize {
    memchr::memchr(b' ', &line[pos.min(line.len())..]).map_or(line.len(), |p| pos + p)
}

/// `tag:` or `tag[pid]:` followed by a space. A tag is a program name; anything with
/// characters a program name does not have (an address, a bracketed date) is not one.
fn tag(line: &[u8], start: usize, end: usize) -> Option<((usize, usize), Option<i64>, usize)> {
    let token = line.get(start..end)?;
    let body = token.strip_suffix(b":")?;
    if end >= line.len() || line[end] != b' ' {
        return None;
    }
    let (name, pid) = match memchr::memchr(b'[', body) {
        Some(open) => {
            let digits = body[open + 1..].strip_suffix(b"]")?;
            (&body[..open], Some(date::digits(digits)? as i64))
        }
        None => (body, None),
    };
    let is_program = !name.is_empty()
        && name.iter().all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'/'))
        && !name.iter().all(|b| b.is_ascii_digit() || *b == b'.');
    is_program.then_some(((start, start + name.len()), pid, end + 1))
}

/// `<PRI>1 TIMESTAMP HOST APP PROCID MSGID SD MSG`.
fn rfc5424(line: &[u8], pos: usize, mut header: Header) -> Option<Header> {
    let (instant, len) = if line[pos..].starts_with(b"- ") {
        (None, 1)
    } else {
        let (instant, len) = date::parse_iso_micros(&line[pos..])?;
        (Some(instant), len)
    };
    let mut at = pos + len;
    let mut fields = [(0, 0); 4];
    for field in &mut fields {
        if line.get(at) != Some(&b' ') {
            return None;
        }
        let end = token_end(line, at + 1);
        *field = (at + 1, end);
        at = end;
    }
    if line.get(at) != Some(&b' ') {
        return None;
    }
    let sd_start = at + 1;
    let sd_end = structured_data_end(line, sd_start)?;
    let nil = |(s, e): (usize, usize)| (line[s..e] != *b"-").then_some((s, e));
    header.time = instant.map_or(HeaderTime::None, HeaderTime::Instant);
    header.host = nil(fields[0]);
    header.tag = nil(fields[1]);
    header.pid = nil(fields[2]).and_then(|(s, e)| date::digits(&line[s..e]).map(i64::from));
    header.structured_data = nil((sd_start, sd_end));
    header.message = (sd_end + 1).min(line.len());
    Some(header)
}

/// SD is `-` or `[id k="v" ...]` groups, where values escape `"`, `\` and `]`.
fn structured_data_end(line: &[u8], start: usize) -> Option<usize> {
    if line.get(start) == Some(&b'-') {
        return Some(start + 1);
    }
    let mut at = start;
    while line.get(at) == Some(&b'[') {
        at += 1;
        let mut in_value = false;
        loop {
            match *line.get(at)? {
                b'\\' if in_value => at += 1,
                b'"' => in_value = !in_value,
                b']' if !in_value => break,
                _ => {}
            }
            at += 1;
        }
        at += 1;
    }
    (at > start).then_some(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(line: &[u8], range: Option<(usize, usize)>) -> Option<&str> {
        range.map(|(s, e)| std::str::from_utf8(&line[s..e]).unwrap())
    }

    fn message(line: &[u8]) -> &str {
        std::str::from_utf8(&line[parse_header(line).message..]).unwrap()
    }

    #[test]
    fn haproxy_local_format() {
        let line = b"<134>Nov 23 20:24:41 haproxy[16835]: 127.0.0.1:52404 [23/Nov/2026:20:24:41.082] fe";
        let header = parse_header(line);
        assert_eq!(header.facility(), Some(&"local0"));
        assert_eq!(header.severity(), Some(&"info"));
        assert_eq!(text(line, header.tag), Some("haproxy"));
        assert_eq!(header.pid, Some(16835));
        assert_eq!(header.host, None);
        assert!(matches!(header.time, HeaderTime::Legacy(_)));
        assert_eq!(message(line), "127.0.0.1:52404 [23/Nov/2026:20:24:41.082] fe");
    }

    #[test]
    fn rfc3164_with_hostname_and_rsyslog_file_form() {
        let line = b"<131>Feb  6 12:14:14 myhost.example haproxy[17559]: msg";
        let header = parse_header(line);
        assert_eq!(header.severity(), Some(&"err"));
        assert_eq!(text(line, header.host), Some("myhost.example"));
        assert_eq!(message(line), "msg");
        let line = b"Nov 23 20:36:29 myhost haproxy[2908]: 127.0.0.1 - - [23/Nov/2026:20:36:29 +0000]";
        let header = parse_header(line);
        assert_eq!(header.priority, None);
        assert_eq!(text(line, header.host), Some("myhost"));
        assert_eq!(message(line), "127.0.0.1 - - [23/Nov/2026:20:36:29 +0000]");
        let line = b"Nov 23 20:36:29 myhost haproxy: m";
        assert_eq!(parse_header(line).pid, None);
        assert_eq!(message(line), "m");
    }

    #[test]
    fn rfc5424_with_and_without_structured_data() {
        let line = br#"<134>1 2026-11-23T20:24:41.087268+00:00 - haproxy 16835 - [exampleSDID@1234 status="200" req="GET \"/x\] HTTP/1.1"] 127.0.0.1:52404 x"#;
        let header = parse_header(line);
        assert_eq!(header.host, None);
        assert_eq!(text(line, header.tag), Some("haproxy"));
        assert_eq!(header.pid, Some(16835));
        assert_eq!(header.time, HeaderTime::Instant(1_795_465_481_087_268));
        assert!(text(line, header.structured_data).unwrap().starts_with("[exampleSDID@1234"));
        assert_eq!(message(line), "127.0.0.1:52404 x");
        let line = b"<134>1 2026-11-23T21:25:20.623767+01:00 myhost.example haproxy 17559 - - Connect from";
        assert_eq!(message(line), "Connect from");
        assert_eq!(parse_header(line).structured_data, None);
    }

    #[test]
    fn priority_short_timed_iso_and_raw() {
        assert_eq!(message(b"<134>127.0.0.1:52404 [x"), "127.0.0.1:52404 [x");
        let short = parse_header(b"<6>127.0.0.1:52404 [x");
        assert_eq!((short.facility(), short.severity()), (None, Some(&"info")));
        let line = b"<6>2026-11-23T20:24:41.087293+00:00 127.0.0.1:52404 [23/Nov/2026:20:24:41.082] fe";
        assert_eq!(message(line), "127.0.0.1:52404 [23/Nov/2026:20:24:41.082] fe");
        let line = b"2026-11-23T20:24:41.087296+00:00 127.0.0.1:52404 [23/Nov/2026:20:24:41.082] fe";
        assert_eq!(message(line), "127.0.0.1:52404 [23/Nov/2026:20:24:41.082] fe");
        let line = b"2026-11-23T20:24:41.087296+00:00 myhost haproxy[1]: fe_https/1: x";
        assert_eq!(message(line), "fe_https/1: x");
        assert_eq!(
            message(b"127.0.0.1:1 [23/Nov/2026:20:24:41.082] fe_https/1: SSL"),
            "127.0.0.1:1 [23/Nov/2026:20:24:41.082] fe_https/1: SSL"
        );
    }

    #[test]
    fn garbage_is_all_message() {
        assert_eq!(message(b"<999>x"), "<999>x");
        assert_eq!(message(b""), "");
        assert_eq!(message(b"<1"), "<1");
        assert_eq!(message(b"<134>1 2026"), "1 2026");
    }
}
