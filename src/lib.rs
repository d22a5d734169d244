//! halake: HAProxy log archives into typed Arrow batches and Parquet.
//!
//! - [`format`]: the `log-format` language and HAProxy's built-in formats.
//! - [`config`]: what haproxy.cfg says about each frontend's log lines.
//! - [`parse`]: one line into one row (syslog header, format plans, events).
//! - [`batch`]: rows into Arrow record batches.
//! - [`sink`]: record batches into Parquet files, written atomically.
//! - [`convert`]: the convert job that ties them together.
//! - [`render`]: rows printed back as log lines (the parser's inverse, for tests).
//! - [`schema`]: the output columns and what they mean.
//! - [`generate`]: seeded synthetic logs for benchmarks.

pub mod batch;
pub mod cli;
pub mod config;
pub mod convert;
pub mod format;
pub mod generate;
pub mod parse;
pub mod render;
pub mod schema;
pub mod sink;
