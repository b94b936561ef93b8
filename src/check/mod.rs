//! The checks: the one list of them, and the `Check` trait every one answers through (given a
//! deadline and a trace to mark phases in, return a verdict). Each check is one module holding
//! its command-line arguments (`Args`, which build its targets), its settings and its attempt.
//! A check never prints, exits or reads the process's environment (it is handed an `Env`).

use std::sync::Arc;

use clap::Subcommand;

use crate::{deadline::Deadline, env::Env, outcome::Verdict, trace::Trace};

pub trait Check: Send + Sync {
    /// One attempt. It should give up by `deadline`; the runner stops waiting for it then anyway.
    fn attempt(&self, deadline: Deadline, trace: &Trace) -> Verdict;
}

/// One thing to check, with the name it is printed under (secrets already masked).
pub struct Target {
    pub label: String,
    pub check: Arc<dyn Check>,
}

/// Declares the list of checks: each one a module here, a subcommand, and a cargo feature of
/// the same name. Adding a check is one line below, one feature in `Cargo.toml`, its module.
macro_rules! checks {
    ($($(#[$about:meta])* $name:literal => $variant:ident($module:ident),)+) => {
        $(#[cfg(feature = $name)] pub mod $module;)+

        /// The checks this build has: each one is a subcommand with its own options.
        #[allow(clippy::large_enum_variant)]
        #[derive(Debug, Subcommand)]
        pub enum CheckArgs {
            $($(#[$about])* #[cfg(feature = $name)] $variant($module::Args),)+
        }

        /// Every check's name, whether or not this build has it.
        pub const ALL_CHECKS: &[&str] = &[$($name),+];

        #[cfg(not(any($(feature = $name),+)))]
        compile_error!("probe needs at least one check: enable one of its features (tcp, http, …)");

        impl CheckArgs {
            /// The check's name as printed: `tcp`, `http`, ….
            pub fn name(&self) -> &'static str {
                match *self {
                    $(#[cfg(feature = $name)] Self::$variant(_) => $name,)+
                }
            }

            /// The targets to check, with every setting validated.
            pub fn targets(self, env: &dyn Env) -> anyhow::Result<Vec<Target>> {
                match self {
                    $(#[cfg(feature = $name)] Self::$variant(args) => args.targets(env),)+
                }
            }
        }
    };
}

checks! {
    /// Healthy when a TCP connection opens.
    "tcp" => Tcp(tcp),
    /// Healthy when the final HTTP status is 200-399 (kubelet's httpGet rules).
    "http" => Http(http),
    /// Healthy when PostgreSQL accepts a login (and the query runs).
    "postgres" => Postgres(postgres),
    /// Healthy when Redis answers PING with PONG.
    "redis" => Redis(redis),
    /// Healthy when grpc.health.v1.Health/Check answers SERVING.
    "grpc" => Grpc(grpc),
    /// Healthy when PATH exists (and, with --max-age, was modified recently): heartbeat files.
    "file" => File(file),
    /// Healthy when a process named NAME is running and is not a zombie (pgrep -x, from /proc).
    "process" => Process(process),
    /// Healthy when an AMQP 0-9-1 broker (RabbitMQ) lets the user open the vhost.
    "amqp" => Amqp(amqp),
    /// Healthy when MySQL or MariaDB accepts a login (and the query runs).
    "mysql" => Mysql(mysql),
    /// Healthy when a NATS server accepts CONNECT and answers PING with PONG.
    "nats" => Nats(nats),
    /// Healthy when an MQTT broker answers CONNECT with CONNACK 0 (and --topic gets a message).
    "mqtt" => Mqtt(mqtt),
    /// Healthy when ZooKeeper opens a session (then closed); a connect string when any host does.
    "zookeeper" => Zookeeper(zookeeper),
    /// Healthy when memcached answers version (after a SASL PLAIN login, given a user).
    "memcached" => Memcached(memcached),
}
