//! HAProxy 3.x's JSON and CBOR lines (`%{+json}o`, `%{+cbor}o`) read as their text
//! twins. Debian 12's HAProxy 2.6 has no encoder, so the lines are the real httplog lines
//! of `data/` re-encoded the way HAProxy 3.x's encoder writes them: the configuration
//! manual's encoding flags (3.0, section 8.2.6) and HAProxy's `sess_build_logline`
//! (src/log.c): `{"key": value, ...}` with `", "` and `": "`, integers as numbers, text
//! quoted with `"` and `\` escaped; CBOR an indefinite map, untyped text as indefinite
//! chunked strings, printed in uppercase hex (spec §6).

mod common;

use std::fs;
use std::path::Path;

use common::{convert, reconciliation, report};

/// The published `%{+json}o` HTTP format, with the keys halake recognises unaided.
const FORMAT: &str = "%{+json}o %(client_ip)ci %(client_port)cp %(request_date)tr %(fe_name_transport)ft %(be_name)b %(server_name)s %(time_request)TR %(time_wait)Tw %(time_connect)Tc %(time_response)Tr %(time_active)Ta %(status_code)ST %(bytes_read)B %(captured_request_cookie)CC %(captured_response_cookie)CS %(termination_state_cookie)tsc %(actconn)ac %(feconn)fc %(beconn)bc %(srv_conn)sc %(retries)rc %(srv_queue)sq %(backend_queue)bq %(captured_request_headers)hr %(captured_response_headers)hs %(http_request)r";

enum Field<'a> {
    Text(&'a str),
    Number(&'a str),
}

/// The fields of an httplog line, by the keys of [`FORMAT`]; `None` for other lines.
fn httplog_fields(line: &str) -> Option<(&str, Vec<(&'static str, Field<'_>)>)> {
    let message = line.find("]: ").map(|at| at + 3)?;
    let (header, body) = line.split_at(message);
    let request_start = body.find('"')?;
    let request = body[request_start..].strip_prefix('"')?.strip_suffix('"')?;
    let words: Vec<&str> = body[..request_start].split(' ').filter(|w| !w.is_empty()).collect();
    if words.len() < 12 || !words[1].starts_with('[') {
        return None;
    }
    let (ip, port) = words[0].rsplit_once(':')?;
    let (backend, server) = words[3].split_once('/')?;
    let timers: Vec<&str> = words[4].split('/').collect();
    let conns: Vec<&str> = words[10].split('/').collect();
    let queues: Vec<&str> = words[11].split('/').collect();
    if timers.len() != 5 || conns.len() != 5 || queues.len() != 2 {
        return None;
    }
    // The capture blocks are braced and cannot hold a quote: they are what is left.
    let blocks: Vec<&str> = body[..request_start].match_indices('{').map(|(at, _)| &body[at..]).collect();
    let block = |index: usize| blocks.get(index).and_then(|b| b.find('}').map(|end| &b[..=end])).unwrap_or("");
    let number = Field::Number;
    let fields = vec![
        ("client_ip", Field::Text(ip)),
        ("client_port", number(port)),
        ("request_date", Field::Text(words[1].trim_start_matches('[').trim_end_matches(']'))),
        ("fe_name_transport", Field::Text(words[2])),
        ("be_name", Field::Text(backend)),
        ("server_name", Field::Text(server)),
        ("time_request", number(timers[0])),
        ("time_wait", number(timers[1])),
        ("time_connect", number(timers[2])),
        ("time_response", number(timers[3])),
        ("time_active", number(timers[4])),
        ("status_code", number(words[5])),
        ("bytes_read", number(words[6])),
        // `-` is the text item's "empty": JSON writes "".
        ("captured_request_cookie", Field::Text(words[7].trim_start_matches('-'))),
        ("captured_response_cookie", Field::Text(words[8].trim_start_matches('-'))),
        ("termination_state_cookie", Field::Text(words[9])),
        ("actconn", number(conns[0])),
        ("feconn", number(conns[1])),
        ("beconn", number(conns[2])),
        ("srv_conn", number(conns[3])),
        ("retries", number(conns[4])),
        ("srv_queue", number(queues[0])),
        ("backend_queue", number(queues[1])),
        ("captured_request_headers", Field::Text(block(0))),
        ("captured_response_headers", Field::Text(block(1))),
        ("http_request", Field::Text(request)),
    ];
    Some((header, fields))
}

fn json(fields: &[(&str, Field)]) -> String {
    let members: Vec<String> = fields
        .iter()
        .map(|(key, value)| match value {
            Field::Number(n) => format!("\"{key}\": {n}"),
            Field::Text(t) => format!("\"{key}\": \"{}\"", t.replace('\\', "\\\\").replace('"', "\\\"")),
        })
        .collect();
    format!("{{{}}}", members.join(", "))
}

fn cbor_hex(fields: &[(&str, Field)]) -> String {
    fn head(out: &mut Vec<u8>, major: u8, n: u64) {
        let major = major << 5;
        match n {
            0..24 => out.push(major | n as u8),
            24..0x100 => out.extend_from_slice(&[major | 24, n as u8]),
            0x100..0x10000 => {
                out.push(major | 25);
                out.extend_from_slice(&(n as u16).to_be_bytes());
            }
            _ => {
                out.push(major | 26);
                out.extend_from_slice(&(n as u32).to_be_bytes());
            }
        }
    }
    let mut out = vec![0xBF];
    for (key, value) in fields {
        head(&mut out, 3, key.len() as u64);
        out.extend_from_slice(key.as_bytes());
        match value {
            Field::Number(n) => {
                let n: i64 = n.trim_start_matches('+').parse().unwrap();
                if n >= 0 { head(&mut out, 0, n as u64) } else { head(&mut out, 1, (-1 - n) as u64) }
            }
            Field::Text(t) => {
                out.push(0x7F);
                if !t.is_empty() {
                    head(&mut out, 3, t.len() as u64);
                    out.extend_from_slice(t.as_bytes());
                }
                out.push(0xFF);
            }
        }
    }
    out.push(0xFF);
    out.iter().map(|b| format!("{b:02X}")).collect()
}

/// `data/httplog.rsyslog.log`'s httplog lines as text, JSON and CBOR files.
fn encoded_twins(dir: &Path) -> (usize, [std::path::PathBuf; 3]) {
    let source = fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("data/httplog.rsyslog.log")).unwrap();
    let (mut text, mut json_lines, mut cbor_lines) = (String::new(), String::new(), String::new());
    let mut count = 0;
    for line in source.lines() {
        let Some((header, fields)) = httplog_fields(line) else { continue };
        text += &format!("{line}\n");
        json_lines += &format!("{header}{}\n", json(&fields));
        cbor_lines += &format!("{header}{}\n", cbor_hex(&fields));
        count += 1;
    }
    let paths = [dir.join("text.log"), dir.join("json.log"), dir.join("cbor.log")];
    for (path, content) in paths.iter().zip([text, json_lines, cbor_lines]) {
        fs::write(path, content).unwrap();
    }
    (count, paths)
}

#[test]
fn json_and_cbor_lines_give_the_reports_of_their_text_twins() {
    let dir = tempfile::tempdir().unwrap();
    let (count, [text, json, cbor]) = encoded_twins(dir.path());
    assert!(count >= 100, "only {count} httplog lines in the sample");
    let cbor_format = FORMAT.replace("+json", "+cbor");
    let mut reports: Vec<(String, Vec<Vec<String>>)> = Vec::new();
    for (name, input, format) in [
        ("text", &text, None),
        ("json, recognised", &json, None),
        ("json, with its format", &json, Some(FORMAT)),
        ("cbor, recognised", &cbor, None),
        ("cbor, with its format", &cbor, Some(cbor_format.as_str())),
    ] {
        let parquet = dir.path().join(format!("{}.parquet", name.replace([',', ' '], "_")));
        let extra: Vec<&str> = format.map(|f| vec!["--log-format", f]).unwrap_or_default();
        let summary = convert(&[input], &parquet, &extra);
        let (lines, rows, _, rejects) = reconciliation(&summary);
        assert_eq!((lines, rows, rejects), (count as u64, count as u64, 0), "{name}:\n{summary}");
        let tables =
            ["termination_codes", "status_codes", "servers", "timer_percentiles"].map(|r| report(r, &parquet)).to_vec();
        reports.push((name.to_string(), tables));
    }
    let (_, expected) = &reports[0];
    for (name, tables) in &reports[1..] {
        assert_eq!(tables, expected, "{name} against text");
    }
}

#[test]
fn sql_sees_the_same_rows_in_every_encoding() {
    let dir = tempfile::tempdir().unwrap();
    let (_, [text, json, cbor]) = encoded_twins(dir.path());
    let query = "SELECT client_port, request_time, frontend, frontend_tls, backend, server, request_ms, queue_ms, \
                 connect_ms, response_ms, active_ms, status, bytes_to_client, termination_state, termination_cause, \
                 termination_phase, active_conns, retries, server_queue, request_headers, method, path, query, \
                 http_version FROM logs ORDER BY source_line";
    let rows = |input: &Path| {
        let output = common::halake(&["sql", query, input.to_str().unwrap(), "--format", "csv"]);
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).unwrap()
    };
    let expected = rows(&text);
    assert_eq!(rows(&json), expected, "JSON");
    assert_eq!(rows(&cbor), expected, "CBOR");
}
