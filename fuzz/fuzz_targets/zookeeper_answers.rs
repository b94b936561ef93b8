//! Fuzz target `zookeeper_answers`: its checks are `probe::check::zookeeper::fuzz::answers`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| probe::check::zookeeper::fuzz::answers(data));
