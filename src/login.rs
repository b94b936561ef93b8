//! What the checks that log in share on the command line: the password file, the role a server
//! must be in (one `Role` for every check), and, for the SQL servers, `--query` and `--ping`,
//! which decide the `Mode` of an attempt. Each check flattens the groups it takes.

use std::path::PathBuf;

use crate::secret::{Secret, read_password_file};

/// `--password-file`, for every check that sends a password.
#[derive(Debug, Default, clap::Args)]
pub struct PasswordArgs {
    /// Read the password from FILE (one trailing newline is ignored); used when the target
    /// itself carries none. An empty file is refused.
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
}

impl PasswordArgs {
    /// The file's password, read now so that an unreadable or empty file is a usage error.
    pub fn read(&self) -> anyhow::Result<Option<Secret>> {
        self.password_file.as_deref().map(read_password_file).transpose()
    }
}

/// The role a server must be in for `--expect-role`. Redis's words are accepted too: `master`
/// for primary.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Role {
    #[value(alias = "master")]
    Primary,
    #[value(alias = "slave")]
    Replica,
}

/// `--query`, `--expect-role` and `--ping`, as the SQL checks (postgres, mysql) take them.
#[derive(Debug, clap::Args)]
pub struct SqlArgs {
    /// Run this SQL after logging in; an SQL error is unhealthy.
    #[arg(long, value_name = "SQL", conflicts_with = "ping")]
    pub query: Option<String>,

    /// Healthy only on a server in this role (see the check's manual page for how it is read).
    #[arg(long, value_enum, value_name = "ROLE", conflicts_with = "ping")]
    pub expect_role: Option<Role>,

    /// The server's own readiness check (pg_isready's, mysqladmin ping's): alive when it
    /// answers a login attempt with anything but "starting up" or "shutting down". Needs no
    /// credentials.
    #[arg(long)]
    pub ping: bool,
}

/// What an attempt of a SQL check does after connecting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Only whether the server accepts connections: no login needed.
    Ping,
    /// Log in, then run the query and judge the role, if asked.
    Login { query: Option<String>, expect_role: Option<Role> },
}

impl SqlArgs {
    pub fn mode(self) -> Mode {
        match self.ping {
            true => Mode::Ping,
            false => Mode::Login { query: self.query, expect_role: self.expect_role },
        }
    }
}
