//! `probe http`: kubelet's httpGet probe (Kubernetes' `pkg/probe/http`, over Go's `net/http`
//! client), request for request: healthy on a final status of 200-399 (or the `--status` list);
//! 301/302/303/307/308 followed to the same host name only, stopping where Go stops; up to 10 KiB
//! of every body read within the deadline; no keep-alive, no compression, no proxy.

pub mod location;
pub mod wire;

use std::{
    io::{BufReader, Read},
    str::FromStr,
    sync::{Arc, OnceLock},
};

use base64::Engine as _;
use rustls::ClientConfig;
use url::Url;

use super::{Check, Target};
use crate::{
    deadline::Deadline,
    env::Env,
    net::{self, HostPort},
    outcome::Verdict,
    secret::redact_url,
    tls::{Tls, TlsArgs, has_scheme},
    trace::Trace,
};
use wire::{Connection, Failure, Framing};

/// Kubelet's `RedirectChecker` (and Go's `defaultCheckRedirect`) refuse the next hop once this
/// many requests have been made: at most 9 redirects are followed.
const MAX_REQUESTS: usize = 10;
/// Kubelet's `maxRespBodyLength`: how much of every body is read (and one byte more, as its
/// `ReadAtMost` reads).
const KUBELET_BODY: u64 = 10 << 10;
/// How much of a body a body check reads; a longer body is judged on this much.
const BODY_CAP: u64 = 1 << 20;
/// The statuses Go's `redirectBehavior` follows.
const FOLLOWED: [u16; 5] = [301, 302, 303, 307, 308];
/// Request headers Go's `shouldCopyHeaderOnRedirect` drops for another host name; probe sends
/// them only to the given URL's origin (scheme, host and port), on every hop.
const SENSITIVE: [&str; 4] = ["Authorization", "Www-Authenticate", "Cookie", "Cookie2"];
const USER_AGENT: &str = concat!("probe/", env!("CARGO_PKG_VERSION"));

#[derive(Debug, clap::Args)]
#[command(after_long_help = crate::docs::environment(&[("SSL_CERT_FILE", "a PEM file of trusted CAs for https:// when --cacert is not given, as curl and OpenSSL read it (proxy variables are ignored, as kubelet ignores them)")]))]
pub struct Args {
    /// http:// or https:// URL. Several are checked at once.
    #[arg(value_name = "URL", required = true)]
    targets: Vec<String>,

    /// Request method.
    #[arg(long, value_enum, ignore_case = true, default_value_t = Method::Get)]
    method: Method,

    /// Request header, 'Name: value'; repeatable. 'Name:' with no value removes a default one
    /// (User-Agent, Accept); a Host header given here is the one sent.
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE")]
    headers: Vec<Header>,

    /// Healthy status codes instead of 200-399, e.g. 200 or 200-299,304.
    #[arg(long, value_name = "LIST")]
    status: Option<StatusSet>,

    /// Healthy only if the body contains TEXT (the first 1 MiB of it is read).
    #[arg(long, value_name = "TEXT")]
    body_contains: Option<String>,

    /// Healthy only if the body matches the regular expression RE.
    #[arg(long, value_name = "RE")]
    body_regex: Option<regex_lite::Regex>,

    #[command(flatten)]
    tls: TlsArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Method {
    Get,
    Head,
}

impl Method {
    fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
        }
    }
}

impl Args {
    pub fn targets(self, env: &dyn Env) -> anyhow::Result<Vec<Target>> {
        let https = self.targets.iter().any(|url| has_scheme(url, "https"));
        let tls = TlsSource {
            args: TlsArgs {
                cacert: self.tls.cacert.clone(),
                cert: self.tls.cert.clone(),
                key: self.tls.key.clone(),
                insecure: self.tls.insecure,
            },
            ssl_cert_file: env.var("SSL_CERT_FILE"),
            built: OnceLock::new(),
        };
        // Reads and checks the files now, so that a bad one is a usage error before any I/O. A
        // plain-http run builds the TLS settings only if a redirect leads to https.
        Tls::load(&self.tls, env, https)?;
        if https || self.tls.cert.is_some() {
            tls.config().map_err(|why| anyhow::anyhow!(why))?;
        }
        let body = match (self.body_contains, self.body_regex) {
            (None, None) => None,
            _ if self.method == Method::Head => {
                anyhow::bail!("--body-contains and --body-regex need a body, and a HEAD answer has none")
            }
            (contains, regex) => Some(BodyCheck { contains, regex }),
        };
        let shared = Arc::new(Shared {
            method: self.method,
            headers: self.headers,
            status: self.status.unwrap_or_default(),
            body,
            tls,
        });
        self.targets
            .iter()
            .map(|text| {
                let first = parse_url(text)?;
                let check = Http { first, shared: Arc::clone(&shared) };
                Ok(Target { label: redact_url(text), check: Arc::new(check) })
            })
            .collect()
    }
}

/// Settings every target of one run shares.
struct Shared {
    method: Method,
    headers: Vec<Header>,
    status: StatusSet,
    body: Option<BodyCheck>,
    tls: TlsSource,
}

struct BodyCheck {
    contains: Option<String>,
    regex: Option<regex_lite::Regex>,
}

/// The TLS settings, and the rustls configuration built from them once, when first needed.
struct TlsSource {
    args: TlsArgs,
    /// SSL_CERT_FILE as the run started, read (with the other files) only for TLS.
    ssl_cert_file: Option<String>,
    built: OnceLock<Result<Arc<ClientConfig>, String>>,
}

impl TlsSource {
    fn config(&self) -> Result<Arc<ClientConfig>, String> {
        self.built
            .get_or_init(|| {
                let env = SslCertFile(self.ssl_cert_file.clone());
                let tls = Tls::load(&self.args, &env, true).map_err(|err| err.to_string())?;
                tls.for_rustls().map(Arc::new).map_err(|err| err.to_string())
            })
            .clone()
    }
}

/// The one variable TLS settings read, kept from the run's environment.
struct SslCertFile(Option<String>);

impl Env for SslCertFile {
    fn var(&self, name: &str) -> Option<String> {
        (name == "SSL_CERT_FILE").then(|| self.0.clone()).flatten()
    }
}

/// One request's URL: the `url` crate's, and Go's `URL.Host` of it (case and port kept as
/// written), which the same-host rule and the Host header go by.
#[derive(Clone, Debug)]
struct Hop {
    url: Url,
    go_host: String,
    /// A `Host` header that differs from the URL's, while it survives (Go's `Request.Host`).
    host_header: Option<String>,
}

struct Http {
    first: Hop,
    shared: Arc<Shared>,
}

/// Parses an http(s) URL as given on the command line.
fn parse_url(text: &str) -> anyhow::Result<Hop> {
    let shown = redact_url(text);
    if !text.contains("://") {
        anyhow::bail!("'{shown}': the URL must start with http:// or https://");
    }
    let go = location::parse(text).map_err(|_| anyhow::anyhow!("'{shown}' is not a URL"))?;
    if !matches!(go.scheme.as_deref(), Some("http" | "https")) {
        anyhow::bail!("'{shown}': the URL must start with http:// or https://");
    }
    let go_host = go.host.unwrap_or_default();
    if location::hostname(&go_host).is_empty() {
        anyhow::bail!("'{shown}' is not a URL: it has no host");
    }
    if go_host.ends_with(':') || go_host.rsplit_once(':').is_some_and(|(_, port)| port == "0") {
        anyhow::bail!("'{shown}': the URL's port is not a port (1 to 65535)");
    }
    let url = Url::parse(text).map_err(|why| anyhow::anyhow!("'{shown}' is not a URL: {why}"))?;
    for part in [url.username(), url.password().unwrap_or_default()] {
        net::percent_decode(part).map_err(|why| anyhow::anyhow!("'{shown}': {why}"))?;
    }
    Ok(Hop { url, go_host, host_header: None })
}

impl Check for Http {
    fn attempt(&self, deadline: Deadline, trace: &Trace) -> Verdict {
        let first = &self.first;
        let mut hop = Hop { host_header: self.custom_host().map(str::to_owned), ..first.clone() };
        if hop.host_header.as_deref() == Some(hop.go_host.as_str()) {
            hop.host_header = None;
        }
        let mut previous: Option<Url> = None;
        let mut requests = 0;
        loop {
            requests += 1;
            let headers = self.headers(&hop, previous.as_ref());
            let mut exchange = match self.exchange(&hop, &headers, deadline, trace) {
                Ok(exchange) => exchange,
                Err(why) => return Verdict::unreachable(why),
            };
            let status = exchange.head.status;
            let seen = seen(status, requests - 1);
            // Go's readTransfer refuses bad framing as it reads the head: no answer at all,
            // whatever its status, a redirect's included.
            let framing = match exchange.head.framing(self.shared.method.as_str()) {
                Ok(framing) => framing,
                Err(why) => {
                    return Verdict::unreachable(format!("{seen}, but the answer is not HTTP: {why}"));
                }
            };
            let location = exchange.head.location.clone().filter(|l| !l.is_empty());
            let Some(location) = location.filter(|_| FOLLOWED.contains(&status)) else {
                return self.judge(&mut exchange, framing, seen, trace);
            };
            // Go's Client.do, step by step: `req.URL.Parse(loc)` (an error fails the probe), then
            // kubelet's CheckRedirect (another host name: the 3xx is the answer; then the
            // 10-request limit), then the transport (the scheme, then the address).
            let shown = redact_url(&location);
            let go = match location::parse(&location) {
                Ok(go) => go,
                Err(why) => {
                    return Verdict::unhealthy(format!(
                        "{seen}, but its Location {shown:?} is not a URL: {why}"
                    ));
                }
            };
            let go_host = go.host.clone().unwrap_or_else(|| hop.go_host.clone());
            if location::hostname(&go_host) != location::hostname(&first.go_host) {
                let seen = format!("{seen}, to {shown}, another host: not followed");
                return self.judge(&mut exchange, framing, seen, trace);
            }
            let next = hop.url.join(&location);
            if requests >= MAX_REQUESTS {
                let last = next.as_ref().map_or(shown, |next| redact_url(next.as_str()));
                return Verdict::unhealthy(format!(
                    "{seen}, stopped after {MAX_REQUESTS} redirects, the last to {last}"
                ));
            }
            let scheme = go.scheme.clone().unwrap_or_else(|| hop.url.scheme().to_owned());
            if !matches!(scheme.as_str(), "http" | "https") {
                return Verdict::unhealthy(format!(
                    "{seen}, to {shown}: not followed, {scheme:?} is not http or https"
                ));
            }
            // What Go parses and the url crate cannot (a port above 65535): Go's dial fails.
            let next = match next {
                Ok(next) => next,
                Err(why) => {
                    return Verdict::unhealthy(format!("{seen}, to {shown}: cannot be followed: {why}"));
                }
            };
            // Go reads up to 2 KiB of the redirect's body before the next request, errors
            // ignored; a body that stalls there uses up the deadline.
            let slurp = framing.redirect_slurp();
            if slurp > 0 {
                trace.enter("body");
                let body = wire::Body::new(&mut exchange.reader, framing);
                let _ = std::io::copy(&mut body.take(slurp), &mut std::io::sink());
            }
            // Go keeps a custom Host on a redirect whose Location has no scheme (issue 22233).
            let host_header = hop.host_header.take().filter(|_| !go.is_absolute());
            previous = Some(std::mem::replace(&mut hop.url, next));
            hop = Hop { go_host, host_header, ..hop };
        }
    }
}

/// A response in hand: the head read, the rest of the connection left to read the body from.
struct Exchange {
    head: wire::Head,
    reader: BufReader<Connection>,
}

impl Http {
    /// The first `-H Host:` value, if not empty: Go's `Request.Host` (an empty one means the URL's).
    fn custom_host(&self) -> Option<&str> {
        let host = self.shared.headers.iter().find(|h| h.name == "Host")?;
        Some(host.value.as_str()).filter(|value| !value.is_empty())
    }

    /// The request head as Go's `Request.write` writes kubelet's request: Host, User-Agent,
    /// `Connection: close`, then the other headers by name. `previous` is the URL that
    /// redirected here.
    fn headers(&self, hop: &Hop, previous: Option<&Url>) -> Vec<(String, String)> {
        let host = hop.host_header.clone().unwrap_or_else(|| {
            if hop.go_host.is_ascii() {
                hop.go_host.clone()
            } else {
                // Go sends a non-ASCII host in Punycode; the url crate has it so.
                let host = hop.url.host_str().unwrap_or_default();
                hop.url.port().map_or(host.to_owned(), |port| format!("{host}:{port}"))
            }
        });
        let mut head = vec![("Host".to_owned(), host)];
        let given =
            |name: &str| self.shared.headers.iter().find(|h| h.name == name).map(|h| h.value.as_str());
        match given("User-Agent") {
            None => head.push(("User-Agent".to_owned(), USER_AGENT.to_owned())),
            Some("") => {}
            Some(value) => head.push(("User-Agent".to_owned(), value.to_owned())),
        }
        let mut rest: Vec<(String, String)> = Vec::new();
        // Credentials go only to the origin the user named: compared with the first URL, not the
        // previous hop, so `h:1 → h:2 → /b` sends none to h:2 on either hop.
        let same_origin = self.first.url.origin() == hop.url.origin();
        // Go sets the Referer on a redirect itself (`refererForURL`), over any given, but not
        // from https to http.
        let referer =
            previous.filter(|previous| !(previous.scheme() == "https" && hop.url.scheme() == "http"));
        for header in &self.shared.headers {
            let name = header.name.as_str();
            let skip =
                matches!(name, "Host" | "User-Agent" | "Content-Length" | "Transfer-Encoding" | "Trailer")
                    || (name == "Accept" && given("Accept") == Some(""))
                    || (!same_origin && SENSITIVE.contains(&name))
                    || (name == "Referer" && referer.is_some());
            if !skip {
                rest.push((name.to_owned(), header.value.clone()));
            }
        }
        if given("Accept").is_none() {
            rest.push(("Accept".to_owned(), "*/*".to_owned()));
        }
        // Go's `send`: the URL's user and password, unless an Authorization header is sent.
        let username = net::percent_decode(hop.url.username()).unwrap_or_default();
        let password = hop.url.password().map(|p| net::percent_decode(p).unwrap_or_default());
        if (!username.is_empty() || password.is_some())
            && !rest.iter().any(|(name, _)| name == "Authorization")
        {
            let credentials = format!("{username}:{}", password.unwrap_or_default());
            let encoded = base64::engine::general_purpose::STANDARD.encode(credentials);
            rest.push(("Authorization".to_owned(), format!("Basic {encoded}")));
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

    /// Connects (resolving the name the way every check does), sends the request and reads the
    /// answer's head.
    fn exchange(
        &self,
        hop: &Hop,
        headers: &[(String, String)],
        deadline: Deadline,
        trace: &Trace,
    ) -> Result<Exchange, String> {
        let url = &hop.url;
        let host = match url.host() {
            Some(url::Host::Ipv6(ip)) => ip.to_string(),
            Some(host) => host.to_string(),
            None => return Err(format!("{} has no host", redact_url(url.as_str()))),
        };
        let port = url.port_or_known_default().unwrap_or(80);
        trace.enter("resolve");
        let addrs = net::resolve(&HostPort { host: host.clone(), port })?;
        trace.enter("connect");
        let tcp = net::connect(&addrs, deadline)?;
        let conn = if url.scheme() == "https" {
            trace.enter("tls");
            Connection::tls(tcp, self.shared.tls.config()?, &host, deadline)?
        } else {
            Connection::plain(tcp, deadline)
        };
        trace.enter("request");
        let mut reader = BufReader::with_capacity(8 * 1024, conn);
        let target = match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_owned(),
        };
        let method = self.shared.method.as_str();
        wire::send(reader.get_mut(), method, &target, headers).map_err(|err| wire::describe(&err))?;
        match wire::read_head(&mut reader) {
            Ok(head) => Ok(Exchange { head, reader }),
            Err(Failure::Io(err)) => Err(wire::describe(&err)),
            Err(Failure::NotHttp(why)) if why.is_empty() => Err("the answer is not HTTP".to_owned()),
            Err(Failure::NotHttp(why)) => Err(format!("the answer is not HTTP: {why}")),
            Err(Failure::SpeaksTls) => {
                Err("the answer is TLS, not HTTP: the port speaks TLS (use https://)".to_owned())
            }
            Err(Failure::TooLarge) => {
                Err(format!("the answer's headers are larger than {} MiB", wire::HEADER_CAP >> 20))
            }
            Err(Failure::Nothing) => Err("the server closed the connection without answering".to_owned()),
        }
    }

    /// The verdict on the final answer: its status, then (as kubelet does for every answer) up
    /// to 10 KiB of its body, or the body check's share of it.
    fn judge(&self, exchange: &mut Exchange, framing: Framing, seen: String, trace: &Trace) -> Verdict {
        if !self.shared.status.contains(exchange.head.status) {
            return Verdict::unhealthy(seen);
        }
        // Kubelet's ReadAtMost stops at 10 KiB: what comes after (a cut, a stall) is never seen.
        // A body check reads one byte past its cap, to say when the body was longer.
        let (cap, read) = match self.shared.body {
            Some(_) => (BODY_CAP, BODY_CAP + 1),
            None => (KUBELET_BODY, KUBELET_BODY),
        };
        let mut body = Vec::new();
        if framing != Framing::Empty {
            trace.enter("body");
            let reader = wire::Body::new(&mut exchange.reader, framing);
            if let Err(err) = reader.take(read).read_to_end(&mut body) {
                return Verdict::unreachable(format!(
                    "{seen}, but reading the body failed: {}",
                    wire::describe(&err)
                ));
            }
        }
        let Some(check) = &self.shared.body else { return Verdict::healthy(seen) };
        let whole = body.len() as u64 <= cap;
        body.truncate(usize::try_from(cap).unwrap_or(usize::MAX));
        let body = String::from_utf8_lossy(&body);
        let what =
            if whole { "the body".to_owned() } else { format!("the first {} MiB of the body", cap >> 20) };
        if let Some(text) = &check.contains
            && !body.contains(text.as_str())
        {
            return Verdict::unhealthy(format!("{seen}, but {what} does not contain {}", quote(text)));
        }
        if let Some(regex) = &check.regex
            && !regex.is_match(&body)
        {
            return Verdict::unhealthy(format!(
                "{seen}, but {what} does not match {}",
                quote(regex.as_str())
            ));
        }
        Verdict::healthy(format!("{seen}, body matches"))
    }
}

/// `HTTP 200 OK`, `HTTP 600`, with the redirects followed to get there.
fn seen(status: u16, redirects: usize) -> String {
    let mut seen = format!("HTTP {status:03} {}", wire::reason(status));
    seen.truncate(seen.trim_end().len());
    if redirects > 0 {
        seen.push_str(&format!(" after {redirects} redirect{}", if redirects == 1 { "" } else { "s" }));
    }
    seen
}

fn quote(text: &str) -> String {
    const SHOWN: usize = 60;
    match text.char_indices().nth(SHOWN) {
        Some((cut, _)) => format!("{:?}…", &text[..cut]),
        None => format!("{text:?}"),
    }
}

/// Healthy status codes: single codes and ranges, e.g. `200-299,304`. Kubelet's 200-399 by default.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusSet(Vec<(u16, u16)>);

impl Default for StatusSet {
    fn default() -> Self {
        StatusSet(vec![(200, 399)])
    }
}

impl StatusSet {
    fn contains(&self, code: u16) -> bool {
        self.0.iter().any(|&(low, high)| (low..=high).contains(&code))
    }
}

impl FromStr for StatusSet {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let code = |part: &str| match part.trim().parse::<u16>() {
            Ok(code @ 100..=599) => Ok(code),
            _ => Err(format!("'{}' is not an HTTP status code (100 to 599)", part.trim())),
        };
        text.split(',')
            .map(|item| match item.split_once('-') {
                Some((low, high)) => {
                    let (low, high) = (code(low)?, code(high)?);
                    if low > high {
                        return Err(format!("'{}' is an empty range", item.trim()));
                    }
                    Ok((low, high))
                }
                None => code(item).map(|code| (code, code)),
            })
            .collect::<Result<_, _>>()
            .map(StatusSet)
    }
}

/// A request header from `-H 'Name: value'`, its name in Go's canonical form (`X-Probe`), as
/// kubelet's `http.Header.Add` stores it.
#[derive(Clone, Debug)]
pub struct Header {
    name: String,
    value: String,
}

impl FromStr for Header {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let (name, value) = text.split_once(':').ok_or("write a header as 'Name: value'")?;
        let name = name.trim();
        if name.is_empty() || !name.bytes().all(wire::is_token) {
            return Err(format!("'{name}' is not a header name"));
        }
        let value = value.trim_matches([' ', '\t']);
        if value.bytes().any(|b| b != b'\t' && (b < b' ' || b == 0x7f)) {
            return Err(format!("the value of '{name}' has characters a header cannot carry"));
        }
        Ok(Header { name: canonical(name), value: value.to_owned() })
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_lists_and_ranges() {
        let set: StatusSet = "200-299, 304".parse().unwrap();
        assert!(set.contains(200) && set.contains(299) && set.contains(304));
        assert!(!set.contains(300) && !set.contains(199));
        assert!(StatusSet::default().contains(399) && !StatusSet::default().contains(400));
        for (bad, why) in
            [("", "''"), ("20x", "'20x'"), ("600", "'600'"), ("300-200", "empty range"), ("200,", "''")]
        {
            let err = bad.parse::<StatusSet>().unwrap_err();
            assert!(err.contains(why), "{bad}: {err}");
        }
    }

    #[test]
    fn headers_are_name_colon_value() {
        let header: Header = "x-probe:  yes ".parse().unwrap();
        assert_eq!((header.name.as_str(), header.value.as_str()), ("X-Probe", "yes"));
        assert_eq!("Host: a:1".parse::<Header>().unwrap().value, "a:1");
        assert_eq!("user-agent:".parse::<Header>().unwrap().value, "");
        assert_eq!("WWW-AUTHENTICATE: x".parse::<Header>().unwrap().name, "Www-Authenticate");
        assert!("nocolon".parse::<Header>().unwrap_err().contains("'Name: value'"));
        assert!("Bad Name: x".parse::<Header>().unwrap_err().contains("not a header name"));
        assert!("X: a\u{1}b".parse::<Header>().unwrap_err().contains("cannot carry"));
    }

    #[test]
    fn urls_parse_or_say_why() {
        let hop = parse_url("http://user:p%40ss@Host:8080/health?x=1").unwrap();
        assert_eq!(hop.go_host, "Host:8080");
        assert_eq!(hop.url.as_str(), "http://user:p%40ss@host:8080/health?x=1");
        for (bad, why) in [
            ("host:80", "http:// or https://"),
            ("ftp://h/", "http:// or https://"),
            ("http://", "no host"),
            ("http://h:0/", "not a port"),
            ("http://h:/", "not a port"),
            ("http://a b/", "not a URL"),
            // Go's parseAuthority refuses the escape; the password is not quoted.
            ("http://u:%zz@h/", "'http://u:***@h/' is not a URL"),
        ] {
            let err = parse_url(bad).unwrap_err().to_string();
            assert!(err.contains(why), "{bad}: {err}");
        }
        assert!(!parse_url("http://u:hunter2@/").unwrap_err().to_string().contains("hunter2"));
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn status_lists_headers_and_urls_parse_or_say_why(text in any::<String>()) {
            for why in [
                text.parse::<StatusSet>().err(),
                text.parse::<Header>().err(),
                parse_url(&text).err().map(|e| e.to_string()),
            ].into_iter().flatten() {
                prop_assert!(!why.is_empty() && !why.contains('\n'));
            }
        }

        #[test]
        fn a_url_password_never_reaches_an_error(password in "[A-Za-z0-9]{12,20}", rest in "[ -~]{0,20}") {
            if let Err(why) = parse_url(&format!("http://user:{password}@{rest}")) {
                prop_assert!(!why.to_string().contains(&password), "{}", why);
            }
        }

        #[test]
        fn single_codes_and_ranges_are_members(low in 100u16..600, span in 0u16..100) {
            let high = (low + span).min(599);
            let set: StatusSet = format!("{low}-{high}").parse().unwrap();
            prop_assert!(set.contains(low) && set.contains(high));
            prop_assert!(!set.contains(low - 1) && !set.contains(high + 1));
        }

        #[test]
        fn any_location_resolves_or_says_why(location in any::<String>()) {
            let base = parse_url("http://h:1/a/b?q").unwrap();
            let _ = location::parse(&location);
            let _ = base.url.join(&location);
        }
    }
}
