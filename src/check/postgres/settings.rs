//! The settings of one target, completed as libpq completes them: the connection string, then
//! the service file's section, then the PG* variables (read through the `Env` probe is given),
//! then libpq's defaults; then the host list (`hosts`), each host with its own port and
//! password; then each value checked. The TLS files are `tlsfiles`'s.

use std::{
    collections::HashMap,
    net::IpAddr,
    path::{Path, PathBuf},
    time::Duration,
};

use super::{hosts, parse::KEYWORDS, passfile::PassFile, service, tlsfiles::TlsFiles};
use crate::{env::Env, secret::Secret};

/// libpq's default socket directory (Debian's build); a password file names it `localhost`.
pub const DEFAULT_SOCKET_DIR: &str = "/var/run/postgresql";

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


/// The keywords given, each once (a later value overrides an earlier one): from the string,
/// then the service file's section, then the PG* variables.
pub struct Given {
    values: HashMap<&'static str, String>,
    /// The password the string or its service section states, before PGPASSWORD can fill in.
    stated_password: Option<String>,
}

impl Given {
    fn gather(pairs: &[(String, String)], env: &dyn Env, home: Option<&Path>) -> Result<Given, String> {
        let keyword = |key: &str| KEYWORDS.iter().find(|(k, _)| *k == key).map(|(k, _)| *k);
        let mut values = HashMap::new();
        for (key, value) in pairs {
            if let Some(keyword) = keyword(key) {
                values.insert(keyword, value.clone());
            }
        }
        let service = values.get("service").cloned().or_else(|| env.var("PGSERVICE"));
        if let Some(name) = service.filter(|name| !name.is_empty()) {
            let (user_file, system_file) = service::files(env, home);
            for (key, value) in service::lookup(&name, user_file.as_deref(), &system_file)? {
                if let Some(keyword) = keyword(&key) {
                    values.entry(keyword).or_insert(value);
                }
            }
        }
        let stated_password = values.get("password").cloned();
        for (keyword, var) in KEYWORDS {
            if let Some(value) = var.and_then(|var| env.var(var)) {
                values.entry(keyword).or_insert(value);
            }
        }
        Ok(Given { values, stated_password })
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(String::as_str)
    }

    /// The value, unless it is empty (which libpq reads as not given, for most keys).
    pub fn nonempty(&self, key: &str) -> Option<&str> {
        self.get(key).filter(|value| !value.is_empty())
    }
}

/// Completes `pairs` from the service file, the environment and libpq's defaults.
/// `password_file` is --password-file's content, used when the settings give no password.
pub fn settings(
    pairs: &[(String, String)],
    env: &dyn Env,
    password_file: Option<&Secret>,
) -> Result<Settings, String> {
    let home = env.var("HOME").filter(|home| !home.is_empty()).map(PathBuf::from);
    let given = Given::gather(pairs, env, home.as_deref())?;
    let user = match given.nonempty("user") {
        Some(user) => user.to_owned(),
        None => env.os_user().unwrap_or_else(|| "postgres".to_owned()),
    };
    let dbname = given.nonempty("dbname").unwrap_or(&user).to_owned();
    let tls_mode = TlsMode::read(&given)?;
    let session = SessionChoices::read(&given)?;
    refuse_what_probe_cannot_honour(&given)?;
    let connect_timeout = connect_timeout(&given)?;
    let options = startup_options(&given, env);
    let application_name = given
        .nonempty("application_name")
        .or_else(|| given.nonempty("fallback_application_name"))
        .unwrap_or("probe")
        .to_owned();
    let mut hosts = hosts::hosts(given.get("host"), given.get("hostaddr"), given.get("port"))?;
    if tls_mode.sslmode == SslMode::VerifyFull
        && let Some(addr) = hosts.iter().find_map(|(host, _, _)| match &host.address {
            Address::Tcp { name, hostaddr: Some(addr) } if name.is_empty() => Some(addr),
            _ => None,
        })
    {
        return Err(format!(
            "hostaddr {addr} has no host name to verify the certificate against (sslmode=verify-full)"
        ));
    }
    let password = Passwords { given: &given, password_file, home: home.as_deref(), dbname: &dbname, user: &user };
    let passfile_note = password.fill(&mut hosts);
    let hosts: Vec<Host> = hosts.into_iter().map(|(host, _, _)| host).collect();
    let tls = if tls_mode.sslmode == SslMode::Disable
        || hosts.iter().all(|h| matches!(h.address, Address::Unix(_) | Address::Abstract(_)))
    {
        TlsFiles::default()
    } else {
        super::tlsfiles::tls_files(&given, home.as_deref(), tls_mode.sslmode, tls_mode.no_cert)?
    };
    Ok(Settings {
        hosts,
        user,
        dbname,
        sslmode: tls_mode.sslmode,
        tls,
        sni: tls_mode.sni,
        direct_tls: tls_mode.direct_tls,
        application_name,
        options,
        target: session.target,
        channel_binding: session.channel_binding,
        connect_timeout,
        load_balance: session.load_balance,
        passfile_note,
    })
}

/// sslmode, sslnegotiation, sslsni, sslcertmode and the TLS versions, checked together as
/// libpq checks them.
struct TlsMode {
    sslmode: SslMode,
    direct_tls: bool,
    sni: bool,
    /// sslcertmode=disable: no client certificate is looked for.
    no_cert: bool,
}

impl TlsMode {
    fn read(given: &Given) -> Result<TlsMode, String> {
        let sslrootcert = given.nonempty("sslrootcert");
        let sslmode = match given.get("sslmode") {
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
                given.get("sslmode").unwrap_or_default()
            ));
        }
        let negotiation = given.get("sslnegotiation").unwrap_or("postgres");
        let direct_tls = choice("sslnegotiation", negotiation, &[("postgres", false), ("direct", true)])?;
        if direct_tls && sslmode < SslMode::Require {
            return Err(format!(
                "weak sslmode \"{}\" may not be used with sslnegotiation=direct (use \"require\", \"verify-ca\", or \"verify-full\")",
                given.get("sslmode").unwrap_or("prefer")
            ));
        }
        let cert_mode = given.get("sslcertmode").unwrap_or("allow");
        let cert_mode = choice("sslcertmode", cert_mode, &[("disable", 0), ("allow", 1), ("require", 2)])?;
        if cert_mode == 2 {
            return Err(
                "sslcertmode=require: probe cannot tell whether the server asked for the certificate; use allow"
                    .to_owned(),
            );
        }
        let tls_version = [("TLSv1", 10), ("TLSv1.1", 11), ("TLSv1.2", 12), ("TLSv1.3", 13)];
        let min_tls = given.get("ssl_min_protocol_version").unwrap_or("TLSv1.2");
        let min_tls = choice("ssl_min_protocol_version", min_tls, &tls_version)?;
        let max_tls = match given.nonempty("ssl_max_protocol_version") {
            Some(version) => choice("ssl_max_protocol_version", version, &tls_version)?,
            None => 13,
        };
        if min_tls > 12 || max_tls < 13 {
            return Err(
                "ssl_min_protocol_version/ssl_max_protocol_version: probe speaks TLS 1.2 and 1.3 and cannot narrow them".to_owned(),
            );
        }
        let sni = given.get("sslsni").is_none_or(|value| value != "0");
        Ok(TlsMode { sslmode, direct_tls, sni, no_cert: cert_mode == 0 })
    }
}

/// channel_binding, target_session_attrs and load_balance_hosts.
struct SessionChoices {
    channel_binding: tokio_postgres::config::ChannelBinding,
    target: SessionAttrs,
    load_balance: bool,
}

impl SessionChoices {
    fn read(given: &Given) -> Result<SessionChoices, String> {
        use tokio_postgres::config::ChannelBinding;
        let channel_binding = choice(
            "channel_binding",
            given.get("channel_binding").unwrap_or("prefer"),
            &[
                ("disable", ChannelBinding::Disable),
                ("prefer", ChannelBinding::Prefer),
                ("require", ChannelBinding::Require),
            ],
        )?;
        let target = choice(
            "target_session_attrs",
            given.get("target_session_attrs").unwrap_or("any"),
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
            given.get("load_balance_hosts").unwrap_or("disable"),
            &[("disable", false), ("random", true)],
        )?;
        Ok(SessionChoices { channel_binding, target, load_balance })
    }
}

/// What libpq accepts and probe cannot do: refused with exit 3 rather than ignored. The other
/// values are checked as libpq checks them.
fn refuse_what_probe_cannot_honour(given: &Given) -> Result<(), String> {
    let gssenc = given.get("gssencmode").unwrap_or("prefer");
    if choice("gssencmode", gssenc, &[("disable", false), ("prefer", false), ("require", true)])? {
        return Err(
            "gssencmode=require: probe has no GSSAPI (Kerberos) encryption; use gssencmode=prefer or disable"
                .to_owned(),
        );
    }
    let replication = given.get("replication").unwrap_or("false");
    let off = ["0", "false", "off", "no", "f", "n"];
    if !off.iter().any(|word| replication.eq_ignore_ascii_case(word)) {
        let on = ["1", "true", "on", "yes", "t", "y", "database"];
        if !on.iter().any(|word| replication.eq_ignore_ascii_case(word)) {
            return Err(format!("invalid replication value: \"{}\"", replication.escape_debug()));
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
        if given.nonempty(key).is_some() {
            return Err(format!("{key}: {why}"));
        }
    }
    let protocol = [("3.0", 0), ("3.2", 2), ("latest", 2)];
    if choice("min_protocol_version", given.get("min_protocol_version").unwrap_or("3.0"), &protocol)? > 0 {
        return Err("min_protocol_version: probe speaks protocol 3.0 only".to_owned());
    }
    choice("max_protocol_version", given.get("max_protocol_version").unwrap_or("3.0"), &protocol)?;
    for key in ["keepalives", "keepalives_idle", "keepalives_interval", "keepalives_count", "tcp_user_timeout"] {
        if let Some(value) = given.get(key) {
            integer(key, value)?;
        }
    }
    Ok(())
}

/// libpq's connect_timeout: none at 0 or below, two seconds at least.
fn connect_timeout(given: &Given) -> Result<Option<Duration>, String> {
    Ok(match given.nonempty("connect_timeout") {
        Some(value) => match integer("connect_timeout", value)? {
            seconds if seconds <= 0 => None,
            seconds => Some(Duration::from_secs(seconds.max(2).unsigned_abs())),
        },
        None => None,
    })
}

/// `options`, then client_encoding, then PGDATESTYLE, PGTZ and PGGEQO as `-c` settings: libpq's
/// startup-packet order.
fn startup_options(given: &Given, env: &dyn Env) -> Option<String> {
    let mut options: Vec<String> = given.nonempty("options").map(str::to_owned).into_iter().collect();
    // client_encoding / PGCLIENTENCODING: tokio-postgres's session is always UTF8 (its startup
    // packet's client_encoding wins over `options`), but sent here the server still refuses a
    // bad name, as it refuses libpq's. `auto` is libpq's own (the locale's encoding).
    if let Some(encoding) = given.nonempty("client_encoding").filter(|value| *value != "auto") {
        options.push(format!("-c client_encoding={}", escape_option(encoding)));
    }
    for (var, setting) in [("PGDATESTYLE", "datestyle"), ("PGTZ", "timezone"), ("PGGEQO", "geqo")] {
        // libpq's build_startup_packet: a variable set to `default` (any case) is not sent; an
        // empty one is sent empty, for the server to judge (it refuses an empty PGTZ).
        if let Some(value) = env.var(var).filter(|v| !v.eq_ignore_ascii_case("default")) {
            options.push(format!("-c {setting}={}", escape_option(&value)));
        }
    }
    (!options.is_empty()).then(|| options.join(" "))
}

/// Where each host's password comes from: the one the string or its service section states (an
/// empty one is none), then --password-file (an explicit option wins over an inherited
/// PGPASSWORD), then PGPASSWORD (read by libpq only when the string has no `password` at all),
/// then the password file, looked up for each host.
struct Passwords<'a> {
    given: &'a Given,
    password_file: Option<&'a Secret>,
    home: Option<&'a Path>,
    dbname: &'a str,
    user: &'a str,
}

impl Passwords<'_> {
    /// Gives each host its password; returns why the password file was skipped, if it was.
    fn fill(&self, hosts: &mut [(Host, String, String)]) -> Option<String> {
        let password = self
            .given
            .stated_password
            .as_deref()
            .filter(|p| !p.is_empty())
            .map(Secret::new)
            .or_else(|| self.password_file.filter(|p| !p.expose().is_empty()).cloned())
            .or_else(|| self.given.nonempty("password").map(Secret::new));
        if password.is_some() {
            for (host, _, _) in hosts {
                host.password.clone_from(&password);
            }
            return None;
        }
        let path = match self.given.nonempty("passfile") {
            Some(path) => Some(PathBuf::from(path)),
            None => self.home.map(|home| home.join(".pgpass")),
        };
        let file = path.as_deref().map_or(PassFile::Missing, PassFile::read);
        for (host, port_text, name) in hosts {
            let port = if port_text.is_empty() { "5432" } else { port_text.as_str() };
            host.password = file.lookup(name, port, self.dbname, self.user);
        }
        match file {
            PassFile::Ignored(why) => Some(why),
            _ => None,
        }
    }
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
pub fn integer(key: &str, value: &str) -> Result<i64, String> {
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

#[cfg(test)]
pub mod tests {
    use super::*;
    use crate::check::postgres::{parse::parse, tlsfiles::Root};

    /// An environment of the variables given, run by a user named `osuser`.
    struct Vars(Vec<(String, String)>);

    impl Env for Vars {
        fn var(&self, name: &str) -> Option<String> {
            self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
        }

        fn os_user(&self) -> Option<String> {
            Some("osuser".to_owned())
        }
    }

    pub fn settings_from(text: &str, env: &[(&str, &str)]) -> Result<Settings, String> {
        settings_with(text, env, None)
    }

    /// The settings with --password-file's content.
    pub fn settings_with(text: &str, env: &[(&str, &str)], password_file: Option<&str>) -> Result<Settings, String> {
        let env = Vars(env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect());
        let password_file = password_file.map(Secret::new);
        settings(&parse(text).unwrap().pairs, &env, password_file.as_ref())
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
}
