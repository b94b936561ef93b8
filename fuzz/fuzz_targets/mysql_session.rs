//! Fuzz target `mysql_session`: its checks are `probe::check::mysql::fuzz::session_keeps_the_password`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| probe::check::mysql::fuzz::session_keeps_the_password(data));
