//! Fuzz target `grpc_target`: its checks are `probe::check::grpc::fuzz::grpc_target`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| probe::check::grpc::fuzz::grpc_target(data));
