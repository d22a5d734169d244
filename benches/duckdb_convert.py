#!/usr/bin/env python3
"""The DuckDB way to turn HAProxy logs into Parquet, as a careful user would write it:
one text column, a regexp_extract per line into named groups (httplog/httpslog, and
tcplog for the lines that are not HTTP), typed columns, zstd Parquet. The syslog header
may be rsyslog's file form, RFC3164 with <PRI>, or RFC5424, as `halake generate`'s
profiles write them. Used by benches/compare.sh as the peer to beat.

usage: duckdb_convert.py INPUT OUTPUT THREADS
"""
import sys

import duckdb

source, target, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])

# The three header styles, each with its own groups: RFC5424, then RFC3164/rsyslog.
HEADER = (
    r'^(?:<\d+>)?(?:1 (\S+) (\S+) (\S+) (\d+) \S+ \S+ |(\w{3} +\d+ [\d:]+) (\S+) ([\w.-]+)\[(\d+)\]: )'
)
HEADER_NAMES = ["iso_time", "iso_host", "iso_tag", "iso_pid", "bsd_time", "bsd_host", "bsd_tag", "bsd_pid"]
HTTP = HEADER + (
    r'(\S+):(\d+) \[([^\]]+)\] (\S+) ([^/ ]+)/(\S+) '
    r'(-?\d+)/(-?\d+)/(-?\d+)/(-?\d+)/\+?(-?\d+) (-?\d+) \+?(\d+) (\S+) (\S+) (\S{4}) '
    r'(\d+)/(\d+)/(\d+)/(\d+)/\+?(\d+) (\d+)/(\d+) '
    r'(?:\{([^}]*)\} )?(?:\{([^}]*)\} )?"(\S+) ([^ "]*)(?: (HTTP/[\d.]+))?"'
)
HTTP_NAMES = HEADER_NAMES + [
    "client_ip", "client_port", "request_date", "frontend", "backend", "server", "tr", "tw", "tc", "tr_resp",
    "ta", "status", "bytes", "request_cookie", "response_cookie", "termination_state", "ac", "fc", "bc", "sc",
    "rc", "sq", "bq", "request_headers", "response_headers", "method", "uri", "http_version",
]
TCP = HEADER + (
    r'(\S+):(\d+) \[([^\]]+)\] (\S+) ([^/ ]+)/(\S+) '
    r'(-?\d+)/(-?\d+)/\+?(-?\d+) \+?(\d+) (\S{2}) (\d+)/(\d+)/(\d+)/(\d+)/\+?(\d+) (\d+)/(\d+)$'
)
TCP_NAMES = HEADER_NAMES + [
    "client_ip", "client_port", "accept_date", "frontend", "backend", "server", "tw", "tc", "tt", "bytes",
    "termination_state", "ac", "fc", "bc", "sc", "rc", "sq", "bq",
]
INTEGERS = {"client_port", "tr", "tw", "tc", "tr_resp", "ta", "tt", "status", "bytes", "ac", "fc", "bc", "sc",
            "rc", "sq", "bq"}
OUTPUT = [
    "syslog_time", "syslog_host", "syslog_tag", "syslog_pid", "client_ip", "client_port", "request_date",
    "accept_date", "frontend", "backend", "server", "tr", "tw", "tc", "tr_resp", "ta", "tt", "status", "bytes",
    "request_cookie", "response_cookie", "termination_state", "ac", "fc", "bc", "sc", "rc", "sq", "bq",
    "request_headers", "response_headers", "method", "uri", "http_version",
]


def field(name):
    """The text of a group from whichever regex matched the line."""
    if name.startswith("syslog_"):
        part = name.removeprefix("syslog_")
        return f"COALESCE(NULLIF(h.iso_{part}, ''), NULLIF(h.bsd_{part}, ''), " \
               f"NULLIF(t.iso_{part}, ''), NULLIF(t.bsd_{part}, ''))"
    sources = [f"NULLIF({s}.{name}, '')" for s, names in (("h", HTTP_NAMES), ("t", TCP_NAMES)) if name in names]
    return sources[0] if len(sources) == 1 else f"COALESCE({', '.join(sources)})"


def column(name):
    value = field(name)
    if name in INTEGERS or name == "syslog_pid":
        return f"TRY_CAST({value} AS BIGINT) AS {name}"
    if name.endswith("_date"):
        return f"TRY_STRPTIME({value}, '%d/%b/%Y:%H:%M:%S.%g') AS {name.removesuffix('_date')}_time"
    if name.endswith("_headers"):
        return f"string_split({value}, '|') AS {name}"
    return f"{value} AS {name}"


def names(group_names):
    return ", ".join(f"'{n}'" for n in group_names)


con = duckdb.connect()
con.execute(f"SET threads = {threads}")
con.execute(f"""
    COPY (
        SELECT {", ".join(column(n) for n in OUTPUT)},
               split_part(h.uri, '?', 1) AS path,
               NULLIF(split_part(h.uri, '?', 2), '') AS query
        FROM (
            SELECT h, CASE WHEN h.frontend = '' THEN regexp_extract(line, '{TCP}', [{names(TCP_NAMES)}]) END AS t
            FROM (
                SELECT line, regexp_extract(line, '{HTTP}', [{names(HTTP_NAMES)}]) AS h
                FROM read_csv('{source}', columns = {{'line': 'VARCHAR'}}, header = false, delim = '\\x01',
                              quote = '', escape = '', auto_detect = false, max_line_size = 10000000)
            )
        )
    ) TO '{target}' (FORMAT parquet, COMPRESSION zstd)
""")
