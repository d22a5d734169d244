//! HAProxy 3.x structured lines: under `%{+json}o` a line is one JSON object of the
//! format's named items, under `%{+cbor}o` one CBOR map printed as uppercase hex.
//!
//! A line is decoded into a scratch line: the syslog header copied first (its offsets
//! stay valid), then each member's key and value, unescaped. The values are then read by
//! the field readers of text lines, so `"ts": "sD--"` and a text `sD--` become the same
//! termination columns, and a row's values are offsets into the scratch line.
//!
//! HAProxy's JSON is not always strict JSON: raw sample values keep their control bytes,
//! logasap numbers keep their `+`, and `len` cuts a line anywhere (spec §3.4, §6). The
//! decoder takes all three, which a general JSON crate would refuse.
//!
//! What HAProxy writes, beyond the spec's §6 (the configuration manual's log-format
//! flags, 3.0+, and `sess_build_logline` in src/log.c of HAProxy 3.5-dev):
//! - an item without a name is skipped ("cannot represent anonymous field"); there are
//!   no default key names, so `%(:sint)ci` is typed but not written;
//! - "incomplete numerical values (e.g. `%B` when logasap is used) ... will be encoded
//!   as-is", so a `+` can lead a JSON number; `+E` is ignored;
//! - in CBOR, keys are definite text strings; untyped text items are indefinite-length
//!   text (`7F`, chunks, `FF`), `:str` ones definite; integers are major types 0 and 1;
//!   `:bool` is simple `F4`/`F5`; `%hrl`/`%hsl` are indefinite arrays (`9F … FF`);
//! - `+bin` writes the CBOR bytes raw instead of as hex.

use std::io::Write;

use super::date::LocalZone;
use super::plan::{
    self, CaptureColumns, CaptureNames, ColumnSet, FieldEnd, FieldParse, FieldStep, Fit, Needs, capture_columns,
};
use super::value::{CaptureStyle, Row, StaticText, Value};
use crate::format::{Alias, Encoding, Flags, Item};
use crate::schema::Col;

/// What a member's value was, once decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Number,
    Bool,
    Null,
    /// `%hrl`/`%hsl`: the elements, joined by `|` as in a `%hr` block.
    List,
}

#[derive(Debug, Clone, Copy)]
struct Member {
    key: (usize, usize),
    value: (usize, usize),
    kind: Kind,
}

/// One structured line, decoded. Reused from line to line: decoding allocates nothing
/// once the buffers have grown to the longest line.
#[derive(Debug, Default)]
pub struct Decoded {
    /// The header, then keys and values: what the row's offsets point into.
    pub line: Vec<u8>,
    members: Vec<Member>,
    /// CBOR bytes from the hex text.
    binary: Vec<u8>,
    /// The line ended inside the object: members after the cut are missing, and the one
    /// it cut is the last.
    cut: bool,
    encoding: Option<Encoding>,
}

/// How a message looks, from its first bytes: which decoder to try.
pub fn sniff(message: &[u8]) -> Option<Encoding> {
    match message {
        [b'{', ..] => Some(Encoding::Json),
        [b'B', b'F', next, ..] if next.is_ascii_digit() || (b'A'..=b'F').contains(next) => Some(Encoding::Cbor),
        [0xBF, ..] => Some(Encoding::Cbor),
        _ => None,
    }
}

impl Decoded {
    /// Decodes `line[message..]`, whose encoding [`sniff`] found.
    pub fn decode(&mut self, line: &[u8], message: usize, encoding: Encoding) -> Result<(), &'static str> {
        self.line.clear();
        self.line.extend_from_slice(&line[..message]);
        self.members.clear();
        self.cut = false;
        self.encoding = Some(encoding);
        match encoding {
            Encoding::Json => self.json(line, message),
            Encoding::Cbor if line[message] == 0xBF => {
                let mut binary = std::mem::take(&mut self.binary);
                binary.clear();
                binary.extend_from_slice(&line[message..]);
                let result = self.cbor(&binary);
                self.binary = binary;
                result
            }
            Encoding::Cbor => {
                let mut binary = std::mem::take(&mut self.binary);
                let result = hex_to_binary(&line[message..], &mut binary).and_then(|complete| {
                    self.cbor(&binary)?;
                    if !complete {
                        self.cut = true;
                    }
                    Ok(())
                });
                self.binary = binary;
                result
            }
            Encoding::Text => Err("not a structured line"),
        }
    }

    pub fn encoding(&self) -> Option<Encoding> {
        self.encoding
    }

    pub fn cut(&self) -> bool {
        self.cut
    }

    fn key(&self, member: &Member) -> &[u8] {
        &self.line[member.key.0..member.key.1]
    }

    /// The key of member `index`, for messages.
    pub fn key_text(&self, index: usize) -> String {
        self.members.get(index).map_or_else(String::new, |m| String::from_utf8_lossy(self.key(m)).into_owned())
    }

    // ---------------------------------------------------------------- JSON

    fn json(&mut self, line: &[u8], message: usize) -> Result<(), &'static str> {
        let len = line.len();
        let mut pos = message + 1;
        loop {
            pos = skip_spaces(line, pos);
            if pos >= len {
                self.cut = true;
                return Ok(());
            }
            if line[pos] == b'}' {
                pos += 1;
                break;
            }
            if !self.members.is_empty() {
                if line[pos] != b',' {
                    return Err("expected ',' between members");
                }
                pos = skip_spaces(line, pos + 1);
            }
            let key_start = self.line.len();
            let Some(after_key) = self.json_member(line, pos, key_start)? else {
                // A value cut short is kept (see `json_member`); a key cut short is not.
                if self.members.last().is_none_or(|m| m.key.0 != key_start) {
                    self.line.truncate(key_start);
                }
                self.cut = true;
                return Ok(());
            };
            pos = after_key;
        }
        if skip_spaces(line, pos) < len {
            return Err("text after the JSON object");
        }
        Ok(())
    }

    /// Reads `"key": value` at `pos`. `None` when the line ends inside it.
    fn json_member(&mut self, line: &[u8], pos: usize, key_start: usize) -> Result<Option<usize>, &'static str> {
        if pos >= line.len() {
            return Ok(None);
        }
        if line[pos] != b'"' {
            return Err("expected a quoted key");
        }
        let Some(mut pos) = self.json_string(line, pos + 1) else { return Ok(None) };
        let key = (key_start, self.line.len());
        pos = skip_spaces(line, pos);
        if pos >= line.len() {
            return Ok(None);
        }
        if line[pos] != b':' {
            return Err("expected ':' after a key");
        }
        pos = skip_spaces(line, pos + 1);
        if pos >= line.len() {
            return Ok(None);
        }
        let value_start = self.line.len();
        let read = match line[pos] {
            b'"' => self.json_string(line, pos + 1).map(|next| (Kind::Text, next)),
            b'[' => self.json_list(line, pos + 1)?.map(|next| (Kind::List, next)),
            b't' | b'f' | b'n' => {
                let (word, kind): (&[u8], Kind) = match line[pos] {
                    b't' => (b"true", Kind::Bool),
                    b'f' => (b"false", Kind::Bool),
                    _ => (b"null", Kind::Null),
                };
                let available = &line[pos..line.len().min(pos + word.len())];
                if !word.starts_with(available) {
                    return Err("expected a JSON value");
                }
                if available.len() < word.len() {
                    None
                } else {
                    if kind == Kind::Bool {
                        self.line.extend_from_slice(word);
                    }
                    Some((kind, pos + word.len()))
                }
            }
            b'+' | b'-' | b'0'..=b'9' => {
                let end = line[pos..].iter().position(|b| !is_number_byte(*b)).map_or(line.len(), |p| pos + p);
                self.line.extend_from_slice(&line[pos..end]);
                // A number that runs to the end of the line may have lost digits.
                (end < line.len()).then_some((Kind::Number, end))
            }
            b'{' => return Err("a nested object: HAProxy's encoder writes none"),
            _ => return Err("expected a JSON value"),
        };
        let Some((kind, next)) = read else {
            // Cut inside the value: keep what it had, for the request line.
            if line[pos] == b'"' {
                self.members.push(Member { key, value: (value_start, self.line.len()), kind: Kind::Text });
            }
            return Ok(None);
        };
        self.members.push(Member { key, value: (value_start, self.line.len()), kind });
        Ok(Some(next))
    }

    /// Copies the string starting after its `"` at `pos`, unescaped, to the scratch
    /// line. Returns the position after the closing quote, `None` if the line ends first.
    fn json_string(&mut self, line: &[u8], mut pos: usize) -> Option<usize> {
        loop {
            let rest = &line[pos..];
            let Some(at) = memchr::memchr2(b'"', b'\\', rest) else {
                // Cut: what the value had so far, for a request line.
                self.line.extend_from_slice(rest);
                return None;
            };
            self.line.extend_from_slice(&rest[..at]);
            pos += at;
            if line[pos] == b'"' {
                return Some(pos + 1);
            }
            let escaped = *line.get(pos + 1)?;
            pos += 2;
            match escaped {
                b'"' | b'\\' | b'/' => self.line.push(escaped),
                b'n' => self.line.push(b'\n'),
                b't' => self.line.push(b'\t'),
                b'r' => self.line.push(b'\r'),
                b'b' => self.line.push(0x08),
                b'f' => self.line.push(0x0C),
                b'u' => {
                    let digits = line.get(pos..pos + 4)?;
                    let code = std::str::from_utf8(digits).ok().and_then(|d| u32::from_str_radix(d, 16).ok());
                    let character = code.and_then(char::from_u32).unwrap_or(char::REPLACEMENT_CHARACTER);
                    let mut buffer = [0; 4];
                    self.line.extend_from_slice(character.encode_utf8(&mut buffer).as_bytes());
                    pos += 4;
                }
                // HAProxy escapes only `"` and `\`: anything else is kept as written.
                other => self.line.extend_from_slice(&[b'\\', other]),
            }
        }
    }

    /// `["a", "b"]` after its `[` at `pos`, copied as `a|b`.
    fn json_list(&mut self, line: &[u8], mut pos: usize) -> Result<Option<usize>, &'static str> {
        let mut first = true;
        loop {
            pos = skip_spaces(line, pos);
            let Some(&byte) = line.get(pos) else { return Ok(None) };
            if byte == b']' {
                return Ok(Some(pos + 1));
            }
            if !first {
                if byte != b',' {
                    return Err("expected ',' between list elements");
                }
                pos = skip_spaces(line, pos + 1);
                self.line.push(b'|');
            }
            first = false;
            match line.get(pos) {
                None => return Ok(None),
                Some(b'"') => match self.json_string(line, pos + 1) {
                    Some(next) => pos = next,
                    None => return Ok(None),
                },
                Some(b'n') if line[pos..].starts_with(b"null") => pos += 4,
                Some(_) => return Err("expected a string in a list"),
            }
        }
    }

    // ---------------------------------------------------------------- CBOR

    fn cbor(&mut self, bytes: &[u8]) -> Result<(), &'static str> {
        let mut cursor = Cursor { bytes, pos: 0 };
        let count = match cursor.head() {
            Some((5, None)) => None,
            Some((5, Some(count))) => Some(count),
            Some(_) => return Err("expected a CBOR map"),
            None => {
                self.cut = true;
                return Ok(());
            }
        };
        let mut read = 0u64;
        loop {
            match count {
                Some(count) if read == count => break,
                None if cursor.peek() == Some(0xFF) => {
                    cursor.pos += 1;
                    break;
                }
                _ => {}
            }
            let key_start = self.line.len();
            match self.cbor_member(&mut cursor, key_start) {
                Ok(true) => read += 1,
                Ok(false) => {
                    self.line.truncate(key_start);
                    self.cut = true;
                    return Ok(());
                }
                Err(reason) => return Err(reason),
            }
        }
        if cursor.pos < bytes.len() {
            return Err("bytes after the CBOR map");
        }
        Ok(())
    }

    /// Reads one key and value. `false` when the bytes end inside them.
    fn cbor_member(&mut self, cursor: &mut Cursor, key_start: usize) -> Result<bool, &'static str> {
        match cursor.head() {
            Some((3, length)) => {
                if !self.cbor_text(cursor, length)? {
                    return Ok(false);
                }
            }
            Some(_) => return Err("a CBOR map key that is not text"),
            None => return Ok(false),
        }
        let key = (key_start, self.line.len());
        let value_start = self.line.len();
        let Some(kind) = self.cbor_value(cursor, true)? else { return Ok(false) };
        self.members.push(Member { key, value: (value_start, self.line.len()), kind });
        Ok(true)
    }

    fn cbor_value(&mut self, cursor: &mut Cursor, lists: bool) -> Result<Option<Kind>, &'static str> {
        let Some((major, argument)) = cursor.head() else { return Ok(None) };
        let kind = match (major, argument) {
            (0, Some(n)) => {
                write!(self.line, "{n}").expect("writing to a Vec");
                Kind::Number
            }
            (1, Some(n)) => {
                write!(self.line, "-{}", u128::from(n) + 1).expect("writing to a Vec");
                Kind::Number
            }
            (2 | 3, length) => {
                if !self.cbor_text(cursor, length)? {
                    return Ok(None);
                }
                Kind::Text
            }
            (4, length) if lists => {
                let mut index = 0u64;
                loop {
                    match length {
                        Some(length) if index == length => break,
                        None if cursor.peek() == Some(0xFF) => {
                            cursor.pos += 1;
                            break;
                        }
                        _ => {}
                    }
                    if index > 0 {
                        self.line.push(b'|');
                    }
                    match self.cbor_value(cursor, false)? {
                        Some(Kind::Text | Kind::Null) => {}
                        Some(_) => return Err("expected text in a CBOR list"),
                        None => return Ok(None),
                    }
                    index += 1;
                }
                Kind::List
            }
            (6, Some(_)) => return self.cbor_value(cursor, lists),
            (7, Some(20)) => {
                self.line.extend_from_slice(b"false");
                Kind::Bool
            }
            (7, Some(21)) => {
                self.line.extend_from_slice(b"true");
                Kind::Bool
            }
            (7, Some(22 | 23)) => Kind::Null,
            (4, _) => return Err("a CBOR list inside a list"),
            (5, _) => return Err("a nested CBOR map: HAProxy's encoder writes none"),
            _ => return Err("a CBOR value HAProxy's encoder does not write"),
        };
        Ok(Some(kind))
    }

    /// A text (or byte) string of `length`, or indefinite (`None`): its chunks.
    fn cbor_text(&mut self, cursor: &mut Cursor, length: Option<u64>) -> Result<bool, &'static str> {
        match length {
            Some(length) => {
                let Some(bytes) = cursor.take(length) else { return Ok(false) };
                self.line.extend_from_slice(bytes);
            }
            None => loop {
                match cursor.peek() {
                    None => return Ok(false),
                    Some(0xFF) => {
                        cursor.pos += 1;
                        break;
                    }
                    Some(_) => {}
                }
                match cursor.head() {
                    Some((2 | 3, Some(length))) => {
                        let Some(bytes) = cursor.take(length) else { return Ok(false) };
                        self.line.extend_from_slice(bytes);
                    }
                    Some(_) => return Err("a CBOR text chunk that is not definite text"),
                    None => return Ok(false),
                }
            },
        }
        Ok(true)
    }
}

/// A position in CBOR bytes.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    /// A data item's head: its major type and argument, `None` for an indefinite length.
    /// `None` when the bytes end.
    fn head(&mut self) -> Option<(u8, Option<u64>)> {
        let initial = self.peek()?;
        self.pos += 1;
        let (major, info) = (initial >> 5, initial & 0x1F);
        let argument = match info {
            0..=23 => Some(u64::from(info)),
            24..=27 => {
                let bytes = self.take(1 << (info - 24))?;
                Some(bytes.iter().fold(0u64, |n, b| (n << 8) | u64::from(*b)))
            }
            31 => None,
            // Reserved: an argument no encoder writes.
            _ => Some(u64::MAX),
        };
        Some((major, argument))
    }

    fn take(&mut self, length: u64) -> Option<&[u8]> {
        let length = usize::try_from(length).ok()?;
        let end = self.pos.checked_add(length).filter(|&end| end <= self.bytes.len())?;
        let taken = &self.bytes[self.pos..end];
        self.pos = end;
        Some(taken)
    }
}

/// Decodes uppercase hex (as HAProxy prints CBOR). Returns whether it was whole: an odd
/// digit at the end means the line was cut.
fn hex_to_binary(text: &[u8], out: &mut Vec<u8>) -> Result<bool, &'static str> {
    fn digit(byte: u8) -> Option<u8> {
        match byte {
            b'0'..=b'9' => Some(byte - b'0'),
            b'A'..=b'F' => Some(byte - b'A' + 10),
            _ => None,
        }
    }
    out.clear();
    for pair in text.chunks(2) {
        let high = digit(pair[0]).ok_or("not uppercase hex CBOR")?;
        match pair.get(1) {
            Some(&low) => out.push((high << 4) | digit(low).ok_or("not uppercase hex CBOR")?),
            None => return Ok(false),
        }
    }
    Ok(true)
}

fn skip_spaces(line: &[u8], mut pos: usize) -> usize {
    while pos < line.len() && matches!(line[pos], b' ' | b'\t') {
        pos += 1;
    }
    pos
}

fn is_number_byte(byte: u8) -> bool {
    byte.is_ascii_digit() || matches!(byte, b'+' | b'-' | b'.' | b'e' | b'E')
}

/// Why a structured line did not fit a plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemberMismatch {
    /// The member that failed; `usize::MAX` for the object as a whole.
    pub member: usize,
    pub reason: &'static str,
}

/// A JSON or CBOR format: each named item's key and how its value is read.
#[derive(Debug, Clone)]
pub struct StructuredPlan {
    pub name: StaticText,
    pub format: String,
    pub encoding: Encoding,
    /// Reads lines of no known format by HAProxy's field names: keys it does not know
    /// are skipped, and values say how they were printed.
    pub recognising: bool,
    fields: Vec<(Box<[u8]>, FieldStep)>,
    pub frontends: Vec<String>,
    pub captures: CaptureColumns,
    pub filled: Vec<usize>,
}

impl StructuredPlan {
    /// A format whose `%o` set `+json` or `+cbor`. Only named items are written (HAProxy
    /// cannot give an anonymous item a key), with none of the literal text.
    pub fn compile(
        name: &str,
        format: &str,
        items: &[Item],
        encoding: Encoding,
        captures: &CaptureNames,
        columns: &mut ColumnSet,
    ) -> StructuredPlan {
        let mut fields = Vec::new();
        for item in items {
            let (key, step) = match item {
                Item::Alias { alias, flags, name: Some(key) } if !key.is_empty() => {
                    (key, plan::alias_step(*alias, *flags, captures))
                }
                Item::Sample { expr, flags, name: Some(key) } if !key.is_empty() => {
                    (key, plan::sample_step(expr, Some(key), *flags, columns))
                }
                _ => continue,
            };
            fields.push((key.as_bytes().into(), structured_step(step)));
        }
        let steps: Vec<&FieldStep> = fields.iter().map(|(_, step)| step).collect();
        let captures = capture_columns(&steps, captures, columns);
        StructuredPlan {
            name: plan::static_name(name),
            format: format.to_string(),
            encoding,
            recognising: false,
            fields,
            frontends: Vec::new(),
            captures,
            filled: Vec::new(),
        }
    }

    /// Reads JSON or CBOR lines of an unknown format by their keys: the aliases
    /// themselves (`ci`, `tsc`), halake's column names (`client_ip`,
    /// `termination_state`) and the names of the `%{+json}o` examples published with
    /// HAProxy 3.0 ([`PUBLISHED_NAMES`]). Other keys are skipped.
    pub fn recognising(name: &str, encoding: Encoding) -> StructuredPlan {
        let mut fields: Vec<(Box<[u8]>, FieldStep)> = Vec::new();
        let mut add = |key: &str, alias: Alias| {
            if !fields.iter().any(|(k, _)| **k == *key.as_bytes()) {
                let step = plan::alias_step(alias, Flags::default(), &CaptureNames::default());
                fields.push((key.as_bytes().into(), structured_step(step)));
            }
        };
        for &(key, alias) in PUBLISHED_NAMES {
            add(key, alias);
        }
        for &alias in RECOGNISED_ALIASES {
            add(alias.name(), alias);
        }
        for &alias in RECOGNISED_ALIASES {
            let step = plan::alias_step(alias, Flags::default(), &CaptureNames::default());
            add(&Col::ALL[step.column].spec().name, alias);
        }
        StructuredPlan {
            name: plan::static_name(name),
            format: String::new(),
            encoding,
            recognising: true,
            fields,
            frontends: Vec::new(),
            captures: CaptureColumns::default(),
            filled: Vec::new(),
        }
    }

    /// The columns its rows can fill besides provenance and header.
    pub fn columns(&self) -> Vec<usize> {
        let mut columns: Vec<usize> = self
            .fields
            .iter()
            .flat_map(|(_, step)| plan::step_columns(&plan::Step::Field(step.clone())).collect::<Vec<_>>())
            .collect();
        columns.extend(self.captures.request.iter().chain(&self.captures.response));
        columns.sort_unstable();
        columns.dedup();
        columns
    }

    fn field(&self, key: &[u8]) -> Option<&FieldStep> {
        self.fields.iter().find(|(k, _)| **k == *key).map(|(_, step)| step)
    }

    /// Reads the decoded members into `row`, which must be clear. Values are offsets
    /// into `decoded.line`.
    pub fn read(
        &self,
        decoded: &Decoded,
        row: &mut Row,
        zone: &mut LocalZone,
        needs: Needs,
    ) -> Result<Fit, MemberMismatch> {
        let line = &decoded.line[..];
        let recognising = self.recognising;
        let mut read_any = false;
        let last = decoded.members.len().wrapping_sub(1);
        for (index, member) in decoded.members.iter().enumerate() {
            let mismatch = |reason| MemberMismatch { member: index, reason };
            let Some(step) = self.field(decoded.key(member)) else {
                if recognising {
                    continue;
                }
                return Err(mismatch("a key the format does not name"));
            };
            read_any = true;
            let (start, end) = member.value;
            match member.kind {
                Kind::Null => {}
                Kind::List => match step.parse {
                    FieldParse::CaptureSlots | FieldParse::CaptureBlock => row.set(
                        step.column,
                        Value::Captures { start: start as u32, end: end as u32, style: CaptureStyle::Braced },
                    ),
                    _ => return Err(mismatch("a list where the format has one value")),
                },
                Kind::Bool if step.parse == FieldParse::Flag => {
                    row.set(step.column, Value::Bool(&line[start..end] == b"true"));
                }
                // HAProxy writes "" for a missing text value.
                _ if start == end => {}
                // The line was cut inside this value: only a request line means something
                // cut short.
                Kind::Text if decoded.cut && index == last => {
                    if step.parse == FieldParse::Request && needs.request_parts {
                        plan::read_request(line, start, end, true, row);
                    }
                }
                _ => {
                    let adapted;
                    let step = if recognising {
                        adapted = shaped_like(step, member.kind, &line[start..end]);
                        &adapted
                    } else {
                        step
                    };
                    let (next, cut) =
                        plan::read_field(step, &line[..end], start, row, zone, needs).map_err(&mismatch)?;
                    if next != end || cut {
                        return Err(mismatch("the value does not read as its item"));
                    }
                }
            }
        }
        if !read_any {
            return Err(MemberMismatch {
                member: usize::MAX,
                reason: if recognising { "no key names an HAProxy field" } else { "no key the format names" },
            });
        }
        Ok(if decoded.cut { Fit::Truncated } else { Fit::Complete })
    }
}

/// A value in an object is read whole: nothing ends it but its own end, and JSON's quotes
/// are not part of it.
fn structured_step(mut step: FieldStep) -> FieldStep {
    step.end = FieldEnd::EndOfLine;
    step.quoted = false;
    step
}

/// Without the format, a column name says which column but not how HAProxy printed it:
/// the value's shape does (`%ts` or `%tsc`, a local date or one with an offset or Unix
/// seconds, `%HQ` with or without its `?`).
fn shaped_like(step: &FieldStep, kind: Kind, text: &[u8]) -> FieldStep {
    let mut step = step.clone();
    step.parse = match step.parse {
        FieldParse::TermState(_) if matches!(text.len(), 2 | 4) => FieldParse::TermState(text.len() as u8),
        FieldParse::LocalDate | FieldParse::OffsetDate | FieldParse::Epoch => match (kind, text.len()) {
            (Kind::Number, _) => FieldParse::Epoch,
            (_, 26) => FieldParse::OffsetDate,
            _ => FieldParse::LocalDate,
        },
        FieldParse::Query if text.first() != Some(&b'?') => FieldParse::EncodedText,
        FieldParse::CaptureSlots => FieldParse::CaptureBlock,
        other => other,
    };
    step
}

/// Aliases whose keys are recognised without a format: all but `%o`.
const RECOGNISED_ALIASES: &[Alias] = &[
    Alias::ClientIp,
    Alias::ClientPort,
    Alias::FrontendIp,
    Alias::FrontendPort,
    Alias::BackendSourceIp,
    Alias::BackendSourcePort,
    Alias::ServerIp,
    Alias::ServerPort,
    Alias::Frontend,
    Alias::FrontendTransport,
    Alias::Backend,
    Alias::Server,
    Alias::AcceptDate,
    Alias::RequestDate,
    Alias::AcceptDateGmt,
    Alias::RequestDateGmt,
    Alias::AcceptDateLocal,
    Alias::RequestDateLocal,
    Alias::AcceptEpoch,
    Alias::AcceptMillis,
    Alias::HandshakeTime,
    Alias::IdleTime,
    Alias::RequestTime,
    Alias::RequestTotalTime,
    Alias::QueueTime,
    Alias::ConnectTime,
    Alias::ResponseTime,
    Alias::DataTime,
    Alias::ActiveTime,
    Alias::TotalTime,
    Alias::UserTime,
    Alias::Status,
    Alias::BytesRead,
    Alias::BytesUploaded,
    Alias::RequestCookie,
    Alias::ResponseCookie,
    Alias::TermState,
    Alias::TermStateCookie,
    Alias::ActiveConns,
    Alias::FrontendConns,
    Alias::BackendConns,
    Alias::ServerConns,
    Alias::Retries,
    Alias::ServerQueue,
    Alias::BackendQueue,
    Alias::RequestHeaders,
    Alias::ResponseHeaders,
    Alias::RequestHeaderList,
    Alias::ResponseHeaderList,
    Alias::Request,
    Alias::Method,
    Alias::Uri,
    Alias::PathWithAuthority,
    Alias::PathOnly,
    Alias::Query,
    Alias::Version,
    Alias::UniqueId,
    Alias::RequestCounter,
    Alias::LogCounter,
    Alias::Pid,
    Alias::Hostname,
    Alias::SslVersion,
    Alias::SslCipher,
    Alias::LogOrigin,
];

/// The keys of the `%{+json}o` HTTP format published with HAProxy 3.0's encoders, the
/// one users copy (spec §6.1).
pub const PUBLISHED_NAMES: &[(&str, Alias)] = &[
    ("client_ip", Alias::ClientIp),
    ("client_port", Alias::ClientPort),
    ("request_date", Alias::RequestDate),
    ("fe_name_transport", Alias::FrontendTransport),
    ("be_name", Alias::Backend),
    ("server_name", Alias::Server),
    ("time_request", Alias::RequestTime),
    ("time_wait", Alias::QueueTime),
    ("time_connect", Alias::ConnectTime),
    ("time_response", Alias::ResponseTime),
    ("time_active", Alias::ActiveTime),
    ("status_code", Alias::Status),
    ("bytes_read", Alias::BytesRead),
    ("captured_request_cookie", Alias::RequestCookie),
    ("captured_response_cookie", Alias::ResponseCookie),
    ("termination_state_cookie", Alias::TermStateCookie),
    ("actconn", Alias::ActiveConns),
    ("feconn", Alias::FrontendConns),
    ("beconn", Alias::BackendConns),
    ("srv_conn", Alias::ServerConns),
    ("retries", Alias::Retries),
    ("srv_queue", Alias::ServerQueue),
    ("backend_queue", Alias::BackendQueue),
    ("captured_request_headers", Alias::RequestHeaders),
    ("captured_response_headers", Alias::ResponseHeaders),
    ("http_request", Alias::Request),
];

#[cfg(test)]
mod tests {
    //! HAProxy 2.6 (Debian 12's) has no JSON or CBOR encoder, so these lines come from
    //! HAProxy's own words: the configuration manual's `log-format` encoding flags
    //! (3.0+, section 8.2.6), the example of the commit that added `+cbor` ("MINOR: log:
    //! add +cbor encoding option"), and a line HAProxy 3.x printed, in the spec (§6.1).
    use super::*;
    use crate::parse::{Catalogue, FormatSource, LineParser, Outcome};

    /// 2026-11-23T00:00:00Z.
    const NOV_2026: i64 = 1_795_392_000_000;

    /// The format and line of spec §6.1, observed on HAProxy 3.x.
    const SPEC_FORMAT: &str = "%{+json}o %(client)ci %(port)cp %(date)tr %(status)ST %(bytes)B %(req)r %(hdr)[var(txn.t)] %(none)[var(txn.none)] %(retries)rc %(ts)tsc %(tt)Ta %(hrl)hrl";
    const SPEC_LINE: &str = r#"{"client": "127.0.0.1", "port": 40512, "date": "23/Nov/2026:20:24:40.946", "status": 200, "bytes": 202, "req": "GET /json?j=1 HTTP/1.1", "hdr": "va\"l", "none": "", "retries": 0, "ts": "----", "tt": 0, "hrl": ["jh"]}"#;

    struct Read {
        outcome: Outcome,
        row: Row,
        line: Vec<u8>,
        catalogue: &'static Catalogue,
    }

    impl Read {
        fn text(&self, column: &str) -> Option<String> {
            let index = self.catalogue.column_specs().iter().position(|c| c.name == column).expect(column);
            self.row.get(index).bytes(&self.line).map(|b| String::from_utf8_lossy(b).into_owned())
        }

        fn value(&self, column: Col) -> Value {
            self.row.get(column.index())
        }
    }

    fn read(formats: &[(&str, &str)], line: &[u8]) -> Read {
        let sources: Vec<FormatSource> = formats
            .iter()
            .map(|(name, format)| FormatSource {
                name: name.to_string(),
                format: format.to_string(),
                frontends: vec![],
                captures: CaptureNames::default(),
            })
            .collect();
        let catalogue: &'static Catalogue = Box::leak(Box::new(Catalogue::new(&sources, false).unwrap()));
        let mut parser = LineParser::new(catalogue, LocalZone::utc(), NOV_2026);
        let outcome = parser.parse(line);
        Read { outcome, row: parser.row().clone(), line: parser.row_line(line).to_vec(), catalogue }
    }

    #[test]
    fn the_spec_line_fills_the_same_columns_as_text() {
        let read = read(&[("json3", SPEC_FORMAT)], SPEC_LINE.as_bytes());
        assert_eq!(read.outcome, Outcome::Traffic);
        assert_eq!(read.text("client_ip").as_deref(), Some("127.0.0.1"));
        assert_eq!(read.value(Col::ClientPort), Value::Int(40512));
        // 2026-11-23T20:24:40.946Z
        assert_eq!(read.value(Col::RequestTime), Value::Time(NOV_2026 + 73_480_946));
        assert_eq!(read.value(Col::Status), Value::Int(200));
        assert_eq!(read.value(Col::BytesToClient), Value::Int(202));
        assert_eq!(read.text("method").as_deref(), Some("GET"));
        assert_eq!(read.text("path").as_deref(), Some("/json"));
        assert_eq!(read.text("query").as_deref(), Some("j=1"));
        assert_eq!(read.text("hdr").as_deref(), Some("va\"l"), "unescaped");
        assert_eq!(read.text("none"), None, "HAProxy writes \"\" for a missing value");
        assert_eq!(read.value(Col::Retries), Value::Int(0));
        assert_eq!(read.text("termination_state").as_deref(), Some("----"));
        assert_eq!(read.value(Col::ActiveMs), Value::Int(0));
        assert!(matches!(read.value(Col::RequestHeaders), Value::Captures { .. }));
        assert_eq!(read.value(Col::LogFormat), Value::Static(plan::static_name("json3")));
    }

    #[test]
    fn the_cbor_example_of_haproxy_s_commit() {
        // log-format "%{+cbor}o %[int(4)] test %(named_field)[str(ok)]": the anonymous
        // item and the literal are not written.
        let format = "%{+cbor}o %[int(4)] test %(named_field)[str(ok)]";
        let read = read(&[("cbor_example", format)], b"BF6B6E616D65645F6669656C64626F6BFF");
        assert_eq!(read.outcome, Outcome::Traffic);
        assert_eq!(read.text("named_field").as_deref(), Some("ok"));
    }

    /// HAProxy's CBOR: an indefinite map, definite keys, untyped strings as indefinite
    /// chunked text (`7F … FF`), integers as major type 0 (spec §6.2).
    fn cbor_hex(members: &[(&str, Option<&str>, Option<u64>)]) -> String {
        let mut bytes = vec![0xBF];
        let text = |bytes: &mut Vec<u8>, s: &str| {
            match s.len() {
                n @ 0..24 => bytes.push(0x60 | n as u8),
                n => bytes.extend_from_slice(&[0x78, u8::try_from(n).unwrap()]),
            }
            bytes.extend_from_slice(s.as_bytes());
        };
        for (key, string, number) in members {
            text(&mut bytes, key);
            match (string, number) {
                (Some(s), _) => {
                    bytes.push(0x7F);
                    for chunk in s.as_bytes().chunks(20) {
                        text(&mut bytes, std::str::from_utf8(chunk).unwrap());
                    }
                    bytes.push(0xFF);
                }
                (None, Some(n)) if *n < 24 => bytes.push(*n as u8),
                (None, Some(n)) => {
                    bytes.push(0x19);
                    bytes.extend_from_slice(&(*n as u16).to_be_bytes());
                }
                (None, None) => bytes.push(0xF6),
            }
        }
        bytes.push(0xFF);
        bytes.iter().map(|b| format!("{b:02X}")).collect()
    }

    #[test]
    fn haproxy_s_field_names_are_recognised_without_the_format() {
        // The keys of the published `%{+json}o` HTTP format, with `%(time_response)Tr/
        // %(time_active)Ta`: the `/` is a literal, so it is not written.
        let line = r#"<134>Nov 23 20:24:40 haproxy[7]: {"client_ip": "10.0.0.9", "client_port": 51234, "request_date": "23/Nov/2026:20:24:40.946", "fe_name_transport": "fe_web~", "be_name": "be_app", "server_name": "app1", "time_request": 0, "time_wait": -1, "time_connect": -1, "time_response": -1, "time_active": 5002, "status_code": 504, "bytes_read": 194, "captured_request_cookie": "", "captured_response_cookie": "", "termination_state_cookie": "sH--", "actconn": 3, "feconn": 2, "beconn": 1, "srv_conn": 1, "retries": 0, "srv_queue": 0, "backend_queue": 0, "captured_request_headers": "{example.com}", "http_request": "GET /slow HTTP/1.1", "trace": "x"}"#;
        let json = read(&[], line.as_bytes());
        assert_eq!(json.outcome, Outcome::Traffic);
        assert_eq!(json.value(Col::LogFormat), Value::Static(plan::static_name("json")));
        assert_eq!(json.text("termination_state").as_deref(), Some("sH--"));
        assert_eq!(json.text("frontend").as_deref(), Some("fe_web"));
        assert_eq!(json.value(Col::FrontendTls), Value::Bool(true));
        assert_eq!(json.value(Col::ConnectMs), Value::Null, "-1: not reached");
        assert_eq!(json.value(Col::ActiveMs), Value::Int(5002));
        assert_eq!(json.value(Col::Status), Value::Int(504));
        assert_eq!(json.text("path").as_deref(), Some("/slow"));
        assert_eq!(json.text("syslog_tag").as_deref(), Some("haproxy"));

        let hex = cbor_hex(&[
            ("client_ip", Some("10.0.0.9"), None),
            ("client_port", None, Some(51234)),
            ("request_date", Some("23/Nov/2026:20:24:40.946"), None),
            ("status_code", None, Some(504)),
            ("termination_state_cookie", Some("sH--"), None),
            ("http_request", Some("GET /slow HTTP/1.1"), None),
            ("server_name", None, None),
        ]);
        let cbor = read(&[], format!("<134>Nov 23 20:24:40 haproxy[7]: {hex}").as_bytes());
        assert_eq!(cbor.outcome, Outcome::Traffic);
        assert_eq!(cbor.value(Col::LogFormat), Value::Static(plan::static_name("cbor")));
        for column in ["client_ip", "termination_state", "path", "method"] {
            assert_eq!(cbor.text(column), json.text(column), "{column}");
        }
        for column in [Col::ClientPort, Col::Status, Col::RequestTime] {
            assert_eq!(cbor.value(column), json.value(column), "{column:?}");
        }
        assert_eq!(cbor.value(Col::Server), Value::Null);
    }

    #[test]
    fn a_line_cut_by_len_keeps_its_complete_members_and_the_request_s_start() {
        let mut line = SPEC_LINE.replace("/json?j=1", &format!("/json/{}", "L".repeat(2000)));
        line.truncate(1023);
        let read = read(&[("json3", SPEC_FORMAT)], line.as_bytes());
        assert_eq!(read.outcome, Outcome::Traffic);
        assert_eq!(read.value(Col::LineTruncated), Value::Bool(true));
        assert_eq!(read.value(Col::Status), Value::Int(200));
        assert!(read.text("path").unwrap().starts_with("/json/LLL"));
        assert_eq!(read.value(Col::RequestTruncated), Value::Bool(true));
        assert_eq!(read.text("termination_state"), None, "after the cut");
    }

    #[test]
    fn raw_control_bytes_and_logasap_signs_are_taken_as_haproxy_writes_them() {
        let format = "%{+json}o %(ua)[var(txn.ua)] %(bytes)B %(tt)Tt %(ts)ts";
        let read = read(&[("json_raw", format)], b"{\"ua\": \"a\tb\", \"bytes\": +120, \"tt\": +7, \"ts\": \"--\"}");
        assert_eq!(read.outcome, Outcome::Traffic);
        assert_eq!(read.text("ua").as_deref(), Some("a\tb"));
        assert_eq!(read.value(Col::BytesToClient), Value::Int(120));
        assert_eq!(read.value(Col::Logasap), Value::Bool(true));
    }

    #[test]
    fn malformed_objects_are_rejected_with_the_reason() {
        for (line, reason) in [
            (r#"{"client": "1.2.3.4" "port": 1}"#, "JSON line: expected ',' between members"),
            (r#"{"client": {"nested": 1}}"#, "JSON line: a nested object: HAProxy's encoder writes none"),
            (r#"{"client": "1.2.3.4"} trailing"#, "JSON line: text after the JSON object"),
            (r#"{"weather": "sunny"}"#, "format json: no key names an HAProxy field"),
            (r#"{"status_code": "two hundred"}"#, "format json: expected a number (key \"status_code\")"),
            ("BF6B6E616D65645F6669656C64626F6BFF00", "CBOR line: bytes after the CBOR map"),
            ("BF6x", "CBOR line: not uppercase hex CBOR"),
        ] {
            assert_eq!(read(&[], line.as_bytes()).outcome, Outcome::Rejected(reason.into()), "{line}");
        }
        // A short line that ends inside the object is malformed, not cut by `len`.
        assert_eq!(
            read(&[], br#"{"status_code": 200, "client_ip": "1.2"#).outcome,
            Outcome::Rejected("format json: the object ends early".into())
        );
    }

    #[test]
    fn a_hand_written_json_format_is_still_read_by_position() {
        let format = r#"{"ip":"%ci","status":%ST,"state":"%ts"}"#;
        let read = read(&[("handmade", format)], br#"{"ip":"10.1.1.1","status":302,"state":"--"}"#);
        assert_eq!(read.outcome, Outcome::Traffic);
        assert_eq!(read.value(Col::LogFormat), Value::Static(plan::static_name("handmade")));
        assert_eq!(read.value(Col::Status), Value::Int(302));
    }
}
