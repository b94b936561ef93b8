//! Fuzz target `nats_answers`: its checks are `probe::check::nats::fuzz::answers`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| probe::check::nats::fuzz::answers(data));
