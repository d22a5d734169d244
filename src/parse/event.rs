//! Lines that are not traffic: health checks, server and proxy state changes, process
//! messages. HAProxy writes them to the same log; they are counted and routed, never
//! rejected as garbage.

use crate::parse::value::StaticText;

/// A recognised event. Ranges are byte offsets into the line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event {
    pub kind: StaticText,
    pub proxy: Option<(usize, usize)>,
    pub server: Option<(usize, usize)>,
}

/// How an event message starts, its kind, and what follows the prefix.
static PATTERNS: &[(&[u8], &str, Subject)] = &[
    (b"Health check for server ", "health_check", Subject::ProxySlashServer),
    (b"Health check for backup server ", "health_check", Subject::ProxySlashServer),
    (b"Agent check for server ", "agent_check", Subject::ProxySlashServer),
    (b"Agent check for backup server ", "agent_check", Subject::ProxySlashServer),
    (b"Server ", "server_state", Subject::ProxySlashServer),
    (b"Backup Server ", "server_state", Subject::ProxySlashServer),
    (b"backend ", "no_server", Subject::Proxy),
    (b"Backend ", "no_server", Subject::Proxy),
    (b"Proxy ", "proxy_state", Subject::Proxy),
    (b"Stopping proxy ", "proxy_state", Subject::Proxy),
    (b"Stopping frontend ", "proxy_state", Subject::Proxy),
    (b"Stopping backend ", "proxy_state", Subject::Proxy),
    (b"Pausing proxy ", "proxy_state", Subject::Proxy),
    (b"Pausing frontend ", "proxy_state", Subject::Proxy),
    (b"Resuming proxy ", "proxy_state", Subject::Proxy),
    (b"Resuming frontend ", "proxy_state", Subject::Proxy),
    (b"Enabling ", "proxy_state", Subject::None),
    (b"Disabling ", "proxy_state", Subject::None),
    (b"Cannot bind to source address before connect() for backend ", "backend_error", Subject::Proxy),
    (b"[NOTICE]", "process", Subject::None),
    (b"[WARNING]", "process", Subject::None),
    (b"[ALERT]", "process", Subject::None),
];

#[derive(Debug, Clone, Copy)]
enum Subject {
    ProxySlashServer,
    Proxy,
    None,
}

/// Recognises an event in `line[message..]`.
pub fn classify(line: &[u8], message: usize) -> Option<Event> {
    let text = &line[message..];
    let (prefix, kind, subject) = PATTERNS.iter().find(|(prefix, ..)| text.starts_with(prefix))?;
    let start = message + prefix.len();
    let name_end = line[start..].iter().position(|&b| b == b' ' || b == b',').map_or(line.len(), |p| start + p);
    // "... for backend be_src." ends with a full stop that is not part of the name.
    let name_end = if line[start..name_end].ends_with(b".") { name_end - 1 } else { name_end };
    let mut event = Event { kind, proxy: None, server: None };
    if name_end == start {
        return Some(event);
    }
    match subject {
        Subject::ProxySlashServer => match memchr::memchr(b'/', &line[start..name_end]) {
            Some(slash) => {
                event.proxy = Some((start, start + slash));
                event.server = Some((start + slash + 1, name_end));
            }
            None => event.proxy = Some((start, name_end)),
        },
        Subject::Proxy => event.proxy = Some((start, name_end)),
        Subject::None => {}
    }
    Some(event)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(line: &str) -> (&'static str, Option<&str>, Option<&str>) {
        let event = classify(line.as_bytes(), 0).unwrap();
        let text = |r: Option<(usize, usize)>| r.map(|(s, e)| &line[s..e]);
        (*event.kind, text(event.proxy), text(event.server))
    }

    #[test]
    fn recognises_what_haproxy_logs_besides_traffic() {
        assert_eq!(
            names("Health check for server be_kill/k4 failed, reason: Layer7 wrong status"),
            ("health_check", Some("be_kill"), Some("k4"))
        );
        assert_eq!(
            names("Server be_bk/act is DOWN. 0 active and 1 backup servers left."),
            ("server_state", Some("be_bk"), Some("act"))
        );
        assert_eq!(names("backend be_kill has no server available!"), ("no_server", Some("be_kill"), None));
        assert_eq!(
            names("Cannot bind to source address before connect() for backend be_src."),
            ("backend_error", Some("be_src"), None)
        );
        assert_eq!(names("Proxy fe stopped (cumulated conns: FE: 1, BE: 0)."), ("proxy_state", Some("fe"), None));
        assert_eq!(names("[NOTICE]   (1) : New worker (8) forked"), ("process", None, None));
        assert_eq!(classify(b"127.0.0.1:1 [x", 0), None);
    }
}
