//! Fuzz target `mysql_packets`: its checks are `probe::check::mysql::fuzz::packets_stay_in_bounds`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| probe::check::mysql::fuzz::packets_stay_in_bounds(data));
