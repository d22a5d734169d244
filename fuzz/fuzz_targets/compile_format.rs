//! Arbitrary `log-format` strings, and a line read with each: see
//! `halake::fuzzing::compile_format`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| halake::fuzzing::compile_format(data));
