//! Integration tests: the real `probe` binary, a scrubbed environment, real servers and sockets.

mod cli;
mod examples;
mod hostile;
mod http;
mod hygiene;
mod image;
mod postgres;
mod redis;
mod support;
mod tcp;
mod tls;
