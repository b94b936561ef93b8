//! Fuzz target `nats_url`: its checks are `probe::check::nats::fuzz::url`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| probe::check::nats::fuzz::url(data));
