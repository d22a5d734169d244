//! What the parser extracts from a line before it reaches Arrow: one [`Value`] per
//! column, mostly byte ranges into the line, so parsing allocates nothing.

/// Text that lives as long as the program (format names, source paths, syslog facility
/// names), reached through one thin pointer: a [`Value`] holding it stays 16 bytes.
pub type StaticText = &'static &'static str;

/// Keeps `text` for the rest of the program, for [`Value::Static`]. Called once per
/// input or format name, never per line.
pub fn leak_text(text: String) -> StaticText {
    Box::leak(Box::new(&*Box::leak(text.into_boxed_str())))
}

/// A parsed field. Ranges are byte offsets into the whole line (header included).
///
/// Kept to 16 bytes: a row holds one per column (some eighty) and is copied whole into
/// the batch builder's stage, so its size is paid on every line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Value {
    #[default]
    Null,
    /// Bytes copied raw by HAProxy.
    Text {
        start: u32,
        end: u32,
    },
    /// Bytes HAProxy `#XX`-encoded (request line, captured headers).
    Encoded {
        start: u32,
        end: u32,
    },
    Int(i64),
    Bool(bool),
    /// A UTC instant, in the unit of its column.
    Time(i64),
    Static(StaticText),
    /// An IPv4 address HAProxy printed in hex (`%{+X}ci`).
    Ipv4(u32),
    /// An IPv6 address HAProxy printed in hex: the range of its 32 hex digits, checked
    /// when the line was parsed (the address itself would double the size of a value).
    Ipv6Hex {
        start: u32,
        end: u32,
    },
    /// A block of captured headers; split into a list when appended.
    Captures {
        start: u32,
        end: u32,
        style: CaptureStyle,
    },
}

/// How a capture block was printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaptureStyle {
    /// `%hr`: `a|b|c`, the braces already stripped.
    Braced,
    /// `%hrl` under `+Q`: `"a" "b" ""`.
    QuotedSlots,
    /// `%hrl` without quotes: `a b -`.
    BareSlots,
}

impl Value {
    pub fn text(start: usize, end: usize) -> Value {
        Value::Text { start: start as u32, end: end as u32 }
    }

    pub fn encoded(start: usize, end: usize) -> Value {
        Value::Encoded { start: start as u32, end: end as u32 }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The raw bytes of a text value, as they appear in the line.
    pub fn bytes<'a>(&self, line: &'a [u8]) -> Option<&'a [u8]> {
        match *self {
            Value::Text { start, end } | Value::Encoded { start, end } => Some(&line[start as usize..end as usize]),
            Value::Static(s) => Some(s.as_bytes()),
            _ => None,
        }
    }
}

const _: () = assert!(std::mem::size_of::<Value>() == 16);

/// The slots of a [`Value::Captures`], as ranges of `#XX`-encoded text; `None` for an
/// empty slot (the header was missing).
pub fn capture_slots(value: Value, line: &[u8]) -> CaptureSlots<'_> {
    match value {
        Value::Captures { start, end, style } => {
            CaptureSlots { line, pos: start as usize, end: end as usize, style, done: false }
        }
        _ => CaptureSlots { line, pos: 0, end: 0, style: CaptureStyle::Braced, done: true },
    }
}

pub struct CaptureSlots<'a> {
    line: &'a [u8],
    pos: usize,
    end: usize,
    style: CaptureStyle,
    done: bool,
}

impl Iterator for CaptureSlots<'_> {
    type Item = Option<(usize, usize)>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let rest = &self.line[self.pos..self.end];
        let (slot_start, slot_end, next) = match self.style {
            CaptureStyle::Braced | CaptureStyle::BareSlots => {
                let separator = if self.style == CaptureStyle::Braced { b'|' } else { b' ' };
                match memchr::memchr(separator, rest) {
                    Some(p) => (self.pos, self.pos + p, Some(self.pos + p + 1)),
                    None => (self.pos, self.end, None),
                }
            }
            CaptureStyle::QuotedSlots => {
                if rest.len() < 2 || rest[0] != b'"' {
                    self.done = true;
                    return None;
                }
                let close = memchr::memchr(b'"', &rest[1..]).map_or(self.end, |p| self.pos + 1 + p);
                (self.pos + 1, close, (close + 2 < self.end).then_some(close + 2))
            }
        };
        match next {
            Some(next) => self.pos = next,
            None => self.done = true,
        }
        let text = &self.line[slot_start..slot_end];
        let empty = text.is_empty() || (self.style == CaptureStyle::BareSlots && text == b"-");
        Some((!empty).then_some((slot_start, slot_end)))
    }
}

/// One value per output column; reused from line to line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Row {
    pub values: Vec<Value>,
}

impl Row {
    pub fn new(columns: usize) -> Row {
        Row { values: vec![Value::Null; columns] }
    }

    pub fn clear(&mut self) {
        self.values.fill(Value::Null);
    }

    pub fn get(&self, column: usize) -> Value {
        self.values[column]
    }

    pub fn set(&mut self, column: usize, value: Value) {
        self.values[column] = value;
    }
}

/// Decodes HAProxy's `#XX` escapes (uppercase hex) into `out`. `#` not followed by two
/// hex digits is kept as is: the line may have been cut in the middle of an escape.
pub fn decode_hash_escapes(input: &[u8], out: &mut Vec<u8>) {
    out.clear();
    let mut i = 0;
    while i < input.len() {
        match memchr::memchr(b'#', &input[i..]) {
            None => {
                out.extend_from_slice(&input[i..]);
                break;
            }
            Some(offset) => {
                let at = i + offset;
                out.extend_from_slice(&input[i..at]);
                match (input.get(at + 1), input.get(at + 2)) {
                    (Some(&hi), Some(&lo)) if hi.is_ascii_hexdigit() && lo.is_ascii_hexdigit() => {
                        out.push(hex_value(hi) << 4 | hex_value(lo));
                        i = at + 3;
                    }
                    _ => {
                        out.push(b'#');
                        i = at + 1;
                    }
                }
            }
        }
    }
}

fn hex_value(digit: u8) -> u8 {
    match digit {
        b'0'..=b'9' => digit - b'0',
        b'a'..=b'f' => digit - b'a' + 10,
        _ => digit - b'A' + 10,
    }
}

/// The inverse of [`decode_hash_escapes`] with HAProxy's rules: control bytes, bytes
/// from 0x7F, `"` and `#` are escaped, and `{`, `|`, `}` too inside capture blocks.
pub fn encode_hash_escapes(input: &[u8], braces_too: bool, out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &byte in input {
        let escape = !(0x20..0x7F).contains(&byte)
            || byte == b'"'
            || byte == b'#'
            || (braces_too && matches!(byte, b'{' | b'|' | b'}'));
        if escape {
            out.extend_from_slice(&[b'#', HEX[(byte >> 4) as usize], HEX[(byte & 15) as usize]]);
        } else {
            out.push(byte);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_escapes_round_trip() {
        let mut decoded = Vec::new();
        decode_hash_escapes(b"a#22b#7Cc#7Bd#7D#23e", &mut decoded);
        assert_eq!(decoded, b"a\"b|c{d}#e");
        let mut encoded = Vec::new();
        encode_hash_escapes(&decoded, true, &mut encoded);
        assert_eq!(encoded, b"a#22b#7Cc#7Bd#7D#23e");
    }

    #[test]
    fn capture_slots_of_every_style() {
        let slots = |line: &'static [u8], style| {
            let value = Value::Captures { start: 0, end: line.len() as u32, style };
            capture_slots(value, line)
                .map(|slot| slot.map(|(s, e)| std::str::from_utf8(&line[s..e]).unwrap()))
                .collect::<Vec<_>>()
        };
        assert_eq!(slots(b"a b|", CaptureStyle::Braced), vec![Some("a b"), None]);
        assert_eq!(slots(b"", CaptureStyle::Braced), vec![None]);
        assert_eq!(slots(br#""x y" "" "z""#, CaptureStyle::QuotedSlots), vec![Some("x y"), None, Some("z")]);
        assert_eq!(slots(b"x - z", CaptureStyle::BareSlots), vec![Some("x"), None, Some("z")]);
    }

    #[test]
    fn a_cut_escape_is_kept_verbatim() {
        let mut decoded = Vec::new();
        decode_hash_escapes(b"caf#C3#A", &mut decoded);
        assert_eq!(decoded, b"caf\xC3#A");
    }
}
