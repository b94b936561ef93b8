//! A throwaway redis-server on its own port, nothing saved to disk, with whatever extra
//! configuration a case needs (`requirepass`, ACL users, TLS, `replicaof`).

use std::process::{Command, Stdio};

use super::{INSTALL_HINT, process};

pub struct Redis {
    pub server: process::Server,
    pub dir: tempfile::TempDir,
}

impl Redis {
    pub fn start() -> Redis {
        Self::with_args(&[])
    }

    /// A server with extra `redis-server` arguments, e.g. `["--requirepass", "pw"]`.
    pub fn with_args(args: &[&str]) -> Redis {
        let dir = tempfile::Builder::new().prefix("probe-redis-").tempdir().expect("temp dir");
        let log = dir.path().join("redis.log");
        let server = process::start("redis-server", &log, "Ready to accept connections", |port| {
            let mut command = Command::new("redis-server");
            command.args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ]);
            command.arg("--dir").arg(dir.path()).arg("--logfile").arg(&log);
            command.args(args).stdout(Stdio::null()).stderr(Stdio::null());
            command
        });
        Redis { server, dir }
    }

    pub fn port(&self) -> u16 {
        self.server.port
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port())
    }

    /// Runs a command with redis-cli (`-a` for a password) and returns its raw output.
    pub fn cli(&self, password: Option<&str>, args: &[&str]) -> String {
        let mut command = Command::new("redis-cli");
        command.args(["-p", &self.port().to_string()]);
        if let Some(password) = password {
            command.env("REDISCLI_AUTH", password);
        }
        let output = command
            .args(args)
            .output()
            .unwrap_or_else(|err| panic!("cannot run redis-cli: {err}; {INSTALL_HINT}"));
        assert!(output.status.success(), "redis-cli {args:?}:\n{}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    }
}
