//! `halake verify`: a dataset checked against its manifests, damage found and repaired
//! to the exact rows a clean conversion writes.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

use common::{convert, halake};

/// A dataset of the shipped sample, in a fresh directory.
fn lake() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("data");
    convert(&[&data], Path::new(&format!("{}/", lake.display())), &[]);
    (dir, lake)
}

fn parts(lake: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> =
        fs::read_dir(lake.join("date=2026-11-23")).unwrap().map(|e| e.unwrap().path()).collect();
    found.sort();
    found
}

fn verify(lake: &Path, extra: &[&str]) -> (Option<i32>, String) {
    let mut args = vec!["verify", lake.to_str().unwrap()];
    args.extend(extra);
    let Output { status, stdout, stderr } = halake(&args);
    (status.code(), format!("{}{}", String::from_utf8_lossy(&stdout), String::from_utf8_lossy(&stderr)))
}

/// Every row's (source file, line), sorted: what a repair must give back exactly.
fn rows(lake: &Path) -> String {
    let query = "SELECT source_file, source_line FROM logs ORDER BY 1, 2";
    let result = halake(&["sql", query, lake.to_str().unwrap(), "--format", "csv"]);
    assert!(result.status.success(), "{}", String::from_utf8_lossy(&result.stderr));
    String::from_utf8(result.stdout).unwrap()
}

#[test]
fn a_sound_dataset_passes() {
    let (_dir, lake) = lake();
    let (code, out) = verify(&lake, &[]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.starts_with("sound: 1 manifest(s), 4 input(s), 3 part(s) read to the end, "), "{out}");
}

#[test]
fn a_truncated_part_is_found_and_repaired_to_the_same_rows() {
    let (_dir, lake) = lake();
    let clean = rows(&lake);
    let part = &parts(&lake)[0];
    let bytes = fs::read(part).unwrap();
    fs::write(part, &bytes[..bytes.len() / 2]).unwrap();
    let (code, out) = verify(&lake, &[]);
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains(&format!("problem: {}: unreadable", part.display())), "{out}");
    assert!(out.contains("--repair"), "{out}");
    let (code, out) = verify(&lake, &["--repair"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("converted ") && out.contains(" again: "), "{out}");
    assert_eq!(rows(&lake), clean);
}

#[test]
fn a_missing_part_is_found_and_repaired_to_the_same_rows() {
    let (_dir, lake) = lake();
    let clean = rows(&lake);
    let part = &parts(&lake)[1];
    fs::remove_file(part).unwrap();
    let (code, out) = verify(&lake, &[]);
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains(&format!("problem: {}: missing (listed by _halake_manifest.json", part.display())), "{out}");
    assert_eq!(verify(&lake, &["--repair"]).0, Some(0));
    assert_eq!(rows(&lake), clean);
    assert_eq!(verify(&lake, &[]).0, Some(0));
}

#[test]
fn an_unlisted_part_is_found_and_repair_deletes_it() {
    let (_dir, lake) = lake();
    let clean = rows(&lake);
    let copy = lake.join("date=2026-11-23/part-copied-by-hand.parquet");
    fs::copy(&parts(&lake)[0], &copy).unwrap();
    assert_ne!(rows(&lake), clean, "a query reads the copy: its rows are there twice");
    let (code, out) = verify(&lake, &[]);
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains(&format!("problem: {}: no manifest lists it", copy.display())), "{out}");
    assert_eq!(verify(&lake, &["--repair"]).0, Some(0));
    assert!(!copy.exists());
    assert_eq!(rows(&lake), clean);
}

#[test]
fn a_corrupted_manifest_is_a_clear_error_and_nothing_is_converted_again() {
    let (_dir, lake) = lake();
    let manifest = lake.join("_halake_manifest.json");
    let text = fs::read_to_string(&manifest).unwrap();
    fs::write(&manifest, text.replacen("\"rows\"", "\"rowz\"", 1)).unwrap();
    let before = parts(&lake);
    let (code, out) = verify(&lake, &["--repair"]);
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains(&format!("reading the manifest {}", manifest.display())) && out.contains("'rows'"), "{out}");
    assert_eq!(parts(&lake), before, "nothing was deleted or written");
    // And a conversion into it refuses too, rather than converting everything again.
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("data");
    let result = halake(&["convert", data.to_str().unwrap(), "-o", &format!("{}/", lake.display())]);
    assert!(!result.status.success());
    assert!(String::from_utf8_lossy(&result.stderr).contains("reading the manifest"));
    assert_eq!(parts(&lake), before);
}
