//! Fuzz target `memcached_answers`: its checks are `probe::check::memcached::fuzz::answers`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| probe::check::memcached::fuzz::answers(data));
