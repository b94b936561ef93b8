//! Fuzz target `mysql_url`: its checks are `probe::check::mysql::fuzz::url_hides_secrets`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| probe::check::mysql::fuzz::url_hides_secrets(data));
