//! Integration tests: the real `probe` binary, a scrubbed environment, real servers and sockets.

mod cli;
mod http;
mod postgres;
mod redis;
mod support;
mod tcp;
