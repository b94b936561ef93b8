//! The checks, one module each, all answering through the same `Check` trait: given a deadline
//! and a trace to mark phases in, return a verdict. A check never prints, exits or reads the
//! environment.

pub mod http;
pub mod postgres;
pub mod redis;
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
