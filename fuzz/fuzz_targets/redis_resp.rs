//! Fuzz target `redis_resp`: its checks are `probe::check::redis::fuzz::resp`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| probe::check::redis::fuzz::resp(data));
