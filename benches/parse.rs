//! Single-threaded parser throughput on generated logs (a realistic mix of HTTP, HTTPS,
//! TCP, connection errors and events under rsyslog headers).
//!
//! cargo bench --bench parse

use divan::counter::BytesCount;
use halake::batch::BatchBuilder;
use halake::input::lines;
use halake::parse::date::LocalZone;
use halake::parse::{Catalogue, LineParser, Outcome};

const BYTES: u64 = 64 << 20;

/// 2026-11-23T00:00:00Z: the reference instant for RFC3164 years.
const NOV_2026: i64 = 1_795_392_000_000;

fn main() {
    divan::main();
}

fn input() -> &'static [u8] {
    static INPUT: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    INPUT.get_or_init(|| {
        let mut bytes = Vec::with_capacity(BYTES as usize + 4096);
        halake::generate::generate(&mut bytes, BYTES, 1).expect("generate");
        bytes
    })
}

/// Lines to rows, without Arrow: the parser alone.
#[divan::bench(sample_count = 10)]
fn parse_lines(bencher: divan::Bencher) {
    count_traffic(bencher, None);
}

/// Lines read with no column wanted, as a raw-log `count(*)` reads them: what deciding
/// whether each line is a row, an event or a reject costs on its own.
#[divan::bench(sample_count = 10)]
fn parse_lines_projected(bencher: divan::Bencher) {
    count_traffic(bencher, Some(&[]));
}

/// Parses the input, reading only `columns` when given, and counts the traffic rows.
fn count_traffic(bencher: divan::Bencher, columns: Option<&[usize]>) {
    let input = input();
    let catalogue = Catalogue::standard();
    bencher.counter(BytesCount::of_slice(input)).bench(|| {
        let mut parser = LineParser::new(&catalogue, LocalZone::utc(), NOV_2026);
        if let Some(columns) = columns {
            parser.project(columns);
        }
        let mut traffic = 0usize;
        for line in lines(input) {
            traffic += usize::from(parser.parse(line) == Outcome::Traffic);
        }
        traffic
    });
}

/// Lines to Arrow record batches: what the convert job does before Parquet encoding.
#[divan::bench(sample_count = 10)]
fn parse_into_record_batches(bencher: divan::Bencher) {
    let input = input();
    let catalogue = Catalogue::standard();
    bencher.counter(BytesCount::of_slice(input)).bench(|| {
        let mut parser = LineParser::new(&catalogue, LocalZone::utc(), NOV_2026);
        let mut builder = BatchBuilder::new(catalogue.column_specs());
        let mut rows = 0;
        for line in lines(input) {
            if parser.parse(line) == Outcome::Traffic {
                builder.append(parser.row(), line);
                if builder.is_full() {
                    rows += builder.finish().expect("batch").num_rows();
                }
            }
        }
        rows + builder.finish().expect("batch").num_rows()
    });
}
