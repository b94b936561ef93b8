//! Fuzz target `redis_url`: its checks are `probe::fuzzing::redis_url`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| probe::fuzzing::redis_url(data));
