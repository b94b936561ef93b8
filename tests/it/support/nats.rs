//! A throwaway nats-server on its own port, in its own temp dir, with whatever `authorization`
//! and `tls` blocks (or operator mode, from `jwt`) a case needs; its log (with -D: every client's
//! close) read by the tests.

use std::process::{Command, Stdio};

use super::process;

pub mod jwt;

pub struct Nats {
    pub server: process::Server,
    pub dir: tempfile::TempDir,
}

/// The nats-server binary: Debian's is in /usr/sbin, which a non-root PATH may lack.
fn binary() -> &'static str {
    if std::path::Path::new("/usr/sbin/nats-server").exists() {
        "/usr/sbin/nats-server"
    } else {
        "nats-server"
    }
}

impl Nats {
    /// A server with `config` (nats-server's configuration syntax) after its `listen` line.
    pub fn start(config: &str) -> Nats {
        let dir = tempfile::Builder::new().prefix("probe-nats-").tempdir().expect("temp dir");
        let log = dir.path().join("nats.log");
        let conf = dir.path().join("nats.conf");
        let server = process::start("nats-server", &log, "Server is ready", |port| {
            std::fs::write(&conf, format!("listen: 127.0.0.1:{port}\n{config}\n")).expect("write nats.conf");
            let mut command = Command::new(binary());
            command.arg("-c").arg(&conf).arg("-D").arg("-l").arg(&log);
            command.stdout(Stdio::null()).stderr(Stdio::null());
            command
        });
        Nats { server, dir }
    }

    pub fn port(&self) -> u16 {
        self.server.port
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port())
    }

    /// The log's lines that say a client connection closed, and every error or warning line.
    pub fn complaints(&self) -> Vec<String> {
        self.server
            .log_text()
            .lines()
            .filter(|line| line.contains("[ERR]") || line.contains("[WRN]"))
            .map(str::to_owned)
            .collect()
    }
}
