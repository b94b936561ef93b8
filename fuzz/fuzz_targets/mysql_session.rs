//! Fuzz target `mysql_session`: its checks are `probe::fuzzing::mysql_session`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| probe::fuzzing::mysql_session(data));
