//! Integration tests: the real `probe` binary, a scrubbed environment, real servers and sockets.

mod cli;
mod hostile;
mod http;
mod hygiene;
mod postgres;
mod redis;
mod support;
mod tcp;
