//! Synthetic HAProxy logs for benchmarks: seeded, so a size and a seed always give the
//! same bytes, and shaped like a real syslog file for all frontends (HTTP, HTTPS and TCP
//! interleaved, rsyslog headers, a few connection errors and health-check events).
//! The distributions are plausible, not measured: most requests succeed quickly, a long
//! tail is slow, errors come with the termination states HAProxy gives them.

use std::io::{self, Write};

use chrono::DateTime;

const FRONTENDS_HTTP: &[&str] = &["fe_www", "fe_api"];
const BACKENDS: &[(&str, &[&str])] = &[
    ("be_app", &["app1", "app2", "app3", "app4"]),
    ("be_api", &["api1", "api2"]),
    ("be_static", &["static1", "static2"]),
];
const PATHS: &[&str] = &[
    "/",
    "/index.html",
    "/login",
    "/logout",
    "/api/v1/users",
    "/api/v1/orders",
    "/api/v1/items",
    "/static/app.js",
    "/static/app.css",
    "/images/logo.png",
    "/search",
    "/cart",
    "/checkout",
    "/health",
    "/favicon.ico",
];
const METHODS: &[(&str, u32)] = &[("GET", 80), ("POST", 15), ("PUT", 2), ("DELETE", 2), ("HEAD", 1)];
const AGENTS: &[&str] = &[
    "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
    "curl/8.5.0",
    "Go-http-client/2.0",
    "python-requests/2.32.3",
];
/// (status, termination state, weight): what a status usually comes with.
const OUTCOMES: &[(i32, &str, u32)] = &[
    (200, "----", 7600),
    (304, "----", 600),
    (302, "----", 300),
    (404, "----", 500),
    (200, "CD--", 150),
    (200, "cD--", 60),
    (200, "SD--", 20),
    (403, "PR--", 100),
    (400, "CR--", 80),
    (408, "cR--", 40),
    (500, "----", 50),
    (502, "SH--", 80),
    (502, "PH--", 20),
    (503, "SC--", 100),
    (503, "sQ--", 40),
    (504, "sH--", 60),
    (-1, "CH--", 50),
    (200, "LR--", 150),
];

/// Writes about `bytes` of log lines to `out` (whole lines; the last may overshoot).
pub fn generate(out: &mut impl Write, bytes: u64, seed: u64) -> io::Result<u64> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let clients = (0..CLIENTS)
        .map(|i| {
            if i % 50 == 7 {
                format!("2001:db8::{:x}", rng.u32(1..0xffff))
            } else {
                let first = [10, 172, 192, 203][rng.usize(0..4)];
                format!("{first}.{}.{}.{}", rng.u32(0..256), rng.u32(0..256), rng.u32(1..255))
            }
        })
        .collect();
    let mut generator = Generator { rng, now_ms: 1_795_392_000_000, pid: 2908, clients };
    let mut line = Vec::with_capacity(2048);
    let mut written = 0;
    let mut lines = 0;
    while written < bytes {
        line.clear();
        generator.line(&mut line);
        out.write_all(&line)?;
        written += line.len() as u64;
        lines += 1;
    }
    Ok(lines)
}

/// Distinct client addresses; a few of them send most of the traffic.
const CLIENTS: usize = 20_000;

struct Generator {
    rng: fastrand::Rng,
    now_ms: i64,
    pid: u32,
    clients: Vec<String>,
}

impl Generator {
    fn line(&mut self, out: &mut Vec<u8>) {
        self.now_ms += self.rng.i64(0..40);
        let kind = self.rng.u32(0..1000);
        self.header(out);
        match kind {
            0..=2 => self.event(out),
            3..=9 => self.connection_error(out),
            10..=119 => self.tcp(out),
            120..=279 => self.http(out, true),
            _ => self.http(out, false),
        }
        out.push(b'\n');
    }

    fn header(&mut self, out: &mut Vec<u8>) {
        let time = DateTime::from_timestamp_millis(self.now_ms).expect("valid time");
        let _ = write!(out, "{} lb1 haproxy[{}]: ", time.format("%b %e %H:%M:%S"), self.pid);
    }

    fn date(&self, out: &mut Vec<u8>, ms: i64) {
        let time = DateTime::from_timestamp_millis(ms).expect("valid time");
        let _ = write!(out, "{}", time.format("%d/%b/%Y:%H:%M:%S%.3f"));
    }

    /// A skewed pick: index `n · u³`, so low indexes (the busy clients, the popular
    /// pages) come up far more often than high ones.
    fn skewed(&mut self, n: usize) -> usize {
        let u = self.rng.f64();
        ((u * u * u) * n as f64) as usize
    }

    fn client(&mut self, out: &mut Vec<u8>) {
        let client = self.skewed(self.clients.len());
        let _ = write!(out, "{}:{}", self.clients[client], self.rng.u32(1024..65535));
    }

    /// A long-tailed duration in ms: mostly small, sometimes seconds.
    fn duration(&mut self, typical: u32) -> i64 {
        let base = self.rng.u32(0..=typical) as i64;
        match self.rng.u32(0..100) {
            0 => base * 100,
            1..=5 => base * 10,
            _ => base,
        }
    }

    fn http(&mut self, out: &mut Vec<u8>, tls: bool) {
        let (status, state) = self.outcome();
        let (backend, servers) = BACKENDS[self.rng.usize(0..BACKENDS.len())];
        let local = state.starts_with('L') || state.starts_with('P');
        let server =
            if local || state.starts_with("sQ") { "<NOSRV>" } else { servers[self.rng.usize(0..servers.len())] };
        let frontend = FRONTENDS_HTTP[self.rng.usize(0..FRONTENDS_HTTP.len())];
        let accept = self.now_ms - self.rng.i64(0..200);
        self.client(out);
        out.extend_from_slice(b" [");
        self.date(out, accept);
        let _ = write!(
            out,
            "] {frontend}{} {}/{server} ",
            if tls { "~" } else { "" },
            if local { frontend } else { backend }
        );
        let request_ms = self.duration(3);
        let queue_ms: i64 = if state.starts_with("sQ") {
            1000
        } else if local {
            -1
        } else {
            self.rng.i64(0..2)
        };
        let connect_ms: i64 =
            if local || state.starts_with("sQ") || state.starts_with("SC") { -1 } else { self.rng.i64(0..3) };
        let response_ms =
            if connect_ms < 0 || state.starts_with("sH") || state.starts_with("SH") { -1 } else { self.duration(80) };
        let active = request_ms + queue_ms.max(0) + connect_ms.max(0) + response_ms.max(0) + self.duration(20);
        let page = self.skewed(PATHS.len());
        // A page has a size; dynamic pages vary around it.
        let base = 200 + (page as u32 * 7919) % 90_000;
        let bytes = match status {
            400.. => 150 + (status as u32 % 7) * 20,
            _ if self.rng.u32(0..10) < 7 => base,
            _ => base + self.rng.u32(0..2000),
        };
        let _ = write!(out, "{request_ms}/{queue_ms}/{connect_ms}/{response_ms}/{active} {status} {bytes} ");
        if self.rng.u32(0..10) == 0 {
            let _ = write!(out, "SERVERID={} - ", servers[0]);
        } else {
            out.extend_from_slice(b"- - ");
        }
        let conns = self.rng.u32(1..500);
        let _ = write!(out, "{state} {conns}/{}/{}/{}/0 0/0 ", conns / 2 + 1, self.rng.u32(0..50), self.rng.u32(0..20));
        let agent = AGENTS[self.rng.usize(0..AGENTS.len())];
        let _ = write!(out, "{{www.example.com|{agent}}} {{text/html}} \"");
        let method = self.method();
        let path = PATHS[page];
        let _ = write!(out, "{method} {path}");
        if self.rng.bool() {
            let id = self.skewed(100_000) + 1;
            let _ = write!(out, "?id={id}&page={}", self.skewed(50) + 1);
        }
        let _ = write!(out, " HTTP/{}\"", if tls && self.rng.bool() { "2.0" } else { "1.1" });
        if tls {
            let _ = write!(
                out,
                " 0/0000000000000000/0/0/{} www.example.com/TLSv1.3/TLS_AES_256_GCM_SHA384",
                self.rng.u32(0..2)
            );
        }
    }

    fn tcp(&mut self, out: &mut Vec<u8>) {
        let accept = self.now_ms - self.rng.i64(0..5000);
        self.client(out);
        out.extend_from_slice(b" [");
        self.date(out, accept);
        let (state, connect): (&str, i64) = match self.rng.u32(0..100) {
            0..=84 => ("--", self.rng.i64(0..3)),
            85..=92 => ("CD", self.rng.i64(0..3)),
            93..=96 => ("sD", self.rng.i64(0..3)),
            _ => ("SC", -1),
        };
        let total = self.duration(3000);
        let _ = write!(
            out,
            "] fe_db be_db/db{} 0/{connect}/{total} {} {state} {}/{}/3/1/0 0/0",
            self.rng.u32(1..4),
            self.rng.u32(0..1_000_000),
            self.rng.u32(1..500),
            self.rng.u32(1..100)
        );
    }

    fn connection_error(&mut self, out: &mut Vec<u8>) {
        self.client(out);
        out.extend_from_slice(b" [");
        self.date(out, self.now_ms);
        let message =
            ["SSL handshake failure", "Connection closed during SSL handshake", "Timeout during SSL handshake"]
                [self.rng.usize(0..3)];
        let _ = write!(out, "] fe_www/1: {message}");
    }

    fn event(&mut self, out: &mut Vec<u8>) {
        let (backend, servers) = BACKENDS[self.rng.usize(0..BACKENDS.len())];
        let server = servers[self.rng.usize(0..servers.len())];
        let _ = write!(
            out,
            "Health check for server {backend}/{server} failed, reason: Layer4 timeout, check duration: 2001ms, status: 0/2 DOWN."
        );
    }

    fn outcome(&mut self) -> (i32, &'static str) {
        let total: u32 = OUTCOMES.iter().map(|o| o.2).sum();
        let mut pick = self.rng.u32(0..total);
        for &(status, state, weight) in OUTCOMES {
            if pick < weight {
                return (status, state);
            }
            pick -= weight;
        }
        unreachable!("weights cover the range")
    }

    fn method(&mut self) -> &'static str {
        let mut pick = self.rng.u32(0..100);
        for &(method, weight) in METHODS {
            if pick < weight {
                return method;
            }
            pick -= weight;
        }
        "GET"
    }
}

/// `100MB`, `1GiB`, `512k`, `1000`: a byte count.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let number: u64 = digits.parse().map_err(|_| format!("'{text}' is not a size like 100MB or 1GiB"))?;
    let multiplier: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1_000,
        "kib" => 1 << 10,
        "m" | "mb" => 1_000_000,
        "mib" => 1 << 20,
        "g" | "gb" => 1_000_000_000,
        "gib" => 1 << 30,
        other => return Err(format!("unknown size unit '{other}' in '{text}': use k, M, G, KiB, MiB or GiB")),
    };
    number.checked_mul(multiplier).ok_or_else(|| format!("'{text}' is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-11-23T00:00:00Z, near the corpus lines.
    const NOV_2026: i64 = 1_795_392_000_000;
    use crate::parse::date::LocalZone;
    use crate::parse::{Catalogue, LineParser, Outcome};

    #[test]
    fn the_same_seed_gives_the_same_bytes() {
        let (mut a, mut b) = (Vec::new(), Vec::new());
        generate(&mut a, 20_000, 7).unwrap();
        generate(&mut b, 20_000, 7).unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn every_generated_line_parses_as_traffic_or_event() {
        let mut bytes = Vec::new();
        let lines = generate(&mut bytes, 500_000, 1).unwrap();
        let catalogue = Catalogue::standard();
        let mut parser = LineParser::new(&catalogue, LocalZone::utc(), NOV_2026);
        let mut seen = 0;
        for line in bytes.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            let outcome = parser.parse(line);
            assert!(!matches!(outcome, Outcome::Rejected(_)), "{outcome:?}: {}", String::from_utf8_lossy(line));
            seen += 1;
        }
        assert_eq!(seen, lines);
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1GiB"), Ok(1 << 30));
        assert_eq!(parse_size("100MB"), Ok(100_000_000));
        assert_eq!(parse_size("512k"), Ok(512_000));
        assert!(parse_size("1 parsec").is_err());
        assert!(parse_size("99999999999999999999G").is_err());
    }
}
