//! `halake report --html`: the page's numbers are the canned reports', it draws every
//! chart in a real browser (Debian's Chromium, headless, network off) with nothing in
//! its console, and odd inputs (empty, one row, months, TCP only) give a valid page that
//! says where there is no data.
#![cfg(feature = "sql")]

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::halake;
use serde_json::Value;

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data")
}

/// Writes the dashboard of `inputs`; returns the page.
fn dashboard(page: &Path, inputs: &[&Path], extra: &[&str]) -> String {
    let mut args = vec!["report".to_string(), "--html".into(), page.display().to_string()];
    args.extend(inputs.iter().map(|p| p.display().to_string()));
    args.extend(extra.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = halake(&args);
    assert!(output.status.success(), "{args:?}: {}", String::from_utf8_lossy(&output.stderr));
    fs::read_to_string(page).unwrap()
}

/// The JSON block the page embeds: report name → rows.
fn embedded(page: &str) -> serde_json::Map<String, Value> {
    let start = page.find("<script type=\"application/json\" id=\"halake-data\">").expect("a data block");
    let rest = &page[start..];
    let json = &rest[rest.find('>').unwrap() + 1..rest.find("</script>").unwrap()];
    match serde_json::from_str(&json.replace("<\\/", "</")).unwrap() {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

fn report_json(name: &str, input: &Path) -> Value {
    let output = halake(&["report", name, input.to_str().unwrap(), "--format", "json"]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).unwrap_or(Value::Array(vec![]))
}

fn sum(rows: &Value, key: &str) -> u64 {
    rows.as_array().unwrap().iter().map(|r| r[key].as_u64().unwrap_or(0)).sum()
}

#[test]
fn the_page_holds_the_canned_reports_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake/");
    common::convert(&[&data()], &lake, &[]);
    for input in [data(), lake] {
        let page = dashboard(&dir.path().join("page.html"), &[&input], &[]);
        let data = embedded(&page);
        for name in ["termination_codes", "servers", "client_aborts"] {
            assert_eq!(data[name], report_json(name, &input), "{name} over {}", input.display());
        }
        // The sample spans two minutes: a bar per minute, whose sums are the reports'.
        assert!(page.contains("<dd id=\"bucket\">a minute</dd>"));
        let codes = report_json("termination_codes", &input);
        assert_eq!(sum(&data["terminations_over_time"], "sessions"), sum(&codes, "sessions"));
        let statuses = report_json("status_codes", &input);
        let requests: u64 = ["s1xx", "s2xx", "s3xx", "s4xx", "s5xx", "other"]
            .iter()
            .map(|key| sum(&data["requests_over_time"], key))
            .sum();
        // status_codes counts connection errors as status 0, as halog does: not requests.
        let errors = statuses
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["status"] == 0)
            .map(|r| r["requests"].as_u64().unwrap())
            .sum::<u64>();
        assert_eq!(requests, sum(&statuses, "requests") - errors);
        let query = "SELECT count(*) AS sessions FROM logs WHERE backend IS NOT NULL";
        let output = halake(&["sql", query, input.to_str().unwrap(), "--format", "json"]);
        let sessions: Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(sum(&data["latency_over_time"], "sessions"), sum(&sessions, "sessions"));
        assert!(page.contains("<dd id=\"rows\">598</dd>"), "the header counts the rows");
    }
}

/// Chromium with no network: the DOM after load, and a screenshot.
fn browse(page: &Path, screenshot: &Path) -> (String, String) {
    let chromium = ["chromium", "chromium-browser"]
        .into_iter()
        .find(|name| Command::new(name).arg("--version").output().is_ok_and(|o| o.status.success()))
        .expect("chromium (apt-get install chromium, as .ci/run does)");
    let profile = tempfile::tempdir().unwrap();
    let common_args = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        "--no-first-run",
        "--enable-logging=stderr",
        "--v=0",
        // No network: every host resolves to nothing, and no proxy is tried.
        "--host-resolver-rules=MAP * ~NOTFOUND",
        "--no-proxy-server",
        "--window-size=1100,2400",
    ];
    let url = format!("file://{}", page.display());
    let run = |extra: &str| {
        let output = Command::new(chromium)
            .args(common_args)
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg(extra)
            .arg(&url)
            .output()
            .unwrap();
        assert!(output.status.success(), "chromium: {}", String::from_utf8_lossy(&output.stderr));
        output
    };
    let dom = run("--dump-dom");
    let shot = run(&format!("--screenshot={}", screenshot.display()));
    let console = String::from_utf8_lossy(&dom.stderr).into_owned() + &String::from_utf8_lossy(&shot.stderr);
    (String::from_utf8(dom.stdout).unwrap(), console)
}

/// The share of the screenshot's pixels that are not the white background.
fn drawn_share(png_file: &Path) -> f64 {
    let decoder = png::Decoder::new(fs::File::open(png_file).unwrap());
    let mut reader = decoder.read_info().unwrap();
    let mut buffer = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buffer).unwrap();
    let channels = info.color_type.samples();
    let pixels = &buffer[..info.buffer_size()];
    let drawn = pixels.chunks(channels).filter(|p| p.iter().take(3).any(|&c| c < 235)).count();
    drawn as f64 / (pixels.len() / channels) as f64
}

#[test]
fn a_headless_browser_draws_every_chart_offline_without_a_console_error() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("dashboard.html");
    let html = dashboard(&page, &[&data()], &[]);
    assert!(!html.contains("http://") && !html.contains("https://"), "nothing to fetch");
    let screenshot = dir.path().join("dashboard.png");
    let (dom, console) = browse(&page, &screenshot);
    assert!(!console.contains("CONSOLE"), "the page logged to the console:\n{console}");
    for panel in halake::dashboard::PANELS {
        let start = dom.find(&format!("<section class=\"panel\" id=\"{panel}\">")).unwrap_or_else(|| panic!("{panel}"));
        let section = &dom[start..start + dom[start..].find("</section>").unwrap()];
        let marks = section.matches("<rect").count() + section.matches("<circle").count();
        assert!(section.contains("<svg") && marks >= 3, "{panel} draws nothing: {marks} marks");
        assert!(!section.contains("No data"), "{panel}");
    }
    let share = drawn_share(&screenshot);
    assert!(share > 0.08, "the screenshot is nearly blank: {:.1}% drawn", 100.0 * share);
    // The README's picture, when asked for: HALAKE_SCREENSHOT=path.
    if let Some(target) = std::env::var_os("HALAKE_SCREENSHOT") {
        fs::copy(&screenshot, target).unwrap();
    }
}

#[test]
fn empty_single_row_months_and_tcp_only_inputs_give_a_page_that_says_no_data() {
    let dir = tempfile::tempdir().unwrap();
    let sample = fs::read_to_string(data().join("httplog.rsyslog.log")).unwrap();
    let first = sample.lines().next().unwrap();
    let empty = dir.path().join("empty.log");
    fs::write(&empty, "").unwrap();
    let one = dir.path().join("one.log");
    fs::write(&one, format!("{first}\n")).unwrap();
    let months = dir.path().join("months.log");
    let earlier = first.replace("Nov 23", "Aug 23").replace("23/Nov/2026", "23/Aug/2026");
    fs::write(&months, format!("{earlier}\n{first}\n")).unwrap();
    let tcp = data().join("tcplog.raw.log");
    for (input, bucket, no_data) in
        [(&empty, "an hour", 6), (&one, "a minute", 1), (&months, "a day", 1), (&tcp, "a minute", 2)]
    {
        let page = dashboard(&dir.path().join("page.html"), &[input], &[]);
        assert!(page.contains(&format!("<dd id=\"bucket\">{bucket}</dd>")), "{}: {bucket}", input.display());
        assert_eq!(page.matches("class=\"nodata\"").count(), no_data, "{}", input.display());
        assert!(page.ends_with("</html>\n"));
    }
    // The bucket can be set, and the SQL of every chart shown.
    let page = dashboard(&dir.path().join("page.html"), &[&one], &["--bucket", "hour"]);
    assert!(page.contains("<dd id=\"bucket\">an hour</dd>"));
    let shown = halake(&["report", "--html", "x.html", "--show-sql", "--bucket", "day"]);
    let sql = String::from_utf8(shown.stdout).unwrap();
    assert_eq!(sql.matches("date_bin(INTERVAL '1 day',").count(), 3, "{sql}");
    assert!(sql.contains("-- termination_codes.sql"));
}
