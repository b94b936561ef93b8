//! Fuzz target `amqp_frames`: its checks are `probe::check::amqp::fuzz::frames`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| probe::check::amqp::fuzz::frames(data));
