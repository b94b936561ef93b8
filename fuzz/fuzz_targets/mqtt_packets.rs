//! Fuzz target `mqtt_packets`: its checks are `probe::check::mqtt::fuzz::packets`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| probe::check::mqtt::fuzz::packets(data));
