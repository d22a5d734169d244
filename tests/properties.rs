//! Property tests of the parser: no input makes it panic, and for lines HAProxy would
//! write, parse → render gives the line back and parsing that again gives the same row.

use arrow::array::RecordBatch;
use chrono::DateTime;
use halake::batch::BatchBuilder;
use halake::format;
use halake::parse::date::LocalZone;
use halake::parse::plan::{CaptureNames, ColumnSet, Needs, Plan, Trail};
use halake::parse::value::{Row, encode_hash_escapes};
use halake::parse::{Catalogue, FormatSource, LineParser, Outcome};
use halake::render::render_row;
use halake::schema::Col;
use proptest::prelude::*;

/// 2026-11-23T00:00:00Z: the reference instant for RFC3164 years.
const NOV_2026: i64 = 1_795_392_000_000;

fn catalogue() -> &'static Catalogue {
    static CATALOGUE: std::sync::OnceLock<Catalogue> = std::sync::OnceLock::new();
    CATALOGUE.get_or_init(|| {
        let custom = FormatSource {
            name: "custom".into(),
            format: r#"%ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %U %CC %CS %tsc %hr %{+Q}r %ID %{+Q}[ssl_fc_sni] %HM %{+Q}HP %HQ %HV %fi:%fp %Tt %{+Q}[var(txn.ua)] %pid"#.into(),
            frontends: vec![],
            captures: CaptureNames::default(),
        };
        Catalogue::new(&[custom], false).unwrap()
    })
}

/// Parses one line and returns its batch, or None when it is not traffic.
fn parse_to_batch(line: &[u8]) -> Option<RecordBatch> {
    let catalogue = catalogue();
    let mut parser = LineParser::new(catalogue, LocalZone::utc(), NOV_2026);
    match parser.parse(line) {
        Outcome::Traffic => {
            let mut builder = BatchBuilder::new(catalogue.column_specs());
            builder.append(parser.row(), line);
            Some(builder.finish().unwrap())
        }
        _ => None,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(line in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = parse_to_batch(&line);
    }

    #[test]
    fn near_miss_lines_never_panic(line in near_miss_line()) {
        let _ = parse_to_batch(line.as_bytes());
    }

    #[test]
    fn arbitrary_format_strings_compile_or_fail_cleanly(
        format in r#"[%a-zA-Z{}()\[\]+\-,:/" ~.]{0,40}"#,
        line in r#"[ -~]{0,80}"#,
    ) {
        if let Ok(items) = format::lex(&format) {
            let mut columns = ColumnSet::default();
            let plan = Plan::compile("fuzz", &format, &items, &CaptureNames::default(), &mut columns);
            let mut row = Row::new(columns.specs.len());
            let _ = plan.read(line.as_bytes(), 0, &mut row, &mut LocalZone::utc(), Needs::ALL, &mut Trail::default());
        }
    }

    #[test]
    fn render_then_parse_gives_the_same_row(line in haproxy_line()) {
        let first = parse_to_batch(line.as_bytes()).unwrap_or_else(|| panic!("not traffic: {line}"));
        let name = first.column(Col::LogFormat.index()).as_ref();
        let name = arrow::util::display::ArrayFormatter::try_new(name, &Default::default()).unwrap().value(0).to_string();
        let plan = catalogue().plans.iter().find(|p| *p.name == name).unwrap();
        let mut rendered = Vec::new();
        render_row(plan, &first, 0, &mut rendered);
        prop_assert_eq!(String::from_utf8_lossy(&rendered), line.as_str());
        let second = parse_to_batch(&rendered).unwrap();
        prop_assert_eq!(first, second);
    }
}

fn date() -> impl Strategy<Value = i64> {
    // 2001 to 2099, millisecond resolution.
    978_307_200_000i64..4_102_444_800_000
}

fn local_date(ms: i64) -> String {
    DateTime::from_timestamp_millis(ms).unwrap().format("%d/%b/%Y:%H:%M:%S%.3f").to_string()
}

fn address() -> impl Strategy<Value = String> {
    prop_oneof![
        (any::<[u8; 4]>(), 1u16..).prop_map(|(a, p)| format!("{}.{}.{}.{}:{p}", a[0], a[1], a[2], a[3])),
        (any::<u16>(), 1u16..).prop_map(|(a, p)| format!("2001:db8::{a:x}:{p}")),
        (0u32..100).prop_map(|id| format!("unix:{id}")),
    ]
}

fn name() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9_.:-]{0,12}"
}

fn timer() -> impl Strategy<Value = i64> {
    prop_oneof![Just(-1i64), 0i64..100_000]
}

fn state(len: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(prop::sample::select(b"-CcSsPLRIDKUQHTNVEOX67".to_vec()), len)
        .prop_map(|b| String::from_utf8(b).unwrap())
}

fn encoded(raw: &str, braces: bool) -> String {
    let mut out = Vec::new();
    encode_hash_escapes(raw.as_bytes(), braces, &mut out);
    String::from_utf8(out).unwrap()
}

/// `{a|b}` blocks, or nothing, as HAProxy prints them.
fn capture_block() -> impl Strategy<Value = Option<String>> {
    proptest::option::of(proptest::collection::vec("[ -~é]{0,12}", 1..4).prop_map(|slots| {
        let slots: Vec<String> = slots.iter().map(|s| encoded(s, true)).collect();
        format!("{{{}}}", slots.join("|"))
    }))
}

fn request() -> impl Strategy<Value = String> {
    prop_oneof![
        1 => Just("<BADREQ>".to_string()),
        8 => (
            prop::sample::select(vec!["GET", "POST", "PUT", "DELETE", "OPTIONS"]),
            "/[a-z0-9/._\"#{|}é-]{0,30}",
            proptest::option::of("[a-z0-9=&%]{0,20}"),
            prop::sample::select(vec!["HTTP/1.0", "HTTP/1.1", "HTTP/2.0"]),
        )
            .prop_map(|(method, path, query, version)| {
                let query = query.map(|q| format!("?{q}")).unwrap_or_default();
                format!("{method} {} {version}", encoded(&format!("{path}{query}"), false))
            }),
    ]
}

fn cookie() -> impl Strategy<Value = String> {
    prop_oneof![Just("-".to_string()), "SID=[a-z0-9]{1,8}"]
}

prop_compose! {
    fn http_common()(
        address in address(), date in date(), frontend in name(), tls in any::<bool>(),
        backend in name(), server in prop_oneof![name(), Just("<NOSRV>".to_string())],
        timers in proptest::collection::vec(timer(), 4), active in 0i64..1_000_000,
        logasap in any::<bool>(), status in prop_oneof![Just(-1i16), 100i16..600],
        bytes in 0u64..10_000_000_000, cc in cookie(), cs in cookie(), tsc in state(4),
        conns in proptest::collection::vec(0u32..100_000, 4), retries in 0u8..5, redispatched in any::<bool>(),
        queues in (0u32..1000, 0u32..1000), hr in capture_block(), hs in capture_block(), request in request(),
    ) -> String {
        let plus = if logasap { "+" } else { "" };
        let mut line = format!(
            "{address} [{}] {frontend}{} {backend}/{server} {}/{}/{}/{}/{plus}{active} {status} {plus}{bytes} {cc} {cs} {tsc} {}/{}/{}/{}/{}{retries} {}/{}",
            local_date(date), if tls { "~" } else { "" }, timers[0], timers[1], timers[2], timers[3],
            conns[0], conns[1], conns[2], conns[3], if redispatched { "+" } else { "" }, queues.0, queues.1,
        );
        // Without a request capture block there is no response block either.
        if let Some(hr) = hr {
            line.push(' ');
            line.push_str(&hr);
            if let Some(hs) = hs {
                line.push(' ');
                line.push_str(&hs);
            }
        }
        line.push_str(&format!(" \"{request}\""));
        line
    }
}

prop_compose! {
    fn tcplog()(
        address in address(), date in date(), frontend in name(), backend in name(), server in name(),
        timers in proptest::collection::vec(timer(), 2), total in 0i64..10_000_000, logasap in any::<bool>(),
        bytes in 0u64..10_000_000_000, ts in state(2), conns in proptest::collection::vec(0u32..100_000, 4),
        retries in 0u8..5, redispatched in any::<bool>(), queues in (0u32..1000, 0u32..1000),
    ) -> String {
        let plus = if logasap { "+" } else { "" };
        format!(
            "{address} [{}] {frontend} {backend}/{server} {}/{}/{plus}{total} {plus}{bytes} {ts} {}/{}/{}/{}/{}{retries} {}/{}",
            local_date(date), timers[0], timers[1], conns[0], conns[1], conns[2], conns[3],
            if redispatched { "+" } else { "" }, queues.0, queues.1,
        )
    }
}

prop_compose! {
    fn httpslog()(
        http in http_common(), fc_err in 0u32..100, ssl_err in "[0-9A-F]{16}", resumed in any::<bool>(),
        sni in prop_oneof![Just("-".to_string()), "[a-z]{1,8}\\.example"], version in prop::sample::select(vec!["TLSv1.2", "TLSv1.3"]),
    ) -> String {
        format!("{http} {fc_err}/{ssl_err}/0/0/{} {sni}/{version}/TLS_AES_256_GCM_SHA384", u8::from(resumed))
    }
}

prop_compose! {
    fn clf()(
        ip in prop_oneof![Just("127.0.0.1".to_string()), "10\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}"],
        date in date(), request in request(), status in 100i16..600, bytes in 0u64..1_000_000_000, port in 1u16..,
        millis in 0u16..1000, frontend in name(), backend in name(), server in name(),
        timers in proptest::collection::vec(timer(), 4), active in 0i64..1_000_000, tsc in state(4),
        counters in proptest::collection::vec(0u32..10_000, 7),
        cc in prop_oneof![Just(String::new()), "SID=[a-z0-9]{1,8}"], slots in proptest::collection::vec("[ -~]{0,10}", 0..4),
    ) -> String {
        let date = DateTime::from_timestamp_millis(date).unwrap().format("%d/%b/%Y:%H:%M:%S +0000");
        let slots: Vec<String> = slots.iter().map(|s| format!("\"{}\"", encoded(s, true))).collect();
        let counters: Vec<String> = counters.iter().map(u32::to_string).collect();
        let mut line = format!(
            "{ip} - - [{date}] \"{request}\" {status} {bytes} \"\" \"\" {port} {millis:03} \"{frontend}\" \"{backend}\" \"{server}\" {} {} {} {} {active} {tsc} {} \"{cc}\" \"\"",
            timers[0], timers[1], timers[2], timers[3], counters.join(" "),
        );
        if !slots.is_empty() {
            line.push(' ');
            line.push_str(&slots.join(" "));
        }
        // No response slots: HAProxy still prints the separator before %hsl.
        line.push(' ');
        line
    }
}

fn haproxy_line() -> impl Strategy<Value = String> {
    prop_oneof![http_common(), httpslog(), tcplog(), clf()]
}

/// Real-looking lines with one byte changed, cut or duplicated: the paths a parser
/// takes just before it fails.
fn near_miss_line() -> impl Strategy<Value = String> {
    (prop_oneof![http_common(), httpslog(), tcplog(), clf()], any::<prop::sample::Index>(), any::<u8>(), 0u8..3)
        .prop_map(|(line, at, byte, how)| {
            let mut bytes = line.into_bytes();
            let at = at.index(bytes.len().max(1)).min(bytes.len().saturating_sub(1));
            match how {
                0 if !bytes.is_empty() => bytes[at] = byte,
                1 => bytes.truncate(at),
                _ => {
                    let copy = bytes[at..].to_vec();
                    bytes.extend_from_slice(&copy);
                }
            }
            String::from_utf8_lossy(&bytes).into_owned()
        })
}
