//! The one reader of targets written as URLs (`scheme://user:password@host:port/path?query#frag`).
//! It splits a text into spans once, decodes `%XX` escapes and query pairs, and builds the label
//! a target is printed under from that same parse, with every secret it found masked. Each
//! check's parser builds on it and adds the secrets only its protocol knows of (redis-cli's lone
//! `word@`); none splits a URL by hand, and nothing reads a label a second time to hide what is
//! in it. Text that is not read as a URL is named by its scheme only ([`unparsed`]).
//! Protocol-free: nothing here knows a check.

use std::{borrow::Cow, fmt, ops::Range};

use crate::secret::{self, is_secret_key};

/// A byte range of the text a [`Uri`] was read from.
pub type Span = Range<usize>;

/// Where the user part of a URL ends, as the check's reference client finds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Userinfo {
    /// RFC 3986 as Go's `net/url` and Python's `urllib` read it: the authority ends at the
    /// first `/`, `?` or `#`, and the user part at the last `@` in it.
    LastAt,
    /// libpq: the user part ends at the first `@` before any `/`, so `?` and `#` may be in it.
    FirstAtBeforeSlash,
}

/// A URL split into spans. The host part is kept whole (`hosts`): a check reads it as one
/// `host:port` or as a comma-separated list, as its protocol does.
#[derive(Clone, Debug)]
pub struct Uri<'a> {
    text: &'a str,
    scheme: Span,
    user: Option<Span>,
    password: Option<Span>,
    hosts: Span,
    path: Span,
    query: Option<Span>,
    fragment: Option<Span>,
}

/// One `name=value` pair of a query, as written (not decoded); `value` is `None` without `=`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Param<'a> {
    pub name: &'a str,
    pub value: Option<&'a str>,
    /// Where the value is in the text, to mask it when it is a secret.
    pub value_span: Span,
}

impl<'a> Uri<'a> {
    /// Reads `text` as `scheme://…`; `None` when it does not start with a scheme and `://`.
    /// Nothing else fails here: what a part must hold is the check's to say.
    pub fn parse(text: &'a str, userinfo: Userinfo) -> Option<Uri<'a>> {
        let scheme_end = scheme_len(text)?;
        let start = scheme_end + 3;
        let rest = &text[start..];
        let at = match userinfo {
            Userinfo::LastAt => rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())].rfind('@'),
            Userinfo::FirstAtBeforeSlash => rest.find(['@', '/']).filter(|&i| rest.as_bytes()[i] == b'@'),
        };
        let (user, password, hosts_start) = match at {
            None => (None, None, start),
            Some(at) => match rest[..at].find(':') {
                Some(colon) => {
                    (Some(start..start + colon), Some(start + colon + 1..start + at), start + at + 1)
                }
                None => (Some(start..start + at), None, start + at + 1),
            },
        };
        let hosts_end = find_from(text, hosts_start, &['/', '?', '#']);
        let path_end = find_from(text, hosts_end, &['?', '#']);
        let fragment_start = text[path_end..].find('#').map(|i| path_end + i);
        let query =
            (text[path_end..].starts_with('?')).then(|| path_end + 1..fragment_start.unwrap_or(text.len()));
        let fragment = fragment_start.map(|i| i + 1..text.len());
        Some(Uri {
            text,
            scheme: 0..scheme_end,
            user,
            password,
            hosts: hosts_start..hosts_end,
            path: hosts_end..path_end,
            query,
            fragment,
        })
    }

    pub fn text(&self) -> &'a str {
        self.text
    }

    /// The scheme as written (compare it without case).
    pub fn scheme(&self) -> &'a str {
        &self.text[self.scheme.clone()]
    }

    /// The user name as written (decode it with [`decode`]); `Some("")` for `://:pw@` and `://@`.
    pub fn user(&self) -> Option<&'a str> {
        self.user.clone().map(|span| &self.text[span])
    }

    /// The password as written, after the user part's first `:`.
    pub fn password(&self) -> Option<&'a str> {
        self.password.clone().map(|span| &self.text[span])
    }

    /// The user part's span: what a check masks when its protocol reads a lone word as a
    /// password (`redis://word@host`).
    pub fn user_span(&self) -> Option<Span> {
        self.user.clone()
    }

    /// The host part: `host`, `host:port`, `[v6]:port`, or a comma-separated list of them.
    pub fn hosts(&self) -> &'a str {
        &self.text[self.hosts.clone()]
    }

    /// The path as written, with its leading `/`; empty when there is none.
    pub fn path(&self) -> &'a str {
        &self.text[self.path.clone()]
    }

    /// The path's span, leading `/` included.
    pub fn path_span(&self) -> Span {
        self.path.clone()
    }

    pub fn query(&self) -> Option<&'a str> {
        self.query.clone().map(|span| &self.text[span])
    }

    pub fn fragment(&self) -> Option<&'a str> {
        self.fragment.clone().map(|span| &self.text[span])
    }

    /// True when an `@` comes after the host part. In most protocols that is a password with an
    /// unencoded `/`, `?` or `#` in it (the authority ended inside it), which the check refuses
    /// with [`STRAY_AT`]; in an http path it may be meant.
    pub fn stray_at(&self) -> bool {
        self.text[self.hosts.end..].contains('@')
    }

    /// The query's `&`-separated pairs, in order.
    pub fn params(&self) -> Vec<Param<'a>> {
        self.query.clone().map(|span| pairs(self.text, span)).unwrap_or_default()
    }

    /// Every secret this reading found: the password, the value of each query or fragment
    /// parameter whose name says it is one (`?password=`, `#access_token=`, with what an
    /// unencoded `&` or `#` left of the value), and, when an `@` after the host may end a
    /// password whose `/` ended the authority early (`http://u:12/x@host`), all up to that `@`.
    pub fn secrets(&self) -> Vec<Span> {
        let mut secrets: Vec<Span> = self.password.clone().into_iter().collect();
        if self.user.is_none()
            && self.hosts().contains(':')
            && let Some(last_at) = self.text[self.hosts.end..].rfind('@')
        {
            secrets.push(self.hosts.start..self.hosts.end + last_at);
        }
        let fragment_hidden = match &self.query {
            Some(query) => secret_params(self.text, query.clone(), &mut secrets),
            None => false,
        };
        if let Some(fragment) = &self.fragment {
            if fragment_hidden {
                secrets.push(fragment.clone());
            } else {
                secret_params(self.text, fragment.clone(), &mut secrets);
            }
        }
        secrets
    }

    /// The socket's path of a `unix://` URL, which names no host (`localhost` at most);
    /// `example` is a typical path for the words that say how to write one.
    pub fn unix_socket_path(&self, example: &str) -> Result<std::path::PathBuf, String> {
        if !(self.hosts().is_empty() || self.hosts().eq_ignore_ascii_case("localhost")) {
            return Err(format!(
                "a unix URL names no host; write the socket's path after three slashes, as in unix://{example}"
            ));
        }
        let path = decode(self.path()).map_err(|why| format!("the socket's path {why}"))?;
        if path.is_empty() || path == "/" {
            return Err(format!("the socket's path is missing; write it as unix://{example}"));
        }
        Ok(path.into_owned().into())
    }

    /// The text as it may be printed: every span of [`Self::secrets`] and of `more` masked,
    /// control characters escaped.
    pub fn label(&self, more: impl IntoIterator<Item = Span>) -> String {
        let mut secrets = self.secrets();
        secrets.extend(more);
        secret::mask(self.text, &secrets)
    }
}

/// Why a check refuses an `@` after the host, the same words in every check.
pub const STRAY_AT: &str =
    "an '@' comes after the host; in a password, write '/' as %2F, '?' as %3F and '#' as %23";

/// How to name text that was not read as a URL in the message that says why: its scheme and
/// `://…` (`'postgres://…'`), or `…` when it has none. Never any other part: what a parser
/// could not read, it cannot tell from a password.
pub fn unparsed(text: &str) -> String {
    match scheme_len(text) {
        Some(end) => format!("{}://…", crate::quote::escaped(&text[..end])),
        None => "…".to_owned(),
    }
}

/// The scheme of `text` when it starts `scheme://`.
pub fn scheme_of(text: &str) -> Option<&str> {
    scheme_len(text).map(|end| &text[..end])
}

/// The length of a valid scheme followed by `://` at the start of `text`.
fn scheme_len(text: &str) -> Option<usize> {
    let end = text.find("://")?;
    let mut chars = text[..end].chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    valid.then_some(end)
}

fn find_from(text: &str, from: usize, any: &[char]) -> usize {
    text[from..].find(any).map_or(text.len(), |i| from + i)
}

/// The `&`-separated pairs of the query or fragment at `span` in `text`.
fn pairs(text: &str, span: Span) -> Vec<Param<'_>> {
    let mut out = Vec::new();
    let mut start = span.start;
    for piece in text[span.clone()].split('&') {
        let end = start + piece.len();
        let (name, value, value_span) = match piece.split_once('=') {
            Some((name, value)) => (name, Some(value), start + name.len() + 1..end),
            None => (piece, None, end..end),
        };
        if !piece.is_empty() {
            out.push(Param { name, value, value_span });
        }
        start = end + 1;
    }
    out
}

/// Adds to `secrets` the value of every pair in `span` whose name is a secret's. Within one
/// pair a `;` starts another (as some servers read it), and a secret one hides the rest of the
/// pair. A value with an unencoded `&` runs on: a piece without `=` right after a secret value
/// is hidden too. True when the last pair held a secret, so a fragment that follows at once may
/// be the rest of its value.
fn secret_params(text: &str, span: Span, secrets: &mut Vec<Span>) -> bool {
    let mut secret_last = false;
    let mut start = span.start;
    for piece in text[span].split('&') {
        let end = start + piece.len();
        if secret_last && !piece.contains('=') {
            secrets.push(start..end);
        } else {
            secret_last = false;
            let mut offset = start;
            for part in piece.split(';') {
                if let Some((name, _)) = part.split_once('=') {
                    let spaced = name.replace('+', " ");
                    if is_secret_key(decode(&spaced).as_deref().unwrap_or(name)) {
                        secrets.push(offset + name.len() + 1..end);
                        secret_last = true;
                        break;
                    }
                }
                offset += part.len() + 1;
            }
        }
        start = end + 1;
    }
    secret_last
}

/// Why a part of a URL could not be decoded. Its words never quote the part.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// A `%` not followed by two hex digits.
    BadEscape,
    /// Escapes that decode to bytes that are not UTF-8.
    NotUtf8,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DecodeError::BadEscape => "has a '%' not followed by two hex digits (write '%' as %25)",
            DecodeError::NotUtf8 => "is not UTF-8 once decoded",
        })
    }
}

/// `text` with its `%XX` escapes decoded.
pub fn decode(text: &str) -> Result<Cow<'_, str>, DecodeError> {
    if !text.contains('%') {
        return Ok(Cow::Borrowed(text));
    }
    let bytes = decode_bytes(text)?;
    String::from_utf8(bytes).map(Cow::Owned).map_err(|_| DecodeError::NotUtf8)
}

/// A user name or password as written, decoded; empty is none. The error names it by `what`
/// and never quotes it.
pub fn decode_credential(raw: &str, what: &str) -> Result<Option<String>, String> {
    match raw {
        "" => Ok(None),
        raw => decode(raw).map(|text| Some(text.into_owned())).map_err(|why| format!("the {what} {why}")),
    }
}

/// `text` with its `%XX` escapes decoded, as bytes (a password need not be UTF-8).
pub fn decode_bytes(text: &str) -> Result<Vec<u8>, DecodeError> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3).filter(|h| h.iter().all(u8::is_ascii_hexdigit));
            let hex = hex.ok_or(DecodeError::BadEscape)?;
            out.push(u8::from_str_radix(std::str::from_utf8(hex).unwrap_or("00"), 16).unwrap_or(0));
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Ok(out)
}

/// Splits `host`, `host:port`, `[v6]` or `[v6]:port` into the host (brackets removed) and the
/// port as written. The error never quotes the text.
pub fn split_host_port(text: &str) -> Result<(&str, Option<&str>), &'static str> {
    if let Some(rest) = text.strip_prefix('[') {
        let (host, after) = rest.split_once(']').ok_or("an IPv6 address needs its closing ']'")?;
        if host.parse::<std::net::Ipv6Addr>().is_err() {
            return Err("what is in brackets is not an IPv6 address");
        }
        return match after {
            "" => Ok((host, None)),
            _ => match after.strip_prefix(':') {
                Some(port) => Ok((host, Some(port))),
                None => Err("only ':' and a port may follow an IPv6 address's ']'"),
            },
        };
    }
    match text.split_once(':') {
        Some((_, port)) if port.contains(':') => Err("put an IPv6 address in brackets, as in [::1]:5432"),
        Some((host, port)) => Ok((host, Some(port))),
        None => Ok((text, None)),
    }
}

/// True for a host name or IPv4 address as written in a target: letters, digits, `.`, `-`
/// and `_` (names in /etc/hosts and Kubernetes services may hold `_`).
pub fn is_host_name(host: &str) -> bool {
    !host.is_empty() && host.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Uri<'_> {
        Uri::parse(text, Userinfo::LastAt).expect(text)
    }

    #[test]
    fn splits_every_part() {
        let uri = read("redis://app:pw@cache:6379/2?db=3&x#frag");
        assert_eq!(uri.scheme(), "redis");
        assert_eq!((uri.user(), uri.password()), (Some("app"), Some("pw")));
        assert_eq!(uri.hosts(), "cache:6379");
        assert_eq!((uri.path(), uri.query(), uri.fragment()), ("/2", Some("db=3&x"), Some("frag")));
        let params = uri.params();
        assert_eq!((params[0].name, params[0].value), ("db", Some("3")));
        assert_eq!((params[1].name, params[1].value), ("x", None));
        let bare = read("nats://h1:4222,h2");
        assert_eq!((bare.user(), bare.hosts(), bare.path(), bare.query()), (None, "h1:4222,h2", "", None));
        assert!(Uri::parse("db:5432", Userinfo::LastAt).is_none());
        assert!(Uri::parse("1x://h", Userinfo::LastAt).is_none());
    }

    #[test]
    fn the_user_part_ends_where_the_reference_client_ends_it() {
        let go = read("http://a@b:pw@host/x@y");
        assert_eq!((go.user(), go.password(), go.hosts()), (Some("a@b"), Some("pw"), "host"));
        let libpq = Uri::parse("postgres://app:p?w#@db/app", Userinfo::FirstAtBeforeSlash).unwrap();
        assert_eq!((libpq.password(), libpq.hosts(), libpq.path()), (Some("p?w#"), "db", "/app"));
        let libpq = Uri::parse("postgres://app:p@ss@db/app", Userinfo::FirstAtBeforeSlash).unwrap();
        assert_eq!((libpq.password(), libpq.hosts()), (Some("p"), "ss@db"));
        let none = Uri::parse("postgres://db/a@b", Userinfo::FirstAtBeforeSlash).unwrap();
        assert_eq!((none.user(), none.hosts(), none.path()), (None, "db", "/a@b"));
    }

    #[test]
    fn labels_mask_what_the_parse_found() {
        for (text, shown) in [
            ("redis://:pw@cache:6379/0", "redis://:***@cache:6379/0"),
            ("postgres://app:p%40ss@db/app?sslmode=require", "postgres://app:***@db/app?sslmode=require"),
            ("http://a:b@c@host/", "http://a:***@host/"),
            ("https://user@host/", "https://user@host/"),
            ("http://host/users/@me", "http://host/users/@me"),
            ("http://u:12/x@host/", "http://***@host/"),
            ("redis://cache?db=2&password=pw", "redis://cache?db=2&password=***"),
            ("http://h/x?Access_Token=t#frag", "http://h/x?Access_Token=***#***"),
            ("http://h/cb#access_token=t&state=1", "http://h/cb#access_token=***&state=1"),
            ("http://h/?x=1;password=p;y=2&z=3", "http://h/?x=1;password=***&z=3"),
            ("http://h/?pass%77ord=p", "http://h/?pass%77ord=***"),
            ("http://h/?my+token=p", "http://h/?my+token=***"),
            ("http://h/?password", "http://h/?password"),
            ("redis://h?password=ab#cd", "redis://h?password=***#***"),
            ("redis://h?password=ab&cd&db=1", "redis://h?password=***&***&db=1"),
            ("http://h/\n?x=1", "http://h/\\n?x=1"),
        ] {
            assert_eq!(read(text).label([]), shown, "{text}");
        }
        let lone = read("redis://word@cache");
        assert_eq!(lone.label(lone.user_span()), "redis://***@cache");
    }

    #[test]
    fn text_not_read_is_named_by_its_scheme() {
        assert_eq!(unparsed("postgres://app:hunter2@db"), "postgres://…");
        assert_eq!(unparsed("app:hunter2@db"), "…");
        assert_eq!(scheme_of("AMQPS://h"), Some("AMQPS"));
    }

    #[test]
    fn decoding_tells_a_bad_escape_from_bad_utf8() {
        assert_eq!(decode("p%40ss").unwrap(), "p@ss");
        assert_eq!(decode("%zz"), Err(DecodeError::BadEscape));
        assert_eq!(decode("%4"), Err(DecodeError::BadEscape));
        assert_eq!(decode("%ff"), Err(DecodeError::NotUtf8));
        assert_eq!(decode_bytes("%ff").unwrap(), [0xff]);
    }

    #[test]
    fn hosts_and_ports_split() {
        assert_eq!(split_host_port("db:5432"), Ok(("db", Some("5432"))));
        assert_eq!(split_host_port("[::1]:6379"), Ok(("::1", Some("6379"))));
        assert_eq!(split_host_port("[::1]"), Ok(("::1", None)));
        assert_eq!(split_host_port("db"), Ok(("db", None)));
        assert!(split_host_port("::1:5432").is_err());
        assert!(split_host_port("[::1:5432").is_err());
        assert!(split_host_port("[db]:1").is_err());
        assert!(split_host_port("[::1]x").is_err());
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
        fn a_password_read_as_one_is_never_shown(
            scheme in "(http|redis|postgres|mysql|amqp|nats|mqtt)",
            user in "[a-z]{0,8}",
            password in PASSWORD,
            rest in "[a-z0-9.:/?=&@#-]{0,30}",
        ) {
            let text = format!("{scheme}://{user}:{password}@{rest}");
            for rules in [Userinfo::LastAt, Userinfo::FirstAtBeforeSlash] {
                let uri = Uri::parse(&text, rules).unwrap();
                if let Some(read) = uri.password().filter(|read| read.len() >= 8) {
                    prop_assert!(!uri.label([]).contains(read), "{} shows {read}", uri.label([]));
                }
            }
        }

        #[test]
        fn a_query_secret_is_never_shown(
            key in "(password|pass|PASSWORD|passwd|pwd|token|access_token|secret|sslpassword|auth)",
            secret in "[A-Za-z0-9]{6}[A-Za-z0-9/?:@;=+%]{0,8}[A-Za-z0-9]{6}",
            fragment in proptest::option::of("[a-z=&]{0,10}"),
        ) {
            let fragment = fragment.map(|f| format!("#{f}")).unwrap_or_default();
            let text = format!("http://h/x?db=1&{key}={secret}&y=1{fragment}");
            let uri = Uri::parse(&text, Userinfo::LastAt).unwrap();
            prop_assert!(!uri.label([]).contains(&secret), "{}", uri.label([]));
        }

        #[test]
        fn any_text_is_read_or_refused_without_panic(text in any::<String>()) {
            for rules in [Userinfo::LastAt, Userinfo::FirstAtBeforeSlash] {
                if let Some(uri) = Uri::parse(&text, rules) {
                    let _ = (uri.label([]), uri.params(), uri.stray_at());
                }
            }
            let _ = (unparsed(&text), split_host_port(&text), decode(&text));
        }
    }
}
