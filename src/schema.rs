//! The columns halake writes, what each one means, and their Arrow types.
//!
//! The traffic table has a fixed set of core columns, one home for every HAProxy alias,
//! so that Parquet written from different configurations shares one schema. A
//! configuration adds columns only for what has no fixed home: named header captures and
//! `%[sample]` expressions halake does not know.

use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, TimeUnit};

/// How a column is stored. Each kind maps to one Arrow builder in `crate::batch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    Utf8,
    /// Low-cardinality text: `Dictionary(Int32, Utf8)`.
    Dictionary,
    /// One character of the termination state, decoded: `Dictionary(UInt8, Utf8)`.
    TerminationChar(u8),
    Boolean,
    Int16,
    Int32,
    Int64,
    UInt64,
    /// A UTC instant with millisecond resolution.
    TimestampMillis,
    /// A UTC instant with microsecond resolution (syslog headers carry microseconds).
    TimestampMicros,
    /// Captured headers, in declaration order.
    Utf8List,
}

impl ColumnKind {
    /// Whether values of this kind are text of the line (numbers and times are parsed
    /// out of it).
    pub fn holds_text(self) -> bool {
        matches!(
            self,
            ColumnKind::Utf8 | ColumnKind::Dictionary | ColumnKind::TerminationChar(_) | ColumnKind::Utf8List
        )
    }

    pub fn data_type(self) -> DataType {
        match self {
            ColumnKind::Utf8 => DataType::Utf8,
            ColumnKind::Dictionary => DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)),
            ColumnKind::TerminationChar(_) => DataType::Dictionary(Box::new(DataType::UInt8), Box::new(DataType::Utf8)),
            ColumnKind::Boolean => DataType::Boolean,
            ColumnKind::Int16 => DataType::Int16,
            ColumnKind::Int32 => DataType::Int32,
            ColumnKind::Int64 => DataType::Int64,
            ColumnKind::UInt64 => DataType::UInt64,
            ColumnKind::TimestampMillis => DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
            ColumnKind::TimestampMicros => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            ColumnKind::Utf8List => DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
        }
    }
}

/// One output column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnSpec {
    pub name: String,
    pub kind: ColumnKind,
    /// What the column means, and where it comes from (`halake schema` prints it).
    pub doc: String,
}

macro_rules! core_columns {
    ($($variant:ident => $name:literal, $kind:expr, $doc:literal;)*) => {
        /// The fixed columns of the traffic table, in output order.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[repr(usize)]
        pub enum Col { $($variant,)* }

        impl Col {
            pub const ALL: &'static [Col] = &[$(Col::$variant,)*];
            pub fn name(self) -> &'static str {
                match self { $(Col::$variant => $name,)* }
            }
            pub fn kind(self) -> ColumnKind {
                match self { $(Col::$variant => $kind,)* }
            }
            pub fn doc(self) -> &'static str {
                match self { $(Col::$variant => $doc,)* }
            }
        }
    };
}

use ColumnKind::*;

core_columns! {
    SourceFile => "source_file", Dictionary, "path of the log file the row was read from";
    SourceLine => "source_line", UInt64, "1-based line number in that file";
    LogFormat => "log_format", Dictionary, "format that parsed the line: httplog, httpslog, tcplog, httplog_clf, tcplog_clf, connect, connection_error, json or cbor (HAProxy 3.x lines of no known format), or custom:<frontend>";
    SyslogTime => "syslog_time", TimestampMicros, "syslog header time: when the line was emitted, not when the session started";
    SyslogHost => "syslog_host", Dictionary, "syslog header hostname";
    SyslogTag => "syslog_tag", Dictionary, "syslog header tag (program name, normally haproxy)";
    SyslogPid => "syslog_pid", Int32, "syslog header PID (changes on every reload)";
    SyslogFacility => "syslog_facility", Dictionary, "syslog facility from <PRI> (local0...)";
    SyslogSeverity => "syslog_severity", Dictionary, "syslog severity from <PRI> (info, err...)";
    SyslogStructuredData => "syslog_structured_data", Utf8, "RFC5424 structured data";
    ClientIp => "client_ip", Utf8, "client address (%ci); 'unix' for a unix socket client";
    ClientPort => "client_port", Int32, "client port (%cp); the listener id for a unix socket client";
    FrontendIp => "frontend_ip", Utf8, "address the client connected to (%fi)";
    FrontendPort => "frontend_port", Int32, "port the client connected to (%fp)";
    BackendSourceIp => "backend_source_ip", Utf8, "source address of the server-side connection (%bi)";
    BackendSourcePort => "backend_source_port", Int32, "source port of the server-side connection (%bp)";
    ServerIp => "server_ip", Utf8, "server address (%si)";
    ServerPort => "server_port", Int32, "server port (%sp)";
    AcceptTime => "accept_time", TimestampMillis, "when the connection was accepted (%t, %T, %Tl, %Ts)";
    RequestTime => "request_time", TimestampMillis, "when the request started: first byte received (%tr, %trg, %trl)";
    AcceptMillis => "accept_millis", Int16, "milliseconds of the accept date (%ms), as CLF logs it beside a second-resolution date";
    Frontend => "frontend", Dictionary, "frontend name (%f, %ft)";
    FrontendTls => "frontend_tls", Boolean, "the listener is SSL/QUIC: the '~' after the frontend name in %ft";
    Backend => "backend", Dictionary, "backend name (%b); the frontend name when no backend was chosen";
    Server => "server", Dictionary, "server name (%s): <NOSRV> when none, <STATS>, <CACHE>... for applets";
    Bind => "bind", Dictionary, "listener name or id, on connection-error and 'Connect from unknown source' lines";
    ProxyMode => "proxy_mode", Dictionary, "HTTP or TCP, on 'Connect from' lines";
    HandshakeMs => "handshake_ms", Int64, "Th: handshake time, ms (null when not reached)";
    IdleMs => "idle_ms", Int64, "Ti: idle time before the request, ms";
    RequestMs => "request_ms", Int64, "TR: time to receive the full request headers, ms";
    RequestTotalMs => "request_total_ms", Int64, "Tq: Th + Ti + TR, ms (the first timer of pre-1.7 HTTP logs)";
    QueueMs => "queue_ms", Int64, "Tw: time waiting in queues, ms";
    ConnectMs => "connect_ms", Int64, "Tc: time to connect to the server, ms";
    ResponseMs => "response_ms", Int64, "Tr: server response headers time, ms";
    DataMs => "data_ms", Int64, "Td: data transfer time, ms";
    ActiveMs => "active_ms", Int64, "Ta: active time of the request (Tt - Th - Ti), ms";
    TotalMs => "total_ms", Int64, "Tt: total session time since accept, ms";
    UserMs => "user_ms", Int64, "Tu: Tt - Ti, ms";
    Logasap => "logasap", Boolean, "logged before the end (option logasap): timers and bytes carried a '+'";
    Status => "status", Int16, "HTTP status sent to the client (%ST); -1 when there was no status yet";
    BytesToClient => "bytes_to_client", Int64, "bytes sent to the client, headers included (%B)";
    BytesFromClient => "bytes_from_client", Int64, "bytes received from the client (%U)";
    RequestCookie => "request_cookie", Utf8, "captured request cookie name=value (%CC)";
    ResponseCookie => "response_cookie", Utf8, "captured Set-Cookie name=value (%CS)";
    TerminationState => "termination_state", Dictionary, "termination state as logged (%ts: 2 chars, %tsc: 4 chars)";
    TerminationCause => "termination_cause", TerminationChar(0), "what ended the session (1st char of the termination state)";
    TerminationPhase => "termination_phase", TerminationChar(1), "what the session was doing when it ended (2nd char)";
    PersistenceCookie => "persistence_cookie", TerminationChar(2), "the persistence cookie the client sent (3rd char)";
    SetCookieAction => "set_cookie_action", TerminationChar(3), "what HAProxy did with the persistence cookie on the response (4th char)";
    ActiveConns => "active_conns", Int32, "concurrent connections on the process when logged (%ac)";
    FrontendConns => "frontend_conns", Int32, "concurrent connections on the frontend (%fc)";
    BackendConns => "backend_conns", Int32, "concurrent connections on the backend (%bc)";
    ServerConns => "server_conns", Int32, "concurrent connections on the server (%sc)";
    Retries => "retries", Int16, "connection retries (%rc)";
    Redispatched => "redispatched", Boolean, "the session was redispatched to another server: the '+' of %rc";
    ServerQueue => "server_queue", Int32, "requests ahead in the server queue (%sq)";
    BackendQueue => "backend_queue", Int32, "requests ahead in the backend queue (%bq)";
    RequestHeaders => "request_headers", Utf8List, "captured request headers in declaration order (%hr, %hrl); null when the line has no capture block";
    ResponseHeaders => "response_headers", Utf8List, "captured response headers (%hs, %hsl)";
    RequestLine => "request_line", Utf8, "request line (%r), #XX escapes decoded, kept only when the columns after it do not rebuild it as method, target and version (<BADREQ>, a '#', no target); null when they do";
    Method => "method", Dictionary, "HTTP method (%HM, or from the request line)";
    UriOrigin => "uri_origin", Dictionary, "scheme and authority of an absolute request target (https://example.com), as HTTP/2 requests log it; null for a plain /path (%HU, %HP, or from the request line)";
    Path => "path", Utf8, "request path without scheme, authority or query (%HPO, %HP, or from the request line)";
    Query => "query", Utf8, "query string without its '?' (%HQ, or from the request line)";
    HttpVersion => "http_version", Dictionary, "HTTP version (%HV, or from the request line)";
    RequestTruncated => "request_truncated", Boolean, "the request line lost its end (tune.http.logurilen, or the line was cut)";
    UniqueId => "unique_id", Utf8, "unique request id (%ID)";
    RequestCounter => "request_counter", Int64, "request counter of the process (%rt)";
    FrontendLogCounter => "frontend_log_counter", Int64, "lines this frontend logged before this one (%lc)";
    Pid => "pid", Int32, "process id (%pid)";
    Hostname => "hostname", Dictionary, "system hostname (%H)";
    LogOrigin => "log_origin", Dictionary, "log origin (%OG, 3.1+): txn_close, sess_error...";
    TlsVersion => "tls_version", Dictionary, "TLS protocol version (%sslv)";
    TlsCipher => "tls_cipher", Dictionary, "TLS cipher (%sslc); (NONE) when the handshake failed";
    TlsSni => "tls_sni", Utf8, "SNI the client sent (ssl_fc_sni)";
    FrontendConnError => "frontend_conn_error", Int32, "HAProxy's error code for the client connection, 0 = none (fc_err)";
    TlsError => "tls_error", Utf8, "last OpenSSL error on the client connection, 16 hex digits (ssl_fc_err,hex)";
    ClientCertError => "client_cert_error", Int32, "client certificate verification result (ssl_c_err)";
    ClientCertCaError => "client_cert_ca_error", Int32, "client certificate chain verification result (ssl_c_ca_err)";
    TlsResumed => "tls_resumed", Boolean, "the TLS session was resumed (ssl_fc_is_resumed)";
    ConnectionError => "connection_error", Utf8, "message of a connection-error line (SSL handshake failure...)";
    LineTruncated => "line_truncated", Boolean, "the line was cut (HAProxy's len limit): fields after the cut are null";
    InvalidUtf8 => "invalid_utf8", Boolean, "the line had bytes that are not UTF-8; they were replaced by U+FFFD";
}

pub const CORE_COLUMNS: usize = Col::ALL.len();

impl Col {
    pub fn index(self) -> usize {
        self as usize
    }

    pub fn spec(self) -> ColumnSpec {
        ColumnSpec { name: self.name().to_string(), kind: self.kind(), doc: self.doc().to_string() }
    }

    /// Columns of every row whatever its format: provenance, syslog header, line flags.
    pub fn always_filled(self) -> bool {
        matches!(self, Col::SourceFile | Col::SourceLine | Col::LogFormat | Col::LineTruncated | Col::InvalidUtf8)
            || self.name().starts_with("syslog_")
    }

    pub fn by_name(name: &str) -> Option<Col> {
        Col::ALL.iter().copied().find(|col| col.name() == name)
    }
}

/// The non-traffic lines HAProxy writes to the same log (health checks, server state
/// changes, proxy start and stop).
pub mod events {
    use super::{ColumnKind, ColumnKind::*, ColumnSpec};

    pub const SOURCE_FILE: usize = 0;
    pub const SOURCE_LINE: usize = 1;
    pub const SYSLOG_TIME: usize = 2;
    pub const SYSLOG_HOST: usize = 3;
    pub const SYSLOG_TAG: usize = 4;
    pub const SYSLOG_PID: usize = 5;
    pub const SYSLOG_SEVERITY: usize = 6;
    pub const EVENT_KIND: usize = 7;
    pub const PROXY: usize = 8;
    pub const SERVER: usize = 9;
    pub const MESSAGE: usize = 10;
    pub const COLUMN_COUNT: usize = 11;

    const COLUMNS: &[(&str, ColumnKind, &str)] = &[
        ("source_file", Dictionary, "path of the log file"),
        ("source_line", UInt64, "1-based line number"),
        ("syslog_time", TimestampMicros, "syslog header time"),
        ("syslog_host", Dictionary, "syslog header hostname"),
        ("syslog_tag", Dictionary, "syslog header tag"),
        ("syslog_pid", Int32, "syslog header PID"),
        ("syslog_severity", Dictionary, "syslog severity"),
        (
            "event_kind",
            Dictionary,
            "health_check, agent_check, server_state, no_server, proxy_state, backend_error, process",
        ),
        ("proxy", Dictionary, "the backend or proxy the event is about"),
        ("server", Dictionary, "the server the event is about"),
        ("message", Utf8, "the message as logged"),
    ];

    pub fn columns() -> Vec<ColumnSpec> {
        debug_assert_eq!(COLUMNS.len(), COLUMN_COUNT);
        COLUMNS
            .iter()
            .map(|(name, kind, doc)| ColumnSpec { name: (*name).to_string(), kind: *kind, doc: (*doc).to_string() })
            .collect()
    }
}

pub fn arrow_schema(columns: &[ColumnSpec]) -> Schema {
    Schema::new(columns.iter().map(|c| Field::new(&c.name, c.kind.data_type(), true)).collect::<Vec<_>>())
}

/// A column name from free text (a header name, a sample expression): lowercase ASCII
/// letters, digits and single underscores, so SQL needs no quoting.
pub fn sanitize_name(text: &str) -> String {
    let mut name = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            name.push(c.to_ascii_lowercase());
        } else if !name.ends_with('_') && !name.is_empty() {
            name.push('_');
        }
    }
    while name.ends_with('_') {
        name.pop();
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn core_column_names_are_unique_after_sql_case_folding() {
        let mut seen = HashSet::new();
        for col in Col::ALL {
            assert!(seen.insert(col.name().to_lowercase()), "{}", col.name());
            assert_eq!(Col::ALL[col.index()], *col);
        }
    }

    #[test]
    fn sanitized_names() {
        assert_eq!(sanitize_name("User-Agent"), "user_agent");
        assert_eq!(sanitize_name("var(txn.ua)"), "var_txn_ua");
        assert_eq!(sanitize_name("req.hdr(X-Forwarded-For),lower"), "req_hdr_x_forwarded_for_lower");
    }
}
