//! A throwaway gRPC server: Python's grpcio with the standard health service
//! (`grpc_server.py` beside this file), from the venv scripts/test fills, on ephemeral IPv4 and
//! IPv6 ports and optionally a unix socket, stopped when its handle is dropped.

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
        let socket = options.unix.then(|| dir.path().join("grpc.sock"));
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
