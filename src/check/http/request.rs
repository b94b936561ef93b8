//! The request head of each hop, as Go's `Request.write` writes kubelet's request: the `-H`
//! headers (read by `crate::headers`, names as Go's `http.Header` stores them), which of them survive
//! a hop, the `Referer`, and the URL's user and password as Basic authorization.

use base64::Engine as _;
use url::Url;

use super::{target::Hop, wire};
use crate::{headers, secret, uri};

const USER_AGENT: &str = concat!("probe/", env!("CARGO_PKG_VERSION"));

/// Headers whose names say they carry a credential, besides those `secret::is_secret_key`
/// finds: Go's `shouldCopyHeaderOnRedirect` list and the usual API-key and proxy ones.
const CREDENTIALS: [&str; 7] =
    ["Authorization", "Proxy-Authorization", "Www-Authenticate", "Cookie", "Cookie2", "X-Api-Key", "X-Auth-Token"];

/// A request header from `-H 'Name: value'`, its name in Go's canonical form (`X-Probe`), as
/// kubelet's `http.Header.Add` stores it.
#[derive(Clone, Debug)]
pub struct Header {
    pub name: String,
    pub value: String,
}

/// The `-H` headers (and the lines of `-H @FILE`), their names checked as Go checks them.
pub fn read(given: &[String]) -> anyhow::Result<Vec<Header>> {
    let mut headers = Vec::new();
    headers::each(given, |name, value| {
        if name.is_empty() || !name.bytes().all(wire::is_token) {
            return Err("a header name is made of letters, digits and !#$%&'*+-.^_`|~".to_owned());
        }
        headers.push(Header { name: canonical(name), value: value.to_owned() });
        Ok(())
    })?;
    Ok(headers)
}

/// Go's `CanonicalMIMEHeaderKey`: upper case at the start and after each `-`, lower case elsewhere.
fn canonical(name: &str) -> String {
    let mut upper = true;
    name.chars()
        .map(|c| {
            let out = if upper { c.to_ascii_uppercase() } else { c.to_ascii_lowercase() };
            upper = c == '-';
            out
        })
        .collect()
}

/// True for a header that may carry a credential, by its name: it goes only to the origin of
/// the URL given.
pub fn is_credential(name: &str) -> bool {
    CREDENTIALS.iter().any(|credential| credential.eq_ignore_ascii_case(name)) || secret::is_secret_key(name)
}

/// The first `-H Host:` value, if not empty: Go's `Request.Host` (an empty one means the URL's).
pub fn custom_host(given: &[Header]) -> Option<&str> {
    let host = given.iter().find(|h| h.name == "Host")?;
    Some(host.value.as_str()).filter(|value| !value.is_empty())
}

/// The request head as Go's `Request.write` writes kubelet's request: Host, User-Agent, the
/// other headers sorted by name, then `Connection: close`. `first` is the URL given, `previous`
/// the URL that redirected here.
pub fn head(given: &[Header], first: &Url, hop: &Hop, previous: Option<&Url>) -> Vec<(String, String)> {
    let value = |name: &str| given.iter().find(|h| h.name == name).map(|h| h.value.as_str());
    let mut head = vec![("Host".to_owned(), host(hop))];
    match value("User-Agent") {
        None => head.push(("User-Agent".to_owned(), USER_AGENT.to_owned())),
        Some("") => {}
        Some(agent) => head.push(("User-Agent".to_owned(), agent.to_owned())),
    }
    // Credentials go only to the origin the user named: compared with the first URL, not the
    // previous hop, so `h:1 → h:2 → /b` sends none to h:2 on either hop, and none go in plain
    // text after a redirect from https.
    let same_origin = first.origin() == hop.url.origin();
    // Go sets the Referer on a redirect itself (`refererForURL`), over any given, but not
    // from https to http.
    let referer = previous.filter(|previous| !(previous.scheme() == "https" && hop.url.scheme() == "http"));
    let mut rest: Vec<(String, String)> = Vec::new();
    for header in given {
        let name = header.name.as_str();
        let skip = matches!(name, "Host" | "User-Agent" | "Content-Length" | "Transfer-Encoding" | "Trailer")
            || (name == "Accept" && value("Accept") == Some(""))
            || (!same_origin && is_credential(name))
            || (name == "Referer" && referer.is_some());
        if !skip {
            rest.push((name.to_owned(), header.value.clone()));
        }
    }
    if value("Accept").is_none() {
        rest.push(("Accept".to_owned(), "*/*".to_owned()));
    }
    if !rest.iter().any(|(name, _)| name == "Authorization")
        && let Some(basic) = basic_authorization(&hop.url)
    {
        rest.push(("Authorization".to_owned(), basic));
    }
    if let Some(previous) = referer {
        let mut referer = previous.clone();
        let _ = referer.set_username("");
        let _ = referer.set_password(None);
        rest.push(("Referer".to_owned(), referer.to_string()));
    }
    // Go writes the headers sorted by name, each name's values in the order given.
    rest.sort_by(|a, b| a.0.cmp(&b.0));
    // Kubelet's transport has keep-alives off: Go adds `Connection: close` last, unless a
    // Connection header given already says close.
    let closes = rest.iter().any(|(name, value)| {
        name == "Connection" && value.split(',').any(|token| token.trim().eq_ignore_ascii_case("close"))
    });
    head.extend(rest);
    if !closes {
        head.push(("Connection".to_owned(), "close".to_owned()));
    }
    head
}

/// The Host header: a custom one while it survives, else Go's `URL.Host`.
fn host(hop: &Hop) -> String {
    if let Some(custom) = &hop.host_header {
        return custom.clone();
    }
    if hop.go_host.is_ascii() {
        return hop.go_host.clone();
    }
    // Go sends a non-ASCII host in Punycode; the url crate has it so.
    let host = hop.url.host_str().unwrap_or_default();
    hop.url.port().map_or(host.to_owned(), |port| format!("{host}:{port}"))
}

/// Go's `send`: the URL's user and password as Basic authorization, the escapes decoded to the
/// bytes they stand for.
fn basic_authorization(url: &Url) -> Option<String> {
    if url.username().is_empty() && url.password().is_none() {
        return None;
    }
    let mut credentials = uri::decode_bytes(url.username()).unwrap_or_default();
    credentials.push(b':');
    credentials.extend(uri::decode_bytes(url.password().unwrap_or_default()).unwrap_or_default());
    Some(format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(credentials)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Result<Header, String> {
        read(&[text.to_owned()]).map(|mut all| all.remove(0)).map_err(|err| err.to_string())
    }

    #[test]
    fn headers_are_name_colon_value() {
        let header = one("x-probe:  yes ").unwrap();
        assert_eq!((header.name.as_str(), header.value.as_str()), ("X-Probe", "yes"));
        assert_eq!(one("Host: a:1").unwrap().value, "a:1");
        assert_eq!(one("user-agent:").unwrap().value, "");
        assert_eq!(one("WWW-AUTHENTICATE: x").unwrap().name, "Www-Authenticate");
        assert!(one("nocolon").unwrap_err().contains("'Name: value'"));
        let err = one("Bad Name: s3cret").unwrap_err();
        assert_eq!(err, "-H: a header name is made of letters, digits and !#$%&'*+-.^_`|~");
        assert!(one("X: a\u{1}b").unwrap_err().contains("a control character"));
    }

    #[test]
    fn credentials_are_told_by_their_names() {
        for name in ["Authorization", "proxy-authorization", "Cookie", "X-Api-Key", "X-Auth-Token", "X-Csrf-Token"]
        {
            assert!(is_credential(name), "{name}");
        }
        for name in ["Accept", "X-Probe", "Host", "Referer"] {
            assert!(!is_credential(name), "{name}");
        }
    }

    #[test]
    fn url_credentials_are_sent_as_the_bytes_they_escape() {
        let url = Url::parse("http://probe:hunter2@h/").unwrap();
        assert_eq!(basic_authorization(&url).as_deref(), Some("Basic cHJvYmU6aHVudGVyMg=="));
        let url = Url::parse("http://u:%FF@h/").unwrap();
        assert_eq!(basic_authorization(&url).as_deref(), Some("Basic dTr/"));
        assert_eq!(basic_authorization(&Url::parse("http://h/").unwrap()), None);
    }
}
