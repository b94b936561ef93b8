//! The library behind the `probe` binary: every module, so that `src/main.rs` stays a thin
//! entry point and the fuzz targets under `fuzz/` can reach the parsers through [`fuzzing`].

// A build with some of the checks leaves parts of the shared modules unused; the full build,
// which CI lints, has none. Cargo sets `feature = "default"` for the full build only.
#![cfg_attr(not(feature = "default"), allow(dead_code, unused_imports))]

pub mod check;
pub mod cli;
pub mod config;
pub mod deadline;
pub mod docs;
pub mod dropin;
pub mod duration;
pub mod env;
pub mod exec;
pub mod headers;
pub mod install;
pub mod login;
pub mod net;
pub mod outcome;
pub mod quote;
pub mod report;
pub mod run;
pub mod secret;
#[cfg(feature = "tls")]
pub mod tls;
pub mod trace;
pub mod uri;

// The fuzz targets' checks: built for the tests and for `cargo fuzz` (`--cfg fuzzing`) only.
#[cfg(any(test, fuzzing))]
#[doc(hidden)]
pub mod fuzzing;
