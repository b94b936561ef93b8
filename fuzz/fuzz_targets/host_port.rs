//! Fuzz target `host_port`: its checks are `probe::check::tcp::fuzz::host_port`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| probe::check::tcp::fuzz::host_port(data));
