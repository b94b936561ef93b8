//! Redis URLs, read by `uri` as redis-py's `from_url` splits them (urllib: the user part ends at
//! the last `@` of the authority, the password after its first `:`), with what only Redis knows
//! added here: redis-cli's lone `word@` is the password, redis-py's query (`?db=`,
//! `?password=`, `?username=`) and its `unix:///path` form. Where the two references disagree
//! or accept what probe refuses, README's "Differences from redis-cli and redis-py" says which
//! way probe goes and why. No error message holds any part of the text.

use std::path::PathBuf;

use crate::{
    net::{HostPort, parse_port},
    secret::{Secret, printable_name},
    uri::{self, Param, Uri, Userinfo},
};

/// Where the server is, as a URL names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Address {
    /// `redis://` and `valkey://`; with `tls`, `rediss://` and `valkeys://`.
    Tcp { host: HostPort, tls: Option<Verify> },
    /// `unix:///path`, `redis+unix://`, `valkey+unix://`.
    Unix(PathBuf),
}

/// How a `rediss://` URL wants the server's certificate checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verify {
    /// The default: chain and host name.
    Full,
    /// `?ssl_cert_reqs=none`, redis-py's way to turn verification off.
    Nothing,
}

/// Everything a Redis URL says, and the label it is printed under.
#[derive(Debug, PartialEq, Eq)]
pub struct RedisUrl {
    pub address: Address,
    pub username: Option<String>,
    pub password: Option<Secret>,
    pub db: i64,
    /// The URL with every secret the parse found masked, the lone-word password included.
    pub label: String,
}

pub const DEFAULT_PORT: u16 = 6379;

const USAGE: &str = "write it as redis://[user:password@]host[:port][/db], rediss://… or unix:///path";

/// redis-py's connection settings that mean nothing to a probe (its own deadline, no pool, no
/// decoding): accepted, so that an app's REDIS_URL works as it is, and not used.
const IGNORED: &[&str] = &[
    "socket_timeout",
    "socket_connect_timeout",
    "socket_keepalive",
    "socket_read_size",
    "retry_on_timeout",
    "retry_on_error",
    "max_connections",
    "health_check_interval",
    "timeout",
    "protocol",
    "client_name",
    "lib_name",
    "lib_version",
    "encoding",
    "encoding_errors",
    "decode_responses",
    "ssl_check_hostname",
    "ssl_min_version",
];

/// The query parameters whose values may hold an `@` (a password or user name does).
const CREDENTIALS: &[&str] = &["password", "pass", "username", "user"];

impl RedisUrl {
    /// Reads `text`; the error says what is wrong without quoting it.
    pub fn parse(text: &str) -> Result<RedisUrl, String> {
        let uri = Uri::parse(text, Userinfo::LastAt).ok_or(format!("not a Redis URL; {USAGE}"))?;
        let (unix, tls) = match uri.scheme().to_ascii_lowercase().as_str() {
            "redis" | "valkey" => (false, false),
            "rediss" | "valkeys" => (false, true),
            "unix" | "redis+unix" | "valkey+unix" => (true, false),
            _ => {
                return Err("not a Redis URL: the scheme is none of redis://, rediss://, unix://, \
                            valkey://, valkeys://, redis+unix://"
                    .to_owned());
            }
        };
        if stray_at(&uri) {
            return Err(uri::STRAY_AT.to_owned());
        }
        // The host first: a password cut short by an unencoded '?' leaves its start as the port,
        // which is refused before the query (its rest) could be named.
        let mut address = match unix {
            true => Address::Unix(uri.unix_socket_path("/run/redis/redis.sock")?),
            false => Address::Tcp { host: host_port(uri.hosts())?, tls: None },
        };
        let query = Query::parse(&uri.params(), tls)?;
        let credentials = Credentials::read(&uri, query.password.is_some())?;
        if let Address::Tcp { tls: verify @ None, .. } = &mut address
            && tls
        {
            *verify = Some(if query.no_verify { Verify::Nothing } else { Verify::Full });
        }
        let db = match (query.db, unix) {
            (_, false) if !uri.path().trim_start_matches('/').is_empty() => {
                // The path must be a database even when ?db= overrides it: a typo stays visible.
                let path_db = parse_db(uri.path().trim_start_matches('/'))
                    .ok_or("the database after the host is not a number, as in /0")?;
                query.db.unwrap_or(path_db)
            }
            (db, _) => db.unwrap_or(0),
        };
        let label = uri.label(credentials.lone_password.then(|| uri.user_span()).flatten());
        Ok(RedisUrl {
            address,
            username: credentials.username.or(query.username),
            password: credentials.password.or(query.password).map(Secret::new),
            db,
            label,
        })
    }
}

/// An `@` after the host, other than in the value of a credential in the query
/// (`?password=p@ss`): a password with an unencoded `/`, `?` or `#` ended the authority early.
fn stray_at(uri: &Uri<'_>) -> bool {
    let in_query = |param: &Param<'_>| {
        param.name.contains('@')
            || (param.value.is_some_and(|value| value.contains('@'))
                && !CREDENTIALS.contains(&decode_query(param.name).unwrap_or_default().as_str()))
    };
    uri.path().contains('@')
        || uri.fragment().is_some_and(|fragment| fragment.contains('@'))
        || uri.params().iter().any(in_query)
}

/// The user part: redis-cli's `user:password@`, or `password@` alone; an empty part is no part.
/// redis-py reads the lone word as a user name: when the query brings the password, so does
/// probe.
struct Credentials {
    username: Option<String>,
    password: Option<String>,
    /// The lone word is the password: it is masked in the label too.
    lone_password: bool,
}

impl Credentials {
    fn read(uri: &Uri<'_>, query_has_password: bool) -> Result<Credentials, String> {
        let (user, password) = (uri.user().unwrap_or_default(), uri.password());
        let lone_password = password.is_none() && !user.is_empty() && !query_has_password;
        Ok(match (password, lone_password) {
            (Some(password), _) => Credentials {
                username: uri::decode_credential(user, "user name")?,
                password: uri::decode_credential(password, "password")?,
                lone_password,
            },
            (None, true) => Credentials { username: None, password: uri::decode_credential(user, "password")?, lone_password },
            (None, false) => Credentials { username: uri::decode_credential(user, "user name")?, password: None, lone_password },
        })
    }
}

/// The host and port; nothing at all is 127.0.0.1:6379, as in redis-cli.
fn host_port(text: &str) -> Result<HostPort, String> {
    let bracketed = text.starts_with('[');
    let (host, port) = uri::split_host_port(text)?;
    let host = match bracketed {
        true => host.to_owned(),
        false => uri::decode(host).map_err(|why| format!("the host {why}"))?.into_owned(),
    };
    if !bracketed && !host.is_empty() && !uri::is_host_name(&host) {
        return Err("the host is not a host name or IP address (is there a ':' or '@' in the password? \
                    write them as %3A and %40)"
            .to_owned());
    }
    let host = if host.is_empty() { "127.0.0.1".to_owned() } else { host };
    let port = match port {
        None | Some("") => DEFAULT_PORT,
        Some(port) => parse_port(port)?,
    };
    Ok(HostPort { host, port })
}

/// A database number as redis-py's `int()` reads it (an optional sign, digits).
fn parse_db(text: &str) -> Option<i64> {
    text.trim().parse::<i64>().ok()
}

/// A query name or value as redis-py's `parse_qs` decodes it: `+` a space, `%XX` decoded.
fn decode_query(text: &str) -> Result<String, uri::DecodeError> {
    uri::decode(&text.replace('+', " ")).map(|text| text.into_owned())
}

/// What the query says, read as redis-py reads it: the first of repeated names, empty values
/// ignored.
#[derive(Default)]
struct Query {
    db: Option<i64>,
    username: Option<String>,
    password: Option<String>,
    no_verify: bool,
}

impl Query {
    fn parse(params: &[Param<'_>], tls: bool) -> Result<Query, String> {
        let mut out = Query::default();
        let mut seen: Vec<String> = Vec::new();
        for param in params {
            let name = decode_query(param.name).map_err(|why| format!("a query parameter's name {why}"))?;
            let raw = param.value.unwrap_or_default();
            if raw.is_empty() || seen.contains(&name) {
                continue;
            }
            seen.push(name.clone());
            let value =
                decode_query(raw).map_err(|why| format!("the value of ?{}= {why}", printable_name(&name)))?;
            out.set(&name, value, tls)?;
        }
        Ok(out)
    }

    fn set(&mut self, name: &str, value: String, tls: bool) -> Result<(), String> {
        match name {
            "db" => self.db = Some(parse_db(&value).ok_or("?db= is not a number")?),
            "username" | "user" => self.username = Some(value),
            "password" | "pass" => self.password = Some(value),
            "ssl_cert_reqs" if tls => match value.to_ascii_lowercase().as_str() {
                "none" => self.no_verify = true,
                "optional" | "required" => {}
                _ => return Err("?ssl_cert_reqs= is none of none, optional, required".to_owned()),
            },
            "ssl_ca_certs" | "ssl_certfile" | "ssl_keyfile" if tls => {
                return Err(format!("?{name}= is not read from the URL; use --cacert, --cert and --key"));
            }
            name if IGNORED.contains(&name) => {}
            name => {
                return Err(format!(
                    "unknown query parameter ?{}= (read are db, username, password and, with \
                     rediss://, ssl_cert_reqs)",
                    printable_name(name)
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tcp(host: &str, port: u16) -> Address {
        Address::Tcp { host: HostPort { host: host.to_owned(), port }, tls: None }
    }

    fn parse(text: &str) -> RedisUrl {
        RedisUrl::parse(text).unwrap_or_else(|why| panic!("{text}: {why}"))
    }

    fn password(url: &RedisUrl) -> Option<&str> {
        url.password.as_ref().map(Secret::expose)
    }

    #[test]
    fn redis_cli_forms() {
        let url = parse("redis://cache");
        assert_eq!((url.address, url.username, url.password, url.db), (tcp("cache", 6379), None, None, 0));
        let url = parse("redis://monitor:p%40ss@cache:6380/3");
        assert_eq!(url.address, tcp("cache", 6380));
        assert_eq!((url.username.as_deref(), password(&url), url.db), (Some("monitor"), Some("p@ss"), 3));
        let url = parse("redis://:pw@cache");
        assert_eq!((url.username.as_deref(), password(&url)), (None, Some("pw")));
        let url = parse("REDIS://[::1]:7000/");
        assert_eq!((url.address, url.db), (tcp("::1", 7000), 0));
        let url = parse("rediss://cache");
        assert_eq!(
            url.address,
            Address::Tcp { host: HostPort { host: "cache".into(), port: 6379 }, tls: Some(Verify::Full) }
        );
    }

    #[test]
    fn nothing_after_the_scheme_is_the_local_default() {
        assert_eq!(parse("redis://").address, tcp("127.0.0.1", 6379));
        assert_eq!(parse("redis://:7000").address, tcp("127.0.0.1", 7000));
        assert_eq!(parse("redis://0.0.0.0:7000").address, tcp("0.0.0.0", 7000));
        assert_eq!(parse("redis://cache:").address, tcp("cache", 6379));
    }

    #[test]
    fn the_user_part_ends_at_the_last_at_sign_as_redis_py_reads_it() {
        let url = parse("redis://app:p@ss@cache:6380");
        assert_eq!((url.username.as_deref(), password(&url)), (Some("app"), Some("p@ss")));
        assert_eq!(url.address, tcp("cache", 6380));
        assert_eq!(url.label, "redis://app:***@cache:6380");
        let url = parse("redis://:a:b@cache");
        assert_eq!(password(&url), Some("a:b"));
    }

    #[test]
    fn a_lone_word_is_the_password_unless_the_query_has_one() {
        let url = parse("redis://s3cret@cache");
        assert_eq!((url.username.as_deref(), password(&url)), (None, Some("s3cret")));
        assert_eq!(url.label, "redis://***@cache");
        let url = parse("redis://w%40rd@cache");
        assert_eq!((password(&url), url.label.as_str()), (Some("w@rd"), "redis://***@cache"));
        let url = parse("redis://monitor@cache?password=pw");
        assert_eq!((url.username.as_deref(), password(&url)), (Some("monitor"), Some("pw")));
        assert_eq!(url.label, "redis://monitor@cache?password=***");
    }

    #[test]
    fn redis_py_query_parameters() {
        let url = parse("redis://cache/1?db=2&password=a+b%21&username=u&socket_timeout=5");
        assert_eq!((url.db, url.username.as_deref(), password(&url)), (2, Some("u"), Some("a b!")));
        // The URL's own user:password come first, as in redis-py.
        let url = parse("redis://x:y@cache?password=z&username=w");
        assert_eq!((url.username.as_deref(), password(&url)), (Some("x"), Some("y")));
        // An empty value counts for nothing, as in parse_qs.
        let url = parse("redis://cache?password=&password=late&db=3&db=4");
        assert_eq!((password(&url), url.db), (Some("late"), 3));
        let url = parse("unix:///run/redis.sock?db=2&password=pw");
        assert_eq!(
            (&url.address, url.db, password(&url)),
            (&Address::Unix("/run/redis.sock".into()), 2, Some("pw"))
        );
        assert_eq!(url.label, "unix:///run/redis.sock?db=2&password=***");
        let url = parse("redis+unix:///run/redis.sock?pass=pw&user=u");
        assert_eq!((url.username.as_deref(), password(&url)), (Some("u"), Some("pw")));
        let url = parse("unix://:pw@/run/redis.sock");
        assert_eq!((&url.address, password(&url)), (&Address::Unix("/run/redis.sock".into()), Some("pw")));
        let url = parse("rediss://cache?ssl_cert_reqs=none");
        assert!(matches!(url.address, Address::Tcp { tls: Some(Verify::Nothing), .. }));
        assert_eq!(parse("rediss://cache/#insecure").address, parse("rediss://cache").address);
        // An '@' in a credential's value is the value's.
        assert_eq!(password(&parse("redis://cache?password=p@ss")), Some("p@ss"));
    }

    #[test]
    fn refusals_say_why_without_the_text() {
        for (text, expected) in [
            ("http://cache", "the scheme is none of"),
            ("cache:6379", "not a Redis URL"),
            ("redis://cache:0", "'0' is not a port"),
            ("redis://cache:65536", "'65536' is not a port"),
            ("redis://:pa#ss@cache", uri::STRAY_AT),
            ("redis://:ab/cd@cache", uri::STRAY_AT),
            ("redis://:ab?cd@cache", uri::STRAY_AT),
            ("redis://:6379?x=hunter2@cache", uri::STRAY_AT),
            ("redis://:hunter2@cache:port", "the port is not a number"),
            ("redis://:hunter2?x=1@cache", uri::STRAY_AT),
            ("redis://:hunter2?db=1", "the port is not a number"),
            ("redis://cache/abc", "the database after the host is not a number"),
            ("redis://cache/abc?db=1", "the database after the host is not a number"),
            ("redis://cache?db=x", "?db= is not a number"),
            ("redis://:%FF@cache", "the password is not UTF-8 once decoded"),
            ("redis://:%zzhunter2@cache", "the password has a '%' not followed by two hex digits"),
            ("redis://cache?passwrd=hunter2", "unknown query parameter ?passwrd="),
            ("redis://cache?my_token=hunter2", "unknown query parameter ?…="),
            ("unix://redis.sock", "names no host"),
            ("unix://", "path is missing"),
            ("unix:///run/a%zz", "the socket's path has a '%' not followed"),
            ("rediss://cache?ssl_ca_certs=/ca.pem", "use --cacert"),
        ] {
            let why = RedisUrl::parse(text).expect_err(text);
            assert!(why.contains(expected), "{text}: {why}");
            assert!(!why.contains("hunter2") && !why.contains("pa#ss"), "{text}: {why}");
        }
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn any_text_parses_or_says_why_without_echoing_it(text in "(redis|rediss|unix)://[ -~]{0,40}") {
            if let Err(why) = RedisUrl::parse(&text) {
                prop_assert!(!why.is_empty() && !why.contains('\n'));
                let after = &text[text.find("://").unwrap() + 3..];
                if after.len() >= 6 {
                    prop_assert!(!why.contains(after), "{why}");
                }
            }
        }

        #[test]
        fn an_encoded_password_reads_back(password in "[ -~]{1,20}") {
            let encoded: String = password.bytes().map(|b| format!("%{b:02X}")).collect();
            let url = RedisUrl::parse(&format!("redis://user:{encoded}@cache:6379/0")).unwrap();
            prop_assert_eq!(url.password.as_ref().map(Secret::expose), Some(password.as_str()));
            prop_assert_eq!(url.label, "redis://user:***@cache:6379/0");
        }
    }
}
