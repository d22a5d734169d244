//! `halake sql` and `halake report`: SQL through DataFusion over Parquet, datasets and
//! raw logs, printed or written to a file, and the interactive prompt.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::Args as ClapArgs;

use super::{FormatArgs, PARTIAL_EXIT, catalogue, parse_threads, threads_or_all_cores};
use crate::dashboard;
use crate::parse::date::LocalZone;
use crate::sink::AtomicFile;
use crate::sql::output::OutputFormat;
use crate::sql::reports::{REPORTS, Report};
use crate::sql::{self, LogSettings, Sql};

#[derive(Debug, ClapArgs)]
pub struct QueryArgs {
    /// Another table: NAME=PATH (Parquet or logs, as the inputs). Repeat for more.
    #[arg(long = "table", value_name = "NAME=PATH", value_parser = parse_table)]
    pub tables: Vec<(String, PathBuf)>,
    /// How to print the result.
    #[arg(long, value_enum, default_value = "table")]
    pub format: sql::output::OutputFormat,
    /// Write the result to this file instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Rows a table shows at most; 0 shows all. Other formats always write every row.
    #[arg(long, default_value_t = 40, value_name = "N")]
    pub max_rows: usize,
    /// Threads for queries and parsing [default: all cores].
    #[arg(long, value_parser = parse_threads)]
    pub threads: Option<usize>,
    /// Time zone of HAProxy's local dates in raw logs (IANA name).
    #[arg(long, default_value = "UTC", value_name = "TZ")]
    pub timezone: String,
    /// Run the query on a Ballista cluster: the scheduler's URL, df://HOST:PORT. The
    /// tables must be Parquet its executors reach (object storage, or shared paths).
    #[cfg(feature = "cluster")]
    #[arg(long, value_name = "df://HOST:PORT")]
    pub cluster: Option<String>,
    #[command(flatten)]
    pub formats: FormatArgs,
}

#[derive(Debug, ClapArgs)]
pub struct SqlArgs {
    /// The query (unless -f is given), then the inputs of the table `logs`.
    #[arg(value_name = "QUERY | INPUT")]
    pub arguments: Vec<String>,
    /// Read the query from this file (several statements run in order; the last one's
    /// result is printed).
    #[arg(short = 'f', long = "file", value_name = "FILE.sql")]
    pub file: Option<PathBuf>,
    #[command(flatten)]
    pub query: QueryArgs,
}

#[derive(Debug, ClapArgs)]
pub struct ReportArgs {
    /// The report to run (see --list).
    #[arg(value_name = "NAME", required_unless_present_any = ["list", "html"])]
    pub name: Option<String>,
    /// The inputs of the table `logs`.
    #[arg(value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,
    /// List the reports and what each answers.
    #[arg(long)]
    pub list: bool,
    /// Print the report's SQL instead of running it (with --html: every chart's).
    #[arg(long)]
    pub show_sql: bool,
    /// Write a dashboard to this file instead: one self-contained HTML page of requests,
    /// termination states, latency and errors over time, from the canned reports. All
    /// the arguments are then inputs.
    #[arg(long, value_name = "FILE.html", conflicts_with = "list")]
    pub html: Option<PathBuf>,
    /// The dashboard's time bucket [default: from the time span: a minute for hours, an
    /// hour for days, a day for months].
    #[arg(long, value_enum, requires = "html")]
    pub bucket: Option<crate::dashboard::Bucket>,
    #[command(flatten)]
    pub query: QueryArgs,
}

fn parse_table(text: &str) -> Result<(String, PathBuf), String> {
    match text.split_once('=') {
        Some((name, path)) if !name.is_empty() && !path.is_empty() => Ok((name.to_string(), PathBuf::from(path))),
        _ => Err(format!("'{text}' is not NAME=PATH")),
    }
}

/// A session with `logs` made of `inputs` and the `--table`s registered.
fn session(args: &QueryArgs, inputs: &[PathBuf]) -> Result<Sql> {
    let threads = threads_or_all_cores(args.threads);
    let settings = LogSettings {
        catalogue: catalogue(&args.formats)?,
        zone: LocalZone::new(&args.timezone).map_err(anyhow::Error::msg)?,
        chunk_size: 8 << 20,
    };
    #[cfg(feature = "cluster")]
    let mut session = match &args.cluster {
        Some(url) => Sql::on_cluster(url, threads, settings)?,
        None => Sql::new(threads, settings)?,
    };
    #[cfg(not(feature = "cluster"))]
    let mut session = Sql::new(threads, settings)?;
    if !inputs.is_empty() {
        session.register("logs", inputs)?;
    }
    for (name, path) in &args.tables {
        session.register(name, std::slice::from_ref(path))?;
    }
    Ok(session)
}

pub fn run_sql(args: SqlArgs) -> Result<ExitCode> {
    let (query, inputs): (Option<String>, Vec<PathBuf>) = match &args.file {
        Some(file) => (Some(sql::read_query_file(file)?), args.arguments.iter().map(PathBuf::from).collect()),
        None => match args.arguments.split_first() {
            Some((query, inputs)) if !Path::new(query).exists() => {
                (Some(query.clone()), inputs.iter().map(PathBuf::from).collect())
            }
            _ => (None, args.arguments.iter().map(PathBuf::from).collect()),
        },
    };
    if inputs.is_empty() && args.query.tables.is_empty() {
        bail!("give the inputs of the table `logs` (Parquet, a dataset directory or log files), or --table NAME=PATH");
    }
    let session = session(&args.query, &inputs)?;
    match query {
        Some(query) => print_result(&session, &query, &args.query),
        None if std::io::stdin().is_terminal() => prompt(&session, &args.query),
        None => {
            let mut query = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut query).context("reading the query from stdin")?;
            print_result(&session, &query, &args.query)
        }
    }
}

pub fn run_report(args: ReportArgs) -> Result<ExitCode> {
    if args.list {
        let mut out = std::io::stdout().lock();
        let width = REPORTS.iter().map(|r| r.name.len()).max().unwrap_or(0);
        for report in REPORTS {
            writeln!(out, "{:<width$}  {}", report.name, report.description())?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(path) = &args.html {
        return write_dashboard(&args, path);
    }
    let name = args.name.as_deref().unwrap_or_default();
    let Some(report) = Report::find(name) else {
        let names: Vec<&str> = REPORTS.iter().map(|r| r.name).collect();
        bail!("no report named '{name}': reports are {}", names.join(", "));
    };
    if args.show_sql {
        print!("{}", report.sql);
        return Ok(ExitCode::SUCCESS);
    }
    if args.inputs.is_empty() {
        bail!("give the inputs of the table `logs` (Parquet, a dataset directory or log files)");
    }
    let session = session(&args.query, &args.inputs)?;
    print_result(&session, report.sql, &args.query)
}

/// `report --html FILE INPUT...`: the dashboard, written atomically.
fn write_dashboard(args: &ReportArgs, path: &Path) -> Result<ExitCode> {
    let inputs: Vec<PathBuf> = args.name.iter().map(PathBuf::from).chain(args.inputs.iter().cloned()).collect();
    if args.show_sql {
        let bucket = args.bucket.unwrap_or(dashboard::Bucket::Hour);
        for name in dashboard::PANELS {
            let report = Report::find(name).expect("the panels are reports");
            println!("-- {name}.sql\n{}", dashboard::panel_sql(report, bucket));
        }
        return Ok(ExitCode::SUCCESS);
    }
    if inputs.is_empty() {
        bail!("give the inputs of the table `logs` (Parquet, a dataset directory or log files)");
    }
    let session = session(&args.query, &inputs)?;
    let names = inputs.iter().map(|p| p.display().to_string()).collect();
    let raw = session.reads_raw_logs("logs");
    let data = dashboard::gather(&session, names, args.query.timezone.clone(), args.bucket, raw)?;
    let page = dashboard::html::render(&data);
    let mut file = AtomicFile::create(path)?;
    file.write_all(page.as_bytes())?;
    file.commit()?;
    if std::io::stderr().is_terminal() {
        let shown = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        eprintln!(
            "wrote {} ({} KB, {} rows, a bar per {}): open file://{} in a browser (xdg-open or open {})",
            path.display(),
            page.len().div_ceil(1024),
            data.rows,
            data.bucket,
            shown.display(),
            path.display()
        );
    }
    let unread = session.unread_inputs();
    for problem in &unread {
        eprintln!("halake: error: {problem}");
    }
    Ok(if unread.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(PARTIAL_EXIT) })
}

fn print_result(session: &Sql, query: &str, args: &QueryArgs) -> Result<ExitCode> {
    let result = session.run(query)?;
    let max_rows = (args.max_rows > 0).then_some(args.max_rows);
    match &args.output {
        Some(path) => {
            let mut file = AtomicFile::create(path)?;
            sql::output::write(&result, args.format, None, &mut file)?;
            file.commit()?;
        }
        None if args.format == OutputFormat::Parquet => bail!("--format parquet needs -o FILE"),
        None => {
            let mut out = std::io::BufWriter::new(std::io::stdout());
            sql::output::write(&result, args.format, max_rows, &mut out)?;
            out.flush()?;
        }
    }
    for (table, events, rejects) in session.skipped_lines() {
        eprintln!("note: table {table}: {events} event line(s) and {rejects} rejected line(s) are not rows");
    }
    for (table, skipped) in session.skipped_inputs() {
        eprintln!(
            "note: table {table}: {skipped} input(s) not read: last written over two days before the time filter"
        );
    }
    let unread = session.unread_inputs();
    for problem in &unread {
        eprintln!("halake: error: {problem}");
    }
    if unread.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("halake: {} input(s) could not be read completely: the result covers what could be", unread.len());
        Ok(ExitCode::from(PARTIAL_EXIT))
    }
}

/// Reads statements at a prompt until end of input; a statement ends with `;`.
fn prompt(session: &Sql, args: &QueryArgs) -> Result<ExitCode> {
    let mut editor = rustyline::DefaultEditor::new().context("starting the prompt")?;
    let history = std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".halake_history"));
    if let Some(history) = &history {
        let _ = editor.load_history(history);
    }
    let mut statement = String::new();
    loop {
        let prompt = if statement.is_empty() { "halake> " } else { "   ...> " };
        match editor.readline(prompt) {
            Ok(line) => {
                statement.push_str(&line);
                statement.push('\n');
                if !line.trim_end().ends_with(';') {
                    continue;
                }
                let _ = editor.add_history_entry(statement.trim_end());
                let started = std::time::Instant::now();
                match print_result(session, &statement, args) {
                    Ok(_) => eprintln!("({:.3} s)", started.elapsed().as_secs_f64()),
                    Err(error) => eprintln!("error: {error:#}"),
                }
                statement.clear();
            }
            Err(rustyline::error::ReadlineError::Interrupted) => statement.clear(),
            Err(rustyline::error::ReadlineError::Eof) => break,
            Err(error) => return Err(error).context("reading the prompt"),
        }
    }
    if let Some(history) = &history {
        let _ = editor.save_history(history);
    }
    Ok(ExitCode::SUCCESS)
}
