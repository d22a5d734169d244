//! What must hold for any input, as functions the fuzz targets (`fuzz/`) and the tests
//! over their seed corpus both call. Each panics when the property breaks.

use std::sync::OnceLock;

use crate::batch::BatchBuilder;
use crate::format;
use crate::framing::{Frame, next_frame};
use crate::parse::date::LocalZone;
use crate::parse::plan::{CaptureNames, ColumnSet, Needs, Plan, REQUEST_PARTS, Trail};
use crate::parse::value::Row;
use crate::parse::{Catalogue, FormatSource, LineParser, Outcome};
use crate::schema::Col;

/// 2026-11-23T00:00:00Z: the reference instant for RFC3164 years.
const REFERENCE_MS: i64 = 1_795_392_000_000;

/// The standard formats plus a custom one with quoted, hex and sample-fetch fields.
fn catalogue() -> &'static Catalogue {
    static CATALOGUE: OnceLock<Catalogue> = OnceLock::new();
    CATALOGUE.get_or_init(|| {
        let custom = FormatSource {
            name: "custom".into(),
            format: r#"%ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %U %CC %CS %tsc %hr %{+Q}r %ID %{+Q}[ssl_fc_sni] %HM %{+Q}HP %HQ %HV %fi:%fp %Tt %{+X}rt %pid"#.into(),
            frontends: vec![],
            captures: CaptureNames::default(),
        };
        // HAProxy 3.x's encoders, with the captures and a sample of their own columns.
        let json = FormatSource {
            name: "fuzz_json".into(),
            format: "%{+json}o %(client)ci %(port)cp %(date)tr %(fe)ft %(be)b %(srv)s %(tt)Ta %(status)ST %(bytes)B %(ts)tsc %(retries)rc %(hrl)hrl %(req)r %(ua)[capture.req.hdr(1)]".into(),
            frontends: vec![],
            captures: CaptureNames::default(),
        };
        let cbor = FormatSource { name: "fuzz_cbor".into(), format: json.format.replace("+json", "+cbor"), ..json.clone() };
        Catalogue::new(&[custom, json, cbor], false).expect("the fuzz catalogue compiles")
    })
}

/// Any bytes as a JSON line and, printed in hex, as a CBOR line: the structured
/// decoders keep every property of [`parse_lines`].
pub fn structured_lines(data: &[u8]) {
    let mut lines = Vec::with_capacity(data.len() * 3 + 2);
    lines.extend_from_slice(data);
    lines.push(b'\n');
    for byte in data {
        lines.extend_from_slice(format!("{byte:02X}").as_bytes());
    }
    parse_lines(&lines);
}

/// Any bytes as a TCP syslog stream (the first two set the longest message): framed as
/// one read or as two, it gives the same messages, each within the bytes received.
pub fn syslog_frames(data: &[u8]) {
    let [low, high, stream @ ..] = data else { return };
    let max_message = usize::from(u16::from_le_bytes([*low, *high])) % 4096 + 1;
    let split = stream.first().map_or(0, |&b| usize::from(b) % (stream.len() + 1));
    let whole = frames(&[stream], max_message);
    let halves = frames(&[&stream[..split], &stream[split..]], max_message);
    assert_eq!(whole, halves, "framing depends on how the stream was read");
}

/// The messages framed from `reads` in turn, and whether a malformed frame ended them.
fn frames(reads: &[&[u8]], max_message: usize) -> (Vec<Vec<u8>>, bool) {
    let mut pending = Vec::new();
    let mut messages = Vec::new();
    for read in reads {
        pending.extend_from_slice(read);
        loop {
            match next_frame(&pending, max_message) {
                Frame::Message { start, end, consumed } => {
                    assert!(start <= end && end <= consumed && consumed <= pending.len() && consumed > 0);
                    assert!(end - start <= max_message, "a message longer than allowed");
                    messages.push(pending[start..end].to_vec());
                    pending.drain(..consumed);
                }
                Frame::Incomplete => break,
                Frame::Malformed => return (messages, true),
            }
        }
    }
    (messages, false)
}

/// HAProxy's formats alone, as a run without a configuration has them: the straight-line
/// reader of the standard formats stands in for their plans there.
fn standard_catalogue() -> &'static Catalogue {
    static CATALOGUE: OnceLock<Catalogue> = OnceLock::new();
    CATALOGUE.get_or_init(Catalogue::standard)
}

/// Any bytes, cut into lines: every line is a row, an event or a reject, the same as
/// when the line is read alone (a parser that tried other formats on earlier lines, and
/// goes on from one plan's read in another, must not carry anything over) and as when
/// it is read for a query that leaves out every column it can; the rows build into an
/// Arrow batch whose strings are valid UTF-8 (Arrow checks). With the standard formats
/// alone, the straight-line reader reads every line as the plans do, whole or projected.
pub fn parse_lines(data: &[u8]) {
    compare_with_plans(data);
    thread_local! {
        // Made once: building a builder of every column costs more than parsing a line.
        static BUILDER: std::cell::RefCell<BatchBuilder> =
            std::cell::RefCell::new(BatchBuilder::new(catalogue().column_specs()));
        static ALONE: std::cell::RefCell<LineParser<'static>> =
            std::cell::RefCell::new(LineParser::new(catalogue(), LocalZone::utc(), REFERENCE_MS));
    }
    BUILDER.with_borrow_mut(|builder| ALONE.with_borrow_mut(|alone| parse_lines_into(data, builder, alone)));
}

fn parse_lines_into(data: &[u8], builder: &mut BatchBuilder, alone: &mut LineParser) {
    let catalogue = catalogue();
    let mut parser = LineParser::new(catalogue, LocalZone::utc(), REFERENCE_MS);
    let mut projected = LineParser::new(catalogue, LocalZone::utc(), REFERENCE_MS);
    let kept = kept_columns(catalogue);
    projected.project(&kept);
    let mut rows = 0;
    for line in crate::input::lines(data) {
        let outcome = parser.parse(line);
        alone.reset();
        assert_eq!(outcome, alone.parse(line), "the line reads differently after others");
        assert_eq!(outcome, projected.parse(line), "the line reads differently for a query");
        match outcome {
            Outcome::Traffic => {
                assert_eq!(parser.row(), alone.row(), "the row differs from the line's alone");
                for &column in &kept {
                    assert_eq!(parser.row().get(column), projected.row().get(column), "column {column} for a query");
                }
                let filled = parser.filled_columns();
                for (column, value) in parser.row().values.iter().enumerate() {
                    assert!(value.is_null() || filled.contains(&column), "column {column} is outside its format's");
                }
                builder.append(parser.row(), parser.row_line(line));
                rows += 1;
            }
            Outcome::Event(..) => {}
            Outcome::Rejected(reason) => assert!(!reason.is_empty(), "a reject says why"),
        }
    }
    if rows > 0 {
        let batch = builder.finish().expect("rows build into a batch");
        assert_eq!(batch.num_rows(), rows);
    }
}

fn compare_with_plans(data: &[u8]) {
    let catalogue = standard_catalogue();
    let mut fast = LineParser::new(catalogue, LocalZone::utc(), REFERENCE_MS);
    let mut plans = LineParser::new(catalogue, LocalZone::utc(), REFERENCE_MS);
    plans.interpret_only();
    let mut fast_projected = LineParser::new(catalogue, LocalZone::utc(), REFERENCE_MS);
    let kept = kept_columns(catalogue);
    fast_projected.project(&kept);
    for line in crate::input::lines(data) {
        let outcome = plans.parse(line);
        assert_eq!(fast.parse(line), outcome, "the straight-line reader reads the line otherwise");
        assert_eq!(
            fast_projected.parse(line),
            outcome,
            "the straight-line reader reads the line otherwise for a query"
        );
        if outcome == Outcome::Traffic {
            assert_eq!(fast.row(), plans.row(), "the straight-line reader's row differs");
            for &column in &kept {
                assert_eq!(fast_projected.row().get(column), plans.row().get(column), "column {column} for a query");
            }
        }
    }
}

/// Every column but those [`left_out`].
fn kept_columns(catalogue: &Catalogue) -> Vec<usize> {
    (0..catalogue.column_specs().len()).filter(|&c| left_out().all(|l| l.index() != c)).collect()
}

/// The columns a read for a query may leave out (see `LineParser::project`): without
/// them, it does the least work it can.
fn left_out() -> impl Iterator<Item = Col> {
    REQUEST_PARTS.into_iter().chain([Col::RequestTime, Col::AcceptTime, Col::SyslogTime, Col::InvalidUtf8])
}

/// Any `log-format` string: it compiles or fails with a reason; a compiled plan reads
/// any line (the rest of the input) without panicking.
pub fn compile_format(data: &[u8]) {
    let (format, line) = match memchr::memchr(b'\n', data) {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &b""[..]),
    };
    let Ok(format) = std::str::from_utf8(format) else { return };
    let Ok(items) = format::lex(format) else { return };
    let mut columns = ColumnSet::default();
    let plan = Plan::compile("fuzz", format, &items, &CaptureNames::default(), &mut columns);
    let mut row = Row::new(columns.specs.len());
    let _ = plan.read(line, 0, &mut row, &mut LocalZone::utc(), Needs::ALL, &mut Trail::default());
}

/// Any bytes as haproxy.cfg: read or refused with a reason; the formats it names
/// compile into a catalogue or fail cleanly.
pub fn read_config(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(sources) = crate::config::parse(text, "fuzz.cfg") {
        let _ = Catalogue::new(&sources, false);
    }
}

/// Any bytes as a dataset manifest: read or refused with a reason; what is read is
/// written back as the same entries.
pub fn read_manifest(data: &[u8]) {
    use crate::dataset::Manifest;
    let Ok(entries) = Manifest::parse(data) else { return };
    let written = serde_json::to_vec(&Manifest::to_json(entries.iter())).expect("a manifest serialises");
    assert_eq!(Manifest::parse(&written).as_ref(), Ok(&entries), "a manifest read back differs");
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The committed seeds, as the fuzz targets start from them: a regression test for
    /// whatever the fuzzer once found.
    fn seeds(target: &str) -> Vec<Vec<u8>> {
        let directory = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus").join(target);
        let mut seeds: Vec<Vec<u8>> =
            std::fs::read_dir(&directory).unwrap().map(|entry| std::fs::read(entry.unwrap().path()).unwrap()).collect();
        seeds.sort();
        assert!(seeds.len() >= 10, "{} holds the seeds", directory.display());
        seeds
    }

    #[test]
    fn line_seeds_hold() {
        for seed in seeds("parse_lines") {
            parse_lines(&seed);
        }
    }

    #[test]
    fn format_seeds_hold() {
        for seed in seeds("compile_format") {
            compile_format(&seed);
        }
    }

    #[test]
    fn config_seeds_hold() {
        for seed in seeds("read_config") {
            read_config(&seed);
        }
    }

    #[test]
    fn structured_seeds_hold() {
        for seed in seeds("structured_lines") {
            structured_lines(&seed);
        }
    }

    #[test]
    fn frame_seeds_hold() {
        for seed in seeds("syslog_frames") {
            syslog_frames(&seed);
        }
    }

    #[test]
    fn manifest_seeds_hold() {
        for seed in seeds("read_manifest") {
            read_manifest(&seed);
        }
    }
}
