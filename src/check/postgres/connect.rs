//! Opening a session on one host: the socket (`net::open`: a host name, a hostaddr, a socket
//! directory or an abstract name), then tokio-postgres's startup over it, in plain text or TLS
//! as the attempt asks, watched for what libpq's retries need to know.

use std::{
    path::Path,
    sync::{Arc, atomic::Ordering},
};

use tokio_postgres::config::SslMode as WireSsl;

use super::{
    attempt::Postgres,
    settings::{Address, DEFAULT_SOCKET_DIR, Host},
    tls::StartTls,
    tlsfiles::tls_config,
    watch::{Expect, Progress, Watched},
};
use crate::{
    deadline::Deadline,
    net::{self, Endpoint, HostPort, Socket},
    trace::Trace,
};

/// How a connection to a host starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wire {
    Plain,
    /// SSLRequest; plain if the server says no.
    PreferTls,
    RequireTls,
}

/// An open session: the client, its connection running, and what the server reported at startup.
pub struct Session {
    pub client: tokio_postgres::Client,
    pub running: tokio::task::JoinHandle<()>,
    pub parameters: Parameters,
    pub tls: bool,
}

/// The startup parameters libpq reads for target_session_attrs (PostgreSQL 14 and later send them).
pub struct Parameters {
    pub in_hot_standby: Option<bool>,
    pub default_transaction_read_only: Option<bool>,
}

/// Why a connection failed: tokio-postgres's error, or probe's own before it had the stream.
pub enum Failure {
    Pg(tokio_postgres::Error),
    Local(String),
}

impl Session {
    fn spawn<S, T>(client: tokio_postgres::Client, connection: tokio_postgres::Connection<S, T>, tls: bool) -> Session
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
        T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let flag = |name: &str| connection.parameter(name).map(|value| value == "on");
        let parameters = Parameters {
            in_hot_standby: flag("in_hot_standby"),
            default_transaction_read_only: flag("default_transaction_read_only"),
        };
        let running = tokio::spawn(async move {
            let _ = connection.await;
        });
        Session { client, running, parameters, tls }
    }
}

/// Where `host` listens: its hostaddr (no name to resolve), its name, its socket, or, with no
/// host at all, libpq's socket directory when the server's socket is there, else localhost.
pub fn endpoint(host: &Host) -> Endpoint {
    let tcp = |name: String| Endpoint::Tcp(HostPort { host: name, port: host.port });
    let socket = format!(".s.PGSQL.{}", host.port);
    match &host.address {
        Address::Tcp { hostaddr: Some(ip), .. } => tcp(ip.to_string()),
        Address::Tcp { name, hostaddr: None } => tcp(name.clone()),
        Address::Unix(dir) => Endpoint::Unix(dir.join(socket)),
        Address::Abstract(name) => Endpoint::Abstract(format!("{name}/{socket}")),
        Address::Default => match Path::new(DEFAULT_SOCKET_DIR).join(&socket) {
            path if path.exists() => Endpoint::Unix(path),
            _ => tcp("localhost".to_owned()),
        },
    }
}

/// The name TLS sends and the certificate must hold: the host name, else the hostaddr.
fn server_name(host: &Host) -> String {
    match &host.address {
        Address::Tcp { name, .. } if !name.is_empty() => name.clone(),
        Address::Tcp { hostaddr: Some(addr), .. } => addr.to_string(),
        _ => "localhost".to_owned(),
    }
}

impl Postgres {
    /// Opens the socket; with it, where it went, for a CancelRequest to follow.
    pub(super) fn open(&self, host: &Host, deadline: Deadline, trace: &Trace) -> Result<(Socket, Endpoint), String> {
        let endpoint = endpoint(host);
        let socket = net::open(&endpoint, deadline, trace)?;
        let peer = match &socket {
            Socket::Tcp(tcp) => match tcp.peer_addr() {
                Ok(addr) => Endpoint::Tcp(HostPort { host: addr.ip().to_string(), port: addr.port() }),
                Err(_) => endpoint,
            },
            Socket::Unix(_) => endpoint,
        };
        Ok((socket, peer))
    }

    fn config(&self, host: &Host, wire: Wire) -> tokio_postgres::Config {
        let s = &self.settings;
        let mut config = tokio_postgres::Config::new();
        config.user(&s.user).dbname(&s.dbname).application_name(&s.application_name);
        if let Some(password) = &host.password {
            config.password(password.expose());
        }
        if let Some(options) = &s.options {
            config.options(options);
        }
        config.channel_binding(s.channel_binding);
        config.ssl_mode(match wire {
            Wire::Plain => WireSsl::Disable,
            Wire::PreferTls => WireSsl::Prefer,
            Wire::RequireTls => WireSsl::Require,
        });
        if s.direct_tls {
            config.ssl_negotiation(tokio_postgres::config::SslNegotiation::Direct);
        }
        config
    }

    /// TLS for this host, its configuration built (and the TLS files read) when TLS starts.
    pub(super) fn start_tls(
        &self,
        host: &Host,
        trace: &Trace,
        progress: &Arc<Progress>,
    ) -> StartTls<impl FnOnce() -> Result<Arc<rustls::ClientConfig>, String> + '_> {
        StartTls {
            build: || tls_config(&self.settings),
            server_name: server_name(host),
            direct: self.settings.direct_tls,
            trace: trace.clone(),
            progress: Arc::clone(progress),
        }
    }

    /// The startup on `socket`: plain on a unix socket and for `Wire::Plain`, else TLS first.
    pub(super) async fn connect(
        &self,
        socket: Socket,
        host: &Host,
        wire: Wire,
        progress: &Arc<Progress>,
        trace: &Trace,
    ) -> Result<Session, Failure> {
        let config = self.config(host, wire);
        let on_socket = socket.is_unix();
        let socket = socket.into_async().map_err(|err| Failure::Local(net::describe(&err)))?;
        if on_socket || wire == Wire::Plain {
            trace.enter("auth");
            let watched = Watched::new(socket, trace, Expect::StartupAnswer, progress);
            let (client, connection) = config.connect_raw(watched, tokio_postgres::NoTls).await.map_err(Failure::Pg)?;
            return Ok(Session::spawn(client, connection, false));
        }
        trace.enter("tls");
        let expect = if self.settings.direct_tls { Expect::Nothing } else { Expect::SslAnswer };
        let watched = Watched::new(socket, trace, expect, progress);
        let tls = self.start_tls(host, trace, progress);
        let (client, connection) = config.connect_raw(watched, tls).await.map_err(Failure::Pg)?;
        Ok(Session::spawn(client, connection, progress.tls_used.load(Ordering::Relaxed)))
    }
}
