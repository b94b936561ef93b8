//! Fuzz target `amqp_url`: its checks are `probe::fuzzing::amqp_url`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| probe::fuzzing::amqp_url(data));
