//! memcached targets: `host[:11211]` as pymemcache and libmemcached's `--servers` take them,
//! `memcached://[user[:password]@]host[:port]` (read on the shared `uri` reader: the user part
//! ends at the last `@` of the authority) and `unix:///path`. No error message holds any part
//! of the text; the label is built from the parse, the password masked.

use std::path::PathBuf;

use crate::{
    net::{HostPort, parse_port},
    secret::Secret,
    uri::{self, Uri, Userinfo},
};

pub const DEFAULT_PORT: u16 = 11211;

const USAGE: &str = "write it as host[:11211], memcached://[user:password@]host[:port] or unix:///path";

/// Where the server listens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Address {
    Tcp(HostPort),
    Unix(PathBuf),
}

/// Everything a target says, and the label it is printed under.
#[derive(Debug, PartialEq, Eq)]
pub struct MemcachedTarget {
    pub address: Address,
    pub username: Option<String>,
    pub password: Option<Secret>,
    pub label: String,
}

impl MemcachedTarget {
    /// Reads `text`; the error says what is wrong without quoting it.
    pub fn parse(text: &str) -> Result<MemcachedTarget, String> {
        let Some(uri) = Uri::parse(text, Userinfo::LastAt) else {
            if text.contains("://") {
                return Err(format!("not a memcached target; {USAGE}"));
            }
            if text.contains('@') {
                return Err(format!("a user and password go in a memcached:// URL; {USAGE}"));
            }
            let host = host_port(text)?;
            return Ok(MemcachedTarget { label: host.to_string(), address: Address::Tcp(host), username: None, password: None });
        };
        let unix = match uri.scheme().to_ascii_lowercase().as_str() {
            "memcached" => false,
            "unix" => true,
            _ => return Err(format!("not a memcached target: the scheme is neither memcached:// nor unix://; {USAGE}")),
        };
        if uri.stray_at() {
            return Err(uri::STRAY_AT.to_owned());
        }
        if uri.query().is_some() || uri.fragment().is_some() {
            return Err(format!("a memcached target takes no '?' or '#' part; {USAGE}"));
        }
        let address = match unix {
            true => Address::Unix(uri.unix_socket_path("/run/memcached/memcached.sock")?),
            false => {
                if !matches!(uri.path(), "" | "/") {
                    return Err(format!("a memcached URL has no path; {USAGE}"));
                }
                if uri.hosts().is_empty() {
                    return Err(format!("the host is missing; {USAGE}"));
                }
                Address::Tcp(host_port(uri.hosts())?)
            }
        };
        let username = uri::decode_credential(uri.user().unwrap_or_default(), "user name")?;
        let password = uri::decode_credential(uri.password().unwrap_or_default(), "password")?;
        if password.is_some() && username.is_none() {
            return Err("a password needs a user name: SASL PLAIN logs in as one (memcached://user:password@host)"
                .to_owned());
        }
        Ok(MemcachedTarget { address, username, password: password.map(Secret::new), label: uri.label([]) })
    }
}

/// `host`, `host:port`, `[v6]` or `[v6]:port`; the port is 11211 when none is written.
fn host_port(text: &str) -> Result<HostPort, String> {
    let bracketed = text.starts_with('[');
    let (host, port) = uri::split_host_port(text)?;
    let host = match bracketed {
        true => host.to_owned(),
        false => uri::decode(host).map_err(|why| format!("the host {why}"))?.into_owned(),
    };
    if !bracketed && !uri::is_host_name(&host) {
        return Err(format!("the host is not a host name or IP address; {USAGE}"));
    }
    let port = match port {
        None => DEFAULT_PORT,
        Some(port) => parse_port(port)?,
    };
    Ok(HostPort { host, port })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> MemcachedTarget {
        MemcachedTarget::parse(text).expect(text)
    }

    #[test]
    fn reads_every_form() {
        assert_eq!(read("cache").address, Address::Tcp(HostPort { host: "cache".into(), port: 11211 }));
        assert_eq!(read("cache:11212").label, "cache:11212");
        assert_eq!(read("[::1]").label, "[::1]:11211");
        let url = read("memcached://app:p%40ss@cache:11212/");
        assert_eq!((url.username.as_deref(), url.password.as_ref().map(Secret::expose)), (Some("app"), Some("p@ss")));
        assert_eq!(url.label, "memcached://app:***@cache:11212/");
        let last_at = read("memcached://app:p@ss@cache");
        assert_eq!(last_at.password.as_ref().map(Secret::expose), Some("p@ss"));
        assert_eq!(read("unix:///run/mc.sock").address, Address::Unix("/run/mc.sock".into()));
        assert_eq!(read("memcached://app@cache").password, None);
    }

    #[test]
    fn refuses_without_quoting() {
        for (text, why) in [
            ("app:pw@cache", "go in a memcached:// URL"),
            ("redis://cache", "neither memcached"),
            ("memcached://:pw@cache", "needs a user name"),
            ("memcached://cache/0", "no path"),
            ("memcached://cache?x=1", "no '?'"),
            ("memcached://app:a/b@cache", "'@' comes after the host"),
            ("memcached://", "host is missing"),
            ("cache:port", "not a number"),
            ("unix://host/x.sock", "names no host"),
            ("unix://", "path is missing"),
            ("ca che", "not a host name"),
        ] {
            let err = MemcachedTarget::parse(text).expect_err(text);
            assert!(err.contains(why), "{text:?}: {err}");
        }
    }
}
