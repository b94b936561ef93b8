//! Fuzz target `redis_resp`: its checks are `probe::fuzzing::redis_resp`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| probe::fuzzing::redis_resp(data));
