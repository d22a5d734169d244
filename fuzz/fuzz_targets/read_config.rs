//! Arbitrary haproxy.cfg text: see `halake::fuzzing::read_config`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| halake::fuzzing::read_config(data));
