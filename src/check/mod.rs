//! The checks, one module each, all answering through the same `Check` trait: given a deadline
//! and a trace to mark phases in, return a verdict. Each module also owns its command-line
//! arguments (`Args`), which build its targets. A check never prints, exits or reads the
//! process's environment (it is handed an `Env`). The list of checks is in `cli`.

#[cfg(feature = "amqp")]
pub mod amqp;
#[cfg(feature = "file")]
pub mod file;
#[cfg(feature = "grpc")]
pub mod grpc;
#[cfg(feature = "http")]
pub mod http;
#[cfg(feature = "mysql")]
pub mod mysql;
#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(feature = "process")]
pub mod process;
#[cfg(feature = "redis")]
pub mod redis;
#[cfg(feature = "tcp")]
pub mod tcp;

use std::sync::Arc;

use crate::{deadline::Deadline, outcome::Verdict, trace::Trace};

pub trait Check: Send + Sync {
    /// One attempt. It should give up by `deadline`; the runner stops waiting for it then anyway.
    fn attempt(&self, deadline: Deadline, trace: &Trace) -> Verdict;
}

/// One thing to check, with the name it is printed under (secrets already redacted).
pub struct Target {
    pub label: String,
    pub check: Arc<dyn Check>,
}
