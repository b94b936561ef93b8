//! The one connection layer: where a target lives (`HostPort`), name resolution, connecting
//! to every address in turn within the attempt's deadline, the stream every check talks
//! through (`stream`), and one description of what went wrong on a socket.

mod stream;
#[cfg(feature = "async")]
pub mod tokio;

pub use stream::{Endpoint, Protocol, Socket, Stream, is_tls_record, open};

use std::{
    fmt, io,
    net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs},
    str::FromStr,
    time::Duration,
};

use crate::deadline::Deadline;

/// A host name or IP address with a port; IPv6 addresses in brackets, as in `[::1]:5432`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostPort {
    pub host: String,
    pub port: u16,
}

impl FromStr for HostPort {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let (host, port) = split_host_port(text)?;
        let port = parse_port(port)?;
        Ok(HostPort { host: host.to_owned(), port })
    }
}

fn split_host_port(text: &str) -> Result<(&str, &str), String> {
    let bare = text.strip_prefix("tcp://").unwrap_or(text);
    if bare.contains("://") {
        return Err("a URL is not a TCP target; write it as HOST:PORT".to_owned());
    }
    if let Some(rest) = bare.strip_prefix('[') {
        let (host, after) =
            rest.split_once(']').ok_or_else(|| "an IPv6 address needs its closing ']'".to_owned())?;
        host.parse::<std::net::Ipv6Addr>().map_err(|_| format!("'{host}' is not an IPv6 address"))?;
        let port =
            after.strip_prefix(':').ok_or_else(|| format!("a port is missing; write it as [{host}]:PORT"))?;
        return Ok((host, port));
    }
    let (host, port) =
        bare.rsplit_once(':').ok_or_else(|| "a port is missing; write it as HOST:PORT".to_owned())?;
    if host.contains(':') {
        return Err("put an IPv6 address in brackets, as in [::1]:5432".to_owned());
    }
    let valid = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_');
    if host.is_empty() || !host.chars().all(valid) {
        return Err(format!("'{host}' is not a host name or IP address"));
    }
    Ok((host, port))
}

/// A TCP port, 1 to 65535. The error quotes only a number: text where a port is read may be a
/// password whose `@` is missing (`user:password` read as `host:port`).
pub fn parse_port(text: &str) -> Result<u16, String> {
    // Digits only: `u16::from_str` also takes a leading '+', which no port is written with.
    let digits = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
    match text.parse::<u16>() {
        Ok(port) if port > 0 && digits => Ok(port),
        _ if text.len() <= 5 && text.bytes().all(|b| b.is_ascii_digit()) => {
            Err(format!("'{text}' is not a port (1 to 65535)"))
        }
        _ => Err("the port is not a number from 1 to 65535".to_owned()),
    }
}

impl fmt::Display for HostPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

impl HostPort {
    /// True when the host is an IP address, so there is nothing to resolve.
    pub fn is_ip(&self) -> bool {
        self.host.parse::<IpAddr>().is_ok()
    }
}

/// The addresses of `target`, in the resolver's order. getaddrinfo cannot be cancelled; the
/// deadline guard abandons it if it outlives the attempt.
pub fn resolve(target: &HostPort) -> Result<Vec<SocketAddr>, String> {
    if let Ok(ip) = target.host.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, target.port)]);
    }
    let found = (target.host.as_str(), target.port)
        .to_socket_addrs()
        .map_err(|err| format!("cannot resolve {}: {}", target.host, describe_resolve_error(&err)))?;
    let addrs: Vec<SocketAddr> = found.collect();
    if addrs.is_empty() {
        return Err(format!("cannot resolve {}: no addresses", target.host));
    }
    Ok(addrs)
}

/// Connects to each address in turn until one answers.
pub fn connect(addrs: &[SocketAddr], deadline: Deadline) -> Result<TcpStream, String> {
    first_to_answer(addrs, deadline, |addr, share| {
        TcpStream::connect_timeout(addr, share).map_err(|err| describe(&err))
    })
}

/// Tries `connect` on each address in turn, giving each an equal share of the time left (as Go's
/// dialer, which kubelet uses, does), so one black-holed address cannot use up the deadline
/// before the next is tried. The first success wins; otherwise every address's failure is told.
pub fn first_to_answer<T>(
    addrs: &[SocketAddr],
    deadline: Deadline,
    mut connect: impl FnMut(&SocketAddr, Duration) -> Result<T, String>,
) -> Result<T, String> {
    let mut failures = Vec::new();
    for (index, addr) in addrs.iter().enumerate() {
        let left = u32::try_from(addrs.len() - index).unwrap_or(u32::MAX);
        let share = deadline.remaining() / left;
        if share.is_zero() {
            failures.push((addr, "timed out".to_owned()));
            break;
        }
        match connect(addr, share.max(Duration::from_millis(1))) {
            Ok(connected) => return Ok(connected),
            Err(why) => failures.push((addr, why)),
        }
    }
    Err(match failures.as_slice() {
        [(_, why)] => why.clone(),
        many => many.iter().map(|(addr, why)| format!("{addr}: {why}")).collect::<Vec<_>>().join("; "),
    })
}

/// An I/O error as a short lower-case phrase: `connection refused`, `timed out`, or, for a
/// TLS session's error, what TLS found (`tls::describe`). Every check words socket errors here.
pub fn describe(err: &io::Error) -> String {
    #[cfg(feature = "tls")]
    if let Some(tls_error) = err.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>()) {
        return crate::tls::describe(tls_error);
    }
    match err.kind() {
        io::ErrorKind::ConnectionRefused => "connection refused".to_owned(),
        io::ErrorKind::ConnectionReset => "connection reset by peer".to_owned(),
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => "timed out".to_owned(),
        io::ErrorKind::UnexpectedEof => "connection closed by peer".to_owned(),
        _ => {
            let text = err.to_string();
            let text = text.split(" (os error").next().unwrap_or(&text);
            let mut chars = text.chars();
            chars.next().map(|first| first.to_lowercase().chain(chars).collect()).unwrap_or_default()
        }
    }
}

fn describe_resolve_error(err: &io::Error) -> String {
    // std words every getaddrinfo failure as "failed to lookup address information: <gai_strerror>";
    // the second half is the diagnosis.
    let text = err.to_string();
    let reason = text.strip_prefix("failed to lookup address information: ").unwrap_or(&text);
    reason.to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hp(text: &str) -> Result<HostPort, String> {
        text.parse()
    }

    #[test]
    fn reads_hosts_ipv4_and_bracketed_ipv6() {
        assert_eq!(hp("db:5432"), Ok(HostPort { host: "db".into(), port: 5432 }));
        assert_eq!(hp("10.0.0.1:80"), Ok(HostPort { host: "10.0.0.1".into(), port: 80 }));
        assert_eq!(hp("[::1]:6379"), Ok(HostPort { host: "::1".into(), port: 6379 }));
        assert_eq!(hp("tcp://cache.svc.cluster.local:6379").unwrap().host, "cache.svc.cluster.local");
        assert_eq!(hp("[::1]:6379").unwrap().to_string(), "[::1]:6379");
    }

    #[test]
    fn explains_what_is_wrong() {
        let cases = [
            ("db", "port is missing"),
            ("db:", "'' is not a port"),
            ("db:0", "'0' is not a port"),
            ("db:65536", "'65536' is not a port"),
            ("db:http", "the port is not a number"),
            ("db:123456", "the port is not a number"),
            ("db:+5", "the port is not a number"),
            ("::1:5432", "in brackets"),
            ("[::1:5432", "closing ']'"),
            ("[::1]", "port is missing"),
            ("[db]:1", "not an IPv6 address"),
            (":5432", "not a host name"),
            ("a b:1", "not a host name"),
            ("http://x:1", "a URL is not"),
        ];
        for (text, expected) in cases {
            let err = hp(text).expect_err(text);
            assert!(err.contains(expected), "{text}: {err}");
        }
    }

    #[test]
    fn io_errors_read_as_short_phrases() {
        let refused = io::Error::from(io::ErrorKind::ConnectionRefused);
        assert_eq!(describe(&refused), "connection refused");
        assert_eq!(describe(&io::Error::from_raw_os_error(113)), "no route to host");
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn any_text_parses_or_says_why(text in any::<String>()) {
            if let Err(why) = text.parse::<HostPort>() {
                prop_assert!(!why.is_empty() && !why.contains('\n'));
            }
        }

        #[test]
        fn a_printed_target_reads_back(host in "[a-z0-9][a-z0-9.-]{0,30}", v6 in any::<std::net::Ipv6Addr>(), port in 1u16..) {
            for host in [host, v6.to_string()] {
                let target = HostPort { host, port };
                prop_assert_eq!(target.to_string().parse::<HostPort>(), Ok(target.clone()));
            }
        }
    }
}
