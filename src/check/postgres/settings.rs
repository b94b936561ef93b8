//! The settings of one target, completed as libpq completes them: the connection string, then
//! the service file's section, then the PG* variables, then libpq's defaults; then the host
//! list, each host with its own port and password; then each value checked.

use std::{
    collections::HashMap,
    net::IpAddr,
    path::{Path, PathBuf},
    time::Duration,
};

use super::{parse::KEYWORDS, passfile::PassFile, service};
use crate::secret::Secret;

/// libpq's default socket directory (Debian's build); a password file names it `localhost`.
pub const DEFAULT_SOCKET_DIR: &str = "/var/run/postgresql";

/// What libpq would read from outside the connection string.
pub struct Env<'a> {
    /// Looks up an environment variable.
    pub var: &'a dyn Fn(&str) -> Option<String>,
    /// The name of the user running probe; asked only when no user is given.
    pub os_user: &'a dyn Fn() -> Option<String>,
}

/// Settings for one target, complete and checked.
#[derive(Debug)]
pub struct Settings {
    pub hosts: Vec<Host>,
    pub user: String,
    pub dbname: String,
    pub sslmode: SslMode,
    pub tls: TlsFiles,
    /// SNI with the host name (sslsni=1, the default).
    pub sni: bool,
    pub direct_tls: bool,
    pub application_name: String,
    /// `options`, with client_encoding, PGDATESTYLE, PGTZ and PGGEQO added as `-c` settings, in
    /// the order libpq sends them.
    pub options: Option<String>,
    pub target: SessionAttrs,
    pub channel_binding: tokio_postgres::config::ChannelBinding,
    /// libpq's connect_timeout: a cap on each host's connection, under probe's -t.
    pub connect_timeout: Option<Duration>,
    pub load_balance: bool,
    /// Why the password file was skipped, told when a login then lacks a password.
    pub passfile_note: Option<String>,
}

/// One host of the list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Host {
    pub address: Address,
    pub port: u16,
    /// The password for this host: the one given, or the password file's line for this host.
    pub password: Option<Secret>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Address {
    /// A host name (or address) to resolve; `hostaddr` skips the resolving while the name
    /// still serves TLS.
    Tcp { name: String, hostaddr: Option<IpAddr> },
    /// A directory holding the server's socket `.s.PGSQL.<port>`.
    Unix(PathBuf),
    /// A Linux abstract socket: `host=@name`.
    Abstract(String),
    /// No host given: libpq's socket directory if the server's socket is there, else localhost.
    Default,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum SslMode {
    Disable,
    Allow,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionAttrs {
    Any,
    ReadWrite,
    ReadOnly,
    Primary,
    Standby,
    PreferStandby,
}

/// The TLS files libpq would use, as paths, with its defaults under `~/.postgresql/`. Whether
/// they are there, and what is in them, is found when TLS starts (`at_tls_start`), as libpq's
/// initialize_SSL finds it: a server that never starts TLS never has them read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TlsFiles {
    pub root: Root,
    /// sslcert, else `~/.postgresql/postgresql.crt`; none with sslcertmode=disable.
    pub cert: Option<PathBuf>,
    /// sslkey, else `~/.postgresql/postgresql.key`.
    pub key: Option<PathBuf>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Root {
    /// No root certificate file: nothing is verified below verify-ca.
    #[default]
    None,
    File(PathBuf),
    /// `sslrootcert=system`: the bundled roots.
    System,
}

/// The files TLS starts with: the root certificate (a file only if it is there), and the
/// client certificate and key when the certificate file is there.
#[derive(Debug, PartialEq, Eq)]
pub struct TlsStart {
    pub root: Root,
    pub identity: Option<(PathBuf, PathBuf)>,
}

impl TlsFiles {
    /// libpq's initialize_SSL, when the server has agreed to TLS: a root file that is not there
    /// means nothing is verified below verify-ca and is an error from verify-ca up; a
    /// certificate file that is not there means no client certificate, one that cannot be
    /// looked at is an error; a certificate without its key is an error; a key others may read
    /// is refused. The messages are libpq's.
    pub fn at_tls_start(&self, sslmode: SslMode) -> Result<TlsStart, String> {
        let root = match &self.root {
            Root::System => Root::System,
            Root::File(file) if file.exists() => Root::File(file.clone()),
            missing if sslmode >= SslMode::VerifyCa => return Err(missing_root(missing)),
            _ => Root::None,
        };
        let Some(cert) = &self.cert else { return Ok(TlsStart { root, identity: None }) };
        match std::fs::metadata(cert) {
            Ok(_) => {}
            Err(err)
                if matches!(err.kind(), std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory) =>
            {
                return Ok(TlsStart { root, identity: None });
            }
            Err(err) => {
                let why = crate::net::describe(&err);
                return Err(format!("could not open certificate file \"{}\": {why}", cert.display()));
            }
        }
        // libpq opens the certificate before it looks for the key (and parses it there, which
        // `tls::client_config` does later, in the words every check uses).
        if let Err(err) = std::fs::File::open(cert) {
            let why = crate::net::describe(&err);
            return Err(format!("could not read certificate file \"{}\": {why}", cert.display()));
        }
        let shown_key = || {
            self.key
                .as_ref()
                .map_or_else(|| "~/.postgresql/postgresql.key".to_owned(), |p| p.display().to_string())
        };
        let Some(key) = &self.key else {
            return Err(format!("certificate present, but not private key file \"{}\"", shown_key()));
        };
        match std::fs::metadata(key) {
            Ok(_) => {}
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                return Err(format!("certificate present, but not private key file \"{}\"", shown_key()));
            }
            Err(err) => {
                return Err(format!(
                    "could not stat private key file \"{}\": {}",
                    key.display(),
                    crate::net::describe(&err)
                ));
            }
        }
        check_key_mode(key)?;
        Ok(TlsStart { root, identity: Some((cert.clone(), key.clone())) })
    }
}

/// libpq's words for a root certificate file that verify-ca and verify-full need and lack.
fn missing_root(root: &Root) -> String {
    let shown = match root {
        Root::File(path) => path.display().to_string(),
        _ => "~/.postgresql/root.crt".to_owned(),
    };
    format!(
        "root certificate file \"{shown}\" does not exist; provide the file, use sslrootcert=system, or change sslmode to disable server certificate verification"
    )
}

/// Completes `pairs` from the service file, the environment and libpq's defaults.
/// `password_file` is --password-file's content, used when the settings give no password.
pub fn settings(
    pairs: &[(String, String)],
    env: &Env<'_>,
    password_file: Option<&Secret>,
) -> Result<Settings, String> {
    let mut given: HashMap<&str, String> = HashMap::new();
    for (key, value) in pairs {
        if let Some((keyword, _)) = KEYWORDS.iter().find(|(k, _)| k == key) {
            given.insert(keyword, value.clone());
        }
    }
    let home = (env.var)("HOME").filter(|home| !home.is_empty()).map(PathBuf::from);
    let service = given.get("service").cloned().or_else(|| (env.var)("PGSERVICE"));
    if let Some(name) = service.filter(|name| !name.is_empty()) {
        let (user_file, system_file) = service::files(env.var, home.as_deref());
        for (key, value) in service::lookup(&name, user_file.as_deref(), &system_file)? {
            if let Some((keyword, _)) = KEYWORDS.iter().find(|(k, _)| *k == key) {
                given.entry(keyword).or_insert(value);
            }
        }
    }
    // The password the string or its service section states, before PGPASSWORD can fill in.
    let stated_password = given.get("password").cloned();
    for (keyword, var) in KEYWORDS {
        if let Some(value) = var.and_then(|var| (env.var)(var)) {
            given.entry(keyword).or_insert(value);
        }
    }
    let get = |key: &str| given.get(key).map(String::as_str);
    let nonempty = |key: &str| get(key).filter(|v| !v.is_empty());

    let user = match nonempty("user") {
        Some(user) => user.to_owned(),
        None => (env.os_user)().unwrap_or_else(|| "postgres".to_owned()),
    };
    let dbname = nonempty("dbname").unwrap_or(&user).to_owned();

    let sslrootcert = nonempty("sslrootcert");
    let sslmode = match get("sslmode") {
        None if sslrootcert == Some("system") => SslMode::VerifyFull,
        None => SslMode::Prefer,
        Some(mode) => choice(
            "sslmode",
            mode,
            &[
                ("disable", SslMode::Disable),
                ("allow", SslMode::Allow),
                ("prefer", SslMode::Prefer),
                ("require", SslMode::Require),
                ("verify-ca", SslMode::VerifyCa),
                ("verify-full", SslMode::VerifyFull),
            ],
        )?,
    };
    if sslrootcert == Some("system") && sslmode != SslMode::VerifyFull {
        return Err(format!(
            "weak sslmode \"{}\" may not be used with sslrootcert=system (use \"verify-full\")",
            get("sslmode").unwrap_or_default()
        ));
    }
    let direct_tls = choice(
        "sslnegotiation",
        get("sslnegotiation").unwrap_or("postgres"),
        &[("postgres", false), ("direct", true)],
    )?;
    if direct_tls && sslmode < SslMode::Require {
        return Err(format!(
            "weak sslmode \"{}\" may not be used with sslnegotiation=direct (use \"require\", \"verify-ca\", or \"verify-full\")",
            get("sslmode").unwrap_or("prefer")
        ));
    }
    use tokio_postgres::config::ChannelBinding;
    let channel_binding = choice(
        "channel_binding",
        get("channel_binding").unwrap_or("prefer"),
        &[
            ("disable", ChannelBinding::Disable),
            ("prefer", ChannelBinding::Prefer),
            ("require", ChannelBinding::Require),
        ],
    )?;
    let target = choice(
        "target_session_attrs",
        get("target_session_attrs").unwrap_or("any"),
        &[
            ("any", SessionAttrs::Any),
            ("read-write", SessionAttrs::ReadWrite),
            ("read-only", SessionAttrs::ReadOnly),
            ("primary", SessionAttrs::Primary),
            ("standby", SessionAttrs::Standby),
            ("prefer-standby", SessionAttrs::PreferStandby),
        ],
    )?;
    let load_balance = choice(
        "load_balance_hosts",
        get("load_balance_hosts").unwrap_or("disable"),
        &[("disable", false), ("random", true)],
    )?;
    if choice(
        "gssencmode",
        get("gssencmode").unwrap_or("prefer"),
        &[("disable", false), ("prefer", false), ("require", true)],
    )? {
        return Err(
            "gssencmode=require: probe has no GSSAPI (Kerberos) encryption; use gssencmode=prefer or disable"
                .to_owned(),
        );
    }
    let cert_mode = choice(
        "sslcertmode",
        get("sslcertmode").unwrap_or("allow"),
        &[("disable", 0), ("allow", 1), ("require", 2)],
    )?;
    if cert_mode == 2 {
        return Err(
            "sslcertmode=require: probe cannot tell whether the server asked for the certificate; use allow"
                .to_owned(),
        );
    }
    let replication = get("replication").unwrap_or("false");
    let off = ["0", "false", "off", "no", "f", "n"];
    if !off.iter().any(|word| replication.eq_ignore_ascii_case(word)) {
        if !["1", "true", "on", "yes", "t", "y", "database"]
            .iter()
            .any(|w| replication.eq_ignore_ascii_case(w))
        {
            return Err(format!("invalid replication value: \"{replication}\""));
        }
        return Err("replication: probe checks ordinary sessions only; leave replication unset".to_owned());
    }
    for (key, why) in [
        ("require_auth", "probe cannot restrict the authentication methods a server may ask for"),
        ("requirepeer", "probe cannot check the server process's user on a socket"),
        ("sslcrl", "probe does not check certificate revocation lists"),
        ("sslcrldir", "probe does not check certificate revocation lists"),
        ("sslpassword", "probe cannot read an encrypted private key; decrypt it (openssl pkey)"),
    ] {
        if nonempty(key).is_some() {
            return Err(format!("{key}: {why}"));
        }
    }
    let tls_version = [("TLSv1", 10), ("TLSv1.1", 11), ("TLSv1.2", 12), ("TLSv1.3", 13)];
    let min_tls = choice(
        "ssl_min_protocol_version",
        get("ssl_min_protocol_version").unwrap_or("TLSv1.2"),
        &tls_version,
    )?;
    let max_tls = match nonempty("ssl_max_protocol_version") {
        Some(version) => choice("ssl_max_protocol_version", version, &tls_version)?,
        None => 13,
    };
    if min_tls > 12 || max_tls < 13 {
        return Err(
            "ssl_min_protocol_version/ssl_max_protocol_version: probe speaks TLS 1.2 and 1.3 and cannot narrow them".to_owned(),
        );
    }
    let protocol = [("3.0", 0), ("3.2", 2), ("latest", 2)];
    if choice("min_protocol_version", get("min_protocol_version").unwrap_or("3.0"), &protocol)? > 0 {
        return Err("min_protocol_version: probe speaks protocol 3.0 only".to_owned());
    }
    choice("max_protocol_version", get("max_protocol_version").unwrap_or("3.0"), &protocol)?;
    for key in
        ["keepalives", "keepalives_idle", "keepalives_interval", "keepalives_count", "tcp_user_timeout"]
    {
        if let Some(value) = get(key) {
            integer(key, value)?;
        }
    }
    let connect_timeout = match get("connect_timeout") {
        Some(value) if !value.is_empty() => match integer("connect_timeout", value)? {
            seconds if seconds <= 0 => None,
            // As libpq: less than two seconds is two.
            seconds => Some(Duration::from_secs(seconds.max(2).unsigned_abs())),
        },
        _ => None,
    };
    let sni = get("sslsni").is_none_or(|value| value != "0");

    // In libpq's startup-packet order: options, client_encoding, then the variables.
    let mut options: Vec<String> = nonempty("options").map(str::to_owned).into_iter().collect();
    // client_encoding / PGCLIENTENCODING: tokio-postgres's session is always UTF8 (its startup
    // packet's client_encoding wins over `options`), but sent here the server still refuses a
    // bad name, as it refuses libpq's. `auto` is libpq's own (the locale's encoding).
    if let Some(encoding) = nonempty("client_encoding").filter(|value| *value != "auto") {
        options.push(format!("-c client_encoding={}", escape_option(encoding)));
    }
    for (var, setting) in [("PGDATESTYLE", "datestyle"), ("PGTZ", "timezone"), ("PGGEQO", "geqo")] {
        // libpq's build_startup_packet: a variable set to `default` (any case) is not sent; an
        // empty one is sent empty, for the server to judge (it refuses an empty PGTZ).
        if let Some(value) = (env.var)(var).filter(|v| !v.eq_ignore_ascii_case("default")) {
            options.push(format!("-c {setting}={}", escape_option(&value)));
        }
    }
    let application_name = nonempty("application_name")
        .or_else(|| nonempty("fallback_application_name"))
        .unwrap_or("probe")
        .to_owned();

    let mut hosts = hosts(get("host"), get("hostaddr"), get("port"))?;
    if sslmode == SslMode::VerifyFull
        && let Some(addr) = hosts.iter().find_map(|(host, _, _)| match &host.address {
            Address::Tcp { name, hostaddr: Some(addr) } if name.is_empty() => Some(addr),
            _ => None,
        })
    {
        return Err(format!(
            "hostaddr {addr} has no host name to verify the certificate against (sslmode=verify-full)"
        ));
    }
    // The password: the one the string or its service section states (an empty one is none),
    // then --password-file (an explicit option wins over an inherited PGPASSWORD), then
    // PGPASSWORD (read by libpq only when the string has no `password` at all), then the
    // password file for each host.
    let password = stated_password
        .filter(|p| !p.is_empty())
        .map(Secret::new)
        .or_else(|| password_file.filter(|p| !p.expose().is_empty()).cloned())
        .or_else(|| nonempty("password").map(Secret::new));
    let mut passfile_note = None;
    if password.is_none() {
        let path = match nonempty("passfile") {
            Some(path) => Some(PathBuf::from(path)),
            None => home.as_ref().map(|home| home.join(".pgpass")),
        };
        let file = path.as_deref().map_or(PassFile::Missing, PassFile::read);
        if let PassFile::Ignored(why) = &file {
            passfile_note = Some(why.clone());
        }
        for (host, port_text, name) in &mut hosts {
            let port = if port_text.is_empty() { "5432" } else { port_text.as_str() };
            host.password = file.lookup(name, port, &dbname, &user);
        }
    } else {
        for (host, _, _) in &mut hosts {
            host.password.clone_from(&password);
        }
    }
    let hosts: Vec<Host> = hosts.into_iter().map(|(host, _, _)| host).collect();
    let tls = if sslmode == SslMode::Disable
        || hosts.iter().all(|h| matches!(h.address, Address::Unix(_) | Address::Abstract(_)))
    {
        TlsFiles::default()
    } else {
        tls_files(&given, home.as_deref(), sslmode, cert_mode == 0)?
    };
    Ok(Settings {
        hosts,
        user,
        dbname,
        sslmode,
        tls,
        sni,
        direct_tls,
        application_name,
        options: (!options.is_empty()).then(|| options.join(" ")),
        target,
        channel_binding,
        connect_timeout,
        load_balance,
        passfile_note,
    })
}

/// A numeric address as libpq's getaddrinfo(AI_NUMERICHOST) reads it: IPv6, or IPv4 in any of
/// inet_aton's forms (`127.1`, `0x7f.0.0.1`, `0177.0.0.1`), which Rust's parser refuses.
fn parse_hostaddr(text: &str) -> Option<IpAddr> {
    if let Ok(ip) = text.parse() {
        return Some(ip);
    }
    let parts: Vec<u32> = text
        .split('.')
        .map(|part| {
            let (digits, radix) = match part.strip_prefix("0x").or_else(|| part.strip_prefix("0X")) {
                Some(hex) => (hex, 16),
                None if part.len() > 1 && part.starts_with('0') => (&part[1..], 8),
                None => (part, 10),
            };
            match digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
                true => None,
                false => u32::from_str_radix(digits, radix).ok(),
            }
        })
        .collect::<Option<_>>()?;
    let (last, leading) = parts.split_last()?;
    if leading.len() > 3 || leading.iter().any(|part| *part > 0xff) {
        return None;
    }
    let room = 8 * (4 - leading.len() as u32);
    if room < 32 && *last >> room != 0 {
        return None;
    }
    let high = leading.iter().enumerate().fold(0u32, |acc, (index, part)| acc | part << (24 - 8 * index));
    Some(IpAddr::V4(std::net::Ipv4Addr::from(high | last)))
}

/// A value inside `options`, where the server splits at spaces and `\\` escapes.
fn escape_option(value: &str) -> String {
    value.replace('\\', "\\\\").replace(' ', "\\ ")
}

/// One of a setting's allowed values, or libpq's complaint.
fn choice<T: Copy>(key: &str, value: &str, allowed: &[(&str, T)]) -> Result<T, String> {
    allowed
        .iter()
        .find(|(name, _)| *name == value)
        .map(|(_, meaning)| *meaning)
        .ok_or_else(|| format!("invalid {key} value: \"{}\"", value.escape_debug()))
}

/// An integer as libpq's `parse_int_param` reads one: spaces around it allowed, nothing else.
fn integer(key: &str, value: &str) -> Result<i64, String> {
    let trimmed = value.trim_matches(|c: char| matches!(c, ' ' | '\t' | '\n' | '\x0b' | '\x0c' | '\r'));
    let number = trimmed.strip_prefix('+').unwrap_or(trimmed);
    number
        .parse::<i32>()
        .ok()
        .filter(|_| !number.starts_with(['+', '-']) || trimmed.starts_with('-'))
        .map(i64::from)
        .ok_or_else(|| {
            // libpq quotes the value; a URL's `user:password` without its '@' puts the password
            // here, so probe quotes it only when it is number-like.
            let numeric =
                value.len() <= 12 && value.bytes().all(|b| b.is_ascii_digit() || b"+- ".contains(&b));
            match numeric {
                true => format!("invalid integer value \"{value}\" for connection option \"{key}\""),
                false => format!("invalid integer value for connection option \"{key}\""),
            }
        })
}

/// libpq's host, hostaddr and port lists: hostaddr (when given) or host decides how many hosts
/// there are; the other must match it; one port serves all, or there is one per host. Empty
/// items are libpq's defaults. Each host comes with its port and its name as the password file
/// matches them: the port as given; the host as given, else the hostaddr as given (not
/// normalised), and `localhost` for libpq's default socket directory.
fn hosts(
    host: Option<&str>,
    hostaddr: Option<&str>,
    port: Option<&str>,
) -> Result<Vec<(Host, String, String)>, String> {
    let list = |text: Option<&str>| -> Option<Vec<String>> {
        text.filter(|t| !t.is_empty()).map(|t| t.split(',').map(str::to_owned).collect())
    };
    let (names, addrs) = (list(host), list(hostaddr));
    let count = addrs.as_ref().or(names.as_ref()).map_or(1, Vec::len);
    if let (Some(names), Some(_)) = (&names, &addrs)
        && names.len() != count
    {
        return Err(format!("could not match {} host names to {count} hostaddr values", names.len()));
    }
    let ports = match list(port) {
        None => vec![String::new(); count],
        Some(ports) if ports.len() == 1 => vec![ports[0].clone(); count],
        Some(ports) if ports.len() == count => ports,
        Some(ports) => return Err(format!("could not match {} port numbers to {count} hosts", ports.len())),
    };
    (0..count)
        .map(|index| {
            let name = names.as_ref().map_or("", |names| names[index].as_str());
            let addr = addrs.as_ref().map_or("", |addrs| addrs[index].as_str());
            let port_text = &ports[index];
            let port = match port_text.as_str() {
                "" => 5432,
                text => match integer("port", text)? {
                    port @ 1..=65535 => port as u16,
                    _ => return Err(format!("invalid port number: \"{}\"", text.escape_debug())),
                },
            };
            let address = if !addr.is_empty() {
                let ip = parse_hostaddr(addr)
                    .ok_or_else(|| format!("could not parse network address \"{}\"", addr.escape_debug()))?;
                Address::Tcp { name: name.to_owned(), hostaddr: Some(ip) }
            } else if name.starts_with('/') {
                Address::Unix(PathBuf::from(name))
            } else if let Some(abstract_name) = name.strip_prefix('@') {
                Address::Abstract(abstract_name.to_owned())
            } else if name.is_empty() {
                Address::Default
            } else {
                Address::Tcp { name: name.to_owned(), hostaddr: None }
            };
            let passfile_name = match (name, addr) {
                ("" | DEFAULT_SOCKET_DIR, "") => "localhost",
                ("", addr) => addr,
                (name, _) if name == DEFAULT_SOCKET_DIR => "localhost",
                (name, _) => name,
            };
            Ok((Host { address, port, password: None }, port_text.clone(), passfile_name.to_owned()))
        })
        .collect()
}

/// libpq's TLS files as paths: sslrootcert (default `~/.postgresql/root.crt`; `system` for the
/// bundled roots), sslcert and sslkey (defaults `~/.postgresql/postgresql.crt` and `.key`).
/// Nothing is read here. One check is made before connecting (a difference the README lists):
/// verify-ca and verify-full need the root file, so its absence is refused at once.
fn tls_files(
    given: &HashMap<&str, String>,
    home: Option<&Path>,
    sslmode: SslMode,
    no_cert: bool,
) -> Result<TlsFiles, String> {
    let path = |key: &str, default: &str| -> Option<PathBuf> {
        match given.get(key).filter(|v| !v.is_empty()) {
            Some(path) => Some(PathBuf::from(path)),
            None => home.map(|home| home.join(".postgresql").join(default)),
        }
    };
    let root = match given.get("sslrootcert").map(String::as_str) {
        Some("system") => Root::System,
        _ => path("sslrootcert", "root.crt").map_or(Root::None, Root::File),
    };
    let there = matches!(&root, Root::System) || matches!(&root, Root::File(file) if file.exists());
    if sslmode >= SslMode::VerifyCa && !there {
        return Err(missing_root(&root));
    }
    let cert = if no_cert { None } else { path("sslcert", "postgresql.crt") };
    Ok(TlsFiles { root, cert, key: path("sslkey", "postgresql.key") })
}

/// libpq's rule for a private key: 0600 or less, or 0640 or less when root owns it.
pub fn check_key_mode(key: &Path) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    let Ok(metadata) = std::fs::metadata(key) else { return Ok(()) };
    let mode = metadata.mode();
    let allowed = if metadata.uid() == 0 { 0o037 } else { 0o077 };
    if mode & allowed != 0 {
        return Err(format!(
            "private key file \"{}\" has group or world access; file must have permissions u=rw (0600) or less if owned by the current user, or permissions u=rw,g=r (0640) or less if owned by root",
            key.display()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::postgres::parse::parse;

    fn settings_from(text: &str, env: &[(&str, &str)]) -> Result<Settings, String> {
        settings_with(text, env, None)
    }

    /// The settings with --password-file's content.
    fn settings_with(
        text: &str,
        env: &[(&str, &str)],
        password_file: Option<&str>,
    ) -> Result<Settings, String> {
        let env: Vec<(String, String)> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let lookup = move |name: &str| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        let os_user = || Some("osuser".to_owned());
        let password_file = password_file.map(Secret::new);
        settings(&parse(text).unwrap(), &Env { var: &lookup, os_user: &os_user }, password_file.as_ref())
    }

    /// libpq's order (the string, its service section, PGPASSWORD, the password file), with
    /// probe's --password-file between the service section and PGPASSWORD: an explicit option
    /// wins over an inherited variable.
    #[test]
    fn password_file_option_wins_over_pgpassword_not_over_the_string() {
        let dir = tempfile::tempdir().unwrap();
        let file = passfile(dir.path(), "*:*:*:*:from-pgpass\n");
        let env = [("PGPASSWORD", "from-env"), ("PGPASSFILE", file.as_str())];
        let s = settings_with("host=a user=app", &env, Some("from-option")).unwrap();
        assert_eq!(passwords(&s), [Some("from-option")]);
        let s = settings_with("host=a user=app password=stated", &env, Some("from-option")).unwrap();
        assert_eq!(passwords(&s), [Some("stated")]);
        // An empty `password=` is none: the option is next; libpq would not read PGPASSWORD.
        let s = settings_with("host=a user=app password=", &env, Some("from-option")).unwrap();
        assert_eq!(passwords(&s), [Some("from-option")]);
        std::fs::write(dir.path().join("svc.conf"), "[db]\npassword=from-service\n").unwrap();
        let svc = dir.path().join("svc.conf").display().to_string();
        let with_service = [env.as_slice(), &[("PGSERVICEFILE", svc.as_str())]].concat();
        let s = settings_with("service=db host=a user=app", &with_service, Some("from-option")).unwrap();
        assert_eq!(passwords(&s), [Some("from-service")]);
        let s = settings_with("host=a user=app", &env, None).unwrap();
        assert_eq!(passwords(&s), [Some("from-env")]);
    }

    /// libpq's passwordFromFile gets the hostaddr text as written when there is no host.
    #[test]
    fn the_password_file_matches_hostaddr_as_written() {
        let dir = tempfile::tempdir().unwrap();
        let file = passfile(dir.path(), "0\\:0\\:0\\:0\\:0\\:0\\:0\\:1:5432:*:*:long\n::1:5432:*:*:short\n");
        let env = [("PGPASSFILE", file.as_str())];
        let s = settings_from("hostaddr=0:0:0:0:0:0:0:1 user=app", &env).unwrap();
        assert_eq!(passwords(&s), [Some("long")]);
        let s = settings_from("hostaddr=::1 user=app", &env).unwrap();
        assert_eq!(passwords(&s), [None]);
        let file = passfile(dir.path(), "\\:\\:1:5432:*:*:short\n");
        let s = settings_from("hostaddr=::1 user=app", &[("PGPASSFILE", file.as_str())]).unwrap();
        assert_eq!(passwords(&s), [Some("short")]);
        let s = settings_from("hostaddr=0:0:0:0:0:0:0:1 user=app", &[("PGPASSFILE", file.as_str())]).unwrap();
        assert_eq!(passwords(&s), [None]);
    }

    fn passfile(dir: &Path, text: &str) -> String {
        use std::os::unix::fs::PermissionsExt;
        let path = dir.join("pgpass");
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        path.display().to_string()
    }

    fn passwords(s: &Settings) -> Vec<Option<&str>> {
        s.hosts.iter().map(|h| h.password.as_ref().map(Secret::expose)).collect()
    }

    #[test]
    fn the_password_file_is_read_per_host() {
        let dir = tempfile::tempdir().unwrap();
        let file = passfile(
            dir.path(),
            "a:5432:*:app:pw-a\nb:6000:*:app:pw-b\n10.0.0.9:5432:*:app:by-addr\nlocalhost:5432:*:app:local\n/run/pg:7:*:app:sock\n",
        );
        let env = [("PGPASSFILE", file.as_str())];
        let s = settings_from("host=a,b port=5432,6000 user=app", &env).unwrap();
        assert_eq!(passwords(&s), [Some("pw-a"), Some("pw-b")]);
        let s = settings_from("hostaddr=10.0.0.9,10.0.0.8 user=app", &env).unwrap();
        assert_eq!(passwords(&s), [Some("by-addr"), None]);
        let s = settings_from("host=,/var/run/postgresql,/run/pg port=5432,5432,7 user=app", &env).unwrap();
        assert_eq!(passwords(&s), [Some("local"), Some("local"), Some("sock")]);
        // The port compares as given.
        let s = settings_from("host=b port=06000 user=app", &env).unwrap();
        assert_eq!(passwords(&s), [None]);
        // A password given wins everywhere, even an empty PGPASSWORD sends none and reads the file.
        let s = settings_from("host=a,b user=app password=given", &env).unwrap();
        assert_eq!(passwords(&s), [Some("given"), Some("given")]);
        let s = settings_from("host=a user=app", &[("PGPASSFILE", &file), ("PGPASSWORD", "env")]).unwrap();
        assert_eq!(passwords(&s), [Some("env")]);
        let s = settings_from("host=a user=app", &[("PGPASSFILE", &file), ("PGPASSWORD", "")]).unwrap();
        assert_eq!(passwords(&s), [Some("pw-a")]);
        // `password=` is given (so PGPASSWORD is not read) but empty, so the file is.
        let s = settings_from("host=a user=app password=", &[("PGPASSFILE", &file), ("PGPASSWORD", "env")])
            .unwrap();
        assert_eq!(passwords(&s), [Some("pw-a")]);
        // A URL's empty password is no password at all: PGPASSWORD is read.
        let s = settings_from("postgres://app:@a", &[("PGPASSFILE", &file), ("PGPASSWORD", "env")]).unwrap();
        assert_eq!(passwords(&s), [Some("env")]);
        let s = settings_from(&format!("host=a user=app passfile={file}"), &[]).unwrap();
        assert_eq!(passwords(&s), [Some("pw-a")]);
        let s = settings_from("host=a user=app", &[("HOME", dir.path().to_str().unwrap())]).unwrap();
        assert_eq!(passwords(&s), [None]);
        std::fs::rename(dir.path().join("pgpass"), dir.path().join(".pgpass")).unwrap();
        let s = settings_from("host=a user=app", &[("HOME", dir.path().to_str().unwrap())]).unwrap();
        assert_eq!(passwords(&s), [Some("pw-a")]);
    }

    #[test]
    fn precedence_string_then_service_then_environment() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("svc.conf"), "[db]\nhost=from-service\nport=6001\nuser=svc\n")
            .unwrap();
        let svc = dir.path().join("svc.conf").display().to_string();
        let env = [
            ("PGSERVICEFILE", svc.as_str()),
            ("PGHOST", "from-env"),
            ("PGUSER", "envuser"),
            ("PGDATABASE", "envdb"),
        ];
        let s = settings_from("service=db port=7000", &env).unwrap();
        assert_eq!(s.hosts[0].address, Address::Tcp { name: "from-service".into(), hostaddr: None });
        assert_eq!((s.hosts[0].port, s.user.as_str(), s.dbname.as_str()), (7000, "svc", "envdb"));
        let with_pgservice = [env.as_slice(), &[("PGSERVICE", "db")]].concat();
        let s = settings_from("host=given", &with_pgservice).unwrap();
        assert_eq!(
            (&s.hosts[0].address, s.hosts[0].port),
            (&Address::Tcp { name: "given".into(), hostaddr: None }, 6001)
        );
        let err = settings_from("service=nope", &env).unwrap_err();
        assert_eq!(err, "definition of service \"nope\" not found");
        std::fs::write(dir.path().join("pg_service.conf"), "[sys]\ndbname=sysdb\n").unwrap();
        let sysconf = [("PGSYSCONFDIR", dir.path().to_str().unwrap())];
        assert_eq!(settings_from("service=sys", &sysconf).unwrap().dbname, "sysdb");
    }

    /// Checked against libpq 15 (psql with `hostaddr=`): inet_aton's shorter and octal or hex
    /// forms connect to 127.0.0.1; what getaddrinfo refuses is refused.
    #[test]
    fn hostaddr_forms_as_getaddrinfo_reads_them() {
        for text in ["127.0.0.1", "127.1", "0x7f.1", "0177.0.0.1", "127.0.1", "2130706433", "0x7F000001"] {
            assert_eq!(parse_hostaddr(text), Some("127.0.0.1".parse().unwrap()), "{text}");
        }
        assert_eq!(parse_hostaddr("::ffff:127.0.0.1"), Some("::ffff:127.0.0.1".parse().unwrap()));
        for text in
            ["db", "", "1.2.3.4.5", "256.1", "1.2.3.256", "08.1", "0x", "1..2", " 127.0.0.1", "4294967296"]
        {
            assert_eq!(parse_hostaddr(text), None, "{text}");
        }
    }

    #[test]
    fn host_lists_as_libpq_builds_them() {
        let s = settings_from("host=a,,/tmp,@abs port=1,,3,4", &[]).unwrap();
        let addresses: Vec<_> = s.hosts.iter().map(|h| (h.address.clone(), h.port)).collect();
        assert_eq!(
            addresses,
            [
                (Address::Tcp { name: "a".into(), hostaddr: None }, 1),
                (Address::Default, 5432),
                (Address::Unix("/tmp".into()), 3),
                (Address::Abstract("abs".into()), 4),
            ]
        );
        let s = settings_from("hostaddr=10.0.0.1,,::1 host=,b,c", &[]).unwrap();
        assert_eq!(
            s.hosts[0].address,
            Address::Tcp { name: String::new(), hostaddr: Some("10.0.0.1".parse().unwrap()) }
        );
        assert_eq!(s.hosts[1].address, Address::Tcp { name: "b".into(), hostaddr: None });
        let s = settings_from("host=db port=' 6000 '", &[("PGPORT", "1")]).unwrap();
        assert_eq!(s.hosts[0].port, 6000);
        let s = settings_from("host=db", &[("PGPORT", "6000"), ("PGHOST", "ignored")]).unwrap();
        assert_eq!(s.hosts[0].port, 6000);
    }

    #[test]
    fn the_environment_and_defaults_fill_the_gaps() {
        let s = settings_from(
            "host=db",
            &[("PGUSER", "envuser"), ("PGSSLMODE", "verify-full"), ("PGSSLROOTCERT", "system")],
        )
        .unwrap();
        assert_eq!(
            (s.user.as_str(), s.dbname.as_str(), s.sslmode),
            ("envuser", "envuser", SslMode::VerifyFull)
        );
        assert_eq!(s.tls.root, Root::System);
        let s = settings_from("host=db sslrootcert=system", &[]).unwrap();
        assert_eq!(s.sslmode, SslMode::VerifyFull);
        let s = settings_from(
            "host=db",
            &[("PGTZ", "Europe/Paris"), ("PGOPTIONS", "-c work_mem=1MB"), ("PGDATESTYLE", "ISO, DMY")],
        )
        .unwrap();
        assert_eq!(
            s.options.as_deref(),
            Some("-c work_mem=1MB -c datestyle=ISO,\\ DMY -c timezone=Europe/Paris")
        );
        assert_eq!(
            (s.user.as_str(), s.application_name.as_str(), s.sslmode),
            ("osuser", "probe", SslMode::Prefer)
        );
        // client_encoding is sent for the server to judge (after options, as libpq); `auto` is
        // libpq's own and not sent.
        let s = settings_from("host=db", &[("PGCLIENTENCODING", "LATIN1"), ("PGOPTIONS", "-c a=b")]).unwrap();
        assert_eq!(s.options.as_deref(), Some("-c a=b -c client_encoding=LATIN1"));
        assert_eq!(settings_from("host=db client_encoding=auto", &[]).unwrap().options, None);
        // libpq's build_startup_packet skips PGTZ, PGDATESTYLE and PGGEQO set to `default`.
        let s = settings_from(
            "host=db",
            &[("PGTZ", "DEFAULT"), ("PGDATESTYLE", "default"), ("PGGEQO", "Default")],
        )
        .unwrap();
        assert_eq!(s.options, None);
        let s = settings_from("host=db fallback_application_name=app", &[]).unwrap();
        assert_eq!(s.application_name, "app");
        let s = settings_from("host=db fallback_application_name=app", &[("PGAPPNAME", "env")]).unwrap();
        assert_eq!(s.application_name, "env");
        assert_eq!(
            settings_from("host=db connect_timeout=1", &[]).unwrap().connect_timeout,
            Some(Duration::from_secs(2))
        );
        assert_eq!(settings_from("host=db", &[("PGCONNECT_TIMEOUT", "0")]).unwrap().connect_timeout, None);
        assert_eq!(
            settings_from("host=db", &[("PGCONNECT_TIMEOUT", "5")]).unwrap().connect_timeout,
            Some(Duration::from_secs(5))
        );
        assert_eq!(
            settings_from("host=db target_session_attrs=standby", &[]).unwrap().target,
            SessionAttrs::Standby
        );
        assert_eq!(
            settings_from("host=db", &[("PGTARGETSESSIONATTRS", "read-write")]).unwrap().target,
            SessionAttrs::ReadWrite
        );
        assert!(!settings_from("host=db sslsni=0", &[]).unwrap().sni);
        for text in [
            "host=db gssencmode=disable",
            "host=db client_encoding=LATIN1 keepalives=0 replication=false",
            "host=db sslcompression=1 krbsrvname=x",
        ] {
            settings_from(text, &[]).unwrap();
        }
    }

    /// Each value refused here was refused by libpq 15 too (PQconnectStart through ctypes), with
    /// the message quoted; the rest are what probe cannot honour.
    #[test]
    fn bad_or_unhonourable_settings_say_which() {
        for (text, env, expected) in [
            ("host=db sslmode=strict", &[][..], "invalid sslmode value: \"strict\""),
            ("host=db", &[("PGSSLMODE", "")][..], "invalid sslmode value: \"\""),
            ("host=db port=0", &[], "invalid port number: \"0\""),
            ("host=db port=x", &[], "invalid integer value for connection option \"port\""),
            ("host=db port=99999999999", &[], "invalid integer value \"99999999999\" for connection"),
            ("host=a,b,c port=1,2", &[], "could not match 2 port numbers to 3 hosts"),
            ("host=a,b hostaddr=127.0.0.1", &[], "could not match 2 host names to 1 hostaddr values"),
            ("host=a hostaddr=db", &[], "could not parse network address \"db\""),
            ("host=db target_session_attrs=foo", &[], "invalid target_session_attrs value: \"foo\""),
            ("host=db channel_binding=maybe", &[], "invalid channel_binding value"),
            ("host=db gssencmode=require", &[], "gssencmode=require: probe has no GSSAPI"),
            ("host=db", &[("PGGSSENCMODE", "require")], "gssencmode=require"),
            (
                "host=db connect_timeout=soon",
                &[],
                "invalid integer value for connection option \"connect_timeout\"",
            ),
            (
                "host=db sslrootcert=system sslmode=require",
                &[],
                "weak sslmode \"require\" may not be used with sslrootcert=system",
            ),
            (
                "host=db sslnegotiation=direct",
                &[],
                "weak sslmode \"prefer\" may not be used with sslnegotiation=direct",
            ),
            (
                "host=db sslmode=verify-ca sslrootcert=/nonexistent/ca",
                &[],
                "root certificate file \"/nonexistent/ca\" does not exist",
            ),
            ("hostaddr=10.0.0.1 sslmode=verify-full sslrootcert=system", &[], "has no host name to verify"),
            ("host=db require_auth=scram-sha-256", &[], "require_auth: probe cannot"),
            ("host=db replication=database", &[], "replication: probe checks ordinary sessions only"),
            ("host=db replication=maybe", &[], "invalid replication value"),
            ("host=db ssl_max_protocol_version=TLSv1.2", &[], "cannot narrow"),
            ("host=db load_balance_hosts=yes", &[], "invalid load_balance_hosts value"),
        ] {
            let err = settings_from(text, env).expect_err(text);
            assert!(err.contains(expected), "{text}: {err}");
        }
    }

    /// libpq's initialize_SSL: the files are looked at when TLS starts, not when the settings
    /// are read; the messages are libpq's.
    #[test]
    fn tls_files_where_libpq_looks() {
        let dir = tempfile::tempdir().unwrap();
        let pg = dir.path().join(".postgresql");
        std::fs::create_dir(&pg).unwrap();
        let home = [("HOME", dir.path().to_str().unwrap())];
        let at_start = |text: &str| {
            let s = settings_from(text, &home).unwrap();
            s.tls.at_tls_start(s.sslmode)
        };
        let nothing = TlsStart { root: Root::None, identity: None };
        assert_eq!(at_start("host=db").unwrap(), nothing);
        std::fs::write(pg.join("root.crt"), "x").unwrap();
        assert_eq!(at_start("host=db").unwrap().root, Root::File(pg.join("root.crt")));
        std::fs::write(pg.join("postgresql.crt"), "x").unwrap();
        // Reading the settings does not look at the certificate; starting TLS does.
        settings_from("host=db", &home).unwrap();
        let err = at_start("host=db").unwrap_err();
        assert!(err.contains("certificate present, but not private key file"), "{err}");
        std::fs::write(pg.join("postgresql.key"), "x").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(pg.join("postgresql.key"), std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = at_start("host=db").unwrap_err();
        assert!(err.contains("has group or world access"), "{err}");
        std::fs::set_permissions(pg.join("postgresql.key"), std::fs::Permissions::from_mode(0o600)).unwrap();
        check_key_mode(&pg.join("postgresql.key")).unwrap();
        let tls = at_start("host=db").unwrap();
        assert_eq!(tls.identity, Some((pg.join("postgresql.crt"), pg.join("postgresql.key"))));
        assert_eq!(at_start("host=db sslcertmode=disable").unwrap().identity, None);
        // A missing root file is refused before connecting only where it is always needed.
        std::fs::remove_file(pg.join("root.crt")).unwrap();
        let err = settings_from("host=db sslmode=verify-ca", &home).unwrap_err();
        assert!(err.contains("root certificate file") && err.contains("does not exist"), "{err}");
        // Neither a socket nor sslmode=disable reads them.
        assert_eq!(settings_from("host=/tmp sslmode=verify-full", &[]).unwrap().tls, TlsFiles::default());
        assert_eq!(
            settings_from("host=db sslmode=disable sslrootcert=/nonexistent", &[]).unwrap().tls,
            TlsFiles::default()
        );
    }
}
