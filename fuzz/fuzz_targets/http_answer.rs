//! Fuzz target `http_answer`: its checks are `probe::fuzzing::http_answer`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| probe::fuzzing::http_answer(data));
