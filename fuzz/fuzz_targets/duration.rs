//! Fuzz target `duration`: its checks are `probe::fuzzing::duration`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| probe::fuzzing::duration(data));
