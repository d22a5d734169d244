//! The canned reports against halog: the same log files, the numbers halog printed
//! (`tests/corpus/halog/`, written by Debian's halog 2.6), row by row. Each report runs
//! on the raw log, on its Parquet conversion and on a dataset directory of it: all three
//! must agree with halog.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use common::{convert, corpus, fields, halake, halog_rows, report};

const FILES: [&str; 2] = ["httplog", "httpslog"];

/// halog's rows for `file`, from the stored oracle output.
fn halog(file: &str, option: &str) -> Vec<Vec<String>> {
    halog_rows(&std::fs::read_to_string(corpus(&format!("halog/{file}.{option}.txt"))).unwrap())
}

/// The three ways to read one log: raw, as a Parquet file, as a dataset directory.
fn inputs(file: &str, dir: &Path) -> Vec<std::path::PathBuf> {
    let log = corpus(&format!("{file}.rsyslog.log"));
    let parquet = dir.join(format!("{file}.parquet"));
    convert(&[&log], &parquet, &[]);
    let dataset = dir.join(format!("{file}-lake/"));
    convert(&[&log], &dataset, &[]);
    vec![log, parquet, dataset]
}

fn check_each_input(check: impl Fn(&str, &Path)) {
    let dir = tempfile::tempdir().unwrap();
    for file in FILES {
        for input in inputs(file, dir.path()) {
            check(file, &input);
        }
    }
}

/// The report's first `columns` columns equal halog's rows, in halog's order.
fn check_against_halog(report_name: &str, option: &str, columns: usize) {
    check_each_input(|file, input| {
        let ours: Vec<Vec<String>> = report(report_name, input).iter().map(|l| fields(l, columns)).collect();
        assert_eq!(ours, halog(file, option), "{report_name} on {}", input.display());
    });
}

#[test]
fn status_codes_equal_halog_st() {
    check_against_halog("status_codes", "st", 2);
}

#[test]
fn termination_codes_equal_halog_tc() {
    check_against_halog("termination_codes", "tc", 2);
}

#[test]
fn cookie_codes_equal_halog_cc() {
    check_against_halog("cookies", "cc", 2);
}

#[test]
fn servers_equal_halog_srv() {
    check_each_input(|file, input| {
        let ours: Vec<Vec<String>> = report("servers", input).iter().map(|l| fields(l, 12)).collect();
        // halog also lists, with zeros, the server field of lines it could not parse (the
        // first word of a connection-error message): those are not servers.
        let theirs: Vec<Vec<String>> = halog(file, "srv").into_iter().filter(|row| row[7] != "0").collect();
        assert_eq!(ours, theirs, "{}", input.display());
    });
}

#[test]
fn timer_percentiles_equal_halog_pct() {
    check_against_halog("timer_percentiles", "pct", 6);
}

#[test]
fn urls_equal_halog_u() {
    check_each_input(|file, input| {
        // Our columns are halog's, url last; halog prints them sorted by url, we by count.
        let ours: BTreeSet<Vec<String>> = report("urls", input).iter().map(|l| fields(l, 9)).collect();
        // Where the request has no URL, halog takes the next word of the line as one: the
        // whole quoted field, or the TLS block of httpslog. We count those under <BADREQ>.
        let (theirs, bad): (Vec<Vec<String>>, Vec<Vec<String>>) =
            halog(file, "u").into_iter().partition(|row| row[8].starts_with('/') || row[8].contains("://"));
        let ours_bad: Vec<&Vec<String>> = ours.iter().filter(|row| row[8] == "<BADREQ>").collect();
        assert_eq!(ours_bad.len(), usize::from(!bad.is_empty()), "{}", input.display());
        let bad_requests: u64 = bad.iter().map(|row| row[0].parse::<u64>().unwrap()).sum();
        assert_eq!(ours_bad.first().map_or(0, |row| row[0].parse().unwrap()), bad_requests);
        let ours: BTreeSet<Vec<String>> = ours.into_iter().filter(|row| row[8] != "<BADREQ>").collect();
        assert_eq!(ours, theirs.into_iter().collect::<BTreeSet<_>>(), "{}", input.display());
    });
}

#[test]
fn every_report_runs_on_every_kind_of_input() {
    let dir = tempfile::tempdir().unwrap();
    let mixed = [corpus("httplog.rsyslog.log"), corpus("tcplog.rsyslog.log"), corpus("clf.raw.log")];
    let parquet = dir.path().join("mixed.parquet");
    convert(&mixed.iter().map(|p| p.as_path()).collect::<Vec<_>>(), &parquet, &[]);
    let list = halake(&["report", "--list"]);
    let names: Vec<String> = String::from_utf8(list.stdout)
        .unwrap()
        .lines()
        .map(|line| line.split_whitespace().next().unwrap().to_string())
        .collect();
    assert!(names.len() >= 15, "{names:?}");
    for name in &names {
        for input in [mixed[0].as_path(), parquet.as_path()] {
            let rows = report(name, input);
            assert!(!rows.is_empty(), "{name} on {} gave no rows", input.display());
        }
    }
}
