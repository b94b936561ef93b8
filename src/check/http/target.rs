//! The URL a target is given as, and the `Location`s a server answers with, as messages show
//! them. A given URL is read once by `uri::Uri` (the user part ends at the last `@` before the
//! path, as Go's `net/url` ends it; an `@` in the path is the path's), its parts checked as Go's
//! `url.Parse` checks them (`location`), and its label built from that same reading with every
//! secret masked. The `url` crate resolves it, and each `Location` against it (RFC 3986).

use url::Url;

use super::location;
use crate::{
    net, quote,
    uri::{self, Uri, Userinfo},
};

/// One request's URL: the `url` crate's, and Go's `URL.Host` of it (case and port kept as
/// written), which the same-host rule and the Host header go by.
#[derive(Clone, Debug)]
pub struct Hop {
    pub url: Url,
    pub go_host: String,
    /// A `Host` header that differs from the URL's, while it survives (Go's `Request.Host`).
    pub host_header: Option<String>,
}

/// A URL as given on the command line, and the label it is printed under.
#[derive(Debug)]
pub struct Given {
    pub hop: Hop,
    pub label: String,
}

/// Reads an http(s) URL as given. A refusal names the text by its scheme only (`'http://…'`):
/// what could not be read could be a password.
pub fn parse(text: &str) -> Result<Given, String> {
    let refused = |why: &str| format!("'{}' {why}", uri::unparsed(text));
    let must_be_http = "is not a URL probe http takes: it must start with http:// or https://";
    let uri = Uri::parse(text, Userinfo::LastAt).ok_or_else(|| refused(must_be_http))?;
    let scheme = uri.scheme().to_ascii_lowercase();
    if !matches!(scheme.as_str(), "http" | "https") {
        return Err(refused(must_be_http));
    }
    let not_a_url = |why: &str| refused(&format!("is not a URL: {why}"));
    location::check_controls(text).map_err(|why| not_a_url(&why))?;
    let (host, port) = uri::split_host_port(uri.hosts()).map_err(not_a_url)?;
    if host.is_empty() {
        return Err(not_a_url("it has no host"));
    }
    if let Some(port) = port {
        net::parse_port(port).map_err(|why| not_a_url(&why))?;
    }
    let go_host = location::go_host(&scheme, uri.hosts()).map_err(|why| not_a_url(&why))?;
    if let Some(user) = uri.user() {
        let userinfo = match uri.password() {
            Some(password) => format!("{user}:{password}"),
            None => user.to_owned(),
        };
        location::check_userinfo(&userinfo).map_err(|why| not_a_url(&why))?;
    }
    location::check_path(uri.path(), uri.fragment().unwrap_or_default()).map_err(|why| not_a_url(&why))?;
    let url = Url::parse(text).map_err(|why| not_a_url(&why.to_string()))?;
    Ok(Given { hop: Hop { url, go_host, host_header: None }, label: uri.label([]) })
}

/// A `Location` (or a URL resolved from one) as a message shows it, read by `uri::Uri` as a
/// given URL is, with its secrets masked, control characters escaped and its length bounded as
/// every peer's text is. A relative one is read as if it followed a scheme (and a host), which
/// is not shown. One Go's `url.Parse` refuses is named by its scheme only: a port that is not
/// one may be a password whose `@` is missing.
pub fn shown_location(location: &str) -> String {
    if location::parse(location).is_err() {
        return uri::unparsed(location);
    }
    let prefix = match location {
        _ if uri::scheme_of(location).is_some() => "",
        _ if location.starts_with("//") => "x:",
        _ if location.starts_with('/') => "x://h",
        _ => "x://h/",
    };
    let whole = format!("{prefix}{location}");
    let label = match Uri::parse(&whole, Userinfo::LastAt) {
        Some(uri) => uri.label([]),
        None => return uri::unparsed(location),
    };
    quote::peer(label.strip_prefix(prefix).unwrap_or(&label))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_or_say_why_naming_only_the_scheme() {
        let given = parse("http://user:p%40ss@Host:8080/health?x=1&token=t").unwrap();
        assert_eq!(given.hop.go_host, "Host:8080");
        assert_eq!(given.hop.url.as_str(), "http://user:p%40ss@host:8080/health?x=1&token=t");
        assert_eq!(given.label, "http://user:***@Host:8080/health?x=1&token=***");
        // '@' in a path is the path's, as Go reads it; the password before it is the last '@'s.
        let given = parse("http://a@b:pw@host/users/@me").unwrap();
        assert_eq!((given.hop.go_host.as_str(), given.label.as_str()), ("host", "http://a@b:***@host/users/@me"));
        for (bad, why) in [
            ("host:80", "'…' is not a URL probe http takes: it must start with http:// or https://"),
            ("ftp://h/", "'ftp://…' is not a URL probe http takes"),
            ("http://", "'http://…' is not a URL: it has no host"),
            ("http://h:0/", "'http://…' is not a URL: '0' is not a port"),
            ("http://h:/", "'http://…' is not a URL: '' is not a port"),
            ("http://a b/", "'http://…' is not a URL: invalid character in host name"),
            ("http://u:%zz@h/", "'http://…' is not a URL: invalid URL escape"),
            ("http://u:hunter2@/", "'http://…' is not a URL: it has no host"),
            ("http://u:hunter2/x@h/", "'http://…' is not a URL: the port is not a number"),
        ] {
            let err = parse(bad).unwrap_err();
            assert!(err.starts_with(why), "{bad}: {err}");
        }
    }

    #[test]
    fn a_location_is_shown_with_its_secrets_masked() {
        for (location, shown) in [
            ("/next?token=t&x=1", "/next?token=***&x=1"),
            ("../ok", "../ok"),
            ("?password=p", "?password=***"),
            ("//u:pw@h:1/p", "//u:***@h:1/p"),
            ("HTTP://u:pw@h/p#access_token=t", "HTTP://u:***@h/p#access_token=***"),
            ("http:/x", "http:/x"),
            ("mailto:ops@example.com", "mailto:ops@example.com"),
            ("http://h/caf\u{85}", "http://h/caf\\u{85}"),
            ("http://127.0.0.1:8x/", "http://…"),
            ("http://user:Sup3r/S3cret@h/", "http://…"),
            ("/a%zz", "…"),
        ] {
            assert_eq!(shown_location(location), shown, "{location}");
        }
        let long = format!("/{}", "x".repeat(1000));
        assert_eq!(shown_location(&long).chars().count(), quote::LONGEST + 1);
    }
}
