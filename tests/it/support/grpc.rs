//! A throwaway gRPC server: Python's grpcio with the standard health service
//! (`grpc_server.py` beside this file), from the venv scripts/test fills, on ephemeral IPv4 and
//! IPv6 ports and optionally a unix socket, stopped when its handle is dropped; a service's
//! status can be changed while it runs.

use std::{
    fs,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    thread,
    time::{Duration, Instant},
};

use super::{certs::Pair, process};

/// Says what to run when grpcio is missing.
pub const GRPC_HINT: &str = "grpcio is missing: run scripts/test, which installs grpcio and \
     grpcio-health-checking from PyPI into target/tools/venv";

/// The venv's Python, which has grpcio and grpcio-health-checking.
pub fn python() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target/tools/venv/bin/python3")
}

/// What the server is started with.
#[derive(Default)]
pub struct Options<'a> {
    /// SERVICE=STATUS pairs for the health service; "" is the whole server.
    pub statuses: &'a [(&'a str, &'a str)],
    /// No health service at all: every Check is UNIMPLEMENTED.
    pub no_health: bool,
    /// Refuse calls without `authorization: Bearer TOKEN` (UNAUTHENTICATED).
    pub token: Option<&'a str>,
    /// Serve TLS with this certificate.
    pub tls: Option<&'a Pair>,
    /// With `tls`, demand a client certificate signed by this CA.
    pub client_ca: Option<&'a Path>,
    /// Seconds each Check sleeps before it answers.
    pub sleep: Option<f64>,
    /// Also listen on a unix socket (in the server's temp dir).
    pub unix: bool,
    /// Also listen on a unix socket at this path (one a client may already be waiting for).
    pub unix_at: Option<&'a Path>,
    /// Log gRPC core's HTTP/2 trace to the server's log (to see how connections end).
    pub debug_log: bool,
}

pub struct Grpc {
    pub dir: tempfile::TempDir,
    pub port: u16,
    pub port6: u16,
    /// The unix socket, when asked for.
    pub socket: Option<PathBuf>,
    child: std::process::Child,
}

impl Grpc {
    /// A server whose overall health is SERVING.
    pub fn serving() -> Grpc {
        Self::start(&Options { statuses: &[("", "SERVING")], ..Options::default() })
    }

    pub fn start(options: &Options<'_>) -> Grpc {
        let python = python();
        assert!(python.exists(), "{GRPC_HINT} ({} not found)", python.display());
        let dir = tempfile::Builder::new().prefix("probe-grpc-").tempdir().expect("temp dir");
        let ready = dir.path().join("ready.json");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/support/grpc_server.py");
        let mut command = Command::new(&python);
        command.arg(script).arg("--ready-file").arg(&ready).arg("--calls-file").arg(dir.path().join("calls"));
        command.arg("--control-file").arg(dir.path().join("control"));
        for (service, status) in options.statuses {
            command.arg("--status").arg(format!("{service}={status}"));
        }
        if options.no_health {
            command.arg("--no-health");
        }
        if let Some(token) = options.token {
            command.args(["--token", token]);
        }
        if let Some(pair) = options.tls {
            command.arg("--tls").arg(&pair.cert).arg(&pair.key);
        }
        if let Some(ca) = options.client_ca {
            command.arg("--client-ca").arg(ca);
        }
        if let Some(seconds) = options.sleep {
            command.args(["--sleep", &seconds.to_string()]);
        }
        let socket = match options.unix_at {
            Some(path) => Some(path.to_path_buf()),
            None => options.unix.then(|| dir.path().join("grpc.sock")),
        };
        if let Some(socket) = &socket {
            command.arg("--unix").arg(socket);
        }
        if options.debug_log {
            command.env("GRPC_VERBOSITY", "debug").env("GRPC_TRACE", "http");
        }
        let log = dir.path().join("server.log");
        command.stdout(Stdio::null()).stderr(fs::File::create(&log).expect("log file"));
        let mut child = process::spawn_for_life(command).unwrap_or_else(|err| panic!("{GRPC_HINT}: {err}"));
        let until = Instant::now() + Duration::from_secs(60);
        let text = loop {
            if let Ok(text) = fs::read_to_string(&ready) {
                break text;
            }
            if let Some(status) = child.try_wait().expect("wait") {
                let log = fs::read_to_string(&log).unwrap_or_default();
                panic!("grpc_server.py exited ({status}) before it was ready:\n{log}\n{GRPC_HINT}");
            }
            assert!(Instant::now() < until, "grpc_server.py was not ready within a minute");
            thread::sleep(Duration::from_millis(20));
        };
        let ready: serde_json::Value = serde_json::from_str(&text).expect("ready line is JSON");
        let port = |key: &str| u16::try_from(ready[key].as_u64().expect("a port")).expect("a port");
        Grpc { port: port("port"), port6: port("port6"), socket, child, dir }
    }

    /// `127.0.0.1:PORT`.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The health calls the server has seen, one JSON object each.
    pub fn calls(&self) -> Vec<serde_json::Value> {
        fs::read_to_string(self.dir.path().join("calls"))
            .unwrap_or_default()
            .lines()
            .map(|line| serde_json::from_str(line).expect("a call is JSON"))
            .collect()
    }

    /// Sets `service`'s status (SERVING, NOT_SERVING, …) while the server runs; the server
    /// applies it within a few tens of milliseconds.
    pub fn set_status(&self, service: &str, status: &str) {
        use std::io::Write;
        let mut control = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("control"))
            .expect("control file");
        control.write_all(format!("{service}={status}\n").as_bytes()).expect("write control file");
    }

    /// What the server wrote to stderr.
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }
}

impl Drop for Grpc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP/2 frame as seen on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub kind: u8,
    pub flags: u8,
    pub stream: u32,
    pub payload: Vec<u8>,
}

pub const DATA: u8 = 0;
pub const HEADERS: u8 = 1;
pub const RST_STREAM: u8 = 3;
pub const SETTINGS: u8 = 4;
pub const GOAWAY: u8 = 7;
pub const END_STREAM: u8 = 1;
pub const END_HEADERS: u8 = 4;

/// A frame's bytes.
pub fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let length = u32::try_from(payload.len()).expect("a short payload").to_be_bytes();
    let mut bytes = vec![length[1], length[2], length[3], kind, flags];
    bytes.extend_from_slice(&stream.to_be_bytes());
    bytes.extend_from_slice(payload);
    bytes
}

/// A HEADERS frame on stream 1 holding `fields` as HPACK literals (no indexing, no Huffman).
pub fn headers(fields: &[(&str, &str)], end_stream: bool) -> Vec<u8> {
    let mut block = Vec::new();
    for (name, value) in fields {
        block.push(0);
        for text in [name, value] {
            block.push(u8::try_from(text.len()).expect("a short header"));
            block.extend_from_slice(text.as_bytes());
        }
    }
    frame(HEADERS, END_HEADERS | if end_stream { END_STREAM } else { 0 }, 1, &block)
}

/// What a scripted HTTP/2 peer saw from the client after it answered.
#[derive(Debug)]
pub struct Seen {
    pub frames: Vec<Frame>,
    /// The client closed with a FIN (read returned 0), not a reset.
    pub clean_eof: bool,
}

/// An HTTP/2 server that reads the client's request (until its END_STREAM on stream 1), answers
/// with its SETTINGS, a SETTINGS ack and `answer`, then reads until the client closes, and
/// reports what the client sent after the request.
pub fn h2_peer(answer: Vec<u8>) -> (std::net::SocketAddr, std::sync::mpsc::Receiver<Seen>) {
    use std::io::{Read, Write};
    let (report, seen) = std::sync::mpsc::channel();
    let addr = super::sockets::serving(Duration::from_secs(5), move |mut stream| {
        let mut preface = [0u8; 24];
        if stream.read_exact(&mut preface).is_err() {
            return;
        }
        let read_frame = |stream: &mut std::net::TcpStream| -> std::io::Result<Option<Frame>> {
            let mut head = [0u8; 9];
            match stream.read(&mut head[..1])? {
                0 => return Ok(None),
                _ => stream.read_exact(&mut head[1..])?,
            }
            let length = u32::from_be_bytes([0, head[0], head[1], head[2]]) as usize;
            let mut payload = vec![0; length];
            stream.read_exact(&mut payload)?;
            let stream_id = u32::from_be_bytes([head[5], head[6], head[7], head[8]]) & 0x7fff_ffff;
            Ok(Some(Frame { kind: head[3], flags: head[4], stream: stream_id, payload }))
        };
        loop {
            match read_frame(&mut stream) {
                Ok(Some(frame)) if frame.stream == 1 && frame.flags & END_STREAM != 0 => break,
                Ok(Some(_)) => {}
                _ => return,
            }
        }
        let mut bytes = frame(SETTINGS, 0, 0, &[]);
        bytes.extend(frame(SETTINGS, 1, 0, &[]));
        bytes.extend(&answer);
        let _ = stream.write_all(&bytes);
        let mut frames = Vec::new();
        let clean_eof = loop {
            match read_frame(&mut stream) {
                Ok(Some(frame)) => frames.push(frame),
                Ok(None) => break true,
                Err(_) => break false,
            }
        };
        let _ = report.send(Seen { frames, clean_eof });
    });
    (addr, seen)
}

/// One request as a real HTTP/2 server (the h2 crate's, with its own HPACK decoder) read it.
#[derive(Debug)]
pub struct Recorded {
    /// The pseudo-headers (`:method`, `:scheme`, `:authority`, `:path`) first, then the headers
    /// in the order the client sent them.
    pub fields: Vec<(String, String)>,
    /// The request's body: the length-prefixed HealthCheckRequest.
    pub body: Vec<u8>,
}

impl Recorded {
    /// Every value of the field `name`.
    pub fn values(&self, name: &str) -> Vec<&str> {
        self.fields.iter().filter(|(key, _)| key == name).map(|(_, value)| value.as_str()).collect()
    }
}

/// A gRPC server made with the h2 crate that answers every request with SERVING and reports
/// each request's headers as decoded: for what grpcio hides from its handlers (`te`,
/// `content-type`, the raw `grpc-timeout`).
pub fn recording_server() -> (std::net::SocketAddr, std::sync::mpsc::Receiver<Recorded>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("address");
    listener.set_nonblocking(true).expect("non-blocking");
    let (report, recorded) = std::sync::mpsc::channel();
    thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_io().build().expect("runtime");
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(answer_serving(socket, report.clone()));
            }
        });
    });
    (addr, recorded)
}

async fn answer_serving(socket: tokio::net::TcpStream, report: std::sync::mpsc::Sender<Recorded>) {
    let Ok(mut connection) = h2::server::handshake(socket).await else { return };
    while let Some(Ok((request, mut respond))) = connection.accept().await {
        let (parts, mut body) = request.into_parts();
        let mut fields = vec![(":method".to_owned(), parts.method.to_string())];
        for (name, value) in [(":scheme", parts.uri.scheme_str()), (":path", Some(parts.uri.path()))] {
            fields.push((name.to_owned(), value.unwrap_or_default().to_owned()));
        }
        let authority = parts.uri.authority().map(ToString::to_string).unwrap_or_default();
        fields.push((":authority".to_owned(), authority));
        for (name, value) in &parts.headers {
            fields.push((name.to_string(), String::from_utf8_lossy(value.as_bytes()).into_owned()));
        }
        let mut message = Vec::new();
        while let Some(Ok(chunk)) = body.data().await {
            let _ = body.flow_control().release_capacity(chunk.len());
            message.extend_from_slice(&chunk);
        }
        let _ = report.send(Recorded { fields, body: message });
        let response = http::Response::builder()
            .status(200)
            .header("content-type", "application/grpc")
            .body(())
            .expect("a response");
        let Ok(mut send) = respond.send_response(response, false) else { return };
        let _ = send.send_data(bytes::Bytes::from_static(&[0, 0, 0, 0, 2, 0x08, 1]), false);
        let mut trailers = http::HeaderMap::new();
        trailers.insert("grpc-status", http::HeaderValue::from_static("0"));
        let _ = send.send_trailers(trailers);
    }
}
