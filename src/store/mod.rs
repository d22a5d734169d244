//! Where output is written and datasets are kept: a local directory, or a prefix in
//! object storage (`s3://bucket/prefix/`, and `gs://`, `az://` when built with them)
//! through the `object_store` crate that DataFusion reads with.
//!
//! A dataset needs four things of its store: write a file atomically, read a small file
//! (the manifest), list the files under the root, delete one. On disk a file is written
//! to a temporary name and renamed; in object storage it goes up as a multipart upload,
//! part by part while it is encoded, and appears only when the upload completes.

#[cfg(feature = "object-store")]
pub mod remote;

use std::fs;
use std::path::{Path, PathBuf};

use crate::sink::{self, AtomicFile, SinkError};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
    /// Object storage: the URL, and what the service (or the way to it) answered.
    #[error("{url}: {message}")]
    Remote { url: String, message: String },
    #[error("{0}")]
    Unsupported(String),
}

/// The URL schemes of object storage.
const REMOTE_SCHEMES: [&str; 7] = ["s3://", "s3a://", "gs://", "az://", "abfs://", "abfss://", "azure://"];

/// Whether `target` names object storage rather than a local path.
pub fn is_remote(target: &str) -> bool {
    REMOTE_SCHEMES.iter().any(|scheme| target.starts_with(scheme))
}

/// A directory, local or remote, that files are written into by relative names
/// (`date=2026-11-23/part-....parquet`, always with `/`).
pub enum Store {
    Local(PathBuf),
    #[cfg(feature = "object-store")]
    Remote(remote::Remote),
}

impl Store {
    /// The store rooted at `target`: a local directory, or an object-store prefix.
    pub fn open(target: &str) -> Result<Store, StoreError> {
        if !is_remote(target) {
            return Ok(Store::Local(PathBuf::from(target)));
        }
        #[cfg(feature = "object-store")]
        return Ok(Store::Remote(remote::Remote::open(target)?));
        #[cfg(not(feature = "object-store"))]
        Err(StoreError::Unsupported(format!(
            "{target}: this build has no object storage (build with the default features)"
        )))
    }

    /// Makes the root ready to write into, and fails early when it cannot be: a local
    /// directory is created and cleared of what killed runs left; a bucket is listed,
    /// which tells wrong credentials, a missing bucket or an unreachable endpoint.
    pub fn prepare(&self) -> Result<(), StoreError> {
        match self {
            Store::Local(root) => {
                fs::create_dir_all(root).map_err(|source| io_error(root, source))?;
                for directory in directories(root)? {
                    sink::remove_stale_temporaries(&directory, ".");
                }
                Ok(())
            }
            #[cfg(feature = "object-store")]
            Store::Remote(remote) => remote.check(),
        }
    }

    /// Where `relative` is, for messages.
    pub fn display(&self, relative: &str) -> String {
        match self {
            Store::Local(root) => root.join(relative).display().to_string(),
            #[cfg(feature = "object-store")]
            Store::Remote(remote) => remote.url(relative),
        }
    }

    /// A file that appears at `relative` only once committed.
    pub fn create(&self, relative: &str) -> Result<AtomicFile, SinkError> {
        match self {
            Store::Local(root) => {
                let path = root.join(relative);
                if let Some(directory) = path.parent() {
                    fs::create_dir_all(directory)
                        .map_err(|source| SinkError::Create { path: directory.display().to_string(), source })?;
                }
                AtomicFile::create(&path)
            }
            #[cfg(feature = "object-store")]
            Store::Remote(remote) => Ok(AtomicFile::upload(remote.upload(relative))),
        }
    }

    /// The bytes of a small file, or None when there is none.
    pub fn read(&self, relative: &str) -> Result<Option<Vec<u8>>, StoreError> {
        match self {
            Store::Local(root) => {
                let path = root.join(relative);
                match fs::read(&path) {
                    Ok(bytes) => Ok(Some(bytes)),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                    Err(source) => Err(io_error(&path, source)),
                }
            }
            #[cfg(feature = "object-store")]
            Store::Remote(remote) => remote.read(relative),
        }
    }

    /// Every file under the root, by relative name, temporaries of a local run left out.
    pub fn list(&self) -> Result<Vec<String>, StoreError> {
        match self {
            Store::Local(root) => {
                let mut files = Vec::new();
                for directory in directories(root)? {
                    let entries = fs::read_dir(&directory).map_err(|source| io_error(&directory, source))?;
                    for entry in entries {
                        let entry = entry.map_err(|source| io_error(&directory, source))?;
                        let name = entry.file_name().to_string_lossy().into_owned();
                        if entry.file_type().is_ok_and(|t| t.is_file()) && !name.ends_with(".tmp") {
                            let path = entry.path();
                            let relative = path.strip_prefix(root).unwrap_or(&path);
                            files.push(relative.to_string_lossy().replace(std::path::MAIN_SEPARATOR, "/"));
                        }
                    }
                }
                files.sort();
                Ok(files)
            }
            #[cfg(feature = "object-store")]
            Store::Remote(remote) => remote.list(),
        }
    }

    /// Deletes `relative`; a file already gone is no error.
    pub fn delete(&self, relative: &str) -> Result<(), StoreError> {
        match self {
            Store::Local(root) => {
                let path = root.join(relative);
                match fs::remove_file(&path) {
                    Err(source) if source.kind() != std::io::ErrorKind::NotFound => Err(io_error(&path, source)),
                    _ => Ok(()),
                }
            }
            #[cfg(feature = "object-store")]
            Store::Remote(remote) => remote.delete(relative),
        }
    }
}

/// A single output file: a local path, or `s3://bucket/key.parquet`.
pub fn create_file(target: &str) -> Result<AtomicFile, SinkError> {
    if !is_remote(target) {
        return AtomicFile::create(Path::new(target));
    }
    let (directory, name) = target.rsplit_once('/').unwrap_or((target, ""));
    let store_error = |e: StoreError| SinkError::Create { path: target.to_string(), source: std::io::Error::other(e) };
    let store = Store::open(&format!("{directory}/")).map_err(store_error)?;
    // Credentials, bucket and endpoint are checked before anything is converted.
    store.prepare().map_err(store_error)?;
    store.create(name)
}

fn io_error(path: &Path, source: std::io::Error) -> StoreError {
    StoreError::Io { path: path.display().to_string(), source }
}

/// `root` and every directory under it: a dataset's partitions.
fn directories(root: &Path) -> Result<Vec<PathBuf>, StoreError> {
    let mut found = vec![root.to_path_buf()];
    let mut next = 0;
    while next < found.len() {
        let directory = found[next].clone();
        next += 1;
        let entries = match fs::read_dir(&directory) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && next == 1 => return Ok(Vec::new()),
            Err(source) => return Err(io_error(&directory, source)),
        };
        for entry in entries {
            let entry = entry.map_err(|source| io_error(&directory, source))?;
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                found.push(entry.path());
            }
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn a_local_store_lists_writes_reads_and_deletes_by_relative_name() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("lake").to_str().unwrap()).unwrap();
        store.prepare().unwrap();
        assert_eq!(store.list().unwrap(), Vec::<String>::new());
        let mut file = store.create("date=2026-11-23/part-a.parquet").unwrap();
        file.write_all(b"rows").unwrap();
        assert_eq!(store.list().unwrap(), Vec::<String>::new(), "not there before it is committed");
        file.commit().unwrap();
        assert_eq!(store.list().unwrap(), vec!["date=2026-11-23/part-a.parquet"]);
        assert_eq!(store.read("date=2026-11-23/part-a.parquet").unwrap().unwrap(), b"rows");
        assert_eq!(store.read("missing").unwrap(), None);
        store.delete("date=2026-11-23/part-a.parquet").unwrap();
        store.delete("date=2026-11-23/part-a.parquet").unwrap();
        assert_eq!(store.list().unwrap(), Vec::<String>::new());
    }

    #[test]
    fn urls_of_object_storage_are_told_from_paths() {
        assert!(is_remote("s3://bucket/lake/"));
        assert!(is_remote("gs://bucket/x.parquet"));
        assert!(!is_remote("lake/"));
        assert!(!is_remote("/var/lib/s3://odd"));
    }
}
