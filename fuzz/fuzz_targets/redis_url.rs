//! Fuzz target `redis_url`: its checks are `probe::check::redis::fuzz::url`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| probe::check::redis::fuzz::url(data));
