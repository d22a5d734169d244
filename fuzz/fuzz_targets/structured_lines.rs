//! Arbitrary bytes as HAProxy 3.x JSON and CBOR lines: see `halake::fuzzing::structured_lines`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| halake::fuzzing::structured_lines(data));
