//! Object storage through the `object_store` crate: `s3://` (and `gs://`, `az://` with
//! the `gcs` and `azure` features), configured from the environment as each cloud's
//! tools are: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`,
//! `AWS_ENDPOINT_URL`, `AWS_ALLOW_HTTP`... The crate reads no `~/.aws` profiles: use
//! the variables, or the instance's or container's credentials, which it finds itself.
//!
//! The converter is synchronous (rayon); the store is async. Calls run on one small
//! runtime for the whole process, and a file is uploaded in parts of [`PART_BYTES`] as
//! the Parquet writer produces them, [`PARTS_IN_FLIGHT`] at a time: memory per open
//! file stays a few parts, whatever the file's size.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use futures::TryStreamExt;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload, RetryConfig, WriteMultipart};
use url::Url;

use super::StoreError;

/// S3 takes parts of 5 MiB and more (but the last).
pub const PART_BYTES: usize = 8 << 20;
/// Parts uploading while the next one fills: enough to hide a round trip.
pub const PARTS_IN_FLIGHT: usize = 2;

/// The runtime every object-store call of a conversion runs on. It lives as long as
/// the process: the HTTP client's connections belong to it.
fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("halake-store")
            .enable_all()
            .build()
            .expect("a runtime of two threads starts")
    })
}

/// A few retries with backoff: a throttled (503 SlowDown) or briefly unreachable
/// service is waited for, a wrong endpoint fails within seconds, not the crate's
/// default three minutes.
fn retry() -> RetryConfig {
    RetryConfig { max_retries: 5, retry_timeout: Duration::from_secs(60), ..RetryConfig::default() }
}

/// The store behind `target`'s scheme and bucket, and the bucket's URL
/// (`s3://bucket`), under which DataFusion finds it. One per bucket for the process:
/// its HTTP client keeps its connections from one request to the next.
pub fn store_for(target: &str) -> Result<(Url, Arc<dyn ObjectStore>), StoreError> {
    static STORES: OnceLock<Mutex<HashMap<Url, Arc<dyn ObjectStore>>>> = OnceLock::new();
    let bad = |message: String| StoreError::Remote { url: target.to_string(), message };
    let url = Url::parse(target).map_err(|e| bad(e.to_string()))?;
    let bucket = url.host_str().filter(|host| !host.is_empty()).ok_or_else(|| bad("no bucket in the URL".into()))?;
    let root = Url::parse(&format!("{}://{bucket}", url.scheme())).map_err(|e| bad(e.to_string()))?;
    let mut stores = STORES.get_or_init(Mutex::default).lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(store) = stores.get(&root) {
        return Ok((root, store.clone()));
    }
    let store: Arc<dyn ObjectStore> = match url.scheme() {
        "s3" | "s3a" => Arc::new(
            object_store::aws::AmazonS3Builder::from_env()
                .with_url(target)
                .with_retry(retry())
                .build()
                .map_err(|e| bad(e.to_string()))?,
        ),
        #[cfg(feature = "gcs")]
        "gs" => Arc::new(
            object_store::gcp::GoogleCloudStorageBuilder::from_env()
                .with_url(target)
                .with_retry(retry())
                .build()
                .map_err(|e| bad(e.to_string()))?,
        ),
        #[cfg(feature = "azure")]
        "az" | "abfs" | "abfss" | "azure" => Arc::new(
            object_store::azure::MicrosoftAzureBuilder::from_env()
                .with_url(target)
                .with_retry(retry())
                .build()
                .map_err(|e| bad(e.to_string()))?,
        ),
        scheme => {
            return Err(StoreError::Unsupported(format!(
                "{target}: this build reads no {scheme}:// storage (build with the feature that adds it: s3, gcs, azure)"
            )));
        }
    };
    stores.insert(root.clone(), store.clone());
    Ok((root, store))
}

/// A prefix in a bucket.
pub struct Remote {
    store: Arc<dyn ObjectStore>,
    prefix: ObjectPath,
    /// `s3://bucket/prefix/`, for messages.
    root_url: String,
}

impl Remote {
    pub fn open(target: &str) -> Result<Remote, StoreError> {
        let (_, store) = store_for(target)?;
        let url = Url::parse(target).map_err(|e| StoreError::Remote { url: target.into(), message: e.to_string() })?;
        let prefix = ObjectPath::from(url.path().trim_matches('/'));
        let root_url = if target.ends_with('/') { target.to_string() } else { format!("{target}/") };
        Ok(Remote { store, prefix, root_url })
    }

    pub fn url(&self, relative: &str) -> String {
        format!("{}{relative}", self.root_url)
    }

    fn location(&self, relative: &str) -> ObjectPath {
        relative.split('/').fold(self.prefix.clone(), |path, part| path.join(part))
    }

    fn error(&self, relative: &str, error: object_store::Error) -> StoreError {
        StoreError::Remote { url: self.url(relative), message: one_line(&error) }
    }

    /// Lists the prefix once: what fails here (credentials, bucket, endpoint) fails
    /// before anything is converted.
    pub fn check(&self) -> Result<(), StoreError> {
        runtime()
            .block_on(self.store.list_with_delimiter(Some(&self.prefix)))
            .map(|_| ())
            .map_err(|e| self.error("", e))
    }

    pub fn read(&self, relative: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let location = self.location(relative);
        let result = runtime().block_on(async {
            let got = self.store.get(&location).await?;
            got.bytes().await
        });
        match result {
            Ok(bytes) => Ok(Some(bytes.to_vec())),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.error(relative, e)),
        }
    }

    pub fn list(&self) -> Result<Vec<String>, StoreError> {
        let objects: Vec<object_store::ObjectMeta> =
            runtime().block_on(self.store.list(Some(&self.prefix)).try_collect()).map_err(|e| self.error("", e))?;
        let prefix = self.prefix.as_ref();
        let mut names: Vec<String> = objects
            .iter()
            .map(|object| {
                let key = object.location.as_ref();
                let relative = key.strip_prefix(prefix).unwrap_or(key);
                relative.trim_start_matches('/').to_string()
            })
            .collect();
        names.sort();
        Ok(names)
    }

    pub fn delete(&self, relative: &str) -> Result<(), StoreError> {
        match runtime().block_on(self.store.delete(&self.location(relative))) {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.error(relative, e)),
        }
    }

    pub fn upload(&self, relative: &str) -> Upload {
        Upload {
            store: self.store.clone(),
            location: self.location(relative),
            url: self.url(relative),
            buffer: Vec::new(),
            parts: None,
        }
    }
}

/// object_store's messages run over several lines (the request, the response body):
/// one line is what a terminal user and a log want.
/// S3's XML error body is reduced to its code and message (`NoSuchBucket: The
/// specified bucket does not exist`).
fn one_line(error: &object_store::Error) -> String {
    let text = error.to_string();
    let element = |name: &str| {
        let start = text.find(&format!("<{name}>"))? + name.len() + 2;
        let end = start + text[start..].find(&format!("</{name}>"))?;
        Some(text[start..end].to_string())
    };
    if let (Some(code), Some(message)) = (element("Code"), element("Message")) {
        return format!("{code}: {message}");
    }
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// An object written as it is produced: invisible until [`Upload::commit`] completes
/// it, aborted (its parts deleted) when dropped before.
pub struct Upload {
    store: Arc<dyn ObjectStore>,
    location: ObjectPath,
    url: String,
    buffer: Vec<u8>,
    /// Started with the first full part; an object smaller than a part is one PUT.
    parts: Option<WriteMultipart>,
}

impl Upload {
    pub fn url(&self) -> &str {
        &self.url
    }

    fn io_error(&self, error: object_store::Error) -> std::io::Error {
        std::io::Error::other(format!("uploading {}: {}", self.url, one_line(&error)))
    }

    /// Hands the buffer to the upload, after waiting for a part in flight to finish
    /// when [`PARTS_IN_FLIGHT`] are.
    fn send_buffer(&mut self) -> std::io::Result<()> {
        let runtime = runtime();
        if self.parts.is_none() {
            let started = runtime.block_on(self.store.put_multipart(&self.location)).map_err(|e| self.io_error(e))?;
            self.parts = Some(WriteMultipart::new_with_chunk_size(started, PART_BYTES));
        }
        let parts = self.parts.as_mut().expect("started above");
        if let Err(error) = runtime.block_on(parts.wait_for_capacity(PARTS_IN_FLIGHT)) {
            return Err(self.io_error(error));
        }
        let bytes = std::mem::take(&mut self.buffer);
        // The parts are sent by tasks of the store's runtime.
        let _inside = runtime.enter();
        self.parts.as_mut().expect("started above").put(bytes.into());
        Ok(())
    }

    /// Uploads what is left and makes the object appear.
    pub fn commit(mut self) -> std::io::Result<()> {
        let runtime = runtime();
        match self.parts.take() {
            None => {
                let payload = PutPayload::from(std::mem::take(&mut self.buffer));
                runtime.block_on(self.store.put(&self.location, payload)).map(|_| ()).map_err(|e| self.io_error(e))
            }
            Some(mut parts) => {
                let rest = std::mem::take(&mut self.buffer);
                let _inside = runtime.enter();
                parts.put(rest.into());
                // On failure `finish` aborts the upload itself.
                runtime.block_on(parts.finish()).map(|_| ()).map_err(|e| self.io_error(e))
            }
        }
    }
}

impl Write for Upload {
    /// Takes at most what fills the part: a row group arrives in writes of whole column
    /// chunks, tens of MB, that would otherwise be copied whole.
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        if self.buffer.capacity() == 0 {
            self.buffer.reserve_exact(PART_BYTES);
        }
        let taken = bytes.len().min(PART_BYTES - self.buffer.len());
        self.buffer.extend_from_slice(&bytes[..taken]);
        if self.buffer.len() == PART_BYTES {
            self.send_buffer()?;
        }
        Ok(taken)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for Upload {
    fn drop(&mut self) {
        // Not committed: an error on the way. The parts already sent are deleted.
        if let Some(parts) = self.parts.take() {
            let _ = runtime().block_on(parts.abort());
        }
    }
}

/// An object to read: its URL, size and last modification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    pub url: String,
    pub size: u64,
    pub modified_ms: i64,
}

/// The object at `target`, or, when none is there, every object under it as a prefix,
/// in name order.
pub fn objects(target: &str) -> Result<Vec<ObjectInfo>, StoreError> {
    let remote = Remote::open(target.trim_end_matches('/'))?;
    let info = |meta: &object_store::ObjectMeta, url: String| ObjectInfo {
        url,
        size: meta.size,
        modified_ms: meta.last_modified.timestamp_millis(),
    };
    if !target.ends_with('/') {
        match runtime().block_on(remote.store.head(&remote.prefix)) {
            Ok(meta) => return Ok(vec![info(&meta, target.to_string())]),
            Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => return Err(remote.error("", e)),
        }
    }
    let objects: Vec<object_store::ObjectMeta> =
        runtime().block_on(remote.store.list(Some(&remote.prefix)).try_collect()).map_err(|e| remote.error("", e))?;
    let prefix = remote.prefix.as_ref();
    let mut found: Vec<ObjectInfo> = objects
        .iter()
        .map(|meta| {
            let key = meta.location.as_ref();
            let relative = key.strip_prefix(prefix).unwrap_or(key).trim_start_matches('/');
            info(meta, remote.url(relative))
        })
        // Hidden and bookkeeping objects, as in a directory.
        .filter(|object| {
            let name = object.url.rsplit('/').next().unwrap_or("");
            !name.starts_with('.') && !name.starts_with('_')
        })
        .collect();
    if found.is_empty() {
        return Err(StoreError::Remote { url: target.to_string(), message: "no object there".into() });
    }
    found.sort_by(|a, b| a.url.cmp(&b.url));
    Ok(found)
}

/// Reads the object at `url` as it downloads: memory is one response chunk, whatever
/// the object's size.
pub fn open_reader(url: &str) -> Result<(ObjectReader, ObjectInfo), StoreError> {
    let remote = Remote::open(url)?;
    let got = runtime().block_on(remote.store.get(&remote.prefix)).map_err(|e| remote.error("", e))?;
    let info = ObjectInfo {
        url: url.to_string(),
        size: got.meta.size,
        modified_ms: got.meta.last_modified.timestamp_millis(),
    };
    Ok((ObjectReader { stream: got.into_stream(), current: bytes::Bytes::new(), url: url.to_string() }, info))
}

/// The first `length` bytes of the object at `url` (fewer when it is shorter).
pub fn read_head(url: &str, length: u64) -> Result<Vec<u8>, StoreError> {
    let (mut reader, _) = open_reader(url)?;
    let mut head = Vec::new();
    std::io::Read::by_ref(&mut reader)
        .take(length)
        .read_to_end(&mut head)
        .map_err(|e| StoreError::Remote { url: url.to_string(), message: e.to_string() })?;
    Ok(head)
}

pub struct ObjectReader {
    stream: futures::stream::BoxStream<'static, object_store::Result<bytes::Bytes>>,
    current: bytes::Bytes,
    url: String,
}

impl std::io::Read for ObjectReader {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        use futures::StreamExt;
        while self.current.is_empty() {
            match runtime().block_on(self.stream.next()) {
                None => return Ok(0),
                Some(Ok(bytes)) => self.current = bytes,
                Some(Err(e)) => {
                    return Err(std::io::Error::other(format!("downloading {}: {}", self.url, one_line(&e))));
                }
            }
        }
        let length = buffer.len().min(self.current.len());
        buffer[..length].copy_from_slice(&self.current.split_to(length));
        Ok(length)
    }
}
