//! The HAProxy `log-format` language: lexing a format string into items.
//!
//! This module knows the language (HAProxy's `parse_logformat_string`), not the
//! output columns: `crate::parse::plan` turns items into a parse plan. The
//! built-in formats are ordinary strings in [`builtin`], lexed by the same code.

pub mod builtin;

use std::fmt;

/// Per-item flags (`%{+Q,-M}...`). `%o` sets the defaults for later items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flags {
    /// `Q`: text items are wrapped in double quotes.
    pub quote: bool,
    /// `X`: addresses, ports and counters are printed in uppercase hexadecimal.
    pub hex: bool,
    /// `E`: `"`, `\` and `]` are backslash-escaped (RFC5424 SD values).
    pub escape: bool,
    /// `M` (on by default): an empty text item prints `-`.
    pub dash_if_empty: bool,
}

impl Default for Flags {
    fn default() -> Self {
        Flags { quote: false, hex: false, escape: false, dash_if_empty: true }
    }
}

/// One element of a compiled `log-format` string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// Bytes printed verbatim.
    Literal(Vec<u8>),
    /// A run of spaces in the format: prints one space if something was printed since
    /// the previous separator.
    Separator,
    Alias {
        alias: Alias,
        flags: Flags,
        name: Option<String>,
    },
    /// `%[fetch,converter...]`.
    Sample {
        expr: String,
        flags: Flags,
        name: Option<String>,
    },
}

/// How a whole line is written: `%{+json}o` and `%{+cbor}o` (HAProxy 3.0+) turn the
/// line into one object of the named items, dropping literals, separators and unnamed
/// items.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Encoding {
    #[default]
    Text,
    Json,
    /// A CBOR map, printed as uppercase hex unless `+bin`.
    Cbor,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    #[error("unknown log-format alias '%{alias}' at byte {offset}")]
    UnknownAlias { alias: String, offset: usize },
    #[error("unterminated '{open}' at byte {offset} of the log-format string")]
    Unterminated { open: char, offset: usize },
    #[error("'%' at the end of the log-format string")]
    DanglingPercent,
    #[error("the log-format string is empty")]
    Empty,
}

macro_rules! aliases {
    ($($variant:ident => $name:literal, $doc:literal;)*) => {
        /// Every `%alias` HAProxy 3.5 knows (2.6 has all but `%OG`).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Alias { $($variant,)* }

        impl Alias {
            pub fn from_name(name: &str) -> Option<Alias> {
                match name { $($name => Some(Alias::$variant),)* _ => None }
            }
            pub fn name(self) -> &'static str {
                match self { $(Alias::$variant => $name,)* }
            }
            pub fn description(self) -> &'static str {
                match self { $(Alias::$variant => $doc,)* }
            }
        }
    };
}

aliases! {
    GlobalFlags => "o", "sets the default flags of later items";
    LogOrigin => "OG", "log origin (3.1+)";
    ClientIp => "ci", "client address";
    ClientPort => "cp", "client port";
    FrontendIp => "fi", "address the client connected to";
    FrontendPort => "fp", "port the client connected to";
    BackendSourceIp => "bi", "source address of the server-side connection";
    BackendSourcePort => "bp", "source port of the server-side connection";
    ServerIp => "si", "server address";
    ServerPort => "sp", "server port";
    Frontend => "f", "frontend name";
    FrontendTransport => "ft", "frontend name, with '~' for an SSL/QUIC listener";
    Backend => "b", "backend name";
    Server => "s", "server name";
    AcceptDate => "t", "accept date, local time";
    RequestDate => "tr", "request start date, local time";
    AcceptDateGmt => "T", "accept date, UTC, second resolution";
    RequestDateGmt => "trg", "request start date, UTC, second resolution";
    AcceptDateLocal => "Tl", "accept date, local time with offset";
    RequestDateLocal => "trl", "request start date, local time with offset";
    AcceptEpoch => "Ts", "accept date, Unix seconds";
    AcceptMillis => "ms", "milliseconds of the accept date";
    HandshakeTime => "Th", "handshake time (ms)";
    IdleTime => "Ti", "idle time before the request (ms)";
    RequestTime => "TR", "time to receive the request headers (ms)";
    RequestTotalTime => "Tq", "Th + Ti + TR (ms)";
    QueueTime => "Tw", "time waiting in queues (ms)";
    ConnectTime => "Tc", "time to connect to the server (ms)";
    ResponseTime => "Tr", "server response headers time (ms)";
    DataTime => "Td", "data transfer time (ms)";
    ActiveTime => "Ta", "active time of the request (ms)";
    TotalTime => "Tt", "total session time (ms)";
    UserTime => "Tu", "Tt - Ti (ms)";
    Status => "ST", "HTTP status";
    BytesRead => "B", "bytes sent to the client";
    BytesUploaded => "U", "bytes received from the client";
    RequestCookie => "CC", "captured request cookie";
    ResponseCookie => "CS", "captured response cookie";
    TermState => "ts", "termination state (2 chars)";
    TermStateCookie => "tsc", "termination state with cookie status (4 chars)";
    ActiveConns => "ac", "process concurrent connections";
    FrontendConns => "fc", "frontend concurrent connections";
    BackendConns => "bc", "backend concurrent connections";
    ServerConns => "sc", "server concurrent connections";
    Retries => "rc", "connection retries, '+' when redispatched";
    ServerQueue => "sq", "position in the server queue";
    BackendQueue => "bq", "position in the backend queue";
    RequestHeaders => "hr", "captured request headers, {a|b}";
    ResponseHeaders => "hs", "captured response headers, {a|b}";
    RequestHeaderList => "hrl", "captured request headers, one field per slot";
    ResponseHeaderList => "hsl", "captured response headers, one field per slot";
    Request => "r", "request line";
    Method => "HM", "HTTP method";
    Uri => "HU", "request URI";
    PathWithAuthority => "HP", "request URI without the query";
    PathOnly => "HPO", "request path only";
    Query => "HQ", "query string, with its '?'";
    Version => "HV", "HTTP version";
    UniqueId => "ID", "unique request id";
    RequestCounter => "rt", "request counter";
    LogCounter => "lc", "lines logged by this frontend before";
    Pid => "pid", "process id";
    Hostname => "H", "system hostname";
    SslVersion => "sslv", "TLS version";
    SslCipher => "sslc", "TLS cipher";
}

impl fmt::Display for Alias {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "%{}", self.name())
    }
}

/// Lexes a `log-format` string (already unquoted from the config file) into items.
pub fn lex(format: &str) -> Result<Vec<Item>, FormatError> {
    lex_with_encoding(format).map(|(items, _)| items)
}

/// [`lex`], and the line encoding its `%o` flags set (the last `%o` wins, as in HAProxy).
pub fn lex_with_encoding(format: &str) -> Result<(Vec<Item>, Encoding), FormatError> {
    let bytes = format.as_bytes();
    let mut encoding = Encoding::Text;
    let mut items: Vec<Item> = Vec::new();
    let mut defaults = Flags::default();
    let mut literal: Vec<u8> = Vec::new();
    let mut i = 0;

    fn flush(literal: &mut Vec<u8>, items: &mut Vec<Item>) {
        if !literal.is_empty() {
            items.push(Item::Literal(std::mem::take(literal)));
        }
    }

    while i < bytes.len() {
        match bytes[i] {
            b' ' => {
                flush(&mut literal, &mut items);
                while i < bytes.len() && bytes[i] == b' ' {
                    i += 1;
                }
                // HAProxy drops separators at the start and never prints two in a row.
                if !items.is_empty() && items.last() != Some(&Item::Separator) {
                    items.push(Item::Separator);
                }
            }
            b'%' => {
                let start = i;
                i += 1;
                if i >= bytes.len() {
                    return Err(FormatError::DanglingPercent);
                }
                if bytes[i] == b'%' {
                    literal.push(b'%');
                    i += 1;
                    continue;
                }
                flush(&mut literal, &mut items);
                let mut name = None;
                if bytes[i] == b'(' {
                    let close = find(bytes, i, b')').ok_or(FormatError::Unterminated { open: '(', offset: i })?;
                    let inner = &format[i + 1..close];
                    // `%(name:type)`: the type only matters for JSON/CBOR output.
                    let inner = inner.split(':').next().unwrap_or(inner);
                    name = Some(inner.to_string());
                    i = close + 1;
                }
                let mut flags = defaults;
                let mut item_encoding = None;
                if i < bytes.len() && bytes[i] == b'{' {
                    let close = find(bytes, i, b'}').ok_or(FormatError::Unterminated { open: '{', offset: i })?;
                    item_encoding = apply_flags(&format[i + 1..close], &mut flags);
                    i = close + 1;
                }
                if i < bytes.len() && bytes[i] == b'[' {
                    let close = find(bytes, i, b']').ok_or(FormatError::Unterminated { open: '[', offset: i })?;
                    items.push(Item::Sample { expr: format[i + 1..close].to_string(), flags, name });
                    i = close + 1;
                    continue;
                }
                let name_end =
                    bytes[i..].iter().position(|b| !b.is_ascii_alphanumeric()).map_or(bytes.len(), |p| i + p);
                let alias_name = &format[i..name_end];
                let alias = Alias::from_name(alias_name)
                    .ok_or_else(|| FormatError::UnknownAlias { alias: alias_name.to_string(), offset: start })?;
                i = name_end;
                if alias == Alias::GlobalFlags {
                    defaults = flags;
                    if let Some(global) = item_encoding {
                        encoding = global;
                    }
                    continue;
                }
                items.push(Item::Alias { alias, flags, name });
            }
            byte => {
                literal.push(byte);
                i += 1;
            }
        }
    }
    flush(&mut literal, &mut items);
    if items.is_empty() {
        return Err(FormatError::Empty);
    }
    Ok((items, encoding))
}

fn find(bytes: &[u8], from: usize, needle: u8) -> Option<usize> {
    memchr::memchr(needle, &bytes[from..]).map(|p| from + p)
}

/// Applies `+Q,-M,...`, and returns the encoding `+json`/`+cbor` (or their `-`) set.
/// HAProxy silently ignores a flag without a sign, and so do we.
fn apply_flags(spec: &str, flags: &mut Flags) -> Option<Encoding> {
    let mut encoding = None;
    for flag in spec.split(',') {
        let (on, name) = match flag.as_bytes().first() {
            Some(b'+') => (true, &flag[1..]),
            Some(b'-') => (false, &flag[1..]),
            _ => continue,
        };
        match name {
            "Q" => flags.quote = on,
            "X" => flags.hex = on,
            "E" => flags.escape = on,
            "M" => flags.dash_if_empty = on,
            "json" => encoding = Some(if on { Encoding::Json } else { Encoding::Text }),
            "cbor" => encoding = Some(if on { Encoding::Cbor } else { Encoding::Text }),
            _ => {}
        }
    }
    encoding
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alias(alias: Alias) -> Item {
        Item::Alias { alias, flags: Flags::default(), name: None }
    }

    #[test]
    fn lexes_tcplog() {
        let items = lex(builtin::TCPLOG).unwrap();
        assert_eq!(items[0], alias(Alias::ClientIp));
        assert_eq!(items[1], Item::Literal(b":".to_vec()));
        assert_eq!(items[2], alias(Alias::ClientPort));
        assert_eq!(items[3], Item::Separator);
        assert_eq!(items[4], Item::Literal(b"[".to_vec()));
        assert_eq!(items[5], alias(Alias::AcceptDate));
    }

    #[test]
    fn global_flags_apply_to_later_items_and_signless_flags_are_ignored() {
        let items = lex("%{+Q}o %{-Q}ci %{Q}b %r").unwrap();
        let flags: Vec<bool> = items
            .iter()
            .filter_map(|item| match item {
                Item::Alias { flags, .. } => Some(flags.quote),
                _ => None,
            })
            .collect();
        assert_eq!(flags, vec![false, true, true]);
    }

    #[test]
    fn separators_collapse_and_leading_ones_are_dropped() {
        let items = lex("  %ci   %cp ").unwrap();
        assert_eq!(items, vec![alias(Alias::ClientIp), Item::Separator, alias(Alias::ClientPort), Item::Separator]);
    }

    #[test]
    fn alias_names_stop_at_the_first_non_alphanumeric_byte() {
        let items = lex("%ts--%Tw/%Tc").unwrap();
        assert_eq!(items[0], alias(Alias::TermState));
        assert_eq!(items[1], Item::Literal(b"--".to_vec()));
        assert_eq!(items[2], alias(Alias::QueueTime));
    }

    #[test]
    fn samples_and_names() {
        let items = lex("%(ua:str){+Q}[var(txn.ua),lower] 100%%").unwrap();
        assert_eq!(
            items[0],
            Item::Sample {
                expr: "var(txn.ua),lower".into(),
                flags: Flags { quote: true, ..Flags::default() },
                name: Some("ua".into())
            }
        );
        assert_eq!(items[2], Item::Literal(b"100%".to_vec()));
    }

    #[test]
    fn json_and_cbor_are_line_encodings_set_by_o() {
        let (items, encoding) = lex_with_encoding("%{+json}o %(client)ci %(status:sint)ST").unwrap();
        assert_eq!(encoding, Encoding::Json);
        assert!(matches!(&items[0], Item::Alias { alias: Alias::ClientIp, name: Some(n), .. } if n == "client"));
        assert_eq!(lex_with_encoding("%{+cbor,+bin}o %(a)ci").unwrap().1, Encoding::Cbor);
        // On one item, json only encodes that item's value: the line stays text.
        assert_eq!(lex_with_encoding("%ci %{+json}[str(x)]").unwrap().1, Encoding::Text);
        assert_eq!(lex_with_encoding("%{+json}o %{-json}o %ci").unwrap().1, Encoding::Text);
    }

    #[test]
    fn errors_name_the_problem() {
        assert_eq!(lex("%ci %zz").unwrap_err().to_string(), "unknown log-format alias '%zz' at byte 4");
        assert!(matches!(lex("%[src"), Err(FormatError::Unterminated { .. })));
        assert_eq!(lex("abc %"), Err(FormatError::DanglingPercent));
        assert_eq!(lex("   "), Err(FormatError::Empty));
    }
}
