//! `halake verify`: a dataset checked against its manifests. Every part a manifest
//! lists must exist and read to its end; an input's parts must hold the rows recorded
//! for it; no part may be unlisted (what a killed run or a hand copy left), and no input
//! may be counted by two manifests. Repair deletes unlisted parts and converts again,
//! from its source, each input whose parts are damaged.

use std::collections::{BTreeMap, HashMap};

use bytes::Bytes;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::dataset::{DatasetError, MANIFEST, Manifest, ManifestEntry, Partitioning, Shard, is_manifest};
use crate::store::Store;

/// What a check found.
#[derive(Debug, Default)]
pub struct Findings {
    pub manifests: usize,
    pub inputs: usize,
    pub parts: usize,
    pub rows: u64,
    /// One line per problem, naming the part, manifest or input.
    pub problems: Vec<String>,
    /// Inputs whose parts are missing, unreadable or short: (manifest, input path).
    pub damaged: Vec<(String, String)>,
    /// Parts no manifest lists.
    pub unlisted: Vec<String>,
}

impl Findings {
    pub fn sound(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Reads every manifest and every part of the dataset at `store`. A manifest that
/// cannot be read is an error, not a finding: nothing can be trusted, or repaired, then.
pub fn check(store: &Store) -> Result<Findings, DatasetError> {
    let files = store.list()?;
    let mut findings = Findings::default();
    let mut entries: Vec<(String, ManifestEntry)> = Vec::new();
    for name in files.iter().filter(|f| is_manifest(f)) {
        let bytes = store.read(name)?.unwrap_or_default();
        let path = store.display(name);
        let read = Manifest::parse(&bytes).map_err(|message| DatasetError::Manifest { path, message })?;
        findings.manifests += 1;
        entries.extend(read.into_iter().map(|entry| (name.clone(), entry)));
    }
    if findings.manifests == 0 {
        findings.problems.push(format!("{}: no {MANIFEST}: not a dataset halake wrote", store.display("")));
    }
    let mut counted: HashMap<String, &str> = HashMap::new();
    let mut listed: BTreeMap<&str, &str> = BTreeMap::new();
    for (manifest, entry) in &entries {
        findings.inputs += 1;
        let input = entry.identity.path.as_str();
        // A followed path is one entry per file it named (rotations start another).
        let key = match entry.follow {
            Some(followed) => format!("{input}\0{}:{}", followed.device, followed.inode),
            None => input.to_string(),
        };
        if let Some(first) = counted.insert(key, manifest) {
            findings.problems.push(format!("{input}: counted twice, by {first} and by {manifest}"));
        }
        let mut rows = 0;
        let mut damaged = false;
        for part in &entry.parts {
            if let Some(other) = listed.insert(part, input) {
                findings.problems.push(format!("{}: listed for {other} and for {input}", store.display(part)));
            }
            if !files.contains(part) {
                findings.problems.push(format!("{}: missing (listed by {manifest} for {input})", store.display(part)));
                damaged = true;
                continue;
            }
            match read_part(store, part) {
                Ok(part_rows) => {
                    findings.parts += 1;
                    rows += part_rows;
                }
                Err(why) => {
                    findings.problems.push(format!("{}: unreadable: {why}", store.display(part)));
                    damaged = true;
                }
            }
        }
        if !damaged && entry.complete && rows != entry.rows {
            findings.problems.push(format!("{input}: its parts hold {rows} rows, {manifest} records {}", entry.rows));
            damaged = true;
        }
        findings.rows += rows;
        if damaged && entry.follow.is_some() {
            findings.problems.push(format!(
                "{input}: followed by `convert --follow`, whose parts --repair cannot convert again \
                 (the follower reads from offsets, not whole files)"
            ));
        } else if damaged {
            findings.damaged.push((manifest.clone(), input.to_string()));
        }
    }
    for part in files.iter().filter(|f| f.ends_with(".parquet") && !listed.contains_key(f.as_str())) {
        findings.problems.push(format!("{}: no manifest lists it", store.display(part)));
        findings.unlisted.push(part.clone());
    }
    Ok(findings)
}

/// Decodes every row group of a part: a footer that parses says little of the pages.
fn read_part(store: &Store, part: &str) -> Result<u64, String> {
    let bytes = Bytes::from(store.read(part).map_err(|e| e.to_string())?.unwrap_or_default());
    let reader = ParquetRecordBatchReaderBuilder::try_new(bytes).map_err(|e| e.to_string())?;
    let footer_rows = reader.metadata().file_metadata().num_rows() as u64;
    let mut rows = 0;
    for batch in reader.build().map_err(|e| e.to_string())? {
        rows += batch.map_err(|e| e.to_string())?.num_rows() as u64;
    }
    if rows != footer_rows {
        return Err(format!("its footer says {footer_rows} rows, its pages hold {rows}"));
    }
    Ok(rows)
}

/// What a repair will do: delete the unlisted parts, and for each damaged input, forget
/// it in its manifest and delete its parts, so that converting it again (by the caller,
/// which has the formats) writes it once. Returns the inputs to convert, with the shard
/// whose manifest held each.
pub fn forget_damaged(store: &Store, findings: &Findings) -> Result<Vec<(String, Option<Shard>)>, DatasetError> {
    for part in &findings.unlisted {
        store.delete(part)?;
    }
    let mut again = Vec::new();
    for (manifest_name, input) in &findings.damaged {
        let shard = shard_of(manifest_name);
        let mut manifest = Manifest::load(store, shard)?;
        for part in manifest.forget(input) {
            store.delete(&part)?;
        }
        manifest.save(store)?;
        again.push((input.clone(), shard));
    }
    Ok(again)
}

/// `_halake_manifest.shard-2-of-4.json` → 2/4.
fn shard_of(manifest: &str) -> Option<Shard> {
    let rest = manifest.strip_prefix("_halake_manifest.shard-")?.strip_suffix(".json")?;
    let (index, count) = rest.split_once("-of-")?;
    Shard::parse(&format!("{index}/{count}")).ok()
}

/// How the dataset is partitioned, from its part names.
pub fn partitioning(store: &Store) -> Result<Partitioning, DatasetError> {
    let files = store.list()?;
    let part = files.iter().find(|f| f.ends_with(".parquet"));
    Ok(match part {
        Some(part) if part.contains("/hour=") => Partitioning::Hour,
        Some(part) if part.starts_with("date=") => Partitioning::Day,
        Some(_) => Partitioning::None,
        None => Partitioning::Day,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manifest_name_tells_its_shard() {
        assert_eq!(shard_of("_halake_manifest.shard-2-of-4.json"), Some(Shard { index: 2, count: 4 }));
        assert_eq!(shard_of(MANIFEST), None);
        assert!(is_manifest(MANIFEST) && !is_manifest("date=x/_halake_manifest.json"));
    }
}
