//! Fuzz target `host_port`: its checks are `probe::fuzzing::host_port`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| probe::fuzzing::host_port(data));
