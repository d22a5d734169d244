//! Parquet output, written atomically: rows go to a temporary file beside the target,
//! which is renamed only once the footer is written and synced. An interrupted run
//! leaves a `.tmp` file at most, never a file that looks complete.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::datatypes::{DataType, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_writer::{ArrowColumnChunk, ArrowColumnWriter, ArrowRowGroupWriterFactory, compute_leaves};
use parquet::basic::{Compression, Encoding, ZstdLevel};
use parquet::errors::ParquetError;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::ColumnPath;
use rayon::iter::{IndexedParallelIterator, IntoParallelIterator, IntoParallelRefMutIterator, ParallelIterator};

use crate::schema;

mod dictionary;
mod encoding;

use dictionary::DictionaryChunk;

#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    #[error("cannot create {path}: {source}")]
    Create { path: String, source: std::io::Error },
    #[error("writing {path}: {source}")]
    Write { path: String, source: parquet::errors::ParquetError },
    #[error("finishing {path}: {source}")]
    Finish { path: String, source: std::io::Error },
}

/// A file that appears under its name only when [`AtomicFile::commit`] succeeds: a
/// local file renamed into place, or an object whose upload completes.
pub struct AtomicFile {
    inner: Option<Target>,
    /// The target, for messages.
    name: String,
}

enum Target {
    Local {
        writer: BufWriter<File>,
        temporary: PathBuf,
        target: PathBuf,
    },
    #[cfg(feature = "object-store")]
    Upload(Box<crate::store::remote::Upload>),
}

impl AtomicFile {
    pub fn create(target: &Path) -> Result<AtomicFile, SinkError> {
        let file_name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if let Some(directory) = target.parent() {
            let directory = if directory.as_os_str().is_empty() { Path::new(".") } else { directory };
            remove_stale_temporaries(directory, &format!(".{file_name}."));
        }
        let temporary = target.with_file_name(format!(".{file_name}.{}.tmp", std::process::id()));
        let file = File::create(&temporary)
            .map_err(|source| SinkError::Create { path: temporary.display().to_string(), source })?;
        Ok(AtomicFile {
            inner: Some(Target::Local {
                writer: BufWriter::with_capacity(1 << 20, file),
                temporary,
                target: target.to_path_buf(),
            }),
            name: target.display().to_string(),
        })
    }

    #[cfg(feature = "object-store")]
    pub fn upload(upload: crate::store::remote::Upload) -> AtomicFile {
        let name = upload.url().to_string();
        AtomicFile { inner: Some(Target::Upload(Box::new(upload))), name }
    }

    /// The path or URL the file appears at.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Flushes, syncs and renames the file into place, or completes the upload. On
    /// failure (a full disk, a lost connection) nothing appears, and the temporary file
    /// or the uploaded parts are deleted.
    pub fn commit(mut self) -> Result<(), SinkError> {
        let finish_error = |source| SinkError::Finish { path: self.name.clone(), source };
        match self.inner.take().expect("commit once") {
            Target::Local { mut writer, temporary, target } => {
                let renamed = writer
                    .flush()
                    .and_then(|()| writer.get_ref().sync_all())
                    .and_then(|()| fs::rename(&temporary, &target));
                if renamed.is_err() {
                    let _ = fs::remove_file(&temporary);
                }
                renamed.map_err(finish_error)
            }
            #[cfg(feature = "object-store")]
            Target::Upload(upload) => upload.commit().map_err(finish_error),
        }
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self.inner.as_mut().expect("write before commit") {
            Target::Local { writer, .. } => writer.write(buf),
            #[cfg(feature = "object-store")]
            Target::Upload(upload) => upload.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self.inner.as_mut().expect("flush before commit") {
            Target::Local { writer, .. } => writer.flush(),
            #[cfg(feature = "object-store")]
            Target::Upload(upload) => upload.flush(),
        }
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        // Not committed: an error on the way. Leave nothing that could be mistaken for
        // output (an upload aborts itself when dropped).
        if let Some(Target::Local { temporary, .. }) = self.inner.take() {
            let _ = fs::remove_file(&temporary);
        }
    }
}

/// Deletes the temporary files (`.NAME.PID.tmp`) in `directory` whose names start with
/// `prefix` and whose process is gone: what a killed run (SIGKILL, power loss) left.
/// Those of a live process, maybe another run writing there, are left alone.
pub fn remove_stale_temporaries(directory: &Path, prefix: &str) {
    let Ok(entries) = fs::read_dir(directory) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(rest) = name.strip_prefix(prefix).and_then(|rest| rest.strip_suffix(".tmp")) else { continue };
        let Some(pid) = rest.rsplit('.').next().and_then(|pid| pid.parse::<libc::pid_t>().ok()) else { continue };
        if !process_alive(pid) {
            let _ = fs::remove_file(entry.path());
        }
    }
}

fn process_alive(pid: libc::pid_t) -> bool {
    // SAFETY: signal 0 sends nothing; it only asks whether the process exists.
    let result = unsafe { libc::kill(pid, 0) };
    result == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

/// What every Parquet file of a run shares.
#[derive(Debug, Clone)]
pub struct FileSettings {
    pub compression: Compression,
    /// Footer key-value pairs: version, formats, sources.
    pub metadata: Vec<(String, String)>,
    /// Where row groups are encoded, a column per task; the calling thread when absent.
    pub encoders: Option<Arc<rayon::ThreadPool>>,
}

impl FileSettings {
    pub fn new(compression: Compression, metadata: Vec<(String, String)>) -> FileSettings {
        FileSettings { compression, metadata, encoders: None }
    }
}

/// Rows per row group, as arrow-rs and Spark default to: big groups compress better.
pub const ROW_GROUP_ROWS: usize = 1024 * 1024;

/// Rows that wait as Arrow arrays before they are encoded into the open row group: a
/// few tens of MB, however big the row group.
const ENCODE_ROWS: usize = 64 * 1024;

/// ...or fewer rows when they are wide: 64 Ki rows of the generator's website traffic
/// take 40 MB as Arrow arrays, of its TCP traffic 34 MB, and of its API traffic, with
/// three captured request headers and two response ones, 60 MB. Two rounds are held at
/// a time (one encoding, one gathering), so this bounds memory by bytes, not rows.
const ENCODE_BYTES: usize = 40 << 20;

/// `zstd` (level 1: measured 13% faster to encode than 3, for 0.1% more bytes),
/// `zstd:LEVEL` (1 to 22), or `none`.
pub fn parse_compression(text: &str) -> Result<Compression, String> {
    let zstd = |level: i32| {
        ZstdLevel::try_new(level)
            .map(Compression::ZSTD)
            .map_err(|_| format!("zstd levels go from 1 to 22, not {level}"))
    };
    match text.split_once(':') {
        None if text == "zstd" => zstd(1),
        None if text == "none" || text == "uncompressed" => Ok(Compression::UNCOMPRESSED),
        Some(("zstd", level)) => zstd(level.parse().map_err(|_| format!("'{level}' is not a zstd level"))?),
        _ => Err(format!("unknown compression '{text}': use zstd, zstd:LEVEL or none")),
    }
}

/// How each column is encoded and compressed.
pub fn writer_properties(schema: &Schema, settings: &FileSettings) -> WriterProperties {
    let metadata = settings.metadata.clone();
    let mut properties = WriterProperties::builder()
        .set_compression(settings.compression)
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_key_value_metadata(Some(metadata.into_iter().map(|(key, value)| KeyValue::new(key, value)).collect()));
    // Times and line numbers rise almost monotonically: deltas are tiny, and a
    // dictionary of nearly unique values would be wasted work.
    for field in schema.fields() {
        if matches!(field.data_type(), DataType::Timestamp(..) | DataType::UInt64) {
            let column = ColumnPath::from(field.name().as_str());
            properties = properties
                .set_column_dictionary_enabled(column.clone(), false)
                .set_column_encoding(column, Encoding::DELTA_BINARY_PACKED);
        }
    }
    // Query strings are nearly unique but share their parameter names with the rows
    // around them: prefix deltas beat a dictionary (measured 15% smaller, no slower).
    if schema.field_with_name(schema::Col::Query.name()).is_ok() {
        let query = ColumnPath::from(schema::Col::Query.name());
        properties = properties
            .set_column_dictionary_enabled(query.clone(), false)
            .set_column_encoding(query, Encoding::DELTA_BYTE_ARRAY);
    }
    properties.build()
}

/// Record batches into one Parquet file, atomically. Batches wait until there are
/// enough rows to share out, then each column encodes them as its own task, in parallel,
/// into the open row group. With a pool, that round runs in the background while the
/// caller goes on, so the workers parse while the last columns of a round finish.
pub struct ParquetSink {
    /// Until the first round is encoded: the file, and the properties that round's rows
    /// will adjust (see [`encoding`]).
    unopened: Option<Box<(AtomicFile, WriterProperties)>>,
    /// From then on.
    open: Option<OpenFile>,
    schema: SchemaRef,
    compression: Compression,
    encoders: Option<Arc<rayon::ThreadPool>>,
    /// The open row group's column writers, and the rows already encoded into them.
    group: Option<Group>,
    group_rows: usize,
    pending: Vec<RecordBatch>,
    pending_rows: usize,
    /// The Arrow memory of `pending` (a slice counts its whole batch: conservative).
    pending_bytes: usize,
    row_groups: usize,
    /// The file's path or URL, for messages.
    target: String,
    rows: u64,
}

struct OpenFile {
    writer: SerializedFileWriter<AtomicFile>,
    factory: ArrowRowGroupWriterFactory,
    /// Per column: written by [`DictionaryChunk`] rather than arrow-rs.
    dictionary_writer: Vec<bool>,
}

/// The column writers of the open row group.
enum Group {
    Ready(Vec<ColumnWriter>),
    /// A round of encoding runs in the pool; it hands the writers back when it ends.
    Encoding(std::sync::mpsc::Receiver<Result<Vec<ColumnWriter>, ParquetError>>),
}

/// Names and signed integers are written by [`DictionaryChunk`], the others by arrow-rs.
enum ColumnWriter {
    Arrow(Box<ArrowColumnWriter>),
    Dictionary(Box<DictionaryChunk>),
}

/// A column chunk ready to be added to its row group.
enum ColumnChunk {
    Arrow(Box<ArrowColumnChunk>),
    Dictionary(Box<DictionaryChunk>),
}

impl ColumnWriter {
    fn close(self) -> Result<ColumnChunk, ParquetError> {
        match self {
            ColumnWriter::Arrow(writer) => writer.close().map(|chunk| ColumnChunk::Arrow(Box::new(chunk))),
            ColumnWriter::Dictionary(chunk) => Ok(ColumnChunk::Dictionary(chunk)),
        }
    }
}

impl ParquetSink {
    pub fn create(target: &Path, schema: SchemaRef, settings: &FileSettings) -> Result<ParquetSink, SinkError> {
        Ok(ParquetSink::new(AtomicFile::create(target)?, schema, settings))
    }

    /// Writes into `file`: local or an upload.
    pub fn new(file: AtomicFile, schema: SchemaRef, settings: &FileSettings) -> ParquetSink {
        let target = file.name().to_string();
        let properties = writer_properties(&schema, settings);
        ParquetSink {
            unopened: Some(Box::new((file, properties))),
            open: None,
            schema,
            compression: settings.compression,
            encoders: settings.encoders.clone(),
            group: None,
            group_rows: 0,
            pending: Vec::new(),
            pending_rows: 0,
            pending_bytes: 0,
            row_groups: 0,
            target,
            rows: 0,
        }
    }

    /// The Parquet writer, made on the first call, once the rows pending show which
    /// columns a dictionary would serve.
    fn open(&mut self, whole_file: bool) -> Result<&mut OpenFile, SinkError> {
        if let Some(unopened) = self.unopened.take() {
            let (file, properties) = *unopened;
            let properties =
                encoding::drop_outgrown_dictionaries(properties, &self.pending, ROW_GROUP_ROWS, whole_file);
            // A column the properties give an encoding of its own keeps arrow-rs's writer.
            let dictionary_writer = self
                .schema
                .fields()
                .iter()
                .map(|field| {
                    let column = ColumnPath::from(field.name().as_str());
                    properties.dictionary_enabled(&column)
                        && properties.encoding(&column).is_none()
                        && dictionary::handles(field.data_type(), properties.compression(&column))
                })
                .collect();
            // ArrowWriter embeds the Arrow schema in the footer, so readers get back the
            // dictionary and timestamp types; its lower-level halves do the writing.
            let (writer, factory) = ArrowWriter::try_new(file, self.schema.clone(), Some(properties))
                .and_then(ArrowWriter::into_serialized_writer)
                .map_err(self.write_error())?;
            self.open = Some(OpenFile { writer, factory, dictionary_writer });
        }
        let target = &self.target;
        self.open.as_mut().ok_or_else(|| SinkError::Write {
            path: target.clone(),
            source: ParquetError::General("the file failed to open before".into()),
        })
    }

    pub fn write(&mut self, batch: &RecordBatch) -> Result<(), SinkError> {
        let mut offset = 0;
        while offset < batch.num_rows() {
            let room = ROW_GROUP_ROWS - self.group_rows - self.pending_rows;
            let take = room.min(batch.num_rows() - offset);
            let slice = batch.slice(offset, take);
            self.pending_bytes += slice.get_array_memory_size();
            self.pending.push(slice);
            self.pending_rows += take;
            offset += take;
            if self.pending_rows >= ENCODE_ROWS || self.pending_bytes >= ENCODE_BYTES || take == room {
                self.encode_pending(false)?;
            }
            if self.group_rows == ROW_GROUP_ROWS {
                self.close_row_group()?;
            }
        }
        Ok(())
    }

    fn write_error(&self) -> impl Fn(ParquetError) -> SinkError + use<> {
        let path = self.target.clone();
        move |source| SinkError::Write { path: path.clone(), source }
    }

    /// `whole_file`: no rows will follow these.
    fn encode_pending(&mut self, whole_file: bool) -> Result<(), SinkError> {
        if self.pending_rows == 0 {
            return Ok(());
        }
        let mut writers = match self.take_writers()? {
            Some(writers) => writers,
            None => self.column_writers(whole_file)?,
        };
        let pending = std::mem::take(&mut self.pending);
        let schema = self.schema.clone();
        // The schema's only nested type is a list of strings: one leaf per column.
        let encode = move |(index, writer): (usize, &mut ColumnWriter)| -> Result<(), ParquetError> {
            for batch in &pending {
                match writer {
                    ColumnWriter::Arrow(writer) => {
                        for leaf in compute_leaves(schema.field(index), batch.column(index))? {
                            writer.write(&leaf)?;
                        }
                    }
                    ColumnWriter::Dictionary(chunk) => chunk.write(batch.column(index))?,
                }
            }
            Ok(())
        };
        self.group = Some(match &self.encoders {
            Some(pool) => {
                // The writer waits for this round later: from a worker of the same pool,
                // that wait could take the only thread the round can run on.
                debug_assert!(pool.current_thread_index().is_none(), "a sink is written from outside its pool");
                let (sender, receiver) = std::sync::mpsc::sync_channel(1);
                pool.spawn(move || {
                    let round = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        writers.par_iter_mut().enumerate().try_for_each(&encode).map(|()| writers)
                    }));
                    let round =
                        round.unwrap_or_else(|_| Err(ParquetError::General("a column encoder panicked".into())));
                    // The sink may be gone (an error elsewhere): nobody waits for these.
                    let _ = sender.send(round);
                });
                Group::Encoding(receiver)
            }
            None => {
                writers.iter_mut().enumerate().try_for_each(encode).map_err(self.write_error())?;
                Group::Ready(writers)
            }
        });
        self.group_rows += self.pending_rows;
        self.pending_rows = 0;
        self.pending_bytes = 0;
        Ok(())
    }

    /// Writers for a new row group, one per column (each column is one Parquet leaf).
    fn column_writers(&mut self, whole_file: bool) -> Result<Vec<ColumnWriter>, SinkError> {
        let (row_groups, compression, schema) = (self.row_groups, self.compression, self.schema.clone());
        let write_error = self.write_error();
        let open = self.open(whole_file)?;
        let arrow = open.factory.create_column_writers(row_groups).map_err(write_error)?;
        let leaves = open.writer.schema_descr();
        Ok(arrow
            .into_iter()
            .zip(schema.fields())
            .enumerate()
            .map(|(index, (writer, field))| {
                if open.dictionary_writer[index] {
                    ColumnWriter::Dictionary(Box::new(DictionaryChunk::new(
                        leaves.column(index),
                        field.data_type(),
                        compression,
                    )))
                } else {
                    ColumnWriter::Arrow(Box::new(writer))
                }
            })
            .collect())
    }

    /// The open row group's writers, once the round encoding into them has ended.
    fn take_writers(&mut self) -> Result<Option<Vec<ColumnWriter>>, SinkError> {
        match self.group.take() {
            None => Ok(None),
            Some(Group::Ready(writers)) => Ok(Some(writers)),
            Some(Group::Encoding(receiver)) => {
                let round = receiver
                    .recv()
                    .unwrap_or_else(|_| Err(ParquetError::General("the column encoders stopped".into())));
                round.map(Some).map_err(self.write_error())
            }
        }
    }

    fn close_row_group(&mut self) -> Result<(), SinkError> {
        let Some(writers) = self.take_writers()? else { return Ok(()) };
        let chunks: Vec<Result<ColumnChunk, ParquetError>> = match &self.encoders {
            Some(pool) => pool.install(|| writers.into_par_iter().map(ColumnWriter::close).collect()),
            None => writers.into_iter().map(ColumnWriter::close).collect(),
        };
        let write_error = self.write_error();
        let open = self.open.as_mut().expect("a row group was encoded, so the file is open");
        let mut row_group = open.writer.next_row_group().map_err(&write_error)?;
        for chunk in chunks {
            chunk
                .and_then(|chunk| match chunk {
                    ColumnChunk::Arrow(chunk) => chunk.append_to_row_group(&mut row_group),
                    ColumnChunk::Dictionary(chunk) => chunk.append_to(&mut row_group),
                })
                .map_err(&write_error)?;
        }
        row_group.close().map_err(&write_error)?;
        self.rows += self.group_rows as u64;
        self.group_rows = 0;
        self.row_groups += 1;
        Ok(())
    }

    /// Writes the last row group and the footer, and moves the file into place; returns
    /// the row count.
    pub fn finish(mut self) -> Result<u64, SinkError> {
        let whole_file = self.open.is_none();
        self.encode_pending(whole_file)?;
        self.close_row_group()?;
        let write_error = self.write_error();
        self.open(whole_file)?;
        let open = self.open.take().expect("opened above");
        let file = open.writer.into_inner().map_err(write_error)?;
        file.commit()?;
        Ok(self.rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::Int32Array;
    use arrow::datatypes::{DataType, Field, Schema};

    fn batch() -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![Field::new("x", DataType::Int32, false)]));
        RecordBatch::try_new(schema, vec![Arc::new(Int32Array::from(vec![1, 2, 3]))]).unwrap()
    }

    #[test]
    fn the_target_appears_only_when_finished() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.parquet");
        let settings = FileSettings::new(Compression::UNCOMPRESSED, vec![("k".into(), "v".into())]);
        let mut sink = ParquetSink::create(&target, batch().schema(), &settings).unwrap();
        sink.write(&batch()).unwrap();
        assert!(!target.exists());
        assert_eq!(sink.finish().unwrap(), 3);
        assert!(target.exists());
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn compression_names() {
        assert_eq!(parse_compression("zstd"), Ok(Compression::ZSTD(ZstdLevel::try_new(1).unwrap())));
        assert_eq!(parse_compression("zstd:9"), Ok(Compression::ZSTD(ZstdLevel::try_new(9).unwrap())));
        assert_eq!(parse_compression("none"), Ok(Compression::UNCOMPRESSED));
        assert!(parse_compression("zstd:99").unwrap_err().contains("1 to 22"));
        assert!(parse_compression("lzma").unwrap_err().contains("use zstd"));
    }

    #[test]
    fn an_abandoned_sink_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.parquet");
        let settings = FileSettings::new(Compression::UNCOMPRESSED, vec![]);
        let mut sink = ParquetSink::create(&target, batch().schema(), &settings).unwrap();
        sink.write(&batch()).unwrap();
        drop(sink);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
