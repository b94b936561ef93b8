//! A throwaway MariaDB: `mariadb-install-db` once per version into a template, copied into a
//! temp dir per server; `mariadbd` on its own port and socket, run as root with `--user=root`
//! (or as the invoking user), never the machine's own on 3306. Users for each authentication
//! plugin, TLS on demand, replicas, and a network namespace to be a non-loopback client from.

use std::{
    fs,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    sync::atomic::{AtomicU32, Ordering},
    thread,
    time::{Duration, Instant},
};

use super::{INSTALL_HINT, certs::Pair, process};

/// `mysql_native_password`, owns the database `shop`, may read replication status.
pub const APP_USER: &str = "app";
pub const APP_PASSWORD: &str = "app-Secret-9d1";
/// `ed25519` (MariaDB's client_ed25519), a password that is not 32 bytes long.
pub const ED_USER: &str = "edd";
pub const ED_PASSWORD: &str = "ed-Secret-2c8f";
/// `REQUIRE SSL`.
pub const TLS_USER: &str = "secure";
pub const TLS_PASSWORD: &str = "tls-Secret-41b";
pub const DATABASE: &str = "shop";

pub struct Mariadb {
    pub server: process::Server,
    pub dir: tempfile::TempDir,
    pub socket: PathBuf,
}

#[derive(Default)]
pub struct Options<'a> {
    /// Extra mariadbd options, e.g. `--max-connections=2`.
    pub args: &'a [&'a str],
    /// A server certificate and the CA that client certificates must come from.
    pub tls: Option<(&'a Pair, &'a Path)>,
    /// The address to listen on instead of 127.0.0.1.
    pub bind: Option<&'a str>,
}

impl Mariadb {
    pub fn start() -> Mariadb {
        Self::with(Options::default())
    }

    pub fn with(options: Options<'_>) -> Mariadb {
        let dir = tempfile::Builder::new().prefix("probe-mariadb-").tempdir().expect("temp dir");
        let data = dir.path().join("data");
        let copied = Command::new("cp").arg("-a").arg(template()).arg(&data).status().expect("cp");
        assert!(copied.success(), "cannot copy the MariaDB template");
        let socket = dir.path().join("mysqld.sock");
        let log = dir.path().join("error.log");
        let bind = options.bind.unwrap_or("127.0.0.1");
        let server =
            process::start_stopped_by("mariadbd", &log, "ready for connections", libc::SIGTERM, |port| {
                let mut command = Command::new(mariadbd());
                command.arg("--no-defaults").arg(format!("--datadir={}", data.display()));
                command.arg(format!("--socket={}", socket.display()));
                command.arg(format!("--port={port}")).arg(format!("--bind-address={bind}"));
                command.arg(format!("--log-error={}", log.display()));
                command.arg(format!("--pid-file={}", dir.path().join("mysqld.pid").display()));
                command.args([
                    "--innodb-log-file-size=4M",
                    "--innodb-buffer-pool-size=16M",
                    "--log-warnings=2",
                ]);
                command.args([
                    "--skip-innodb-doublewrite",
                    "--innodb-flush-log-at-trx-commit=0",
                    "--max-allowed-packet=4M",
                ]);
                if is_root() {
                    command.arg("--user=root");
                }
                if let Some((pair, ca)) = options.tls {
                    command.arg(format!("--ssl-cert={}", pair.cert.display()));
                    command.arg(format!("--ssl-key={}", pair.key.display()));
                    command.arg(format!("--ssl-ca={}", ca.display()));
                }
                command.args(options.args);
                command.stdout(Stdio::null()).stderr(Stdio::null());
                command
            });
        let mariadb = Mariadb { server, dir, socket };
        // Not in the binary log, so that a replica copied from the same template does not
        // replay it.
        mariadb.sql(&format!(
            "SET sql_log_bin=0; INSTALL SONAME 'auth_ed25519'; CREATE DATABASE {DATABASE};
             CREATE USER {APP_USER}@'%' IDENTIFIED BY '{APP_PASSWORD}';
             GRANT ALL ON {DATABASE}.* TO {APP_USER}@'%'; GRANT SLAVE MONITOR ON *.* TO {APP_USER}@'%';
             CREATE USER {ED_USER}@'%' IDENTIFIED VIA ed25519 USING PASSWORD('{ED_PASSWORD}');
             GRANT ALL ON {DATABASE}.* TO {ED_USER}@'%';
             CREATE USER {TLS_USER}@'%' IDENTIFIED BY '{TLS_PASSWORD}' REQUIRE SSL;
             CREATE USER repl@'%' IDENTIFIED BY 'repl-pw'; GRANT REPLICATION SLAVE ON *.* TO repl@'%';"
        ));
        mariadb
    }

    /// A replica of this server (which must run with `--log-bin --server-id=1`), replicating.
    pub fn replica(&self) -> Mariadb {
        let status = self.sql("SHOW MASTER STATUS");
        let mut fields = status.split('\t');
        let (file, position) = (fields.next().expect("binlog file"), fields.next().expect("binlog position"));
        let replica =
            Mariadb::with(Options { args: &["--server-id=2", "--read-only"], ..Options::default() });
        replica.sql(&format!(
            "CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT={}, MASTER_USER='repl',
             MASTER_PASSWORD='repl-pw', MASTER_LOG_FILE='{file}', MASTER_LOG_POS={position},
             MASTER_CONNECT_RETRY=1; START SLAVE",
            self.port()
        ));
        replica.wait_for_replication(|io, sql| io == "Yes" && sql == "Yes");
        replica
    }

    /// Waits until the replication threads' states (I/O, SQL) satisfy `done`.
    pub fn wait_for_replication(&self, done: impl Fn(&str, &str) -> bool) {
        let until = Instant::now() + Duration::from_secs(20);
        loop {
            let status = self.client(&["-E"], "SHOW SLAVE STATUS");
            let field = |name: &str| {
                status
                    .lines()
                    .find_map(|line| line.trim().strip_prefix(name)?.strip_prefix(": "))
                    .unwrap_or("")
            };
            if done(field("Slave_IO_Running"), field("Slave_SQL_Running")) {
                return;
            }
            assert!(Instant::now() < until, "replication did not get there:\n{status}");
            thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn port(&self) -> u16 {
        self.server.port
    }

    /// A TCP URL to 127.0.0.1 for `user` and `password` (none when empty).
    pub fn url(&self, user: &str, password: &str, database: &str) -> String {
        let password = if password.is_empty() { String::new() } else { format!(":{password}") };
        format!("mysql://{user}{password}@127.0.0.1:{}/{database}", self.port())
    }

    /// The `app` user's TCP URL to `shop`.
    pub fn app_url(&self) -> String {
        self.url(APP_USER, APP_PASSWORD, DATABASE)
    }

    pub fn socket_str(&self) -> &str {
        self.socket.to_str().expect("a UTF-8 path")
    }

    /// Runs SQL as root over the socket and returns the client's tab-separated output.
    pub fn sql(&self, sql: &str) -> String {
        self.client(&["-N", "-B"], sql)
    }

    /// The mariadb client as root over the socket, with `options`, running `sql`.
    pub fn client(&self, options: &[&str], sql: &str) -> String {
        let output = Command::new("mariadb")
            .args(["--no-defaults", "-u", "root", "-S"])
            .arg(&self.socket)
            .args(options)
            .arg("-e")
            .arg(sql)
            .output()
            .unwrap_or_else(|err| panic!("cannot run mariadb: {err}; {INSTALL_HINT}"));
        assert!(output.status.success(), "mariadb -e {sql}:\n{}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    }

    /// The server's error log.
    pub fn log_text(&self) -> String {
        self.server.log_text()
    }
}

fn mariadbd() -> PathBuf {
    ["/usr/sbin/mariadbd", "/usr/bin/mariadbd", "/usr/sbin/mysqld"]
        .iter()
        .map(PathBuf::from)
        .find(|path| path.exists())
        .unwrap_or_else(|| panic!("no mariadbd; {INSTALL_HINT}"))
}

/// A data directory made by `mariadb-install-db` once per server version, under the target
/// directory, and copied for each server (installing takes seconds, copying a moment).
fn template() -> PathBuf {
    let version = Command::new(mariadbd())
        .arg("--version")
        .output()
        .unwrap_or_else(|err| panic!("cannot run mariadbd: {err}; {INSTALL_HINT}"));
    let version = String::from_utf8_lossy(&version.stdout);
    let version = version.split_whitespace().nth(2).unwrap_or("unknown").to_owned();
    let base = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let template = base.join(format!("mariadb-template-{version}"));
    if template.join("mysql").exists() {
        return template;
    }
    let staging = tempfile::Builder::new().prefix("mariadb-install-").tempdir_in(&base).expect("temp dir");
    let data = staging.path().join("data");
    let mut install = Command::new("mariadb-install-db");
    install.arg("--no-defaults").arg(format!("--datadir={}", data.display()));
    install.args(["--auth-root-authentication-method=normal", "--skip-test-db", "--innodb-log-file-size=4M"]);
    if is_root() {
        install.arg("--user=root");
    }
    let output =
        install.output().unwrap_or_else(|err| panic!("cannot run mariadb-install-db: {err}; {INSTALL_HINT}"));
    assert!(
        output.status.success(),
        "mariadb-install-db failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // Another test process may have got there first; either template will do.
    if fs::rename(&data, &template).is_err() {
        assert!(template.join("mysql").exists(), "no MariaDB template at {}", template.display());
    }
    template
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// A network namespace of the test's own, joined to this one by a veth pair: the only place
/// its 10.x addresses exist. From inside, connections to `host_ip` come from `inner_ip`, a
/// non-loopback address, which MariaDB's host cache (and max_connect_errors) applies to.
pub struct Netns {
    pub name: String,
    link: String,
    pub host_ip: String,
    pub inner_ip: String,
}

impl Netns {
    /// Needs root and `ip`; says why when it cannot be made.
    pub fn create() -> Result<Netns, String> {
        static COUNT: AtomicU32 = AtomicU32::new(0);
        let n = COUNT.fetch_add(1, Ordering::Relaxed);
        let pid = std::process::id();
        let (name, link) = (format!("probe-mysql-{pid}-{n}"), format!("pm{}x{n}", pid % 1_000_000));
        let (third, fourth) = (pid % 250, (n % 60) * 4);
        let host_ip = format!("10.213.{third}.{}", fourth + 1);
        let inner_ip = format!("10.213.{third}.{}", fourth + 2);
        let netns = Netns {
            name: name.clone(),
            link: link.clone(),
            host_ip: host_ip.clone(),
            inner_ip: inner_ip.clone(),
        };
        let peer = format!("{link}p");
        let steps: Vec<Vec<String>> = vec![
            vec!["netns".into(), "add".into(), name.clone()],
            vec![
                "link".into(),
                "add".into(),
                link.clone(),
                "type".into(),
                "veth".into(),
                "peer".into(),
                "name".into(),
                peer.clone(),
                "netns".into(),
                name.clone(),
            ],
            vec!["addr".into(), "add".into(), format!("{host_ip}/30"), "dev".into(), link.clone()],
            vec!["link".into(), "set".into(), link.clone(), "up".into()],
            vec![
                "-n".into(),
                name.clone(),
                "addr".into(),
                "add".into(),
                format!("{inner_ip}/30"),
                "dev".into(),
                peer.clone(),
            ],
            vec!["-n".into(), name.clone(), "link".into(), "set".into(), peer, "up".into()],
            vec!["-n".into(), name.clone(), "link".into(), "set".into(), "lo".into(), "up".into()],
        ];
        for step in steps {
            let output =
                Command::new("ip").args(&step).output().map_err(|err| format!("cannot run ip: {err}"))?;
            if !output.status.success() {
                return Err(format!(
                    "ip {}: {}",
                    step.join(" "),
                    String::from_utf8_lossy(&output.stderr).trim()
                ));
            }
        }
        // The pair carries traffic once both ends are up (IPv4 has no duplicate address wait).
        let until = Instant::now() + Duration::from_secs(5);
        let state = format!("/sys/class/net/{link}/operstate");
        while fs::read_to_string(&state).map(|s| s.trim() != "up").unwrap_or(true) && Instant::now() < until {
            thread::sleep(Duration::from_millis(20));
        }
        Ok(netns)
    }

    /// `program` run inside the namespace.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut command = Command::new("ip");
        command.args(["netns", "exec", &self.name]).arg(program);
        command
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        // Deleting the namespace deletes the peer end, and with it the pair.
        let _ = Command::new("ip").args(["link", "del", &self.link]).stderr(Stdio::null()).status();
        let _ = Command::new("ip").args(["netns", "del", &self.name]).stderr(Stdio::null()).status();
    }
}
