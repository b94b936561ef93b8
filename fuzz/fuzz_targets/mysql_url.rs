//! Fuzz target `mysql_url`: its checks are `probe::fuzzing::mysql_url`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| probe::fuzzing::mysql_url(data));
