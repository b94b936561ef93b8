//! Fuzz target `zookeeper_target`: its checks are `probe::check::zookeeper::fuzz::target`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| probe::check::zookeeper::fuzz::target(data));
