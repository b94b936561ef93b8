//! Fuzz target `mysql_packets`: its checks are `probe::fuzzing::mysql_packets`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| probe::fuzzing::mysql_packets(data));
