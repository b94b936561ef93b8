//! Redaction: passwords never reach the output, whichever form they came in. Every check names
//! its targets through `redact_url` (a URL it accepted) or `redact_unparsed` (text it refused),
//! and keeps passwords it read from files or the environment in a `Secret`.

use std::{fmt, ops::Range, path::Path};

use anyhow::Context;

use crate::quote;

/// A password. Its `Debug` and `Display` show `***`; only `expose` gives the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Reads a password file: its text without one trailing newline, as libpq and redis-cli users
/// expect from `echo secret > file`. An empty file is refused: it is a Secret mounted wrong far
/// more often than a real empty password. The file's contents never appear in an error.
pub fn read_password_file(path: &Path) -> anyhow::Result<Secret> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read --password-file {}", path.display()))?;
    let password = text.strip_suffix('\n').unwrap_or(&text);
    let password = password.strip_suffix('\r').unwrap_or(password);
    if password.is_empty() {
        anyhow::bail!("--password-file {} is empty", path.display());
    }
    Ok(Secret::new(password))
}

/// What stands in for a secret in any output.
pub const MASK: &str = "***";

/// `text` as it may be printed: each of the `secrets` spans (byte ranges that a parser found
/// to hold a secret) shown as `***`, overlapping or adjacent ones as one, and the rest with its
/// control characters escaped. Labels are built this way from the parse that read the text.
pub fn mask(text: &str, secrets: &[Range<usize>]) -> String {
    let mut spans: Vec<Range<usize>> = secrets.iter().filter(|span| !span.is_empty()).cloned().collect();
    spans.sort_by_key(|span| span.start);
    let mut out = String::with_capacity(text.len());
    let mut shown = 0;
    for span in spans {
        let (start, end) = (span.start.min(text.len()), span.end.min(text.len()));
        if start > shown {
            out.push_str(&quote::escaped(&text[shown..start]));
        }
        if end > shown {
            if !out.ends_with(MASK) || start > shown {
                out.push_str(MASK);
            }
            shown = end;
        }
    }
    out.push_str(&quote::escaped(&text[shown..]));
    out
}

/// True when a query parameter or conninfo key of this name carries a secret, compared without
/// case: `password`, `pass`, `passwd`, `pwd`, `secret`, `token`, `auth`, `sslpassword`,
/// `access_token`, `api_key`, `key`, `sig`, …, and any name containing `password`, `passwd`,
/// `secret`, `token`, `signature` or `credential` (`client_secret`, `X-Amz-Signature`).
pub fn is_secret_key(name: &str) -> bool {
    const EXACT: &[&str] = &[
        "pass",
        "pwd",
        "pw",
        "auth",
        "authorization",
        "key",
        "apikey",
        "api_key",
        "api-key",
        "sig",
        "session",
        "sessionid",
        "jwt",
    ];
    const PART: &[&str] = &["password", "passwd", "secret", "token", "signature", "credential"];
    let name = name.trim().to_ascii_lowercase();
    EXACT.contains(&name.as_str()) || PART.iter().any(|part| name.contains(part))
}

/// Schemes whose user part alone (`redis://word@host`) is a password, as redis-cli reads it.
fn userinfo_is_a_password(scheme: &str) -> bool {
    let scheme = scheme.to_ascii_lowercase();
    let base = scheme.strip_suffix("+unix").unwrap_or(&scheme);
    matches!(base, "redis" | "rediss" | "valkey" | "valkeys" | "unix")
}

/// A URL as it may be printed. It is split as RFC 3986 splits it (scheme, authority up to the
/// first `/`, `?` or `#`, path, query, fragment), and then:
/// - the password of `user:password@` is shown as `***` (and, for Redis URLs, the lone word of
///   `redis://word@host`, which redis-cli reads as the password);
/// - so is the value of every query or fragment parameter whose name `is_secret_key` says
///   carries a secret (`?password=`, `&token=`, `#access_token=`);
/// - when an `@` comes after the authority while a password may come before it (an unencoded
///   `/`, `?` or `#` in a password, which some parsers take as part of it), everything from the
///   `//` to the last `@` is shown as `***`, or all after `//` when that `@` may be in a query;
/// - an authority without `@` whose `:` starts no port (`scheme://user:password`, the `@` and
///   host missing) is shown as `…`, and all after it.
///
/// Text without `://` keeps only what follows its last `@`, and has its parameters redacted.
pub fn redact_url(text: &str) -> String {
    let Some((scheme, rest)) = split_scheme(text) else {
        if is_opaque(text) {
            return redact_params(text);
        }
        return match text.rfind('@') {
            Some(at) => format!("{MASK}@{}", redact_params(&text[at + 1..])),
            None => redact_params(text),
        };
    };
    let special = matches!(scheme.to_ascii_lowercase().as_str(), "http" | "https" | "ws" | "wss");
    let authority_end =
        rest.find(|c: char| matches!(c, '/' | '?' | '#') || (special && c == '\\')).unwrap_or(rest.len());
    let (authority, after) = rest.split_at(authority_end);
    let prefix = &text[..text.len() - rest.len()];
    // MySQL's socket form, `user:pass/word@(/run/mysqld.sock)/db`: its authority runs past the
    // parenthesis, to the next '/', and the user part to the last '@' in it (mysql's `split_path`),
    // so a '/' before the '@' is the password's (found by fuzzing).
    if matches!(scheme.to_ascii_lowercase().as_str(), "mysql" | "mariadb")
        && let (Some(open), Some(close)) = (rest.find('('), rest.find(')'))
        && open < close
        && let Some(at) = rest[..rest[close..].find('/').map_or(rest.len(), |slash| close + slash)].rfind('@')
        && at > authority_end
    {
        return format!("{prefix}{MASK}@{}", redact_params(&rest[at + 1..]));
    }
    // A user part with an '@' and another '@' further on: an unencoded '/', '?' or '#' in the
    // password ended the authority early, and the credentials run to the last '@' (as the
    // MySQL shell, libpq and pika split them). Mask all of it, or, where a query or fragment
    // starts before that '@', everything.
    if authority.contains('@') && rest[authority_end..].contains('@') {
        let last_at = rest.rfind('@').unwrap_or(authority_end);
        if rest[authority_end..last_at].contains(['?', '#']) {
            return format!("{prefix}…");
        }
        return format!("{prefix}{MASK}@{}", redact_params(&rest[last_at + 1..]));
    }
    match (authority.rfind('@'), rest.find('@')) {
        (Some(at), _) => {
            let userinfo = &authority[..at];
            // An '@' in the user part may end redis-cli's password (it splits at the first '@').
            let shown = match userinfo.split_once(':') {
                Some((user, _)) if !user.contains('@') => format!("{user}:{MASK}"),
                Some(_) => MASK.to_owned(),
                None if userinfo.is_empty() || !userinfo_is_a_password(scheme) => userinfo.to_owned(),
                None => MASK.to_owned(),
            };
            format!("{prefix}{shown}{}{}", &authority[at..], redact_params(after))
        }
        (None, Some(first_at)) if userinfo_is_a_password(scheme) || rest[..first_at].contains(':') => {
            // What follows the last `@` is the host, unless that `@` may sit in a query value.
            let last_at = rest.rfind('@').unwrap_or(first_at);
            if rest[authority_end..last_at].contains(['?', '#']) {
                return format!("{prefix}…");
            }
            format!("{prefix}{MASK}@{}", redact_params(&rest[last_at + 1..]))
        }
        // `user:password` with its '@' and host missing reads as `host:port`: a port that is
        // not one may be a password, and so may what follows it.
        (None, _) if !ports_only(authority) => format!("{prefix}…"),
        (None, _) => format!("{prefix}{authority}{}", redact_params(after)),
    }
}

/// How to name text that was refused as a URL, for the message that says why: the text itself
/// when nothing in it can be a credential (no `@`, `?` or `#`, and every `:` before the path is a
/// port's); else `scheme://***@` and what follows the last `@` when that much is plain; else only
/// `scheme://…`. Never the part between `//` and the host.
pub fn redact_unparsed(text: &str) -> String {
    const LONGEST: usize = 200;
    let (prefix, rest) = match split_scheme(text) {
        Some((_, rest)) => (&text[..text.len() - rest.len()], rest),
        None => ("", text),
    };
    let plain = |part: &str| {
        part.len() <= LONGEST
            && !part.contains(['@', '?', '#'])
            && !part.chars().any(|c| c.is_whitespace() || c.is_control())
            && ports_only(part)
    };
    if plain(rest) {
        return text.to_owned();
    }
    if !rest.contains(['?', '#'])
        && let Some(at) = rest.rfind('@')
        && plain(&rest[at + 1..])
    {
        return format!("{prefix}{MASK}@{}", &rest[at + 1..]);
    }
    format!("{prefix}…")
}

/// True for URIs without `//` whose schemes hold no credentials before an `@` (`mailto:` names
/// a mailbox, `unix:` a path): `user:password@host`, a URL missing its scheme, is not one.
fn is_opaque(text: &str) -> bool {
    let scheme = text.split_once(':').map(|(scheme, _)| scheme.to_ascii_lowercase());
    matches!(scheme.as_deref(), Some("mailto" | "tel" | "sms" | "urn" | "data" | "about" | "news" | "unix"))
}

/// `scheme` and what follows `scheme://`, when `text` starts that way.
fn split_scheme(text: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = text.split_once("://")?;
    let mut chars = scheme.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    valid.then_some((scheme, rest))
}

/// True when every `:` in the authority part of `text` (up to the first `/`) starts a port: digits
/// only, after a host or a bracketed IPv6 address.
fn ports_only(text: &str) -> bool {
    let authority = text.split('/').next().unwrap_or_default();
    let host_end = match authority.strip_prefix('[') {
        Some(inner) => match inner.find(']') {
            Some(close) => close + 2,
            None => return false,
        },
        None => authority.find(':').unwrap_or(authority.len()),
    };
    match authority[host_end..].strip_prefix(':') {
        Some(port) => port.chars().all(|c| c.is_ascii_digit()),
        None => authority.len() == host_end,
    }
}

/// `after`, the path, query and fragment of a URL, with the value of each secret parameter of
/// the query and fragment shown as `***`. Parameters are split at `&`; within one, a `;` also
/// starts a parameter (as some servers read it), and a secret one hides the rest of it. A value
/// with an unencoded `&` or `#` in it runs on: after a secret parameter, a piece without `=` and
/// a fragment that follows at once are taken as the rest of that value and hidden too.
fn redact_params(after: &str) -> String {
    let mut out = String::with_capacity(after.len());
    let mut rest = after;
    while let Some(start) = rest.find(['?', '#']) {
        out.push_str(&rest[..=start]);
        let end = rest[start + 1..].find('#').map_or(rest.len(), |i| start + 1 + i);
        let mut secret_last = false;
        let redacted: Vec<String> = rest[start + 1..end]
            .split('&')
            .map(|param| match (secret_last, param.contains('=')) {
                (true, false) => MASK.to_owned(),
                _ => {
                    let (shown, secret) = redact_param(param);
                    secret_last = secret;
                    shown
                }
            })
            .collect();
        out.push_str(&redacted.join("&"));
        rest = &rest[end..];
        if secret_last && !rest.is_empty() {
            out.push_str("#***");
            rest = "";
        }
    }
    out.push_str(rest);
    out
}

/// One `name=value` parameter, its value masked when a name in it carries a secret; true
/// when it did.
fn redact_param(param: &str) -> (String, bool) {
    let mut offset = 0;
    for piece in param.split(';') {
        if let Some((name, _)) = piece.split_once('=') {
            let decoded = crate::net::percent_decode(&name.replace('+', " "));
            if is_secret_key(decoded.as_deref().unwrap_or(name)) {
                return (format!("{}{name}={MASK}", &param[..offset]), true);
            }
        }
        offset += piece.len() + 1;
    }
    (param.to_owned(), false)
}

/// A name from a URL or conninfo (a query parameter's, a key's) as an error may print it: a
/// plain word of modest length that carries no secret, else `…`.
pub fn printable_name(name: &str) -> &str {
    let plain =
        name.len() <= 40 && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if plain && !is_secret_key(name) { name } else { "…" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_in_urls_are_starred() {
        for (url, shown) in [
            ("redis://:pw@cache:6379/0", "redis://:***@cache:6379/0"),
            ("postgres://app:p%40ss@db/app?sslmode=require", "postgres://app:***@db/app?sslmode=require"),
            ("http://u:p:q@h/x", "http://u:***@h/x"),
            ("http://a:b@c@host/", "http://a:***@host/"),
            ("redis://word@x:y@host/", "redis://***@host/"),
            ("https://user@host/", "https://user@host/"),
            ("http://host/?q=a:b@c", "http://…"),
            ("http://host/a:b@c", "http://***@c"),
            ("http://host/users/@me", "http://host/users/@me"),
            ("not a url", "not a url"),
            ("user:pw@host:1", "***@host:1"),
            ("mailto:ops@example.com", "mailto:ops@example.com"),
            ("unix:/run/app.sock", "unix:/run/app.sock"),
        ] {
            assert_eq!(redact_url(url), shown, "{url}");
        }
    }

    #[test]
    fn a_lone_word_before_the_host_is_a_redis_password() {
        assert_eq!(redact_url("redis://word@cache"), "redis://***@cache");
        assert_eq!(redact_url("rediss://word@cache:6380/1"), "rediss://***@cache:6380/1");
        assert_eq!(redact_url("REDIS+UNIX://word@/run/r.sock"), "REDIS+UNIX://***@/run/r.sock");
        assert_eq!(redact_url("postgres://app@db/app"), "postgres://app@db/app");
        assert_eq!(redact_url("redis://@cache"), "redis://@cache");
    }

    #[test]
    fn secret_parameters_are_starred() {
        for (url, shown) in [
            ("redis://cache?db=2&password=pw", "redis://cache?db=2&password=***"),
            ("unix:///run/r.sock?db=2&pass=pw&user=u", "unix:///run/r.sock?db=2&pass=***&user=u"),
            ("http://h/x?Access_Token=t#frag", "http://h/x?Access_Token=***#***"),
            ("http://h/cb#access_token=t&state=1", "http://h/cb#access_token=***&state=1"),
            ("http://h/?x=1;password=p;y=2&z=3", "http://h/?x=1;password=***&z=3"),
            ("http://h/?pass%77ord=p", "http://h/?pass%77ord=***"),
            ("http://h/?my+token=p", "http://h/?my+token=***"),
            (
                "postgres://db/app?sslpassword=k&sslmode=verify-full",
                "postgres://db/app?sslpassword=***&sslmode=verify-full",
            ),
            ("http://h/?password", "http://h/?password"),
            // An unencoded '&' or '#' in a secret value: what follows is hidden with it.
            ("redis://h?password=ab#cd", "redis://h?password=***#***"),
            ("redis://h?password=ab&cd&db=1", "redis://h?password=***&***&db=1"),
        ] {
            assert_eq!(redact_url(url), shown, "{url}");
        }
    }

    #[test]
    fn an_unencoded_delimiter_in_a_password_hides_all_up_to_the_host() {
        for (url, shown) in [
            ("redis://:ab/cd+ef=@cache:6379/0", "redis://***@cache:6379/0"),
            ("redis://ab/cd@cache", "redis://***@cache"),
            // After a '?' or '#', an '@' may sit in a parameter's value: nothing is kept.
            ("redis://:pa#ss@cache:6379", "redis://…"),
            ("postgres://app:p?w@db/app", "postgres://…"),
            ("http://u:12/x@host/", "http://***@host/"),
            // An '@' in the user too, then a '/' in the password (found in review of fuzzing):
            // the authority ended early inside the credentials.
            ("mysql://us@r:pa/ssZq7W@127.0.0.1:1/db", "mysql://***@127.0.0.1:1/db"),
            ("amqp://us@r:pa/ss@host/vhost", "amqp://***@host/vhost"),
            ("postgres://us@r:pa?ss@db/app", "postgres://…"),
            // No '@' at all: a `:` that starts no port may be a password's.
            ("postgres://app:pa/ss", "postgres://…"),
            ("mysql://app:hunter2", "mysql://…"),
            ("redis://cache:6379/0", "redis://cache:6379/0"),
            ("redis://[::1]:6379/0", "redis://[::1]:6379/0"),
        ] {
            assert_eq!(redact_url(url), shown, "{url}");
        }
    }

    #[test]
    fn refused_text_is_named_without_what_may_be_a_secret() {
        for (text, shown) in [
            ("redis://cache:6379/x", "redis://cache:6379/x"),
            ("redis://[::1]:6379/x", "redis://[::1]:6379/x"),
            ("redis://:pa#ss@cache:6379", "redis://…"),
            ("redis://:ab/cd@cache:6379/x", "redis://***@cache:6379/x"),
            ("redis://:hunter2@cache:port", "redis://…"),
            ("redis://cache:port", "redis://…"),
            ("redis://cache/0?password=p@ss", "redis://…"),
            ("http://cache:6379", "http://cache:6379"),
            ("no scheme at all", "…"),
            ("cache:6379", "cache:6379"),
        ] {
            assert_eq!(redact_unparsed(text), shown, "{text}");
        }
    }

    #[test]
    fn secret_keys() {
        for key in [
            "password",
            "PASSWORD",
            "pass",
            "passwd",
            "pwd",
            "secret",
            "token",
            "auth",
            "sslpassword",
            "access_token",
            "client_secret",
            "X-Amz-Signature",
            "api_key",
            "key",
            "sig",
        ] {
            assert!(is_secret_key(key), "{key}");
        }
        for key in ["db", "user", "username", "sslmode", "sslkey", "sslcert", "protocol", "host"] {
            assert!(!is_secret_key(key), "{key}");
        }
    }

    #[test]
    fn a_secret_never_formats_its_value() {
        let secret = Secret::new("hunter2");
        assert_eq!(format!("{secret} {secret:?} {:?}", Some(&secret)), "*** *** Some(***)");
        assert_eq!(secret.expose(), "hunter2");
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    /// Characters a careless password may hold, URL delimiters included.
    const PASSWORD: &str = "[A-Za-z0-9]{4}[A-Za-z0-9/?#:+=!$&'()*,;%-]{0,8}[A-Za-z0-9]{4}";

    proptest! {
        #[test]
        fn a_userinfo_password_never_survives(
            scheme in "(http|https|redis|rediss|valkey|unix|postgres|postgresql|mysql|amqp|grpc)",
            user in "[a-z]{0,8}",
            password in PASSWORD,
            rest in "[a-z0-9.:/?=&@#-]{0,30}",
        ) {
            let url = format!("{scheme}://{user}:{password}@{rest}");
            prop_assert!(!redact_url(&url).contains(&password), "{}", redact_url(&url));
            prop_assert!(!redact_unparsed(&url).contains(&password), "{}", redact_unparsed(&url));
        }

        #[test]
        fn a_password_without_its_at_never_survives(
            scheme in "(http|https|redis|postgres|postgresql|mysql|mariadb|amqp|amqps|grpc)",
            user in "[a-z]{1,8}",
            password in "[A-Za-z][A-Za-z0-9]{3}[A-Za-z0-9/:+=!$()*,;%-]{0,8}[A-Za-z0-9]{4}",
        ) {
            let url = format!("{scheme}://{user}:{password}");
            prop_assert!(!redact_url(&url).contains(&password), "{}", redact_url(&url));
            prop_assert!(!redact_unparsed(&url).contains(&password), "{}", redact_unparsed(&url));
        }

        #[test]
        fn a_redis_password_word_never_survives(
            scheme in "(redis|rediss|valkey|valkeys|unix|redis\\+unix)",
            password in PASSWORD,
            rest in "[a-z0-9.:/?=&@#-]{0,30}",
        ) {
            let url = format!("{scheme}://{password}@{rest}");
            prop_assert!(!redact_url(&url).contains(&password), "{}", redact_url(&url));
            prop_assert!(!redact_unparsed(&url).contains(&password), "{}", redact_unparsed(&url));
        }

        #[test]
        fn a_query_password_never_survives(
            scheme in "(http|https|redis|rediss|unix|postgres)",
            before in "[a-z0-9.:/-]{0,20}",
            key in "(password|pass|PASSWORD|passwd|pwd|token|access_token|secret|sslpassword|auth)",
            password in "[A-Za-z0-9]{6}[A-Za-z0-9/?:@;=+%]{0,8}[A-Za-z0-9]{6}",
            others in "[a-z]{0,5}",
            fragment in proptest::option::of("[a-z=&]{0,10}"),
        ) {
            let fragment = fragment.map(|f| format!("#{f}")).unwrap_or_default();
            for query in [format!("{key}={password}"), format!("db=1&{key}={password}&{others}=1")] {
                let url = format!("{scheme}://{before}?{query}{fragment}");
                prop_assert!(!redact_url(&url).contains(&password), "{}", redact_url(&url));
                prop_assert!(!redact_unparsed(&url).contains(&password), "{}", redact_unparsed(&url));
            }
        }

        #[test]
        fn any_text_is_redacted_without_panic(text in any::<String>()) {
            let _ = redact_url(&text);
            let _ = redact_unparsed(&text);
        }
    }
}
