//! What Go's `net/url` makes of a URL's host part, for the decisions kubelet takes on it: the
//! same-host rule (`URL.Hostname()`, compared byte for byte), whether a `Host` header survives a
//! hop (`URL.IsAbs()`) and the `Host` sent. Reference resolution itself is the `url` crate's.
//!
//! Read from Go's `src/net/url/url.go`: `Parse`/`parse` (fragment cut first, `getScheme`, the
//! query cut, the authority only after `//`), `parseAuthority` (user info up to the last `@`),
//! `parseHost` (port after the last `:`, `%` escapes decoded), `URL.Hostname`/`splitHostPort`
//! and `validOptionalPort`.

/// A reference as Go's `url.Parse` reads it: its scheme, and its host when it names one.
#[derive(Debug, PartialEq, Eq)]
pub struct GoRef {
    /// Lower-cased, as Go stores it; None for a relative reference.
    pub scheme: Option<String>,
    /// Go's `URL.Host` (`host[:port]`, escapes decoded) when the reference has an authority;
    /// `Some("")` for an opaque one (`mailto:x`), which Go gives no host; None when it inherits.
    pub host: Option<String>,
}

impl GoRef {
    /// Go's `URL.IsAbs()`: the reference has a scheme.
    pub fn is_absolute(&self) -> bool {
        self.scheme.is_some()
    }
}

/// Parses `raw` as Go's `url.Parse` does, as far as the scheme and host go. An error is one Go
/// reports too (kubelet's probe then fails with "failed to parse Location header").
pub fn parse(raw: &str) -> Result<GoRef, String> {
    if raw.bytes().any(|b| b < b' ' || b == 0x7f) {
        return Err("invalid control character in URL".to_owned());
    }
    let raw = raw.split_once('#').map_or(raw, |(before, _)| before);
    let (scheme, rest) = scheme(raw)?;
    let rest = rest.split_once('?').map_or(rest, |(before, _)| before);
    if !rest.starts_with('/') {
        if scheme.is_some() {
            return Ok(GoRef { scheme, host: Some(String::new()) });
        }
        let first_segment = rest.split('/').next().unwrap_or_default();
        if first_segment.contains(':') {
            return Err("first path segment in URL cannot contain colon".to_owned());
        }
    }
    if (scheme.is_some() || !rest.starts_with("///")) && rest.starts_with("//") {
        let authority = rest[2..].split('/').next().unwrap_or_default();
        let host_port = authority.rsplit_once('@').map_or(authority, |(_, after)| after);
        return Ok(GoRef { scheme, host: Some(host(host_port)?) });
    }
    Ok(GoRef { scheme, host: None })
}

/// Go's `getScheme`: letters, then letters, digits, `+`, `-` or `.`, up to a `:`.
fn scheme(raw: &str) -> Result<(Option<String>, &str), String> {
    for (i, c) in raw.bytes().enumerate() {
        match c {
            b'a'..=b'z' | b'A'..=b'Z' => {}
            b'0'..=b'9' | b'+' | b'-' | b'.' if i > 0 => {}
            b':' if i == 0 => return Err("missing protocol scheme".to_owned()),
            b':' => return Ok((Some(raw[..i].to_ascii_lowercase()), &raw[i + 1..])),
            _ => return Ok((None, raw)),
        }
    }
    Ok((None, raw))
}

/// Go's `parseHost`: checks the port, decodes `%` escapes.
fn host(host_port: &str) -> Result<String, String> {
    let after_host = if host_port.starts_with('[') {
        let close = host_port.rfind(']').ok_or("missing ']' in host")?;
        &host_port[close + 1..]
    } else {
        host_port.rfind(':').map_or("", |colon| &host_port[colon..])
    };
    if !valid_optional_port(after_host) {
        return Err(format!("invalid port {after_host:?} after host"));
    }
    let allowed =
        |c: char| c.is_ascii_alphanumeric() || !c.is_ascii() || "-._~!$&'()*+,;=:[]<>\"%".contains(c);
    if let Some(bad) = host_port.chars().find(|&c| !allowed(c)) {
        return Err(format!("invalid character {bad:?} in host name"));
    }
    crate::net::percent_decode(host_port).map_err(|_| "invalid URL escape in host".to_owned())
}

/// Go's `validOptionalPort`: empty, or `:` and digits.
fn valid_optional_port(port: &str) -> bool {
    port.is_empty() || port.strip_prefix(':').is_some_and(|digits| digits.bytes().all(|b| b.is_ascii_digit()))
}

/// Go's `URL.Hostname()` of a `URL.Host`: the port and the IPv6 brackets removed, case kept.
pub fn hostname(host: &str) -> &str {
    let host = match host.rfind(':') {
        Some(colon) if valid_optional_port(&host[colon..]) => &host[..colon],
        _ => host,
    };
    match host.strip_prefix('[').and_then(|inner| inner.strip_suffix(']')) {
        Some(inner) => inner,
        None => host,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host_of(raw: &str) -> Option<String> {
        parse(raw).unwrap().host
    }

    #[test]
    fn hosts_as_go_reads_them() {
        assert_eq!(host_of("http://Example.COM:8080/x"), Some("Example.COM:8080".into()));
        assert_eq!(host_of("HTTP://h/"), Some("h".into()));
        assert_eq!(parse("HTTP://h/").unwrap().scheme.as_deref(), Some("http"));
        assert_eq!(host_of("//other:1/p"), Some("other:1".into()));
        assert_eq!(host_of("///p"), None);
        assert_eq!(host_of("/ok"), None);
        assert_eq!(host_of("../ok?x=//h"), None);
        assert_eq!(host_of("?x=1"), None);
        assert_eq!(host_of("#frag//h"), None);
        assert_eq!(host_of("http://u:p@h@real:1/"), Some("real:1".into()));
        assert_eq!(host_of("http://%6cocalhost/"), Some("localhost".into()));
        assert_eq!(host_of("mailto:x@y"), Some(String::new()));
        assert_eq!(host_of("http:foo"), Some(String::new()));
        assert_eq!(host_of("http://[::1]:80/"), Some("[::1]:80".into()));
        assert!(parse("http://h:80x/").is_err());
        assert!(parse(":foo").is_err());
        assert!(parse("a:b/c").unwrap().is_absolute());
        assert!(parse("a\tb").is_err());
        assert!(parse("http://h%zz/").is_err());
        assert!(parse("http://a b/").is_err());
    }

    #[test]
    fn hostname_drops_port_and_brackets_only() {
        assert_eq!(hostname("Example.COM:8080"), "Example.COM");
        assert_eq!(hostname("[::1]:80"), "::1");
        assert_eq!(hostname("[::1]"), "::1");
        assert_eq!(hostname("h:"), "h");
        assert_eq!(hostname("h"), "h");
    }
}
