//! Fuzz target `grpc_target`: its checks are `probe::fuzzing::grpc_target`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| probe::fuzzing::grpc_target(data));
