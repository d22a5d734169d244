//! Hostile and broken input: every case ends with a clear message naming the file and the
//! line (or byte offset), the rest of the input still converts, and the reconciliation
//! lines = rows + events + rejects holds. No case may panic or crash.

mod common;

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Output;

use common::{corpus, halake, reconciliation, records};

const GOOD: &str = "httplog.rsyslog.log";

fn good_lines() -> usize {
    fs::read_to_string(corpus(GOOD)).unwrap().lines().count()
}

/// Runs `halake convert INPUTS -o out.parquet --rejects rejects.jsonl` in `dir`.
fn convert_in(dir: &Path, inputs: &[&Path]) -> (Output, PathBuf, PathBuf) {
    let output = dir.join("out.parquet");
    let rejects = dir.join("rejects.jsonl");
    let mut args: Vec<String> = vec!["convert".into()];
    args.extend(inputs.iter().map(|p| p.display().to_string()));
    args.extend(["-o", output.to_str().unwrap(), "--rejects", rejects.to_str().unwrap()].map(String::from));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    (halake(&args), output, rejects)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A run that must succeed: returns (lines, rows, events, rejects) and the reject records.
fn converts(dir: &Path, inputs: &[&Path]) -> ((u64, u64, u64, u64), Vec<serde_json::Value>) {
    let (result, output, rejects) = convert_in(dir, inputs);
    assert!(result.status.success(), "{}", text(&result.stderr));
    assert!(result.status.code() == Some(0), "{}", text(&result.stderr));
    let counts = reconciliation(&text(&result.stdout));
    assert_eq!(records(&output).len() as u64, counts.1, "rows in the file");
    let rejects: Vec<serde_json::Value> =
        fs::read_to_string(rejects).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(rejects.len() as u64, counts.3);
    for reject in &rejects {
        assert!(reject["line"].as_u64().unwrap() >= 1, "{reject}");
        assert!(reject["file"].as_str().unwrap().ends_with(".log"), "{reject}");
        assert!(!reject["reason"].as_str().unwrap().is_empty(), "{reject}");
    }
    (counts, rejects)
}

/// A run whose output is written but some input could not be read: exit status 2.
fn converts_partly(dir: &Path, inputs: &[&Path]) -> ((u64, u64, u64, u64), String) {
    let (result, output, _) = convert_in(dir, inputs);
    let stderr = text(&result.stderr);
    assert_eq!(result.status.code(), Some(2), "{stderr}");
    let counts = reconciliation(&text(&result.stdout));
    assert_eq!(records(&output).len() as u64, counts.1, "rows in the file");
    (counts, stderr)
}

#[test]
fn binary_garbage_is_rejected_line_by_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = fastrand::Rng::with_seed(7);
    let garbage: Vec<u8> = (0..200_000).map(|_| rng.u8(..)).collect();
    let path = dir.path().join("garbage.log");
    fs::write(&path, &garbage).unwrap();
    let ((lines, rows, events, rejects), _) = converts(dir.path(), &[&path]);
    assert_eq!(lines, halake::input::count_lines(&garbage));
    assert_eq!((rows, events, rejects), (0, 0, lines));
}

#[test]
fn nul_bytes_and_invalid_utf8_in_any_field_never_break_a_run() {
    let dir = tempfile::tempdir().unwrap();
    let lines: Vec<String> = fs::read_to_string(corpus(GOOD)).unwrap().lines().take(40).map(String::from).collect();
    // Every byte position of a few real lines, once with NUL and once with an invalid
    // UTF-8 byte: fields of every kind get them (numbers, names, timers, captures, URL).
    let mut input = Vec::new();
    let mut expected_lines = 0;
    for line in &lines[..3] {
        for position in 0..line.len() {
            for bad in [0x00u8, 0xff] {
                input.extend_from_slice(&line.as_bytes()[..position]);
                input.push(bad);
                input.extend_from_slice(&line.as_bytes()[position..]);
                input.push(b'\n');
                expected_lines += 1;
            }
        }
    }
    let path = dir.path().join("bytes.log");
    fs::write(&path, &input).unwrap();
    let ((lines, rows, events, rejects), _) = converts(dir.path(), &[&path]);
    assert_eq!(lines, expected_lines);
    assert!(rows > 0 && rejects > 0, "rows {rows}, rejects {rejects}");
    assert_eq!(events, 0);
}

#[test]
fn crlf_lines_parse_like_lf_lines() {
    let dir = tempfile::tempdir().unwrap();
    let lf = fs::read_to_string(corpus(GOOD)).unwrap();
    let crlf_path = dir.path().join("crlf.log");
    fs::write(&crlf_path, lf.replace('\n', "\r\n")).unwrap();
    let ((lines, rows, _, rejects), _) = converts(dir.path(), &[&crlf_path]);
    assert_eq!((lines, rejects), (good_lines() as u64, 0));
    let crlf_rows = records(&dir.path().join("out.parquet"));
    let lf_dir = tempfile::tempdir().unwrap();
    let (_, _) = converts(lf_dir.path(), &[&corpus(GOOD)]);
    let lf_rows = records(&lf_dir.path().join("out.parquet"));
    assert_eq!(crlf_rows.len() as u64, rows);
    for (crlf, lf) in crlf_rows.iter().zip(&lf_rows) {
        for (column, value) in lf {
            if column != "source_file" {
                assert_eq!(crlf.get(column), Some(value), "column {column}");
            }
        }
    }
}

#[test]
fn a_one_megabyte_line_and_empty_lines_are_rejected_the_rest_converts() {
    let dir = tempfile::tempdir().unwrap();
    let mut input = fs::read_to_string(corpus(GOOD)).unwrap();
    input.push_str(&"x".repeat(1 << 20));
    input.push_str("\n\n\n");
    input.push_str(&fs::read_to_string(corpus(GOOD)).unwrap());
    let path = dir.path().join("long.log");
    fs::write(&path, input).unwrap();
    let ((lines, rows, events, rejects), found) = converts(dir.path(), &[&path]);
    let good = good_lines() as u64;
    assert_eq!(lines, 2 * good + 3);
    assert_eq!((rows + events, rejects), (2 * good, 3));
    assert_eq!(found[0]["line"].as_u64(), Some(good + 1));
}

#[test]
fn empty_files_and_a_file_ending_mid_line() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.log");
    fs::write(&empty, "").unwrap();
    let good = fs::read_to_string(corpus(GOOD)).unwrap();
    let cut = dir.path().join("cut.log");
    // The last line loses its end: a line cut by `len` or by a crash of the writer.
    fs::write(&cut, &good[..good.len() - 40]).unwrap();
    let ((lines, rows, events, rejects), _) = converts(dir.path(), &[&empty, &cut]);
    assert_eq!(lines, good_lines() as u64);
    assert_eq!(lines, rows + events + rejects);
    let only_empty = tempfile::tempdir().unwrap();
    let ((lines, ..), _) = converts(only_empty.path(), &[&empty]);
    assert_eq!(lines, 0);
}

#[test]
fn lines_of_other_programs_in_the_same_syslog_file_are_rejected_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let mut input = String::new();
    let others = [
        "Nov 23 20:36:02 myhost sshd[811]: Accepted publickey for root from 10.0.0.1 port 51000 ssh2",
        "Nov 23 20:36:02 myhost kernel: [12345.678] eth0: link up",
        "Nov 23 20:36:03 myhost CRON[900]: (root) CMD (run-parts /etc/cron.hourly)",
        "Nov 23 20:36:03 myhost systemd[1]: Started haproxy.service - HAProxy Load Balancer.",
    ];
    for (i, line) in fs::read_to_string(corpus(GOOD)).unwrap().lines().enumerate() {
        input.push_str(line);
        input.push('\n');
        if i % 10 == 0 {
            input.push_str(others[i / 10 % others.len()]);
            input.push('\n');
        }
    }
    let path = dir.path().join("syslog.log");
    fs::write(&path, input).unwrap();
    let ((lines, rows, _, rejects), found) = converts(dir.path(), &[&path]);
    let inserted = good_lines().div_ceil(10) as u64;
    assert_eq!(lines, good_lines() as u64 + inserted);
    // The HAProxy lines give the rows they give alone; the others never become rows.
    let alone = tempfile::tempdir().unwrap();
    let ((_, rows_alone, _, rejects_alone), _) = converts(alone.path(), &[&corpus(GOOD)]);
    assert_eq!((rows, rejects_alone), (rows_alone, 0));
    assert!(rejects >= inserted - inserted.div_ceil(others.len() as u64), "at most systemd's lines are events");
    for reject in &found {
        let text = reject["text"].as_str().unwrap();
        assert!(others.contains(&text), "only the other programs' lines are rejected: {text}");
    }
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

#[test]
fn a_truncated_gzip_keeps_its_complete_lines_and_the_other_inputs_convert() {
    let dir = tempfile::tempdir().unwrap();
    let good = fs::read(corpus(GOOD)).unwrap();
    let compressed = gzip(&good);
    let truncated = dir.path().join("truncated.log.gz");
    fs::write(&truncated, &compressed[..compressed.len() * 2 / 3]).unwrap();
    let other = dir.path().join("other.log");
    fs::write(&other, &good).unwrap();
    let ((lines, rows, events, rejects), stderr) = converts_partly(dir.path(), &[&truncated, &other]);
    assert!(stderr.contains("truncated.log.gz: gzip data is corrupt or truncated after byte"), "{stderr}");
    assert!(stderr.contains("were converted"), "{stderr}");
    // Everything of the other file, and the complete lines before the cut, not one more.
    let mut decoded = Vec::new();
    let mut decoder = flate2::read::GzDecoder::new(&compressed[..compressed.len() * 2 / 3]);
    let error = std::io::Read::read_to_end(&mut decoder, &mut decoded);
    assert!(error.is_err(), "the cut stream fails to decode");
    let complete = decoded.iter().filter(|&&b| b == b'\n').count() as u64;
    assert!(complete > 0);
    assert_eq!(lines, good_lines() as u64 + complete);
    assert_eq!((lines, rejects), (rows + events, 0));
    assert!(stderr.contains(&format!("lines 1-{complete} before it were converted")), "{stderr}");
}

/// A query over raw logs answers over what it could read, like a conversion: a
/// truncated `.gz` among the inputs is named, its complete lines count, exit 2.
#[test]
fn a_raw_log_query_over_a_truncated_gzip_answers_over_its_complete_lines() {
    let dir = tempfile::tempdir().unwrap();
    let good = fs::read(corpus(GOOD)).unwrap();
    let compressed = gzip(&good);
    let cut = &compressed[..compressed.len() / 2];
    let truncated = dir.path().join("truncated.log.gz");
    fs::write(&truncated, cut).unwrap();
    let mut decoded = Vec::new();
    let _ = std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(cut), &mut decoded);
    let complete = decoded.iter().filter(|&&b| b == b'\n').count();
    let sql = "SELECT source_file, count(*) AS lines FROM logs GROUP BY 1 ORDER BY 1";
    let result = halake(&["sql", sql, "--format", "csv", dir.path().to_str().unwrap(), corpus(GOOD).to_str().unwrap()]);
    let stderr = text(&result.stderr);
    assert_eq!(result.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("truncated.log.gz: gzip data is corrupt or truncated after byte"), "{stderr}");
    assert!(stderr.contains(&format!("the query read lines 1-{complete} of it")), "{stderr}");
    let stdout = text(&result.stdout);
    assert!(stdout.contains(&format!("{},{}", corpus(GOOD).display(), good_lines())), "{stdout}");
    assert!(stdout.contains(&format!("{},{complete}", truncated.display())), "{stdout}");
}

#[test]
fn a_zstd_file_with_a_corrupt_frame_keeps_what_came_before() {
    let dir = tempfile::tempdir().unwrap();
    let good = fs::read(corpus(GOOD)).unwrap();
    // Two frames; the second is damaged in its middle.
    let mut compressed = zstd::encode_all(&good[..], 3).unwrap();
    let second_start = compressed.len();
    compressed.extend(zstd::encode_all(&good[..], 3).unwrap());
    let middle = second_start + (compressed.len() - second_start) / 2;
    for byte in &mut compressed[middle..middle + 64] {
        *byte ^= 0x5a;
    }
    let path = dir.path().join("corrupt.log.zst");
    fs::write(&path, &compressed).unwrap();
    let ((lines, rows, events, rejects), stderr) = converts_partly(dir.path(), &[&path]);
    assert!(stderr.contains("corrupt.log.zst: zstd data is corrupt or truncated"), "{stderr}");
    let good_lines = good_lines() as u64;
    assert!(lines >= good_lines && lines < 2 * good_lines, "{lines}");
    assert_eq!(lines, rows + events + rejects);
}

#[test]
fn an_unreadable_file_is_named_and_the_others_convert() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("secret.log");
    fs::copy(corpus(GOOD), &secret).unwrap();
    let other = dir.path().join("other.log");
    fs::copy(corpus(GOOD), &other).unwrap();
    let dangling = dir.path().join("gone.log");
    std::os::unix::fs::symlink(dir.path().join("nowhere"), &dangling).unwrap();
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&secret, fs::Permissions::from_mode(0o000)).unwrap();
    let output = dir.path().join("out.parquet");
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_halake"));
    // Root reads any file: drop to nobody, as an operator's cron job would run.
    let root = fs::metadata("/proc/self").map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0).unwrap_or(false);
    if root {
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o777)).unwrap();
        command = std::process::Command::new("setpriv");
        command.args(["--reuid=65534", "--regid=65534", "--clear-groups", env!("CARGO_BIN_EXE_halake")]);
    }
    let result =
        command.args(["convert", dir.path().to_str().unwrap(), "-o", output.to_str().unwrap()]).output().unwrap();
    let stderr = text(&result.stderr);
    assert_eq!(result.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("secret.log: Permission denied"), "{stderr}");
    assert!(stderr.contains("gone.log: No such file"), "{stderr}");
    let (lines, rows, events, _) = reconciliation(&text(&result.stdout));
    assert_eq!((lines, rows + events), (good_lines() as u64, good_lines() as u64));
    assert_eq!(records(&output).len() as u64, rows);
}

#[test]
fn a_thousand_tiny_files_convert_each_to_its_rows() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = dir.path().join("many");
    fs::create_dir(&inputs).unwrap();
    let lines: Vec<String> = fs::read_to_string(corpus(GOOD)).unwrap().lines().map(String::from).collect();
    for i in 0..1000 {
        fs::write(inputs.join(format!("haproxy-{i:04}.log")), format!("{}\n", lines[i % lines.len()])).unwrap();
    }
    let ((lines_read, rows, events, rejects), _) = converts(dir.path(), &[&inputs]);
    assert_eq!((lines_read, rejects), (1000, 0));
    let written = records(&dir.path().join("out.parquet"));
    assert_eq!(written.len() as u64, rows);
    assert!(rows + events == 1000);
    let mut sources: Vec<&str> = written.iter().map(|r| r["source_file"].as_deref().unwrap()).collect();
    sources.dedup();
    assert_eq!(sources.len() as u64, rows, "one row per file, in file order");
}
