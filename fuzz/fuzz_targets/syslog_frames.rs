//! Arbitrary bytes as a TCP syslog stream: see `halake::fuzzing::syslog_frames`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| halake::fuzzing::syslog_frames(data));
