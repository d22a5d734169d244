//! The termination state (`%ts`, `%tsc`) decoded into words.
//!
//! HAProxy's tables (src/log.c): `sess_term_cond = "-LcCsSPRIDKUIIII"`,
//! `sess_fin_state = "-RCHDLQT"`, `sess_cookie = "NIDVEOU7"`,
//! `sess_set_cookie = "NPDIRU67"`. A character outside them is kept verbatim.

use std::sync::{Arc, OnceLock};

use arrow::array::StringArray;

/// Char 1: what ended the session.
pub fn cause(code: u8) -> Option<&'static str> {
    Some(match code {
        b'-' => "normal",
        b'C' => "client_abort",
        b'S' => "server_abort",
        b'P' => "proxy",
        b'L' => "local",
        b'R' => "resource",
        b'I' => "internal",
        b'D' => "server_down",
        b'U' => "backup_up",
        b'K' => "admin_kill",
        b'c' => "client_timeout",
        b's' => "server_timeout",
        _ => return None,
    })
}

/// Char 2: what the session was doing.
pub fn phase(code: u8) -> Option<&'static str> {
    Some(match code {
        b'-' => "closed",
        b'R' => "request",
        b'Q' => "queue",
        b'C' => "connect",
        b'H' => "headers",
        b'D' => "data",
        b'L' => "last_data",
        b'T' => "tarpit",
        _ => return None,
    })
}

/// Char 3: the persistence cookie the client sent.
pub fn persistence_cookie(code: u8) -> Option<&'static str> {
    Some(match code {
        b'-' => "not_applicable",
        b'N' => "none",
        b'I' => "invalid",
        b'D' => "server_down",
        b'V' => "valid",
        b'E' => "expired",
        b'O' => "too_old",
        b'U' => "unused",
        b'7' => "unknown_internal",
        _ => return None,
    })
}

/// Char 4: what HAProxy did with the persistence cookie on the response.
pub fn set_cookie_action(code: u8) -> Option<&'static str> {
    Some(match code {
        b'-' => "not_applicable",
        b'N' => "none",
        b'I' => "inserted",
        b'U' => "updated",
        b'P' => "passed",
        b'R' => "rewritten",
        b'D' => "deleted",
        b'6' | b'7' => "unknown_internal",
        _ => return None,
    })
}

fn decoder(position: u8) -> fn(u8) -> Option<&'static str> {
    match position {
        0 => cause,
        1 => phase,
        2 => persistence_cookie,
        _ => set_cookie_action,
    }
}

/// The dictionary of one decoded column: entry `b` is the meaning of byte `b`, or the
/// byte itself when HAProxy's tables do not have it. Keys are then the raw bytes, so
/// decoding a row costs one byte copy and no hashing.
pub fn dictionary(position: u8) -> Arc<StringArray> {
    static DICTIONARIES: OnceLock<[Arc<StringArray>; 4]> = OnceLock::new();
    let all = DICTIONARIES.get_or_init(|| {
        std::array::from_fn(|p| {
            let decode = decoder(p as u8);
            let values: Vec<String> =
                (0..=255u8).map(|b| decode(b).map_or_else(|| char::from(b).to_string(), str::to_string)).collect();
            Arc::new(StringArray::from(values))
        })
    });
    all[usize::from(position.min(3))].clone()
}

/// One sentence for an operator, for the first two characters.
pub fn explain(state: &[u8]) -> String {
    let cause_text = match state.first() {
        Some(b'-') => "ended normally",
        Some(b'C') => "client aborted",
        Some(b'S') => "server aborted or refused",
        Some(b'P') => "stopped by HAProxy (deny, limit or invalid message)",
        Some(b'L') => "answered by HAProxy itself",
        Some(b'R') => "out of local resources",
        Some(b'I') => "internal error",
        Some(b'D') => "killed: server went down",
        Some(b'U') => "killed: active server came back",
        Some(b'K') => "killed by an admin",
        Some(b'c') => "client timeout",
        Some(b's') => "server timeout",
        _ => "unknown cause",
    };
    let phase_text = match state.get(1) {
        Some(b'-') => "",
        Some(b'R') => " while receiving the request",
        Some(b'Q') => " while queued",
        Some(b'C') => " while connecting to the server",
        Some(b'H') => " while waiting for response headers",
        Some(b'D') => " during the data transfer",
        Some(b'L') => " while sending the last data",
        Some(b'T') => " while tarpitted",
        _ => " in an unknown phase",
    };
    format!("{cause_text}{phase_text}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::Array;

    #[test]
    fn every_documented_code_has_a_meaning() {
        for code in b"-LcCsSPRIDKU" {
            assert!(cause(*code).is_some(), "{}", *code as char);
        }
        for code in b"-RCHDLQT" {
            assert!(phase(*code).is_some());
        }
        for code in b"-NIDVEOU7" {
            assert!(persistence_cookie(*code).is_some());
        }
        for code in b"-NPDIRU67" {
            assert!(set_cookie_action(*code).is_some());
        }
    }

    #[test]
    fn unknown_codes_are_kept_verbatim() {
        let causes = dictionary(0);
        assert_eq!(causes.len(), 256);
        assert_eq!(causes.value(usize::from(b's')), "server_timeout");
        assert_eq!(causes.value(usize::from(b'X')), "X");
    }

    #[test]
    fn names_stay_distinct_where_sql_folds_case() {
        assert_ne!(cause(b'C'), cause(b'c'));
        assert_ne!(cause(b'S'), cause(b's'));
        assert_eq!(explain(b"sH--"), "server timeout while waiting for response headers");
        assert_eq!(explain(b"--"), "ended normally");
    }
}
