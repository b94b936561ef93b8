//! Fuzz target `postgres_first_answer`: its checks are `probe::check::postgres::fuzz::first_answer_is_stable`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| probe::check::postgres::fuzz::first_answer_is_stable(data));
