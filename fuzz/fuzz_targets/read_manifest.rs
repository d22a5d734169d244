//! Arbitrary dataset manifests: see `halake::fuzzing::read_manifest`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| halake::fuzzing::read_manifest(data));
