//! `halake sql` over raw logs, Parquet and datasets: the same answers whatever the
//! input, every output format readable, and the functions checked against the log text.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use common::{convert, corpus, halake, read_parquet};

fn sql(args: &[&str]) -> String {
    let output = halake(&[&["sql"], args].concat());
    assert!(output.status.success(), "sql {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

fn csv_rows(args: &[&str]) -> Vec<String> {
    let text = sql(&[args, &["--format", "csv"]].concat());
    text.lines().skip(1).map(str::to_string).collect()
}

const BY_STATE: &str = "SELECT termination_state, count(*) AS n, sum(bytes_to_client) AS bytes, \
     max(request_time) AS last FROM logs GROUP BY 1 ORDER BY 1";

#[test]
fn raw_logs_parquet_and_a_dataset_give_the_same_answers() {
    let dir = tempfile::tempdir().unwrap();
    let logs = [corpus("httplog.rsyslog.log"), corpus("tcplog.rsyslog.log"), corpus("httpslog.raw.log")];
    let log_args: Vec<&str> = logs.iter().map(|p| p.to_str().unwrap()).collect();
    let parquet = dir.path().join("all.parquet");
    let lake = dir.path().join("lake/");
    let inputs: Vec<&Path> = logs.iter().map(|p| p.as_path()).collect();
    convert(&inputs, &parquet, &[]);
    convert(&inputs, &lake, &[]);
    let raw = csv_rows(&[&[BY_STATE], log_args.as_slice()].concat());
    assert!(raw.len() > 20, "{raw:?}");
    assert_eq!(csv_rows(&[BY_STATE, parquet.to_str().unwrap()]), raw);
    assert_eq!(csv_rows(&[BY_STATE, lake.to_str().unwrap()]), raw);
    // The row count is the convert summary's.
    let rows: u64 = read_parquet(&parquet).iter().map(|b| b.num_rows() as u64).sum();
    let count = csv_rows(&[&["SELECT count(*) FROM logs"], log_args.as_slice()].concat());
    assert_eq!(count, [rows.to_string()]);
}

#[test]
fn a_dataset_exposes_its_partitions_as_columns() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake/");
    convert(&[&corpus("httplog.rsyslog.log")], &lake, &["--partition", "hour"]);
    let days = csv_rows(&["SELECT DISTINCT date, hour FROM logs ORDER BY 1, 2", lake.to_str().unwrap()]);
    assert_eq!(days, ["2026-11-23,20"]);
    let none = csv_rows(&["SELECT count(*) FROM logs WHERE date = '2025-01-01'", lake.to_str().unwrap()]);
    assert_eq!(none, ["0"]);
}

/// A rotated log holds nothing newer than its last write: a query that asks for later
/// times does not read it, says so, and answers as if it had.
#[test]
fn a_time_filter_skips_logs_last_written_before_it() {
    let dir = tempfile::tempdir().unwrap();
    // The corpus lines are from 2026-11-23 20:36 UTC.
    let written = |name: &str, unix_seconds: u64| {
        let path = dir.path().join(name);
        std::fs::copy(corpus("httplog.rsyslog.log"), &path).unwrap();
        let time = std::time::UNIX_EPOCH + std::time::Duration::from_secs(unix_seconds);
        std::fs::File::options().write(true).open(&path).unwrap().set_modified(time).unwrap();
        path.to_str().unwrap().to_string()
    };
    let rotated = written("haproxy.log.1", 1_795_467_600); // 2026-11-23T21:00:00Z
    let current = written("haproxy.log", 1_795_996_800); // 2026-11-30T00:00:00Z
    let query = |filter: &str| {
        let text = format!("SELECT count(*) FROM logs WHERE {filter}");
        let output = halake(&["sql", &text, &rotated, &current, "--format", "csv"]);
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        let count = String::from_utf8(output.stdout).unwrap().lines().nth(1).unwrap().to_string();
        (count, String::from_utf8(output.stderr).unwrap())
    };
    let skipped = "1 input(s) not read: last written over two days before the time filter";

    for filter in [
        "request_time >= '2026-11-26'",
        "TIMESTAMP '2026-11-26 00:00:00' < accept_time",
        "syslog_time BETWEEN '2026-11-26' AND '2026-12-01'",
        "request_time > '2026-11-26' AND status = 200",
    ] {
        let (count, notes) = query(filter);
        assert_eq!(count, "0", "{filter}");
        assert!(notes.contains(skipped), "{filter}: {notes}");
    }
    // Within two days of the rotated file's last write, or no lower bound: both are read.
    let (two_days_later, notes) = query("request_time >= '2026-11-25 20:00:00'");
    assert_eq!((two_days_later.as_str(), notes.contains("not read")), ("0", false));
    let (all, notes) = query("request_time >= '2026-11-23' OR status = 200");
    let (per_file, _) = query("request_time >= '2026-11-23' AND source_file LIKE '%.1'");
    assert!(!notes.contains("not read"), "{notes}");
    assert_eq!(all.parse::<u64>().unwrap(), 2 * per_file.parse::<u64>().unwrap());
    assert!(per_file.parse::<u64>().unwrap() > 100, "{per_file}");

    // The skipped file is not read at all: one whose last write (backdated) contradicts
    // its lines gives none of them.
    let backdated = written("haproxy.log.2", 1_793_491_200); // 2026-11-01T00:00:00Z
    let text = "SELECT count(*) FROM logs WHERE request_time >= '2026-11-23'";
    let output = halake(&["sql", text, &backdated, &current, "--format", "csv"]);
    assert_eq!(String::from_utf8(output.stdout).unwrap().lines().nth(1), Some(per_file.as_str()));
    assert!(String::from_utf8(output.stderr).unwrap().contains(skipped));
    // Planning alone skips nothing.
    let explain = halake(&["sql", &format!("EXPLAIN {text}"), &backdated, &current]);
    assert!(!String::from_utf8(explain.stderr).unwrap().contains("not read"));

    // A time from before HAProxy existed is a placeholder (an archive's, a build's), not
    // a last write: the file is read.
    let placeholder = written("haproxy.log.3", 315_532_800); // 1980-01-01, as zip stores it
    let output = halake(&["sql", text, &placeholder, &current, "--format", "csv"]);
    let expected = (2 * per_file.parse::<u64>().unwrap()).to_string();
    assert_eq!(String::from_utf8(output.stdout).unwrap().lines().nth(1), Some(expected.as_str()));
}

/// A raw scan says about how many rows it holds (from the files' sizes), so a join keeps
/// a small table, not the logs, in memory: a cross join holds its first side.
#[test]
fn joins_hold_the_small_side_not_the_logs() {
    let log = corpus("httplog.rsyslog.log");
    let query = "SELECT count(*) FROM logs CROSS JOIN (VALUES (1), (2)) AS t(x)";
    let plan = sql(&[&format!("EXPLAIN {query}"), log.to_str().unwrap(), "--format", "csv"]);
    let physical = &plan[plan.find("physical_plan").expect("a physical plan")..];
    let held = physical.find("CrossJoinExec").expect("a cross join");
    let values = physical[held..].find("DataSourceExec").expect("the values");
    let logs = physical[held..].find("estimated_rows=").expect("the log scan, with its estimate");
    assert!(values < logs, "{physical}");
    // The estimate plans the query; the rows themselves answer it.
    let rows = csv_rows(&["SELECT count(*) FROM logs", log.to_str().unwrap()]);
    let joined = csv_rows(&[query, log.to_str().unwrap()]);
    assert_eq!(joined[0].parse::<usize>().unwrap(), 2 * rows[0].parse::<usize>().unwrap());
}

#[test]
fn limit_projection_and_extra_tables() {
    let log = corpus("httplog.rsyslog.log");
    let log = log.to_str().unwrap();
    assert_eq!(csv_rows(&["SELECT client_ip FROM logs LIMIT 5", log]).len(), 5);
    let joined = csv_rows(&[
        "SELECT count(*) FROM logs JOIN other USING (source_line) WHERE logs.status = other.status",
        log,
        "--table",
        &format!("other={log}"),
    ]);
    let rows = csv_rows(&["SELECT count(*) FROM logs WHERE status IS NOT NULL", log]);
    assert_eq!(joined, rows);
}

#[test]
fn every_output_format_is_readable() {
    let log = corpus("httpslog.rsyslog.log");
    let log = log.to_str().unwrap();
    let query =
        "SELECT status, termination_cause, request_headers, request_time FROM logs ORDER BY source_line LIMIT 3";
    let table = sql(&[query, log]);
    assert!(table.contains("| status") && table.contains("3 rows"), "{table}");
    let cut = sql(&[query, log, "--max-rows", "2"]);
    assert!(cut.contains("2 of 3 rows shown"), "{cut}");
    let json: serde_json::Value = serde_json::from_str(&sql(&[query, log, "--format", "json"])).unwrap();
    assert_eq!(json.as_array().unwrap().len(), 3);
    let ndjson = sql(&[query, log, "--format", "ndjson"]);
    for line in ndjson.lines() {
        serde_json::from_str::<serde_json::Value>(line).unwrap();
    }
    assert_eq!(ndjson.lines().count(), 3);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("result.parquet");
    sql(&[query, log, "--format", "parquet", "-o", out.to_str().unwrap()]);
    assert_eq!(read_parquet(&out).iter().map(|b| b.num_rows()).sum::<usize>(), 3);
    let refused = halake(&["sql", query, log, "--format", "parquet"]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("needs -o"));
}

#[test]
fn request_text_gives_back_the_logged_request_of_every_row() {
    let log = corpus("httplog.rsyslog.log");
    // The request is the last quoted field of an httplog line (or what follows its
    // opening quote, where HAProxy's len cut the line), #XX escapes aside.
    let logged: BTreeSet<String> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .filter_map(|line| line.strip_suffix('"').unwrap_or(line).rsplit_once('"').map(|(_, r)| r.to_string()))
        .filter(|request| !request.contains('#'))
        .collect();
    let rebuilt: BTreeSet<String> = csv_rows(&[
        "SELECT DISTINCT coalesce(request_line, request_text(method, uri_origin, path, query, http_version)) \
         FROM logs WHERE status IS NOT NULL",
        log.to_str().unwrap(),
    ])
    .into_iter()
    .map(|row| row.trim_matches('"').to_string())
    .collect();
    assert_eq!(rebuilt, logged);
}

#[test]
fn a_query_file_runs_its_statements_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("q.sql");
    std::fs::write(
        &file,
        "CREATE VIEW errors AS SELECT * FROM logs WHERE status >= 500;\n\
         SELECT status_class(status) AS class, count(*) FROM errors GROUP BY 1 ORDER BY 1;\n",
    )
    .unwrap();
    let rows = csv_rows(&["-f", file.to_str().unwrap(), corpus("httplog.rsyslog.log").to_str().unwrap()]);
    assert_eq!(rows, ["5xx,59"]);
}

#[test]
fn bad_sql_is_a_clear_error() {
    let output = halake(&["sql", "SELEC nothing", corpus("httplog.rsyslog.log").to_str().unwrap()]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("SELEC"), "{stderr}");
}
