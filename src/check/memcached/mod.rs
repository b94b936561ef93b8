//! `probe memcached`: without credentials, the text protocol's `version`, healthy on
//! `VERSION …` (as `echo version | nc` and pymemcache's `version()`); with them, the binary
//! protocol's SASL PLAIN login (memcached `-S`, which then speaks only the binary protocol, as
//! libmemcached logs in), then a binary `version`. Error answers are verdicts, quoted. Targets
//! are read in `target`, the protocol spoken in `wire`, over `net`'s stream.

#[cfg(any(test, fuzzing))]
pub mod fuzz;
pub mod target;
pub mod wire;

use std::{io::Write, sync::Arc};

use self::{
    target::{Address, MemcachedTarget},
    wire::{Failure, Line},
};
use super::{Check, Target};
use crate::{
    deadline::Deadline,
    env::Env,
    login::PasswordArgs,
    net::{self, Endpoint, Socket},
    outcome::Verdict,
    quote,
    secret::Secret,
    trace::Trace,
};

#[derive(Debug, clap::Args)]
#[command(after_long_help = crate::docs::environment(&[]))]
pub struct Args {
    /// host[:port] (port 11211 by default), memcached://[user[:password]@]host[:port] or
    /// unix:///path. A target with a user logs in with SASL PLAIN; its password comes from the
    /// URL, else --password-file.
    #[arg(value_name = "TARGET", required = true)]
    targets: Vec<String>,

    #[command(flatten)]
    password: PasswordArgs,
}

impl Args {
    /// Every target read, and the password file, before any I/O.
    pub fn targets(self, _env: &dyn Env) -> anyhow::Result<Vec<Target>> {
        let file_password = self.password.read()?;
        let parsed = self
            .targets
            .iter()
            .map(|text| MemcachedTarget::parse(text).map_err(|why| anyhow::anyhow!("memcached target: {why}")))
            .collect::<anyhow::Result<Vec<_>>>()?;
        if file_password.is_some() && parsed.iter().all(|target| target.username.is_none()) {
            anyhow::bail!(
                "--password-file needs a user to log in as: name one in the target (memcached://user@host)"
            );
        }
        let mut targets = Vec::with_capacity(parsed.len());
        for target in parsed {
            let login = match (target.username, target.password.or_else(|| file_password.clone())) {
                (None, _) => None,
                (Some(user), Some(password)) => Some((user, password)),
                (Some(_), None) => anyhow::bail!(
                    "memcached target {}: a user needs a password, in the URL or with --password-file",
                    target.label
                ),
            };
            let endpoint = match target.address {
                Address::Tcp(host) => Endpoint::Tcp(host),
                Address::Unix(path) => Endpoint::Unix(path),
            };
            targets.push(Target { label: target.label, check: Arc::new(Memcached { endpoint, login }) });
        }
        Ok(targets)
    }
}

struct Memcached {
    endpoint: Endpoint,
    login: Option<(String, Secret)>,
}

impl Check for Memcached {
    fn attempt(&self, deadline: Deadline, trace: &Trace) -> Verdict {
        let mut socket = match net::open(&self.endpoint, deadline, trace) {
            Ok(socket) => socket,
            Err(why) => return Verdict::unreachable(why),
        };
        let verdict = match &self.login {
            None => text_version(&mut socket, deadline, trace),
            Some((user, password)) => binary_version(&mut socket, user, password, deadline, trace),
        };
        socket.shutdown_write();
        verdict
    }
}

/// `version` in the text protocol.
fn text_version(socket: &mut Socket, deadline: Deadline, trace: &Trace) -> Verdict {
    trace.enter("version");
    socket.set_timeout(deadline.socket_timeout());
    let answer = socket.write_all(wire::VERSION_LINE).map_err(Failure::Io).and_then(|()| wire::read_line(socket));
    match answer {
        Ok(Line::Version(version)) => Verdict::healthy(format!("VERSION {version}")),
        Ok(Line::Error(line)) => Verdict::unhealthy(line),
        Err(Failure::Closed) => Verdict::unreachable(
            "connection closed by peer without answering version (a memcached started with -S \
             closes text-protocol connections: give a user and password, memcached://user@host)",
        ),
        Err(failure) => unreachable(&failure),
    }
}

/// SASL PLAIN, then `version`, in the binary protocol.
fn binary_version(socket: &mut Socket, user: &str, password: &Secret, deadline: Deadline, trace: &Trace) -> Verdict {
    trace.enter("auth");
    socket.set_timeout(deadline.socket_timeout());
    let auth = wire::request(wire::OP_SASL_AUTH, b"PLAIN", &wire::plain(user, password.expose()));
    let answer = socket.write_all(&auth).map_err(Failure::Io).and_then(|()| wire::read_response(socket));
    match answer {
        Ok(response) if response.opcode != wire::OP_SASL_AUTH => {
            return Verdict::unreachable("the answer to the SASL login is not memcached's");
        }
        Ok(response) if response.status == 0 => {}
        Ok(response) if response.status == wire::STATUS_AUTH_ERROR => {
            return Verdict::unhealthy(format!("login refused for {}: {}", quote::escaped(user), quote::peer(&response.value)));
        }
        Ok(response) if response.status == wire::STATUS_UNKNOWN_COMMAND => {
            return Verdict::unhealthy(format!(
                "the server does not take SASL logins (started without -S): {}",
                quote::peer(&response.value)
            ));
        }
        Ok(response) => {
            return Verdict::unhealthy(format!(
                "the SASL login failed with status {:#06x}: {}",
                response.status,
                quote::peer(&response.value)
            ));
        }
        Err(failure) => return unreachable(&failure),
    }
    trace.enter("version");
    let answer = socket
        .write_all(&wire::request(wire::OP_VERSION, b"", b""))
        .map_err(Failure::Io)
        .and_then(|()| wire::read_response(socket));
    match answer {
        Ok(response) if response.opcode == wire::OP_VERSION && response.status == 0 => Verdict::healthy(format!(
            "VERSION {}, logged in as {}",
            quote::peer(&response.value),
            quote::escaped(user)
        )),
        Ok(response) if response.opcode == wire::OP_VERSION => Verdict::unhealthy(format!(
            "version failed with status {:#06x}: {}",
            response.status,
            quote::peer(&response.value)
        )),
        Ok(_) => Verdict::unreachable("the answer to version is not memcached's"),
        Err(failure) => unreachable(&failure),
    }
}

/// No usable answer.
fn unreachable(failure: &Failure) -> Verdict {
    Verdict::unreachable(match failure {
        Failure::Closed => "connection closed by peer".to_owned(),
        Failure::SpeaksTls => "the answer is TLS, not memcached's protocol: the port speaks TLS, which probe memcached does not".to_owned(),
        Failure::NotMemcached => "the answer is not memcached's protocol".to_owned(),
        Failure::Io(err) => net::describe(err),
    })
}
