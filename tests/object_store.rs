//! Object storage for real: an S3-compatible server (moto, from PyPI) on 127.0.0.1, that
//! the real binary talks to over HTTP exactly as to AWS.
#![cfg(feature = "s3")]

mod common;

use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::faults::{Fault, FaultyProxy};
use common::s3::S3Server;

/// The shipped sample, and a server with a bucket `logs`.
fn sample_and_server() -> (String, S3Server) {
    let server = S3Server::start();
    server.create_bucket("logs");
    (Path::new(env!("CARGO_MANIFEST_DIR")).join("data").display().to_string(), server)
}

fn succeeded(result: &Output) -> String {
    assert!(result.status.success(), "halake failed ({}):\n{}", result.status, String::from_utf8_lossy(&result.stderr));
    String::from_utf8(result.stdout.clone()).unwrap()
}

fn stderr(result: &Output) -> String {
    String::from_utf8_lossy(&result.stderr).into_owned()
}

/// `rows N` of a conversion's summary.
fn rows(summary: &str) -> u64 {
    let line = summary.lines().find(|l| l.starts_with("lines ")).expect("a reconciliation line");
    line.split_whitespace().skip_while(|w| *w != "rows").nth(1).unwrap().parse().unwrap()
}

#[test]
fn a_lake_in_s3_answers_as_the_same_lake_on_disk_and_pyarrow_reads_it() {
    let (data, server) = sample_and_server();
    let data = data.as_str();
    let summary = succeeded(&server.halake(&["convert", data, "-o", "s3://logs/lake/"]));
    let converted = rows(&summary);
    assert!(converted > 500, "{summary}");
    assert!(summary.contains("wrote 3 file(s) to s3://logs/lake/"), "{summary}");
    let keys = server.keys("logs");
    assert!(keys.contains(&"lake/_halake_manifest.json".to_string()), "{keys:?}");
    assert!(keys.iter().all(|k| k == "lake/_halake_manifest.json" || k.starts_with("lake/date=")), "{keys:?}");

    // The same report as over the lake on disk.
    let dir = tempfile::tempdir().unwrap();
    let local = format!("{}/lake/", dir.path().display());
    succeeded(&server.halake(&["convert", data, "-o", &local]));
    for report in ["termination_codes", "status_codes"] {
        let remote = succeeded(&server.halake(&["report", report, "s3://logs/lake/"]));
        let on_disk = succeeded(&server.halake(&["report", report, &local]));
        assert_eq!(remote, on_disk, "{report}");
    }
    // Partitions are columns there too.
    let by_date = succeeded(&server.halake(&[
        "sql",
        "SELECT date, count(*) AS n FROM logs GROUP BY date",
        "s3://logs/lake/",
        "--format",
        "csv",
    ]));
    assert_eq!(by_date.trim(), format!("date,n\n2026-11-23,{converted}"));

    let verified = succeeded(&server.halake(&["verify", "s3://logs/lake/"]));
    assert!(verified.starts_with("sound: 1 manifest(s), 4 input(s), 3 part(s)"), "{verified}");

    // A re-run converts nothing: the manifest in the bucket says it is all there.
    let again = succeeded(&server.halake(&["convert", data, "-o", "s3://logs/lake/"]));
    assert!(again.contains("skipped 4 input(s)"), "{again}");
    assert_eq!(server.keys("logs"), keys);

    // pyarrow, from the same server, sees one row per traffic line.
    let script = "import sys, pyarrow.dataset as ds, pyarrow.fs as fs\n\
                  s3 = fs.S3FileSystem(endpoint_override=sys.argv[1], scheme='http', access_key='test', \
                  secret_key='test', region='us-east-1')\n\
                  d = ds.dataset('logs/lake/', filesystem=s3, format='parquet', partitioning='hive')\n\
                  print(d.count_rows(), sorted(set(d.to_table(columns=['date']).column('date').to_pylist())))";
    let result = Command::new("python3").args(["-c", script, &server.endpoint()]).output().unwrap();
    assert!(result.status.success(), "{}", String::from_utf8_lossy(&result.stderr));
    assert_eq!(String::from_utf8_lossy(&result.stdout).trim(), format!("{converted} ['2026-11-23']"));
}

#[test]
fn single_files_and_raw_logs_go_both_ways() {
    let (data, server) = sample_and_server();
    let data = data.as_str();
    let summary = succeeded(&server.halake(&[
        "convert",
        data,
        "-o",
        "s3://logs/sample.parquet",
        "--events",
        "s3://logs/events.parquet",
        "--rejects",
        "s3://logs/rejects.jsonl",
    ]));
    let converted = rows(&summary);
    assert_eq!(server.keys("logs"), ["events.parquet", "rejects.jsonl", "sample.parquet"]);
    let count = |target: &str| {
        let out = succeeded(&server.halake(&["sql", "SELECT count(*) AS n FROM logs", target, "--format", "csv"]));
        out.trim().trim_start_matches("n\n").parse::<u64>().unwrap()
    };
    assert_eq!(count("s3://logs/sample.parquet"), converted);

    // Raw logs in the bucket: queried and converted as they download.
    upload_raw(&server, data);
    assert_eq!(count("s3://logs/raw/"), converted);
    let from_bucket = succeeded(&server.halake(&["convert", "s3://logs/raw/", "-o", "s3://logs/from-raw/"]));
    assert_eq!(rows(&from_bucket), converted);
    let again = succeeded(&server.halake(&["convert", "s3://logs/raw/", "-o", "s3://logs/from-raw/"]));
    assert!(again.contains("skipped 4 input(s)"), "{again}");
}

#[test]
fn shards_convert_into_one_lake_with_exactly_the_rows_of_one_run() {
    let (data, server) = sample_and_server();
    let data = data.as_str();
    let whole = rows(&succeeded(&server.halake(&["convert", data, "-o", "s3://logs/whole/"])));
    let mut sharded = 0;
    for shard in ["1/3", "2/3", "3/3"] {
        sharded += rows(&succeeded(&server.halake(&["convert", data, "-o", "s3://logs/sharded/", "--shard", shard])));
    }
    assert_eq!(sharded, whole);
    let keys = server.keys("logs");
    let manifests: Vec<&String> = keys.iter().filter(|k| k.starts_with("sharded/_halake_manifest")).collect();
    assert_eq!(manifests.len(), 3, "{keys:?}");
    // Every shard again: each sees, from all manifests, that its inputs are there.
    for shard in ["1/3", "2/3", "3/3"] {
        let again = succeeded(&server.halake(&["convert", data, "-o", "s3://logs/sharded/", "--shard", shard]));
        assert!(again.contains("lines 0 ="), "{again}");
    }
    let query = "SELECT termination_state, status, count(*) AS n FROM logs GROUP BY 1, 2 ORDER BY 1, 2";
    let one = succeeded(&server.halake(&["sql", query, "s3://logs/whole/", "--format", "csv"]));
    let many = succeeded(&server.halake(&["sql", query, "s3://logs/sharded/", "--format", "csv"]));
    assert_eq!(one, many);
    let not_a_dataset = server.halake(&["convert", data, "-o", "s3://logs/x.parquet", "--shard", "1/2"]);
    assert!(stderr(&not_a_dataset).contains("--shard writes into a dataset"), "{}", stderr(&not_a_dataset));
}

#[test]
fn a_missing_bucket_or_an_unreachable_endpoint_is_one_clear_line_and_status_2() {
    let (data, server) = sample_and_server();
    let data = data.as_str();
    let missing = server.halake(&["convert", data, "-o", "s3://no-such-bucket/lake/"]);
    assert_eq!(missing.status.code(), Some(2), "{}", stderr(&missing));
    let message = stderr(&missing);
    assert_eq!(message.lines().count(), 1, "{message}");
    assert!(message.contains("s3://no-such-bucket/lake/") && message.contains("NoSuchBucket"), "{message}");

    let closed = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let endpoint = format!("http://127.0.0.1:{closed}");
    let started = Instant::now();
    let unreachable =
        server.halake_with(&["convert", data, "-o", "s3://logs/one.parquet"], &[("AWS_ENDPOINT_URL", &endpoint)]);
    assert_eq!(unreachable.status.code(), Some(2), "{}", stderr(&unreachable));
    let message = stderr(&unreachable);
    assert_eq!(message.lines().count(), 1, "{message}");
    assert!(message.contains("s3://logs/"), "{message}");
    assert!(started.elapsed() < Duration::from_secs(60), "gave up after {:?}", started.elapsed());
    let report = server.halake_with(&["report", "status_codes", "s3://logs/lake/"], &[("AWS_ENDPOINT_URL", &endpoint)]);
    assert_eq!(report.status.code(), Some(2), "{}", stderr(&report));
    assert!(stderr(&report).contains("s3://logs/lake/"), "{}", stderr(&report));
}

#[test]
fn a_server_lost_mid_upload_fails_the_run_cleanly_and_a_rerun_completes() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("big.log");
    let generated = common::halake(&["generate", "--size", "150MB", "--seed", "5", "-o", log.to_str().unwrap()]);
    assert!(generated.status.success());
    let server = S3Server::start();
    server.create_bucket("logs");
    let run = server
        .command(&["convert", log.to_str().unwrap(), "-o", "s3://logs/lake/", "--threads", "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(2));
    let port = server.port;
    drop(server);
    let failed = run.wait_with_output().unwrap();
    assert_eq!(failed.status.code(), Some(2), "{}", stderr(&failed));
    let message = stderr(&failed);
    assert!(message.contains("s3://logs/lake/") && !message.contains("panicked"), "{message}");

    // moto keeps its objects in memory: the restarted server is empty, as a bucket
    // holds nothing of a run whose uploads never completed.
    let server = S3Server::start_on(port);
    server.create_bucket("logs");
    let summary = succeeded(&server.halake(&["convert", log.to_str().unwrap(), "-o", "s3://logs/lake/"]));
    let converted = rows(&summary);
    let lines = std::fs::read(&log).unwrap().iter().filter(|&&b| b == b'\n').count() as u64;
    assert!(summary.contains(&format!("lines {lines} = rows {converted} + events")), "{summary}");
    let count =
        succeeded(&server.halake(&["sql", "SELECT count(*) AS n FROM logs", "s3://logs/lake/", "--format", "csv"]));
    assert_eq!(count.trim(), format!("n\n{converted}"));
}

/// The same report through the proxy and straight from the server.
fn same_report(server: &S3Server, proxy: &FaultyProxy, report: &str, target: &str) {
    let direct = succeeded(&server.halake(&["report", report, target, "--format", "csv"]));
    let through = succeeded(
        &server.halake_with(&["report", report, target, "--format", "csv"], &[("AWS_ENDPOINT_URL", &proxy.endpoint())]),
    );
    assert_eq!(through, direct, "{report} over {target}");
}

#[test]
fn throttling_is_retried_with_backoff_and_every_row_lands_once() {
    let (data, server) = sample_and_server();
    let data = data.as_str();
    upload_raw(&server, data);
    let proxy = FaultyProxy::start(server.port, Fault::SlowDown(3));
    let endpoint = proxy.endpoint();
    let through = [("AWS_ENDPOINT_URL", endpoint.as_str())];
    // Up (a dataset from local files) and down (raw logs from the bucket), a third of the
    // requests throttled.
    let up = succeeded(&server.halake_with(&["convert", data, "-o", "s3://logs/lake/"], &through));
    let down = succeeded(&server.halake_with(&["convert", "s3://logs/raw/", "-o", "s3://logs/from-raw/"], &through));
    let (requests, throttled) = proxy.counts();
    assert!(throttled >= 3 && throttled * 3 <= requests + 2, "{throttled} of {requests} throttled");
    let direct = succeeded(&server.halake(&["convert", data, "-o", "s3://logs/direct/"]));
    assert_eq!(rows(&up), rows(&direct));
    assert_eq!(rows(&down), rows(&direct));
    for report in ["termination_codes", "status_codes"] {
        same_report(&server, &proxy, report, "s3://logs/lake/");
        same_report(&server, &proxy, report, "s3://logs/from-raw/");
        same_report(&server, &proxy, report, "s3://logs/raw/");
        let lake = succeeded(&server.halake(&["report", report, "s3://logs/lake/"]));
        assert_eq!(lake, succeeded(&server.halake(&["report", report, "s3://logs/direct/"])));
    }
    // Re-runs through the throttling proxy find everything done, and write nothing.
    let keys = server.keys("logs");
    let again = succeeded(&server.halake_with(&["convert", data, "-o", "s3://logs/lake/"], &through));
    assert!(again.contains("skipped 4 input(s)"), "{again}");
    assert_eq!(server.keys("logs"), keys);
}

#[test]
fn a_server_that_only_throttles_is_one_clear_line_and_nothing_is_counted_done() {
    let (data, server) = sample_and_server();
    let proxy = FaultyProxy::start(server.port, Fault::SlowDown(1));
    let started = Instant::now();
    let failed =
        server.halake_with(&["convert", &data, "-o", "s3://logs/lake/"], &[("AWS_ENDPOINT_URL", &proxy.endpoint())]);
    assert_eq!(failed.status.code(), Some(2), "{}", stderr(&failed));
    let message = stderr(&failed);
    assert_eq!(message.lines().count(), 1, "{message}");
    assert!(message.contains("s3://logs/lake/") && message.contains("SlowDown"), "{message}");
    // Retried with backoff (five times, then given up), not forever.
    let (requests, throttled) = proxy.counts();
    assert_eq!(requests, throttled);
    assert!((6..=12).contains(&requests), "{requests} requests");
    assert!(started.elapsed() < Duration::from_secs(60), "gave up after {:?}", started.elapsed());
    assert_eq!(server.keys("logs"), Vec::<String>::new());
}

#[test]
fn bodies_cut_short_are_read_again_or_fail_cleanly_and_never_lose_or_double_a_row() {
    let (data, server) = sample_and_server();
    let data = data.as_str();
    upload_raw(&server, data);
    let direct = rows(&succeeded(&server.halake(&["convert", data, "-o", "s3://logs/lake/"])));
    // An object's body cut short is read again from where it stopped.
    let proxy = FaultyProxy::start(server.port, Fault::CutObjects(2));
    let endpoint = proxy.endpoint();
    let through = [("AWS_ENDPOINT_URL", endpoint.as_str())];
    let converted =
        succeeded(&server.halake_with(&["convert", "s3://logs/raw/", "-o", "s3://logs/from-raw/"], &through));
    assert_eq!(rows(&converted), direct);
    for report in ["termination_codes", "status_codes"] {
        same_report(&server, &proxy, report, "s3://logs/lake/");
        same_report(&server, &proxy, report, "s3://logs/raw/");
    }
    let (requests, cut) = proxy.counts();
    assert!(cut >= 10, "{cut} of {requests} cut");

    // A listing cut short is not retried by the S3 client: one clear line, status 2, and
    // nothing a re-run would count as done.
    let proxy = FaultyProxy::start(server.port, Fault::CutListings(1));
    let endpoint = proxy.endpoint();
    let failed = server
        .halake_with(&["convert", "s3://logs/raw/", "-o", "s3://logs/again/"], &[("AWS_ENDPOINT_URL", &endpoint)]);
    assert_eq!(failed.status.code(), Some(2), "{}", stderr(&failed));
    let message = stderr(&failed);
    assert_eq!(message.lines().count(), 1, "{message}");
    assert!(message.contains("s3://logs/") && message.contains("list response body"), "{message}");
    assert!(!server.keys("logs").iter().any(|k| k.starts_with("again/")), "{:?}", server.keys("logs"));
    let rerun = succeeded(&server.halake(&["convert", "s3://logs/raw/", "-o", "s3://logs/again/"]));
    assert_eq!(rows(&rerun), direct);
}

fn upload_raw(server: &S3Server, data: &str) {
    let upload = "import os\nfor name in os.listdir(sys.argv[1]): \
                  s3.upload_file(os.path.join(sys.argv[1], name), 'logs', 'raw/' + name)";
    server.boto3(upload, &[data]);
}
