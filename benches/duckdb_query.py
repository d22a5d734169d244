#!/usr/bin/env python3
"""DuckDB answering a report's question on halake's Parquet, for benches/compare_sql.sh.
The SQL is DuckDB's own: halake's SQL functions are not there.

usage: duckdb_query.py PARQUET THREADS REPORT
"""
import sys

import duckdb

parquet, threads, name = sys.argv[1], int(sys.argv[2]), sys.argv[3]
QUERIES = {
    "status_codes": "SELECT status, count(*) FROM logs WHERE status IS NOT NULL GROUP BY 1 ORDER BY 1",
    "termination_codes": "SELECT substr(termination_state, 1, 2), count(*) FROM logs "
                         "WHERE termination_state IS NOT NULL GROUP BY 1 ORDER BY 1",
    "servers": "SELECT backend || '/' || server, count(*), count(*) FILTER (WHERE status BETWEEN 500 AND 599), "
               "avg(connect_ms), avg(response_ms) FROM logs WHERE status IS NOT NULL GROUP BY 1 ORDER BY 1",
}
con = duckdb.connect()
con.execute(f"SET threads = {threads}")
con.execute(f"CREATE VIEW logs AS SELECT * FROM read_parquet('{parquet}')")
con.execute(QUERIES[name]).fetchall()
