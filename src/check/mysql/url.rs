//! Targets as the MySQL Shell writes them: `mysql://user:password@host:port/db?ssl-mode=…`,
//! `mariadb://` alike, a unix socket as a `%2F`-encoded (or parenthesised) host or `?socket=`,
//! completed as the mysql client completes them: `localhost` (and no host at all) means the
//! unix socket, MYSQL_HOST, MYSQL_TCP_PORT, MYSQL_UNIX_PORT and MYSQL_PWD from the environment,
//! and the OS login name as the user.

use std::path::PathBuf;

use crate::{
    net::{parse_port, percent_decode as decode},
    secret::Secret,
};

/// Where mariadbd and mysqld put their socket on Debian, Ubuntu, Fedora and in the official
/// images (the client's compiled-in default, MYSQL_UNIX_ADDR).
pub const DEFAULT_SOCKET: &str = "/run/mysqld/mysqld.sock";
pub const DEFAULT_PORT: u16 = 3306;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Address {
    Tcp {
        host: String,
        port: u16,
    },
    /// A unix socket; `localhost` when the target said localhost (or nothing), so a message can
    /// say why a socket was used.
    Unix {
        path: PathBuf,
        localhost: bool,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SslMode {
    Disabled,
    Preferred,
    Required,
    VerifyCa,
    VerifyIdentity,
}

impl SslMode {
    fn parse(text: &str) -> Result<SslMode, String> {
        Ok(match text.to_ascii_uppercase().as_str() {
            "DISABLED" => SslMode::Disabled,
            "PREFERRED" => SslMode::Preferred,
            "REQUIRED" => SslMode::Required,
            "VERIFY_CA" => SslMode::VerifyCa,
            "VERIFY_IDENTITY" => SslMode::VerifyIdentity,
            _ => {
                return Err(format!(
                    "ssl-mode '{text}' is none of DISABLED, PREFERRED, REQUIRED, VERIFY_CA, VERIFY_IDENTITY"
                ));
            }
        })
    }
}

/// One target's settings, complete and checked.
#[derive(Debug)]
pub struct Settings {
    pub address: Address,
    pub user: String,
    pub password: Option<Secret>,
    pub database: Option<String>,
    pub ssl_mode: SslMode,
    pub ssl_ca: Option<PathBuf>,
    pub ssl_cert: Option<PathBuf>,
    pub ssl_key: Option<PathBuf>,
}

/// What the settings are completed from besides the URL.
pub struct Defaults<'a> {
    pub var: &'a dyn Fn(&str) -> Option<String>,
    /// The login name of the user running probe, asked only when the URL names no user.
    pub os_user: &'a dyn Fn() -> Option<String>,
    /// --password-file's contents, which win over MYSQL_PWD.
    pub password_file: Option<&'a Secret>,
}

/// URL parameters probe carries out; `_` may stand for `-` and case does not matter.
const HONOURED: &[&str] = &["ssl-mode", "ssl-ca", "ssl-cert", "ssl-key", "socket"];
/// Parameters accepted and left alone: the deadline is probe's timeout, and compression or
/// a TLS version floor do not change whether the server is healthy.
const IGNORED: &[&str] = &["connect-timeout", "compression", "tls-version", "ssl-cipher", "tls-ciphersuites"];

/// Reads `text` (empty: no URL, only the environment and the defaults).
pub fn settings(text: &str, defaults: &Defaults<'_>) -> Result<Settings, String> {
    let var = |name: &str| (defaults.var)(name).filter(|value| !value.is_empty());
    let rest = if text.is_empty() {
        ""
    } else {
        text.strip_prefix("mysql://")
            .or_else(|| text.strip_prefix("mariadb://"))
            .ok_or("not a mysql:// or mariadb:// URL")?
    };
    let rest = rest.split_once('#').map_or(rest, |(before, _)| before);
    let (main, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (authority, database) = split_path(main)?;
    let (userinfo, hostport) = match authority.rsplit_once('@') {
        Some((userinfo, hostport)) => (Some(userinfo), hostport),
        None => (None, authority),
    };
    let (user, url_password) = match userinfo {
        Some(userinfo) => match userinfo.split_once(':') {
            Some((user, password)) => (decode(user)?, Some(decode(password)?)),
            None => (decode(userinfo)?, None),
        },
        None => (String::new(), None),
    };

    let mut params = Params::default();
    for parameter in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = parameter.split_once('=').unwrap_or((parameter, ""));
        let key = decode(key)?.to_ascii_lowercase().replace('_', "-");
        let value = decode(value)?;
        if !HONOURED.contains(&key.as_str()) && !IGNORED.contains(&key.as_str()) {
            return Err(format!("'{key}' is not a connection parameter probe supports"));
        }
        if value.is_empty() {
            return Err(format!("the URL parameter '{key}' has no value"));
        }
        match key.as_str() {
            "ssl-mode" => params.ssl_mode = Some(SslMode::parse(&value)?),
            "ssl-ca" => params.ssl_ca = Some(PathBuf::from(value)),
            "ssl-cert" => params.ssl_cert = Some(PathBuf::from(value)),
            "ssl-key" => params.ssl_key = Some(PathBuf::from(value)),
            "socket" => params.socket = Some(PathBuf::from(value)),
            _ => {}
        }
    }

    let (host, port) = split_host_port(hostport)?;
    let host = match host {
        Some(host) => Some(host),
        None if text.is_empty() => var("MYSQL_HOST"),
        None => None,
    };
    let port = match port {
        Some(port) => port,
        None => var("MYSQL_TCP_PORT")
            .map(|p| parse_port(&p).map_err(|e| format!("MYSQL_TCP_PORT: {e}")))
            .transpose()?
            .unwrap_or(DEFAULT_PORT),
    };
    let default_socket =
        || var("MYSQL_UNIX_PORT").map_or_else(|| PathBuf::from(DEFAULT_SOCKET), PathBuf::from);
    let address = match (host, params.socket) {
        (Some(host), _) if host.starts_with('/') => {
            Address::Unix { path: PathBuf::from(host), localhost: false }
        }
        (None, Some(path)) => Address::Unix { path, localhost: false },
        (Some(host), Some(path)) if host == "localhost" => Address::Unix { path, localhost: false },
        (Some(host), Some(_)) => {
            return Err(format!("socket= goes with localhost or no host, not with '{host}'"));
        }
        (Some(host), None) if host == "localhost" => {
            Address::Unix { path: default_socket(), localhost: true }
        }
        (None, None) => Address::Unix { path: default_socket(), localhost: true },
        (Some(host), None) => Address::Tcp { host, port },
    };

    let user = if user.is_empty() {
        (defaults.os_user)()
            .or_else(|| var("USER"))
            .ok_or("no user in the URL, and the login name of the user running probe is unknown")?
    } else {
        user
    };
    let password = url_password
        .map(Secret::new)
        .or_else(|| defaults.password_file.cloned())
        .or_else(|| (defaults.var)("MYSQL_PWD").map(Secret::new));
    let database = (!database.is_empty()).then_some(database);
    if params.ssl_cert.is_some() != params.ssl_key.is_some() {
        return Err("ssl-cert and ssl-key go together".to_owned());
    }
    let ssl_mode = params.ssl_mode.unwrap_or(SslMode::Preferred);
    if ssl_mode == SslMode::Disabled && (params.ssl_ca.is_some() || params.ssl_cert.is_some()) {
        return Err("ssl-mode=DISABLED with ssl-ca or ssl-cert: choose one".to_owned());
    }
    Ok(Settings {
        address,
        user,
        password,
        database,
        ssl_mode,
        ssl_ca: params.ssl_ca,
        ssl_cert: params.ssl_cert,
        ssl_key: params.ssl_key,
    })
}

#[derive(Default)]
struct Params {
    ssl_mode: Option<SslMode>,
    ssl_ca: Option<PathBuf>,
    ssl_cert: Option<PathBuf>,
    ssl_key: Option<PathBuf>,
    socket: Option<PathBuf>,
}

/// Splits `authority/database`. A parenthesised socket path, `(/run/mysqld/mysqld.sock)`, may
/// hold slashes; the database is decoded.
fn split_path(main: &str) -> Result<(&str, String), String> {
    let search_from = match (main.find('('), main.find(')')) {
        (Some(open), Some(close)) if open < close => close,
        _ => 0,
    };
    match main[search_from..].find('/') {
        Some(slash) => {
            let slash = search_from + slash;
            Ok((&main[..slash], decode(&main[slash + 1..])?))
        }
        None => Ok((main, String::new())),
    }
}

/// `host:port`, `[v6]:port`, `host`, `(/socket/path)`, `%2Fsocket%2Fpath`, or nothing.
fn split_host_port(hostport: &str) -> Result<(Option<String>, Option<u16>), String> {
    if hostport.is_empty() {
        return Ok((None, None));
    }
    if let Some(inner) = hostport.strip_prefix('(') {
        let path = inner.strip_suffix(')').ok_or("a '(' socket path in the URL needs its closing ')'")?;
        return Ok((Some(decode(path)?), None));
    }
    if let Some(rest) = hostport.strip_prefix('[') {
        let (host, after) = rest.split_once(']').ok_or("an IPv6 address in the URL needs its closing ']'")?;
        host.parse::<std::net::Ipv6Addr>().map_err(|_| format!("'{host}' is not an IPv6 address"))?;
        let port = match after {
            "" => None,
            _ => Some(parse_port(
                after.strip_prefix(':').ok_or("text after the IPv6 address in the URL is not a port")?,
            )?),
        };
        return Ok((Some(host.to_owned()), port));
    }
    let (host, port) = match hostport.rsplit_once(':') {
        Some((host, port)) => (host, Some(parse_port(port)?)),
        None => (hostport, None),
    };
    let host = decode(host)?;
    if host.starts_with('/') {
        return Ok((Some(host), None));
    }
    let valid = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_');
    if host.is_empty() || !host.chars().all(valid) {
        return Err(format!("'{host}' is not a host name, an IP address or a socket path"));
    }
    Ok((Some(host), port))
}

/// How a target is shown: the URL, password starred; with no URL, the settings as one.
pub fn label(text: &str, settings: &Settings) -> String {
    if !text.is_empty() {
        return crate::secret::redact_url(text);
    }
    let place = match &settings.address {
        Address::Tcp { host, port } => crate::net::HostPort { host: host.clone(), port: *port }.to_string(),
        Address::Unix { path, .. } => path.display().to_string().replace('/', "%2F"),
    };
    let database = settings.database.as_deref().map(|db| format!("/{db}")).unwrap_or_default();
    format!("mysql://{}@{place}{database}", settings.user)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str, vars: &[(&str, &str)]) -> Result<Settings, String> {
        let vars: Vec<(String, String)> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let var = move |name: &str| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        settings(text, &Defaults { var: &var, os_user: &|| Some("osuser".to_owned()), password_file: None })
    }

    #[test]
    fn tcp_targets() {
        let s = read("mysql://app:p%40ss@db.example:3307/shop?ssl-mode=verify_identity&ssl-ca=/ca.pem", &[])
            .unwrap();
        assert_eq!(s.address, Address::Tcp { host: "db.example".into(), port: 3307 });
        assert_eq!((s.user.as_str(), s.password.as_ref().map(Secret::expose)), ("app", Some("p@ss")));
        assert_eq!(s.database.as_deref(), Some("shop"));
        assert_eq!(s.ssl_mode, SslMode::VerifyIdentity);
        assert_eq!(s.ssl_ca, Some(PathBuf::from("/ca.pem")));
        let s = read("mariadb://[::1]/", &[]).unwrap();
        assert_eq!(s.address, Address::Tcp { host: "::1".into(), port: 3306 });
        assert_eq!((s.user.as_str(), s.database, s.ssl_mode), ("osuser", None, SslMode::Preferred));
        let s = read("mysql://127.0.0.1", &[("MYSQL_TCP_PORT", "3310"), ("MYSQL_PWD", "env")]).unwrap();
        assert_eq!(s.address, Address::Tcp { host: "127.0.0.1".into(), port: 3310 });
        assert_eq!(s.password.as_ref().map(Secret::expose), Some("env"));
    }

    #[test]
    fn sockets_as_the_client_finds_them() {
        let unix = |path: &str, localhost: bool| Address::Unix { path: PathBuf::from(path), localhost };
        assert_eq!(read("mysql://u@localhost:3307/db", &[]).unwrap().address, unix(DEFAULT_SOCKET, true));
        assert_eq!(read("", &[]).unwrap().address, unix(DEFAULT_SOCKET, true));
        assert_eq!(read("", &[("MYSQL_UNIX_PORT", "/s")]).unwrap().address, unix("/s", true));
        assert_eq!(
            read("", &[("MYSQL_HOST", "db"), ("MYSQL_TCP_PORT", "1")]).unwrap().address,
            Address::Tcp { host: "db".into(), port: 1 }
        );
        let s = read("mysql://u@%2Ftmp%2Fm.sock/shop", &[]).unwrap();
        assert_eq!((s.address, s.database.as_deref()), (unix("/tmp/m.sock", false), Some("shop")));
        let s = read("mysql://u@(/tmp/x/m.sock)/shop", &[]).unwrap();
        assert_eq!((s.address, s.database.as_deref()), (unix("/tmp/x/m.sock", false), Some("shop")));
        assert_eq!(read("mysql://u@/db?socket=/s", &[]).unwrap().address, unix("/s", false));
        assert_eq!(read("mysql://u@localhost/db?socket=%2Fs", &[]).unwrap().address, unix("/s", false));
    }

    #[test]
    fn passwords_come_from_the_url_the_file_or_mysql_pwd() {
        let file = Secret::new("from-file");
        let var = |name: &str| (name == "MYSQL_PWD").then(|| "from-env".to_owned());
        let with_file = |text: &str| {
            settings(text, &Defaults { var: &var, os_user: &|| None, password_file: Some(&file) })
        };
        assert_eq!(with_file("mysql://u:url@h").unwrap().password.unwrap().expose(), "url");
        assert_eq!(with_file("mysql://u@h").unwrap().password.unwrap().expose(), "from-file");
        assert_eq!(read("mysql://u@h", &[("MYSQL_PWD", "e")]).unwrap().password.unwrap().expose(), "e");
        assert!(read("mysql://u@h", &[]).unwrap().password.is_none());
        assert_eq!(read("mysql://u:@h", &[]).unwrap().password.unwrap().expose(), "");
    }

    #[test]
    fn explains_what_is_wrong() {
        let cases = [
            ("postgres://x", "not a mysql:// or mariadb:// URL"),
            ("mysql://h:0", "'0' is not a port"),
            ("mysql://h:x", "the port is not a number"),
            ("mysql://app:hunter2", "the port is not a number"),
            ("mysql://a b", "not a host name"),
            ("mysql://h?sslmode=x", "'sslmode' is not a connection parameter"),
            ("mysql://h?ssl-mode=strict", "ssl-mode 'strict' is none of"),
            ("mysql://h?ssl-mode", "has no value"),
            ("mysql://h?ssl-cert=/c", "ssl-cert and ssl-key go together"),
            ("mysql://h?socket=/s", "socket= goes with localhost"),
            ("mysql://[::1", "closing ']'"),
            ("mysql://(/s", "closing ')'"),
            ("mysql://h/%zz", "not followed by two hex digits"),
            ("mysql://h?ssl-mode=DISABLED&ssl-ca=/x", "choose one"),
        ];
        for (text, expected) in cases {
            let err = read(text, &[]).expect_err(text);
            assert!(err.contains(expected), "{text}: {err}");
        }
        let none = |_: &str| None;
        let err = settings("mysql://h", &Defaults { var: &none, os_user: &|| None, password_file: None });
        assert!(err.unwrap_err().contains("no user in the URL"));
    }

    #[test]
    fn labels_hide_the_password() {
        let s = read("", &[("MYSQL_PWD", "pw")]).unwrap();
        assert_eq!(label("", &s), "mysql://osuser@%2Frun%2Fmysqld%2Fmysqld.sock");
        let s = read("mysql://a:pw@h/db", &[]).unwrap();
        assert_eq!(label("mysql://a:pw@h/db", &s), "mysql://a:***@h/db");
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn any_text_reads_or_says_why_in_one_line(text in "(mysql://)?[ -~]{0,40}") {
            let var = |_: &str| None;
            let defaults = Defaults { var: &var, os_user: &|| Some("u".to_owned()), password_file: None };
            if let Err(why) = settings(&text, &defaults) {
                prop_assert!(!why.is_empty() && !why.contains('\n'));
            }
        }

        #[test]
        fn a_password_never_reaches_the_label(password in "[A-Za-z0-9]{12,20}", host in "[a-z]{1,10}") {
            let url = format!("mysql://app:{password}@{host}/db");
            let var = |_: &str| None;
            let defaults = Defaults { var: &var, os_user: &|| None, password_file: None };
            let s = settings(&url, &defaults).unwrap();
            prop_assert!(!label(&url, &s).contains(&password));
        }
    }
}
