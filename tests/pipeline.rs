//! The convert pipeline: chunking, threads, compressed and streamed inputs. Whatever the
//! path the bytes take, the rows must be the same.

mod common;

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::{Record, convert, corpus, halake, reconciliation, records};

/// Real lines of several formats, events, rejects, a 100 KB line, no final newline.
fn mixed_input(dir: &Path) -> PathBuf {
    let mut text = String::new();
    for name in ["httpslog.rsyslog.log", "events.rsyslog.log", "tcplog.raw.log"] {
        text.push_str(&fs::read_to_string(corpus(name)).unwrap());
    }
    text.push_str("not a log line\n\n");
    let long = format!(
        "127.0.0.1:1 [23/Nov/2026:20:24:30.050] fe be/s 0/0/0/1/1 200 9 - - ---- 1/1/0/0/0 0/0 \"GET /{} HTTP/1.1\"\n",
        "x".repeat(100_000)
    );
    text.push_str(&long);
    text.push_str("127.0.0.1:2 [23/Nov/2026:20:24:30.051] fe_tcp be/s 1/0/2 3 -- 1/1/1/1/0 0/0");
    let path = dir.join("mixed.log");
    fs::write(&path, text).unwrap();
    path
}

fn without_source_file(mut records: Vec<Record>) -> Vec<Record> {
    for record in &mut records {
        record.remove("source_file");
    }
    records
}

#[test]
fn every_chunk_size_gives_the_same_rows() {
    let dir = tempfile::tempdir().unwrap();
    let input = mixed_input(dir.path());
    let reference = dir.path().join("reference.parquet");
    let rejects = dir.path().join("reference.rejects");
    let summary = convert(&[&input], &reference, &["--rejects", rejects.to_str().unwrap()]);
    let expected_counts = reconciliation(&summary);
    assert_eq!(expected_counts.3, 2, "{summary}");
    let expected = records(&reference);
    let expected_rejects = fs::read_to_string(&rejects).unwrap();
    let sizes = (1..=40).chain([97, 1000, 4096, 65_536, 100_001, 1 << 20]);
    for size in sizes {
        let output = dir.path().join(format!("{size}.parquet"));
        let rejects = dir.path().join(format!("{size}.rejects"));
        let summary = convert(
            &[&input],
            &output,
            &["--chunk-size", &size.to_string(), "--threads", "3", "--rejects", rejects.to_str().unwrap()],
        );
        assert_eq!(reconciliation(&summary), expected_counts, "chunk size {size}");
        assert!(records(&output) == expected, "chunk size {size}: rows differ");
        assert_eq!(fs::read_to_string(&rejects).unwrap(), expected_rejects, "chunk size {size}");
    }
}

#[test]
fn one_and_many_threads_write_identical_files() {
    let dir = tempfile::tempdir().unwrap();
    let input = mixed_input(dir.path());
    let mut files = Vec::new();
    for threads in ["1", "2", "4"] {
        let output = dir.path().join(format!("t{threads}.parquet"));
        let events = dir.path().join(format!("t{threads}.events.parquet"));
        convert(
            &[&input],
            &output,
            &["--threads", threads, "--chunk-size", "16KiB", "--events", events.to_str().unwrap()],
        );
        files.push((fs::read(&output).unwrap(), fs::read(&events).unwrap()));
    }
    assert!(files[0] == files[1] && files[0] == files[2], "output depends on the thread count");
}

#[test]
fn gzip_members_and_zstd_frames_read_like_the_plain_file() {
    let dir = tempfile::tempdir().unwrap();
    let input = mixed_input(dir.path());
    let plain = fs::read(&input).unwrap();
    let (first, second) = plain.split_at(plain.len() / 3);

    // Two gzip members, as `cat a.gz b.gz` or logrotate's delaycompress give.
    let mut gzip = Vec::new();
    for part in [first, second] {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(part).unwrap();
        gzip.extend(encoder.finish().unwrap());
    }
    let gz_path = dir.path().join("haproxy.log.2.gz");
    fs::write(&gz_path, &gzip).unwrap();

    let mut zst = Vec::new();
    for part in [first, second] {
        zst.extend(zstd::encode_all(part, 3).unwrap());
    }
    // Named without an extension: the content decides.
    let zst_path = dir.path().join("haproxy.log.3");
    fs::write(&zst_path, &zst).unwrap();

    let reference = dir.path().join("plain.parquet");
    let expected_counts = reconciliation(&convert(&[&input], &reference, &[]));
    let expected = without_source_file(records(&reference));
    for path in [&gz_path, &zst_path] {
        let output = dir.path().join("compressed.parquet");
        let summary = convert(&[path], &output, &["--chunk-size", "50KiB"]);
        assert_eq!(reconciliation(&summary), expected_counts, "{}", path.display());
        assert!(without_source_file(records(&output)) == expected, "{}: rows differ", path.display());
    }
}

#[test]
fn standard_input_reads_like_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let input = mixed_input(dir.path());
    let reference = dir.path().join("file.parquet");
    convert(&[&input], &reference, &[]);
    let output = dir.path().join("stdin.parquet");
    let mut child = Command::new(env!("CARGO_BIN_EXE_halake"))
        .args(["convert", "-", "-o", output.to_str().unwrap(), "--chunk-size", "10KiB", "-q"])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    let bytes = fs::read(&input).unwrap();
    child.stdin.take().unwrap().write_all(&bytes).unwrap();
    assert!(child.wait().unwrap().success());
    let rows = records(&output);
    assert_eq!(rows[0]["source_file"].as_deref(), Some("-"));
    assert!(without_source_file(rows) == without_source_file(records(&reference)));
}

#[test]
fn directories_are_read_recursively_in_name_order() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    fs::create_dir_all(logs.join("b")).unwrap();
    fs::copy(corpus("tcplog.raw.log"), logs.join("b/2.log")).unwrap();
    fs::copy(corpus("default_tcp.raw.log"), logs.join("a.log")).unwrap();
    fs::write(logs.join(".hidden"), "ignored").unwrap();
    let output = dir.path().join("out.parquet");
    let summary = convert(&[&logs], &output, &[]);
    assert!(summary.starts_with("read 2 file(s)"), "{summary}");
    let sources: Vec<String> = records(&output).iter().map(|r| r["source_file"].clone().unwrap()).collect();
    assert!(sources[0].ends_with("a.log") && sources.last().unwrap().ends_with("b/2.log"), "{sources:?}");
}

#[test]
fn quoted_glob_patterns_are_expanded() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["haproxy.log.1", "haproxy.log.2", "other.log"] {
        fs::copy(corpus("default_tcp.raw.log"), dir.path().join(name)).unwrap();
    }
    let pattern = dir.path().join("haproxy.log.*");
    let summary = convert(&[&pattern], &dir.path().join("out.parquet"), &[]);
    assert!(summary.starts_with("read 2 file(s)"), "{summary}");
    let missing = halake(&["convert", dir.path().join("nope.*").to_str().unwrap(), "-o", "x.parquet"]);
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no file matches this pattern"));
}
