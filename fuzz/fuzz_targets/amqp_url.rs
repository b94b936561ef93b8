//! Fuzz target `amqp_url`: its checks are `probe::check::amqp::fuzz::url`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| probe::check::amqp::fuzz::url(data));
