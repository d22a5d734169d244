//! Arbitrary bytes through the line parser into Arrow: see `halake::fuzzing::parse_lines`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| halake::fuzzing::parse_lines(data));
