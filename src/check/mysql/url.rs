//! Targets as the MySQL Shell writes them, read on the shared `uri` reader:
//! `mysql://user:password@host:port/db?ssl-mode=…`, `mariadb://` alike, a unix socket as a
//! `%2F`-encoded host, a parenthesised path (`@(/run/mysqld/mysqld.sock)/db`) or `?socket=`;
//! completed as the mysql client completes them: `localhost` (and no host at all) means the
//! unix socket, MYSQL_HOST, MYSQL_TCP_PORT, MYSQL_UNIX_PORT and MYSQL_PWD from the environment
//! (read once, into `Defaults`), and the OS login name as the user.
//!
//! The MySQL Shell ends the user part at the first `@` and refuses `/`, `?`, `#`, `[`, `]` and a
//! second `@` in it; so does probe, in words that quote none of it. The label is `Uri::label`.

use std::path::PathBuf;

use crate::{
    env::Env,
    net::{HostPort, parse_port},
    quote,
    secret::{Secret, printable_name},
    uri::{self, Uri, Userinfo},
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
    const NAMES: [(&'static str, SslMode); 5] = [
        ("DISABLED", SslMode::Disabled),
        ("PREFERRED", SslMode::Preferred),
        ("REQUIRED", SslMode::Required),
        ("VERIFY_CA", SslMode::VerifyCa),
        ("VERIFY_IDENTITY", SslMode::VerifyIdentity),
    ];

    fn parse(text: &str) -> Result<SslMode, String> {
        let upper = text.to_ascii_uppercase();
        Self::NAMES.iter().find(|(name, _)| *name == upper).map(|(_, mode)| *mode).ok_or_else(|| {
            let shown = printable_name(text);
            format!("ssl-mode '{shown}' is none of DISABLED, PREFERRED, REQUIRED, VERIFY_CA, VERIFY_IDENTITY")
        })
    }

    pub fn name(self) -> &'static str {
        Self::NAMES.iter().find(|(_, mode)| *mode == self).map_or("", |(name, _)| name)
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

/// What the settings are completed from besides the URL, read from the environment once.
#[derive(Debug, Default)]
pub struct Defaults {
    /// MYSQL_HOST, used only when there is no URL.
    pub host: Option<String>,
    /// MYSQL_TCP_PORT, as written.
    pub tcp_port: Option<String>,
    /// MYSQL_UNIX_PORT.
    pub socket: Option<PathBuf>,
    /// The login name of the user running probe (else USER), for a URL that names no user.
    pub user: Option<String>,
    /// --password-file's, which wins over MYSQL_PWD.
    pub password: Option<Secret>,
}

impl Defaults {
    pub fn read(env: &dyn Env, password_file: Option<Secret>) -> Defaults {
        let var = |name: &str| env.var(name).filter(|value| !value.is_empty());
        Defaults {
            host: var("MYSQL_HOST"),
            tcp_port: var("MYSQL_TCP_PORT"),
            socket: var("MYSQL_UNIX_PORT").map(PathBuf::from),
            user: env.os_user().or_else(|| var("USER")),
            // An empty MYSQL_PWD is an empty password, as the mysql client reads it.
            password: password_file.or_else(|| env.var("MYSQL_PWD").map(Secret::new)),
        }
    }
}

/// URL parameters probe carries out; `_` may stand for `-` and case does not matter.
const HONOURED: &[&str] = &["ssl-mode", "ssl-ca", "ssl-cert", "ssl-key", "socket"];
/// Parameters accepted and left alone: the deadline is probe's timeout, and compression or
/// a TLS version floor do not change whether the server is healthy.
const IGNORED: &[&str] = &["connect-timeout", "compression", "tls-version", "ssl-cipher", "tls-ciphersuites"];

/// What a URL says, before the defaults complete it.
#[derive(Debug, Default)]
struct Url {
    user: Option<String>,
    password: Option<Secret>,
    /// A host name or address, or a socket path.
    host: Option<String>,
    port: Option<u16>,
    database: Option<String>,
    params: Params,
}

#[derive(Debug, Default)]
struct Params {
    ssl_mode: Option<SslMode>,
    ssl_ca: Option<PathBuf>,
    ssl_cert: Option<PathBuf>,
    ssl_key: Option<PathBuf>,
    socket: Option<PathBuf>,
}

/// A target refused: how to name it and why.
pub type Refusal = (String, String);

/// Reads `text` (empty: no URL, only the environment and the defaults) into its settings and
/// its label. A URL that cannot be read is named by its scheme only; one that reads but cannot
/// be completed, by its label.
pub fn settings(text: &str, defaults: &Defaults) -> Result<(Settings, String), Refusal> {
    if text.is_empty() {
        let settings = complete(Url::default(), defaults, true).map_err(|why| (String::new(), why))?;
        let label = env_label(&settings);
        return Ok((settings, label));
    }
    let uri = Uri::parse(text, Userinfo::FirstAtBeforeSlash)
        .filter(|uri| matches!(uri.scheme(), "mysql" | "mariadb"))
        .ok_or_else(|| (uri::unparsed(text), "not a mysql:// or mariadb:// URL".to_owned()))?;
    let url = read(&uri).map_err(|why| (uri::unparsed(text), why))?;
    let label = uri.label([]);
    let settings = complete(url, defaults, false).map_err(|why| (label.clone(), why))?;
    Ok((settings, label))
}

fn read(uri: &Uri<'_>) -> Result<Url, String> {
    refuse_misreadings(uri)?;
    let mut url = Url {
        user: uri.user().map(|user| decode("user name", user)).transpose()?.filter(|user| !user.is_empty()),
        password: uri.password().map(|password| decode("password", password).map(Secret::new)).transpose()?,
        ..Url::default()
    };
    let (target, path) = target_and_path(uri)?;
    (url.host, url.port) = host_port(target)?;
    let database = path.strip_prefix('/').unwrap_or_default();
    url.database = Some(decode("database name", database)?).filter(|database| !database.is_empty());
    url.params = params(uri)?;
    Ok(url)
}

/// What the MySQL Shell refuses, or would read otherwise than meant.
fn refuse_misreadings(uri: &Uri<'_>) -> Result<(), String> {
    let illegal = ['/', '?', '#', '[', ']'];
    if uri.user().is_some_and(|user| user.contains(illegal)) || uri.password().is_some_and(|p| p.contains(illegal)) {
        return Err("a '/', '?', '#', '[' or ']' in the user part, where the MySQL Shell takes none; write them as %2F, %3F, %23, %5B and %5D".to_owned());
    }
    if uri.hosts().contains('@') {
        return Err("an '@' after the user part's '@' (the MySQL Shell ends the user part at the first one); write '@' in a password as %40".to_owned());
    }
    if uri.stray_at() {
        return Err(uri::STRAY_AT.to_owned());
    }
    if uri.fragment().is_some() {
        return Err("a '#' after the host, which the MySQL Shell refuses; write it as %23".to_owned());
    }
    Ok(())
}

/// The host part and the path, with a parenthesised socket path (which may hold `/`) whole.
fn target_and_path<'a>(uri: &Uri<'a>) -> Result<(&'a str, &'a str), String> {
    let (hosts, path) = (uri.hosts(), uri.path());
    if !hosts.starts_with('(') {
        return Ok((hosts, path));
    }
    // The host part and the path are next to each other in the text.
    let start = hosts.as_ptr() as usize - uri.text().as_ptr() as usize;
    let both = &uri.text()[start..start + hosts.len() + path.len()];
    let close = both.find(')').ok_or("a '(' socket path in the URL needs its closing ')'")?;
    let after = &both[close + 1..];
    if !after.is_empty() && !after.starts_with('/') {
        return Err("only '/' and a database may follow a ')' socket path".to_owned());
    }
    Ok((&both[..=close], after))
}

/// `host:port`, `[v6]:port`, `host`, `(/socket/path)`, `%2Fsocket%2Fpath`, or nothing.
fn host_port(target: &str) -> Result<(Option<String>, Option<u16>), String> {
    if target.is_empty() {
        return Ok((None, None));
    }
    if let Some(path) = target.strip_prefix('(').and_then(|inner| inner.strip_suffix(')')) {
        return Ok((Some(decode("socket path", path)?), None));
    }
    let (host, port) = uri::split_host_port(target).map_err(|why| format!("the host in the URL: {why}"))?;
    let port = port.map(parse_port).transpose()?;
    let host = decode("host", host)?;
    if host.starts_with('/') {
        return match port {
            None => Ok((Some(host), None)),
            Some(_) => Err("a socket path takes no port".to_owned()),
        };
    }
    if !uri::is_host_name(&host) && host.parse::<std::net::Ipv6Addr>().is_err() {
        return Err("the host in the URL is not a host name, an IP address or a socket path".to_owned());
    }
    Ok((Some(host), port))
}

fn params(uri: &Uri<'_>) -> Result<Params, String> {
    let mut params = Params::default();
    for param in uri.params() {
        let key = decode("parameter name", param.name)?.to_ascii_lowercase().replace('_', "-");
        if !HONOURED.contains(&key.as_str()) && !IGNORED.contains(&key.as_str()) {
            return Err(format!("'{}' is not a connection parameter probe supports", printable_name(&key)));
        }
        let value = decode(&format!("value of {key}"), param.value.unwrap_or_default())?;
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
    Ok(params)
}

fn decode(part: &str, text: &str) -> Result<String, String> {
    uri::decode(text).map(|decoded| decoded.into_owned()).map_err(|err| format!("the {part} in the URL {err}"))
}

/// The URL completed by the defaults, as the mysql client completes its options.
fn complete(url: Url, defaults: &Defaults, no_url: bool) -> Result<Settings, String> {
    let Url { user, password, host, port, database, params } = url;
    let host = host.or_else(|| defaults.host.clone().filter(|_| no_url));
    let port = match (port, &defaults.tcp_port) {
        (Some(port), _) => port,
        (None, Some(port)) => parse_port(port).map_err(|why| format!("MYSQL_TCP_PORT: {why}"))?,
        (None, None) => DEFAULT_PORT,
    };
    let default_socket = || defaults.socket.clone().unwrap_or_else(|| PathBuf::from(DEFAULT_SOCKET));
    let address = match (host, params.socket.clone()) {
        (Some(host), _) if host.starts_with('/') => Address::Unix { path: PathBuf::from(host), localhost: false },
        (None, Some(path)) => Address::Unix { path, localhost: false },
        (Some(host), Some(path)) if host == "localhost" => Address::Unix { path, localhost: false },
        (Some(_), Some(_)) => return Err("socket= goes with localhost or no host, not with a host name".to_owned()),
        (Some(host), None) if host == "localhost" => Address::Unix { path: default_socket(), localhost: true },
        (None, None) => Address::Unix { path: default_socket(), localhost: true },
        (Some(host), None) => Address::Tcp { host, port },
    };
    let user = match user {
        Some(user) => user,
        None => defaults
            .user
            .clone()
            .ok_or("no user in the URL, and the login name of the user running probe is unknown")?,
    };
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
        password: password.or_else(|| defaults.password.clone()),
        database,
        ssl_mode,
        ssl_ca: params.ssl_ca,
        ssl_cert: params.ssl_cert,
        ssl_key: params.ssl_key,
    })
}

/// How a target given only by the environment is shown: its settings as a URL.
fn env_label(settings: &Settings) -> String {
    let place = match &settings.address {
        Address::Tcp { host, port } => HostPort { host: host.clone(), port: *port }.to_string(),
        Address::Unix { path, .. } => path.display().to_string().replace('/', "%2F"),
    };
    let database = settings.database.as_deref().map(|db| format!("/{db}")).unwrap_or_default();
    quote::escaped(&format!("mysql://{}@{place}{database}", settings.user))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str, vars: &[(&str, &str)]) -> Result<Settings, String> {
        read_with(text, vars, None).map(|(settings, _)| settings).map_err(|(_, why)| why)
    }

    fn read_with(text: &str, vars: &[(&str, &str)], file: Option<&str>) -> Result<(Settings, String), Refusal> {
        let var = |name: &str| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string());
        let defaults = Defaults {
            host: var("MYSQL_HOST"),
            tcp_port: var("MYSQL_TCP_PORT"),
            socket: var("MYSQL_UNIX_PORT").map(PathBuf::from),
            user: Some("osuser".to_owned()),
            password: file.map(Secret::new).or_else(|| var("MYSQL_PWD").map(Secret::new)),
        };
        settings(text, &defaults)
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
        let s = read("mysql://u:pw@(/tmp/x/m.sock)", &[]).unwrap();
        assert_eq!((s.address, s.database), (unix("/tmp/x/m.sock", false), None));
        assert_eq!(read("mysql://u@/db?socket=/s", &[]).unwrap().address, unix("/s", false));
        assert_eq!(read("mysql://u@localhost/db?socket=%2Fs", &[]).unwrap().address, unix("/s", false));
    }

    #[test]
    fn passwords_come_from_the_url_the_file_or_mysql_pwd() {
        let with_file = |text: &str| read_with(text, &[("MYSQL_PWD", "from-env")], Some("from-file")).unwrap().0;
        assert_eq!(with_file("mysql://u:url@h").password.unwrap().expose(), "url");
        assert_eq!(with_file("mysql://u@h").password.unwrap().expose(), "from-file");
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
        let nameless = Defaults::default();
        let err = settings("mysql://h", &nameless).unwrap_err();
        assert_eq!(err, ("mysql://h".to_owned(), "no user in the URL, and the login name of the user running probe is unknown".to_owned()));
    }

    /// Issue 25's forms: a '?' or '/' in the password, a second '@', a socket form with
    /// parameters; the refusal names the scheme only and quotes nothing of the rest.
    #[test]
    fn what_the_mysql_shell_refuses_is_refused_without_the_text() {
        for (text, expected) in [
            ("mysql://app:hunter?Xyz789@host/shop", "a '/', '?', '#', '[' or ']' in the user part"),
            ("mysql://app:hunter#Xyz789@host/shop", "a '/', '?', '#', '[' or ']' in the user part"),
            ("mysql://app:p@ssXyz789@host/shop", "an '@' after the user part's '@'"),
            ("mysql://app:pa/ssXyz789@host/shop", uri::STRAY_AT),
            ("mysql://us@r:pa/ssXyz789@(/run/mysqld.sock)/db", uri::STRAY_AT),
            ("mysql://app@host/shop#Xyz789", "a '#' after the host"),
            ("mysql://app:Xyz789@(/run/mysqld.sock)x/db", "only '/' and a database may follow"),
            ("mysql://app:Xyz789@host/db?Password=Xyz789", "'…' is not a connection parameter"),
            ("mysql://app:Xyz789@host/db?socket=%2Fs&ssl-mode=Xyz789!", "ssl-mode '…' is none of"),
        ] {
            let (name, why) = read_with(text, &[], None).expect_err(text);
            assert!(why.contains(expected), "{text}: {why}");
            assert!(!format!("{name} {why}").contains("Xyz789"), "{text}: '{name}': {why}");
        }
    }

    #[test]
    fn labels_hide_the_password() {
        let (_, label) = read_with("", &[("MYSQL_PWD", "pw")], None).unwrap();
        assert_eq!(label, "mysql://osuser@%2Frun%2Fmysqld%2Fmysqld.sock");
        for (text, shown) in [
            ("mysql://a:pw@h/db", "mysql://a:***@h/db"),
            ("mysql://app:pw@(/run/mysqld.sock)/db", "mysql://app:***@(/run/mysqld.sock)/db"),
            ("mysql://app:pw@%2Frun%2Fm.sock/db?ssl-mode=DISABLED", "mysql://app:***@%2Frun%2Fm.sock/db?ssl-mode=DISABLED"),
            ("mysql://app:pw@localhost/db?socket=/run/m.sock&ssl-mode=DISABLED", "mysql://app:***@localhost/db?socket=/run/m.sock&ssl-mode=DISABLED"),
        ] {
            assert_eq!(read_with(text, &[], None).unwrap().1, shown);
        }
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    fn shown(text: &str) -> String {
        let defaults = Defaults { user: Some("u".to_owned()), ..Defaults::default() };
        match settings(text, &defaults) {
            Ok((_, label)) => label,
            Err((name, why)) => format!("'{name}': {why}"),
        }
    }

    proptest! {
        #[test]
        fn any_text_reads_or_says_why_in_one_line(text in "(mysql://)?[ -~]{0,40}") {
            prop_assert!(!shown(&text).contains('\n'));
        }

        /// A password with any of the characters people put in them unencoded, in any target
        /// form: read, or refused; never in the label or the reason.
        #[test]
        fn a_password_never_reaches_the_label_or_the_reason(
            password in "[A-Za-z0-9]{4}[A-Za-z0-9/?#:@+=!$&'()*,;%-]{0,8}[A-Za-z0-9]{4}",
            target in "(db|db:3306|\\[::1\\]|%2Frun%2Fm.sock|\\(/run/m.sock\\)|localhost)(/shop)?(\\?ssl-mode=DISABLED|\\?socket=/s)?",
        ) {
            let text = format!("mysql://app:{password}@{target}");
            prop_assert!(!shown(&text).contains(&password), "{text} shown as {}", shown(&text));
        }
    }
}
