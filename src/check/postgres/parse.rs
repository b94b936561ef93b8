//! The text of a target, read as libpq's `conninfo_parse` and `conninfo_uri_parse` read it: a
//! `postgres://` URL or `key=value` words, into keyword/value pairs. Refuses what libpq refuses,
//! with libpq's reason. Also the target as shown, passwords starred.

use crate::secret::redact_url;

/// Every keyword libpq 18 accepts, with the environment variable libpq reads for it.
pub const KEYWORDS: &[(&str, Option<&str>)] = &[
    ("service", Some("PGSERVICE")),
    ("user", Some("PGUSER")),
    ("password", Some("PGPASSWORD")),
    ("passfile", Some("PGPASSFILE")),
    ("channel_binding", Some("PGCHANNELBINDING")),
    ("connect_timeout", Some("PGCONNECT_TIMEOUT")),
    ("dbname", Some("PGDATABASE")),
    ("host", Some("PGHOST")),
    ("hostaddr", Some("PGHOSTADDR")),
    ("port", Some("PGPORT")),
    ("client_encoding", Some("PGCLIENTENCODING")),
    ("options", Some("PGOPTIONS")),
    ("application_name", Some("PGAPPNAME")),
    ("fallback_application_name", None),
    ("keepalives", None),
    ("keepalives_idle", None),
    ("keepalives_interval", None),
    ("keepalives_count", None),
    ("tcp_user_timeout", None),
    ("sslmode", Some("PGSSLMODE")),
    ("sslnegotiation", Some("PGSSLNEGOTIATION")),
    ("sslcompression", Some("PGSSLCOMPRESSION")),
    ("sslcert", Some("PGSSLCERT")),
    ("sslkey", Some("PGSSLKEY")),
    ("sslcertmode", Some("PGSSLCERTMODE")),
    ("sslpassword", None),
    ("sslrootcert", Some("PGSSLROOTCERT")),
    ("sslcrl", Some("PGSSLCRL")),
    ("sslcrldir", Some("PGSSLCRLDIR")),
    ("sslsni", Some("PGSSLSNI")),
    ("sslkeylogfile", None),
    ("requirepeer", Some("PGREQUIREPEER")),
    ("require_auth", Some("PGREQUIREAUTH")),
    ("ssl_min_protocol_version", Some("PGSSLMINPROTOCOLVERSION")),
    ("ssl_max_protocol_version", Some("PGSSLMAXPROTOCOLVERSION")),
    ("min_protocol_version", Some("PGMINPROTOCOLVERSION")),
    ("max_protocol_version", Some("PGMAXPROTOCOLVERSION")),
    ("gssencmode", Some("PGGSSENCMODE")),
    ("krbsrvname", Some("PGKRBSRVNAME")),
    ("gsslib", Some("PGGSSLIB")),
    ("gssdelegation", Some("PGGSSDELEGATION")),
    ("replication", None),
    ("target_session_attrs", Some("PGTARGETSESSIONATTRS")),
    ("load_balance_hosts", Some("PGLOADBALANCEHOSTS")),
    ("scram_client_key", None),
    ("scram_server_key", None),
    ("oauth_issuer", None),
    ("oauth_client_id", None),
    ("oauth_client_secret", None),
    ("oauth_scope", None),
];

/// Keywords whose values are secrets, starred wherever a target is shown.
const SECRET_KEYS: &[&str] =
    &["password", "sslpassword", "scram_client_key", "scram_server_key", "oauth_client_secret"];

pub fn is_keyword(key: &str) -> bool {
    KEYWORDS.iter().any(|(k, _)| *k == key)
}

/// libpq's `isspace`: ASCII whitespace, vertical tab included.
fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\x0b' | '\x0c' | '\r')
}

fn uri_prefix(text: &str) -> Option<&str> {
    text.strip_prefix("postgresql://").or_else(|| text.strip_prefix("postgres://"))
}

/// The keyword/value pairs of a URL or conninfo string, in order, values decoded. A later
/// pair overrides an earlier one with the same key, as in libpq.
pub fn parse(text: &str) -> Result<Vec<(String, String)>, String> {
    match uri_prefix(text) {
        Some(rest) => parse_url(text, rest),
        // libpq reads any other URL as a keyword (and finds no `=`); say what it is instead.
        None if text.split(|c| c == '=' || is_space(c)).next().is_some_and(|word| word.contains("://")) => {
            Err("not a postgres:// or postgresql:// URL".to_owned())
        }
        None => parse_keywords(text),
    }
}

/// `[user[:password]@][host[:port][,…]][/dbname][?key=value&…]`, as libpq: the user part ends
/// at the first `@` before any `/`; the host list is percent-decoded as a whole (so `%2C`
/// separates hosts); every part is percent-decoded, `%00` refused.
fn parse_url(whole: &str, rest: &str) -> Result<Vec<(String, String)>, String> {
    let mut pairs = Vec::new();
    let mut rest = rest;
    let userinfo_end = rest.find(['@', '/']);
    if let Some(at) = userinfo_end.filter(|&i| rest.as_bytes()[i] == b'@') {
        let userinfo = &rest[..at];
        let (user, password) = match userinfo.split_once(':') {
            Some((user, password)) => (user, Some(password)),
            None => (userinfo, None),
        };
        if !user.is_empty() {
            pairs.push(("user".to_owned(), decode(user)?));
        }
        // As libpq: an empty password (`user:@host`) is not a password at all.
        if let Some(password) = password.filter(|p| !p.is_empty()) {
            let password = decode(password)
                .map_err(|_| "the password in the URL has a bad percent-encoding".to_owned())?;
            pairs.push(("password".to_owned(), password));
        }
        rest = &rest[at + 1..];
    }
    let (mut hosts, mut ports) = (String::new(), String::new());
    let mut first = true;
    loop {
        if !first {
            hosts.push(',');
            ports.push(',');
        }
        first = false;
        if let Some(inner) = rest.strip_prefix('[') {
            let close = inner.find(']').ok_or_else(|| {
                format!(
                    "end of string reached when looking for matching \"]\" in IPv6 host address in URI: \"{}\"",
                    redact_url(whole)
                )
            })?;
            if close == 0 {
                return Err(format!("IPv6 host address may not be empty in URI: \"{}\"", redact_url(whole)));
            }
            hosts.push_str(&inner[..close]);
            rest = &inner[close + 1..];
            if let Some(c) = rest.chars().next().filter(|c| !matches!(c, ':' | '/' | '?' | ',')) {
                return Err(format!(
                    "unexpected character \"{c}\" in URI (expected \":\" or \"/\"): \"{}\"",
                    redact_url(whole)
                ));
            }
        } else {
            let end = rest.find([':', '/', '?', ',']).unwrap_or(rest.len());
            hosts.push_str(&rest[..end]);
            rest = &rest[end..];
        }
        if let Some(after) = rest.strip_prefix(':') {
            let end = after.find(['/', '?', ',']).unwrap_or(after.len());
            ports.push_str(&after[..end]);
            rest = &after[end..];
        }
        match rest.strip_prefix(',') {
            Some(after) => rest = after,
            None => break,
        }
    }
    if !hosts.is_empty() {
        pairs.push(("host".to_owned(), decode(&hosts)?));
    }
    if !ports.is_empty() {
        pairs.push(("port".to_owned(), decode(&ports)?));
    }
    if let Some(after) = rest.strip_prefix('/') {
        let end = after.find('?').unwrap_or(after.len());
        if end > 0 {
            pairs.push(("dbname".to_owned(), decode(&after[..end])?));
        }
        rest = &after[end..];
    }
    if let Some(query) = rest.strip_prefix('?') {
        let mut parameters: Vec<&str> = query.split('&').collect();
        // One trailing `&` is allowed, as libpq allows it.
        if parameters.len() > 1 && parameters.last() == Some(&"") {
            parameters.pop();
        }
        for parameter in parameters.into_iter().filter(|_| !query.is_empty()) {
            let mut parts = parameter.splitn(3, '=');
            let key = parts.next().unwrap_or_default();
            let Some(value) = parts.next() else {
                return Err(format!(
                    "missing key/value separator \"=\" in URI query parameter: \"{}\"",
                    decode(key).unwrap_or_default()
                ));
            };
            if parts.next().is_some() {
                return Err(format!(
                    "extra key/value separator \"=\" in URI query parameter: \"{}\"",
                    decode(key).unwrap_or_default()
                ));
            }
            let key = decode(key)?;
            let value = if SECRET_KEYS.contains(&key.as_str()) {
                decode(value).map_err(|_| format!("the {key} in the URL has a bad percent-encoding"))?
            } else {
                decode(value)?
            };
            // libpq's one alias, kept for JDBC-style URLs.
            let (key, value) = if key == "ssl" && value == "true" {
                ("sslmode".to_owned(), "require".to_owned())
            } else {
                (key, value)
            };
            if !is_keyword(&key) {
                return Err(format!("invalid URI query parameter: \"{key}\""));
            }
            pairs.push((key, value));
        }
    }
    Ok(pairs)
}

/// Percent-decoding as libpq does it: `%` and two hex digits, never `%00`, and (probe's own
/// rule) the result must be UTF-8.
fn decode(text: &str) -> Result<String, String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
            let Some(byte) = hex
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .filter(|_| hex.is_some_and(|h| h.bytes().all(|b| b.is_ascii_hexdigit())))
            else {
                return Err(format!("invalid percent-encoded token: \"{}\"", shown_token(text)));
            };
            if byte == 0 {
                return Err(format!(
                    "forbidden value %00 in percent-encoded value: \"{}\"",
                    shown_token(text)
                ));
            }
            out.push(byte);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "a percent-encoded value in the URL is not UTF-8".to_owned())
}

/// Text quoted in an error: on one line, cut short, and with a URL's password starred.
fn shown_token(text: &str) -> String {
    let text = if text.contains("://") { redact_url(text) } else { text.to_owned() };
    let mut shown: String = text.chars().take(64).flat_map(char::escape_debug).collect();
    if text.chars().nth(64).is_some() {
        shown.push('…');
    }
    shown
}

/// `key = value key='quoted \' value'`, with libpq's quoting and backslash escapes.
fn parse_keywords(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut chars = text.chars().peekable();
    let mut pairs = Vec::new();
    loop {
        while chars.next_if(|&c| is_space(c)).is_some() {}
        if chars.peek().is_none() {
            return Ok(pairs);
        }
        let mut key = String::new();
        while let Some(c) = chars.next_if(|&c| c != '=' && !is_space(c)) {
            key.push(c);
        }
        while chars.next_if(|&c| is_space(c)).is_some() {}
        if chars.next() != Some('=') {
            return Err(format!("missing \"=\" after \"{}\" in connection info string", shown_token(&key)));
        }
        while chars.next_if(|&c| is_space(c)).is_some() {}
        let mut value = String::new();
        if chars.next_if_eq(&'\'').is_some() {
            loop {
                match chars.next() {
                    None => return Err("unterminated quoted string in connection info string".to_owned()),
                    Some('\'') => break,
                    Some('\\') => value.extend(chars.next()),
                    Some(c) => value.push(c),
                }
            }
        } else {
            while let Some(c) = chars.next_if(|&c| !is_space(c)) {
                // A trailing backslash escapes nothing and is dropped, as in libpq.
                if c == '\\' { value.extend(chars.next()) } else { value.push(c) }
            }
        }
        if !is_keyword(&key) {
            return Err(format!("invalid connection option \"{}\"", shown_token(&key)));
        }
        pairs.push((key, value));
    }
}

/// The target as shown: the text given, with every secret replaced by `***`. Never fails: a
/// string that does not parse is shown too (redacted as well as it can be), so the error names
/// what was typed.
pub fn label(text: &str) -> String {
    if text.contains("://") && parse_keywords(text).is_err() {
        return redact_query(&redact_url(text));
    }
    match parse_keywords(text) {
        Ok(pairs) => pairs
            .iter()
            .map(|(key, value)| match key.as_str() {
                key if SECRET_KEYS.contains(&key) => format!("{key}=***"),
                _ if value.is_empty() || value.contains(|c| is_space(c) || c == '\'' || c == '\\') => {
                    format!("{key}='{}'", value.replace('\\', "\\\\").replace('\'', "\\'"))
                }
                _ => format!("{key}={value}"),
            })
            .collect::<Vec<_>>()
            .join(" "),
        Err(_) => redact_words(text),
    }
}

/// `?password=…` and the other secret keys of a URL's query, starred.
fn redact_query(url: &str) -> String {
    let Some((head, query)) = url.split_once('?') else { return url.to_owned() };
    let parameters: Vec<String> = query
        .split('&')
        .map(|parameter| match parameter.split_once('=') {
            Some((key, _)) if SECRET_KEYS.contains(&decode(key).unwrap_or_default().as_str()) => {
                format!("{key}=***")
            }
            _ => parameter.to_owned(),
        })
        .collect();
    format!("{head}?{}", parameters.join("&"))
}

/// A keyword string that does not parse, shown with everything after a secret key's `=` up to
/// the next space (or, when its value is quoted, up to the end) starred.
fn redact_words(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find('=') {
        let key_start = rest[..at].trim_end_matches(is_space).rfind(is_space).map_or(0, |i| i + 1);
        let key = rest[key_start..at].trim_matches(is_space);
        out.push_str(&rest[..=at]);
        rest = &rest[at + 1..];
        if SECRET_KEYS.contains(&key) {
            let value = rest.trim_start_matches(is_space);
            let end = if value.starts_with('\'') {
                value.len()
            } else {
                value.find(is_space).unwrap_or(value.len())
            };
            out.push_str("***");
            rest = &value[end..];
        }
    }
    out.push_str(rest);
    out
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
            ("postgres://u@x:p@h/d", &[("user", "u"), ("host", "x"), ("port", "p@h"), ("dbname", "d")]),
            ("postgres://u:p@h@i/d", &[("user", "u"), ("password", "p"), ("host", "h@i"), ("dbname", "d")]),
            ("postgres://h?user=a@b", &[("user", "h?user=a"), ("host", "b")]),
            ("postgres://u:p:q@h", &[("user", "u"), ("password", "p:q"), ("host", "h")]),
            ("postgres://u:@h/d", &[("user", "u"), ("host", "h"), ("dbname", "d")]),
            ("postgres://:p@h", &[("password", "p"), ("host", "h")]),
            ("postgres://h:5%343/d", &[("host", "h"), ("port", "543"), ("dbname", "d")]),
            ("postgres://,h2/d", &[("host", ",h2"), ("port", ","), ("dbname", "d")]),
            ("postgres://h%2Cx/db", &[("host", "h,x"), ("dbname", "db")]),
            ("postgres://h/d?ssl=true", &[("host", "h"), ("dbname", "d"), ("sslmode", "require")]),
            ("postgres://h/d?sslmode=require&", &[("host", "h"), ("dbname", "d"), ("sslmode", "require")]),
            ("postgres://h/d#frag", &[("host", "h"), ("dbname", "d#frag")]),
            ("postgres://h/", &[("host", "h")]),
            ("postgres://h?", &[("host", "h")]),
            ("postgres://h:/d", &[("host", "h"), ("dbname", "d")]),
            ("postgres://h/d%2Fx", &[("host", "h"), ("dbname", "d/x")]),
        ] {
            assert_eq!(pairs(text), kv(expected), "{text}");
        }
    }

    #[test]
    fn keyword_strings_with_quotes_and_escapes() {
        assert_eq!(
            pairs(r"host=db port = 5433 password='a b\'c' user=x\ y dbname=''"),
            kv(&[("host", "db"), ("port", "5433"), ("password", "a b'c"), ("user", "x y"), ("dbname", "")])
        );
        assert_eq!(pairs("host=a\\"), kv(&[("host", "a")]));
        assert_eq!(
            pairs("host=x\x0bport=1\x0csslmode=disable\r"),
            kv(&[("host", "x"), ("port", "1"), ("sslmode", "disable")])
        );
        // A non-ASCII space is part of the value, as in libpq.
        assert_eq!(pairs("host=a\u{a0}port=1"), kv(&[("host", "a\u{a0}port=1")]));
        assert_eq!(pairs("host=a=b"), kv(&[("host", "a=b")]));
        assert_eq!(pairs("host=a host=b"), kv(&[("host", "a"), ("host", "b")]));
    }

    /// Each refused string was refused by libpq 15 too, with the reason quoted here.
    #[test]
    fn what_libpq_refuses_is_refused_with_its_reason() {
        for (text, expected) in [
            ("mydb", "missing \"=\" after \"mydb\" in connection info string"),
            ("mysql://u:hunter2@db/x", "not a postgres:// or postgresql:// URL"),
            ("POSTGRES://db/x", "not a postgres:// or postgresql:// URL"),
            ("host=db nonsense", "missing \"=\" after \"nonsense\""),
            ("host='db", "unterminated quoted string"),
            ("host='a\\'", "unterminated quoted string"),
            ("host=db sslfoo=1", "invalid connection option \"sslfoo\""),
            ("=x", "invalid connection option \"\""),
            ("ssl=true", "invalid connection option \"ssl\""),
            (
                "postgres://db/x?sslmode",
                "missing key/value separator \"=\" in URI query parameter: \"sslmode\"",
            ),
            ("postgres://h/d?a=1&&sslmode=require", "invalid URI query parameter: \"a\""),
            (
                "postgres://h/d?sslmode=require&&host=x",
                "missing key/value separator \"=\" in URI query parameter: \"\"",
            ),
            ("postgres://h/d?&sslmode=require", "missing key/value separator"),
            (
                "postgres://h/d?sslmode=require=x",
                "extra key/value separator \"=\" in URI query parameter: \"sslmode\"",
            ),
            ("postgres://h/d?ssl=false", "invalid URI query parameter: \"ssl\""),
            ("postgres://h/d?=x", "invalid URI query parameter: \"\""),
            ("postgres://a%zz@db/", "invalid percent-encoded token: \"a%zz\""),
            ("postgres://h/%", "invalid percent-encoded token"),
            ("postgres://h/d%00b", "forbidden value %00 in percent-encoded value: \"d%00b\""),
            ("postgres://[]/db", "IPv6 host address may not be empty"),
            ("postgres://[::1/db", "matching \"]\""),
            ("postgres://[::1]x/db", "unexpected character \"x\""),
        ] {
            let err = parse(text).expect_err(text);
            assert!(err.contains(expected), "{text}: {err}");
            assert!(!err.contains("hunter2"), "{text}: {err}");
        }
    }

    #[test]
    fn labels_hide_every_secret() {
        assert_eq!(label("host=db password='s3 cret' user=app"), "host=db password=*** user=app");
        assert_eq!(label("postgres://app:s3cret@db/x"), "postgres://app:***@db/x");
        assert_eq!(
            label("postgres://db/x?password=s3cret&sslmode=require"),
            "postgres://db/x?password=***&sslmode=require"
        );
        assert_eq!(label("dbname='my db'"), "dbname='my db'");
        assert_eq!(label("mysql://root:s3cret@db:3306/x"), "mysql://root:***@db:3306/x");
        assert_eq!(label("host=db password='s3 cret"), "host=db password=***");
        assert_eq!(label("host=db password = s3cret nonsense"), "host=db password =*** nonsense");
        assert_eq!(label("mydb"), "mydb");
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn any_text_parses_or_says_why_in_one_line(text in any::<String>()) {
            if let Err(why) = parse(&text) {
                prop_assert!(!why.is_empty());
            }
            let _ = label(&text);
        }

        #[test]
        fn a_password_never_reaches_the_label(
            password in "[A-Za-z0-9]{12,20}",
            before in "(host=db |user=app |)",
            after in "( dbname=x| port=5432| nonsense|)",
        ) {
            let text = format!("{before}password={password}{after}");
            prop_assert!(!label(&text).contains(&password));
            let url = format!("postgres://app:{password}@db/x");
            prop_assert!(!label(&url).contains(&password));
            let url = format!("postgres://db/x?password={password}");
            prop_assert!(!label(&url).contains(&password));
        }
    }
}
