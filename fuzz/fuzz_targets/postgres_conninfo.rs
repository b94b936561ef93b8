//! Fuzz target `postgres_conninfo`: its checks are `probe::fuzzing::postgres_conninfo`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| probe::fuzzing::postgres_conninfo(data));
