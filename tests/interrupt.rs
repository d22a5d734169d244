//! A conversion killed mid-write leaves no file that looks complete, and a re-run works.

mod common;

use std::fs;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{convert, halake, reconciliation};

#[test]
fn a_killed_conversion_leaves_no_complete_looking_output() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("big.log");
    let generated = halake(&["generate", "--size", "20MB", "-o", input.to_str().unwrap()]);
    assert!(generated.status.success());
    let output = dir.path().join("out.parquet");
    let mut child = Command::new(env!("CARGO_BIN_EXE_halake"))
        .args(["convert", input.to_str().unwrap(), "-o", output.to_str().unwrap(), "--threads", "1", "-q"])
        .spawn()
        .unwrap();
    // Kill it mid-run: the temporary output exists from the start until the final
    // rename. (Its bytes may all still sit in the write buffer.)
    let started = Instant::now();
    let writing = loop {
        let temporary = fs::read_dir(dir.path())
            .unwrap()
            .filter_map(Result::ok)
            .find(|e| e.file_name().to_string_lossy().ends_with(".tmp"));
        if temporary.is_some() || started.elapsed() > Duration::from_secs(30) {
            break temporary.is_some();
        }
        if child.try_wait().unwrap().is_some() {
            break false;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(writing, "the conversion never started writing, or finished before it could be killed");
    assert!(!output.exists(), "a killed run left {} behind", output.display());

    let summary = convert(&[&input], &output, &[]);
    let (lines, rows, events, rejects) = reconciliation(&summary);
    assert_eq!((rejects, lines), (0, rows + events));
    assert!(output.exists());
}
