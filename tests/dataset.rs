//! Dataset directories: Hive partitions, and a manifest that makes re-runs convert only
//! what changed, exactly once.

mod common;

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use common::{Record, convert, corpus, records};

fn parts(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "parquet") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

fn all_rows(root: &Path) -> Vec<Record> {
    parts(root).iter().flat_map(|p| records(p)).collect()
}

/// (file, line) of every row: each must appear exactly once.
fn row_keys(rows: &[Record]) -> BTreeSet<(String, String)> {
    let keys: BTreeSet<_> =
        rows.iter().map(|r| (r["source_file"].clone().unwrap(), r["source_line"].clone().unwrap())).collect();
    assert_eq!(keys.len(), rows.len(), "a row was written twice");
    keys
}

fn inputs(dir: &Path) -> Vec<PathBuf> {
    ["httplog.rsyslog.log", "tcplog.raw.log", "default_http.raw.log"]
        .iter()
        .map(|name| {
            let copy = dir.join(name);
            fs::copy(corpus(name), &copy).unwrap();
            copy
        })
        .collect()
}

fn run(inputs: &[PathBuf], lake: &Path, extra: &[&str]) -> String {
    let inputs: Vec<&Path> = inputs.iter().map(PathBuf::as_path).collect();
    let lake = format!("{}/", lake.display());
    convert(&inputs, Path::new(&lake), extra)
}

#[test]
fn rows_are_partitioned_by_day_and_reruns_skip_unchanged_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = inputs(dir.path());
    let lake = dir.path().join("lake");
    let summary = run(&inputs, &lake, &[]);
    assert!(summary.contains("wrote 3 file(s)"), "{summary}");
    let names: Vec<String> =
        parts(&lake).iter().map(|p| p.strip_prefix(&lake).unwrap().display().to_string()).collect();
    assert!(names.iter().filter(|n| n.starts_with("date=2026-11-23/part-")).count() == 2, "{names:?}");
    // 'Connect from' lines carry no date and these have no syslog header.
    assert!(names.iter().any(|n| n.starts_with("date=__HIVE_DEFAULT_PARTITION__/")), "{names:?}");
    let rows = all_rows(&lake);
    assert_eq!(row_keys(&rows).len(), 266 + 58 + 3);

    let before: Vec<_> = parts(&lake).iter().map(|p| fs::read(p).unwrap()).collect();
    let summary = run(&inputs, &lake, &[]);
    assert!(summary.contains("skipped 3 input(s)") && summary.contains("wrote 0 file(s)"), "{summary}");
    let after: Vec<_> = parts(&lake).iter().map(|p| fs::read(p).unwrap()).collect();
    assert_eq!(before, after);
}

/// The live log grew since the last run: its rows are replaced, not added again.
#[test]
fn a_changed_input_is_converted_again_without_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = inputs(dir.path());
    let lake = dir.path().join("lake");
    run(&inputs, &lake, &[]);
    let mut text = fs::read_to_string(&inputs[1]).unwrap();
    text.push_str("127.0.0.1:9 [23/Nov/2026:21:00:00.000] fe_tcp be/s 1/0/2 3 -- 1/1/1/1/0 0/0\n");
    fs::write(&inputs[1], text).unwrap();
    let summary = run(&inputs, &lake, &[]);
    assert!(summary.contains("skipped 2 input(s)"), "{summary}");
    assert_eq!(row_keys(&all_rows(&lake)).len(), 266 + 59 + 3);
}

/// A run that died after writing parts but before the manifest: the next run replaces
/// those parts.
#[test]
fn parts_of_an_interrupted_run_are_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = inputs(dir.path());
    let lake = dir.path().join("lake");
    run(&inputs, &lake, &[]);
    fs::remove_file(lake.join("_halake_manifest.json")).unwrap();
    let summary = run(&inputs, &lake, &[]);
    assert!(summary.contains("wrote 3 file(s)"), "{summary}");
    assert_eq!(parts(&lake).len(), 3);
    assert_eq!(row_keys(&all_rows(&lake)).len(), 266 + 58 + 3);
}

/// Standard input has no identity to remember: each run adds its rows beside the others.
#[test]
fn stdin_runs_never_replace_each_other() {
    let dir = tempfile::tempdir().unwrap();
    let lake = format!("{}/lake/", dir.path().display());
    for _ in 0..2 {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_halake"))
            .args(["convert", "-", "-o", &lake, "-q"])
            .stdin(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let bytes = fs::read(corpus("tcplog.raw.log")).unwrap();
        std::io::Write::write_all(&mut child.stdin.take().unwrap(), &bytes).unwrap();
        assert!(child.wait().unwrap().success());
    }
    assert_eq!(all_rows(Path::new(&lake)).len(), 2 * 58);
}

#[test]
fn hour_partitions() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    run(&[corpus("httplog.rsyslog.log")], &lake, &["--partition", "hour"]);
    let names: Vec<String> =
        parts(&lake).iter().map(|p| p.strip_prefix(&lake).unwrap().display().to_string()).collect();
    assert!(names.iter().all(|n| n.starts_with("date=2026-11-23/hour=20/part-")), "{names:?}");
}
