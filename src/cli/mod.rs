//! Command-line interface: argument definitions and the commands they run. `sql` and
//! `report` live in [`query`], built with the `sql` feature (DataFusion).

#[cfg(feature = "cluster")]
mod cluster;
#[cfg(feature = "sql")]
mod query;

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Args as ClapArgs, Parser, Subcommand};

use crate::config;
use crate::convert::{self, ConvertError, ConvertOptions, Summary};
use crate::dataset::{DatasetError, Partitioning, Shard};
use crate::follow;
use crate::generate;
use crate::input;
use crate::parse::date::LocalZone;
use crate::parse::termination;
use crate::parse::{Catalogue, FormatSource};
use crate::roll::RollSettings;
use crate::schema;
use crate::signals;
use crate::sink::{self, AtomicFile, SinkError};
use crate::store;
use crate::verify;

#[derive(Debug, Parser)]
#[command(name = "halake", version, about = "HAProxy logs into typed columns: Parquet and SQL", long_about = None)]
#[cfg_attr(
    not(feature = "sql"),
    command(after_help = "Built without the SQL engine: `sql` and `report` come with the default features \
                          (cargo build --release).")
)]
pub struct Args {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Convert HAProxy logs to Parquet.
    #[command(after_help = "\
Examples:
  halake convert /var/log/haproxy.log -o haproxy.parquet
  halake convert data/ -o sample.parquet --rejects rejects.jsonl --events events.parquet
  halake convert /var/log/haproxy.log.*.gz -o archive.parquet
  halake convert /var/log/haproxy.log* -o lake/ --partition hour   # daily cron: only new files
  halake convert /var/log/haproxy.log* -o s3://logs/haproxy/       # AWS_* variables as the AWS CLI
  halake convert --follow /var/log/haproxy.log -o lake/ --roll 1m   # tail -F into the lake, exactly once
  halake convert /archive/lb*/*.gz -o s3://logs/haproxy/ --shard 3/8   # task 3 of a job array of 8
  zcat haproxy.log.2.gz | halake convert - -o day.parquet
  halake convert haproxy.log --haproxy-config /etc/haproxy/haproxy.cfg --timezone Europe/Paris -o out.parquet
  halake convert app.log --log-format '%ci:%cp [%tr] %ft %b/%s %ST %B %tsc' -o out.parquet

With no format option the standard formats (httplog, httpslog, tcplog, CLF, 'Connect from',
connection errors) are recognised line by line, so one syslog file for all frontends converts
in one pass. Every line becomes a row, an event (health checks, server state changes) or a
reject with its reason; the summary reconciles lines = rows + events + rejects.

An input that cannot be read (no permission, corrupt or truncated gzip/zstd, a file truncated
while it was read) is named with what was converted of it; the other inputs still convert.
A live log that grows meanwhile is converted as it was when the run started.
Object storage (s3://, and gs:// or az:// in builds with them) takes the usual environment:
AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION, AWS_ENDPOINT_URL (an S3-compatible
server), AWS_ALLOW_HTTP=true (one without TLS). Files go up as multipart uploads while they
are encoded, and appear only when complete.

Exit status: 0 all read, 2 output written but some input could not be read, or the object
store failed (credentials, bucket, endpoint, a lost connection: nothing half-written is
left), 1 other failures, 130 stopped by Ctrl-C or SIGTERM (temporary files deleted).")]
    Convert(ConvertArgs),
    #[cfg(feature = "sql")]
    /// Run SQL over Parquet files, dataset directories or raw log files.
    #[command(after_help = "\
Examples:
  halake sql \"SELECT status, count(*) FROM logs GROUP BY status ORDER BY 2 DESC\" /var/log/haproxy.log
  halake sql \"SELECT backend, count(*) FROM logs WHERE termination_cause = 'server_timeout'
              AND date >= '2026-11-16' GROUP BY backend ORDER BY 2 DESC\" lake/
  halake sql -f p99.sql haproxy.parquet --format csv -o p99.csv
  halake sql \"SELECT * FROM old JOIN new USING (unique_id)\" --table old=a.parquet --table new=b.log
  halake sql haproxy.parquet          # an interactive prompt on a terminal

The inputs are the table `logs`: Parquet files, a dataset directory written by `halake
convert -o DIR/` (its date=/hour= directories become columns that prune files), or log
files, directories and .gz/.zst archives, parsed in parallel as the query runs. Functions:
status_class(status), termination_cause/termination_phase/persistence_cookie/
set_cookie_action(state), termination_explain(state), request_text(method, uri_origin,
path, query, http_version).")]
    Sql(query::SqlArgs),
    #[cfg(feature = "sql")]
    /// Run a canned report (halog's analyses and more) over Parquet or raw logs.
    #[command(after_help = "\
Examples:
  halake report --list
  halake report termination_codes /var/log/haproxy.log
  halake report servers lake/ --format csv")]
    Report(query::ReportArgs),
    #[cfg(feature = "cluster")]
    /// Run a Ballista scheduler or executor that knows halake's functions and stores.
    #[command(
        subcommand,
        after_help = "\
Examples:
  halake cluster scheduler --bind 0.0.0.0:50050
  AWS_REGION=eu-west-1 halake cluster executor --scheduler 10.0.0.1:50050 --bind 0.0.0.0:50051 --external-host $(hostname)
  halake report termination_codes s3://logs/haproxy/ --cluster df://10.0.0.1:50050

A query sent with --cluster is planned by the client, cut into stages by the scheduler and
run by the executors, which read the lake themselves: each opens s3:// with its own
environment (AWS_ACCESS_KEY_ID, AWS_REGION, AWS_ENDPOINT_URL...), as `halake convert` does.
Every process speaks unencrypted, unauthenticated gRPC: keep them on a private network."
    )]
    Cluster(cluster::ClusterCommand),
    #[cfg(feature = "listen")]
    /// Receive HAProxy's syslog over UDP or TCP and write it into a dataset in rolls.
    #[command(after_help = "\
Examples:
  halake listen udp://127.0.0.1:5140 -o lake/          # haproxy.cfg: log 127.0.0.1:5140 local0
  halake listen udp://127.0.0.1:5140 tcp://127.0.0.1:5140 -o s3://logs/haproxy/ --roll 1m

TCP takes RFC 6587 frames: octet-counted (LEN SP MSG) or one message per line. Delivery is
at most once: what does not fit the queue, or the kernel's socket buffer, is dropped and
counted; a crash loses the open roll. The counts go to stderr every roll, on SIGUSR1 and at
exit. Ctrl-C or SIGTERM write a last roll and exit 0. Nothing authenticates a sender:
bind a loopback or private address, never one the internet reaches.")]
    Listen(ListenArgs),
    /// Check a dataset against its manifests, and repair it.
    #[command(after_help = "\
Examples:
  halake verify lake/
  halake verify s3://logs/haproxy/ --repair

Every part a manifest lists must exist and read to its end, each input's parts must hold
the rows recorded for it, no part may be unlisted and no input counted twice. Exit status
0 when the dataset is sound, 2 when it is not (or its manifest cannot be read). --repair
deletes unlisted parts and converts again, from its source, each input whose parts are
damaged; give it the format options the dataset was converted with.")]
    Verify(VerifyArgs),
    /// Print the output columns and what each one means.
    #[command(after_help = "\
Examples:
  halake schema
  halake schema --haproxy-config /etc/haproxy/haproxy.cfg
  halake schema --events")]
    Schema(SchemaArgs),
    /// Write synthetic HAProxy logs (seeded, realistic mix) for benchmarks and tests.
    #[command(after_help = "\
Examples:
  halake generate --size 1GiB -o /tmp/haproxy-1g.log
  halake generate --size 100MB --seed 7 -o sample.log
  halake generate --size 1GiB --profile api -o /tmp/api-1g.log")]
    Generate(GenerateArgs),
}

#[derive(Debug, ClapArgs)]
pub struct GenerateArgs {
    /// How much to write: 100MB, 1GiB...
    #[arg(long, value_parser = generate::parse_size, value_name = "SIZE")]
    pub size: u64,
    /// The same profile, seed and size always give the same bytes.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// The traffic mix: a website, an API gateway, or a TCP load balancer.
    #[arg(long, value_enum, default_value_t = generate::Profile::Web)]
    pub profile: generate::Profile,
    /// The file to write.
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,
}

#[derive(Debug, ClapArgs)]
pub struct FormatArgs {
    /// A log-format string, exactly as in haproxy.cfg (quotes and backslashes allowed).
    /// Tried before the standard formats.
    #[arg(long, value_name = "FORMAT")]
    pub log_format: Option<String>,
    /// Learn each frontend's log format and captured header names from haproxy.cfg.
    #[arg(long, value_name = "FILE")]
    pub haproxy_config: Option<PathBuf>,
    /// Read HTTP lines with the timers of HAProxy before 1.7 (Tq/Tw/Tc/Tr/Tt).
    #[arg(long)]
    pub legacy_timers: bool,
}

#[derive(Debug, ClapArgs)]
pub struct ConvertArgs {
    /// Log files (plain, gzip or zstd, detected by content), directories of them, or `-`
    /// for standard input.
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,
    /// The Parquet file to write, or a dataset directory (an existing directory, or a
    /// path ending in '/'): Hive-partitioned files plus a manifest, so that running again
    /// over the same inputs converts only new or changed ones. Either may be in object
    /// storage: s3://bucket/key.parquet, s3://bucket/prefix/.
    #[arg(short, long, value_name = "OUT.parquet | DIR/ | s3://...")]
    pub output: String,
    /// Convert the K-th of N stable shares of the inputs (by a hash of each file's path)
    /// into the dataset, with a manifest of its own: N machines, one lake.
    #[arg(long, value_parser = Shard::parse, value_name = "K/N")]
    pub shard: Option<Shard>,
    /// Parquet compression: zstd (level 1), zstd:LEVEL (1-22), or none.
    #[arg(long, default_value = "zstd", value_parser = sink::parse_compression, value_name = "CODEC")]
    pub compression: parquet::basic::Compression,
    /// How a dataset directory is partitioned: date=YYYY-MM-DD, or date=.../hour=HH.
    #[arg(long, value_enum, default_value = "day")]
    pub partition: Partitioning,
    /// Write rejected lines here, one JSON object per line: file, line, reason, text.
    #[arg(long, value_name = "FILE")]
    pub rejects: Option<String>,
    /// Write events (health checks, server state changes...) to this Parquet file.
    #[arg(long, value_name = "FILE")]
    pub events: Option<String>,
    /// Fail on the first line that cannot be parsed.
    #[arg(long)]
    pub strict: bool,
    /// Time zone HAProxy's local dates were written in (IANA name).
    #[arg(long, default_value = "UTC", value_name = "TZ")]
    pub timezone: String,
    /// Print nothing but errors.
    #[arg(short, long)]
    pub quiet: bool,
    /// Parser threads [default: all cores]. The output is the same for any count.
    #[arg(long, value_parser = parse_threads)]
    pub threads: Option<usize>,
    /// Follow the inputs as they grow, like `tail -F` (files or quoted globs, across
    /// logrotate's rename and copytruncate), into the dataset -o names, exactly once:
    /// a restart after a crash goes on from the offsets its manifest recorded.
    #[arg(long)]
    pub follow: bool,
    /// With --follow: write a roll of parts this long after its first line was read.
    #[arg(long, default_value = "5m", value_parser = parse_duration, value_name = "DURATION", requires = "follow")]
    pub roll: Duration,
    /// With --follow: write a roll as soon as it holds this many rows.
    #[arg(long, default_value_t = 1_000_000, value_name = "N", requires = "follow")]
    pub roll_rows: u64,
    /// With --follow: convert what every file gained since the last run, and exit
    /// (a cron job that converts a live log without reading it whole again).
    #[arg(long, requires = "follow")]
    pub catch_up: bool,
    /// Bytes per parsing chunk. Memory use is a few chunks per thread.
    #[arg(long, default_value = "8MiB", value_parser = parse_chunk_size, value_name = "SIZE")]
    pub chunk_size: usize,
    #[command(flatten)]
    pub format: FormatArgs,
}

fn threads_or_all_cores(threads: Option<usize>) -> usize {
    threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

fn parse_threads(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(0) | Err(_) => Err(format!("'{text}' is not a thread count: give a whole number from 1")),
        Ok(n) => Ok(n),
    }
}

fn parse_chunk_size(text: &str) -> Result<usize, String> {
    let size = generate::parse_size(text)?;
    match usize::try_from(size) {
        Ok(0) => Err("the chunk size must be at least 1 byte".to_string()),
        Ok(n) if n <= 1 << 30 => Ok(n),
        _ => Err(format!("'{text}' is too large for a chunk: at most 1GiB")),
    }
}

#[cfg(feature = "listen")]
#[derive(Debug, ClapArgs)]
pub struct ListenArgs {
    /// Where to listen: udp://HOST:PORT or tcp://HOST:PORT.
    #[arg(default_value = "udp://127.0.0.1:5140", value_name = "ADDRESS")]
    pub addresses: Vec<String>,
    /// The dataset to write: a directory or s3://bucket/prefix/.
    #[arg(short, long, value_name = "DIR/ | s3://...")]
    pub output: String,
    /// Write a roll of parts this long after its first message.
    #[arg(long, default_value = "5m", value_parser = parse_duration, value_name = "DURATION")]
    pub roll: Duration,
    /// Write a roll as soon as it holds this many rows.
    #[arg(long, default_value_t = 1_000_000, value_name = "N")]
    pub roll_rows: u64,
    /// Messages waiting to be parsed, at most; more are dropped and counted.
    #[arg(long, default_value_t = 100_000, value_name = "N")]
    pub queue: usize,
    /// TCP connections at once; more are refused and counted.
    #[arg(long, default_value_t = 256, value_name = "N")]
    pub max_connections: usize,
    /// Close a TCP connection that sends nothing for this long.
    #[arg(long, default_value = "60s", value_parser = parse_duration, value_name = "DURATION")]
    pub idle_timeout: Duration,
    /// Bytes of one message, at most: a longer datagram is cut, a longer frame refused.
    #[arg(long, default_value = "64KiB", value_parser = parse_chunk_size, value_name = "SIZE")]
    pub max_message: usize,
    #[arg(long, value_enum, default_value = "day")]
    pub partition: Partitioning,
    #[arg(long, default_value = "zstd", value_parser = sink::parse_compression, value_name = "CODEC")]
    pub compression: parquet::basic::Compression,
    /// Time zone HAProxy's local dates are written in (IANA name).
    #[arg(long, default_value = "UTC", value_name = "TZ")]
    pub timezone: String,
    /// Parser threads [default: all cores].
    #[arg(long, value_parser = parse_threads)]
    pub threads: Option<usize>,
    /// Print nothing but errors and the final counts.
    #[arg(short, long)]
    pub quiet: bool,
    #[command(flatten)]
    pub format: FormatArgs,
}

#[cfg(feature = "listen")]
fn run_listen(args: ListenArgs) -> Result<ExitCode> {
    let options = crate::listen::ListenOptions {
        addresses: args.addresses.clone(),
        roll: RollSettings {
            output: if args.output.ends_with('/') { args.output.clone() } else { format!("{}/", args.output) },
            partitioning: args.partition,
            roll_every: args.roll,
            roll_rows: args.roll_rows.max(1),
            catalogue: catalogue(&args.format)?,
            zone: LocalZone::new(&args.timezone).map_err(anyhow::Error::msg)?,
            threads: threads_or_all_cores(args.threads),
            chunk_size: 1 << 20,
            compression: args.compression,
        },
        queue: args.queue,
        max_connections: args.max_connections,
        idle_timeout: args.idle_timeout,
        max_message: args.max_message,
        verbose: !args.quiet,
    };
    signals::install();
    eprintln!("halake listen: {} into {}", args.addresses.join(", "), options.roll.output);
    let summary = match crate::listen::listen(&options) {
        Err(error) if is_storage_error(&error) => {
            eprintln!("halake: error: {error}");
            return Ok(ExitCode::from(PARTIAL_EXIT));
        }
        result => result?,
    };
    println!("listened: {}", summary.line());
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, ClapArgs)]
pub struct VerifyArgs {
    /// The dataset: a directory or an object-store prefix.
    #[arg(value_name = "DIR/ | s3://...")]
    pub dataset: String,
    /// Delete unlisted parts and convert damaged inputs again from their sources.
    #[arg(long)]
    pub repair: bool,
    /// Time zone HAProxy's local dates were written in (IANA name), for a repair.
    #[arg(long, default_value = "UTC", value_name = "TZ")]
    pub timezone: String,
    #[command(flatten)]
    pub format: FormatArgs,
}

#[derive(Debug, ClapArgs)]
pub struct SchemaArgs {
    /// Print the columns of the events table instead.
    #[arg(long)]
    pub events: bool,
    /// Only the columns lines of this format fill: httplog, httpslog, tcplog, httplog_clf,
    /// tcplog_clf, connect, connection_error, or a name from --log-format/--haproxy-config.
    #[arg(long, value_name = "NAME", conflicts_with = "events")]
    pub format: Option<String>,
    #[command(flatten)]
    pub formats: FormatArgs,
}

pub fn run(args: Args) -> Result<ExitCode> {
    match args.command {
        Command::Convert(args) => run_convert(args),
        #[cfg(feature = "sql")]
        Command::Sql(args) => query::run_sql(args),
        #[cfg(feature = "sql")]
        Command::Report(args) => query::run_report(args),
        #[cfg(feature = "cluster")]
        Command::Cluster(command) => cluster::run_cluster(command),
        #[cfg(feature = "listen")]
        Command::Listen(args) => run_listen(args),
        Command::Schema(args) => run_schema(args),
        Command::Verify(args) => run_verify(args),
        Command::Generate(args) => run_generate(args),
    }
}

fn run_generate(args: GenerateArgs) -> Result<ExitCode> {
    let mut file = AtomicFile::create(&args.output)?;
    generate::generate(&mut file, args.size, args.seed, args.profile)
        .with_context(|| format!("writing {}", args.output.display()))?;
    file.commit()?;
    Ok(ExitCode::SUCCESS)
}

fn catalogue(args: &FormatArgs) -> Result<Catalogue> {
    let mut sources = Vec::new();
    if let Some(format) = &args.log_format {
        sources.push(FormatSource {
            name: "custom".into(),
            format: config::unquote_format_argument(format),
            frontends: Vec::new(),
            captures: Default::default(),
        });
    }
    if let Some(path) = &args.haproxy_config {
        sources.extend(config::read(path)?);
    }
    Ok(Catalogue::new(&sources, args.legacy_timers)?)
}

/// `500ms`, `30s`, `5m`, `1h`.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad = || format!("'{text}' is not a duration: give a number and a unit, 500ms, 30s, 5m or 1h");
    let split = text.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let number: u64 = text[..split].parse().map_err(|_| bad())?;
    let duration = match &text[split..] {
        "ms" => Duration::from_millis(number),
        "s" => Duration::from_secs(number),
        "m" => Duration::from_secs(number * 60),
        "h" => Duration::from_secs(number * 3600),
        _ => return Err(bad()),
    };
    if duration.is_zero() { Err(format!("'{text}': a roll takes some time")) } else { Ok(duration) }
}

fn run_follow(args: ConvertArgs) -> Result<ExitCode> {
    let is_directory =
        args.output.ends_with('/') || (!store::is_remote(&args.output) && Path::new(&args.output).is_dir());
    if !is_directory {
        bail!("--follow writes into a dataset: give -o DIR/ or -o s3://bucket/prefix/");
    }
    let refused = [
        (args.shard.is_some(), "--shard"),
        (args.events.is_some(), "--events"),
        (args.rejects.is_some(), "--rejects"),
        (args.strict, "--strict"),
    ];
    if let Some((_, option)) = refused.iter().find(|(given, _)| *given) {
        bail!("{option} does not go with --follow: a follower counts events and rejects in its roll lines");
    }
    if let Some(input) = args.inputs.iter().find(|p| p.as_os_str() == "-" || p.is_dir()) {
        bail!("--follow reads files or globs of them ('/var/log/haproxy*.log'), not {}", input.display());
    }
    let options = follow::FollowOptions {
        patterns: args.inputs.iter().map(|p| p.display().to_string()).collect(),
        roll: RollSettings {
            output: args.output.clone(),
            partitioning: args.partition,
            roll_every: args.roll,
            roll_rows: args.roll_rows.max(1),
            catalogue: catalogue(&args.format)?,
            zone: LocalZone::new(&args.timezone).map_err(anyhow::Error::msg)?,
            threads: threads_or_all_cores(args.threads),
            chunk_size: args.chunk_size,
            compression: args.compression,
        },
        poll: Duration::from_millis(200),
        verbose: !args.quiet,
        exit_when_idle: args.catch_up,
    };
    signals::install();
    let summary = match follow::follow(&options) {
        Err(error) if is_storage_error(&error) => {
            eprintln!("halake: error: {error}");
            return Ok(ExitCode::from(PARTIAL_EXIT));
        }
        result => result?,
    };
    if !args.quiet {
        let counts = &summary.counts;
        println!(
            "followed: {}; {} rolls, {} parts; {} rotations, {} truncations",
            counts.reconciliation(),
            counts.rolls,
            counts.parts,
            summary.rotations,
            summary.truncations
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn run_convert(args: ConvertArgs) -> Result<ExitCode> {
    if args.follow {
        return run_follow(args);
    }
    let zone = LocalZone::new(&args.timezone).map_err(anyhow::Error::msg)?;
    let inputs = input::expand(&args.inputs)?;
    if inputs.is_empty() {
        let names: Vec<String> = args.inputs.iter().map(|p| p.display().to_string()).collect();
        bail!("no log files found in {}", names.join(", "));
    }
    let is_directory =
        args.output.ends_with('/') || (!store::is_remote(&args.output) && Path::new(&args.output).is_dir());
    let dataset = is_directory.then_some(args.partition);
    if args.shard.is_some() {
        if dataset.is_none() {
            bail!("--shard writes into a dataset: give -o DIR/ or -o s3://bucket/prefix/");
        }
        if inputs.iter().any(|input| matches!(input, input::InputPath::Stdin)) {
            bail!("--shard shares out files by their path: standard input has none");
        }
    }
    let options = ConvertOptions {
        inputs,
        output: args.output.clone(),
        dataset,
        shard: args.shard,
        events: args.events.clone(),
        rejects: args.rejects.clone(),
        strict: args.strict,
        catalogue: catalogue(&args.format)?,
        zone,
        threads: threads_or_all_cores(args.threads),
        chunk_size: args.chunk_size,
        progress: !args.quiet && std::io::stderr().is_terminal(),
        compression: args.compression,
    };
    signals::install();
    let summary = match convert::convert(&options) {
        Err(error @ ConvertError::Interrupted) => {
            eprintln!("halake: {error}");
            return Ok(ExitCode::from(INTERRUPTED_EXIT));
        }
        Err(error) if is_storage_error(&error) => {
            eprintln!("halake: error: {error}");
            return Ok(ExitCode::from(PARTIAL_EXIT));
        }
        result => result?,
    };
    if !args.quiet {
        print_summary(&summary, &options).context("writing the summary")?;
        for notice in &summary.notices {
            eprintln!("halake: note: {notice}");
        }
    }
    for error in &summary.input_errors {
        eprintln!("halake: error: {error}");
    }
    if summary.input_errors.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!(
            "halake: {} input(s) could not be read completely; everything else was converted",
            summary.input_errors.len()
        );
        Ok(ExitCode::from(PARTIAL_EXIT))
    }
}

fn run_verify(args: VerifyArgs) -> Result<ExitCode> {
    let dataset = if args.dataset.ends_with('/') { args.dataset.clone() } else { format!("{}/", args.dataset) };
    let store = store::Store::open(&dataset)?;
    let checked = match verify::check(&store) {
        Ok(findings) => findings,
        Err(error) => {
            eprintln!("halake: error: {error}");
            return Ok(ExitCode::from(PARTIAL_EXIT));
        }
    };
    print_findings(&checked);
    if checked.sound() {
        return Ok(ExitCode::SUCCESS);
    }
    if !args.repair {
        println!("run again with --repair to delete unlisted parts and convert damaged inputs again");
        return Ok(ExitCode::from(PARTIAL_EXIT));
    }
    let partitioning = verify::partitioning(&store)?;
    let catalogue = catalogue(&args.format)?;
    let zone = LocalZone::new(&args.timezone).map_err(anyhow::Error::msg)?;
    for part in &checked.unlisted {
        println!("deleted {}", store.display(part));
    }
    for (input, shard) in verify::forget_damaged(&store, &checked)? {
        let source = if store::is_remote(&input) {
            input::InputPath::Remote(input.clone())
        } else if Path::new(&input).exists() {
            input::InputPath::File(PathBuf::from(&input))
        } else {
            println!("cannot repair {input}: it no longer exists (its parts were removed from the dataset)");
            continue;
        };
        let options = ConvertOptions {
            inputs: vec![source],
            output: dataset.clone(),
            dataset: Some(partitioning),
            shard,
            events: None,
            rejects: None,
            strict: false,
            catalogue: catalogue.clone(),
            zone: zone.clone(),
            threads: threads_or_all_cores(None),
            chunk_size: convert::DEFAULT_CHUNK_SIZE,
            progress: false,
            compression: sink::parse_compression("zstd").map_err(anyhow::Error::msg)?,
        };
        let summary = convert::convert(&options)?;
        println!("converted {input} again: {} rows", summary.rows);
    }
    let after = verify::check(&store)?;
    print_findings(&after);
    Ok(if after.sound() { ExitCode::SUCCESS } else { ExitCode::from(PARTIAL_EXIT) })
}

fn print_findings(findings: &verify::Findings) {
    for problem in &findings.problems {
        println!("problem: {problem}");
    }
    let verdict = if findings.sound() { "sound" } else { "NOT sound" };
    println!(
        "{verdict}: {} manifest(s), {} input(s), {} part(s) read to the end, {} rows",
        findings.manifests, findings.inputs, findings.parts, findings.rows
    );
}

/// Exit status of a conversion that wrote its output but could not read all its input,
/// or whose object store failed.
const PARTIAL_EXIT: u8 = 2;

/// An object store that refused or failed: scripts retry those, not bad input.
fn is_storage_error(error: &ConvertError) -> bool {
    let remote_sink = |error: &SinkError| match error {
        SinkError::Create { path, .. } | SinkError::Write { path, .. } | SinkError::Finish { path, .. } => {
            store::is_remote(path)
        }
    };
    match error {
        ConvertError::Store(_) | ConvertError::Dataset(DatasetError::Store(_)) => true,
        ConvertError::Sink(error) | ConvertError::Dataset(DatasetError::Sink(error)) => remote_sink(error),
        _ => false,
    }
}
/// 128 + SIGINT, as shells report a command stopped by Ctrl-C.
const INTERRUPTED_EXIT: u8 = 130;

fn print_summary(summary: &Summary, options: &ConvertOptions) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    let seconds = summary.elapsed.as_secs_f64();
    let megabytes = summary.bytes as f64 / 1e6;
    writeln!(
        out,
        "read {} file(s), {:.1} MB in {:.2} s ({:.0} MB/s)",
        summary.files,
        megabytes,
        seconds,
        megabytes / seconds.max(1e-9)
    )?;
    writeln!(
        out,
        "lines {} = rows {} + events {} + rejects {}",
        summary.lines, summary.rows, summary.events, summary.rejects
    )?;
    if options.dataset.is_some() {
        if summary.skipped > 0 {
            writeln!(out, "skipped {} input(s) the dataset already holds unchanged", summary.skipped)?;
        }
        if summary.other_shards > 0 {
            writeln!(out, "left {} input(s) to the other shards", summary.other_shards)?;
        }
        writeln!(out, "wrote {} file(s) to {}", summary.files_written, options.output)?;
    } else {
        writeln!(out, "wrote {}", options.output)?;
    }
    if let Some(events) = &options.events {
        writeln!(out, "wrote {events}")?;
    }
    if let Some(rejects) = &options.rejects {
        writeln!(out, "wrote {rejects}")?;
    }
    for reject in &summary.sample_rejects {
        writeln!(out, "rejected {reject}")?;
    }
    if summary.termination.is_empty() {
        return Ok(());
    }
    writeln!(out)?;
    writeln!(out, "{:<12} {:>9} {:>7}  meaning", "termination", "rows", "%")?;
    let total: u64 = summary.termination.iter().map(|(_, n)| n).sum();
    for (code, count) in &summary.termination {
        writeln!(
            out,
            "{:<12} {:>9} {:>6.1}%  {}",
            code,
            count,
            *count as f64 * 100.0 / total as f64,
            termination::explain(code.as_bytes())
        )?;
    }
    Ok(())
}

fn run_schema(args: SchemaArgs) -> Result<ExitCode> {
    let columns = if args.events {
        schema::events::columns()
    } else {
        let catalogue = catalogue(&args.formats)?;
        let specs = catalogue.column_specs();
        match &args.format {
            None => specs.to_vec(),
            Some(name) => {
                let formats = catalogue.formats();
                let plans: Vec<_> = formats.iter().filter(|(n, _, _)| **n == name.as_str()).collect();
                if plans.is_empty() {
                    let mut names: Vec<&str> = Vec::new();
                    for (known, _, _) in &formats {
                        if !names.contains(known) {
                            names.push(known);
                        }
                    }
                    bail!("no log format named '{name}': known formats are {}", names.join(", "));
                }
                let mut filled: Vec<usize> = plans.iter().flat_map(|(_, _, f)| f.iter().copied()).collect();
                filled.sort_unstable();
                filled.dedup();
                filled.into_iter().map(|i| specs[i].clone()).collect()
            }
        }
    };
    let mut out = std::io::stdout().lock();
    let width = columns.iter().map(|c| c.name.len()).max().unwrap_or(0);
    for column in &columns {
        let data_type = column.kind.data_type().to_string();
        writeln!(out, "{:<width$}  {:<40}  {}", column.name, data_type, column.doc)?;
    }
    Ok(ExitCode::SUCCESS)
}
