//! The Parquet halake writes, read by other engines: DuckDB must see the right types
//! and the same values, and Spark and DuckDB the same dataset, partitions included,
//! with the counts halake's reports give.

mod common;

use std::process::Command;

use common::{convert, corpus};

const SCRIPT: &str = r#"
import json, sys
import duckdb
path = sys.argv[1]
con = duckdb.connect()
types = {name: kind for name, kind, *_ in con.execute(f"DESCRIBE SELECT * FROM read_parquet('{path}')").fetchall()}
row = con.execute(f"""
    SELECT request_time::VARCHAR, status, client_port, frontend, frontend_tls, termination_cause,
           termination_phase, request_headers, tls_version, total_ms, source_line
    FROM read_parquet('{path}') WHERE source_line = 2""").fetchone()
count = con.execute(f"SELECT count(*) FROM read_parquet('{path}')").fetchone()[0]
print(json.dumps({"types": types, "row": [str(v) for v in row], "count": count}))
"#;

#[test]
fn duckdb_reads_the_types_and_values_back() {
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("httpslog.parquet");
    convert(&[&corpus("httpslog.rfc3164.log")], &output, &[]);
    let result = Command::new("python3").arg("-c").arg(SCRIPT).arg(&output).output().expect("python3");
    assert!(
        result.status.success(),
        "DuckDB could not read the file (is it installed? python3 -m pip install duckdb):\n{}",
        String::from_utf8_lossy(&result.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&result.stdout).unwrap();
    let types = &json["types"];
    for (column, expected) in [
        ("request_time", "TIMESTAMP WITH TIME ZONE"),
        ("syslog_time", "TIMESTAMP WITH TIME ZONE"),
        ("status", "SMALLINT"),
        ("client_port", "INTEGER"),
        ("client_ip", "VARCHAR"),
        ("frontend", "VARCHAR"),
        ("frontend_tls", "BOOLEAN"),
        ("termination_cause", "VARCHAR"),
        ("request_headers", "VARCHAR[]"),
        ("total_ms", "BIGINT"),
        ("bytes_to_client", "BIGINT"),
        ("retries", "SMALLINT"),
        ("source_line", "UBIGINT"),
    ] {
        assert_eq!(types[column], expected, "{column}");
    }
    assert_eq!(json["count"], 274);
    // Line 2: `... [23/Nov/2026:20:36:14.385] fe_https~ be_app/app1 0/0/0/5/5 200 96 - - ---- ...`
    let row: Vec<&str> = json["row"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert_eq!(
        row,
        [
            "2026-11-23 20:36:14.385+00",
            "200",
            "57266",
            "fe_https",
            "True",
            "normal",
            "closed",
            "['127.0.0.1:18443', 'curl-h2-corpus/19']",
            "TLSv1.3",
            "None",
            "2",
        ]
    );
}

#[test]
fn duckdb_reads_a_dataset_directory_as_hive_partitions() {
    let dir = tempfile::tempdir().unwrap();
    let lake = format!("{}/lake/", dir.path().display());
    let inputs = [corpus("httplog.rsyslog.log"), corpus("default_http.raw.log")];
    convert(&[&inputs[0], &inputs[1]], std::path::Path::new(&lake), &[]);
    let script = r#"
import sys, duckdb
rows = duckdb.sql(f"SELECT date::VARCHAR, count(*) FROM read_parquet('{sys.argv[1]}**/*.parquet', hive_partitioning = true) GROUP BY 1 ORDER BY 1 NULLS LAST").fetchall()
print(rows)
"#;
    let result = Command::new("python3").arg("-c").arg(script).arg(&lake).output().expect("python3");
    assert!(result.status.success(), "{}", String::from_utf8_lossy(&result.stderr));
    assert_eq!(String::from_utf8_lossy(&result.stdout).trim(), "[('2026-11-23', 266), (None, 3)]");
}

/// Two reports' counts (rows per status, per termination pair) and rows per partition,
/// from Spark in local mode and from DuckDB, over one dataset directory.
const ENGINES_SCRIPT: &str = r#"
import json, sys
lake = sys.argv[1]
def keyed(rows):
    return {("null" if k is None else str(k)): n for k, n in rows}
import duckdb
table = f"read_parquet('{lake}**/*.parquet', hive_partitioning = true)"
duck = {
    "status": keyed(duckdb.sql(f"SELECT status, count(*) FROM {table} GROUP BY 1").fetchall()),
    "termination": keyed(duckdb.sql(f"SELECT substr(termination_state, 1, 2), count(*) FROM {table} GROUP BY 1").fetchall()),
    "date": keyed(duckdb.sql(f"SELECT date::VARCHAR, count(*) FROM {table} GROUP BY 1").fetchall()),
}
from pyspark.sql import SparkSession
from pyspark.sql.functions import substring
spark = (SparkSession.builder.master("local[1]").appName("halake-readback")
         .config("spark.ui.enabled", "false").config("spark.sql.session.timeZone", "UTC").getOrCreate())
spark.sparkContext.setLogLevel("ERROR")
frame = spark.read.parquet(lake)
count = lambda column: keyed((r[0], r[1]) for r in frame.groupBy(column).count().collect())
spark_counts = {
    "status": count("status"),
    "termination": count(substring("termination_state", 1, 2)),
    "date": keyed((str(r[0]), r[1]) for r in frame.groupBy("date").count().collect()),
}
print(json.dumps({"duckdb": duck, "spark": spark_counts}))
"#;

/// `halake sql` as a map of the first column to the second.
fn halake_counts(query: &str, lake: &str) -> serde_json::Value {
    let result = common::halake(&["sql", query, lake, "--format", "csv"]);
    assert!(result.status.success(), "{}", String::from_utf8_lossy(&result.stderr));
    let text = String::from_utf8(result.stdout).unwrap();
    let counts: serde_json::Map<String, serde_json::Value> = text
        .lines()
        .skip(1)
        .map(|line| {
            let (key, count) = line.rsplit_once(',').unwrap();
            let key = if key.is_empty() { "null" } else { key };
            (key.to_string(), count.parse::<u64>().unwrap().into())
        })
        .collect();
    counts.into()
}

#[test]
fn spark_and_duckdb_read_the_dataset_with_halakes_counts() {
    if Command::new("java").arg("-version").output().is_err() {
        panic!("Spark needs Java: apt-get install openjdk-17-jre-headless (.ci/run installs it)");
    }
    let dir = tempfile::tempdir().unwrap();
    let lake = format!("{}/lake/", dir.path().display());
    let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data");
    convert(&[&data], std::path::Path::new(&lake), &[]);
    let expected = serde_json::json!({
        "status": halake_counts("SELECT status, count(*) FROM logs GROUP BY 1", &lake),
        "termination": halake_counts("SELECT substr(termination_state, 1, 2), count(*) FROM logs GROUP BY 1", &lake),
        "date": halake_counts("SELECT date, count(*) FROM logs GROUP BY 1", &lake),
    });
    assert!(expected["status"].as_object().unwrap().len() > 10, "{expected}");
    let result = Command::new("python3").arg("-c").arg(ENGINES_SCRIPT).arg(&lake).output().expect("python3");
    assert!(
        result.status.success(),
        "Spark or DuckDB failed (python3 -m pip install pyspark duckdb):\n{}",
        String::from_utf8_lossy(&result.stderr)
    );
    let stdout = String::from_utf8(result.stdout).unwrap();
    let engines: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(engines["duckdb"], expected, "DuckDB");
    assert_eq!(engines["spark"], expected, "Spark");
}
