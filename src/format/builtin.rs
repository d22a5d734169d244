//! HAProxy's built-in formats, as the format strings HAProxy itself uses.
//!
//! They are compiled by the same code as a user's `log-format`, so there is one parser.
//! The strings are identical in 2.4 through 3.5 (src/log.c); the pre-1.7 timer layouts
//! only come into play when the user says so, because the line shape cannot tell them apart.

/// `option httplog` (1.7+).
pub const HTTPLOG: &str =
    "%ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %CC %CS %tsc %ac/%fc/%bc/%sc/%rc %sq/%bq %hr %hs %{+Q}r";

/// `option httpslog` (2.5+).
pub const HTTPSLOG: &str = "%ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %CC %CS %tsc %ac/%fc/%bc/%sc/%rc %sq/%bq %hr %hs %{+Q}r %[fc_err]/%[ssl_fc_err,hex]/%[ssl_c_err]/%[ssl_c_ca_err]/%[ssl_fc_is_resumed] %[ssl_fc_sni]/%sslv/%sslc";

/// `option tcplog`.
pub const TCPLOG: &str = "%ci:%cp [%t] %ft %b/%s %Tw/%Tc/%Tt %B %ts %ac/%fc/%bc/%sc/%rc %sq/%bq";

/// `option httplog clf` (1.7+).
pub const HTTPLOG_CLF: &str = "%{+Q}o %{-Q}ci - - [%trg] %r %ST %B \"\" \"\" %cp %ms %ft %b %s %TR %Tw %Tc %Tr %Ta %tsc %ac %fc %bc %sc %rc %sq %bq %CC %CS %hrl %hsl";

/// `option tcplog clf` (3.1+). The trailing space is part of HAProxy's string.
pub const TCPLOG_CLF: &str = "%{+Q}o %{-Q}ci - - [%T] \"TCP \" 000 %B \"\" \"\" %cp %ms %ft %b %s %Th %Tw %Tc %Tt %U %ts-- %ac %fc %bc %sc %rc %sq %bq \"\" \"\" ";

/// `option httplog` before 1.7: same shape, but `%t` and the `Tq`/`Tt` timers.
pub const HTTPLOG_LEGACY: &str =
    "%ci:%cp [%t] %ft %b/%s %Tq/%Tw/%Tc/%Tr/%Tt %ST %B %CC %CS %tsc %ac/%fc/%bc/%sc/%rc %sq/%bq %hr %hs %{+Q}r";

/// `option httplog clf` before 1.7.
pub const HTTPLOG_CLF_LEGACY: &str = "%{+Q}o %{-Q}ci - - [%T] %r %ST %B \"\" \"\" %cp %ms %ft %b %s %Tq %Tw %Tc %Tr %Tt %tsc %ac %fc %bc %sc %rc %sq %bq %CC %CS %hrl %hsl";

/// Lines HAProxy writes with `printf`, not with a log-format string, expressed in the
/// same language so that the same parser reads them. `%[halake.*]` are pseudo-fetches
/// that only exist here.
pub const CONNECT: &str = "Connect from %ci:%cp to %fi:%fp (%f/%[halake.mode])";
pub const CONNECT_UNKNOWN_SOURCE: &str = "Connect from unknown source to listener %[halake.bind] (%f/%[halake.mode])";
pub const CONNECT_UNIX: &str = "Connect to %ci:%cp (%f/%[halake.mode])";
/// The legacy line for an embryonic connection that failed (SSL handshake, PROXY header).
pub const CONNECTION_ERROR: &str = "%ci:%cp [%t] %f/%[halake.bind]: %[halake.message]";
pub const CONNECTION_ERROR_UNKNOWN_SOURCE: &str = "unknown [%t] %f/%[halake.bind]: %[halake.message]";

/// The name a built-in format carries in the `log_format` column, and its string.
pub const STANDARD: &[(&str, &str)] = &[
    ("httplog", HTTPLOG),
    ("httpslog", HTTPSLOG),
    ("tcplog", TCPLOG),
    ("httplog_clf", HTTPLOG_CLF),
    ("tcplog_clf", TCPLOG_CLF),
    ("connect", CONNECT),
    ("connect", CONNECT_UNKNOWN_SOURCE),
    ("connect", CONNECT_UNIX),
    ("connection_error", CONNECTION_ERROR),
    ("connection_error", CONNECTION_ERROR_UNKNOWN_SOURCE),
];

/// The standard lines any frontend may write, whatever its configured format.
pub const ANY_FRONTEND: &[&str] = &["connect", "connection_error"];

/// Replacements for [`STANDARD`] when the logs predate HAProxy 1.7.
pub const LEGACY: &[(&str, &str)] = &[("httplog", HTTPLOG_LEGACY), ("httplog_clf", HTTPLOG_CLF_LEGACY)];

/// The format string for an `option` line of haproxy.cfg, and the variables HAProxy 2.8+
/// defines for them.
pub fn by_option(option: &str) -> Option<(&'static str, &'static str)> {
    Some(match option {
        "httplog" | "HAPROXY_HTTP_LOG_FMT" => ("httplog", HTTPLOG),
        "httpslog" | "HAPROXY_HTTPS_LOG_FMT" => ("httpslog", HTTPSLOG),
        "tcplog" | "HAPROXY_TCP_LOG_FMT" => ("tcplog", TCPLOG),
        "httplog clf" | "HAPROXY_HTTP_CLF_LOG_FMT" => ("httplog_clf", HTTPLOG_CLF),
        "tcplog clf" | "HAPROXY_TCP_CLF_LOG_FMT" => ("tcplog_clf", TCPLOG_CLF),
        _ => return None,
    })
}
