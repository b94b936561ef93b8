//! `probe grpc`: the `grpc.health.v1.Health/Check` RPC, as grpc-health-probe makes it, over the
//! h2 crate (HTTP/2 framing and HPACK) on a current-thread tokio runtime, with rustls for TLS.
//! The socket is opened here, so every phase (resolve, connect, tls, rpc) is timed and under the
//! deadline; the connection ends with GOAWAY and a wait for the server's close, so the server
//! logs no reset.

pub mod proto;

use std::{
    io,
    net::TcpStream,
    os::unix::net::UnixStream,
    path::PathBuf,
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    task::{Context, Poll},
    time::Duration,
};

use anyhow::bail;
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Request, Uri};
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use self::proto::ServingStatus;
use super::{Check, Target};
use crate::{
    deadline::Deadline,
    env::Env,
    net::{self, HostPort},
    outcome::Verdict,
    secret::{redact_unparsed, redact_url},
    tls::{self, Tls, TlsArgs},
    trace::Trace,
};

/// gRPC's words for a TLS port asked in plain text and the reverse.
const PROTOCOL: net::Protocol =
    net::Protocol { name: "HTTP/2", use_tls: "use grpcs:// or --tls", drop_tls: "use grpc:// and drop --tls" };

#[derive(Debug, clap::Args)]
#[command(after_long_help = crate::docs::environment(&[("SSL_CERT_FILE", "a PEM file of trusted CAs for grpcs:// and --tls when --cacert is not given, as OpenSSL reads it (proxy variables are ignored)")]))]
pub struct Args {
    /// host:port, [v6]:port, grpc://host:port, grpcs://host:port (TLS), unix:///path or
    /// unix:path. Several are checked at once.
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
    /// one 'key: value' a line from FILE (a mounted Secret). Never printed.
    #[arg(short = 'H', long = "header", value_name = "KEY: VALUE")]
    headers: Vec<String>,

    #[command(flatten)]
    tls: TlsArgs,
}

/// The method every target is asked.
const PATH: &str = "/grpc.health.v1.Health/Check";
/// A health answer is a few bytes; more than this is not one.
const MAX_BODY: usize = 64 * 1024;
/// The most header bytes the server may send.
const MAX_HEADERS: u32 = 16 * 1024;
/// How long, at most, to wait for the server to close after our GOAWAY, so our socket is not
/// closed under data still on its way (the server would see a reset).
const CLOSE_GRACE: Duration = Duration::from_millis(100);

impl Args {
    pub fn targets(self, env: &dyn Env) -> anyhow::Result<Vec<Target>> {
        let parsed: Vec<(String, Address, Option<bool>)> = self
            .targets
            .iter()
            .map(|text| {
                let (address, scheme_tls) = parse_target(text)
                    .map_err(|why| anyhow::anyhow!("'{}': {why}", redact_unparsed(text)))?;
                Ok((redact_url(text), address, scheme_tls))
            })
            .collect::<anyhow::Result<_>>()?;
        for (text, _, scheme_tls) in &parsed {
            if self.use_tls && *scheme_tls == Some(false) {
                bail!(
                    "'{}': grpc:// is plain text, and --tls asks for TLS; write grpcs:// or drop --tls",
                    redact_url(text)
                );
            }
        }
        let any_tls = parsed.iter().any(|(_, _, scheme_tls)| scheme_tls.unwrap_or(self.use_tls));
        if !any_tls {
            let given = [
                (self.tls.cacert.is_some(), "--cacert"),
                (self.tls.cert.is_some(), "--cert"),
                (self.tls.insecure, "--insecure"),
                (self.server_name.is_some(), "--server-name"),
            ];
            if let Some((_, flag)) = given.iter().find(|(given, _)| *given) {
                bail!("{flag} needs TLS: add --tls, or write the target as grpcs://HOST:PORT");
            }
        }
        let metadata = metadata(&self.headers)?;
        let tls_config = if any_tls {
            let tls = Tls::load(&self.tls, env, true)?;
            let mut config = tls.for_rustls()?;
            config.alpn_protocols = vec![b"h2".to_vec()];
            Some(Arc::new(config))
        } else {
            None
        };
        let shared = Arc::new(Shared {
            request_frame: Bytes::from(proto::request_frame(&self.service)),
            metadata,
            service: self.service,
        });
        parsed
            .into_iter()
            .map(|(label, address, scheme_tls)| {
                let host = match &address {
                    Address::Tcp(target) => target.host.clone(),
                    Address::Unix(_) => "localhost".to_owned(),
                };
                let name = self.server_name.clone().unwrap_or(host);
                let authority = match (&self.server_name, &address) {
                    (None, Address::Tcp(target)) => target.to_string(),
                    _ => name.clone(),
                };
                let tls = match (scheme_tls.unwrap_or(self.use_tls), &tls_config) {
                    (true, Some(config)) => {
                        let server_name = ServerName::try_from(name.clone()).map_err(|_| {
                            anyhow::anyhow!(
                                "'{}' is not a host name or IP address for TLS",
                                name.escape_debug()
                            )
                        })?;
                        Some((Arc::clone(config), server_name))
                    }
                    _ => None,
                };
                let scheme = if tls.is_some() { "https" } else { "http" };
                let uri: Uri = format!("{scheme}://{authority}{PATH}").parse().map_err(|_| {
                    anyhow::anyhow!("'{}' cannot be a gRPC :authority", authority.escape_debug())
                })?;
                let check = Grpc { address, tls, uri, shared: Arc::clone(&shared) };
                Ok(Target { label, check: Arc::new(check) })
            })
            .collect()
    }
}

/// Where a target lives.
enum Address {
    Tcp(HostPort),
    Unix(PathBuf),
}

/// Reads a target; the second value is what its scheme says about TLS (none for host:port and
/// unix sockets, where --tls decides).
fn parse_target(text: &str) -> Result<(Address, Option<bool>), String> {
    // A message quotes parts of the text: control characters are escaped to keep it one line.
    read_target(text).map_err(|why| why.escape_debug().to_string().replace("\\'", "'"))
}

fn read_target(text: &str) -> Result<(Address, Option<bool>), String> {
    let lower = text.to_ascii_lowercase();
    if let Some(path) = lower.strip_prefix("unix://").map(|_| &text["unix://".len()..]) {
        if !path.starts_with('/') {
            return Err("write a unix socket as unix:///absolute/path or unix:relative/path".to_owned());
        }
        return Ok((Address::Unix(PathBuf::from(path)), None));
    }
    if lower.starts_with("unix:") {
        let path = &text["unix:".len()..];
        if path.is_empty() {
            return Err("the unix socket's path is missing".to_owned());
        }
        return Ok((Address::Unix(PathBuf::from(path)), None));
    }
    let (rest, scheme_tls) = if lower.starts_with("grpcs://") {
        (&text["grpcs://".len()..], Some(true))
    } else if lower.starts_with("grpc://") {
        (&text["grpc://".len()..], Some(false))
    } else if let Some((scheme, _)) = text.split_once("://") {
        return Err(format!(
            "'{scheme}://' is not a gRPC target; write HOST:PORT, grpc://, grpcs:// or unix://"
        ));
    } else {
        (text, None)
    };
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    // ':50051' is the local system, as Go's dialer (and so grpc-health-probe) reads it.
    let target = match rest.strip_prefix(':') {
        Some(port) if !port.contains(':') => {
            HostPort { host: "localhost".to_owned(), port: net::parse_port(port)? }
        }
        _ => rest.parse::<HostPort>()?,
    };
    Ok((Address::Tcp(target), scheme_tls))
}

/// The -H values as request metadata; `@FILE` reads one 'key: value' a line from FILE (a mounted
/// Secret), as curl's -H does. A value may be a token, so no message quotes one.
fn metadata(headers: &[String]) -> anyhow::Result<HeaderMap> {
    let mut map = HeaderMap::new();
    for header in headers {
        let Some(path) = header.strip_prefix('@') else {
            add_metadata(&mut map, header).map_err(|why| anyhow::anyhow!("-H: {why}"))?;
            continue;
        };
        let text = std::fs::read_to_string(path)
            .map_err(|err| anyhow::anyhow!("-H @{path}: cannot read it: {}", net::describe(&err)))?;
        for (number, line) in text.lines().enumerate() {
            if !line.trim().is_empty() {
                add_metadata(&mut map, line)
                    .map_err(|why| anyhow::anyhow!("-H @{path}, line {}: {why}", number + 1))?;
            }
        }
    }
    Ok(map)
}

fn add_metadata(map: &mut HeaderMap, header: &str) -> Result<(), String> {
    let Some((name, value)) = header.split_once(':') else {
        return Err("write metadata as 'key: value'".to_owned());
    };
    let name = name.trim();
    // gRPC's rule for keys; a text that breaks it may be a mistyped secret, so it is not quoted.
    let valid = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.');
    let lower = name.to_ascii_lowercase();
    let key = HeaderName::from_bytes(lower.as_bytes())
        .ok()
        .filter(|_| !lower.is_empty() && lower.chars().all(valid))
        .ok_or("a metadata key is made of letters, digits, '-', '_' and '.'; write 'key: value'")?;
    let reserved = matches!(
        key.as_str(),
        "content-type" | "te" | "host" | "connection" | "transfer-encoding" | "keep-alive" | "upgrade"
    ) || key.as_str().starts_with("grpc-");
    if reserved {
        return Err(format!("'{name}' is set by probe itself"));
    }
    let value = HeaderValue::from_str(value.trim())
        .map_err(|_| format!("the value of '{name}' has characters metadata cannot carry"))?;
    // user-agent replaces probe's own (grpc-health-probe's -user-agent); other keys add up.
    if key == http::header::USER_AGENT {
        map.insert(key, value);
    } else {
        map.append(key, value);
    }
    Ok(())
}

/// What every target of a run asks.
struct Shared {
    service: String,
    request_frame: Bytes,
    metadata: HeaderMap,
}

struct Grpc {
    address: Address,
    tls: Option<(Arc<rustls::ClientConfig>, ServerName<'static>)>,
    /// scheme://authority/grpc.health.v1.Health/Check
    uri: Uri,
    shared: Arc<Shared>,
}

enum Stream {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl Check for Grpc {
    fn attempt(&self, deadline: Deadline, trace: &Trace) -> Verdict {
        let stream = match self.open(deadline, trace) {
            Ok(stream) => stream,
            Err(why) => return Verdict::unreachable(why),
        };
        let runtime = match tokio::runtime::Builder::new_current_thread().enable_io().enable_time().build() {
            Ok(runtime) => runtime,
            Err(err) => return Verdict::unreachable(format!("cannot start the I/O runtime: {err}")),
        };
        runtime.block_on(async {
            tokio::time::timeout(deadline.remaining(), self.converse(stream, deadline, trace))
                .await
                .unwrap_or_else(|_| deadline.timed_out(trace))
        })
    }
}

impl Grpc {
    fn open(&self, deadline: Deadline, trace: &Trace) -> Result<Stream, String> {
        match &self.address {
            Address::Tcp(target) => {
                trace.enter("resolve");
                let addrs = net::resolve(target)?;
                trace.enter("connect");
                let stream = net::connect(&addrs, deadline)?;
                let _ = stream.set_nodelay(true);
                Ok(Stream::Tcp(stream))
            }
            Address::Unix(path) => {
                trace.enter("connect");
                UnixStream::connect(path)
                    .map(Stream::Unix)
                    .map_err(|err| format!("{}: {}", path.display(), net::describe(&err)))
            }
        }
    }

    async fn converse(&self, stream: Stream, deadline: Deadline, trace: &Trace) -> Verdict {
        let to_tokio = |stream: Stream| -> io::Result<Either> {
            Ok(match stream {
                Stream::Tcp(tcp) => {
                    tcp.set_nonblocking(true)?;
                    Either::Tcp(tokio::net::TcpStream::from_std(tcp)?)
                }
                Stream::Unix(unix) => {
                    unix.set_nonblocking(true)?;
                    Either::Unix(tokio::net::UnixStream::from_std(unix)?)
                }
            })
        };
        let stream = match to_tokio(stream) {
            Ok(stream) => stream,
            Err(err) => return Verdict::unreachable(net::describe(&err)),
        };
        let Some((config, server_name)) = &self.tls else {
            trace.enter("rpc");
            return self.call(stream, deadline, trace).await;
        };
        trace.enter("tls");
        let connector = tokio_rustls::TlsConnector::from(Arc::clone(config));
        match connector.connect(server_name.clone(), stream).await {
            // gRPC clients (grpc-go since 1.67) insist that the server agrees to HTTP/2 by ALPN.
            Ok(tls) if tls.get_ref().1.alpn_protocol() != Some(b"h2") => {
                Verdict::unreachable("TLS: the server did not agree to HTTP/2 (no ALPN h2)")
            }
            Ok(tls) => {
                trace.enter("rpc");
                self.call(tls, deadline, trace).await
            }
            Err(err) => Verdict::unreachable(describe_io(&err)),
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
            Err(err) => return Verdict::unreachable(describe_h2(&err)),
        };
        let driver = tokio::spawn(connection);
        let verdict = match self.exchange(client, deadline).await {
            Ok(answer) => self.judge(answer, deadline, trace),
            Err(err) => {
                // The connection's own error says more than the stream's echo of it.
                let connection_error = match tokio::time::timeout(CLOSE_GRACE, driver).await {
                    Ok(Ok(Err(connection_error))) => Some(connection_error),
                    _ => None,
                };
                let mut why = describe_h2(connection_error.as_ref().unwrap_or(&err));
                if self.tls.is_some() && !heard.load(Ordering::Relaxed) && why == CLOSED {
                    // TLS 1.3 servers check the client's certificate after the client thinks the
                    // handshake is over, and many refuse one by closing without an alert.
                    why = format!(
                        "{CLOSED} right after the TLS handshake (is a client certificate missing or refused?)"
                    );
                }
                return Verdict::unreachable(why);
            }
        };
        // Every handle is gone: the connection sends GOAWAY, shuts down its side and waits for
        // the server's close (see `Linger`), within a short grace.
        let grace = deadline.remaining().min(CLOSE_GRACE);
        let _ = tokio::time::timeout(grace, driver).await;
        verdict
    }

    /// Sends the request and reads the whole answer: headers, message and trailers.
    async fn exchange(
        &self,
        client: h2::client::SendRequest<Bytes>,
        deadline: Deadline,
    ) -> Result<Answer, h2::Error> {
        let mut client = client.ready().await?;
        let (response, mut send) = client.send_request(self.request(deadline), false)?;
        send.send_data(self.shared.request_frame.clone(), true)?;
        drop(client);
        let (parts, mut body) = response.await?.into_parts();
        let mut answer = Answer {
            status: parts.status,
            headers: parts.headers,
            body: Vec::new(),
            trailers: None,
            too_large: false,
        };
        if answer.headers.contains_key("grpc-status") || !is_grpc(&answer) {
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
        if let Ok(timeout) = HeaderValue::from_str(&grpc_timeout(deadline.remaining())) {
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

    fn judge(&self, answer: Answer, deadline: Deadline, trace: &Trace) -> Verdict {
        if answer.too_large {
            return Verdict::unreachable(format!("the answer is larger than {MAX_BODY} bytes"));
        }
        let status = answer
            .trailers
            .as_ref()
            .and_then(|t| t.get("grpc-status"))
            .or_else(|| answer.headers.get("grpc-status"));
        let Some(status) = status else {
            if !is_grpc(&answer) {
                let content_type = answer
                    .headers
                    .get(http::header::CONTENT_TYPE)
                    .and_then(|value| value.to_str().ok())
                    .unwrap_or("none");
                return Verdict::unreachable(format!(
                    "the answer is not gRPC (HTTP {}, content-type {})",
                    answer.status.as_u16(),
                    printable(content_type)
                ));
            }
            return Verdict::unreachable("the answer ended without a grpc-status");
        };
        let code = status.to_str().ok().and_then(|code| code.parse::<u32>().ok());
        let message = answer
            .trailers
            .as_ref()
            .and_then(|t| t.get("grpc-message"))
            .or_else(|| answer.headers.get("grpc-message"))
            .map(|value| printable(&percent_decode(value.as_bytes())))
            .filter(|message| !message.is_empty());
        let quoted = message.map(|message| format!(" \"{message}\"")).unwrap_or_default();
        let code = match code {
            Some(0) => return self.judge_message(&answer.body),
            Some(4) => return deadline.timed_out(trace),
            Some(12) => {
                return Verdict::unhealthy(format!(
                    "the server has no health service (UNIMPLEMENTED{quoted})"
                ));
            }
            Some(5) if !self.shared.service.is_empty() => {
                let service = printable(&self.shared.service);
                return Verdict::unhealthy(format!(
                    "NOT_FOUND{quoted}: the server knows no service \"{service}\""
                ));
            }
            Some(code) => code,
            None => return Verdict::unreachable("the answer's grpc-status is not a number"),
        };
        let name = CODE_NAMES
            .get(code as usize)
            .map_or_else(|| format!("grpc-status {code}"), |name| (*name).to_owned());
        Verdict::unhealthy(format!("{name}{quoted}"))
    }

    fn judge_message(&self, body: &[u8]) -> Verdict {
        let status = match proto::response(body) {
            Ok(status) => status,
            Err(why) => return Verdict::unreachable(why),
        };
        let said = if self.shared.service.is_empty() {
            status.to_string()
        } else {
            format!("{status} for service \"{}\"", printable(&self.shared.service))
        };
        match status {
            ServingStatus::Serving => Verdict::healthy(said),
            _ => Verdict::unhealthy(said),
        }
    }
}

const CLOSED: &str = "connection closed by peer";

const USER_AGENT: &str = concat!("probe/", env!("CARGO_PKG_VERSION"));

/// gRPC's status codes by number.
const CODE_NAMES: [&str; 17] = [
    "OK",
    "CANCELLED",
    "UNKNOWN",
    "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "ABORTED",
    "OUT_OF_RANGE",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "UNAUTHENTICATED",
];

/// An answer as received.
struct Answer {
    status: http::StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
    trailers: Option<HeaderMap>,
    /// The message went past MAX_BODY, and was not read further.
    too_large: bool,
}

fn is_grpc(answer: &Answer) -> bool {
    let content_type = answer.headers.get(http::header::CONTENT_TYPE).map(HeaderValue::as_bytes);
    answer.status == http::StatusCode::OK
        && content_type.is_some_and(|value| {
            value == b"application/grpc"
                || value.starts_with(b"application/grpc+")
                || value.starts_with(b"application/grpc;")
        })
}

/// The time left as a grpc-timeout value: at most eight digits, in the finest unit that fits.
fn grpc_timeout(left: Duration) -> String {
    let micros = left.as_micros().max(1);
    if micros <= 99_999_999 {
        format!("{micros}u")
    } else {
        format!("{}m", (left.as_millis()).min(99_999_999))
    }
}

/// grpc-message is percent-encoded UTF-8.
fn percent_decode(bytes: &[u8]) -> String {
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let hex = bytes.get(index + 1..index + 3).and_then(|hex| std::str::from_utf8(hex).ok());
        match (bytes[index], hex.and_then(|hex| u8::from_str_radix(hex, 16).ok())) {
            (b'%', Some(byte)) => {
                out.push(byte);
                index += 3;
            }
            (byte, _) => {
                out.push(byte);
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Text from the server, made safe for one line of output and cut to a readable length.
fn printable(text: &str) -> String {
    let mut out: String = text.chars().map(|c| if c.is_control() { ' ' } else { c }).take(200).collect();
    if text.chars().count() > 200 {
        out.push('…');
    }
    out
}

/// An h2 failure as a short diagnosis.
fn describe_h2(err: &h2::Error) -> String {
    use h2::Reason;
    if let Some(io) = err.get_io() {
        return describe_io(io);
    }
    match err.reason() {
        Some(Reason::PROTOCOL_ERROR | Reason::FRAME_SIZE_ERROR | Reason::COMPRESSION_ERROR)
            if !err.is_remote() =>
        {
            "the answer is not HTTP/2".to_owned()
        }
        Some(reason) if err.is_go_away() => {
            format!("the server closed the connection (GOAWAY {reason:?})")
        }
        Some(reason) if err.is_reset() => format!("the server reset the stream ({reason:?})"),
        Some(reason) => format!("HTTP/2 error: {reason:?}"),
        None => format!("HTTP/2: {err}"),
    }
}

/// An I/O error, which may carry a TLS error inside.
fn describe_io(err: &io::Error) -> String {
    if let Some(not_http2) = err.get_ref().and_then(|inner| inner.downcast_ref::<NotHttp2>()) {
        return not_http2.to_string();
    }
    match err.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>()) {
        Some(tls_error) => tls::describe(tls_error),
        None if matches!(err.kind(), io::ErrorKind::UnexpectedEof | io::ErrorKind::BrokenPipe) => {
            CLOSED.to_owned()
        }
        None => net::describe(err),
    }
}

/// The plain socket, TCP or unix.
enum Either {
    Tcp(tokio::net::TcpStream),
    Unix(tokio::net::UnixStream),
}

impl AsyncRead for Either {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Either::Tcp(tcp) => Pin::new(tcp).poll_read(cx, buf),
            Either::Unix(unix) => Pin::new(unix).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Either {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Either::Tcp(tcp) => Pin::new(tcp).poll_write(cx, buf),
            Either::Unix(unix) => Pin::new(unix).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Either::Tcp(tcp) => Pin::new(tcp).poll_flush(cx),
            Either::Unix(unix) => Pin::new(unix).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Either::Tcp(tcp) => Pin::new(tcp).poll_shutdown(cx),
            Either::Unix(unix) => Pin::new(unix).poll_shutdown(cx),
        }
    }
}

/// Watches the first nine bytes the server sends: HTTP/2 begins with the server's SETTINGS frame
/// (a length of at most 16384, type 4, no flags, stream 0). Anything else is said at once,
/// where h2 would wait for a garbage length's worth of bytes.
struct Preface<S> {
    inner: S,
    seen: usize,
    /// Set once the server has sent a byte.
    heard: Arc<AtomicBool>,
}

impl<S> Preface<S> {
    fn new(inner: S, heard: Arc<AtomicBool>) -> Self {
        Preface { inner, seen: 0, heard }
    }

    /// Whether `byte` can stand at `index` of a SETTINGS frame header.
    fn fits(index: usize, byte: u8) -> bool {
        match index {
            0 => byte == 0,
            1 => byte <= 0x40,
            3 => byte == 4,
            4..=8 => byte == 0,
            _ => true,
        }
    }
}

/// The error a read returns when the server does not speak HTTP/2.
#[derive(Debug)]
struct NotHttp2 {
    /// The server's first bytes are a TLS record: a TLS port asked in plain text.
    speaks_tls: bool,
}

impl std::fmt::Display for NotHttp2 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.speaks_tls {
            true => f.write_str(&PROTOCOL.speaks_tls()),
            false => f.write_str("the answer is not HTTP/2"),
        }
    }
}

impl std::error::Error for NotHttp2 {}

impl<S: AsyncRead + Unpin> AsyncRead for Preface<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        std::task::ready!(Pin::new(&mut self.inner).poll_read(cx, buf))?;
        if buf.filled().len() > before {
            self.heard.store(true, Ordering::Relaxed);
        }
        for &byte in buf.filled()[before..].iter().take(9usize.saturating_sub(self.seen)) {
            if !Self::fits(self.seen, byte) {
                // A read may end after the record's first byte: that alone is no HTTP/2 either.
                let first = &buf.filled()[before..];
                let speaks_tls =
                    self.seen == 0 && (net::is_tls_record(first) || matches!(first, [0x15 | 0x16]));
                return Poll::Ready(Err(io::Error::new(io::ErrorKind::InvalidData, NotHttp2 { speaks_tls })));
            }
            self.seen += 1;
        }
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Preface<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// A stream whose shutdown, after sending its own end (FIN, or TLS close_notify and FIN), reads
/// and discards until the server closes too. Closing the socket while the server's last frames
/// are still arriving would answer them with a TCP reset, which servers log as an error.
struct Linger<S> {
    inner: S,
    shut: bool,
}

impl<S> Linger<S> {
    fn new(inner: S) -> Self {
        Linger { inner, shut: false }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Linger<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for Linger<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if !self.shut {
            std::task::ready!(Pin::new(&mut self.inner).poll_shutdown(cx))?;
            self.shut = true;
        }
        let mut scratch = [0u8; 512];
        loop {
            let mut buf = ReadBuf::new(&mut scratch);
            match std::task::ready!(Pin::new(&mut self.inner).poll_read(cx, &mut buf)) {
                Ok(()) if buf.filled().is_empty() => return Poll::Ready(Ok(())),
                Ok(()) => continue,
                // A peer that resets or ends TLS untidily has closed all the same.
                Err(_) => return Poll::Ready(Ok(())),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(text: &str) -> Result<(String, Option<bool>), String> {
        parse_target(text).map(|(address, tls)| {
            let shown = match address {
                Address::Tcp(target) => target.to_string(),
                Address::Unix(path) => format!("unix {}", path.display()),
            };
            (shown, tls)
        })
    }

    #[test]
    fn targets_read_as_grpc_clients_write_them() {
        let ok = |text: &str, shown: &str, tls: Option<bool>| {
            assert_eq!(target(text), Ok((shown.to_owned(), tls)), "{text}");
        };
        ok("127.0.0.1:50051", "127.0.0.1:50051", None);
        ok("[::1]:50051", "[::1]:50051", None);
        ok("grpc://svc.ns:80", "svc.ns:80", Some(false));
        ok("GRPCS://svc.ns:443/", "svc.ns:443", Some(true));
        ok(":50051", "localhost:50051", None);
        ok("unix:///run/app.sock", "unix /run/app.sock", None);
        ok("unix:app.sock", "unix app.sock", None);
        ok("unix:/run/app.sock", "unix /run/app.sock", None);
    }

    #[test]
    fn bad_targets_say_why() {
        let cases = [
            ("svc", "port is missing"),
            ("svc:0", "not a port"),
            ("http://svc:80", "'http://' is not a gRPC target"),
            ("unix://run/app.sock", "unix:///absolute/path"),
            ("unix:", "path is missing"),
            ("grpcs://", "port is missing"),
            (":x", "the port is not a number"),
        ];
        for (text, expected) in cases {
            let err = target(text).expect_err(text);
            assert!(err.contains(expected), "{text}: {err}");
        }
    }

    #[test]
    fn metadata_is_checked_without_quoting_values() {
        let map =
            metadata(&["Authorization: Bearer abc".into(), "x-id: 1".into(), "x-id: 2".into()]).unwrap();
        assert_eq!(map.get("authorization").unwrap(), "Bearer abc");
        assert_eq!(map.get_all("x-id").iter().count(), 2);
        for (header, expected) in [
            ("nocolon-secret", "'key: value'"),
            ("bad key: secret", "a metadata key is made of"),
            (":path: secret", "a metadata key is made of"),
            ("grpc-timeout: secret", "set by probe"),
            ("te: secret", "set by probe"),
            ("x: sec\u{1}ret", "cannot carry"),
        ] {
            let err = metadata(&[header.to_owned()]).unwrap_err().to_string();
            assert!(err.contains(expected) && !err.contains("secret"), "{header}: {err}");
        }
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("metadata");
        std::fs::write(&file, "authorization: Bearer abc\r\n\nx-id: 3\n").unwrap();
        let map = metadata(&[format!("@{}", file.display())]).unwrap();
        assert_eq!(
            (map["authorization"].to_str().unwrap(), map["x-id"].to_str().unwrap()),
            ("Bearer abc", "3")
        );
        std::fs::write(&file, "x-id: 1\nauthorization Bearer secret: x\n").unwrap();
        let err = metadata(&[format!("@{}", file.display())]).unwrap_err().to_string();
        assert!(err.contains(", line 2: a metadata key") && !err.contains("secret"), "{err}");
        let err = metadata(&["@/nonexistent/metadata".to_owned()]).unwrap_err().to_string();
        assert_eq!(err, "-H @/nonexistent/metadata: cannot read it: no such file or directory");
    }

    #[test]
    fn the_time_left_fits_grpc_timeout() {
        assert_eq!(grpc_timeout(Duration::from_millis(900)), "900000u");
        assert_eq!(grpc_timeout(Duration::ZERO), "1u");
        assert_eq!(grpc_timeout(Duration::from_secs(3600)), "3600000m");
    }

    #[test]
    fn grpc_messages_are_decoded_and_kept_to_one_line() {
        assert_eq!(percent_decode(b"missing%20token%"), "missing token%");
        assert_eq!(percent_decode(b"caf%C3%A9"), "café");
        assert_eq!(printable("a\nb"), "a b");
        assert_eq!(printable(&"x".repeat(300)).chars().count(), 201);
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn any_target_or_header_parses_or_says_why_in_one_line(text in "[^@].*") {
            if let Err(why) = parse_target(&text) {
                prop_assert!(!why.is_empty() && !why.contains('\n'));
            }
            if let Err(why) = metadata(std::slice::from_ref(&text)).map_err(|why| why.to_string()) {
                let why = why.to_string();
                prop_assert!(!why.contains('\n'));
                // The value (after the colon) is never part of the message.
                if let Some((name, value)) = text.split_once(':')
                    && value.trim().len() > 3
                    && !name.to_ascii_lowercase().contains(&value.trim().to_ascii_lowercase())
                {
                    prop_assert!(!why.contains(value.trim()), "{why}");
                }
            }
        }
    }
}
