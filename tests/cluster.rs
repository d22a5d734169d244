//! SQL on a real Ballista cluster: halake's scheduler and two executors, separate
//! processes on loopback, reading a lake from an S3-compatible server (moto) that
//! `halake convert` wrote. A report sent to the cluster must answer what the same report
//! answers on this machine, row for row.
#![cfg(feature = "cluster")]

mod common;

use std::fs::File;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Output, Stdio};
use std::time::{Duration, Instant};

use common::s3::S3Server;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A halake process whose standard error goes to a file, killed when dropped.
struct Process {
    child: Child,
    log: PathBuf,
}

impl Process {
    fn start(server: &S3Server, args: &[&str], log: PathBuf) -> Process {
        let child = server
            .command(args)
            .stdout(Stdio::null())
            .stderr(File::create(&log).unwrap())
            .spawn()
            .expect("start halake");
        Process { child, log }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until the process's log holds `text`; fails with the log if it exits first.
    fn wait_for(&mut self, text: &str) {
        let started = Instant::now();
        while !self.log().contains(text) {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("halake exited ({status}) before logging '{text}':\n{}", self.log());
            }
            assert!(started.elapsed() < Duration::from_secs(60), "no '{text}' after 60 s:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A scheduler and two executors of one task slot each, so that a query's tasks spread
/// over both.
struct Cluster {
    scheduler: Process,
    executors: Vec<Process>,
    url: String,
}

impl Cluster {
    fn start(server: &S3Server, directory: &Path) -> Cluster {
        let port = free_port();
        let bind = format!("127.0.0.1:{port}");
        let mut scheduler =
            Process::start(server, &["cluster", "scheduler", "--bind", &bind], directory.join("scheduler.log"));
        scheduler.wait_for("halake scheduler: listening on");
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(started.elapsed() < Duration::from_secs(30), "the scheduler does not listen:\n{}", scheduler.log());
            std::thread::sleep(Duration::from_millis(100));
        }
        let executors = (0..2)
            .map(|n| {
                let work = directory.join(format!("executor-{n}"));
                std::fs::create_dir(&work).unwrap();
                let (flight, grpc) = (format!("127.0.0.1:{}", free_port()), free_port().to_string());
                let mut executor = Process::start(
                    server,
                    &[
                        "cluster",
                        "executor",
                        "--scheduler",
                        &bind,
                        "--bind",
                        &flight,
                        "--grpc-port",
                        &grpc,
                        "--task-slots",
                        "1",
                        "--work-dir",
                        work.to_str().unwrap(),
                    ],
                    directory.join(format!("executor-{n}.log")),
                );
                executor.wait_for(EXECUTOR_REGISTERED);
                executor
            })
            .collect();
        Cluster { scheduler, executors, url: format!("df://{bind}") }
    }

    /// The tasks each executor has run so far.
    fn tasks_per_executor(&self) -> Vec<usize> {
        self.executors.iter().map(|executor| executor.log().matches(TASK_DONE).count()).collect()
    }
}

/// What an executor logs once the scheduler knows it, and for each task it completes.
const EXECUTOR_REGISTERED: &str = "Executor registration succeed";
const TASK_DONE: &str = "Finished task : [";

fn succeeded(result: &Output) -> String {
    assert!(result.status.success(), "halake failed ({}):\n{}", result.status, String::from_utf8_lossy(&result.stderr));
    String::from_utf8(result.stdout.clone()).unwrap()
}

#[test]
fn reports_on_the_cluster_answer_row_for_row_as_on_this_machine() {
    let server = S3Server::start();
    server.create_bucket("lake");
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("data");
    succeeded(&server.halake(&["convert", data.to_str().unwrap(), "-o", "s3://lake/haproxy/", "--quiet"]));
    let directory = tempfile::tempdir().unwrap();
    let cluster = Cluster::start(&server, directory.path());

    let lake = "s3://lake/haproxy/";
    for report in ["termination_codes", "status_codes", "servers"] {
        let local = succeeded(&server.halake(&["report", report, lake, "--format", "csv"]));
        let remote = succeeded(&server.halake(&["report", report, lake, "--format", "csv", "--cluster", &cluster.url]));
        assert!(local.lines().count() > 2, "{report} has rows:\n{local}");
        assert_eq!(remote, local, "{report} on the cluster");
    }
    // halake's functions and a partition filter, planned here, run there.
    let query = "SELECT date, status_class(status) AS class, termination_cause(termination_state) AS cause, \
                 count(*) AS n FROM logs WHERE date >= '2000-01-01' GROUP BY 1, 2, 3 ORDER BY 1, 2, 3";
    let local = succeeded(&server.halake(&["sql", query, lake, "--format", "csv"]));
    let remote = succeeded(&server.halake(&["sql", query, lake, "--format", "csv", "--cluster", &cluster.url]));
    assert_eq!(remote, local);

    let tasks = cluster.tasks_per_executor();
    assert!(
        tasks.iter().all(|&n| n > 0),
        "every executor ran tasks: {tasks:?}\nscheduler:\n{}",
        cluster.scheduler.log()
    );
}

#[test]
fn raw_logs_and_an_unreachable_scheduler_are_clear_errors() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("data");
    // Raw logs are refused before any query goes out: a port that accepts is enough.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let somebody = format!("df://{}", listener.local_addr().unwrap());
    let raw = common::halake(&["report", "status_codes", data.to_str().unwrap(), "--cluster", &somebody]);
    let message = String::from_utf8_lossy(&raw.stderr);
    assert_eq!(raw.status.code(), Some(1), "{message}");
    assert!(message.contains("raw logs") && message.contains("halake convert"), "{message}");

    let directory = tempfile::tempdir().unwrap();
    let parquet = directory.path().join("sample.parquet");
    let nobody = format!("df://127.0.0.1:{}", free_port());
    common::convert(&[&data], &parquet, &[]);
    let unreachable = common::halake(&["report", "status_codes", parquet.to_str().unwrap(), "--cluster", &nobody]);
    let message = String::from_utf8_lossy(&unreachable.stderr);
    assert_eq!(unreachable.status.code(), Some(1), "{message}");
    assert!(message.contains(&format!("cannot reach the Ballista scheduler at {nobody}")), "{message}");
}
