//! What Go's `net/url` makes of a URL's host part, for the decisions kubelet takes on it: the
//! same-host rule (`URL.Hostname()`, compared byte for byte), whether a `Host` header survives a
//! hop (`URL.IsAbs()`), the `Host` sent, and which references Go refuses to parse; and the
//! same checks for each part of a URL given on the command line (split by `uri::Uri`, in
//! `target`). Reference resolution itself is the `url` crate's.
//!
//! Read from Go's `src/net/url/url.go`: `Parse`/`parse` (fragment cut first, `getScheme`, the
//! query cut, the authority only after `//`), `parseAuthority` (user info up to the last `@`,
//! `validUserinfo`), `parseHost` (an IP literal only at the start and only IPv6, strict colons
//! for http and https, port after the colon), `unescape` (a host may escape only non-ASCII bytes
//! and `%25`), `setPath`/`setFragment` (escapes checked), `ResolveReference` (a reference with a
//! scheme keeps its own, possibly empty, host), `URL.Hostname`/`splitHostPort` and
//! `validOptionalPort`.

use std::net::Ipv6Addr;

/// A reference as Go's `url.Parse` reads it: its scheme, and its host when it names one.
#[derive(Debug, PartialEq, Eq)]
pub struct GoRef {
    /// Lower-cased, as Go stores it; None for a relative reference.
    pub scheme: Option<String>,
    /// Go's `URL.Host` (`host[:port]`, escapes decoded) of the resolved URL when the reference
    /// sets it: from its authority, or `Some("")` for one with a scheme and no authority
    /// (`mailto:x`, `http:/x`), which `ResolveReference` gives no host; None when it inherits.
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
    check_controls(raw)?;
    let (raw, fragment) = raw.split_once('#').unwrap_or((raw, ""));
    let (scheme, rest) = scheme(raw)?;
    // The query is cut off unchecked, as Go does.
    let rest = rest.split_once('?').map_or(rest, |(before, _)| before);
    if !rest.starts_with('/') {
        if scheme.is_some() {
            // Opaque (`mailto:x`, `http:x`): not checked, and without a host.
            unescape(fragment, Mode::Fragment)?;
            return Ok(GoRef { scheme, host: Some(String::new()) });
        }
        let first_segment = rest.split('/').next().unwrap_or_default();
        if first_segment.contains(':') {
            return Err("first path segment in URL cannot contain colon".to_owned());
        }
    }
    let (host, path) = if (scheme.is_some() || !rest.starts_with("///")) && rest.starts_with("//") {
        let after = &rest[2..];
        let (authority, path) = after.find('/').map_or((after, ""), |slash| after.split_at(slash));
        (Some(self::authority(scheme.as_deref(), authority)?), path)
    } else if scheme.is_some() {
        // `http:/x`: ResolveReference takes the reference's empty host, not the base's.
        (Some(String::new()), rest)
    } else {
        (None, rest)
    };
    check_path(path, fragment)?;
    Ok(GoRef { scheme, host })
}

/// Go's first check of a URL: no control character anywhere in it.
pub fn check_controls(raw: &str) -> Result<(), String> {
    match raw.bytes().any(|b| b < b' ' || b == 0x7f) {
        true => Err("invalid control character in URL".to_owned()),
        false => Ok(()),
    }
}

/// Go's `setPath` and `setFragment`: every `%` in them starts two hex digits.
pub fn check_path(path: &str, fragment: &str) -> Result<(), String> {
    unescape(path, Mode::Other)?;
    unescape(fragment, Mode::Fragment)?;
    Ok(())
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

/// Go's `parseAuthority`: the host after the last `@`, then the user info before it checked.
fn authority(scheme: Option<&str>, authority: &str) -> Result<String, String> {
    let (userinfo, host_port) = match authority.rfind('@') {
        Some(at) => (Some(&authority[..at]), &authority[at + 1..]),
        None => (None, authority),
    };
    let host = host(scheme, host_port)?;
    if let Some(userinfo) = userinfo {
        check_userinfo(userinfo)?;
    }
    Ok(host)
}

/// Go's `validUserinfo`, then its `unescape` of the user and the password: the user part of
/// `user:password@`, without the `@`. An error names the rule, never the text.
pub fn check_userinfo(userinfo: &str) -> Result<(), String> {
    let valid = |c: char| c.is_ascii_alphanumeric() || "-._:~!$&'()*+,;=%@".contains(c);
    if !userinfo.chars().all(valid) {
        return Err("invalid userinfo".to_owned());
    }
    let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
    unescape(user, Mode::Other)?;
    unescape(password, Mode::Other)?;
    Ok(())
}

/// Go's `URL.Host` of a URL's host part (`host[:port]`, as `uri::Uri::hosts` gives it) under
/// `scheme`: the port and an IP literal checked, escapes decoded, case kept.
pub fn go_host(scheme: &str, host_port: &str) -> Result<String, String> {
    host(Some(scheme), host_port)
}

/// Go's `parseHost`: checks the port and the IP literal, decodes `%` escapes.
fn host(scheme: Option<&str>, host_port: &str) -> Result<String, String> {
    match host_port.rfind('[') {
        Some(0) => {
            let close = host_port.rfind(']').ok_or("missing ']' in host")?;
            let colon_port = &host_port[close + 1..];
            if !valid_optional_port(colon_port) {
                return Err("invalid port after host".to_owned());
            }
            let inside = &host_port[1..close];
            let mut name = match inside.find("%25") {
                Some(zone) => {
                    unescape(&inside[..zone], Mode::Host)? + &unescape(&inside[zone..], Mode::Zone)?
                }
                None => unescape(inside, Mode::Host)?,
            };
            // netip.ParseAddr, and not IPv4: only an IPv6 address (with a zone) goes in brackets.
            let (address, zone) = name.split_once('%').map_or((name.as_str(), None), |(a, z)| (a, Some(z)));
            if address.parse::<Ipv6Addr>().is_err() || zone == Some("") {
                return Err("invalid host: not an IPv6 address".to_owned());
            }
            name.insert(0, '[');
            name.push(']');
            Ok(name + colon_port)
        }
        Some(_) => Err("invalid IP-literal".to_owned()),
        None => {
            if let Some(first) = host_port.find(':') {
                // http and https take the port after the first colon; other schemes the last.
                let colon = match scheme {
                    Some("http" | "https") => first,
                    _ => host_port.rfind(':').unwrap_or(first),
                };
                if !valid_optional_port(&host_port[colon..]) {
                    return Err("invalid port after host".to_owned());
                }
            }
            unescape(host_port, Mode::Host)
        }
    }
}

/// The parts of a URL Go's `unescape` checks differently.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Host,
    Zone,
    Fragment,
    Other,
}

/// Go's `unescape`: every `%` starts two hex digits; in a host only non-ASCII bytes (and `%25`)
/// may be escaped, and only the characters Go's `shouldEscape` leaves alone may appear.
fn unescape(text: &str, mode: Mode) -> Result<String, String> {
    let bytes = text.as_bytes();
    let hex = |i: usize| bytes.get(i).and_then(|b| (*b as char).to_digit(16)).map(|d| d as u8);
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c != b'%' {
            if matches!(mode, Mode::Host | Mode::Zone) && c < 0x80 && !allowed_in_host(c) {
                return Err("invalid character in host name".to_owned());
            }
            out.push(c);
            i += 1;
            continue;
        }
        let (Some(high), Some(low)) = (hex(i + 1), hex(i + 2)) else {
            return Err("invalid URL escape".to_owned());
        };
        let value = high << 4 | low;
        let refused = match mode {
            Mode::Host => high < 8 && value != b'%',
            Mode::Zone => value != b'%' && value != b' ' && !allowed_in_host(value),
            Mode::Fragment | Mode::Other => false,
        };
        if refused {
            return Err("invalid URL escape".to_owned());
        }
        out.push(value);
        i += 3;
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// An ASCII byte Go's `shouldEscape(c, encodeHost)` lets stand in a host.
fn allowed_in_host(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:[]<>\"".contains(&c)
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
        assert_eq!(host_of("http://caf%C3%A9/"), Some("café".into()));
        assert_eq!(host_of("http://a<b/"), Some("a<b".into()));
        assert_eq!(host_of("mailto:x@y"), Some(String::new()));
        assert_eq!(host_of("http:foo"), Some(String::new()));
        // A scheme without an authority: the resolved URL has Go's empty host, not the base's.
        assert_eq!(host_of("http:/x"), Some(String::new()));
        assert_eq!(host_of("https:/x?y"), Some(String::new()));
        assert_eq!(host_of("http://[::1]:80/"), Some("[::1]:80".into()));
        assert_eq!(host_of("http://[fe80::1%25eth0]/"), Some("[fe80::1%eth0]".into()));
        assert_eq!(host_of("//a:1:2/"), Some("a:1:2".into()));
        assert_eq!(host_of("/a%20b?q=%zz"), None);
        for bad in [
            "http://h:80x/",
            ":foo",
            "a\tb",
            "http://h%zz/",
            "http://%6cocalhost/",
            "http://a b/",
            "http://a:1:2/",
            "http://x[::1]/",
            "http://[1.2.3.4]/",
            "http://[::1/",
            "http://us er@h/",
            "http://u:%zz@h/",
            "/a%zz",
            "/ok#%zz",
            "mailto:x#%z",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        assert!(parse("a:b/c").unwrap().is_absolute());
    }

    #[test]
    fn hostname_drops_port_and_brackets_only() {
        assert_eq!(hostname("Example.COM:8080"), "Example.COM");
        assert_eq!(hostname("[::1]:80"), "::1");
        assert_eq!(hostname("[::1]"), "::1");
        assert_eq!(hostname("h:"), "h");
        assert_eq!(hostname("h"), "h");
        assert_eq!(hostname(""), "");
    }
}
