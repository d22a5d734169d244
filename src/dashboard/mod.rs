//! `halake report --html`: one self-contained page of termination states, latency and
//! errors over time. Every number comes from a canned report in `queries/`, run as it is
//! (the time-bucketed ones with the page's bucket), and the page embeds each report's
//! result as JSON next to the charts drawn from it ([`html`]).

pub mod html;

use std::fmt;

use serde_json::Value as Json;

use crate::sql::output::{self, OutputFormat};
use crate::sql::reports::Report;
use crate::sql::{Sql, SqlError};

/// The reports the page shows, in its order.
pub const PANELS: &[&str] = &[
    "requests_over_time",
    "terminations_over_time",
    "latency_over_time",
    "termination_codes",
    "servers",
    "client_aborts",
];

/// How much time one bar or point covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Bucket {
    Minute,
    Hour,
    Day,
}

impl Bucket {
    pub fn name(self) -> &'static str {
        match self {
            Bucket::Minute => "minute",
            Bucket::Hour => "hour",
            Bucket::Day => "day",
        }
    }

    pub fn millis(self) -> i64 {
        match self {
            Bucket::Minute => 60_000,
            Bucket::Hour => 3_600_000,
            Bucket::Day => 86_400_000,
        }
    }

    /// Minutes for a span of hours, hours for days, days for months: a few hundred
    /// points at most.
    pub fn for_span(span_ms: Option<i64>) -> Bucket {
        match span_ms {
            Some(span) if span <= 12 * Bucket::Hour.millis() => Bucket::Minute,
            Some(span) if span > 31 * Bucket::Day.millis() => Bucket::Day,
            _ => Bucket::Hour,
        }
    }
}

impl fmt::Display for Bucket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A report's SQL as the page runs it: time-bucketed reports truncate to `bucket`
/// instead of the hour their file says.
pub fn panel_sql(report: &Report, bucket: Bucket) -> String {
    report.sql.replace("date_bin(INTERVAL '1 hour',", &format!("date_bin(INTERVAL '1 {}',", bucket.name()))
}

/// What a panel's report returned: its SQL as run, its rows as JSON objects.
#[derive(Debug, Clone)]
pub struct Panel {
    pub report: &'static Report,
    pub sql: String,
    pub rows: Vec<serde_json::Map<String, Json>>,
}

/// Everything the page shows.
#[derive(Debug, Clone)]
pub struct Dashboard {
    pub inputs: Vec<String>,
    pub timezone: String,
    pub bucket: Bucket,
    pub rows: u64,
    pub first_seen: Option<String>,
    pub last_seen: Option<String>,
    /// Lines of raw logs that were events or rejects; `None` for Parquet, which keeps
    /// only rows.
    pub events: Option<u64>,
    pub rejects: Option<u64>,
    pub panels: Vec<Panel>,
}

/// The time span of the rows, to choose the bucket, and the row count for the header.
const SPAN_SQL: &str = "SELECT count(*) AS rows, \
    min(coalesce(request_time, accept_time)) AS first_seen, \
    max(coalesce(request_time, accept_time)) AS last_seen \
    FROM logs";

/// Runs the page's reports over the session's `logs`, all at once ([`Sql::run_together`]).
/// `raw_logs`: the inputs are log files, whose event and reject lines the scans count.
/// Those are parsed once for all the reports, the bucket chosen from the ends of the
/// files unless they are streams, which are scanned for their span first. Parquet is
/// read by each report, after the span query that chooses the bucket.
pub fn gather(
    session: &Sql,
    inputs: Vec<String>,
    timezone: String,
    bucket: Option<Bucket>,
    raw_logs: bool,
) -> Result<Dashboard, SqlError> {
    let reports: Vec<&'static Report> =
        PANELS.iter().map(|name| Report::find(name).expect("the panels are reports")).collect();
    let (span, bucket, rows) = if raw_logs {
        let estimate = || session.log_time_bounds("logs").map(|(first, last)| last - first);
        let bucket = match bucket.or_else(|| estimate().map(|span| Bucket::for_span(Some(span)))) {
            Some(bucket) => bucket,
            None => Bucket::for_span(span_ms(&rows_of(&session.run(SPAN_SQL)?)?)),
        };
        let texts: Vec<String> =
            std::iter::once(SPAN_SQL.to_string()).chain(reports.iter().map(|r| panel_sql(r, bucket))).collect();
        let mut results = session.run_together(&texts)?.into_iter();
        let span = rows_of(&results.next().expect("the span's result"))?;
        let rows = results.map(|result| rows_of(&result)).collect::<Result<Vec<_>, _>>()?;
        (span, bucket, rows)
    } else {
        let span = rows_of(&session.run(SPAN_SQL)?)?;
        let bucket = bucket.unwrap_or_else(|| Bucket::for_span(span_ms(&span)));
        let texts: Vec<String> = reports.iter().map(|r| panel_sql(r, bucket)).collect();
        let rows = session.run_together(&texts)?.iter().map(rows_of).collect::<Result<Vec<_>, _>>()?;
        (span, bucket, rows)
    };
    let panels = reports
        .into_iter()
        .zip(rows)
        .map(|(report, rows)| Panel { report, sql: panel_sql(report, bucket), rows })
        .collect();
    let skipped = session.skipped_lines();
    let first = span.first().cloned().unwrap_or_default();
    let text = |key: &str| first.get(key).and_then(Json::as_str).map(str::to_string);
    let (events, rejects) = if raw_logs {
        let sum = |pick: fn(&(String, u64, u64)) -> u64| skipped.iter().map(pick).sum::<u64>();
        (Some(sum(|s| s.1)), Some(sum(|s| s.2)))
    } else {
        (None, None)
    };
    Ok(Dashboard {
        inputs,
        timezone,
        bucket,
        rows: first.get("rows").and_then(Json::as_u64).unwrap_or(0),
        first_seen: text("first_seen"),
        last_seen: text("last_seen"),
        events,
        rejects,
        panels,
    })
}

/// The span of the rows SPAN_SQL returned, in ms.
fn span_ms(span: &[serde_json::Map<String, Json>]) -> Option<i64> {
    let first = span.first()?;
    let instant = |key: &str| first.get(key).and_then(Json::as_str).and_then(html::instant_ms);
    Some(instant("last_seen")? - instant("first_seen")?)
}

/// A result as JSON objects, exactly as `--format json` prints it.
fn rows_of(result: &crate::sql::QueryResult) -> Result<Vec<serde_json::Map<String, Json>>, SqlError> {
    let mut buffer = Vec::new();
    output::write(result, OutputFormat::Json, None, &mut buffer).map_err(|e| SqlError::Usage(e.to_string()))?;
    if buffer.iter().all(u8::is_ascii_whitespace) {
        return Ok(Vec::new());
    }
    let value: Json = serde_json::from_slice(&buffer).map_err(|e| SqlError::Usage(e.to_string()))?;
    Ok(match value {
        Json::Array(rows) => rows
            .into_iter()
            .filter_map(|row| match row {
                Json::Object(map) => Some(map),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bucket_follows_the_span() {
        let hour = Bucket::Hour.millis();
        assert_eq!(Bucket::for_span(Some(3 * hour)), Bucket::Minute);
        assert_eq!(Bucket::for_span(Some(3 * 24 * hour)), Bucket::Hour);
        assert_eq!(Bucket::for_span(Some(90 * 24 * hour)), Bucket::Day);
        assert_eq!(Bucket::for_span(None), Bucket::Hour);
    }

    #[test]
    fn every_panel_is_a_report_and_the_bucketed_ones_take_the_bucket() {
        for name in PANELS {
            let report = Report::find(name).unwrap();
            let sql = panel_sql(report, Bucket::Minute);
            if name.ends_with("_over_time") {
                assert!(sql.contains("date_bin(INTERVAL '1 minute',") && !sql.contains("'1 hour'"), "{name}");
            } else {
                assert_eq!(sql, report.sql, "{name}");
            }
        }
    }
}
