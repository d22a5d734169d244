//! Syslog over TCP (RFC 6587): a frame is octet-counted (`LEN SP MSG`) when it starts
//! with a digit, else it ends at a newline (or a NUL, as some senders use). Pure, so the
//! fuzzer and the tests reach it without the listener's runtime.

#[derive(Debug, PartialEq, Eq)]
pub enum Frame {
    /// The message is `pending[start..end]`; the frame takes `consumed` bytes.
    Message {
        start: usize,
        end: usize,
        consumed: usize,
    },
    Incomplete,
    Malformed,
}

/// The next frame of `pending`, the bytes received and not yet framed: a message longer
/// than `max_message`, or a count that cannot be one, is malformed.
pub fn next_frame(pending: &[u8], max_message: usize) -> Frame {
    let Some(&first) = pending.first() else { return Frame::Incomplete };
    if first.is_ascii_digit() {
        let digits = pending.iter().take_while(|b| b.is_ascii_digit()).count();
        // Ten digits and more would be a message of gigabytes: not a count.
        if digits > 9 {
            return Frame::Malformed;
        }
        let Some(&separator) = pending.get(digits) else { return Frame::Incomplete };
        let length: usize = std::str::from_utf8(&pending[..digits]).ok().and_then(|d| d.parse().ok()).unwrap_or(0);
        if separator != b' ' || length == 0 || length > max_message {
            return Frame::Malformed;
        }
        let start = digits + 1;
        if pending.len() < start + length {
            return Frame::Incomplete;
        }
        return Frame::Message { start, end: start + length, consumed: start + length };
    }
    match memchr::memchr2(b'\n', 0, pending) {
        // Longer than a message may be, however the reads cut it: one read of the whole
        // must not pass what two reads of its halves refuse.
        Some(end) if end > max_message => Frame::Malformed,
        Some(end) => Frame::Message { start: 0, end, consumed: end + 1 },
        None if pending.len() > max_message => Frame::Malformed,
        None => Frame::Incomplete,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_octet_counted_or_end_at_a_newline() {
        assert_eq!(next_frame(b"5 hello6 world!", 100), Frame::Message { start: 2, end: 7, consumed: 7 });
        assert_eq!(next_frame(b"5 hel", 100), Frame::Incomplete);
        assert_eq!(next_frame(b"12", 100), Frame::Incomplete);
        assert_eq!(next_frame(b"<134>a line\nnext", 100), Frame::Message { start: 0, end: 11, consumed: 12 });
        assert_eq!(next_frame(b"<134>no end yet", 100), Frame::Incomplete);
        for bad in [&b"5x hello"[..], b"0 ", b"101 x", b"12345678901 x"] {
            assert_eq!(next_frame(bad, 100), Frame::Malformed, "{}", String::from_utf8_lossy(bad));
        }
        assert_eq!(next_frame(&[b'a'; 101], 100), Frame::Malformed);
        assert_eq!(next_frame(&[&[b'a'; 101][..], b"\n"].concat(), 100), Frame::Malformed);
    }
}
