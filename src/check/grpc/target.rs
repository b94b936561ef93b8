//! gRPC targets as grpc-health-probe's `-addr` and grpc-go take them, and probe's URL forms:
//! `host:port`, `[v6]:port`, `:port` (this host, as Go's dialer reads it), `grpc://host:port`,
//! `grpcs://host:port`, `unix:///abs/path` and `unix:relative/path`. A URL is read once by
//! `uri::Uri` and its label built from that reading; a target holds no credentials (metadata
//! carries them), so a user part, a query or a fragment is refused, and a refused text is named
//! by its scheme only.

use std::{net::Ipv6Addr, path::PathBuf};

use crate::{
    net::{self, Endpoint, HostPort},
    quote,
    uri::{self, Uri, Userinfo},
};

/// A target as read.
#[derive(Debug)]
pub struct Parsed {
    pub endpoint: Endpoint,
    /// What the scheme says about TLS: none for `host:port` and unix sockets, where --tls decides.
    pub tls: Option<bool>,
    pub label: String,
}

/// Reads a target, or says why not without quoting any part of it but its scheme.
pub fn parse(text: &str) -> Result<Parsed, String> {
    read(text).map_err(|why| format!("'{}': {why}", uri::unparsed(text)))
}

fn read(text: &str) -> Result<Parsed, String> {
    if let Some(uri) = Uri::parse(text, Userinfo::LastAt) {
        return from_url(&uri);
    }
    if let Some(path) = text.get(..5).filter(|prefix| prefix.eq_ignore_ascii_case("unix:")).map(|_| &text[5..]) {
        if path.is_empty() {
            return Err("the unix socket's path is missing".to_owned());
        }
        let endpoint = Endpoint::Unix(PathBuf::from(path));
        return Ok(Parsed { endpoint, tls: None, label: quote::escaped(text) });
    }
    let bare = text.strip_suffix('/').unwrap_or(text);
    Ok(Parsed { endpoint: Endpoint::Tcp(host_port(bare)?), tls: None, label: quote::escaped(text) })
}

fn from_url(uri: &Uri<'_>) -> Result<Parsed, String> {
    let tls = match uri.scheme().to_ascii_lowercase().as_str() {
        "grpc" => Some(false),
        "grpcs" => Some(true),
        "unix" => None,
        _ => return Err("not a gRPC target; write HOST:PORT, grpc://, grpcs:// or unix://".to_owned()),
    };
    if uri.stray_at() {
        return Err(uri::STRAY_AT.to_owned());
    }
    if uri.user().is_some() {
        return Err("a gRPC target takes no user or password; send credentials as metadata with -H".to_owned());
    }
    if uri.query().is_some() || uri.fragment().is_some() {
        return Err("a gRPC target takes no ?query or #fragment".to_owned());
    }
    let endpoint = match tls {
        None if !uri.hosts().is_empty() || uri.path().is_empty() => {
            return Err("write a unix socket as unix:///absolute/path or unix:relative/path".to_owned());
        }
        None => Endpoint::Unix(PathBuf::from(uri::decode(uri.path()).map_err(|why| format!("the path {why}"))?.as_ref())),
        Some(_) if !matches!(uri.path(), "" | "/") => {
            return Err("a gRPC target has no path; write grpc://HOST:PORT".to_owned());
        }
        Some(_) => Endpoint::Tcp(host_port(uri.hosts())?),
    };
    Ok(Parsed { endpoint, tls, label: uri.label([]) })
}

/// `host:port`, `[v6]:port` or `:port`. No message quotes the text: a `user:password` missing
/// its `@` reads as one.
fn host_port(text: &str) -> Result<HostPort, String> {
    if text.contains('@') {
        return Err("a gRPC target takes no user or password; send credentials as metadata with -H".to_owned());
    }
    let (host, port) = uri::split_host_port(text)?;
    let port = net::parse_port(port.ok_or("a port is missing; write HOST:PORT")?)?;
    // ':50051' is the local system, as Go's dialer (and so grpc-health-probe) reads it.
    let host = if host.is_empty() && text.starts_with(':') { "localhost" } else { host };
    if !uri::is_host_name(host) && host.parse::<Ipv6Addr>().is_err() {
        return Err("the host is not a host name or IP address".to_owned());
    }
    Ok(HostPort { host: host.to_owned(), port })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(text: &str) -> Result<(String, Option<bool>, String), String> {
        parse(text).map(|parsed| {
            let shown = match parsed.endpoint {
                Endpoint::Unix(path) => format!("unix {}", path.display()),
                other => other.to_string(),
            };
            (shown, parsed.tls, parsed.label)
        })
    }

    #[test]
    fn targets_read_as_grpc_clients_write_them() {
        let ok = |text: &str, shown: &str, tls: Option<bool>| {
            assert_eq!(target(text), Ok((shown.to_owned(), tls, text.to_owned())), "{text}");
        };
        ok("127.0.0.1:50051", "127.0.0.1:50051", None);
        ok("[::1]:50051", "[::1]:50051", None);
        ok("grpc://svc.ns:80", "svc.ns:80", Some(false));
        ok("GRPCS://svc.ns:443/", "svc.ns:443", Some(true));
        ok(":50051", "localhost:50051", None);
        ok("grpc://:50051", "localhost:50051", Some(false));
        ok("unix:///run/app.sock", "unix /run/app.sock", None);
        ok("unix:app.sock", "unix app.sock", None);
        ok("unix:/run/app.sock", "unix /run/app.sock", None);
        ok("unix:///run/my%20app.sock", "unix /run/my app.sock", None);
    }

    #[test]
    fn bad_targets_say_why_naming_only_the_scheme() {
        let cases = [
            ("svc", "'…': a port is missing"),
            ("svc:0", "'…': '0' is not a port"),
            ("http://svc:80", "'http://…': not a gRPC target"),
            ("unix://run/app.sock", "'unix://…': write a unix socket as unix:///absolute/path"),
            ("unix:", "'…': the unix socket's path is missing"),
            ("grpcs://", "'grpcs://…': a port is missing"),
            (":x", "'…': the port is not a number"),
            ("a b:1", "'…': the host is not a host name"),
            ("grpc://h:1/x", "'grpc://…': a gRPC target has no path"),
            ("grpc://h:1?token=s3cret", "'grpc://…': a gRPC target takes no ?query"),
            ("grpcs://u:s3cret@h:1", "'grpcs://…': a gRPC target takes no user or password"),
            ("u:s3cret@h:1", "'…': a gRPC target takes no user or password"),
            ("grpc://u:p4ss#word@h:1", "'grpc://…': an '@' comes after the host"),
            ("grpc://app:s3cret/x@h:1", "'grpc://…': an '@' comes after the host"),
            ("grpc://app:s3cret", "'grpc://…': the port is not a number"),
        ];
        for (text, expected) in cases {
            let err = target(text).expect_err(text);
            assert!(err.starts_with(expected) && !err.contains("s3cret"), "{text}: {err}");
        }
    }
}
