//! The dashboard as one HTML file: inline CSS, charts as plain SVG drawn here, no
//! script and nothing fetched, so it opens offline, from a mail attachment or a ticket.
//! Hovering a bar or a point shows its numbers (SVG `<title>`); the reports' results
//! are embedded as JSON (`<script type="application/json" id="halake-data">`), the same
//! rows `halake report NAME --format json` prints.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde_json::{Map, Value as Json};

use super::{Bucket, Dashboard, Panel};

const WIDTH: f64 = 960.0;
const HEIGHT: f64 = 240.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 10.0;
const BOTTOM: f64 = 28.0;

/// Termination codes drawn as their own band; the rest are stacked as "other".
const BANDS: usize = 8;

/// Milliseconds since the epoch of an RFC 3339 instant as the JSON writer prints it.
pub fn instant_ms(text: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(text).ok().map(|t| t.timestamp_millis())
}

pub fn render(dashboard: &Dashboard) -> String {
    let mut page = String::with_capacity(64 << 10);
    page.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n");
    let _ =
        write!(page, "<title>halake: {}</title>\n<style>{STYLE}</style></head><body>\n", escape(&inputs(dashboard)));
    header(&mut page, dashboard);
    for panel in &dashboard.panels {
        let _ = writeln!(
            page,
            "<section class=\"panel\" id=\"{}\"><h2>{}</h2><p class=\"about\">{} <code>halake report {}</code></p>",
            panel.report.name,
            title(panel.report.name),
            escape(&panel.report.description()),
            panel.report.name
        );
        let body = match panel.report.name {
            "requests_over_time" => requests_chart(panel, dashboard.bucket),
            "terminations_over_time" => terminations_chart(panel, dashboard.bucket),
            "latency_over_time" => latency_charts(panel, dashboard.bucket),
            "termination_codes" => termination_table(panel),
            "servers" => servers_table(panel),
            "client_aborts" => aborts_table(panel),
            _ => None,
        };
        page.push_str(&body.unwrap_or_else(|| no_data(panel)));
        page.push_str("</section>\n");
    }
    let data: Map<String, Json> = dashboard
        .panels
        .iter()
        .map(|p| (p.report.name.to_string(), Json::Array(p.rows.iter().cloned().map(Json::Object).collect())))
        .collect();
    // `</` would end the script element early.
    let json = Json::Object(data).to_string().replace("</", "<\\/");
    let _ = write!(page, "<script type=\"application/json\" id=\"halake-data\">{json}</script>\n</body></html>\n");
    page
}

fn inputs(dashboard: &Dashboard) -> String {
    dashboard.inputs.join(", ")
}

fn title(report: &str) -> &'static str {
    match report {
        "requests_over_time" => "Requests by status class",
        "terminations_over_time" => "How sessions ended",
        "latency_over_time" => "Latency per backend (ms)",
        "termination_codes" => "Termination codes",
        "servers" => "Servers and their error rate",
        "client_aborts" => "Clients that abort",
        _ => "",
    }
}

fn header(page: &mut String, dashboard: &Dashboard) {
    let count = |value: Option<u64>| value.map_or_else(|| "not kept in Parquet".to_string(), |n| n.to_string());
    let range = match (&dashboard.first_seen, &dashboard.last_seen) {
        (Some(first), Some(last)) => format!("{first} to {last}"),
        _ => "no dated rows".to_string(),
    };
    let _ = writeln!(
        page,
        "<header><h1>HAProxy logs: {}</h1><dl>\
         <dt>time range (UTC)</dt><dd id=\"range\">{}</dd>\
         <dt>rows</dt><dd id=\"rows\">{}</dd><dt>events</dt><dd id=\"events\">{}</dd>\
         <dt>rejected lines</dt><dd id=\"rejects\">{}</dd>\
         <dt>local dates read in</dt><dd>{}</dd><dt>one bar is</dt><dd id=\"bucket\">{}</dd>\
         <dt>made by</dt><dd>halake {}</dd></dl></header>",
        escape(&inputs(dashboard)),
        escape(&range),
        dashboard.rows,
        count(dashboard.events),
        count(dashboard.rejects),
        escape(&dashboard.timezone),
        match dashboard.bucket {
            Bucket::Minute => "a minute",
            Bucket::Hour => "an hour",
            Bucket::Day => "a day",
        },
        env!("CARGO_PKG_VERSION"),
    );
}

fn no_data(panel: &Panel) -> String {
    let why = match panel.report.name {
        "requests_over_time" | "servers" => "no HTTP request in the input (TCP sessions have no status)",
        "client_aborts" => "no session ended by a client abort or timeout",
        _ => "no row in the input",
    };
    format!("<p class=\"nodata\">No data: {why}.</p>\n")
}

fn number(row: &Map<String, Json>, key: &str) -> Option<f64> {
    row.get(key).and_then(Json::as_f64)
}

fn text<'a>(row: &'a Map<String, Json>, key: &str) -> &'a str {
    row.get(key).and_then(Json::as_str).unwrap_or("")
}

/// A time axis over the buckets of `rows`.
struct TimeAxis {
    start: i64,
    end: i64,
    bucket: Bucket,
}

impl TimeAxis {
    fn of<'a>(rows: impl Iterator<Item = &'a Map<String, Json>>, bucket: Bucket) -> Option<TimeAxis> {
        let times: Vec<i64> = rows.filter_map(|r| instant_ms(text(r, "bucket"))).collect();
        let start = *times.iter().min()?;
        let end = *times.iter().max()? + bucket.millis();
        Some(TimeAxis { start, end, bucket })
    }

    fn x(&self, time: i64) -> f64 {
        LEFT + (time - self.start) as f64 / (self.end - self.start) as f64 * (WIDTH - LEFT - RIGHT)
    }

    fn bar_width(&self) -> f64 {
        (self.x(self.start + self.bucket.millis()) - self.x(self.start)).max(1.0)
    }

    fn label(&self, time: i64) -> String {
        let format = match self.bucket {
            Bucket::Minute => "%H:%M",
            Bucket::Hour => "%m-%d %H:00",
            Bucket::Day => "%Y-%m-%d",
        };
        chrono::DateTime::from_timestamp_millis(time).map(|t| t.format(format).to_string()).unwrap_or_default()
    }

    /// Six labels along the axis.
    fn ticks(&self, svg: &mut String) {
        let steps = 6;
        for i in 0..=steps {
            let time = self.start + (self.end - self.start - self.bucket.millis()) * i / steps;
            let time = time - time.rem_euclid(self.bucket.millis());
            let _ = write!(
                svg,
                "<text class=\"tick\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
                self.x(time) + self.bar_width() / 2.0,
                HEIGHT - 8.0,
                self.label(time)
            );
        }
    }
}

/// A value axis from 0 to `max` rounded up to 1, 2 or 5 times a power of ten (so the
/// gridlines fall on round numbers), with gridlines.
fn y_axis(svg: &mut String, max: f64) -> impl Fn(f64) -> f64 + use<> {
    let max = if max > 0.0 { max } else { 1.0 };
    let magnitude = 10f64.powf((max / 4.0).log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0].into_iter().map(|m| m * magnitude).find(|s| s * 4.0 >= max).unwrap_or(max);
    let max = step * 4.0;
    let plot = HEIGHT - TOP - BOTTOM;
    for i in 0..=4 {
        let value = max * f64::from(i) / 4.0;
        let y = TOP + plot - plot * f64::from(i) / 4.0;
        let _ = write!(
            svg,
            "<line class=\"grid\" x1=\"{LEFT}\" x2=\"{:.1}\" y1=\"{y:.1}\" y2=\"{y:.1}\"/>\
             <text class=\"tick\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            WIDTH - RIGHT,
            LEFT - 6.0,
            y + 4.0,
            short(value)
        );
    }
    move |value: f64| TOP + plot - plot * (value / max)
}

fn short(value: f64) -> String {
    match value {
        v if v >= 1e6 => format!("{:.1}M", v / 1e6),
        v if v >= 1e4 => format!("{:.0}k", v / 1e3),
        v if v.fract() == 0.0 => format!("{v:.0}"),
        v => format!("{v:.1}"),
    }
}

fn svg_open(label: &str) -> String {
    format!(
        "<svg class=\"chart\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" width=\"{WIDTH}\" height=\"{HEIGHT}\" role=\"img\" \
         aria-label=\"{}\">",
        escape(label)
    )
}

/// A band of a stacked bar chart.
struct Band {
    name: String,
    color: &'static str,
    /// Per bucket start: the value and what hovering it says.
    values: BTreeMap<i64, (f64, String)>,
}

fn stacked_bars(label: &str, axis: &TimeAxis, bands: &[Band]) -> String {
    let mut totals: BTreeMap<i64, f64> = BTreeMap::new();
    for band in bands {
        for (time, (value, _)) in &band.values {
            *totals.entry(*time).or_default() += value;
        }
    }
    let mut svg = svg_open(label);
    let y = y_axis(&mut svg, totals.values().copied().fold(0.0, f64::max));
    let mut base: BTreeMap<i64, f64> = BTreeMap::new();
    let width = axis.bar_width();
    for band in bands {
        for (time, (value, hover)) in &band.values {
            if *value <= 0.0 {
                continue;
            }
            let below = base.entry(*time).or_default();
            let (top, bottom) = (y(*below + value), y(*below));
            *below += value;
            let _ = write!(
                svg,
                "<rect x=\"{:.2}\" y=\"{top:.2}\" width=\"{:.2}\" height=\"{:.2}\" fill=\"{}\"><title>{}</title></rect>",
                axis.x(*time),
                (width - 0.5).max(0.5),
                (bottom - top).max(0.5),
                band.color,
                escape(hover)
            );
        }
    }
    axis.ticks(&mut svg);
    svg.push_str("</svg>\n<ul class=\"legend\">");
    for band in bands {
        let _ = write!(svg, "<li><span style=\"background:{}\"></span>{}</li>", band.color, escape(&band.name));
    }
    svg.push_str("</ul>\n");
    svg
}

fn requests_chart(panel: &Panel, bucket: Bucket) -> Option<String> {
    let axis = TimeAxis::of(panel.rows.iter(), bucket)?;
    let classes = [
        ("s2xx", "2xx", "#4caf50"),
        ("s3xx", "3xx", "#2196f3"),
        ("s1xx", "1xx", "#9e9e9e"),
        ("s4xx", "4xx", "#ff9800"),
        ("s5xx", "5xx", "#e53935"),
        ("other", "no status (-1...)", "#6d4c41"),
    ];
    let bands: Vec<Band> = classes
        .iter()
        .map(|(key, name, color)| Band {
            name: name.to_string(),
            color,
            values: panel
                .rows
                .iter()
                .filter_map(|row| {
                    let time = instant_ms(text(row, "bucket"))?;
                    let value = number(row, key)?;
                    Some((time, (value, format!("{} {name}: {value}", text(row, "bucket")))))
                })
                .collect(),
        })
        .collect();
    Some(stacked_bars("requests per bucket by status class", &axis, &bands))
}

/// Colours by what ended the session: greens for normal ends, oranges for clients,
/// reds for servers, blues for HAProxy itself.
fn cause_color(cause: &str, shade: usize) -> &'static str {
    let palette: &[&str] = match cause {
        "normal" => &["#66bb6a", "#43a047"],
        "client_abort" | "client_timeout" => &["#ffa726", "#fb8c00", "#ffcc80", "#ef6c00"],
        "server_abort" | "server_timeout" => &["#e53935", "#c62828", "#ef9a9a", "#b71c1c"],
        "local" => &["#42a5f5", "#1e88e5"],
        "proxy" | "resource" | "internal" | "killed" | "down" => &["#7e57c2", "#5e35b1", "#9575cd", "#4527a0"],
        _ => &["#90a4ae", "#607d8b"],
    };
    palette[shade % palette.len()]
}

fn terminations_chart(panel: &Panel, bucket: Bucket) -> Option<String> {
    let axis = TimeAxis::of(panel.rows.iter(), bucket)?;
    let mut totals: BTreeMap<String, f64> = BTreeMap::new();
    for row in &panel.rows {
        *totals.entry(text(row, "code").to_string()).or_default() += number(row, "sessions").unwrap_or(0.0);
    }
    let mut codes: Vec<(String, f64)> = totals.into_iter().collect();
    codes.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let drawn: Vec<String> = codes.iter().take(BANDS).map(|(code, _)| code.clone()).collect();
    let mut bands: Vec<Band> = Vec::new();
    let mut shades: BTreeMap<String, usize> = BTreeMap::new();
    for code in &drawn {
        let row = panel.rows.iter().find(|r| text(r, "code") == code)?;
        let cause = text(row, "cause");
        let shade = shades.entry(cause.to_string()).or_default();
        let color = cause_color(cause, *shade);
        *shade += 1;
        let name = format!("{code} {cause}, {}: {}", text(row, "phase"), text(row, "meaning"));
        bands.push(Band { name, color, values: BTreeMap::new() });
    }
    bands.push(Band { name: "other codes".into(), color: "#bdbdbd", values: BTreeMap::new() });
    for row in &panel.rows {
        let Some(time) = instant_ms(text(row, "bucket")) else { continue };
        let code = text(row, "code");
        let sessions = number(row, "sessions").unwrap_or(0.0);
        let index = drawn.iter().position(|c| c == code).unwrap_or(bands.len() - 1);
        let entry = bands[index].values.entry(time).or_insert((0.0, String::new()));
        entry.0 += sessions;
        let _ = writeln!(
            entry.1,
            "{} {code} ({}, {}): {sessions} sessions: {}",
            text(row, "bucket"),
            text(row, "cause"),
            text(row, "phase"),
            text(row, "meaning")
        );
    }
    if bands.last().is_some_and(|b| b.values.is_empty()) {
        bands.pop();
    }
    Some(stacked_bars("sessions per bucket by termination code", &axis, &bands))
}

fn latency_charts(panel: &Panel, bucket: Bucket) -> Option<String> {
    let axis = TimeAxis::of(panel.rows.iter(), bucket)?;
    let mut sessions: BTreeMap<&str, f64> = BTreeMap::new();
    for row in &panel.rows {
        *sessions.entry(text(row, "backend")).or_default() += number(row, "sessions").unwrap_or(0.0);
    }
    let mut backends: Vec<(&str, f64)> = sessions.into_iter().collect();
    backends.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(b.0)));
    let series = [
        ("total_p50", "total p50", "#90caf9", false),
        ("total_p95", "total p95", "#1e88e5", false),
        ("total_p99", "total p99", "#0d47a1", false),
        ("response_p50", "response p50", "#ffcc80", true),
        ("response_p95", "response p95", "#fb8c00", true),
        ("response_p99", "response p99", "#e65100", true),
    ];
    let mut out = String::new();
    let shown = backends.iter().filter(|(backend, _)| {
        panel.rows.iter().any(|r| text(r, "backend") == *backend && series.iter().any(|s| number(r, s.0).is_some()))
    });
    for (backend, count) in shown.take(6) {
        let rows: Vec<&Map<String, Json>> = panel.rows.iter().filter(|r| text(r, "backend") == *backend).collect();
        let max = rows.iter().flat_map(|r| series.iter().filter_map(|s| number(r, s.0))).fold(0.0, f64::max);
        let mut svg = svg_open(&format!("latency of {backend}"));
        let y = y_axis(&mut svg, max);
        let half = axis.bar_width() / 2.0;
        for (key, name, color, dashed) in series {
            let points: Vec<(f64, f64, String)> = rows
                .iter()
                .filter_map(|r| {
                    let time = instant_ms(text(r, "bucket"))?;
                    let value = number(r, key)?;
                    Some((axis.x(time) + half, y(value), format!("{} {backend} {name}: {value} ms", text(r, "bucket"))))
                })
                .collect();
            if points.is_empty() {
                continue;
            }
            let path: Vec<String> = points.iter().map(|(x, y, _)| format!("{x:.1},{y:.1}")).collect();
            let dash = if dashed { " stroke-dasharray=\"5 3\"" } else { "" };
            let _ = write!(
                svg,
                "<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"1.6\"{dash} points=\"{}\"/>",
                path.join(" ")
            );
            for (x, y, hover) in &points {
                let _ = write!(
                    svg,
                    "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"2.2\" fill=\"{color}\"><title>{}</title></circle>",
                    escape(hover)
                );
            }
        }
        axis.ticks(&mut svg);
        let _ = writeln!(out, "<h3>{} <small>({count} sessions)</small></h3>{svg}</svg>", escape(backend));
    }
    if out.is_empty() {
        return None;
    }
    out.push_str("<ul class=\"legend\">");
    for (_, name, color, dashed) in series {
        let style = if dashed { "border-style:dashed" } else { "" };
        let _ = write!(out, "<li><span style=\"background:{color};{style}\"></span>{name}</li>");
    }
    out.push_str("</ul>\n");
    Some(out)
}

/// A table with a bar in its `bar_column`, proportional to `bar` over the largest.
fn table(headers: &[&str], rows: &[(Vec<String>, f64)], bar_column: usize) -> String {
    let max = rows.iter().map(|(_, bar)| *bar).fold(0.0, f64::max).max(f64::MIN_POSITIVE);
    let mut out = String::from("<table><thead><tr>");
    for header in headers {
        let _ = write!(out, "<th>{}</th>", escape(header));
    }
    out.push_str("</tr></thead><tbody>");
    for (cells, bar) in rows {
        out.push_str("<tr>");
        for (i, cell) in cells.iter().enumerate() {
            if i == bar_column {
                let _ = write!(
                    out,
                    "<td class=\"bar\"><svg width=\"160\" height=\"12\"><rect width=\"{:.1}\" height=\"12\" fill=\"#5c6bc0\"/></svg> {}</td>",
                    160.0 * bar / max,
                    escape(cell)
                );
            } else {
                let _ = write!(out, "<td>{}</td>", escape(cell));
            }
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>\n");
    out
}

fn show(value: Option<&Json>) -> String {
    match value {
        Some(Json::String(s)) => s.clone(),
        Some(Json::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

/// The panel's rows as a table, largest bar first (ties by the first cell), `limit` rows.
fn ranked_table(
    panel: &Panel,
    headers: &[&str],
    bar_column: usize,
    limit: usize,
    row: impl Fn(&Map<String, Json>) -> (Vec<String>, f64),
) -> Option<String> {
    if panel.rows.is_empty() {
        return None;
    }
    let mut rows: Vec<(Vec<String>, f64)> = panel.rows.iter().map(row).collect();
    rows.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    rows.truncate(limit);
    Some(table(headers, &rows, bar_column))
}

fn termination_table(panel: &Panel) -> Option<String> {
    let total: f64 = panel.rows.iter().filter_map(|r| number(r, "sessions")).sum();
    ranked_table(panel, &["code", "sessions", "share", "meaning"], 1, 20, |r| {
        let sessions = number(r, "sessions").unwrap_or(0.0);
        let share = format!("{:.1}%", 100.0 * sessions / total.max(1.0));
        (vec![text(r, "termination_code").into(), show(r.get("sessions")), share, text(r, "meaning").into()], sessions)
    })
}

fn servers_table(panel: &Panel) -> Option<String> {
    let headers = ["server", "requests", "5xx", "5xx rate", "4xx", "avg connect ms", "avg response ms"];
    ranked_table(panel, &headers, 3, 25, |r| {
        let rate = 100.0 * number(r, "5xx").unwrap_or(0.0) / number(r, "tot_req").unwrap_or(0.0).max(1.0);
        let cells = vec![
            text(r, "srv_name").into(),
            show(r.get("tot_req")),
            show(r.get("5xx")),
            format!("{rate:.1}%"),
            show(r.get("4xx")),
            show(r.get("avg_ct")),
            show(r.get("avg_rt")),
        ];
        (cells, rate)
    })
}

fn aborts_table(panel: &Panel) -> Option<String> {
    ranked_table(panel, &["client", "cause", "phase", "sessions"], 3, 20, |r| {
        let cells = vec![
            text(r, "client_ip").into(),
            text(r, "cause").into(),
            text(r, "phase").into(),
            show(r.get("sessions")),
        ];
        (cells, number(r, "sessions").unwrap_or(0.0))
    })
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:24px auto;max-width:1000px;color:#212121;background:#fff}\
h1{font-size:20px;margin:0 0 8px}h2{font-size:17px;margin:28px 0 2px}h3{font-size:14px;margin:12px 0 0}\
header dl{display:grid;grid-template-columns:max-content auto;gap:2px 16px;margin:0}dt{color:#757575}dd{margin:0}\
.about{color:#616161;margin:0 0 8px;font-size:12px}.chart{display:block;max-width:100%;height:auto}\
.grid{stroke:#eeeeee}.tick{font-size:10px;fill:#757575}\
.legend{list-style:none;padding:0;margin:4px 0;display:flex;flex-wrap:wrap;gap:4px 14px;font-size:12px}\
.legend span{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:-1px;border:1px solid #0000}\
table{border-collapse:collapse;font-size:12px}th,td{padding:2px 10px 2px 0;text-align:left;border-bottom:1px solid #f0f0f0}\
td.bar{white-space:nowrap}.nodata{color:#9e9e9e;font-style:italic;padding:24px;border:1px dashed #e0e0e0}\
small{color:#9e9e9e;font-weight:normal}";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_and_the_data_cannot_end_its_script() {
        assert_eq!(escape("<a href=\"x\">&"), "&lt;a href=&quot;x&quot;&gt;&amp;");
        let dashboard = Dashboard {
            inputs: vec!["</script><b>".into()],
            timezone: "UTC".into(),
            bucket: Bucket::Hour,
            rows: 0,
            first_seen: None,
            last_seen: None,
            events: None,
            rejects: None,
            panels: vec![],
        };
        let page = render(&dashboard);
        assert!(!page.contains("</script><b>"));
        assert_eq!(page.matches("</script>").count(), 1);
    }
}
