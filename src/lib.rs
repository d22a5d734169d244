//! halake: HAProxy log archives into typed Arrow batches and Parquet.
//!
//! - [`format`]: the `log-format` language and HAProxy's built-in formats.
//! - [`fuzzing`]: the properties the fuzz targets check, for any input.
//! - [`config`]: what haproxy.cfg says about each frontend's log lines.
//! - [`input`]: inputs (files, directories, stdin, gzip, zstd) cut into newline-aligned chunks.
//! - [`mapping`]: memory maps that survive their file being truncated under them.
//! - [`parse`]: one line into one row (syslog header, format plans, events).
//! - [`batch`]: rows into Arrow record batches.
//! - [`signals`]: Ctrl-C and `kill` end a conversion cleanly.
//! - [`sink`]: record batches into Parquet files, written atomically.
//! - [`store`]: where files go: a local directory or object storage (`s3://`).
//! - [`dataset`]: a partitioned dataset and its manifests of converted inputs.
//! - [`verify`]: a dataset checked against its manifests, and repaired.
//! - [`pipeline`]: chunks parsed in parallel, results written in order, memory bounded.
//! - [`convert`]: the convert job that ties them together.
//! - [`follow`]: files converted as they grow (`convert --follow`), exactly once.
//! - [`listen`]: HAProxy's syslog received over UDP and TCP, into rolls.
//! - [`roll`]: live ingest's rolls of parts, shared by the follower and the listener.
//! - [`sql`]: SQL through DataFusion over Parquet or raw logs, and the canned reports.
//! - [`cluster`]: SQL on a Ballista cluster: its scheduler and executors with halake's functions.
//! - [`render`]: rows printed back as log lines (the parser's inverse, for tests).
//! - [`schema`]: the output columns and what they mean.
//! - [`generate`]: seeded synthetic logs for benchmarks.

pub mod batch;
#[cfg(feature = "cli")]
pub mod cli;
#[cfg(feature = "cluster")]
pub mod cluster;
pub mod config;
pub mod convert;
#[cfg(feature = "sql")]
pub mod dashboard;
pub mod dataset;
pub mod follow;
pub mod format;
pub mod framing;
pub mod fuzzing;
pub mod generate;
pub mod input;
#[cfg(feature = "listen")]
pub mod listen;
pub mod mapping;
pub mod parse;
pub mod pipeline;
pub mod render;
pub mod roll;
pub mod schema;
pub mod signals;
pub mod sink;
#[cfg(feature = "sql")]
pub mod sql;
pub mod store;
pub mod verify;
