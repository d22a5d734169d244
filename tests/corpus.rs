//! The real HAProxy 2.6 corpus, converted by the real binary, checked field by field
//! against the source text. The expected values come from a deliberately naive
//! splitter written here, independent of halake's format compiler.

mod common;

use std::collections::{BTreeMap, HashMap};

use common::{Record, convert, corpus, reconciliation, records};

const VARIANTS: [&str; 3] = ["raw", "rfc3164", "rsyslog"];

/// The message of a corpus line: the header is `<PRI>Mmm dd HH:MM:SS [myhost ]haproxy[2908]: `.
fn message<'a>(line: &'a str, variant: &str) -> &'a str {
    if variant == "raw" {
        return line;
    }
    let end = line.find("]: ").expect("syslog header");
    &line[end + 3..]
}

fn some(s: &str) -> Option<String> {
    Some(s.to_string())
}

fn dash(s: &str) -> Option<String> {
    (s != "-" && !s.is_empty()).then(|| s.to_string())
}

fn timer(s: &str) -> Option<String> {
    let s = s.trim_start_matches('+');
    (s != "-1").then(|| s.to_string())
}

/// `23/Nov/2026:20:36:02.589` → how Arrow displays the UTC timestamp.
fn local_date(date: &str) -> Option<String> {
    let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let month = months.iter().position(|m| *m == &date[3..6]).unwrap() + 1;
    Some(format!("{}-{month:02}-{}T{}Z", &date[7..11], &date[0..2], &date[12..]))
}

/// `#XX` escapes decoded, as a person would read them.
fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'#'
            && i + 2 < bytes.len()
            && let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

/// `{a|b}` or the CLF slots → how Arrow displays the list.
fn capture_list(slots: &[&str]) -> Option<String> {
    let items: Vec<String> = slots.iter().map(|s| decode(s)).collect();
    Some(format!("[{}]", items.join(", ")))
}

fn request_fields(expected: &mut Record, request: &str, closed: bool) {
    if request == "<BADREQ>" {
        expected.insert("request_line".into(), some(request));
        expected.insert("method".into(), None);
        return;
    }
    let (method, rest) = request.split_once(' ').unwrap();
    expected.insert("method".into(), some(method));
    let (target, version) = match rest.rsplit_once(' ') {
        Some((target, version)) if closed && version.starts_with("HTTP/") => (target, Some(version)),
        _ => (rest, None),
    };
    expected.insert("http_version".into(), version.map(str::to_string));
    expected.insert("request_truncated".into(), some(if version.is_some() { "false" } else { "true" }));
    let (before_query, query) = match target.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (target, None),
    };
    let (origin, path) = match before_query.find("://") {
        Some(scheme) if !before_query.starts_with('/') => {
            let authority_end = before_query[scheme + 3..].find('/').map_or(before_query.len(), |p| scheme + 3 + p);
            before_query.split_at(authority_end)
        }
        _ => ("", before_query),
    };
    expected.insert("uri_origin".into(), dash(&decode(origin)));
    expected.insert("path".into(), dash(&decode(path)));
    expected.insert("query".into(), query.map(decode));
    // The line is stored only when its parts would not give it back.
    let rebuilt = format!(
        "{method} {origin}{path}{}{}",
        query.map(|q| format!("?{q}")).unwrap_or_default(),
        version.map(|v| format!(" {v}")).unwrap_or_default()
    );
    let kept = rebuilt != request || request.contains('#') || target.is_empty();
    expected.insert("request_line".into(), if kept { some(&decode(request)) } else { None });
}

fn split_pair(s: &str, sep: char) -> (&str, &str) {
    s.split_once(sep).unwrap_or_else(|| panic!("no '{sep}' in {s}"))
}

fn client(expected: &mut Record, address: &str) {
    let (ip, port) = address.rsplit_once(':').unwrap();
    expected.insert("client_ip".into(), some(ip));
    expected.insert("client_port".into(), some(port));
}

fn counters(expected: &mut Record, conns: &str, queues: &str) {
    let c: Vec<&str> = conns.split('/').collect();
    for (name, value) in ["active_conns", "frontend_conns", "backend_conns", "server_conns"].iter().zip(&c) {
        expected.insert(name.to_string(), some(value));
    }
    expected.insert("retries".into(), some(c[4].trim_start_matches('+')));
    expected.insert("redispatched".into(), some(if c[4].starts_with('+') { "true" } else { "false" }));
    let (sq, bq) = split_pair(queues, '/');
    expected.insert("server_queue".into(), some(sq));
    expected.insert("backend_queue".into(), some(bq));
}

fn frontend(expected: &mut Record, name: &str) {
    let tls = name.ends_with('~');
    expected.insert("frontend".into(), some(name.trim_end_matches('~')));
    expected.insert("frontend_tls".into(), some(if tls { "true" } else { "false" }));
}

fn termination(expected: &mut Record, state: &str) {
    expected.insert("termination_state".into(), some(state));
    let cause = match &state[0..1] {
        "-" => "normal",
        "C" => "client_abort",
        "c" => "client_timeout",
        "S" => "server_abort",
        "s" => "server_timeout",
        "P" => "proxy",
        "L" => "local",
        "K" => "admin_kill",
        "D" => "server_down",
        "U" => "backup_up",
        other => panic!("unexpected cause {other} in the corpus"),
    };
    expected.insert("termination_cause".into(), some(cause));
}

/// httplog, httpslog and the custom format share this prefix.
fn http_prefix(msg: &str) -> (Record, &str) {
    let mut e = Record::new();
    let (address, rest) = split_pair(msg, ' ');
    client(&mut e, address);
    e.insert("request_time".into(), local_date(&rest[1..25]));
    let mut it = rest[27..].splitn(6, ' ');
    frontend(&mut e, it.next().unwrap());
    let (backend, server) = split_pair(it.next().unwrap(), '/');
    e.insert("backend".into(), some(backend));
    e.insert("server".into(), some(server));
    let timers: Vec<&str> = it.next().unwrap().split('/').collect();
    for (name, value) in ["request_ms", "queue_ms", "connect_ms", "response_ms", "active_ms"].iter().zip(&timers) {
        e.insert(name.to_string(), timer(value));
    }
    e.insert("status".into(), some(it.next().unwrap()));
    e.insert("bytes_to_client".into(), some(it.next().unwrap()));
    (e, it.next().unwrap())
}

/// After the counters: `{hr} {hs} "request"` with optional blocks.
fn captures_and_request<'a>(e: &mut Record, mut rest: &'a str) -> (&'a str, bool) {
    for column in ["request_headers", "response_headers"] {
        if rest.starts_with('{') {
            let close = rest.find('}').unwrap();
            e.insert(column.into(), capture_list(&rest[1..close].split('|').collect::<Vec<_>>()));
            rest = &rest[close + 2..];
        } else {
            e.insert(column.into(), None);
        }
    }
    assert!(rest.starts_with('"'), "request expected in {rest}");
    (&rest[1..], true)
}

fn expected_http(msg: &str, tail_fields: usize, uploaded: bool) -> (Record, Vec<String>) {
    let (mut e, rest) = http_prefix(msg);
    let mut it = rest.splitn(if uploaded { 7 } else { 6 }, ' ');
    if uploaded {
        e.insert("bytes_from_client".into(), some(it.next().unwrap()));
    }
    e.insert("request_cookie".into(), dash(it.next().unwrap()));
    e.insert("response_cookie".into(), dash(it.next().unwrap()));
    termination(&mut e, it.next().unwrap());
    let conns = it.next().unwrap();
    let queues = it.next().unwrap();
    counters(&mut e, conns, queues);
    let (rest, _) = captures_and_request(&mut e, it.next().unwrap());
    // The request has no raw quote; it ends at the first quote, or the line was cut.
    let (request, tail, closed) = match rest.find('"') {
        Some(close) => (&rest[..close], rest[close + 1..].trim_start(), true),
        None => (rest, "", false),
    };
    request_fields(&mut e, request, closed);
    let tail: Vec<String> =
        if tail.is_empty() { Vec::new() } else { tail.splitn(tail_fields, ' ').map(str::to_string).collect() };
    e.insert("line_truncated".into(), some(if closed && tail.len() == tail_fields { "false" } else { "true" }));
    (e, tail)
}

fn expected_httpslog(msg: &str) -> Record {
    let (mut e, tail) = expected_http(msg, 2, false);
    if tail.len() == 2 {
        let tls: Vec<&str> = tail[0].split('/').collect();
        e.insert("frontend_conn_error".into(), dash(tls[0]));
        e.insert("tls_error".into(), dash(tls[1]));
        e.insert("client_cert_error".into(), dash(tls[2]));
        e.insert("client_cert_ca_error".into(), dash(tls[3]));
        e.insert("tls_resumed".into(), dash(tls[4]).map(|v| (v == "1").to_string()));
        let (rest, cipher) = tail[1].rsplit_once('/').unwrap();
        let (sni, version) = rest.rsplit_once('/').unwrap();
        e.insert("tls_sni".into(), dash(sni));
        e.insert("tls_version".into(), dash(version));
        e.insert("tls_cipher".into(), dash(cipher));
    }
    e
}

fn expected_tcplog(msg: &str) -> Record {
    let mut e = Record::new();
    let f: Vec<&str> = msg.split(' ').collect();
    client(&mut e, f[0]);
    e.insert("accept_time".into(), local_date(&f[1][1..25]));
    frontend(&mut e, f[2]);
    let (backend, server) = split_pair(f[3], '/');
    e.insert("backend".into(), some(backend));
    e.insert("server".into(), some(server));
    let timers: Vec<&str> = f[4].split('/').collect();
    for (name, value) in ["queue_ms", "connect_ms", "total_ms"].iter().zip(&timers) {
        e.insert(name.to_string(), timer(value));
    }
    e.insert("bytes_to_client".into(), some(f[5]));
    termination(&mut e, f[6]);
    counters(&mut e, f[7], f[8]);
    e.insert("status".into(), None);
    e.insert("line_truncated".into(), some("false"));
    e
}

/// Splits a CLF line into words, quoted words without their quotes.
fn clf_words(msg: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut rest = msg;
    while !rest.is_empty() {
        if let Some(stripped) = rest.strip_prefix('"') {
            let close = stripped.find('"').unwrap_or(stripped.len());
            words.push(stripped[..close].to_string());
            rest = stripped.get(close + 1..).unwrap_or("").trim_start_matches(' ');
        } else if let Some(stripped) = rest.strip_prefix('[') {
            let close = stripped.find(']').unwrap();
            words.push(stripped[..close].to_string());
            rest = stripped[close + 1..].trim_start_matches(' ');
        } else {
            let end = rest.find(' ').unwrap_or(rest.len());
            words.push(rest[..end].to_string());
            rest = rest[end..].trim_start_matches(' ');
        }
    }
    words
}

fn expected_clf(msg: &str) -> Record {
    let mut e = Record::new();
    let w = clf_words(msg);
    let closed = msg.matches('"').count().is_multiple_of(2) && msg.len() < 1000;
    e.insert("client_ip".into(), some(&w[0]));
    let d = &w[3];
    e.insert("request_time".into(), local_date(&format!("{}.000", &d[..20])).map(|s| s.replace(".000Z", "Z")));
    request_fields(&mut e, &w[4], closed);
    e.insert("line_truncated".into(), some(if closed { "false" } else { "true" }));
    if !closed {
        return e;
    }
    e.insert("status".into(), some(&w[5]));
    e.insert("bytes_to_client".into(), some(&w[6]));
    e.insert("client_port".into(), some(&w[9]));
    e.insert("accept_millis".into(), some(w[10].trim_start_matches('0')).filter(|s| !s.is_empty()).or(some("0")));
    frontend(&mut e, &w[11]);
    e.insert("backend".into(), some(&w[12]));
    e.insert("server".into(), some(&w[13]));
    for (name, value) in ["request_ms", "queue_ms", "connect_ms", "response_ms", "active_ms"].iter().zip(&w[14..19]) {
        e.insert(name.to_string(), timer(value));
    }
    termination(&mut e, &w[19]);
    counters(&mut e, &w[20..25].join("/"), &w[25..27].join("/"));
    e.insert("request_cookie".into(), dash(&w[27]));
    e.insert("response_cookie".into(), dash(&w[28]));
    let slots: Vec<&str> = w[29..].iter().map(String::as_str).collect();
    if slots.is_empty() {
        // Stream-less error lines have no capture slots at all.
        e.insert("request_headers".into(), None);
        return e;
    }
    e.insert("request_headers".into(), capture_list(&slots[..2]));
    e.insert("response_headers".into(), capture_list(&slots[2..]));
    e.insert("request_header_host".into(), dash(&decode(slots[0])));
    e.insert("request_header_user_agent".into(), dash(&decode(slots[1])));
    e.insert("response_header_content_type".into(), dash(&decode(slots[2])));
    e
}

/// fe_custom: httplog plus %U, then `%ID %sslv %sslc "%[ssl_fc_sni]" %HM "%HP" %HV
/// %fi:%fp %si:%sp %Tt %Th %Ti %Tu %rt %lc %pid` after the request.
fn expected_custom(msg: &str) -> Record {
    let (mut e, tail) = expected_http(msg, 16, true);
    if tail.len() == 16 {
        let t: Vec<&str> = tail.iter().map(String::as_str).collect();
        e.insert("unique_id".into(), dash(t[0]));
        e.insert("tls_version".into(), dash(t[1]));
        e.insert("tls_cipher".into(), dash(t[2]));
        e.insert("tls_sni".into(), dash(t[3].trim_matches('"')));
        // %HM and %HP override what the request line gave.
        e.insert("method".into(), dash(t[4]).filter(|m| m != "<BADREQ>"));
        // HAProxy 2.6 prints HTTP/0.9 for a request whose version was cut by logurilen.
        e.insert("http_version".into(), dash(t[6]).filter(|v| v != "<BADREQ>"));
        // %HP keeps the scheme and authority of an absolute URI; `path` does not.
        let path = t[5].trim_matches('"');
        if path != "<BADREQ>" {
            let bare = path.find("://").map_or(path, |s| path[s + 3..].find('/').map_or("", |p| &path[s + 3 + p..]));
            e.insert("path".into(), dash(bare));
        }
        let (fi, fp) = t[7].rsplit_once(':').unwrap();
        e.insert("frontend_ip".into(), dash(fi));
        e.insert("frontend_port".into(), dash(fp));
        let (si, sp) = t[8].rsplit_once(':').unwrap();
        e.insert("server_ip".into(), dash(si));
        e.insert("server_port".into(), dash(sp));
        for (name, value) in ["total_ms", "handshake_ms", "idle_ms", "user_ms"].iter().zip(&t[9..13]) {
            e.insert(name.to_string(), timer(value));
        }
        e.insert("request_counter".into(), some(t[13]));
        e.insert("frontend_log_counter".into(), some(t[14]));
        e.insert("pid".into(), some(t[15]));
    }
    e
}

fn expected_connection_error(msg: &str) -> Record {
    let mut e = Record::new();
    let (address, rest) = split_pair(msg, ' ');
    client(&mut e, address);
    e.insert("accept_time".into(), local_date(&rest[1..25]));
    let (proxy, message) = rest[27..].split_once(": ").unwrap();
    let (fe, bind) = split_pair(proxy, '/');
    e.insert("frontend".into(), some(fe));
    e.insert("bind".into(), some(bind));
    e.insert("connection_error".into(), some(message));
    e.insert("log_format".into(), some("connection_error"));
    e
}

fn expected_connect(msg: &str) -> Record {
    let mut e = Record::new();
    let w: Vec<&str> = msg.split(' ').collect();
    client(&mut e, w[2]);
    let (fi, fp) = w[4].rsplit_once(':').unwrap();
    e.insert("frontend_ip".into(), some(fi));
    e.insert("frontend_port".into(), some(fp));
    let (fe, mode) = split_pair(w[5].trim_matches(|c| c == '(' || c == ')'), '/');
    e.insert("frontend".into(), some(fe));
    e.insert("proxy_mode".into(), some(mode));
    e.insert("log_format".into(), some("connect"));
    e
}

fn expected_header(e: &mut Record, line: &str, variant: &str) {
    let (host, tag, pid, facility) = match variant {
        "raw" => (None, None, None, None),
        "rfc3164" => (None, some("haproxy"), some("2908"), some("local0")),
        _ => (some("myhost"), some("haproxy"), some("2908"), None),
    };
    e.insert("syslog_host".into(), host);
    e.insert("syslog_tag".into(), tag);
    e.insert("syslog_pid".into(), pid);
    if variant == "rfc3164" {
        e.insert("syslog_facility".into(), facility);
        let severity = if line.starts_with("<131>") { "err" } else { "info" };
        e.insert("syslog_severity".into(), some(severity));
    }
}

fn check_file(format: &str, variant: &str, expected: fn(&str) -> Record, extra: &[&str]) -> usize {
    let dir = tempfile::tempdir().unwrap();
    let input = corpus(&format!("{format}.{variant}.log"));
    let output = dir.path().join("out.parquet");
    let summary = convert(&[&input], &output, extra);
    let (lines, rows, events, rejects) = reconciliation(&summary);
    assert_eq!((events, rejects), (0, 0), "{format}.{variant}:\n{summary}");
    let text = std::fs::read_to_string(&input).unwrap();
    let source: Vec<&str> = text.lines().collect();
    assert_eq!(lines as usize, source.len());
    let records = records(&output);
    assert_eq!(records.len() as u64, rows);
    let mut checked = 0;
    for record in &records {
        let number: usize = record["source_line"].as_ref().unwrap().parse().unwrap();
        let line = source[number - 1];
        let msg = message(line, variant);
        let mut want = if record["log_format"].as_deref() == Some("connection_error") {
            expected_connection_error(msg)
        } else {
            expected(msg)
        };
        expected_header(&mut want, line, variant);
        for (column, value) in &want {
            let got = record.get(column).unwrap_or_else(|| panic!("no column {column}"));
            assert_eq!(got, value, "{format}.{variant}:{number} column {column}\n{line}");
            checked += 1;
        }
    }
    checked
}

#[test]
fn httplog_fields_match_the_source_text() {
    for variant in VARIANTS {
        assert!(check_file("httplog", variant, |m| expected_http(m, 0, false).0, &[]) > 5000);
    }
}

#[test]
fn httpslog_fields_match_the_source_text() {
    for variant in VARIANTS {
        assert!(check_file("httpslog", variant, expected_httpslog, &[]) > 5000);
    }
}

#[test]
fn tcplog_fields_match_the_source_text() {
    for variant in VARIANTS {
        assert!(check_file("tcplog", variant, expected_tcplog, &[]) > 800);
    }
}

#[test]
fn clf_fields_match_the_source_text_with_capture_names_from_the_config() {
    let config = corpus("haproxy.cfg");
    for variant in VARIANTS {
        let checked = check_file("clf", variant, expected_clf, &["--haproxy-config", config.to_str().unwrap()]);
        assert!(checked > 5000);
    }
}

#[test]
fn custom_fields_match_the_source_text_with_the_format_from_the_config() {
    let config = corpus("haproxy.cfg");
    for variant in VARIANTS {
        let checked = check_file("custom", variant, expected_custom, &["--haproxy-config", config.to_str().unwrap()]);
        assert!(checked > 10000);
    }
}

#[test]
fn default_format_lines() {
    for format in ["default_http", "default_tcp"] {
        for variant in VARIANTS {
            check_file(format, variant, expected_connect, &[]);
        }
    }
}

#[test]
fn header_variants_give_the_same_traffic_columns() {
    let dir = tempfile::tempdir().unwrap();
    for format in ["httplog", "httpslog", "tcplog"] {
        let mut tables = Vec::new();
        for variant in VARIANTS {
            let output = dir.path().join(format!("{format}.{variant}.parquet"));
            convert(&[&corpus(&format!("{format}.{variant}.log"))], &output, &[]);
            let mut records = records(&output);
            for record in &mut records {
                record.retain(|column, _| !column.starts_with("syslog_") && !column.starts_with("source_"));
            }
            // UDP datagrams arrive in a different order at each target: compare as sets.
            records.sort_by_cached_key(|r| format!("{:?}", r.iter().collect::<BTreeMap<_, _>>()));
            // HAProxy's `len` counts the header: lines with a longer header are cut earlier.
            records.retain(|r| !r["query"].as_deref().is_some_and(|q| q.contains("pad=")));
            tables.push(records);
        }
        for other in 1..3 {
            assert_eq!(tables[0].len(), tables[other].len(), "{format}");
            for (raw, with_header) in tables[0].iter().zip(&tables[other]) {
                let differing: Vec<_> = raw.iter().filter(|(k, v)| with_header.get(*k) != Some(v)).collect();
                assert!(differing.is_empty(), "{format} {}: {differing:?} vs {with_header:?}", VARIANTS[other]);
            }
        }
    }
}

#[test]
fn events_are_counted_and_written_to_their_own_table() {
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("traffic.parquet");
    let events = dir.path().join("events.parquet");
    for variant in ["rfc3164", "rsyslog"] {
        let input = corpus(&format!("events.{variant}.log"));
        let summary = convert(&[&input], &output, &["--events", events.to_str().unwrap()]);
        assert_eq!(reconciliation(&summary), (131, 0, 131, 0));
        let kinds: BTreeMap<String, usize> = records(&events).iter().fold(BTreeMap::new(), |mut m, r| {
            *m.entry(r["event_kind"].clone().unwrap()).or_default() += 1;
            m
        });
        let expected: BTreeMap<String, usize> =
            [("backend_error", 44), ("health_check", 40), ("no_server", 9), ("server_state", 38)]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect();
        assert_eq!(kinds, expected);
        let first = &records(&events)[0];
        assert_eq!(first["proxy"].as_deref(), Some("be_ckpersist"));
        assert_eq!(first["server"].as_deref(), Some("s3"));
        assert_eq!(first["syslog_time"].as_deref(), Some("2026-11-23T20:36:01Z"));
    }
}

/// Each scripted client's row carries the termination state HAProxy logged for it.
#[test]
fn every_scenario_row_has_the_state_haproxy_logged() {
    let dir = tempfile::tempdir().unwrap();
    let config = corpus("haproxy.cfg");
    let mut by_key: HashMap<(String, String, String), Vec<String>> = HashMap::new();
    let mut by_agent: HashMap<(String, String), Vec<String>> = HashMap::new();
    for format in ["httplog", "httpslog", "clf", "custom", "tcplog"] {
        let output = dir.path().join(format!("{format}.parquet"));
        convert(&[&corpus(&format!("{format}.raw.log"))], &output, &["--haproxy-config", config.to_str().unwrap()]);
        for r in records(&output) {
            let key = (
                r["frontend"].clone().unwrap_or_default(),
                r["client_ip"].clone().unwrap_or_default(),
                r["client_port"].clone().unwrap_or_default(),
            );
            // The scenarios file names a failed handshake by its connection-error message.
            let state = match &r["connection_error"] {
                Some(message) => format!("conn-error: {message}"),
                None => r["termination_state"].clone().unwrap_or_default(),
            };
            if let Some(agent) = r["request_headers"].as_deref().and_then(|h| h.split(", ").nth(1)) {
                let agent = agent.trim_end_matches(']').to_string();
                by_agent.entry((key.0.clone(), agent)).or_default().push(state.clone());
            }
            by_key.entry(key).or_default().push(state);
        }
    }
    let scenarios = std::fs::read_to_string(corpus("scenarios_observed.tsv")).unwrap();
    let mut checked = 0;
    for line in scenarios.lines().skip(1) {
        let f: Vec<&str> = line.split('\t').collect();
        let (frontend, scenario, ip, port, observed) = (f[0], f[2], f[3], f[4], f[6]);
        // "(no log line)": HAProxy logged nothing for that client, so there is nothing to join.
        if frontend.starts_with("fe_def") || observed.is_empty() || observed.starts_with('(') {
            continue;
        }
        // CLF prints the port after the request: a line cut inside a long URI has none to join on.
        if frontend == "fe_clf" && scenario.starts_with("long_uri") {
            continue;
        }
        // HTTP/2 clients are identified by their User-Agent, not by a port.
        let states = match port.strip_prefix("curl:") {
            Some(agent) => by_agent.get(&(frontend.to_string(), agent.to_string())),
            None => by_key.get(&(frontend.to_string(), ip.to_string(), port.to_string())),
        };
        let states = states.unwrap_or_else(|| panic!("no row for {scenario} {ip}:{port} on {frontend}"));
        // A keep-alive connection logs one code per request.
        assert!(
            observed.split(',').all(|code| states.iter().any(|s| s == code)),
            "{frontend} {scenario} {ip}:{port}: logged {observed}, rows have {states:?}"
        );
        checked += 1;
    }
    assert!(checked > 1000, "{checked}");
}

fn halog_counts(name: &str) -> BTreeMap<String, u64> {
    let text = std::fs::read_to_string(corpus(&format!("halog/{name}"))).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("Truncated") && !l.contains("lines in"))
        .map(|l| {
            let (key, count) = l.split_once(' ').unwrap();
            (key.to_string(), count.parse().unwrap())
        })
        .collect()
}

/// `halog -tc` and `-st` over the same files are an independent oracle.
#[test]
fn termination_and_status_counts_equal_halog() {
    let dir = tempfile::tempdir().unwrap();
    for format in ["httplog", "httpslog"] {
        let output = dir.path().join(format!("{format}.parquet"));
        convert(&[&corpus(&format!("{format}.rsyslog.log"))], &output, &[]);
        let records = records(&output);
        let mut states = BTreeMap::new();
        let mut statuses = BTreeMap::new();
        for r in &records {
            if let Some(state) = &r["termination_state"] {
                *states.entry(state[..2].to_string()).or_insert(0u64) += 1;
            }
            // halog reads the status field of a connection-error line as 0.
            let status = r["status"].clone().unwrap_or_else(|| "0".to_string());
            *statuses.entry(status).or_insert(0u64) += 1;
        }
        let sort = |m: BTreeMap<String, u64>| m.into_iter().collect::<BTreeMap<_, _>>();
        assert_eq!(sort(states), halog_counts(&format!("{format}.tc.txt")), "{format} -tc");
        let numeric = |m: BTreeMap<String, u64>| -> BTreeMap<i64, u64> {
            m.into_iter().map(|(k, v)| (k.parse().unwrap(), v)).collect()
        };
        assert_eq!(numeric(statuses), numeric(halog_counts(&format!("{format}.st.txt"))), "{format} -st");
    }
}

#[test]
fn summary_reports_halog_style_termination_counts() {
    let dir = tempfile::tempdir().unwrap();
    let summary = convert(&[&corpus("httplog.rsyslog.log")], &dir.path().join("o.parquet"), &[]);
    assert_eq!(reconciliation(&summary), (266, 266, 0, 0));
    let line = summary.lines().find(|l| l.starts_with("--")).unwrap();
    assert!(line.split_whitespace().nth(1) == Some("128"), "{line}");
}
