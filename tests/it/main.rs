//! Integration tests: the real `probe` binary, a scrubbed environment, real servers and sockets.

mod amqp;
mod cli;
mod dropin;
mod examples;
mod exec;
mod file;
mod grpc;
mod hostile;
mod http;
mod hygiene;
mod image;
mod install;
mod memcached;
mod mqtt;
mod mysql;
mod nats;
mod postgres;
mod process;
mod redis;
mod smoke;
mod support;
mod tcp;
mod tls;
mod zookeeper;
