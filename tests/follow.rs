//! `convert --follow` on files that grow while it runs: SIGKILL at random moments,
//! logrotate's rename-and-create and copytruncate, partial lines, Ctrl-C. The lake must
//! hold every line written, once.

mod common;

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::halake;

fn append(path: &Path, bytes: &[u8]) {
    OpenOptions::new().create(true).append(true).open(path).unwrap().write_all(bytes).unwrap();
}

/// A follower in the background; what it says goes to `follower.err` beside the lake.
fn follower(log: &Path, lake: &Path, extra: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_halake"))
        .args(["convert", "--follow", log.to_str().unwrap(), "-o", lake.to_str().unwrap(), "--quiet", "--threads", "2"])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(OpenOptions::new().create(true).append(true).open(lake.with_file_name("follower.err")).unwrap())
        .spawn()
        .unwrap()
}

/// Converts what is left, as a cron job would, and checks that it succeeded.
fn catch_up(log: &Path, lake: &Path) {
    let output = halake(&["convert", "--follow", log.to_str().unwrap(), "-o", lake.to_str().unwrap(), "--catch-up"]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
}

/// Rows per termination state, as CSV lines.
fn counts(input: &Path) -> Vec<String> {
    let query = "SELECT termination_state, count(*) AS n FROM logs GROUP BY 1 ORDER BY 1";
    let output = halake(&["sql", query, input.to_str().unwrap(), "--format", "csv"]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap().lines().map(str::to_string).collect()
}

fn total(counts: &[String]) -> u64 {
    counts.iter().skip(1).map(|line| line.rsplit(',').next().unwrap().parse::<u64>().unwrap()).sum()
}

fn verified(lake: &Path) {
    let output = halake(&["verify", lake.to_str().unwrap()]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stdout));
}

/// The followed log, its name after a rotation, the lake, and a copy of every line written.
fn rotation_paths(dir: &Path) -> (PathBuf, PathBuf, PathBuf, PathBuf) {
    (dir.join("live.log"), dir.join("live.log.1"), dir.join("lake/"), dir.join("all.log"))
}

/// Lines of a generated log, in pieces of 1 to 80 lines.
fn pieces(dir: &Path, size: &str, seed: &str) -> Vec<Vec<u8>> {
    let source = dir.join("source.log");
    let generated = halake(&["generate", "--size", size, "--seed", seed, "-o", source.to_str().unwrap()]);
    assert!(generated.status.success());
    let text = fs::read(&source).unwrap();
    let mut lines = text.split_inclusive(|&b| b == b'\n');
    let mut random = fastrand::Rng::with_seed(seed.parse().unwrap());
    let mut pieces = Vec::new();
    loop {
        let piece: Vec<u8> = lines.by_ref().take(random.usize(1..=80)).flatten().copied().collect();
        if piece.is_empty() {
            return pieces;
        }
        pieces.push(piece);
    }
}

#[test]
fn every_line_lands_once_through_sigkills_and_a_rotation() {
    let dir = tempfile::tempdir().unwrap();
    let (log, rotated, lake, written) = rotation_paths(dir.path());
    let pieces = pieces(dir.path(), "12MB", "11");
    assert!(pieces.len() > 1000);
    let mut random = fastrand::Rng::with_seed(7);
    let mut child = follower(&log, &lake, &["--roll", "150ms"]);
    let (mut kills, mut started) = (0, Instant::now());
    for (index, piece) in pieces.iter().enumerate() {
        append(&log, piece);
        append(&written, piece);
        if index == pieces.len() / 2 {
            // logrotate without copytruncate: rename, then a new file under the name.
            fs::rename(&log, &rotated).unwrap();
            File::create(&log).unwrap();
        }
        std::thread::sleep(Duration::from_millis(random.u64(0..6)));
        if started.elapsed() > Duration::from_millis(random.u64(100..500)) {
            child.kill().unwrap();
            child.wait().unwrap();
            kills += 1;
            child = follower(&log, &lake, &["--roll", "150ms"]);
            started = Instant::now();
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(kills >= 8, "only {kills} kills landed while the log grew");
    catch_up(&log, &lake);
    let expected = counts(&written);
    assert!(total(&expected) > 30_000, "{expected:?}");
    let errors = fs::read_to_string(dir.path().join("follower.err")).unwrap_or_default();
    assert_eq!(counts(&lake), expected, "after {kills} kills; the followers said:\n{errors}");
    verified(&lake);
}

#[test]
fn copytruncate_and_partial_lines_lose_nothing_and_double_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (log, lake, written) = (dir.path().join("live.log"), dir.path().join("lake/"), dir.path().join("all.log"));
    let mut pieces = pieces(dir.path(), "1MB", "3");
    // One line, kept apart to be written in two halves.
    let line = pieces.pop().unwrap().split_inclusive(|&b| b == b'\n').next_back().unwrap().to_vec();
    let (first, second) = pieces.split_at(pieces.len() / 2);
    for piece in first {
        append(&log, piece);
        append(&written, piece);
    }
    // Half a line waits for its end.
    let (head, tail) = line.split_at(line.len() / 2);
    append(&log, head);
    catch_up(&log, &lake);
    assert_eq!(counts(&lake), counts(&written));
    append(&log, tail);
    append(&written, &line);
    catch_up(&log, &lake);
    assert_eq!(counts(&lake), counts(&written));
    // copytruncate: the copy is not followed; the file starts again from nothing.
    fs::copy(&log, dir.path().join("live.log.1")).unwrap();
    OpenOptions::new().write(true).open(&log).unwrap().set_len(0).unwrap();
    for piece in second {
        append(&log, piece);
        append(&written, piece);
    }
    catch_up(&log, &lake);
    assert_eq!(counts(&lake), counts(&written));
    verified(&lake);
}

#[test]
fn sigterm_commits_what_was_read_and_exits_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let (log, lake) = (dir.path().join("live.log"), dir.path().join("lake/"));
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/httplog.rsyslog.log");
    let mut child = follower(&log, &lake, &["--roll", "1h"]);
    append(&log, &fs::read(&data).unwrap());
    // Read within a poll (200 ms); an hour's roll is not due, so only the signal writes it.
    std::thread::sleep(Duration::from_secs(2));
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = child.wait().unwrap();
    assert!(status.success(), "{status}");
    assert_eq!(counts(&lake), counts(&data));
}

#[test]
fn a_directory_where_a_log_was_is_named_and_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let (log, lake) = (dir.path().join("live.log"), dir.path().join("lake/"));
    fs::create_dir(&log).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_halake"))
        .args(["convert", "--follow", dir.path().join("*.log").to_str().unwrap(), "-o", lake.to_str().unwrap()])
        .arg("--catch-up")
        .output()
        .unwrap();
    let message = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{message}");
    assert!(message.contains("live.log is not a regular file"), "{message}");
}

/// Debian's haproxy writing its log to a file (`log stdout`, redirected), followed while
/// it serves: the lake catches up within the roll interval, and holds the lines HAProxy
/// wrote, status for status.
#[test]
fn a_live_haproxy_writing_its_log_to_a_file_is_followed_line_for_line() {
    let dir = tempfile::tempdir().unwrap();
    let (log, lake) = (dir.path().join("haproxy.log"), dir.path().join("lake/"));
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let stdout = Stdio::from(File::create(&log).unwrap());
    let mut proxy = common::haproxy::start(dir.path(), "log stdout format raw local0", port, stdout);
    let follower = follower(&log, &lake, &["--roll", "500ms"]);
    for round in 0..10 {
        for _ in 0..5 {
            common::haproxy::get(port, "/ok");
        }
        common::haproxy::get(port, "/no");
        common::haproxy::get(port, if round % 2 == 0 { "/no" } else { "/missing" });
        std::thread::sleep(Duration::from_millis(100));
    }
    // The follower writes a part per roll: all 70 rows are readable within a few rolls.
    let per_status = |input: &Path| {
        let query = "SELECT status, count(*) AS n FROM logs GROUP BY 1 ORDER BY 1";
        let output = halake(&["sql", query, input.to_str().unwrap(), "--format", "csv"]);
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).unwrap()
    };
    let expected = "status,n\n200,50\n403,15\n404,5\n";
    let waited = Instant::now();
    while lake.join("_halake_manifest.follow.json").exists().then(|| per_status(&lake)).as_deref() != Some(expected) {
        assert!(waited.elapsed() < Duration::from_secs(15), "the lake did not catch up: {}", per_status(&lake));
        std::thread::sleep(Duration::from_millis(200));
    }
    let _ = proxy.kill();
    let _ = proxy.wait();
    unsafe { libc::kill(follower.id() as i32, libc::SIGTERM) };
    assert!(follower.wait_with_output().unwrap().status.success());
    assert_eq!(fs::read_to_string(&log).unwrap().lines().count(), 70, "a line per request");
    assert_eq!(per_status(&log), expected, "the file itself");
    assert_eq!(per_status(&lake), expected);
    verified(&lake);
}

/// The log renamed away while its writer still appends to it, and a FIFO, then a
/// directory, put where it was before a regular file comes back: the follower names what
/// it cannot follow without opening it (a FIFO would block it), keeps reading the renamed
/// file by its inode, and takes the new file from its start.
#[test]
fn a_log_replaced_by_a_fifo_then_a_directory_loses_nothing_and_blocks_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (log, rotated, lake, written) = rotation_paths(dir.path());
    let pieces = pieces(dir.path(), "1MB", "5");
    let thirds: Vec<&[Vec<u8>]> = pieces.chunks(pieces.len().div_ceil(3)).collect();
    let write = |path: &Path, part: &[Vec<u8>]| {
        for piece in part {
            append(path, piece);
            append(&written, piece);
        }
    };
    write(&log, thirds[0]);
    let mut child = follower(&log, &lake, &["--roll", "150ms"]);
    let caught_up = |expected: &[String]| {
        let started = Instant::now();
        while !lake.join("_halake_manifest.follow.json").exists() || counts(&lake) != expected {
            let said = fs::read_to_string(dir.path().join("follower.err")).unwrap_or_default();
            assert!(started.elapsed() < Duration::from_secs(30), "the lake never caught up: {said}");
            std::thread::sleep(Duration::from_millis(200));
        }
    };
    caught_up(&counts(&written));
    fs::rename(&log, &rotated).unwrap();
    let fifo = std::ffi::CString::new(log.to_str().unwrap()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0);
    // The writer has not reopened yet: it still appends to the renamed file.
    write(&rotated, thirds[1]);
    let errors = dir.path().join("follower.err");
    let said = |what: &str| fs::read_to_string(&errors).unwrap_or_default().contains(what);
    let started = Instant::now();
    while !said("live.log is not a regular file") {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no word of the FIFO: {}",
            fs::read_to_string(&errors).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    fs::remove_file(&log).unwrap();
    fs::create_dir(&log).unwrap();
    std::thread::sleep(Duration::from_millis(400));
    fs::remove_dir(&log).unwrap();
    write(&log, thirds[2]);
    let expected = counts(&written);
    caught_up(&expected);
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    assert!(child.wait().unwrap().success());
    assert_eq!(counts(&lake), expected);
    assert!(total(&expected) > 2_000, "{expected:?}");
    verified(&lake);
}
