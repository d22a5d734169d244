//! Against a live HAProxy: `tests/live/harness.py` runs Debian's haproxy on loopback
//! with misbehaving backends and scripted clients, and records which log line each
//! scenario produced and the termination state HAProxy wrote in it. halake must parse
//! every line, give each scenario's row that termination state and status, and its
//! reports must equal halog's over the same file.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{fields, halake, halog_rows, reconciliation, report};

/// One line of `scenarios.tsv`.
struct Scenario {
    frontend: String,
    name: String,
    key_kind: String,
    key: String,
    termination: String,
    status: String,
}

fn run_harness(out: &Path) -> Vec<Scenario> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/live/harness.py");
    let result = Command::new("python3").arg(script).arg(out).output().expect("python3");
    assert!(
        result.status.success(),
        "the live harness failed:\n{}\n{}",
        String::from_utf8_lossy(&result.stdout),
        String::from_utf8_lossy(&result.stderr)
    );
    let text = fs::read_to_string(out.join("scenarios.tsv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split('\t').collect();
    let column = |name: &str| header.iter().position(|h| *h == name).unwrap_or_else(|| panic!("no {name} column"));
    let (frontend, name, key_kind, key) = (column("frontend"), column("scenario"), column("key_kind"), column("key"));
    let (termination, status) = (column("observed_termination"), column("observed_status"));
    lines
        .map(|line| {
            let cells: Vec<&str> = line.split('\t').collect();
            Scenario {
                frontend: cells[frontend].into(),
                name: cells[name].into(),
                key_kind: cells[key_kind].into(),
                key: cells[key].into(),
                termination: cells[termination].into(),
                status: cells[status].into(),
            }
        })
        .collect()
}

/// A row of what halake made of the logs.
struct Row {
    file: String,
    frontend: String,
    client_port: String,
    path: String,
    termination: String,
    status: String,
}

fn rows(parquet: &Path) -> Vec<Row> {
    let query = "SELECT source_file, frontend, client_port, path, termination_state, status FROM logs";
    let result = halake(&["sql", query, parquet.to_str().unwrap(), "--format", "csv"]);
    assert!(result.status.success(), "{}", String::from_utf8_lossy(&result.stderr));
    String::from_utf8(result.stdout)
        .unwrap()
        .lines()
        .skip(1)
        .map(|line| {
            let cells: Vec<String> = line.split(',').map(str::to_string).collect();
            let file = Path::new(&cells[0]).file_name().unwrap().to_string_lossy().into_owned();
            Row {
                file,
                frontend: cells[1].clone(),
                client_port: cells[2].clone(),
                path: cells[3].clone(),
                termination: cells[4].clone(),
                status: cells[5].clone(),
            }
        })
        .collect()
}

#[test]
fn halake_reads_what_a_live_haproxy_logs() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("live");
    let scenarios = run_harness(&out);
    let logs = out.join("logs");

    // Every line parses: rows and events, no reject.
    let parquet = dir.path().join("live.parquet");
    let config = out.join("haproxy.cfg");
    let result = halake(&[
        "convert",
        logs.to_str().unwrap(),
        "-o",
        parquet.to_str().unwrap(),
        "--haproxy-config",
        config.to_str().unwrap(),
    ]);
    let summary = String::from_utf8_lossy(&result.stdout);
    assert!(result.status.success(), "{}", String::from_utf8_lossy(&result.stderr));
    let (lines, rows_count, events, rejects) = reconciliation(&summary);
    assert_eq!(rejects, 0, "every line HAProxy wrote parses:\n{summary}");
    let written: usize = fs::read_dir(&logs)
        .unwrap()
        .map(|entry| fs::read_to_string(entry.unwrap().path()).unwrap().lines().count())
        .sum();
    assert_eq!(lines, written as u64);
    assert!(events >= 1, "the health checks of the global log");

    // Each scenario's lines, in its frontend's syslog file and on stdout, carry what
    // HAProxy logged.
    let rows = rows(&parquet);
    assert_eq!(rows.len() as u64, rows_count);
    let mut checked = 0;
    for scenario in scenarios.iter().filter(|s| s.termination != "-") {
        let syslog_file = format!("{}.syslog.log", scenario.frontend);
        let matching: Vec<&Row> = rows
            .iter()
            .filter(|row| row.file == syslog_file || (row.file == "stdout.log" && row.frontend == scenario.frontend))
            .filter(|row| match scenario.key_kind.as_str() {
                "client_port" => row.client_port == scenario.key,
                _ => row.path.contains(&scenario.key),
            })
            .collect();
        let in_syslog = matching.iter().filter(|row| row.file == syslog_file).count();
        assert!(
            in_syslog >= 1 && matching.len() == 2 * in_syslog,
            "{}/{}: rows {}",
            scenario.frontend,
            scenario.name,
            matching.len()
        );
        for row in matching {
            assert_eq!(
                row.termination, scenario.termination,
                "{}/{} in {}",
                scenario.frontend, scenario.name, row.file
            );
            if scenario.status != "-" {
                assert_eq!(row.status, scenario.status, "{}/{} in {}", scenario.frontend, scenario.name, row.file);
            }
            checked += 1;
        }
    }
    assert!(checked >= 150, "only {checked} scenario rows checked");
    eprintln!("live HAProxy: {} scenarios, {lines} lines parsed, {checked} scenario rows checked", scenarios.len());

    // halake's reports equal halog's on the same file.
    let httplog = logs.join("fe_httplog.syslog.log");
    for (name, option, columns) in [
        ("status_codes", "-st", 2),
        ("termination_codes", "-tc", 2),
        ("cookies", "-cc", 2),
        ("timer_percentiles", "-pct", 6),
    ] {
        let ours: Vec<Vec<String>> = report(name, &httplog).iter().map(|line| fields(line, columns)).collect();
        assert_eq!(ours, halog(&httplog, option), "{name} against halog {option}");
    }
    let ours: Vec<Vec<String>> = report("servers", &httplog).iter().map(|line| fields(line, 12)).collect();
    let theirs: Vec<Vec<String>> = halog(&httplog, "-srv").into_iter().filter(|row| row[7] != "0").collect();
    assert_eq!(ours, theirs, "servers against halog -srv");
}

/// halog over `file`. The datagrams carry no hostname: `-s 0` says so.
fn halog(file: &Path, option: &str) -> Vec<Vec<String>> {
    let input = fs::File::open(file).unwrap();
    let result = Command::new(halog_binary()).args(["-s", "0", option]).stdin(input).output().expect("halog");
    assert!(result.status.success(), "halog {option}: {}", String::from_utf8_lossy(&result.stderr));
    halog_rows(&String::from_utf8_lossy(&result.stdout))
}

/// Debian puts halog in /usr/bin; a PATH without it still finds it there.
fn halog_binary() -> PathBuf {
    ["/usr/bin/halog", "/usr/sbin/halog"].into_iter().map(PathBuf::from).find(|p| p.exists()).unwrap_or("halog".into())
}
