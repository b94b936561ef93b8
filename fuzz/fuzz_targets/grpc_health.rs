//! Fuzz target `grpc_health`: its checks are `probe::fuzzing::grpc_health`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| probe::fuzzing::grpc_health(data));
