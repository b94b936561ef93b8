//! Fuzz target `postgres_first_answer`: its checks are `probe::fuzzing::postgres_first_answer`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| probe::fuzzing::postgres_first_answer(data));
