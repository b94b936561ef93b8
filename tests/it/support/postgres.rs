//! A throwaway PostgreSQL: `initdb` into a temp dir, `postgres` on its own port and socket
//! directory, SCRAM passwords for TCP logins. Runs as the `postgres` user when the tests run as
//! root, since PostgreSQL refuses to run as root.

use std::{
    fs,
    os::unix::{fs::PermissionsExt, process::CommandExt},
    path::{Path, PathBuf},
    process::{Command, Stdio},
};

use super::{INSTALL_HINT, process};

pub struct Postgres {
    pub server: process::Server,
    pub dir: tempfile::TempDir,
    pub socket_dir: PathBuf,
    bin: PathBuf,
}

/// Users every server has: a superuser reached over the socket without a password, and `app`
/// with a SCRAM password over TCP.
pub const APP_USER: &str = "app";
pub const APP_PASSWORD: &str = "app-Secret-7f3";

impl Postgres {
    /// A server with the default settings and the `app` user.
    pub fn start() -> Postgres {
        Self::with_settings(&[])
    }

    /// A server with extra `postgresql.conf` settings, e.g. `("max_connections", "3")`.
    pub fn with_settings(settings: &[(&str, &str)]) -> Postgres {
        let bin = bin_dir();
        let dir = tempfile::Builder::new().prefix("probe-pg-").tempdir().expect("temp dir");
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).expect("chmod");
        let data = dir.path().join("data");
        let socket_dir = dir.path().join("socket");
        for path in [&data, &socket_dir] {
            fs::create_dir(path).expect("mkdir");
            chown_to_postgres(path);
        }
        let initdb = as_postgres(bin.join("initdb"))
            .args(["--auth-local=trust", "--auth-host=scram-sha-256", "--username=postgres", "--no-sync"])
            .args(["--encoding=UTF8", "--locale=C", "-D"])
            .arg(&data)
            .output()
            .unwrap_or_else(|err| panic!("cannot run initdb: {err}; {INSTALL_HINT}"));
        assert!(initdb.status.success(), "initdb failed:\n{}", String::from_utf8_lossy(&initdb.stderr));

        let log = dir.path().join("postgres.log");
        let server = process::start("postgres", &log, "ready to accept", |port| {
            let mut command = as_postgres(bin.join("postgres"));
            command.arg("-D").arg(&data).arg("-p").arg(port.to_string()).arg("-k").arg(&socket_dir);
            command.args([
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "fsync=off",
                "-c",
                "log_connections=off",
            ]);
            for (name, value) in settings {
                command.arg("-c").arg(format!("{name}={value}"));
            }
            let log_file = fs::File::create(&log).expect("log file");
            command.stdout(Stdio::null()).stderr(log_file);
            command
        });
        let postgres = Postgres { server, dir, socket_dir, bin };
        postgres.sql(&format!("CREATE ROLE {APP_USER} LOGIN PASSWORD '{APP_PASSWORD}'"));
        postgres
    }

    pub fn port(&self) -> u16 {
        self.server.port
    }

    /// A URL for `user` over TCP; `password` percent-encoding is the caller's business.
    pub fn url(&self, user: &str, password: &str, database: &str) -> String {
        format!("postgres://{user}:{password}@127.0.0.1:{}/{database}", self.port())
    }

    /// Runs SQL as the superuser over the socket and returns psql's unaligned output.
    pub fn sql(&self, sql: &str) -> String {
        let output = Command::new(self.bin.join("psql"))
            .arg("-h")
            .arg(&self.socket_dir)
            .args(["-p", &self.port().to_string(), "-U", "postgres", "-d", "postgres"])
            .args(["-v", "ON_ERROR_STOP=1", "-X", "-A", "-t", "-c", sql])
            .output()
            .unwrap_or_else(|err| panic!("cannot run psql: {err}; {INSTALL_HINT}"));
        assert!(output.status.success(), "psql {sql}:\n{}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    }
}

/// The directory of the newest PostgreSQL server binaries installed (Debian keeps them off PATH).
fn bin_dir() -> PathBuf {
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

/// `program`, run as the `postgres` user when we are root (PostgreSQL refuses root).
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
