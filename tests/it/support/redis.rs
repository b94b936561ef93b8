//! A throwaway redis-server on its own port, nothing saved to disk, with whatever extra
//! configuration a case needs (`requirepass`, ACL users, TLS, `replicaof`).

use std::{
    path::Path,
    process::{Command, Stdio},
};

use super::{INSTALL_HINT, certs::Pair, process};

fn path(path: &Path) -> String {
    path.to_str().expect("a UTF-8 path").to_owned()
}

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
        let args: Vec<String> = args.iter().map(|arg| arg.to_string()).collect();
        Self::launch("Ready to accept connections", move |port| {
            let mut all = vec!["--port".to_owned(), port.to_string()];
            all.extend(args.iter().cloned());
            all
        })
    }

    /// A server listening for TLS only, presenting `server`; with `ca`, it demands client
    /// certificates signed by it.
    pub fn tls(server: &Pair, ca: &Path, demand_client_cert: bool) -> Redis {
        let mut args: Vec<String> =
            vec!["--tls-cert-file".into(), path(&server.cert), "--tls-key-file".into()];
        args.extend([path(&server.key), "--tls-ca-cert-file".into(), path(ca), "--tls-auth-clients".into()]);
        args.push(if demand_client_cert { "yes" } else { "no" }.into());
        Self::launch("Ready to accept connections", move |port| {
            let mut all =
                vec!["--port".to_owned(), "0".to_owned(), "--tls-port".to_owned(), port.to_string()];
            all.extend(args.iter().cloned());
            all
        })
    }

    /// Starts redis-server with the arguments `args_for` gives for a port, in its own temp dir,
    /// and returns once its log shows `ready`.
    pub fn launch(ready: &str, args_for: impl Fn(u16) -> Vec<String>) -> Redis {
        let dir = tempfile::Builder::new().prefix("probe-redis-").tempdir().expect("temp dir");
        Self::launch_in(dir, ready, args_for)
    }

    /// Like `launch`, in a directory that may hold a dump to load.
    pub fn launch_in(dir: tempfile::TempDir, ready: &str, args_for: impl Fn(u16) -> Vec<String>) -> Redis {
        let log = dir.path().join("redis.log");
        let server = process::start("redis-server", &log, ready, |port| {
            let mut command = Command::new("redis-server");
            command.args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]);
            command.arg("--dir").arg(dir.path()).arg("--logfile").arg(&log);
            command.args(args_for(port)).stdout(Stdio::null()).stderr(Stdio::null());
            command
        });
        Redis { server, dir }
    }

    /// A server on a unix socket too (and on a port, which the tests leave alone), with extra
    /// `redis-server` arguments; the socket's path is `self.socket()`.
    pub fn unix(args: &[&str]) -> Redis {
        let dir = tempfile::Builder::new().prefix("probe-redis-").tempdir().expect("temp dir");
        let socket = path(&dir.path().join("redis.sock"));
        let args: Vec<String> = args.iter().map(|arg| arg.to_string()).collect();
        Self::launch_in(dir, "Ready to accept connections", move |port| {
            let mut all =
                vec!["--port".to_owned(), port.to_string(), "--unixsocket".to_owned(), socket.clone()];
            all.extend(args.iter().cloned());
            all
        })
    }

    /// The unix socket of a server started with `Redis::unix`.
    pub fn socket(&self) -> String {
        path(&self.dir.path().join("redis.sock"))
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
        command.args(["-h", "127.0.0.1", "-p", &self.port().to_string()]);
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
