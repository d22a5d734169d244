//! Real faults: a conversion killed at random moments, a full disk, a log truncated or
//! growing while it is read. Nothing may crash, nothing half-written may look complete,
//! and no row may be lost or duplicated once the job is run again.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use arrow::util::display::{ArrayFormatter, FormatOptions};
use common::{corpus, halake, read_parquet, reconciliation};
use halake::input::{InputPath, Opened};

fn generate(path: &Path, size: &str, seed: u64) {
    let result = halake(&["generate", "--size", size, "--seed", &seed.to_string(), "-o", path.to_str().unwrap()]);
    assert!(result.status.success(), "{}", String::from_utf8_lossy(&result.stderr));
}

fn convert_command(inputs: &[PathBuf], output: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_halake"));
    command.arg("convert").args(inputs).arg("-o").arg(output);
    command.args(["--partition", "hour", "--chunk-size", "256KiB", "--threads", "2", "-q"]);
    command
}

fn files_under(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(directory) = stack.pop() {
        for entry in fs::read_dir(&directory).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() { stack.push(path) } else { out.push(path) }
        }
    }
    out.sort();
    out
}

fn is_temporary(path: &Path) -> bool {
    let name = path.file_name().unwrap().to_string_lossy();
    name.starts_with('.') && name.ends_with(".tmp")
}

/// Every file that looks finished is: Parquet parts read to the end, the manifest parses
/// and names only parts that exist. Returns the number of temporary files seen.
fn assert_sound(root: &Path, after: &str) -> usize {
    let mut temporaries = 0;
    for path in files_under(root) {
        if is_temporary(&path) {
            temporaries += 1;
        } else if path.extension().is_some_and(|e| e == "parquet") {
            let file = fs::File::open(&path).unwrap();
            let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
                .unwrap_or_else(|e| panic!("{after}: {} looks complete but is not: {e}", path.display()));
            for batch in reader.build().unwrap() {
                batch.unwrap_or_else(|e| panic!("{after}: {} has a bad row group: {e}", path.display()));
            }
        } else if path.file_name().unwrap() == "_halake_manifest.json" {
            let manifest: serde_json::Value = serde_json::from_str(&fs::read_to_string(&path).unwrap())
                .unwrap_or_else(|e| panic!("{after}: manifest: {e}"));
            for input in manifest["inputs"].as_array().unwrap() {
                for part in input["parts"].as_array().unwrap() {
                    assert!(root.join(part.as_str().unwrap()).exists(), "{after}: manifest names a missing {part}");
                }
            }
        } else {
            panic!("{after}: unexpected file {}", path.display());
        }
    }
    temporaries
}

/// (source_file, source_line) of every row of a dataset, with how often each occurs.
fn row_keys(root: &Path) -> BTreeMap<(String, String), u32> {
    let mut keys = BTreeMap::new();
    let options = FormatOptions::default();
    for path in files_under(root) {
        if path.extension().is_none_or(|e| e != "parquet") || is_temporary(&path) {
            continue;
        }
        for batch in read_parquet(&path) {
            let column = |name: &str| batch.column_by_name(name).unwrap().clone();
            let (file, line) = (column("source_file"), column("source_line"));
            let file = ArrayFormatter::try_new(file.as_ref(), &options).unwrap();
            let line = ArrayFormatter::try_new(line.as_ref(), &options).unwrap();
            for row in 0..batch.num_rows() {
                *keys.entry((file.value(row).to_string(), line.value(row).to_string())).or_default() += 1;
            }
        }
    }
    keys
}

#[test]
fn killed_and_interrupted_runs_leave_a_sound_dataset_and_a_rerun_completes_it_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let inputs: Vec<PathBuf> = (1..=3).map(|i| dir.path().join(format!("haproxy.log.{i}"))).collect();
    for (seed, input) in inputs.iter().enumerate() {
        generate(input, "4MB", seed as u64 + 1);
    }
    let clean = dir.path().join("clean/");
    let started = Instant::now();
    assert!(convert_command(&inputs, &clean).status().unwrap().success());
    let clean_run = started.elapsed();
    let expected = row_keys(&clean);
    assert!(expected.values().all(|&n| n == 1));

    let lake = dir.path().join("lake/");
    let mut rng = fastrand::Rng::with_seed(11);
    let (mut kills, mut interrupts) = (0, 0);
    // Until enough signals landed mid-run: how many do depends on the machine's load.
    let mut round = 0;
    while (kills < 8 || interrupts < 8) && round < 80 {
        round += 1;
        // A new version of every input (the live log grew, logrotate touched it): each
        // round has the whole job to do again, replacing what the last round wrote.
        let now = std::time::SystemTime::now() + Duration::from_secs(round);
        for input in &inputs {
            fs::File::options().write(true).open(input).unwrap().set_modified(now).unwrap();
        }
        let child = convert_command(&inputs, &lake).stderr(Stdio::piped()).spawn().unwrap();
        std::thread::sleep(clean_run.mul_f64(rng.f64()));
        let sigkill = kills < interrupts || (kills == interrupts && rng.bool());
        // SAFETY: the pid is our child's, still unreaped.
        unsafe { libc::kill(child.id() as i32, if sigkill { libc::SIGKILL } else { libc::SIGINT }) };
        let output = child.wait_with_output().unwrap();
        let after = format!("round {round} ({})", if sigkill { "SIGKILL" } else { "SIGINT" });
        let temporaries = assert_sound(&lake, &after);
        match output.status.code() {
            // Finished before the signal, or the SIGINT came between two chunks.
            Some(0) => {}
            Some(130) => {
                interrupts += 1;
                assert_eq!(temporaries, 0, "{after}: a clean stop leaves no temporary file");
                assert!(String::from_utf8_lossy(&output.stderr).contains("interrupted"));
            }
            None => kills += 1,
            Some(code) => panic!("{after}: exit {code}: {}", String::from_utf8_lossy(&output.stderr)),
        }
        // Between runs, the dataset holds whole inputs only: no row twice.
        assert!(row_keys(&lake).values().all(|&n| n == 1), "{after}: duplicated rows");
    }
    assert!(kills >= 8 && interrupts >= 8, "kills {kills}, interrupts {interrupts}: the signals came too late");
    eprintln!("survived {kills} SIGKILLs and {interrupts} SIGINTs mid-run");

    assert!(convert_command(&inputs, &lake).status().unwrap().success());
    assert_eq!(assert_sound(&lake, "the final run"), 0, "stale temporary files are cleaned up");
    assert!(row_keys(&lake) == expected, "the re-run must give exactly the rows of a clean run");
}

/// A filesystem of `bytes`, unmounted when dropped. None where mounting is not allowed.
struct SmallDisk(PathBuf);

impl SmallDisk {
    fn mount(path: &Path, bytes: u64) -> Option<SmallDisk> {
        fs::create_dir_all(path).unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={bytes}"), "tmpfs"])
            .arg(path)
            .stderr(Stdio::null())
            .status()
            .ok()?;
        status.success().then(|| SmallDisk(path.to_path_buf()))
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_full_disk_is_a_clear_error_and_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("big.log");
    generate(&input, "8MB", 5);
    let disk = dir.path().join("disk");
    let limit: u64 = 256 << 10;
    let mounted = SmallDisk::mount(&disk, limit);
    // Without the right to mount, a file-size limit fails the writes the same way.
    let limited_halake = || match &mounted {
        Some(_) => Command::new(env!("CARGO_BIN_EXE_halake")),
        None => {
            let mut command = Command::new("prlimit");
            command.arg(format!("--fsize={limit}")).arg(env!("CARGO_BIN_EXE_halake"));
            command
        }
    };
    for output in [disk.join("out.parquet"), disk.join("lake/")] {
        let result = limited_halake()
            .args(["convert", input.to_str().unwrap(), "-o", output.to_str().unwrap()])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&result.stderr);
        assert_eq!(result.status.code(), Some(1), "{stderr}");
        let named = output.to_str().unwrap().trim_end_matches('/');
        assert!(stderr.contains(named), "the error names the output: {stderr}");
        assert!(stderr.contains("No space left on device") || stderr.contains("File too large"), "{stderr}");
        let left = files_under(&disk);
        assert!(left.is_empty(), "left behind: {left:?}");
    }
}

/// Starts a conversion of `input` on one thread in small chunks, and returns once it has
/// the input mapped: it is then still reading for a few seconds.
fn start_slow_conversion(input: &Path, output: &Path) -> std::process::Child {
    let child = Command::new(env!("CARGO_BIN_EXE_halake"))
        .args(["convert", input.to_str().unwrap(), "-o", output.to_str().unwrap()])
        .args(["--threads", "1", "--chunk-size", "64KiB"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Once the log is mapped (the output file is created before the inputs are opened).
    let maps = format!("/proc/{}/maps", child.id());
    let deadline = Instant::now() + Duration::from_secs(30);
    while !fs::read_to_string(&maps).unwrap_or_default().contains(input.to_str().unwrap()) {
        assert!(Instant::now() < deadline, "the log was never mapped");
        std::thread::sleep(Duration::from_millis(1));
    }
    child
}

#[test]
fn a_log_truncated_while_converted_is_reported_and_nothing_invented() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("haproxy.log");
    generate(&input, "40MB", 9);
    let total_lines = halake::input::count_lines(&fs::read(&input).unwrap());
    let keep = 1 << 20;
    let output = dir.path().join("out.parquet");
    let child = start_slow_conversion(&input, &output);
    // What logrotate's copytruncate does, and a writer that goes on.
    fs::OpenOptions::new().write(true).open(&input).unwrap().set_len(keep).unwrap();
    let result = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert_eq!(result.status.code(), Some(2), "a clean exit, not a SIGBUS: {stderr}");
    assert!(stderr.contains("haproxy.log: the file changed while it was read"), "{stderr}");
    let (lines, rows, events, rejects) = reconciliation(&String::from_utf8_lossy(&result.stdout));
    assert_eq!(rejects, 0, "no zeros read as lines");
    assert!(lines < total_lines && rows + events == lines);
    let keys = row_keys_of_file(&output);
    assert_eq!(keys.len() as u64, rows);
    assert!(keys.iter().all(|&(line, count)| count == 1 && line <= total_lines));
}

fn row_keys_of_file(path: &Path) -> Vec<(u64, u32)> {
    let dir = tempfile::tempdir().unwrap();
    fs::copy(path, dir.path().join("only.parquet")).unwrap();
    row_keys(dir.path()).into_iter().map(|((_, line), count)| (line.parse().unwrap(), count)).collect()
}

#[test]
fn a_growing_log_is_read_as_it_was_when_opened() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("haproxy.log");
    let good = fs::read_to_string(corpus("httplog.raw.log")).unwrap();
    let (complete, partial) = good.split_at(good.len() - 50);
    fs::write(&path, complete).unwrap();
    let opened = Opened::open(&InputPath::File(path.clone())).unwrap();
    assert!(opened.is_mapped());
    // HAProxy writes the rest of its line and more after halake opened the file.
    fs::OpenOptions::new().append(true).open(&path).unwrap().write_all(format!("{partial}{good}").as_bytes()).unwrap();
    let mut chunks = opened.chunks(4096);
    let read: Vec<u8> = chunks.by_ref().flat_map(|c| c.unwrap().bytes().to_vec()).collect();
    let whole_lines = complete.rfind('\n').unwrap() + 1;
    assert_eq!(read, complete.as_bytes()[..whole_lines]);
    let growth = chunks.growth().expect("the growth is reported");
    assert_eq!(growth.read, whole_lines as u64);
    assert_eq!(growth.held_back, (complete.len() - whole_lines) as u64);
    assert_eq!(growth.now, (complete.len() + partial.len() + good.len()) as u64);
}

#[test]
fn a_growing_log_is_named_in_the_summary() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("haproxy.log");
    generate(&input, "40MB", 4);
    let output = dir.path().join("out.parquet");
    let child = start_slow_conversion(&input, &output);
    let before = fs::metadata(&input).unwrap().len();
    fs::OpenOptions::new().append(true).open(&input).unwrap().write_all(b"127.0.0.1:1 [24/Nov/2026:10:00").unwrap();
    let result = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert_eq!(result.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains(&format!("converted its first {before} bytes")), "{stderr}");
}
