//! What halake learns from haproxy.cfg: each frontend's log format and the names of its
//! captured headers.
//!
//! Only the keywords that shape log lines are read; everything else is skipped, so a
//! configuration HAProxy accepts never fails here for a keyword we do not know.

use std::collections::HashMap;
use std::path::Path;

use crate::format::builtin;
use crate::parse::FormatSource;
use crate::parse::plan::CaptureNames;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("{path}:{line}: {message}")]
    Syntax { path: String, line: usize, message: String },
}

/// Sections that end a proxy section.
const SECTIONS: &[&str] = &[
    "global",
    "defaults",
    "frontend",
    "backend",
    "listen",
    "peers",
    "resolvers",
    "userlist",
    "program",
    "http-errors",
    "ring",
    "log-forward",
    "mailers",
    "cache",
    "crt-store",
    "log-profile",
    "traces",
    "acme",
];

#[derive(Debug, Clone, Default)]
struct Proxy {
    name: String,
    http_mode: Option<bool>,
    /// (name, format string) from `option ...log` or `log-format`.
    format: Option<(String, String)>,
    error_format: Option<String>,
    captures: CaptureNames,
}

/// The log formats of a configuration, one source per distinct (format, captures).
pub fn read(path: &Path) -> Result<Vec<FormatSource>, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|source| ConfigError::Read { path: path.display().to_string(), source })?;
    parse(&text, &path.display().to_string())
}

pub fn parse(text: &str, path: &str) -> Result<Vec<FormatSource>, ConfigError> {
    let mut named_defaults: HashMap<String, Proxy> = HashMap::new();
    let mut last_defaults = Proxy::default();
    let mut frontends: Vec<Proxy> = Vec::new();
    enum Section {
        Other,
        Defaults(Proxy),
        Frontend(Proxy),
    }
    let mut section = Section::Other;

    let close = |section: Section,
                 last_defaults: &mut Proxy,
                 named: &mut HashMap<String, Proxy>,
                 frontends: &mut Vec<Proxy>| match section {
        Section::Defaults(proxy) => {
            if !proxy.name.is_empty() {
                named.insert(proxy.name.clone(), proxy.clone());
            }
            *last_defaults = proxy;
        }
        Section::Frontend(proxy) => frontends.push(proxy),
        Section::Other => {}
    };

    for (number, raw) in text.lines().enumerate() {
        let words = split_words(raw).map_err(|message| ConfigError::Syntax {
            path: path.to_string(),
            line: number + 1,
            message,
        })?;
        let Some(keyword) = words.first() else {
            continue;
        };
        if SECTIONS.contains(&keyword.as_str()) {
            close(
                std::mem::replace(&mut section, Section::Other),
                &mut last_defaults,
                &mut named_defaults,
                &mut frontends,
            );
            let name = words.get(1).cloned().unwrap_or_default();
            // `frontend x from defaults_name`; otherwise the last defaults section.
            let parent = match words.iter().position(|w| w == "from") {
                Some(i) => words.get(i + 1).and_then(|n| named_defaults.get(n)).cloned(),
                None => None,
            }
            .unwrap_or_else(|| last_defaults.clone());
            section = match keyword.as_str() {
                "defaults" => Section::Defaults(Proxy {
                    name: if name == "from" { String::new() } else { name },
                    captures: CaptureNames::default(),
                    ..parent
                }),
                "frontend" | "listen" => Section::Frontend(Proxy { name, captures: CaptureNames::default(), ..parent }),
                _ => Section::Other,
            };
            continue;
        }
        let proxy = match &mut section {
            Section::Defaults(p) | Section::Frontend(p) => p,
            Section::Other => continue,
        };
        apply_keyword(proxy, &words);
    }
    close(section, &mut last_defaults, &mut named_defaults, &mut frontends);
    Ok(sources(frontends))
}

fn apply_keyword(proxy: &mut Proxy, words: &[String]) {
    let word = |i: usize| words.get(i).map(String::as_str).unwrap_or("");
    match word(0) {
        "mode" => proxy.http_mode = Some(word(1) == "http"),
        "option" => {
            let option = if word(2) == "clf" { format!("{} clf", word(1)) } else { word(1).to_string() };
            if let Some((name, format)) = builtin::by_option(&option) {
                proxy.format = Some((name.to_string(), format.to_string()));
            }
        }
        "no" if word(1) == "option" && matches!(word(2), "httplog" | "httpslog" | "tcplog") => {
            proxy.format = None;
        }
        "log-format" => proxy.format = Some((String::new(), word(1).to_string())),
        "error-log-format" => proxy.error_format = Some(word(1).to_string()),
        "capture" if word(2) == "header" => {
            let name = word(3).to_string();
            match word(1) {
                "request" => proxy.captures.request.push(name),
                "response" => proxy.captures.response.push(name),
                _ => {}
            }
        }
        // `http-request capture <sample> len <n>` declares a new slot; with `id <n>`
        // it writes into a declared one.
        "http-request" | "tcp-request" if words.iter().any(|w| w == "capture") => {
            if let Some(i) = words.iter().position(|w| w == "capture")
                && words.get(i + 2).map(String::as_str) == Some("len")
            {
                proxy.captures.request.push(word(i + 1).to_string());
            }
        }
        "http-response" if word(1) == "capture" && word(3) == "len" => {
            proxy.captures.response.push(word(2).to_string());
        }
        "declare" if word(1) == "capture" => {
            let slots = match word(2) {
                "request" => &mut proxy.captures.request,
                _ => &mut proxy.captures.response,
            };
            let name = format!("capture{}", slots.len());
            slots.push(name);
        }
        _ => {}
    }
}

/// One source per distinct (format, captures), listing the frontends that use it.
fn sources(frontends: Vec<Proxy>) -> Vec<FormatSource> {
    let mut sources: Vec<FormatSource> = Vec::new();
    let mut add = |name: String, format: String, frontend: &str, captures: CaptureNames| match sources
        .iter_mut()
        .find(|s| s.format == format && s.captures == captures)
    {
        Some(source) => source.frontends.push(frontend.to_string()),
        None => sources.push(FormatSource { name, format, frontends: vec![frontend.to_string()], captures }),
    };
    for proxy in &frontends {
        if let Some((name, format)) = &proxy.format {
            let tcp = proxy.http_mode == Some(false);
            // In TCP mode HAProxy falls back from the HTTP formats to their TCP twins.
            let (name, format) = match name.as_str() {
                "httplog" | "httpslog" if tcp => ("tcplog".to_string(), builtin::TCPLOG.to_string()),
                "httplog_clf" if tcp => ("tcplog_clf".to_string(), builtin::TCPLOG_CLF.to_string()),
                "" => (format!("custom:{}", proxy.name), format.clone()),
                _ => (name.clone(), format.clone()),
            };
            add(name, format, &proxy.name, proxy.captures.clone());
        }
        if let Some(format) = &proxy.error_format {
            add(format!("error:{}", proxy.name), format.clone(), &proxy.name, CaptureNames::default());
        }
    }
    sources
}

/// Splits a configuration line into words the way HAProxy does: `#` starts a comment,
/// double quotes group and expand `${VAR}`, single quotes group verbatim, a backslash
/// escapes the next character.
pub fn split_words(line: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = line.chars().peekable();
    let mut quote: Option<char> = None;
    while let Some(c) = chars.next() {
        match (quote, c) {
            (None, '#') => break,
            (None, ' ' | '\t') => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            (None, '"' | '\'') => {
                quote = Some(c);
                in_word = true;
            }
            (Some(q), c) if c == q => quote = None,
            (Some('\''), c) => word.push(c),
            (_, '\\') => {
                in_word = true;
                match chars.next() {
                    Some(next) => word.push(next),
                    None => return Err("backslash at the end of the line".into()),
                }
            }
            (_, '$') if chars.peek() == Some(&'{') => {
                chars.next();
                let mut name = String::new();
                for c in chars.by_ref() {
                    if c == '}' {
                        break;
                    }
                    name.push(c);
                }
                word.push_str(&expand(&name));
                in_word = true;
            }
            (_, c) => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if quote.is_some() {
        return Err("unterminated quote".into());
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

/// HAProxy 2.8+ defines the standard formats as variables; others come from the
/// environment, as they would for HAProxy.
fn expand(name: &str) -> String {
    if let Some((_, format)) = builtin::by_option(name) {
        return format.to_string();
    }
    std::env::var(name).unwrap_or_default()
}

/// A `--log-format` argument: the string as written in haproxy.cfg, with or without its
/// surrounding quotes and backslash escapes.
pub fn unquote_format_argument(argument: &str) -> String {
    let trimmed = argument.trim();
    if (trimmed.starts_with('"') || trimmed.contains('\\'))
        && let Ok(words) = split_words(trimmed)
    {
        return words.join(" ");
    }
    trimmed.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_quotes_escapes_and_variables() {
        assert_eq!(split_words(r#"  log-format "%ci \"x\" %b" # c"#).unwrap(), vec!["log-format", r#"%ci "x" %b"#]);
        assert_eq!(split_words(r"unique-id-format %{+X}o\ %ci").unwrap(), vec!["unique-id-format", "%{+X}o %ci"]);
        assert_eq!(split_words("a '${X}' b").unwrap(), vec!["a", "${X}", "b"]);
        assert_eq!(
            split_words(r#"log-format "${HAPROXY_TCP_LOG_FMT} x""#).unwrap()[1],
            format!("{} x", builtin::TCPLOG)
        );
        assert!(split_words(r#"a "b"#).is_err());
    }

    #[test]
    fn frontends_get_their_format_and_captures() {
        let config = r#"
defaults
    mode http
    option httplog
frontend a
    bind :80
    capture request header Host len 32
    capture response header Content-Type len 32
    http-request capture req.hdr(X-Id) len 10
frontend b
    bind :81
    log-format "%ci %ST"
frontend c
    mode tcp
backend x
    option tcplog
listen d
    mode http
    option httplog clf
    error-log-format "%ci %[fc_err]"
"#;
        let sources = parse(config, "haproxy.cfg").unwrap();
        let names: Vec<(&str, &[String])> = sources.iter().map(|s| (s.name.as_str(), s.frontends.as_slice())).collect();
        assert_eq!(names[0].0, "httplog");
        assert_eq!(names[0].1, ["a"]);
        assert_eq!(sources[0].captures.request, ["Host", "req.hdr(X-Id)"]);
        assert_eq!(sources[0].captures.response, ["Content-Type"]);
        assert_eq!(names[1], ("custom:b", &["b".to_string()][..]));
        assert_eq!(names[2], ("tcplog", &["c".to_string()][..]));
        assert_eq!(names[3].0, "httplog_clf");
        assert_eq!(names[4], ("error:d", &["d".to_string()][..]));
    }

    #[test]
    fn format_arguments_as_pasted_from_the_config() {
        assert_eq!(unquote_format_argument(r#""%ci \"TCP \" %b""#), r#"%ci "TCP " %b"#);
        assert_eq!(unquote_format_argument("%ci:%cp [%tr]"), "%ci:%cp [%tr]");
    }
}
