//! What went wrong, in words: a server's error quoted (through `quote::peer`) with its
//! SQLSTATE; a login without the password the server asks for; libpq's channel binding and
//! sslmode refusals; and below the protocol, TLS, I/O, or a peer that is not PostgreSQL.

use std::{io, sync::atomic::Ordering};

use super::{
    attempt::Postgres,
    connect::Wire,
    settings::{Address, Host, SslMode},
    tls::TlsFailed,
    watch::{NotPostgres, Progress},
};
use crate::{net, outcome::Verdict, quote, tls};

impl Postgres {
    pub(super) fn describe_verdict(
        &self,
        err: &tokio_postgres::Error,
        host: &Host,
        wire: Wire,
        progress: &Progress,
    ) -> Verdict {
        let message = self.describe(err, host, wire, progress);
        match err.as_db_error() {
            Some(_) => Verdict::unhealthy(message),
            None if message.starts_with("the server asks for a password") => Verdict::unhealthy(message),
            None if message.starts_with("channel_binding=require") => Verdict::unhealthy(message),
            None => Verdict::unreachable(message),
        }
    }

    /// A server's error is quoted with its SQLSTATE; anything else is said in probe's words.
    pub(super) fn describe(&self, err: &tokio_postgres::Error, host: &Host, wire: Wire, progress: &Progress) -> String {
        if let Some(db) = err.as_db_error() {
            return format!("{} {}", db.code().code(), quote::peer(db.message()));
        }
        // tokio-postgres has no public error kind; this is its exact cause for a server that
        // asks for a password when none was given (pinned by a test against a real server).
        let cause = std::error::Error::source(err).map(ToString::to_string);
        if host.password.is_none() && cause.as_deref() == Some("password missing") {
            let mut message =
                "the server asks for a password and none was given (PGPASSWORD, --password-file, the URL or ~/.pgpass)".to_owned();
            if let Some(note) = &self.settings.passfile_note {
                message.push_str("; ");
                message.push_str(note);
            }
            return message;
        }
        // tokio-postgres's cause for libpq's three "channel binding required" refusals: the
        // server logged us in without SCRAM (trust, md5, password) or offered SCRAM without
        // channel binding (no TLS, or a server without SCRAM-SHA-256-PLUS).
        if cause.as_deref() == Some("server did not use channel binding") {
            return "channel_binding=require, but the server authenticated without channel binding (it needs SCRAM over TLS)".to_owned();
        }
        if wire == Wire::RequireTls && progress.refused_tls.load(Ordering::Relaxed) {
            let mode = match self.settings.sslmode {
                SslMode::VerifyCa => "verify-ca",
                SslMode::VerifyFull => "verify-full",
                _ => "require",
            };
            return format!("the server does not support TLS, but sslmode={mode} requires it");
        }
        describe_transport(err)
    }
}

pub fn describe_query(err: &tokio_postgres::Error, what: &str) -> Verdict {
    match err.as_db_error() {
        Some(db) => {
            Verdict::unhealthy(format!("{what} failed: {} {}", db.code().code(), quote::peer(db.message())))
        }
        None => Verdict::unreachable(describe_transport(err)),
    }
}

/// What went wrong below the protocol: TLS (its files or its handshake), an I/O error, or a
/// peer that does not speak PostgreSQL.
fn describe_transport(err: &tokio_postgres::Error) -> String {
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        if let Some(failed) = cause.downcast_ref::<TlsFailed>() {
            return failed.to_string();
        }
        if let Some(tls_error) = cause.downcast_ref::<rustls::Error>() {
            return tls::describe(tls_error);
        }
        if let Some(io) = cause.downcast_ref::<io::Error>() {
            if let Some(foreign) = io.get_ref().and_then(|inner| inner.downcast_ref::<NotPostgres>()) {
                return foreign.to_string();
            }
            return match io.kind() {
                io::ErrorKind::UnexpectedEof => "connection closed by peer".to_owned(),
                _ => net::describe(io),
            };
        }
        source = cause.source();
    }
    if err.is_closed() {
        return "connection closed by peer".to_owned();
    }
    "the answer is not PostgreSQL's protocol".to_owned()
}

/// How a host is named in a message: as the target names it (the host name, else the
/// hostaddr), or the socket probe connects to.
pub fn host_name(host: &Host) -> String {
    match &host.address {
        Address::Tcp { name, hostaddr } => {
            let shown = match (name.is_empty(), hostaddr) {
                (true, Some(addr)) => addr.to_string(),
                _ => name.clone(),
            };
            net::HostPort { host: shown, port: host.port }.to_string()
        }
        Address::Default => net::HostPort { host: "localhost".to_owned(), port: host.port }.to_string(),
        _ => super::connect::endpoint(host).to_string(),
    }
}
