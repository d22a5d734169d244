//! Single-threaded parser throughput on generated logs, one input per traffic profile
//! (`halake generate --profile`): a website, an API gateway, a TCP load balancer.
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

const PROFILES: [&str; 3] = ["web", "api", "tcp-heavy"];

/// The generated input of a profile, made once per run.
fn input(profile: &str) -> &'static [u8] {
    use clap::ValueEnum;
    static INPUTS: [std::sync::OnceLock<Vec<u8>>; PROFILES.len()] = [const { std::sync::OnceLock::new() }; 3];
    let index = PROFILES.iter().position(|p| *p == profile).expect("one of PROFILES");
    INPUTS[index].get_or_init(|| {
        let mut bytes = Vec::with_capacity(BYTES as usize + 4096);
        let chosen = halake::generate::Profile::from_str(profile, false).expect("a profile name");
        halake::generate::generate(&mut bytes, BYTES, 1, chosen).expect("generate");
        bytes
    })
}

/// Lines to rows, without Arrow: the parser alone.
#[divan::bench(sample_count = 10, args = PROFILES)]
fn parse_lines(bencher: divan::Bencher, profile: &str) {
    count_traffic(bencher, profile, None);
}

/// Lines read with no column wanted, as a raw-log `count(*)` reads them: what deciding
/// whether each line is a row, an event or a reject costs on its own.
#[divan::bench(sample_count = 10, args = PROFILES)]
fn parse_lines_projected(bencher: divan::Bencher, profile: &str) {
    count_traffic(bencher, profile, Some(&[]));
}

/// Parses the input, reading only `columns` when given, and counts the traffic rows.
fn count_traffic(bencher: divan::Bencher, profile: &str, columns: Option<&[usize]>) {
    let input = input(profile);
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
#[divan::bench(sample_count = 10, args = PROFILES)]
fn parse_into_record_batches(bencher: divan::Bencher, profile: &str) {
    let input = input(profile);
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
