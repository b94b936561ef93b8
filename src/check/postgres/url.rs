//! `postgres://` and `postgresql://` URLs, read on the shared `uri` reader as libpq's
//! `conninfo_uri_parse_options` reads them: the user part ends at the first `@` before any `/`
//! (so `?` and `#` may be in a password), the host part is a comma-separated list of `host`,
//! `host:port` or `[v6]:port` decoded as a whole (so `%2C` separates hosts too, as in libpq),
//! the path is the database, and the query's pairs are conninfo keys. The label is
//! `Uri::label`, with libpq's secret keys the shared list does not name masked too.
//!
//! Refused where libpq would read something else than what was surely meant: an `@` in the host
//! part (libpq reads `postgres://app:p@ss@db` as the host `ss@db`), an `@` in the database, a
//! `?` or `#` in the user name, a `#` after the host, and a port that is not digits. A refusal
//! names the URL by its scheme only and quotes no part of it but a parameter's plain name.

use super::{
    conninfo::assigns_a_secret,
    parse::{Parsed, is_keyword, is_secret},
};
use crate::{
    secret::printable_name,
    uri::{self, Span, Uri, Userinfo},
};

/// Why a second `@` in the user part is refused: libpq would log in with the password cut at the
/// first `@` and resolve the rest as a host name, which it then prints.
pub const SECOND_AT: &str = "an '@' comes after the user part's '@' (libpq would read the rest of the password as the host); write '@' in a password as %40";

pub fn parse(text: &str) -> Result<Parsed, String> {
    let uri = Uri::parse(text, Userinfo::FirstAtBeforeSlash).ok_or("not a postgres:// or postgresql:// URL")?;
    refuse_misreadings(&uri)?;
    let mut pairs = Vec::new();
    if let Some(user) = uri.user().filter(|user| !user.is_empty()) {
        pairs.push(("user".to_owned(), decode("user name", user)?));
    }
    // As libpq: an empty password (`user:@host`) is no password at all.
    if let Some(password) = uri.password().filter(|password| !password.is_empty()) {
        pairs.push(("password".to_owned(), decode("password", password)?));
    }
    pairs.extend(hosts(uri.hosts())?);
    let mut query = query(&uri)?;
    let dbname = uri.path().strip_prefix('/').unwrap_or_default();
    if !dbname.is_empty() {
        let dbname = decode("database name", dbname)?;
        // `postgres://db/app password=hunter2`, a conninfo pasted after a URL: libpq reads the
        // rest into the database name, and the label must not show it.
        if assigns_a_secret(&dbname) {
            query.secrets.push(uri.path_span());
        }
        pairs.push(("dbname".to_owned(), dbname));
    }
    pairs.extend(query.pairs);
    Ok(Parsed { pairs, label: uri.label(query.secrets) })
}

fn refuse_misreadings(uri: &Uri<'_>) -> Result<(), String> {
    if uri.hosts().contains('@') {
        return Err(SECOND_AT.to_owned());
    }
    if uri.hosts().contains('=') {
        // `postgres://db&password=…`: parameters without their `?`, which libpq would look up
        // as a host name, and print.
        return Err("a '=' in the host part (is the '?' before the parameters missing?)".to_owned());
    }
    if uri.path().contains('@') {
        return Err(uri::STRAY_AT.to_owned());
    }
    if uri.user().is_some_and(|user| user.contains(['?', '#'])) {
        return Err("a '?' or '#' in the user name (write them as %3F and %23)".to_owned());
    }
    if uri.fragment().is_some() {
        return Err(
            "a '#' after the host (libpq reads it into the database name or a parameter's value); write it as %23"
                .to_owned(),
        );
    }
    Ok(())
}

/// `part` decoded as libpq decodes it: `%XX` escapes, never `%00`, and (probe's own rule) UTF-8.
fn decode(part: &str, text: &str) -> Result<String, String> {
    let bytes = uri::decode_bytes(text).map_err(|err| format!("the {part} in the URL {err}"))?;
    if bytes.contains(&0) {
        return Err(format!("the {part} in the URL holds %00, which libpq forbids"));
    }
    String::from_utf8(bytes).map_err(|_| format!("the {part} in the URL {}", uri::DecodeError::NotUtf8))
}

/// The host list as libpq's `host` and `port` values: each item's host and port, joined by
/// commas, then decoded. Ports are digits, or nothing.
fn hosts(list: &str) -> Result<Vec<(String, String)>, String> {
    if list.is_empty() {
        return Ok(Vec::new());
    }
    let (mut hosts, mut ports) = (Vec::new(), Vec::new());
    for item in list.split(',') {
        let (host, port) = uri::split_host_port(item).map_err(|why| format!("a host in the URL: {why}"))?;
        hosts.push(host);
        ports.push(port.unwrap_or_default());
    }
    let mut pairs = vec![("host".to_owned(), decode("host", &hosts.join(","))?)];
    let ports = decode("port", &ports.join(","))?;
    if !ports.split(',').all(|port| port.bytes().all(|b| b.is_ascii_digit())) {
        // libpq's words; the port is not quoted: without its '@', a password is read as one.
        return Err("invalid integer value for connection option \"port\"".to_owned());
    }
    if !ports.is_empty() {
        pairs.push(("port".to_owned(), ports));
    }
    Ok(pairs)
}

/// The query's pairs as libpq's keys (`ssl=true` is its one alias), and the spans of the values
/// of libpq's secret keys that `Uri::secrets` does not know by name.
#[derive(Default)]
struct Query {
    pairs: Vec<(String, String)>,
    secrets: Vec<Span>,
}

fn query(uri: &Uri<'_>) -> Result<Query, String> {
    let Some(query) = uri.query() else { return Ok(Query::default()) };
    let missing = |name: &str| format!("missing key/value separator \"=\" in URI query parameter: \"{name}\"");
    // libpq allows one trailing '&' and no other empty parameter.
    if query.starts_with('&') || query.contains("&&") {
        return Err(missing(""));
    }
    let (mut pairs, mut secrets) = (Vec::new(), Vec::new());
    for param in uri.params() {
        let key = decode("parameter name", param.name)?;
        let Some(value) = param.value else { return Err(missing(printable_name(&key))) };
        if value.contains('=') {
            let name = printable_name(&key);
            return Err(format!("extra key/value separator \"=\" in URI query parameter: \"{name}\""));
        }
        if is_secret(&key) {
            secrets.push(param.value_span.clone());
        }
        let value = decode(&format!("value of {}", printable_name(&key)), value)?;
        let (key, value) = match (key.as_str(), value.as_str()) {
            ("ssl", "true") => ("sslmode".to_owned(), "require".to_owned()),
            _ => (key, value),
        };
        if !is_keyword(&key) {
            return Err(format!("invalid URI query parameter: \"{}\"", printable_name(&key)));
        }
        if assigns_a_secret(&value) {
            secrets.push(param.value_span.clone());
        }
        pairs.push((key, value));
    }
    Ok(Query { pairs, secrets })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(text: &str) -> Vec<(String, String)> {
        parse(text).unwrap_or_else(|err| panic!("{text}: {err}")).pairs
    }

    fn kv(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    /// Each case was given to libpq 15's PQconninfoParse (through Python's ctypes) and the
    /// pairs are what it returned, in probe's order.
    #[test]
    fn urls_as_libpq_reads_them() {
        for (text, expected) in [
            (
                "postgres://app:p%40ss@db.svc:6432/orders?sslmode=require&application_name=x",
                &[
                    ("user", "app"),
                    ("password", "p@ss"),
                    ("host", "db.svc"),
                    ("port", "6432"),
                    ("dbname", "orders"),
                    ("sslmode", "require"),
                    ("application_name", "x"),
                ][..],
            ),
            ("postgresql://", &[]),
            ("postgres://%2Fvar%2Frun%2Fpostgresql/db", &[("host", "/var/run/postgresql"), ("dbname", "db")]),
            ("postgres:///db?host=/tmp&port=5433", &[("dbname", "db"), ("host", "/tmp"), ("port", "5433")]),
            ("postgres://[::1]:5433,b/db", &[("host", "::1,b"), ("port", "5433,"), ("dbname", "db")]),
            ("postgres://u:p:q@h", &[("user", "u"), ("password", "p:q"), ("host", "h")]),
            ("postgres://u:@h/d", &[("user", "u"), ("host", "h"), ("dbname", "d")]),
            ("postgres://:p@h", &[("password", "p"), ("host", "h")]),
            ("postgres://h:5%343/d", &[("host", "h"), ("port", "543"), ("dbname", "d")]),
            ("postgres://,h2/d", &[("host", ",h2"), ("port", ","), ("dbname", "d")]),
            ("postgres://h%2Cx/db", &[("host", "h,x"), ("dbname", "db")]),
            ("postgres://h/d?ssl=true", &[("host", "h"), ("dbname", "d"), ("sslmode", "require")]),
            ("postgres://h/d?sslmode=require&", &[("host", "h"), ("dbname", "d"), ("sslmode", "require")]),
            ("postgres://h/", &[("host", "h")]),
            ("postgres://h?", &[("host", "h")]),
            ("postgres://h:/d", &[("host", "h"), ("dbname", "d")]),
            ("postgres://h/d%2Fx", &[("host", "h"), ("dbname", "d/x")]),
            // The user part ends at the first '@' before any '/': '?' and '#' may be in a password.
            ("postgres://app:p?w#d@db/x", &[("user", "app"), ("password", "p?w#d"), ("host", "db"), ("dbname", "x")]),
        ] {
            assert_eq!(pairs(text), kv(expected), "{text}");
        }
    }

    /// libpq reads these otherwise (the host `ss@db`, a port `p@h`, the user `h?user=a`, the
    /// database `d#frag`), or refuses them with words that quote the text; probe refuses them
    /// and names nothing of them.
    #[test]
    fn what_libpq_misreads_or_refuses_is_refused_without_the_text() {
        for (text, expected) in [
            ("postgres://app:p@ssw0rd@db/app", SECOND_AT),
            ("postgres://u:p@h@i/d", SECOND_AT),
            ("postgres://u@x:p@h/d", SECOND_AT),
            ("postgres://app:pa/ssw0rd@db/app", uri::STRAY_AT),
            ("postgres://h?user=a@b", "a '?' or '#' in the user name"),
            ("postgres://h/d#frag", "a '#' after the host"),
            ("postgres://h/d?password=ab#cd", "a '#' after the host"),
            ("postgres://app:hunter2", "invalid integer value for connection option \"port\""),
            ("postgres://app:hunter2/db", "invalid integer value for connection option \"port\""),
            ("postgres://db/x?sslmode", "missing key/value separator \"=\" in URI query parameter: \"sslmode\""),
            ("postgres://db/x?password", "missing key/value separator \"=\" in URI query parameter: \"…\""),
            ("postgres://h/d?a=1&&sslmode=require", "missing key/value separator \"=\" in URI query parameter: \"\""),
            ("postgres://h/d?&sslmode=require", "missing key/value separator"),
            ("postgres://h/d?sslmode=require=x", "extra key/value separator \"=\" in URI query parameter: \"sslmode\""),
            ("postgres://h/d?ssl=false", "invalid URI query parameter: \"ssl\""),
            ("postgres://h/d?=x", "invalid URI query parameter: \"\""),
            ("postgres://h/d?Password=hunter2", "invalid URI query parameter: \"…\""),
            ("postgres://a%zz@db/", "the user name in the URL has a '%' not followed by two hex digits"),
            ("postgres://h/%", "the database name in the URL has a '%'"),
            ("postgres://h/d%00b", "the database name in the URL holds %00"),
            ("postgres://app:hunter%00@h/d", "the password in the URL holds %00"),
            ("postgres://app:hunter%FF@h/d", "the password in the URL is not UTF-8 once decoded"),
            ("postgres://[]/db", "a host in the URL: what is in brackets is not an IPv6 address"),
            ("postgres://[::1/db", "a host in the URL: an IPv6 address needs its closing ']'"),
            ("postgres://[::1]x/db", "a host in the URL: only ':' and a port may follow"),
        ] {
            let err = parse(text).expect_err(text);
            assert!(err.contains(expected), "{text}: {err}");
            for secret in ["hunter", "ssw0rd", "frag"] {
                assert!(!err.contains(secret), "{text}: {err}");
            }
        }
    }

    #[test]
    fn labels_hide_every_secret() {
        let label = |text: &str| parse(text).unwrap().label;
        assert_eq!(label("postgres://app:s3cret@db/x"), "postgres://app:***@db/x");
        assert_eq!(label("postgres://app:p?w@db/x"), "postgres://app:***@db/x");
        assert_eq!(
            label("postgres://db/x?password=s3cret&sslmode=require"),
            "postgres://db/x?password=***&sslmode=require"
        );
        assert_eq!(
            label("postgresql://db/x?scram_client_key=k&sslpassword=p&oauth_client_secret=s"),
            "postgresql://db/x?scram_client_key=***&sslpassword=***&oauth_client_secret=***"
        );
        assert_eq!(label("postgres://db/x?application_name=a%0Ab"), "postgres://db/x?application_name=a%0Ab");
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// A password with any of the characters people put in them unencoded: read as libpq
        /// reads it, or refused; never in the label or the reason.
        #[test]
        fn a_password_never_reaches_the_label_or_the_reason(
            user in "[a-z]{1,8}",
            password in "[A-Za-z0-9]{4}[A-Za-z0-9/?#:@+=!$&'()*,;%-]{0,8}[A-Za-z0-9]{4}",
            rest in "(db|db:5432|[::1]|a,b)(/app)?(\\?sslmode=require)?",
        ) {
            let text = format!("postgres://{user}:{password}@{rest}");
            let shown = match parse(&text) {
                Ok(parsed) => parsed.label,
                Err(why) => why,
            };
            prop_assert!(!shown.contains(&password), "{text} shown as {shown}");
        }

        #[test]
        fn any_text_parses_or_says_why(text in "postgres(ql)?://[ -~]{0,40}") {
            if let Err(why) = parse(&text) {
                prop_assert!(!why.is_empty() && !why.contains('\n'));
            }
        }
    }
}
