//! `probe tcp`: healthy when a TCP connection opens, as kubelet's tcpSocket probe. Its targets
//! are read here rather than by clap, whose errors echo the rejected value whole: a URL given by
//! habit (`probe tcp "$DATABASE_URL"`) is refused naming its scheme only, and no message about a
//! bad `HOST:PORT` quotes what may be a password.

use std::sync::Arc;

use super::{Check, Target};
use crate::{
    deadline::Deadline,
    env::Env,
    net::{self, Endpoint, HostPort, Socket},
    outcome::Verdict,
    trace::Trace,
    uri,
};

#[derive(Debug, clap::Args)]
#[command(after_long_help = crate::docs::environment(&[]))]
pub struct Args {
    /// Where to connect: HOST:PORT, IPv6 as [::1]:5432, :PORT for this host; tcp:// may prefix
    /// it. Several are checked at once.
    #[arg(value_name = "HOST:PORT", required = true)]
    targets: Vec<String>,
}

impl Args {
    pub fn targets(self, _: &dyn Env) -> anyhow::Result<Vec<Target>> {
        self.targets
            .iter()
            .map(|text| {
                let addr = parse_target(text).map_err(|why| anyhow::anyhow!("'{}': {why}", uri::unparsed(text)))?;
                let label = addr.to_string();
                Ok(Target { label, check: Arc::new(Tcp { is_ip: addr.is_ip(), endpoint: Endpoint::Tcp(addr) }) })
            })
            .collect()
    }
}

/// Reads `HOST:PORT`, `[v6]:PORT`, or `:PORT` for this host (`localhost`, as Go's dialer, and so
/// `probe grpc`, reads it), each perhaps after `tcp://`. The error quotes nothing of the text
/// but a port made of digits: `user:password` read as `HOST:PORT` must not show the password.
pub fn parse_target(text: &str) -> Result<HostPort, String> {
    let bare = match uri::scheme_of(text) {
        Some(scheme) if scheme.eq_ignore_ascii_case("tcp") => &text[scheme.len() + "://".len()..],
        Some(_) => return Err("a URL is not a TCP target; write HOST:PORT".to_owned()),
        None => text,
    };
    if bare.contains('@') {
        return Err("a TCP target has no user or password; write HOST:PORT".to_owned());
    }
    let bracketed = bare.starts_with('[');
    let (host, port) = uri::split_host_port(bare)?;
    let port = port.ok_or(match bracketed {
        true => "a port is missing; write it as [IPv6]:PORT",
        false => "a port is missing; write it as HOST:PORT",
    })?;
    let host = match host {
        "" if !bracketed => "localhost",
        host if bracketed || uri::is_host_name(host) => host,
        _ => return Err("the host is not a host name or IP address; write HOST:PORT".to_owned()),
    };
    Ok(HostPort { host: host.to_owned(), port: net::parse_port(port)? })
}

struct Tcp {
    endpoint: Endpoint,
    /// An IP address needs no resolving, so the address connected to says nothing new.
    is_ip: bool,
}

impl Check for Tcp {
    fn attempt(&self, deadline: Deadline, trace: &Trace) -> Verdict {
        // Dropping the socket closes it with a FIN, which servers log as a normal disconnect.
        match net::open(&self.endpoint, deadline, trace) {
            Ok(Socket::Tcp(stream)) if !self.is_ip => match stream.peer_addr() {
                Ok(peer) => Verdict::healthy(format!("connected to {peer}")),
                Err(_) => Verdict::healthy("connected"),
            },
            Ok(_) => Verdict::healthy("connected"),
            Err(why) => Verdict::unreachable(why),
        }
    }
}

#[cfg(any(test, fuzzing))]
pub mod fuzz {
    //! The `host_port` fuzz target's checks: `HOST:PORT` as `net::HostPort` prints and reads
    //! it, ports as Go's dialer takes them, and `probe tcp TARGET`, whose label or usage error is
    //! one line and never shows what looks like a password in the target.

    use super::parse_target;
    use crate::{
        fuzzing::{ReadPassword, assert_hidden, command_line_shows, text},
        net::{HostPort, parse_port},
        uri::{self, Userinfo},
    };

    /// What a careless target holds as a password: a URL's, or, without a scheme, what comes
    /// between the first `:` and the last `@` (`user:password@host:port`).
    fn password(text: &str) -> Option<String> {
        if let Some(uri) = uri::Uri::parse(text, Userinfo::LastAt) {
            return uri.password().map(str::to_owned);
        }
        let (userinfo, _) = text.rsplit_once('@')?;
        userinfo.split_once(':').map(|(_, password)| password.to_owned())
    }

    pub fn host_port(data: &[u8]) {
        let Some(text) = text(data) else { return };
        if let Ok(target) = text.parse::<HostPort>() {
            let printed = target.to_string();
            assert_eq!(printed.parse::<HostPort>().as_ref(), Ok(&target), "{text:?} printed as {printed:?}");
        }
        if let Ok(target) = parse_target(text) {
            let printed = target.to_string();
            assert_eq!(parse_target(&printed).as_ref(), Ok(&target), "{text:?} printed as {printed:?}");
        }
        let reference = (!text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()))
            .then(|| text.trim_start_matches('0'))
            .filter(|digits| digits.len() <= 5)
            .and_then(|digits| digits.parse::<u32>().ok())
            .filter(|port| (1..=65535).contains(port));
        assert_eq!(parse_port(text).ok().map(u32::from), reference, "port {text:?}");
        let shown = command_line_shows("tcp", text);
        if let Some(secret) = password(text) {
            let read: &ReadPassword<'_> = &password;
            assert_hidden("tcp", text, &secret, &shown, read, &|text| command_line_shows("tcp", text));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<String, String> {
        parse_target(text).map(|target| target.to_string())
    }

    #[test]
    fn reads_hosts_ports_and_the_local_host() {
        for (text, read_as) in [
            ("db:5432", "db:5432"),
            ("10.0.0.1:80", "10.0.0.1:80"),
            ("[::1]:6379", "[::1]:6379"),
            ("tcp://cache.svc.cluster.local:6379", "cache.svc.cluster.local:6379"),
            ("TCP://db:1", "db:1"),
            (":5432", "localhost:5432"),
            ("tcp://:5432", "localhost:5432"),
            ("db:05432", "db:5432"),
        ] {
            assert_eq!(read(text).as_deref(), Ok(read_as), "{text}");
        }
    }

    #[test]
    fn refusals_say_why_and_quote_only_a_port_of_digits() {
        for (text, expected) in [
            ("db", "a port is missing; write it as HOST:PORT"),
            ("[::1]", "a port is missing; write it as [IPv6]:PORT"),
            ("db:", "'' is not a port"),
            ("db:0", "'0' is not a port"),
            ("db:65536", "'65536' is not a port"),
            ("db:http", "the port is not a number from 1 to 65535"),
            ("user:hunter2", "the port is not a number from 1 to 65535"),
            ("db:+5", "the port is not a number"),
            ("::1:5432", "put an IPv6 address in brackets"),
            ("[::1:5432", "closing ']'"),
            ("[db]:1", "not an IPv6 address"),
            ("hun ter2:1", "the host is not a host name or IP address"),
            ("app:hunter2@db:5432", "a TCP target has no user or password"),
            ("hunter2@db:5432", "a TCP target has no user or password"),
            ("tcp://u:hunter2@db:5432", "a TCP target has no user or password"),
            ("postgres://app:hunter2@db:5432/app", "a URL is not a TCP target; write HOST:PORT"),
        ] {
            let why = parse_target(text).expect_err(text);
            assert!(why.contains(expected), "{text}: {why}");
            assert!(!why.contains("hunter2") && !why.contains("ter2") && !why.contains("http"), "{text}: {why}");
        }
    }
}
