//! Throwaway memcached servers from Debian's `memcached` package, each on its own port in a
//! temp dir: plain, with SASL (`-S`, a sasldb made by `saslpasswd2`, found through a SASL
//! config in the temp dir that SASL_CONF_PATH names), and on a unix socket.

use std::{
    fs,
    io::Write,
    path::PathBuf,
    process::{Command, Stdio},
};

use super::process;

pub const INSTALL_HINT: &str = "run scripts/test, which installs memcached and sasl2-bin with apt-get";

pub struct Memcached {
    pub server: process::Server,
    pub dir: tempfile::TempDir,
}

impl Memcached {
    /// A server on 127.0.0.1 and a port of its own.
    pub fn start() -> Memcached {
        Self::launch(&[], None)
    }

    /// A server that takes only SASL logins (`-S`), knowing `user` with `password`.
    pub fn sasl(user: &str, password: &str) -> Memcached {
        Self::launch(&["-S"], Some((user, password)))
    }

    /// A server on a unix socket too (`self.socket()`), and on a port the tests leave alone.
    pub fn unix() -> Memcached {
        Self::launch(&["-s", "{dir}/memcached.sock", "-a", "0700"], None)
    }

    fn launch(args: &[&str], login: Option<(&str, &str)>) -> Memcached {
        let dir = tempfile::Builder::new().prefix("probe-memcached-").tempdir().expect("temp dir");
        let here = dir.path().to_str().expect("a UTF-8 path").to_owned();
        if let Some((user, password)) = login {
            let sasldb = dir.path().join("sasldb");
            // In /usr/sbin, which a user's PATH may lack.
            let program = if std::path::Path::new("/usr/sbin/saslpasswd2").exists() {
                "/usr/sbin/saslpasswd2"
            } else {
                "saslpasswd2"
            };
            let mut saslpasswd2 = Command::new(program)
                .args(["-p", "-c", "-a", "memcached", "-f"])
                .arg(&sasldb)
                .arg(user)
                .stdin(Stdio::piped())
                .spawn()
                .unwrap_or_else(|err| panic!("cannot run saslpasswd2: {err}; {INSTALL_HINT}"));
            saslpasswd2.stdin.take().expect("stdin").write_all(password.as_bytes()).expect("password");
            assert!(saslpasswd2.wait().expect("saslpasswd2").success(), "saslpasswd2 failed");
            let conf = format!("mech_list: plain\nsasldb_path: {}\n", sasldb.display());
            fs::write(dir.path().join("memcached.conf"), conf).expect("SASL config");
        }
        let args: Vec<String> = args.iter().map(|arg| arg.replace("{dir}", &here)).collect();
        let log = dir.path().join("memcached.log");
        let server = process::start("memcached", &log, "server listening", |port| {
            let mut command = Command::new("memcached");
            command.args(["-l", "127.0.0.1", "-p", &port.to_string(), "-U", "0", "-vv"]);
            // SAFETY: geteuid has no preconditions.
            if unsafe { libc::geteuid() } == 0 {
                command.args(["-u", "root"]);
            }
            command.args(&args).env("SASL_CONF_PATH", &here);
            let stderr = fs::File::create(&log).expect("log file");
            command.stdout(Stdio::null()).stderr(stderr);
            command
        });
        Memcached { server, dir }
    }

    pub fn port(&self) -> u16 {
        self.server.port
    }

    pub fn target(&self) -> String {
        format!("127.0.0.1:{}", self.port())
    }

    pub fn socket(&self) -> PathBuf {
        self.dir.path().join("memcached.sock")
    }

    pub fn log(&self) -> String {
        self.server.log_text()
    }
}
