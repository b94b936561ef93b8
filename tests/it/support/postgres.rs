//! A throwaway PostgreSQL: `initdb` into a temp dir, `postgres` on its own port and socket
//! directory, SCRAM passwords for TCP logins, and on demand TLS, extra pg_hba.conf lines and a
//! standby. Runs as the `postgres` user when the tests run as root, since PostgreSQL refuses root.

use std::{
    fs,
    os::unix::{fs::PermissionsExt, process::CommandExt},
    path::{Path, PathBuf},
    process::{Command, Stdio},
};

use super::{INSTALL_HINT, certs::Pair, process};

pub struct Postgres {
    pub server: process::Server,
    pub dir: tempfile::TempDir,
    pub socket_dir: PathBuf,
    bin: PathBuf,
}

/// Every server has a superuser reached over the socket without a password, and `app`, with a
/// SCRAM password over TCP, owning the databases `app` and `orders`.
pub const APP_USER: &str = "app";
pub const APP_PASSWORD: &str = "app-Secret-7f3";

/// What a server is started with beyond the defaults.
#[derive(Default)]
pub struct Options<'a> {
    /// `postgresql.conf` settings, e.g. `("max_connections", "3")`.
    pub settings: &'a [(&'a str, &'a str)],
    /// pg_hba.conf lines placed before the default ones.
    pub hba: &'a [&'a str],
    /// A server certificate and the CA that client certificates must come from.
    pub tls: Option<(&'a Pair, &'a Path)>,
    /// A Linux abstract socket name (without the `@`) the server also listens on.
    pub abstract_socket: Option<&'a str>,
}

impl Postgres {
    pub fn start() -> Postgres {
        Self::with(Options::default())
    }

    pub fn with(options: Options<'_>) -> Postgres {
        let bin = bin_dir();
        let (dir, data, socket_dir) = layout();
        let initdb = as_postgres(bin.join("initdb"))
            .args(["--auth-local=trust", "--auth-host=scram-sha-256", "--username=postgres", "--no-sync"])
            .args(["--encoding=UTF8", "--locale=C", "-D"])
            .arg(&data)
            .output()
            .unwrap_or_else(|err| panic!("cannot run initdb: {err}; {INSTALL_HINT}"));
        assert!(initdb.status.success(), "initdb failed:\n{}", String::from_utf8_lossy(&initdb.stderr));
        if !options.hba.is_empty() {
            let hba = data.join("pg_hba.conf");
            let rest = fs::read_to_string(&hba).expect("pg_hba.conf");
            fs::write(&hba, format!("{}\n{rest}", options.hba.join("\n"))).expect("write pg_hba.conf");
        }
        let mut settings: Vec<(String, String)> =
            options.settings.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        if let Some((pair, ca)) = options.tls {
            for (from, to) in
                [(&pair.cert, "server.crt"), (&pair.key, "server.key"), (&ca.to_owned(), "root.crt")]
            {
                let path = data.join(to);
                fs::copy(from, &path).expect("copy TLS file");
                fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).expect("chmod");
                chown_to_postgres(&path);
            }
            for (k, v) in [
                ("ssl", "on"),
                ("ssl_cert_file", "server.crt"),
                ("ssl_key_file", "server.key"),
                ("ssl_ca_file", "root.crt"),
            ] {
                settings.push((k.to_owned(), v.to_owned()));
            }
        }
        if let Some(name) = options.abstract_socket {
            settings
                .push(("unix_socket_directories".to_owned(), format!("{},@{name}", socket_dir.display())));
        }
        let postgres = launch(bin, dir, data, socket_dir, &settings);
        postgres.sql(&format!("CREATE ROLE {APP_USER} LOGIN PASSWORD '{APP_PASSWORD}'"));
        postgres.sql(&format!("CREATE DATABASE {APP_USER} OWNER {APP_USER}"));
        postgres.sql(&format!("CREATE DATABASE orders OWNER {APP_USER}"));
        postgres
    }

    /// A hot standby of this server, made with `pg_basebackup -R`.
    pub fn standby(&self) -> Postgres {
        let (dir, data, socket_dir) = layout();
        let backup = as_postgres(self.bin.join("pg_basebackup"))
            .arg("-h")
            .arg(&self.socket_dir)
            .args([
                "-p",
                &self.port().to_string(),
                "-U",
                "postgres",
                "-R",
                "-X",
                "stream",
                "--checkpoint=fast",
                "--no-sync",
                "-D",
            ])
            .arg(&data)
            .output()
            .unwrap_or_else(|err| panic!("cannot run pg_basebackup: {err}; {INSTALL_HINT}"));
        assert!(
            backup.status.success(),
            "pg_basebackup failed:\n{}",
            String::from_utf8_lossy(&backup.stderr)
        );
        launch(self.bin.clone(), dir, data, socket_dir, &[])
    }

    pub fn port(&self) -> u16 {
        self.server.port
    }

    /// A URL for `user` over TCP to `database`.
    pub fn url(&self, user: &str, password: &str, database: &str) -> String {
        format!("postgres://{user}:{password}@127.0.0.1:{}/{database}", self.port())
    }

    /// The `app` user's URL to its own database.
    pub fn app_url(&self) -> String {
        self.url(APP_USER, APP_PASSWORD, APP_USER)
    }

    pub fn socket(&self) -> &str {
        self.socket_dir.to_str().expect("a UTF-8 path")
    }

    /// Runs SQL as the superuser over the socket and returns psql's unaligned output.
    pub fn sql(&self, sql: &str) -> String {
        let output =
            self.psql(sql).output().unwrap_or_else(|err| panic!("cannot run psql: {err}; {INSTALL_HINT}"));
        assert!(output.status.success(), "psql {sql}:\n{}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    }

    /// psql as the superuser over the socket, running `sql`, not yet started.
    pub fn psql(&self, sql: &str) -> Command {
        let mut command = Command::new(self.bin.join("psql"));
        command.arg("-h").arg(&self.socket_dir);
        command.args(["-p", &self.port().to_string(), "-U", "postgres", "-d", "postgres"]);
        command.args(["-v", "ON_ERROR_STOP=1", "-X", "-A", "-t", "-c", sql]);
        command
    }
}

fn layout() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::Builder::new().prefix("probe-pg-").tempdir().expect("temp dir");
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).expect("chmod");
    let data = dir.path().join("data");
    let socket_dir = dir.path().join("socket");
    for path in [&data, &socket_dir] {
        fs::create_dir(path).expect("mkdir");
        fs::set_permissions(path, fs::Permissions::from_mode(0o700)).expect("chmod");
        chown_to_postgres(path);
    }
    (dir, data, socket_dir)
}

fn launch(
    bin: PathBuf,
    dir: tempfile::TempDir,
    data: PathBuf,
    socket_dir: PathBuf,
    settings: &[(String, String)],
) -> Postgres {
    let log = dir.path().join("postgres.log");
    let server = process::start("postgres", &log, "ready to accept", |port| {
        let mut command = as_postgres(bin.join("postgres"));
        command.arg("-D").arg(&data).arg("-p").arg(port.to_string()).arg("-k").arg(&socket_dir);
        command.args(["-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"]);
        for (name, value) in settings {
            command.arg("-c").arg(format!("{name}={value}"));
        }
        let log_file = fs::File::create(&log).expect("log file");
        command.stdout(Stdio::null()).stderr(log_file);
        command
    });
    Postgres { server, dir, socket_dir, bin }
}

/// The directory of the newest PostgreSQL server binaries installed (Debian keeps them off PATH).
pub fn bin_dir() -> PathBuf {
    let mut found: Vec<PathBuf> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path().join("bin"))
        .filter(|bin| bin.join("initdb").exists())
        .collect();
    found.sort_by_key(|bin| {
        let version =
            bin.parent().and_then(Path::file_name).and_then(|v| v.to_str()).and_then(|v| v.parse().ok());
        version.unwrap_or(0u32)
    });
    found.pop().unwrap_or_else(|| panic!("no PostgreSQL server under /usr/lib/postgresql; {INSTALL_HINT}"))
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// `program`, run as the `postgres` user when we are root (PostgreSQL refuses root). Setting
/// the uid here, rather than through runuser, keeps the server our direct child, so it dies
/// with the test process.
fn as_postgres(program: PathBuf) -> Command {
    let mut command = Command::new(program);
    if is_root() {
        let (uid, gid) = postgres_ids();
        command.uid(uid).gid(gid);
    }
    command
}

fn chown_to_postgres(path: &Path) {
    if is_root() {
        let (uid, gid) = postgres_ids();
        std::os::unix::fs::chown(path, Some(uid), Some(gid)).expect("chown");
    }
}

fn postgres_ids() -> (u32, u32) {
    let passwd = fs::read_to_string("/etc/passwd").expect("/etc/passwd");
    passwd
        .lines()
        .map(|line| line.split(':').collect::<Vec<_>>())
        .find(|fields| fields.first() == Some(&"postgres") && fields.len() > 3)
        .map(|fields| (fields[2].parse().expect("uid"), fields[3].parse().expect("gid")))
        .unwrap_or_else(|| panic!("no 'postgres' user; {INSTALL_HINT}"))
}
