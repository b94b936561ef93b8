//! Fuzz target `amqp_frames`: its checks are `probe::fuzzing::amqp_frames`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| probe::fuzzing::amqp_frames(data));
