//! The canned reports: one SQL file per question in `queries/`, compiled into the
//! binary so that `halake report` works wherever it is installed.

/// A report: its name (the file name without `.sql`) and its SQL, which starts with
/// comment lines saying what it answers.
#[derive(Debug, Clone, Copy)]
pub struct Report {
    pub name: &'static str,
    pub sql: &'static str,
}

macro_rules! reports {
    ($($name:literal),* $(,)?) => {
        /// Every report, in the order `halake report --list` shows them.
        pub const REPORTS: &[Report] = &[
            $(Report { name: $name, sql: include_str!(concat!("../../queries/", $name, ".sql")) },)*
        ];
    };
}

reports![
    "overview",
    "status_codes",
    "termination_codes",
    "servers",
    "timer_percentiles",
    "urls",
    "cookies",
    "status_by_hour",
    "termination_by_hour",
    "servers_by_hour",
    "backends",
    "frontends",
    "client_aborts",
    "queues",
    "retries",
    "requests_over_time",
    "terminations_over_time",
    "latency_over_time",
];

impl Report {
    pub fn find(name: &str) -> Option<&'static Report> {
        REPORTS.iter().find(|report| report.name == name)
    }

    /// The first paragraph of the leading comment, without its `--` markers.
    pub fn description(&self) -> String {
        self.sql
            .lines()
            .map_while(|line| line.strip_prefix("--").map(str::trim))
            .take_while(|line| !line.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_in_queries_is_a_report_and_says_what_it_answers() {
        let directory = concat!(env!("CARGO_MANIFEST_DIR"), "/queries");
        let mut files: Vec<String> = std::fs::read_dir(directory)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .filter_map(|name| name.strip_suffix(".sql").map(str::to_string))
            .collect();
        files.sort();
        let mut names: Vec<String> = REPORTS.iter().map(|r| r.name.to_string()).collect();
        names.sort();
        assert_eq!(files, names, "queries/ and the report list differ");
        for report in REPORTS {
            assert!(report.description().len() > 20, "{} needs a leading comment", report.name);
        }
    }
}
