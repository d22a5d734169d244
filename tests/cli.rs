//! The binary on inputs the corpus does not have: broken lines, mixed files, options.

mod common;

use std::fs;

use common::{convert, corpus, halake, reconciliation, records};

const HTTP_LINE: &str = r#"127.0.0.1:59534 [23/Nov/2026:20:36:02.589] fe_http be_app/app1 0/0/0/0/0 200 96 - - ---- 1/1/0/0/0 0/0 {h|ua} {text/plain} "GET /ok HTTP/1.1""#;

#[test]
fn broken_lines_are_rejected_with_file_line_and_reason_and_the_rest_converts() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("bad.log");
    let mut bytes = Vec::new();
    bytes.extend_from_slice(HTTP_LINE.as_bytes());
    bytes.extend_from_slice(b"\r\n"); // 1: CRLF
    bytes.extend_from_slice(b"\n"); // 2: empty
    bytes.extend_from_slice(b"this is not haproxy\n"); // 3: garbage
    bytes.extend_from_slice(b"\x00\x01\x02\xff\xfe\n"); // 4: binary
    // 5: a raw control byte in a capture slot (HAProxy would have encoded it): kept
    bytes.extend_from_slice(HTTP_LINE.replace("{h|ua}", "{h|u\u{1}a}").as_bytes());
    bytes.extend_from_slice(b"\n");
    let mut invalid = HTTP_LINE.as_bytes().to_vec();
    let at = invalid.iter().position(|&b| b == b'|').unwrap();
    invalid.insert(at + 1, 0xff);
    bytes.extend_from_slice(&invalid); // 6: a raw 0xFF byte in the User-Agent slot
    bytes.extend_from_slice(b"\n");
    let long = HTTP_LINE.replace("GET /ok", &format!("GET /{}", "x".repeat(300_000)));
    bytes.extend_from_slice(long.as_bytes()); // 7: a 300 KB line
    bytes.extend_from_slice(b"\n");
    bytes.extend_from_slice(HTTP_LINE.replace("be_app/app1", "be_app\0/app1").as_bytes()); // 8: NUL
    bytes.extend_from_slice(b"\n");
    bytes.extend_from_slice(HTTP_LINE.as_bytes()); // 9: no final newline
    fs::write(&input, &bytes).unwrap();

    let output = dir.path().join("out.parquet");
    let rejects = dir.path().join("rejects.jsonl");
    let summary = convert(&[&input], &output, &["--rejects", rejects.to_str().unwrap()]);
    assert_eq!(reconciliation(&summary), (9, 5, 0, 4), "{summary}");
    assert!(summary.contains(&format!("rejected {}:2: empty line", input.display())), "{summary}");

    let rejected: Vec<serde_json::Value> =
        fs::read_to_string(&rejects).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let lines: Vec<u64> = rejected.iter().map(|r| r["line"].as_u64().unwrap()).collect();
    assert_eq!(lines, [2, 3, 4, 8]);
    assert_eq!(rejected[1]["text"], "this is not haproxy");
    assert_eq!(rejected[1]["file"], input.display().to_string());
    assert_eq!(rejected[2]["reason"], "NUL byte at byte 1 (corrupted file?)");
    assert_eq!(rejected[3]["reason"], "NUL byte at byte 58 (corrupted file?)");

    let rows = records(&output);
    let lines: Vec<&str> = rows.iter().map(|r| r["source_line"].as_deref().unwrap()).collect();
    assert_eq!(lines, ["1", "5", "6", "7", "9"]);
    assert_eq!(rows[0]["http_version"].as_deref(), Some("HTTP/1.1"), "CR stripped");
    assert_eq!(rows[2]["invalid_utf8"].as_deref(), Some("true"));
    assert_eq!(rows[2]["request_headers"].as_deref(), Some("[h, \u{fffd}ua]"));
    assert_eq!(rows[3]["path"].as_deref().map(str::len), Some(300_001));
    assert_eq!(rows[4]["status"].as_deref(), Some("200"));
}

#[test]
fn strict_fails_on_the_first_reject_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("bad.log");
    fs::write(&input, format!("{HTTP_LINE}\nnot a log line\n{HTTP_LINE}\n")).unwrap();
    let output = dir.path().join("out.parquet");
    let result = halake(&["convert", input.to_str().unwrap(), "-o", output.to_str().unwrap(), "--strict"]);
    assert!(!result.status.success());
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(stderr.contains(&format!("{}:2: rejected: not an HAProxy traffic line", input.display())), "{stderr}");
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1, "only the input remains");
}

/// One syslog file for every frontend, as rsyslog writes it: all formats interleaved.
#[test]
fn a_file_mixing_every_format_converts_in_one_pass() {
    let dir = tempfile::tempdir().unwrap();
    let mut lines: Vec<String> = Vec::new();
    let mut expected_rows = 0;
    for format in ["httplog", "httpslog", "tcplog", "clf", "default_http", "default_tcp", "events"] {
        let text = fs::read_to_string(corpus(&format!("{format}.rsyslog.log"))).unwrap();
        if format != "events" {
            expected_rows += text.lines().count() as u64;
        }
        lines.extend(text.lines().map(str::to_string));
    }
    // Interleave by header time, as one daemon would have written them.
    lines.sort_by(|a, b| a[..15].cmp(&b[..15]));
    let input = dir.path().join("haproxy.log");
    fs::write(&input, lines.join("\n") + "\n").unwrap();
    let output = dir.path().join("out.parquet");
    let summary = convert(&[&input], &output, &[]);
    assert_eq!(reconciliation(&summary), (lines.len() as u64, expected_rows, 131, 0));
    let formats: std::collections::BTreeSet<String> =
        records(&output).iter().map(|r| r["log_format"].clone().unwrap()).collect();
    let expected = ["connect", "connection_error", "httplog", "httplog_clf", "httpslog", "tcplog"];
    assert_eq!(formats.into_iter().collect::<Vec<_>>(), expected);
}

#[test]
fn timezone_turns_local_dates_into_instants() {
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("out.parquet");
    convert(&[&corpus("tcplog.rsyslog.log")], &output, &["--timezone", "Europe/Paris"]);
    let first = &records(&output)[0];
    // [23/Nov/2026:20:37:00.614] in Paris (UTC+1 in November); header Nov 23 20:37:00.
    assert_eq!(first["accept_time"].as_deref(), Some("2026-11-23T19:37:00.614Z"));
    assert_eq!(first["syslog_time"].as_deref(), Some("2026-11-23T19:37:00Z"));

    let result = halake(&["convert", "x.log", "-o", "y.parquet", "--timezone", "Mars/Olympus"]);
    assert!(String::from_utf8_lossy(&result.stderr).contains("unknown time zone 'Mars/Olympus'"));
}

/// An undated line (an event) in a file written just after New Year keeps last year's date.
#[test]
fn undated_rfc3164_lines_take_the_year_nearest_the_file_time() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("events.log");
    fs::write(&input, "Dec 31 23:59:59 lb haproxy[1]: Server be/s1 is DOWN.\n").unwrap();
    let new_year_2027 = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_798_761_600 + 60);
    fs::File::options().write(true).open(&input).unwrap().set_modified(new_year_2027).unwrap();
    let events = dir.path().join("events.parquet");
    convert(&[&input], &dir.path().join("out.parquet"), &["--events", events.to_str().unwrap()]);
    assert_eq!(records(&events)[0]["syslog_time"].as_deref(), Some("2026-12-31T23:59:59Z"));
}

#[test]
fn legacy_timers_read_pre_17_http_lines() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("old.log");
    // HAProxy 1.5 manual example: Tq/Tw/Tc/Tr/Tt and the accept date.
    fs::write(
        &input,
        "Feb  6 12:14:14 localhost haproxy[14389]: 10.0.1.2:33317 [06/Feb/2009:12:14:14.655] http-in static/srv1 10/0/30/69/109 200 2750 - - ---- 1/1/1/1/0 0/0 {1wt.eu} {} \"GET /index.html HTTP/1.1\"\n",
    )
    .unwrap();
    let output = dir.path().join("out.parquet");
    convert(&[&input], &output, &["--legacy-timers"]);
    let row = &records(&output)[0];
    assert_eq!(row["request_total_ms"].as_deref(), Some("10"));
    assert_eq!(row["total_ms"].as_deref(), Some("109"));
    assert_eq!(row["request_ms"], None);
    assert_eq!(row["accept_time"].as_deref(), Some("2009-02-06T12:14:14.655Z"));
    assert_eq!(row["syslog_time"].as_deref(), Some("2009-02-06T12:14:14Z"), "year from the line's own date");
}

#[test]
fn log_format_argument_as_pasted_from_haproxy_cfg() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("custom.log");
    fs::write(&input, "127.0.0.1:5 \"GET /x HTTP/1.1\" 200 fe_x Mozilla/5.0 (X11)\n").unwrap();
    let output = dir.path().join("out.parquet");
    let format = r#""%ci:%cp %{+Q}r %ST %f %[var(txn.ua)]""#;
    let summary = convert(&[&input], &output, &["--log-format", format]);
    assert_eq!(reconciliation(&summary), (1, 1, 0, 0));
    let row = &records(&output)[0];
    assert_eq!(row["log_format"].as_deref(), Some("custom"));
    assert_eq!(row["var_txn_ua"].as_deref(), Some("Mozilla/5.0 (X11)"));
    assert_eq!(row["path"].as_deref(), Some("/x"));
}

#[test]
fn schema_lists_columns_with_their_meaning() {
    let result = halake(&["schema", "--haproxy-config", corpus("haproxy.cfg").to_str().unwrap()]);
    assert!(result.status.success());
    let text = String::from_utf8(result.stdout).unwrap();
    let line = |name: &str| text.lines().find(|l| l.split_whitespace().next() == Some(name)).map(str::to_string);
    assert!(line("termination_cause").unwrap().contains("Dictionary(UInt8, Utf8)"));
    assert!(line("request_time").unwrap().contains("request started"));
    assert!(line("request_header_user_agent").unwrap().contains("User-Agent"));
    let events = String::from_utf8(halake(&["schema", "--events"]).stdout).unwrap();
    assert!(events.contains("event_kind"));

    let tcplog = String::from_utf8(halake(&["schema", "--format", "tcplog"]).stdout).unwrap();
    let names: Vec<&str> = tcplog.lines().filter_map(|l| l.split_whitespace().next()).collect();
    assert!(names.contains(&"total_ms") && names.contains(&"termination_phase") && names.contains(&"syslog_host"));
    assert!(!names.contains(&"status") && !names.contains(&"request_ms"), "{names:?}");
    let unknown = halake(&["schema", "--format", "nope"]);
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("known formats are httplog, httpslog, tcplog"));
}

#[test]
fn compression_is_chosen_per_run() {
    use parquet::basic::Compression;
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let dir = tempfile::tempdir().unwrap();
    let codec = |args: &[&str]| {
        let output = dir.path().join("out.parquet");
        convert(&[&corpus("tcplog.raw.log")], &output, args);
        let reader = SerializedFileReader::new(fs::File::open(&output).unwrap()).unwrap();
        reader.metadata().row_group(0).column(0).compression()
    };
    assert!(matches!(codec(&[]), Compression::ZSTD(_)));
    assert_eq!(codec(&["--compression", "none"]), Compression::UNCOMPRESSED);
    let bad = halake(&["convert", "x.log", "-o", "y.parquet", "--compression", "zstd:40"]);
    assert!(String::from_utf8_lossy(&bad.stderr).contains("zstd levels go from 1 to 22"));
}
