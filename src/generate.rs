//! Synthetic HAProxy logs for benchmarks: seeded, so a profile, a size and a seed always
//! give the same bytes. Each [`Profile`] is a different traffic mix, shaped like a real
//! syslog file for all frontends: HTTP, HTTPS and TCP interleaved under one syslog
//! header style, with connection errors and health-check events among them.
//! The distributions are plausible, not measured: most requests succeed quickly, a long
//! tail is slow, errors come with the termination states HAProxy gives them.
//!
//! Profiles differ where real logs differ, so that no speed-up is tuned to one of them:
//! the syslog header, the share of TCP lines, capture blocks (none, or several with
//! spaces and empty values), IPv6 clients, HTTP/2 requests in absolute form, how many
//! distinct paths there are, how many termination states, and whether connection
//! counts jump or drift.

use std::io::{self, Write};

use chrono::DateTime;

/// A traffic mix for `halake generate --profile`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Profile {
    /// A website: mostly httplog and httpslog with two short header captures, a few
    /// hundred distinct URLs, 2% IPv6, rsyslog's file header, connection counts that jump.
    Web,
    /// An API gateway: httpslog with three request and two response captures on 85% of
    /// lines (long user agents, `; charset=utf-8`, empty values), 30% IPv6 clients,
    /// mostly HTTP/2, 170k distinct paths with query strings, 20 termination states,
    /// connection counts that drift, RFC3164 datagrams with `<PRI>` and hostname.
    Api,
    /// A TCP load balancer: two thirds tcplog (databases, caches, queues) with many
    /// connection errors and long sessions, the rest httplog, 5% connection-error lines,
    /// 1.5% events, RFC5424 headers.
    TcpHeavy,
}

impl Profile {
    fn mix(self) -> &'static Mix {
        match self {
            Profile::Web => &WEB,
            Profile::Api => &API,
            Profile::TcpHeavy => &TCP_HEAVY,
        }
    }
}

/// What a profile draws from. Shares are per mille of lines.
struct Mix {
    header: Header,
    events: u32,
    connection_errors: u32,
    tcp: u32,
    https: u32,
    clients: usize,
    /// One client address in this many is IPv6.
    ipv6_every: usize,
    /// IPv6 clients are written in full (eight groups) rather than `2001:db8::x`.
    ipv6_full: bool,
    /// HTTP frontends, with the share of lines each takes (weights).
    frontends: &'static [(&'static str, u32)],
    /// HTTP backends and their servers.
    backends: &'static [(&'static str, &'static [&'static str])],
    /// Lines of these frontends carry capture blocks.
    captures: Captures,
    paths: Paths,
    methods: &'static [(&'static str, u32)],
    /// (status, termination state, weight): what a status usually comes with.
    outcomes: &'static [(i32, &'static str, u32)],
    /// Percent of HTTPS requests that are HTTP/2, logged in absolute form as HAProxy does.
    h2_percent: u32,
    tcp_backends: &'static [(&'static str, &'static str, &'static [&'static str])],
    /// (termination state, weight) of tcplog lines.
    tcp_states: &'static [(&'static str, u32)],
    /// Typical TCP session length, ms: most are shorter, some far longer.
    tcp_typical_ms: u32,
    conns: Conns,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Header {
    /// rsyslog's file form: `Nov 23 00:00:00 lb1 haproxy[2908]: `.
    RsyslogFile,
    /// RFC3164 as HAProxy sends it over UDP: `<134>Nov 23 00:00:00 lb1 haproxy[2908]: `.
    Rfc3164,
    /// `<134>1 2026-11-23T00:00:00.123456+00:00 lb1 haproxy 2908 - - `.
    Rfc5424,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Captures {
    /// `{host|user-agent} {content-type}` on every HTTP line.
    HostAndAgent,
    /// `{host|user-agent|x-forwarded-for} {content-type|x-request-id}` on the frontends
    /// before `fe_legacy`; values may be empty.
    Gateway,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Paths {
    /// A few pages, some with `?id=&page=`.
    Pages,
    /// REST resources with ids: `/api/v2/users/41/orders`, with search and paging queries.
    Resources,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Conns {
    /// Drawn afresh for every line.
    Jumping,
    /// A random walk: neighbouring lines see nearly the same counts, as on a real proxy.
    Drifting,
}

const WEB_BACKENDS: &[(&str, &[&str])] = &[
    ("be_app", &["app1", "app2", "app3", "app4"]),
    ("be_api", &["api1", "api2"]),
    ("be_static", &["static1", "static2"]),
];
const PAGES: &[&str] = &[
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
const AGENTS: &[&str] = &[
    "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
    "curl/8.5.0",
    "Go-http-client/2.0",
    "python-requests/2.32.3",
];
const LONG_AGENTS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8 Pro Build/AP2A.240905.003; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/130.0.6723.107 Mobile Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [FBAN/FBIOS;FBAV/489.0.0.43.107;FBBV/654321]",
    "okhttp/4.12.0",
    "MyShopApp/7.3.1 (com.example.shop; build:7301; iOS 18.1.0) Alamofire/5.9.1",
    "Dalvik/2.1.0 (Linux; U; Android 13; SM-A536B Build/TP1A.220624.014)",
    "PostmanRuntime/7.42.0",
    "aws-sdk-go-v2/1.32.2 os/linux lang/go#1.23.2 md/GOOS#linux md/GOARCH#amd64 api/s3#1.66.0",
    "",
];
const API_HOSTS: &[&str] = &["api.example.com", "m.example.com", "partner.example.net", "api.example.com:443"];
const CONTENT_TYPES: &[&str] = &[
    "application/json; charset=utf-8",
    "application/json",
    "text/html; charset=utf-8",
    "application/problem+json",
    "",
    "image/webp",
];
const RESOURCES: &[(&str, &[&str])] = &[
    ("users", &["", "/orders", "/addresses", "/sessions", "/avatar"]),
    ("orders", &["", "/items", "/invoice", "/shipments"]),
    ("products", &["", "/reviews", "/images", "/stock"]),
    ("carts", &["", "/items", "/checkout"]),
    ("search", &[""]),
];
const QUERIES: &[&str] = &[
    "limit=50&offset=",
    "q=red+shoes&page=",
    "sort=-created_at&filter%5Bstatus%5D=open&cursor=",
    "fields=id,name,price&include=reviews&v=",
    "token=eyJhbGciOiJIUzI1NiJ9.",
];

static WEB: Mix = Mix {
    header: Header::RsyslogFile,
    events: 3,
    connection_errors: 7,
    tcp: 110,
    https: 160,
    clients: 20_000,
    ipv6_every: 50,
    ipv6_full: false,
    frontends: &[("fe_www", 1), ("fe_api", 1)],
    backends: WEB_BACKENDS,
    captures: Captures::HostAndAgent,
    paths: Paths::Pages,
    methods: &[("GET", 80), ("POST", 15), ("PUT", 2), ("DELETE", 2), ("HEAD", 1)],
    outcomes: &[
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
    ],
    h2_percent: 50,
    tcp_backends: &[("fe_db", "be_db", &["db1", "db2", "db3"])],
    tcp_states: &[("--", 85), ("CD", 8), ("sD", 4), ("SC", 3)],
    tcp_typical_ms: 3000,
    conns: Conns::Jumping,
};

static API: Mix = Mix {
    header: Header::Rfc3164,
    events: 2,
    connection_errors: 8,
    tcp: 20,
    https: 700,
    clients: 60_000,
    ipv6_every: 3,
    ipv6_full: true,
    frontends: &[("fe_api", 60), ("fe_mobile", 15), ("fe_partner", 10), ("fe_legacy", 15)],
    backends: &[
        ("be_users", &["users-1", "users-2", "users-3", "users-4"]),
        ("be_orders", &["orders-1", "orders-2", "orders-3"]),
        ("be_catalog", &["catalog-1", "catalog-2", "catalog-3", "catalog-4", "catalog-5", "catalog-6"]),
        ("be_search", &["search-1", "search-2"]),
        ("be_auth", &["auth-1", "auth-2"]),
        ("be_legacy", &["legacy-1"]),
    ],
    captures: Captures::Gateway,
    paths: Paths::Resources,
    methods: &[("GET", 60), ("POST", 25), ("PUT", 6), ("PATCH", 4), ("DELETE", 4), ("OPTIONS", 1)],
    outcomes: &[
        (200, "----", 5200),
        (201, "----", 900),
        (204, "----", 500),
        (304, "----", 300),
        (401, "----", 400),
        (404, "----", 500),
        (409, "----", 60),
        (422, "----", 150),
        (429, "PR--", 250),
        (403, "PR--", 80),
        (200, "CD--", 200),
        (200, "cD--", 90),
        (200, "SD--", 40),
        (200, "sD--", 30),
        (400, "CR--", 120),
        (408, "cR--", 60),
        (500, "----", 80),
        (502, "SH--", 120),
        (503, "SC--", 90),
        (503, "sQ--", 60),
        (504, "sH--", 80),
        (-1, "CH--", 60),
        (-1, "CC--", 30),
        (500, "PT--", 10),
        (200, "LR--", 40),
        (502, "PH--", 20),
    ],
    h2_percent: 80,
    tcp_backends: &[("fe_grpc", "be_grpc", &["grpc1", "grpc2", "grpc3", "grpc4"])],
    tcp_states: &[("--", 80), ("CD", 10), ("sD", 5), ("SC", 3), ("cD", 2)],
    tcp_typical_ms: 30_000,
    conns: Conns::Drifting,
};

static TCP_HEAVY: Mix = Mix {
    header: Header::Rfc5424,
    events: 15,
    connection_errors: 50,
    tcp: 640,
    https: 60,
    clients: 5_000,
    ipv6_every: 20,
    ipv6_full: true,
    frontends: &[("fe_admin", 1), ("fe_status", 1)],
    backends: WEB_BACKENDS,
    captures: Captures::HostAndAgent,
    paths: Paths::Pages,
    methods: &[("GET", 90), ("POST", 8), ("HEAD", 2)],
    outcomes: &[
        (200, "----", 7000),
        (404, "----", 800),
        (503, "SC--", 600),
        (503, "sQ--", 300),
        (504, "sH--", 300),
        (502, "SH--", 300),
        (-1, "CH--", 200),
        (200, "CD--", 300),
        (200, "LR--", 200),
    ],
    h2_percent: 0,
    tcp_backends: &[
        ("fe_pg", "be_pg", &["pg1", "pg2", "pg3", "pg4", "pg5", "pg6"]),
        ("fe_redis", "be_redis", &["redis1", "redis2", "redis3", "redis4", "redis5", "redis6", "redis7", "redis8"]),
        ("fe_mq", "be_mq", &["mq1", "mq2", "mq3"]),
        ("fe_ldap", "be_ldap", &["ldap1", "ldap2"]),
        ("fe_smtp", "be_smtp", &["mx1", "mx2", "mx3", "mx4"]),
    ],
    tcp_states: &[
        ("--", 55),
        ("CD", 12),
        ("cD", 6),
        ("sD", 5),
        ("SD", 4),
        ("SC", 8),
        ("sC", 4),
        ("CC", 3),
        ("PC", 1),
        ("cR", 1),
        ("LR", 1),
    ],
    tcp_typical_ms: 60_000,
    conns: Conns::Drifting,
};

/// Writes about `bytes` of log lines of `profile` to `out` (whole lines; the last may
/// overshoot). Returns how many lines it wrote.
pub fn generate(out: &mut impl Write, bytes: u64, seed: u64, profile: Profile) -> io::Result<u64> {
    let mix = profile.mix();
    let mut rng = fastrand::Rng::with_seed(seed);
    let clients = (0..mix.clients)
        .map(|i| {
            if i % mix.ipv6_every == 7 % mix.ipv6_every {
                if mix.ipv6_full {
                    let groups: Vec<String> = (0..6).map(|_| format!("{:x}", rng.u32(0..0x10000))).collect();
                    format!("2001:db8:{}", groups.join(":"))
                } else {
                    format!("2001:db8::{:x}", rng.u32(1..0xffff))
                }
            } else {
                let first = [10, 172, 192, 203][rng.usize(0..4)];
                format!("{first}.{}.{}.{}", rng.u32(0..256), rng.u32(0..256), rng.u32(1..255))
            }
        })
        .collect();
    let mut generator = Generator { mix, rng, now_ms: 1_795_392_000_000, pid: 2908, clients, conns: [40, 20, 10, 3] };
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

struct Generator {
    mix: &'static Mix,
    rng: fastrand::Rng,
    now_ms: i64,
    pid: u32,
    /// Distinct client addresses; a few of them send most of the traffic.
    clients: Vec<String>,
    /// Active, frontend, backend and server connections, when they drift.
    conns: [u32; 4],
}

impl Generator {
    fn line(&mut self, out: &mut Vec<u8>) {
        self.now_ms += self.rng.i64(0..40);
        let kind = self.rng.u32(0..1000);
        self.header(out);
        let mix = self.mix;
        let events = mix.events;
        let errors = events + mix.connection_errors;
        let tcp = errors + mix.tcp;
        let https = tcp + mix.https;
        match kind {
            _ if kind < events => self.event(out),
            _ if kind < errors => self.connection_error(out),
            _ if kind < tcp => self.tcp(out),
            _ if kind < https => self.http(out, true),
            _ => self.http(out, false),
        }
        out.push(b'\n');
    }

    fn header(&mut self, out: &mut Vec<u8>) {
        let time = DateTime::from_timestamp_millis(self.now_ms).expect("valid time");
        let pid = self.pid;
        let _ = match self.mix.header {
            Header::RsyslogFile => write!(out, "{} lb1 haproxy[{pid}]: ", time.format("%b %e %H:%M:%S")),
            Header::Rfc3164 => write!(out, "<134>{} lb-api-2 haproxy[{pid}]: ", time.format("%b %e %H:%M:%S")),
            Header::Rfc5424 => {
                write!(out, "<134>1 {} lb-tcp-1 haproxy {pid} - - ", time.format("%Y-%m-%dT%H:%M:%S%.6f+00:00"))
            }
        };
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

    /// A pick from `(item, weight)` pairs.
    fn weighted<T: Copy>(&mut self, choices: &[(T, u32)]) -> T {
        let total: u32 = choices.iter().map(|c| c.1).sum();
        let mut pick = self.rng.u32(0..total);
        for &(item, weight) in choices {
            if pick < weight {
                return item;
            }
            pick -= weight;
        }
        unreachable!("weights cover the range")
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

    /// `%ac/%fc/%bc/%sc/%rc`, without the retries: fresh draws, or a step of each walk.
    fn write_conns(&mut self, out: &mut Vec<u8>) {
        match self.mix.conns {
            Conns::Jumping => {
                let conns = self.rng.u32(1..500);
                let _ = write!(out, "{conns}/{}/{}/{}", conns / 2 + 1, self.rng.u32(0..50), self.rng.u32(0..20));
            }
            Conns::Drifting => {
                const LIMITS: [u32; 4] = [5000, 3000, 800, 100];
                for (count, limit) in self.conns.iter_mut().zip(LIMITS) {
                    let step = self.rng.u32(0..5);
                    *count = (*count + step).saturating_sub(2).clamp(1, limit);
                }
                let [active, frontend, backend, server] = self.conns;
                let _ =
                    write!(out, "{active}/{}/{}/{}", frontend.min(active), backend.min(frontend), server.min(backend));
            }
        }
    }

    fn http(&mut self, out: &mut Vec<u8>, tls: bool) {
        let mix = self.mix;
        let (status, state) = self.outcome();
        let (backend, servers) = mix.backends[self.rng.usize(0..mix.backends.len())];
        let local = state.starts_with('L') || state.starts_with('P');
        let server =
            if local || state.starts_with("sQ") { "<NOSRV>" } else { servers[self.rng.usize(0..servers.len())] };
        let frontend =
            if mix.frontends.len() == 2 { mix.frontends[self.rng.usize(0..2)].0 } else { self.weighted(mix.frontends) };
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
        let page = self.skewed(PAGES.len());
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
        let _ = write!(out, "{state} ");
        self.write_conns(out);
        out.extend_from_slice(b"/0 0/0 ");
        let host = match mix.captures {
            Captures::HostAndAgent => {
                let agent = AGENTS[self.rng.usize(0..AGENTS.len())];
                let _ = write!(out, "{{www.example.com|{agent}}} {{text/html}} \"");
                "www.example.com"
            }
            Captures::Gateway => {
                let host = API_HOSTS[self.rng.usize(0..API_HOSTS.len())];
                if frontend != "fe_legacy" {
                    self.gateway_captures(out, host);
                }
                out.push(b'"');
                host
            }
        };
        let method = self.method();
        let h2 = tls && self.rng.u32(0..100) < mix.h2_percent;
        let _ = write!(out, "{method} ");
        if h2 {
            // HTTP/2 requests carry `:authority`: HAProxy logs them in absolute form.
            let _ = write!(out, "https://{host}");
        }
        match mix.paths {
            Paths::Pages => {
                out.extend_from_slice(PAGES[page].as_bytes());
                if self.rng.bool() {
                    let id = self.skewed(100_000) + 1;
                    let _ = write!(out, "?id={id}&page={}", self.skewed(50) + 1);
                }
            }
            Paths::Resources => self.resource(out),
        }
        let _ = write!(out, " HTTP/{}\"", if h2 { "2.0" } else { "1.1" });
        if tls {
            let (version, cipher) = match self.rng.u32(0..10) {
                0..=7 => ("TLSv1.3", "TLS_AES_256_GCM_SHA384"),
                8 => ("TLSv1.3", "TLS_CHACHA20_POLY1305_SHA256"),
                _ => ("TLSv1.2", "ECDHE-RSA-AES128-GCM-SHA256"),
            };
            let sni = if mix.captures == Captures::Gateway { host.trim_end_matches(":443") } else { host };
            let _ = write!(out, " 0/0000000000000000/0/0/{} {sni}/{version}/{cipher}", self.rng.u32(0..2));
        }
    }

    /// `{host|user-agent|x-forwarded-for} {content-type|x-request-id} `: values with
    /// spaces, and empty ones where the header was absent.
    fn gateway_captures(&mut self, out: &mut Vec<u8>, host: &str) {
        let agent = LONG_AGENTS[self.skewed(LONG_AGENTS.len())];
        let _ = write!(out, "{{{host}|{agent}|");
        match self.rng.u32(0..10) {
            0..=5 => {}
            6..=8 => {
                let _ = write!(out, "198.51.100.{}", self.rng.u32(1..255));
            }
            _ => {
                let _ = write!(
                    out,
                    "203.0.113.{}, 10.1.{}.{}",
                    self.rng.u32(1..255),
                    self.rng.u32(0..8),
                    self.rng.u32(1..255)
                );
            }
        }
        let content_type = CONTENT_TYPES[self.skewed(CONTENT_TYPES.len())];
        let _ = write!(out, "}} {{{content_type}|");
        if self.rng.u32(0..4) != 0 {
            let _ = write!(out, "{:016x}", self.rng.u64(..));
        }
        out.extend_from_slice(b"} ");
    }

    /// `/api/v2/orders/1234/items?limit=50&offset=100`: ids make ~170k distinct paths in a
    /// gigabyte.
    fn resource(&mut self, out: &mut Vec<u8>) {
        let (resource, subresources) = RESOURCES[self.skewed(RESOURCES.len())];
        let _ = write!(out, "/api/v2/{resource}");
        if resource != "search" {
            let id = self.skewed(60_000) + 1;
            let sub = subresources[self.skewed(subresources.len())];
            let _ = write!(out, "/{id}{sub}");
        }
        if self.rng.u32(0..10) < 6 {
            let query = QUERIES[self.skewed(QUERIES.len())];
            let _ = write!(out, "?{query}{}", self.skewed(5000));
        }
    }

    fn tcp(&mut self, out: &mut Vec<u8>) {
        let mix = self.mix;
        let accept = self.now_ms - self.rng.i64(0..5000);
        self.client(out);
        out.extend_from_slice(b" [");
        self.date(out, accept);
        let state = self.weighted(mix.tcp_states);
        let connect =
            if state.starts_with(['S', 's', 'P', 'L', 'c']) || state == "CC" { -1 } else { self.rng.i64(0..3) };
        let total = self.duration(mix.tcp_typical_ms);
        let (frontend, backend, servers) = mix.tcp_backends[self.rng.usize(0..mix.tcp_backends.len())];
        let server = if mix.tcp_backends.len() == 1 {
            servers[self.rng.usize(0..servers.len())]
        } else if connect < 0 && !state.starts_with('s') {
            "<NOSRV>"
        } else {
            servers[self.rng.usize(0..servers.len())]
        };
        let bytes = self.rng.u32(0..1_000_000);
        let _ = write!(out, "] {frontend} {backend}/{server} 0/{connect}/{total} {bytes} {state} ");
        match mix.conns {
            Conns::Jumping => {
                let _ = write!(out, "{}/{}/3/1/0 0/0", self.rng.u32(1..500), self.rng.u32(1..100));
            }
            Conns::Drifting => {
                self.write_conns(out);
                let retries = if state == "SC" { self.rng.u32(0..4) } else { 0 };
                let _ = write!(out, "/{retries} 0/0");
            }
        }
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
        let (backend, servers) = self.mix.backends[self.rng.usize(0..self.mix.backends.len())];
        let server = servers[self.rng.usize(0..servers.len())];
        if self.mix.events < 10 {
            let _ = write!(
                out,
                "Health check for server {backend}/{server} failed, reason: Layer4 timeout, check duration: 2001ms, status: 0/2 DOWN."
            );
            return;
        }
        let (_, backend, servers) = self.mix.tcp_backends[self.rng.usize(0..self.mix.tcp_backends.len())];
        let server = servers[self.rng.usize(0..servers.len())];
        let _ = match self.rng.u32(0..10) {
            0..=5 => write!(
                out,
                "Health check for server {backend}/{server} failed, reason: Layer4 connection problem, info: \"Connection refused\", check duration: 0ms, status: 0/2 DOWN."
            ),
            6..=7 => write!(
                out,
                "Server {backend}/{server} is DOWN, reason: Layer4 timeout, check duration: 2001ms. 2 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue."
            ),
            8 => write!(
                out,
                "Server {backend}/{server} is UP, reason: Layer4 check passed, check duration: 0ms. 3 active and 0 backup servers online. 0 sessions requeued, 0 total in queue."
            ),
            _ => write!(out, "backend {backend} has no server available!"),
        };
    }

    fn outcome(&mut self) -> (i32, &'static str) {
        let total: u32 = self.mix.outcomes.iter().map(|o| o.2).sum();
        let mut pick = self.rng.u32(0..total);
        for &(status, state, weight) in self.mix.outcomes {
            if pick < weight {
                return (status, state);
            }
            pick -= weight;
        }
        unreachable!("weights cover the range")
    }

    fn method(&mut self) -> &'static str {
        let mut pick = self.rng.u32(0..100);
        for &(method, weight) in self.mix.methods {
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
    use clap::ValueEnum;

    /// 2026-11-23T00:00:00Z, near the corpus lines.
    const NOV_2026: i64 = 1_795_392_000_000;
    use crate::parse::date::LocalZone;
    use crate::parse::{Catalogue, LineParser, Outcome};

    #[test]
    fn the_same_seed_gives_the_same_bytes() {
        for &profile in Profile::value_variants() {
            let (mut a, mut b) = (Vec::new(), Vec::new());
            generate(&mut a, 20_000, 7, profile).unwrap();
            generate(&mut b, 20_000, 7, profile).unwrap();
            assert_eq!(a, b);
        }
    }

    #[test]
    fn every_generated_line_parses_as_traffic_or_event() {
        let catalogue = Catalogue::standard();
        for &profile in Profile::value_variants() {
            let mut bytes = Vec::new();
            let lines = generate(&mut bytes, 500_000, 1, profile).unwrap();
            let mut parser = LineParser::new(&catalogue, LocalZone::utc(), NOV_2026);
            let mut seen = 0;
            for line in bytes.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
                let outcome = parser.parse(line);
                assert!(
                    !matches!(outcome, Outcome::Rejected(_)),
                    "{profile:?}: {outcome:?}: {}",
                    String::from_utf8_lossy(line)
                );
                seen += 1;
            }
            assert_eq!(seen, lines);
        }
    }

    /// The profiles differ where real traffic differs: the share of TCP lines, capture
    /// blocks, IPv6, HTTP/2 and the syslog header.
    #[test]
    fn profiles_differ_in_the_ways_they_say() {
        let text = |profile| {
            let mut bytes = Vec::new();
            generate(&mut bytes, 300_000, 3, profile).unwrap();
            String::from_utf8(bytes).unwrap()
        };
        let share = |text: &str, needle: &str| {
            let lines = text.lines().count();
            text.lines().filter(|l| l.contains(needle)).count() * 100 / lines
        };
        let (web, api, tcp) = (text(Profile::Web), text(Profile::Api), text(Profile::TcpHeavy));
        assert!(web.starts_with("Nov 23 ") && api.starts_with("<134>Nov 23 ") && tcp.starts_with("<134>1 2026-"));
        assert!(share(&api, "HTTP/2.0\"") > 40 && share(&web, "HTTP/2.0\"") < 15, "HTTP/2");
        assert!(share(&api, "|Mozilla/5.0 (") > 30 && share(&api, "; charset=utf-8|") > 20, "captures");
        assert!(share(&api, " [") - share(&api, "} {") < 25, "most api lines carry captures");
        assert!(share(&api, "2001:db8:") > 20 && share(&web, "2001:db8:") < 10, "IPv6");
        assert!(share(&tcp, "\"") < 40 && share(&web, "\"") > 80, "TCP");
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
