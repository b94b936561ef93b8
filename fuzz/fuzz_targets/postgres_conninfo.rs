//! Fuzz target `postgres_conninfo`: its checks are `probe::check::postgres::fuzz::conninfo_hides_secrets`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| probe::check::postgres::fuzz::conninfo_hides_secrets(data));
