//! Fuzz target `status_list`: its checks are `probe::check::http::fuzz::status_list`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| probe::check::http::fuzz::status_list(data));
