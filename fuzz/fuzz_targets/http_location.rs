//! Fuzz target `http_location`: its checks are `probe::fuzzing::http_location`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| probe::fuzzing::http_location(data));
