//! Fuzz target `status_list`: its checks are `probe::fuzzing::status_list`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| probe::fuzzing::status_list(data));
