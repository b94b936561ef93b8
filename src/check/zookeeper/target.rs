//! ZooKeeper connect strings (`h1:2181,h2:2181,h3/chroot`), read as the Java client's
//! ConnectStringParser reads them: the chroot starts at the first `/` (a lone `/` is none) and
//! must be a valid znode path, hosts are comma-separated and trimmed, empty ones skipped, a
//! missing or empty port is 2181, IPv6 addresses are in brackets. probe refuses what the Java
//! client would only fail on later (a host that is not a name, a bad port). A connect string
//! holds no secret; errors still never quote it, as every target reader's do.

use crate::{
    net::{HostPort, parse_port},
    quote, uri,
};

pub const DEFAULT_PORT: u16 = 2181;

const USAGE: &str = "write it as host[:2181] or a connect string host1:2181,host2:2181[/chroot]";

/// What a connect string says, and the label it is printed under.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectString {
    /// The servers, in the order written: they are tried in that order.
    pub hosts: Vec<HostPort>,
    /// The chroot, which only the client uses (every path it sends is under it); kept for the
    /// label.
    pub chroot: Option<String>,
    /// The servers with their ports, then the chroot.
    pub label: String,
}

impl ConnectString {
    /// Reads `text`; the error says what is wrong without quoting it.
    pub fn parse(text: &str) -> Result<ConnectString, String> {
        if uri::scheme_of(text).is_some() || text.contains("://") {
            return Err(format!("a ZooKeeper target is not a URL; {USAGE}"));
        }
        if text.contains('@') {
            return Err(format!("a ZooKeeper connect string holds no user or password; {USAGE}"));
        }
        let (list, chroot) = match text.find('/') {
            Some(slash) => (&text[..slash], Some(&text[slash..])),
            None => (text, None),
        };
        let chroot = match chroot {
            None | Some("/") => None,
            Some(path) => Some(validate_path(path)?.to_owned()),
        };
        let hosts = list
            .split(',')
            .map(str::trim)
            .filter(|piece| !piece.is_empty())
            .map(host_port)
            .collect::<Result<Vec<_>, _>>()?;
        if hosts.is_empty() {
            return Err(format!("no host in the connect string; {USAGE}"));
        }
        let mut label = hosts.iter().map(HostPort::to_string).collect::<Vec<_>>().join(",");
        if let Some(chroot) = &chroot {
            label.push_str(&quote::escaped(chroot));
        }
        Ok(ConnectString { hosts, chroot, label })
    }
}

/// One `host`, `host:port`, `[v6]` or `[v6]:port`; an empty port is the default, as in the
/// Java client.
fn host_port(text: &str) -> Result<HostPort, String> {
    let bracketed = text.starts_with('[');
    let (host, port) = uri::split_host_port(text)?;
    if !bracketed && !uri::is_host_name(host) {
        return Err(format!("a host in the connect string is not a host name or IP address; {USAGE}"));
    }
    let port = match port {
        None | Some("") => DEFAULT_PORT,
        Some(port) => parse_port(port)?,
    };
    Ok(HostPort { host: host.to_owned(), port })
}

/// A chroot as ZooKeeper's `PathUtils.validatePath` takes it: absolute, no trailing `/`, no
/// empty, `.` or `..` segment, none of the characters ZooKeeper forbids in a path.
fn validate_path(path: &str) -> Result<&str, String> {
    let bad = |why: &str| Err(format!("the chroot after the hosts is not a ZooKeeper path: {why}"));
    if path.ends_with('/') {
        return bad("it ends with '/'");
    }
    for segment in path[1..].split('/') {
        match segment {
            "" => return bad("it has an empty segment ('//')"),
            "." | ".." => return bad("'.' and '..' are not path segments in ZooKeeper"),
            _ => {}
        }
    }
    let forbidden = |c: char| {
        matches!(c, '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}' | '\u{e000}'..='\u{f8ff}' | '\u{fff0}'..='\u{ffff}')
    };
    if path.chars().any(forbidden) {
        return bad("it holds a character ZooKeeper does not allow in a path");
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts(text: &str) -> Vec<String> {
        ConnectString::parse(text).expect(text).hosts.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn reads_connect_strings_as_the_java_client() {
        assert_eq!(hosts("zk"), ["zk:2181"]);
        assert_eq!(hosts("zk:2182"), ["zk:2182"]);
        assert_eq!(hosts("h1:2181, h2 ,h3:2183,,"), ["h1:2181", "h2:2181", "h3:2183"]);
        assert_eq!(hosts("h1:"), ["h1:2181"]);
        assert_eq!(hosts("[::1]:2182,[::1]"), ["[::1]:2182", "[::1]:2181"]);
        let chrooted = ConnectString::parse("h1:2181,h2/kafka/prod").unwrap();
        assert_eq!(chrooted.chroot.as_deref(), Some("/kafka/prod"));
        assert_eq!(chrooted.label, "h1:2181,h2:2181/kafka/prod");
        assert_eq!(ConnectString::parse("h1/").unwrap().chroot, None);
    }

    #[test]
    fn refuses_what_the_java_client_cannot_use() {
        for (text, why) in [
            ("", "no host"),
            (",,/app", "no host"),
            ("zk://h1:2181", "not a URL"),
            ("user:pw@h1", "no user or password"),
            ("h1:0", "not a port"),
            ("h1:x", "not a number"),
            ("h 1:2181", "not a host name"),
            ("h1/app/", "ends with '/'"),
            ("h1/a//b", "empty segment"),
            ("h1/a/../b", "'.' and '..'"),
            ("h1/a\u{1}", "does not allow"),
            ("::1:2181", "brackets"),
        ] {
            let err = ConnectString::parse(text).expect_err(text);
            assert!(err.contains(why), "{text:?}: {err}");
        }
    }
}
