//! Fuzz target `grpc_health`: its checks are `probe::check::grpc::fuzz::grpc_health`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| probe::check::grpc::fuzz::grpc_health(data));
