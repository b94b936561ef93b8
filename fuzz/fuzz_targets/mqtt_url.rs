//! Fuzz target `mqtt_url`: its checks are `probe::check::mqtt::fuzz::url`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| probe::check::mqtt::fuzz::url(data));
