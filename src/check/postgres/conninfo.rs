//! libpq's connection settings: `postgres://` URLs and `key=value` strings read as libpq reads
//! them, then completed from the PG* environment variables and libpq's defaults.

use std::{
    net::IpAddr,
    path::{Path, PathBuf},
};

use crate::{
    net::{parse_port, percent_decode as decode},
    secret::Secret,
};

/// Settings for one target, complete and checked.
#[derive(Debug)]
pub struct Settings {
    pub hosts: Vec<Host>,
    pub user: String,
    pub dbname: String,
    pub password: Option<Secret>,
    pub sslmode: SslMode,
    pub sslrootcert: Option<PathBuf>,
    pub sslcert: Option<PathBuf>,
    pub sslkey: Option<PathBuf>,
    pub application_name: String,
    pub options: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Host {
    /// A host name or address; `addr` is libpq's `hostaddr`, which skips name resolution while
    /// the name still serves TLS.
    Tcp { name: String, addr: Option<IpAddr>, port: u16 },
    /// A directory holding the server's socket `.s.PGSQL.<port>`.
    Unix { dir: PathBuf, port: u16 },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    Allow,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

/// Keys whose meaning probe carries out.
const HONOURED: &[&str] = &[
    "host",
    "hostaddr",
    "port",
    "dbname",
    "user",
    "password",
    "sslmode",
    "sslrootcert",
    "sslcert",
    "sslkey",
    "application_name",
    "options",
];
/// Keys accepted and left alone: they tune what probe already decides (`connect_timeout`: the
/// deadline is -t) or do not change the verdict.
const IGNORED: &[&str] = &[
    "connect_timeout",
    "client_encoding",
    "fallback_application_name",
    "keepalives",
    "keepalives_idle",
    "keepalives_interval",
    "keepalives_count",
    "tcp_user_timeout",
    "sslsni",
    "sslcompression",
];

/// The `key=value` pairs of a URL or conninfo string, in order, values decoded.
pub fn parse(text: &str) -> Result<Vec<(String, String)>, String> {
    let pairs =
        if let Some(rest) = text.strip_prefix("postgresql://").or_else(|| text.strip_prefix("postgres://")) {
            parse_url(rest)?
        } else if text.contains('=') {
            parse_keywords(text)?
        } else {
            return Err("neither a postgres:// URL nor key=value settings".to_owned());
        };
    for (key, _) in &pairs {
        if !HONOURED.contains(&key.as_str()) && !IGNORED.contains(&key.as_str()) {
            return Err(format!("'{key}' is not a connection setting probe supports"));
        }
    }
    Ok(pairs)
}

/// `[user[:password]@][host[:port][,host[:port]…]][/dbname][?key=value&…]`
fn parse_url(rest: &str) -> Result<Vec<(String, String)>, String> {
    let (main, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (authority, dbname) = main.split_once('/').unwrap_or((main, ""));
    let (userinfo, hostlist) = match authority.rsplit_once('@') {
        Some((userinfo, hostlist)) => (Some(userinfo), hostlist),
        None => (None, authority),
    };
    let mut pairs = Vec::new();
    if let Some(userinfo) = userinfo {
        let (user, password) = match userinfo.split_once(':') {
            Some((user, password)) => (user, Some(password)),
            None => (userinfo, None),
        };
        if !user.is_empty() {
            pairs.push(("user".to_owned(), decode(user)?));
        }
        if let Some(password) = password {
            pairs.push(("password".to_owned(), decode(password)?));
        }
    }
    if !hostlist.is_empty() {
        let (mut hosts, mut ports) = (Vec::new(), Vec::new());
        for entry in hostlist.split(',') {
            let (host, port) = split_url_host(entry)?;
            hosts.push(decode(host)?);
            ports.push(port.to_owned());
        }
        if hosts.iter().any(|host| !host.is_empty()) {
            pairs.push(("host".to_owned(), hosts.join(",")));
        }
        if ports.iter().any(|port| !port.is_empty()) {
            pairs.push(("port".to_owned(), ports.join(",")));
        }
    }
    if !dbname.is_empty() {
        pairs.push(("dbname".to_owned(), decode(dbname)?));
    }
    for parameter in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = parameter.split_once('=').ok_or_else(|| {
            format!("the URL parameter '{}' has no value", decode(parameter).unwrap_or_default())
        })?;
        pairs.push((decode(key)?, decode(value)?));
    }
    Ok(pairs)
}

/// `host:port`, `[v6]:port`, `host`, or nothing.
fn split_url_host(entry: &str) -> Result<(&str, &str), String> {
    if let Some(rest) = entry.strip_prefix('[') {
        let (host, after) = rest.split_once(']').ok_or("an IPv6 address in the URL needs its closing ']'")?;
        let port = match after {
            "" => "",
            _ => after.strip_prefix(':').ok_or("text after the IPv6 address in the URL is not a port")?,
        };
        return Ok((host, port));
    }
    Ok(entry.split_once(':').unwrap_or((entry, "")))
}

/// `key = value key='quoted \' value'`, with libpq's quoting and backslash escapes.
fn parse_keywords(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut chars = text.chars().peekable();
    let mut pairs = Vec::new();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.peek().is_none() {
            return Ok(pairs);
        }
        let mut key = String::new();
        while let Some(c) = chars.next_if(|c| *c != '=' && !c.is_whitespace()) {
            key.push(c);
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.next() != Some('=') {
            return Err(format!("'{key}' has no '=' and value"));
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let mut value = String::new();
        if chars.next_if_eq(&'\'').is_some() {
            loop {
                match chars.next() {
                    None => return Err(format!("the quoted value of '{key}' has no closing quote")),
                    Some('\'') => break,
                    Some('\\') => value.push(chars.next().unwrap_or('\\')),
                    Some(c) => value.push(c),
                }
            }
        } else {
            while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                value.push(if c == '\\' { chars.next().unwrap_or('\\') } else { c });
            }
        }
        pairs.push((key, value));
    }
}

/// The target as shown: the text given, with any password replaced by `***`.
pub fn label(text: &str) -> String {
    if text.starts_with("postgres://") || text.starts_with("postgresql://") {
        return crate::secret::redact_url(text);
    }
    match parse_keywords(text) {
        Ok(pairs) => pairs
            .iter()
            .map(|(key, value)| match key.as_str() {
                "password" => format!("{key}=***"),
                _ if value.is_empty() || value.contains([' ', '\'', '\\']) => {
                    format!("{key}='{}'", value.replace('\\', "\\\\").replace('\'', "\\'"))
                }
                _ => format!("{key}={value}"),
            })
            .collect::<Vec<_>>()
            .join(" "),
        Err(_) => "(unparsable settings)".to_owned(),
    }
}

/// What libpq would read from outside the connection string.
pub struct PostgresEnv<'a> {
    /// Looks up an environment variable.
    pub var: &'a dyn Fn(&str) -> Option<String>,
    /// The name of the user running probe; asked only when no user is given.
    pub os_user: &'a dyn Fn() -> Option<String>,
    /// The password file's text (PGPASSFILE, else ~/.pgpass), if it is there and private;
    /// read only when no other password is given.
    pub passfile: &'a dyn Fn() -> Option<String>,
}

/// Completes `pairs` from the environment and libpq's defaults. `password_file` is
/// --password-file's content. The password comes from the settings, --password-file,
/// PGPASSWORD, then the password file, in that order.
pub fn settings(
    pairs: &[(String, String)],
    env: &PostgresEnv<'_>,
    password_file: Option<&Secret>,
) -> Result<Settings, String> {
    let given = |key: &str| pairs.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.clone());
    let setting = |key: &str, var: &str| given(key).or_else(|| (env.var)(var)).filter(|v| !v.is_empty());

    let user = setting("user", "PGUSER").or_else(env.os_user).unwrap_or_else(|| "postgres".to_owned());
    let dbname = setting("dbname", "PGDATABASE").unwrap_or_else(|| user.clone());
    let hosts =
        hosts(setting("host", "PGHOST"), setting("hostaddr", "PGHOSTADDR"), setting("port", "PGPORT"))?;
    let password = given("password")
        .map(Secret::new)
        .or_else(|| password_file.cloned())
        .or_else(|| (env.var)("PGPASSWORD").filter(|p| !p.is_empty()).map(Secret::new))
        .or_else(|| {
            let passfile = (env.passfile)()?;
            hosts.first().and_then(|host| passfile_password(&passfile, host, &dbname, &user))
        });
    let sslmode = match setting("sslmode", "PGSSLMODE").as_deref() {
        None | Some("prefer") => SslMode::Prefer,
        Some("disable") => SslMode::Disable,
        Some("allow") => SslMode::Allow,
        Some("require") => SslMode::Require,
        Some("verify-ca") => SslMode::VerifyCa,
        Some("verify-full") => SslMode::VerifyFull,
        Some(other) => {
            return Err(format!(
                "sslmode '{other}' is not one of disable, allow, prefer, require, verify-ca, verify-full"
            ));
        }
    };
    Ok(Settings {
        hosts,
        user,
        dbname,
        password,
        sslmode,
        sslrootcert: setting("sslrootcert", "PGSSLROOTCERT").map(PathBuf::from),
        sslcert: setting("sslcert", "PGSSLCERT").map(PathBuf::from),
        sslkey: setting("sslkey", "PGSSLKEY").map(PathBuf::from),
        application_name: setting("application_name", "PGAPPNAME").unwrap_or_else(|| "probe".to_owned()),
        options: setting("options", "PGOPTIONS"),
    })
}

/// The password of the first line of a `.pgpass` file matching `host:port:database:user`
/// (`*` matches anything; `\:` and `\\` escape). As libpq, a socket in the default directory
/// is looked up as `localhost`. Only the first host of a list is looked up.
fn passfile_password(text: &str, host: &Host, dbname: &str, user: &str) -> Option<Secret> {
    let (host, port) = match host {
        Host::Tcp { name, port, .. } => (name.clone(), *port),
        Host::Unix { dir, port } if dir == Path::new("/var/run/postgresql") => {
            ("localhost".to_owned(), *port)
        }
        Host::Unix { dir, port } => (dir.display().to_string(), *port),
    };
    let wanted = [host.as_str(), &port.to_string(), dbname, user];
    text.lines().filter(|line| !line.trim_start().starts_with('#')).find_map(|line| {
        let fields = passfile_fields(line);
        let matches = fields.len() == 5
            && wanted.iter().zip(&fields).all(|(want, field)| field == "*" || field == want);
        matches.then(|| Secret::new(fields[4].clone()))
    })
}

/// A `.pgpass` line's colon-separated fields, with backslash escapes undone.
fn passfile_fields(line: &str) -> Vec<String> {
    let (mut fields, mut field) = (Vec::new(), String::new());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => field.extend(chars.next()),
            // The password, the fifth field, may hold unescaped colons.
            ':' if fields.len() < 4 => fields.push(std::mem::take(&mut field)),
            c => field.push(c),
        }
    }
    fields.push(field);
    fields
}

/// libpq's host, hostaddr and port lists: one port for all hosts, or one per host. With no
/// host, the local socket if the server's socket file is there, else localhost.
fn hosts(host: Option<String>, hostaddr: Option<String>, port: Option<String>) -> Result<Vec<Host>, String> {
    let ports: Vec<u16> = match &port {
        None => vec![5432],
        Some(list) => list
            .split(',')
            .map(|p| if p.is_empty() { Ok(5432) } else { parse_port(p) })
            .collect::<Result<_, _>>()?,
    };
    let names: Vec<String> = match host {
        Some(list) => list.split(',').map(str::to_owned).collect(),
        None => vec![String::new()],
    };
    let addrs: Vec<Option<IpAddr>> = match hostaddr {
        None => vec![None; names.len()],
        Some(list) => list
            .split(',')
            .map(|a| a.parse().map(Some).map_err(|_| format!("hostaddr '{a}' is not an IP address")))
            .collect::<Result<_, _>>()?,
    };
    if ports.len() != 1 && ports.len() != names.len() {
        return Err(format!(
            "{} ports for {} hosts; give one port, or one per host",
            ports.len(),
            names.len()
        ));
    }
    if addrs.len() != names.len() {
        return Err(format!("{} hostaddrs for {} hosts; give one per host", addrs.len(), names.len()));
    }
    Ok(names
        .into_iter()
        .zip(addrs)
        .enumerate()
        .map(|(index, (name, addr))| {
            let port = ports[if ports.len() == 1 { 0 } else { index }];
            match (name.as_str(), addr) {
                (name, None) if name.starts_with('/') => Host::Unix { dir: PathBuf::from(name), port },
                ("", None) => default_host(port),
                (name, addr) => Host::Tcp { name: name.to_owned(), addr, port },
            }
        })
        .collect())
}

/// libpq's default: the socket directory it was built with (Debian's, then upstream's) when the
/// server's socket is there, else localhost over TCP.
fn default_host(port: u16) -> Host {
    ["/var/run/postgresql", "/tmp"]
        .iter()
        .map(Path::new)
        .find(|dir| dir.join(format!(".s.PGSQL.{port}")).exists())
        .map(|dir| Host::Unix { dir: dir.to_owned(), port })
        .unwrap_or_else(|| Host::Tcp { name: "localhost".to_owned(), addr: None, port })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(text: &str) -> Vec<(String, String)> {
        parse(text).unwrap_or_else(|err| panic!("{text}: {err}"))
    }

    fn kv(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn urls_as_libpq_reads_them() {
        assert_eq!(
            pairs("postgres://app:p%40ss@db.svc:6432/orders?sslmode=require&application_name=x"),
            kv(&[
                ("user", "app"),
                ("password", "p@ss"),
                ("host", "db.svc"),
                ("port", "6432"),
                ("dbname", "orders"),
                ("sslmode", "require"),
                ("application_name", "x")
            ])
        );
        assert_eq!(pairs("postgresql://"), kv(&[]));
        assert_eq!(
            pairs("postgres://%2Fvar%2Frun%2Fpostgresql/db"),
            kv(&[("host", "/var/run/postgresql"), ("dbname", "db")])
        );
        assert_eq!(
            pairs("postgres:///db?host=/tmp&port=5433"),
            kv(&[("dbname", "db"), ("host", "/tmp"), ("port", "5433")])
        );
        assert_eq!(
            pairs("postgres://[::1]:5433,b/db"),
            kv(&[("host", "::1,b"), ("port", "5433,"), ("dbname", "db")])
        );
    }

    #[test]
    fn keyword_strings_with_quotes_and_escapes() {
        assert_eq!(
            pairs(r"host=db port = 5433 password='a b\'c' user=x\ y dbname=''"),
            kv(&[("host", "db"), ("port", "5433"), ("password", "a b'c"), ("user", "x y"), ("dbname", "")])
        );
    }

    #[test]
    fn what_libpq_would_refuse_is_refused() {
        for (text, expected) in [
            ("mydb", "neither a postgres:// URL nor key=value"),
            ("host=db nonsense", "'nonsense' has no '='"),
            ("host='db", "no closing quote"),
            ("host=db sslfoo=1", "'sslfoo' is not a connection setting"),
            ("postgres://db/x?sslmode", "has no value"),
            ("postgres://a%zz@db/", "two hex digits"),
            ("postgres://[::1/db", "closing ']'"),
        ] {
            let err = parse(text).expect_err(text);
            assert!(err.contains(expected), "{text}: {err}");
        }
    }

    fn settings_from(text: &str, env: &[(&str, &str)]) -> Result<Settings, String> {
        let env: Vec<(String, String)> = kv(env);
        let lookup = move |name: &str| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        let passfile =
            || Some("# comment\nother:*:*:*:nope\ndb:5432:*:app:from-pgpass\n*:*:*:*:fallback\n".to_owned());
        let os_user = || Some("osuser".to_owned());
        settings(&pairs(text), &PostgresEnv { var: &lookup, os_user: &os_user, passfile: &passfile }, None)
    }

    #[test]
    fn the_password_file_is_the_last_resort() {
        let password = |text: &str, env: &[(&str, &str)]| {
            settings_from(text, env).unwrap().password.map(|p| p.expose().to_owned())
        };
        assert_eq!(password("host=db user=app", &[]).as_deref(), Some("from-pgpass"));
        assert_eq!(password("host=db port=6000 user=app", &[]).as_deref(), Some("fallback"));
        assert_eq!(password("host=db user=app", &[("PGPASSWORD", "env")]).as_deref(), Some("env"));
        assert_eq!(password("host=db user=app password=given", &[]).as_deref(), Some("given"));
        assert_eq!(passfile_fields(r"h\:1:5432:d:u:pa\\ss:word"), ["h:1", "5432", "d", "u", r"pa\ss:word"]);
    }

    #[test]
    fn the_environment_and_defaults_fill_the_gaps() {
        let s = settings_from(
            "host=db",
            &[("PGUSER", "envuser"), ("PGPORT", "6000"), ("PGSSLMODE", "verify-full")],
        )
        .unwrap();
        assert_eq!(s.hosts, [Host::Tcp { name: "db".into(), addr: None, port: 6000 }]);
        assert_eq!(
            (s.user.as_str(), s.dbname.as_str(), s.sslmode),
            ("envuser", "envuser", SslMode::VerifyFull)
        );
        let s =
            settings_from("user=given host=/run/pg", &[("PGUSER", "envuser"), ("PGPASSWORD", "pw")]).unwrap();
        assert_eq!(s.user, "given");
        assert_eq!(s.password.unwrap().expose(), "pw");
        assert_eq!(s.hosts, [Host::Unix { dir: "/run/pg".into(), port: 5432 }]);
        let s = settings_from("host=a,b port=1,2 hostaddr=10.0.0.1,10.0.0.2", &[]).unwrap();
        assert_eq!(
            s.hosts[1],
            Host::Tcp { name: "b".into(), addr: Some("10.0.0.2".parse().unwrap()), port: 2 }
        );
        assert_eq!(
            (s.user.as_str(), s.application_name.as_str(), s.sslmode),
            ("osuser", "probe", SslMode::Prefer)
        );
    }

    #[test]
    fn bad_settings_say_which() {
        for (text, expected) in [
            ("host=db sslmode=strict", "sslmode 'strict'"),
            ("host=db port=0", "'0' is not a port"),
            ("host=a,b,c port=1,2", "2 ports for 3 hosts"),
            ("host=a hostaddr=db", "hostaddr 'db' is not an IP address"),
        ] {
            let err = settings_from(text, &[]).expect_err(text);
            assert!(err.contains(expected), "{text}: {err}");
        }
    }

    #[test]
    fn labels_hide_the_password() {
        assert_eq!(label("host=db password='s3 cret' user=app"), "host=db password=*** user=app");
        assert_eq!(label("postgres://app:s3cret@db/x"), "postgres://app:***@db/x");
        assert_eq!(label("dbname='my db'"), "dbname='my db'");
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn any_text_parses_or_says_why(text in any::<String>()) {
            match parse(&text) {
                Err(why) => prop_assert!(!why.is_empty() && !why.contains('\n')),
                Ok(pairs) => {
                    let lookup = |_: &str| None;
                    let passfile = || Some(text.clone());
                    let env = PostgresEnv { var: &lookup, os_user: &|| None, passfile: &passfile };
                    if let Err(why) = settings(&pairs, &env, None) {
                        prop_assert!(!why.is_empty());
                    }
                }
            }
            let _ = label(&text);
        }

        #[test]
        fn a_password_never_reaches_the_label(
            password in "[A-Za-z0-9]{12,20}",
            before in "(host=db |user=app |)",
            after in "( dbname=x| port=5432|)",
        ) {
            let text = format!("{before}password={password}{after}");
            prop_assert!(!label(&text).contains(&password));
            let url = format!("postgres://app:{password}@db/x");
            prop_assert!(!label(&url).contains(&password));
        }
    }
}
