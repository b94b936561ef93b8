//! Fuzz target `http_answer`: its checks are `probe::check::http::fuzz::http_answer`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| probe::check::http::fuzz::http_answer(data));
