//! Redis URLs, read as the two references read them: redis-cli for the authority and the path
//! (`redis://[[user:]password@]host[:port][/db]`, a lone `word@` being the password), redis-py's
//! `from_url` for the query (`?db=`, `?password=`, `?username=`) and its `unix:///path` form.
//! Where they disagree or accept what probe refuses, README's "Differences from redis-cli and
//! redis-py" says which way probe goes and why. No error message holds any part of the text.

use std::path::PathBuf;

use crate::{
    net::{HostPort, percent_decode},
    secret::{Secret, printable_name},
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

/// Everything a Redis URL says.
#[derive(Debug, PartialEq, Eq)]
pub struct RedisUrl {
    pub address: Address,
    pub username: Option<String>,
    pub password: Option<Secret>,
    pub db: i64,
}

pub const DEFAULT_PORT: u16 = 6379;

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

impl RedisUrl {
    /// Reads `text`; the error says what is wrong without quoting it.
    pub fn parse(text: &str) -> Result<RedisUrl, String> {
        let (scheme, rest) = text
            .split_once("://")
            .ok_or("not a Redis URL; write it as redis://[user:password@]host[:port][/db], rediss://… or unix:///path")?;
        let scheme = scheme.to_ascii_lowercase();
        let (unix, tls) = match scheme.as_str() {
            "redis" | "valkey" => (false, false),
            "rediss" | "valkeys" => (false, true),
            "unix" | "redis+unix" | "valkey+unix" => (true, false),
            _ => {
                return Err("not a Redis URL: the scheme is none of redis://, rediss://, unix://, \
                            valkey://, valkeys://, redis+unix://"
                    .to_owned());
            }
        };
        let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, after) = rest.split_at(authority_end);
        let (userinfo, hostport) = match authority.rfind('@') {
            Some(at) => (Some(&authority[..at]), &authority[at + 1..]),
            None => (None, authority),
        };
        let (path, query, fragment) = split_after(after);
        if fragment.is_some_and(|fragment| fragment.contains('@')) || path.contains('@') {
            return Err("an '@' comes after the host; in a password, write '/' as %2F, '?' as %3F \
                        and '#' as %23"
                .to_owned());
        }
        let query = Query::parse(query.unwrap_or_default(), tls)?;

        // redis-cli: `user:password@`, or `password@` alone; an empty part is no part. redis-py
        // reads the lone word as a user name: when the query brings the password, so does probe.
        let (mut username, mut password) = match userinfo.map(|info| info.split_once(':')) {
            None => (None, None),
            Some(Some((user, password))) => (non_empty(user, "user name")?, non_empty(password, "password")?),
            Some(None) if query.password.is_some() => {
                (non_empty(userinfo.unwrap_or_default(), "user name")?, None)
            }
            Some(None) => (None, non_empty(userinfo.unwrap_or_default(), "password")?),
        };
        username = username.or(query.username);
        password = password.or(query.password);

        let address = if unix {
            if !(hostport.is_empty() || hostport.eq_ignore_ascii_case("localhost")) {
                return Err("a unix URL names no host; write the socket's path after three \
                            slashes, as in unix:///run/redis/redis.sock"
                    .to_owned());
            }
            let path = percent_decode(path).map_err(|_| "the socket path is not UTF-8 once decoded")?;
            if path.is_empty() || path == "/" {
                return Err(
                    "the socket's path is missing; write it as unix:///run/redis/redis.sock".to_owned()
                );
            }
            Address::Unix(PathBuf::from(path))
        } else {
            let host = host_port(hostport)?;
            let verify = tls.then_some(if query.no_verify { Verify::Nothing } else { Verify::Full });
            Address::Tcp { host, tls: verify }
        };
        let db = match (query.db, unix) {
            (Some(db), _) => db,
            (None, true) => 0,
            (None, false) => match path.trim_start_matches('/') {
                "" => 0,
                db => parse_db(db).ok_or("the database after the host is not a number, as in /0")?,
            },
        };
        // The path must still be a database when ?db= overrides it: a typo stays visible.
        if !unix && query.db.is_some() && !matches!(path.trim_start_matches('/'), "") {
            parse_db(path.trim_start_matches('/'))
                .ok_or("the database after the host is not a number, as in /0")?;
        }
        Ok(RedisUrl { address, username, password: password.map(Secret::new), db })
    }
}

/// The path, the query (after `?`) and the fragment (after `#`) of what follows the authority.
fn split_after(after: &str) -> (&str, Option<&str>, Option<&str>) {
    let (before_fragment, fragment) = match after.split_once('#') {
        Some((before, fragment)) => (before, Some(fragment)),
        None => (after, None),
    };
    match before_fragment.split_once('?') {
        Some((path, query)) => (path, Some(query), fragment),
        None => (before_fragment, None, fragment),
    }
}

/// A user name or password from the URL, decoded; empty is none, as both references read it.
fn non_empty(raw: &str, what: &str) -> Result<Option<String>, String> {
    if raw.is_empty() {
        return Ok(None);
    }
    percent_decode(raw).map(Some).map_err(|_| format!("the {what} is not UTF-8 once decoded"))
}

/// The host and port; nothing at all is 127.0.0.1:6379, as in redis-cli.
fn host_port(text: &str) -> Result<HostPort, String> {
    let (host, port) = match text.strip_prefix('[') {
        Some(inner) => {
            let (host, after) = inner.split_once(']').ok_or("an IPv6 address needs its closing ']'")?;
            host.parse::<std::net::Ipv6Addr>()
                .map_err(|_| "the address in brackets is not an IPv6 address")?;
            match after {
                "" => (host.to_owned(), None),
                _ => (host.to_owned(), Some(after.strip_prefix(':').ok_or("a ':' must follow the ']'")?)),
            }
        }
        None => {
            let (host, port) = match text.split_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (text, None),
            };
            let host = percent_decode(host).map_err(|_| "the host is not UTF-8 once decoded")?;
            let valid = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_');
            if !host.chars().all(valid) {
                return Err("the host is not a host name or IP address (is there a ':' or '@' in the \
                            password? write them as %3A and %40)"
                    .to_owned());
            }
            (host, port)
        }
    };
    let host = if host.is_empty() { "127.0.0.1".to_owned() } else { host };
    let port = match port {
        None | Some("") => DEFAULT_PORT,
        Some(port) => match port.parse::<u16>() {
            Ok(0) => return Err("port 0 is not a port to connect to (1 to 65535)".to_owned()),
            Ok(port) => port,
            Err(_) if port.bytes().all(|b| b.is_ascii_digit()) => {
                return Err("the port is out of range (1 to 65535)".to_owned());
            }
            Err(_) => {
                return Err("the port is not a number (is there a '/', '?' or '#' in the password? \
                            write them as %2F, %3F and %23)"
                    .to_owned());
            }
        },
    };
    Ok(HostPort { host, port })
}

/// A database number as redis-py's `int()` reads it (an optional sign, digits).
fn parse_db(text: &str) -> Option<i64> {
    text.trim().parse::<i64>().ok()
}

/// What the query says, read as redis-py reads it: `&`-separated, `+` a space, `%XX` decoded, the
/// first of repeated names, empty values ignored.
#[derive(Default)]
struct Query {
    db: Option<i64>,
    username: Option<String>,
    password: Option<String>,
    no_verify: bool,
}

impl Query {
    fn parse(query: &str, tls: bool) -> Result<Query, String> {
        let mut out = Query::default();
        let mut seen: Vec<String> = Vec::new();
        for pair in query.split('&').filter(|pair| !pair.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let decode = |text: &str| percent_decode(&text.replace('+', " "));
            let name = decode(name).map_err(|_| "a query parameter's name is not UTF-8 once decoded")?;
            if value.is_empty() || seen.contains(&name) {
                continue;
            }
            seen.push(name.clone());
            let value = decode(value)
                .map_err(|_| format!("the value of ?{} is not UTF-8 once decoded", printable_name(&name)))?;
            match name.as_str() {
                "db" => out.db = Some(parse_db(&value).ok_or("?db= is not a number")?),
                "username" | "user" => out.username = Some(value),
                "password" | "pass" => out.password = Some(value),
                "ssl_cert_reqs" if tls => match value.to_ascii_lowercase().as_str() {
                    "none" => out.no_verify = true,
                    "optional" | "required" => {}
                    _ => return Err("?ssl_cert_reqs= is none of none, optional, required".to_owned()),
                },
                "ssl_ca_certs" | "ssl_certfile" | "ssl_keyfile" if tls => {
                    return Err(format!("?{name}= is not read from the URL; use --cacert, --cert and --key"));
                }
                name if IGNORED.contains(&name) => {}
                name => {
                    return Err(format!(
                        "unknown query parameter ?{}= (read are db, username, password and, \
                         with rediss://, ssl_cert_reqs)",
                        printable_name(name)
                    ));
                }
            }
        }
        Ok(out)
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
    }

    #[test]
    fn a_lone_word_is_the_password_unless_the_query_has_one() {
        let url = parse("redis://s3cret@cache");
        assert_eq!((url.username.as_deref(), password(&url)), (None, Some("s3cret")));
        let url = parse("redis://monitor@cache?password=pw");
        assert_eq!((url.username.as_deref(), password(&url)), (Some("monitor"), Some("pw")));
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
        let url = parse("redis+unix:///run/redis.sock?pass=pw&user=u");
        assert_eq!((url.username.as_deref(), password(&url)), (Some("u"), Some("pw")));
        let url = parse("unix://:pw@/run/redis.sock");
        assert_eq!((&url.address, password(&url)), (&Address::Unix("/run/redis.sock".into()), Some("pw")));
        let url = parse("rediss://cache?ssl_cert_reqs=none");
        assert!(matches!(url.address, Address::Tcp { tls: Some(Verify::Nothing), .. }));
        assert_eq!(parse("rediss://cache/#insecure").address, parse("rediss://cache").address);
    }

    #[test]
    fn refusals_say_why_without_the_text() {
        for (text, expected) in [
            ("http://cache", "the scheme is none of"),
            ("cache:6379", "not a Redis URL"),
            ("redis://cache:0", "port 0"),
            ("redis://cache:65536", "out of range"),
            ("redis://:pa#ss@cache", "an '@' comes after the host"),
            ("redis://:ab/cd@cache", "an '@' comes after the host"),
            ("redis://:hunter2@cache:port", "the port is not a number"),
            ("redis://cache/abc", "the database after the host is not a number"),
            ("redis://cache/abc?db=1", "the database after the host is not a number"),
            ("redis://cache?db=x", "?db= is not a number"),
            ("redis://:%FF@cache", "the password is not UTF-8"),
            ("redis://cache?passwrd=hunter2", "unknown query parameter ?passwrd="),
            ("redis://cache?my_token=hunter2", "unknown query parameter ?…="),
            ("unix://redis.sock", "names no host"),
            ("unix://", "path is missing"),
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
        }
    }
}
