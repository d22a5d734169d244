#!/usr/bin/env python3
"""The DuckDB way to turn HAProxy logs into Parquet, as a careful user would write it:
one text column, one regexp_extract per line into named groups, typed columns, zstd
Parquet. Used by benches/compare.sh as the peer to beat.

usage: duckdb_convert.py INPUT OUTPUT THREADS
"""
import sys

import duckdb

source, target, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])

# rsyslog header, then the httplog/httpslog body; other lines give NULLs.
PATTERN = (
    r'^(\w{3} +\d+ [\d:]+) (\S+) ([\w.-]+)\[(\d+)\]: '
    r'(\S+):(\d+) \[([^\]]+)\] (\S+) ([^/ ]+)/(\S+) '
    r'(-?\d+)/(-?\d+)/(-?\d+)/(-?\d+)/\+?(-?\d+) (-?\d+) \+?(\d+) (\S+) (\S+) (\S{4}) '
    r'(\d+)/(\d+)/(\d+)/(\d+)/\+?(\d+) (\d+)/(\d+) '
    r'(?:\{([^}]*)\} )?(?:\{([^}]*)\} )?"(\S+) ([^ "]*)(?: (HTTP/[\d.]+))?"'
)
NAMES = [
    "syslog_time", "syslog_host", "syslog_tag", "syslog_pid", "client_ip", "client_port", "request_date",
    "frontend", "backend", "server", "tr", "tw", "tc", "tr_resp", "ta", "status", "bytes", "request_cookie",
    "response_cookie", "termination_state", "ac", "fc", "bc", "sc", "rc", "sq", "bq", "request_headers",
    "response_headers", "method", "uri", "http_version",
]
INTEGERS = {"syslog_pid", "client_port", "tr", "tw", "tc", "tr_resp", "ta", "status", "bytes", "ac", "fc", "bc",
            "sc", "rc", "sq", "bq"}


def column(name):
    value = f"NULLIF(m.{name}, '')"
    if name in INTEGERS:
        return f"TRY_CAST({value} AS BIGINT) AS {name}"
    if name == "request_date":
        return f"TRY_STRPTIME({value}, '%d/%b/%Y:%H:%M:%S.%g') AS request_time"
    if name.endswith("_headers"):
        return f"string_split({value}, '|') AS {name}"
    return f"{value} AS {name}"


names = ", ".join(f"'{n}'" for n in NAMES)
con = duckdb.connect()
con.execute(f"SET threads = {threads}")
con.execute(f"""
    COPY (
        SELECT {", ".join(column(n) for n in NAMES)},
               split_part(m.uri, '?', 1) AS path,
               NULLIF(split_part(m.uri, '?', 2), '') AS query
        FROM (
            SELECT regexp_extract(line, '{PATTERN}', [{names}]) AS m
            FROM read_csv('{source}', columns = {{'line': 'VARCHAR'}}, header = false, delim = '\\x01',
                          quote = '', escape = '', auto_detect = false, max_line_size = 10000000)
        )
    ) TO '{target}' (FORMAT parquet, COMPRESSION zstd)
""")
