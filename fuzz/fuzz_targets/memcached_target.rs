//! Fuzz target `memcached_target`: its checks are `probe::check::memcached::fuzz::target`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| probe::check::memcached::fuzz::target(data));
