//! `probe grpc`: the `grpc.health.v1.Health/Check` RPC, as grpc-health-probe makes it, over the
//! h2 crate (HTTP/2 framing and HPACK) on a current-thread tokio runtime. The socket is opened by
//! `net::open` and TLS run by `tls::handshake_async`, so every phase (resolve, connect, tls, rpc)
//! is timed and under the deadline; the connection ends with GOAWAY and a wait for the server's
//! close, so the server logs no reset. Targets are read in `target`, metadata in `metadata`, the
//! answer judged in `answer`; `io` holds the types between h2 and the socket.

mod answer;
#[cfg(any(test, fuzzing))]
pub mod fuzz;
mod io;
mod metadata;
pub mod proto;
pub mod target;


use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use anyhow::bail;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Request, Uri};
use tokio::io::{AsyncRead, AsyncWrite};

use self::{
    answer::{Answer, MAX_BODY},
    io::{Ended, Linger, Preface, describe_h2},
};
use super::{Check, Target};
use crate::{
    deadline::Deadline,
    env::Env,
    net::{self, Endpoint},
    outcome::Verdict,
    tls::{self, Tls, TlsArgs},
    trace::Trace,
};

/// gRPC's words for a TLS port asked in plain text and the reverse.
const PROTOCOL: net::Protocol =
    net::Protocol { name: "HTTP/2", use_tls: "use grpcs:// or --tls", drop_tls: "use grpc:// and drop --tls" };

#[derive(Debug, clap::Args)]
#[command(after_long_help = crate::docs::environment(&[("SSL_CERT_FILE", "a PEM file of trusted CAs for grpcs:// and --tls when --cacert is not given, as OpenSSL reads it (proxy variables are ignored)")]))]
pub struct Args {
    /// host:port, [v6]:port, :port, grpc://host:port, grpcs://host:port (TLS), unix:///path or
    /// unix:path. Several are checked at once. Certificates are verified against the bundled
    /// Mozilla roots, or those in SSL_CERT_FILE, or --cacert.
    #[arg(value_name = "TARGET", required = true)]
    targets: Vec<String>,

    /// The service to ask about; empty (the default) asks about the server as a whole.
    #[arg(long, value_name = "NAME", default_value = "")]
    service: String,

    /// Speak TLS to host:port and unix targets (grpcs:// always does).
    #[arg(long = "tls")]
    use_tls: bool,

    /// The name to send as SNI and :authority and to expect in the certificate, instead of the
    /// target's host.
    #[arg(long, value_name = "NAME")]
    server_name: Option<String>,

    /// Request metadata, 'key: value'; repeatable (e.g. 'authorization: Bearer …'). @FILE reads
    /// one 'key: value' a line from FILE (a mounted Secret). Values are never printed.
    #[arg(short = 'H', long = "header", value_name = "KEY: VALUE")]
    headers: Vec<String>,

    #[command(flatten)]
    tls: TlsArgs,
}

/// The method every target is asked.
const PATH: &str = "/grpc.health.v1.Health/Check";
/// The most header bytes the server may send.
const MAX_HEADERS: u32 = 16 * 1024;
/// How long, at most, to wait for the server to close after our GOAWAY, so our socket is not
/// closed under data still on its way (the server would see a reset).
const CLOSE_GRACE: Duration = Duration::from_millis(100);
const USER_AGENT: &str = concat!("probe/", env!("CARGO_PKG_VERSION"));

impl Args {
    pub fn targets(self, env: &dyn Env) -> anyhow::Result<Vec<Target>> {
        let parsed: Vec<target::Parsed> =
            self.targets.iter().map(|text| target::parse(text).map_err(anyhow::Error::msg)).collect::<Result<_, _>>()?;
        if let Some(plain) = parsed.iter().find(|parsed| self.use_tls && parsed.tls == Some(false)) {
            bail!("'{}': grpc:// is plain text, and --tls asks for TLS; write grpcs:// or drop --tls", plain.label);
        }
        let any_tls = parsed.iter().any(|parsed| parsed.tls.unwrap_or(self.use_tls));
        let tls = Tls::load(&self.tls, env, any_tls)?;
        if !any_tls && self.server_name.is_some() {
            bail!("--server-name is a TLS option, and no target here uses TLS");
        }
        let metadata = metadata::read(&self.headers)?;
        let config = match any_tls {
            true => {
                let mut config = tls.for_rustls()?;
                config.alpn_protocols = vec![b"h2".to_vec()];
                Some(Arc::new(config))
            }
            false => None,
        };
        let shared = Arc::new(Shared {
            request_frame: Bytes::from(proto::request_frame(&self.service)),
            metadata,
            service: self.service,
        });
        parsed
            .into_iter()
            .map(|parsed| {
                let tls = parsed.tls.unwrap_or(self.use_tls).then(|| config.clone()).flatten();
                let check = Grpc::new(parsed.endpoint, tls, self.server_name.as_deref(), Arc::clone(&shared))?;
                Ok(Target { label: parsed.label, check: Arc::new(check) })
            })
            .collect()
    }
}

/// What every target of a run asks.
struct Shared {
    service: String,
    request_frame: Bytes,
    metadata: HeaderMap,
}

struct Grpc {
    endpoint: Endpoint,
    /// The TLS configuration and the server's name, for a TLS target.
    tls: Option<(Arc<rustls::ClientConfig>, String)>,
    /// scheme://authority/grpc.health.v1.Health/Check
    uri: Uri,
    shared: Arc<Shared>,
}

impl Grpc {
    /// The name sent and verified is --server-name, else the target's host (`localhost` for a
    /// unix socket, as grpc-go names it); `:authority` is --server-name, else `host:port`.
    fn new(
        endpoint: Endpoint,
        tls: Option<Arc<rustls::ClientConfig>>,
        server_name: Option<&str>,
        shared: Arc<Shared>,
    ) -> anyhow::Result<Self> {
        let host = match &endpoint {
            Endpoint::Tcp(target) => target.host.as_str(),
            Endpoint::Unix(_) | Endpoint::Abstract(_) => "localhost",
        };
        let name = server_name.unwrap_or(host).to_owned();
        let authority = match (server_name, &endpoint) {
            (None, Endpoint::Tcp(target)) => target.to_string(),
            _ => name.clone(),
        };
        let tls = match tls {
            Some(config) => {
                tls::server_name(&name).map_err(anyhow::Error::msg)?;
                Some((config, name))
            }
            None => None,
        };
        let scheme = if tls.is_some() { "https" } else { "http" };
        let uri: Uri = format!("{scheme}://{authority}{PATH}").parse().map_err(|_| {
            anyhow::anyhow!("'{}' cannot be a gRPC :authority", crate::quote::escaped(&authority))
        })?;
        Ok(Grpc { endpoint, tls, uri, shared })
    }
}

impl Check for Grpc {
    fn attempt(&self, deadline: Deadline, trace: &Trace) -> Verdict {
        let socket = match net::open(&self.endpoint, deadline, trace) {
            Ok(socket) => socket,
            Err(why) => return Verdict::unreachable(why),
        };
        let runtime = match tokio::runtime::Builder::new_current_thread().enable_io().enable_time().build() {
            Ok(runtime) => runtime,
            Err(err) => return Verdict::unreachable(format!("cannot start the I/O runtime: {err}")),
        };
        runtime.block_on(async {
            tokio::time::timeout(deadline.remaining(), self.converse(socket, deadline, trace))
                .await
                .unwrap_or_else(|_| deadline.timed_out(trace))
        })
    }
}

impl Grpc {
    async fn converse(&self, socket: net::Socket, deadline: Deadline, trace: &Trace) -> Verdict {
        let socket = match socket.into_async() {
            Ok(socket) => socket,
            Err(err) => return Verdict::unreachable(net::describe(&err)),
        };
        let Some((config, name)) = &self.tls else {
            trace.enter("rpc");
            return self.call(socket, deadline, trace).await;
        };
        trace.enter("tls");
        match tls::handshake_async(socket, name, Arc::clone(config), &PROTOCOL).await {
            // gRPC clients (grpc-go since 1.67) insist that the server agrees to HTTP/2 by ALPN.
            Ok(tls) if tls.get_ref().1.alpn_protocol() != Some(b"h2") => {
                Verdict::unreachable("TLS: the server did not agree to HTTP/2 (no ALPN h2)")
            }
            Ok(tls) => {
                trace.enter("rpc");
                self.call(tls, deadline, trace).await
            }
            Err(why) => Verdict::unreachable(why),
        }
    }

    /// The RPC over an open (and, with TLS, handshaken) stream, then a clean close.
    async fn call<S>(&self, stream: S, deadline: Deadline, trace: &Trace) -> Verdict
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let heard = Arc::new(AtomicBool::new(false));
        let handshake = h2::client::Builder::new()
            .enable_push(false)
            .max_header_list_size(MAX_HEADERS)
            .handshake::<_, Bytes>(Linger::new(Preface::new(stream, Arc::clone(&heard))))
            .await;
        let (client, connection) = match handshake {
            Ok(pair) => pair,
            Err(err) => return Verdict::unreachable(self.failure(&err, heard.load(Ordering::Relaxed))),
        };
        let driver = tokio::spawn(connection);
        let verdict = match self.exchange(client, deadline).await {
            Ok(answer) => answer::judge(&answer, &self.shared.service, deadline, trace),
            Err(err) => {
                // The connection's own error says more than the stream's echo of it.
                let connection_error = match tokio::time::timeout(CLOSE_GRACE, driver).await {
                    Ok(Ok(Err(connection_error))) => Some(connection_error),
                    _ => None,
                };
                let err = connection_error.as_ref().unwrap_or(&err);
                return Verdict::unreachable(self.failure(err, heard.load(Ordering::Relaxed)));
            }
        };
        // Every handle is gone: the connection sends GOAWAY, shuts down its side and waits for
        // the server's close (see `Linger`), within a short grace.
        let grace = deadline.remaining().min(CLOSE_GRACE);
        let _ = tokio::time::timeout(grace, driver).await;
        verdict
    }

    /// An h2 failure in words; `heard` is whether the server sent a byte. Every HTTP/2 server
    /// sends its SETTINGS at once: one that ends the connection without a byte is most likely
    /// a TLS port (BoringSSL, as in grpcio, closes on the plain preface without an alert), or
    /// behind TLS, a server that refused the client's certificate after the handshake.
    fn failure(&self, err: &h2::Error, heard: bool) -> String {
        let why = describe_h2(err);
        match (io::ended(err), heard, self.tls.is_some()) {
            (Some(Ended::Reset), false, false) => PROTOCOL.reset_by_tls_port(),
            (Some(Ended::Closed), false, false) => {
                PROTOCOL.ended_by_tls_port(&format!("{why} at the HTTP/2 preface, before any frame"))
            }
            // TLS 1.3 servers check the client's certificate after the client thinks the
            // handshake is over, and many refuse one by closing without an alert.
            (Some(Ended::Closed), false, true) => {
                format!("{why} right after the TLS handshake (is a client certificate missing or refused?)")
            }
            _ => why,
        }
    }

    /// Sends the request and reads the whole answer: headers, message and trailers.
    async fn exchange(&self, client: h2::client::SendRequest<Bytes>, deadline: Deadline) -> Result<Answer, h2::Error> {
        let mut client = client.ready().await?;
        let (response, mut send) = client.send_request(self.request(deadline), false)?;
        send.send_data(self.shared.request_frame.clone(), true)?;
        drop(client);
        let (parts, mut body) = response.await?.into_parts();
        let mut answer =
            Answer { status: parts.status, headers: parts.headers, body: Vec::new(), trailers: None, too_large: false };
        if answer.headers.contains_key("grpc-status") || !answer.is_grpc() {
            // A trailers-only answer (an error), or not gRPC at all: the headers say it all.
            return Ok(answer);
        }
        while let Some(chunk) = body.data().await {
            let chunk = chunk?;
            let _ = body.flow_control().release_capacity(chunk.len());
            if answer.body.len() + chunk.len() > MAX_BODY {
                answer.too_large = true;
                return Ok(answer);
            }
            answer.body.extend_from_slice(&chunk);
        }
        answer.trailers = body.trailers().await?;
        Ok(answer)
    }

    fn request(&self, deadline: Deadline) -> Request<()> {
        let mut request = Request::post(self.uri.clone()).body(()).unwrap_or_default();
        let headers = request.headers_mut();
        headers.insert(http::header::CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
        headers.insert(http::header::TE, HeaderValue::from_static("trailers"));
        headers.insert(http::header::USER_AGENT, HeaderValue::from_static(USER_AGENT));
        if let Ok(timeout) = HeaderValue::from_str(&answer::grpc_timeout(deadline.remaining())) {
            headers.insert("grpc-timeout", timeout);
        }
        for (key, value) in &self.shared.metadata {
            if key == http::header::USER_AGENT {
                headers.insert(key, value.clone());
            } else {
                headers.append(key, value.clone());
            }
        }
        request
    }
}
