//! Fuzz target `http_location`: its checks are `probe::check::http::fuzz::http_location`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| probe::check::http::fuzz::http_location(data));
