//! `probe http`: kubelet's httpGet semantics. Healthy on a final status of 200-399 (or the
//! `--status` list); redirects followed only to the same host, at most 10; no keep-alive, no
//! compression, no proxy; the body read only for a body check, and then only up to a cap.

use std::{io::Read, str::FromStr, sync::Arc};

use base64::Engine as _;
use ureq::{
    Agent,
    http::{HeaderName, HeaderValue, Response, Uri, uri::Scheme},
    unversioned::{
        resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver},
        transport::{ConnectionDetails, Connector, NextTimeout, RustlsConnector, TcpConnector, Transport},
    },
};

use super::{Check, Target};
use crate::{
    deadline::Deadline,
    env::Env,
    net,
    outcome::Verdict,
    secret::redact_url,
    tls::{self, Tls, TlsArgs, has_scheme},
    trace::Trace,
};

/// Kubelet's (and Go's) limit.
const MAX_REDIRECTS: usize = 10;
/// The largest answer head (status line and headers) accepted.
const HEADER_CAP: usize = 32 * 1024;
/// How much of a body a body check reads; a longer body is judged on this much.
const BODY_CAP: u64 = 1 << 20;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// http:// or https:// URL. Several are checked at once.
    #[arg(value_name = "URL", required = true)]
    targets: Vec<String>,

    /// Request method.
    #[arg(long, value_enum, ignore_case = true, default_value_t = Method::Get)]
    method: Method,

    /// Extra request header, 'Name: value'; repeatable. A Host header given here is the one sent.
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE")]
    headers: Vec<Header>,

    /// Healthy status codes instead of 200-399, e.g. 200 or 200-299,304.
    #[arg(long, value_name = "LIST")]
    status: Option<StatusSet>,

    /// Healthy only if the body contains TEXT (only then is the body read, up to a cap).
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

impl Args {
    pub fn targets(self, env: &dyn Env) -> anyhow::Result<Vec<Target>> {
        let tls = Tls::load(&self.tls, env, self.targets.iter().any(|url| has_scheme(url, "https")))?;
        let tls = tls.for_ureq()?;
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
                let (url, authorization) = parse_url(text)?;
                let check = Http { url, authorization, shared: Arc::clone(&shared) };
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
    tls: ureq::tls::TlsConfig,
}

struct BodyCheck {
    contains: Option<String>,
    regex: Option<regex_lite::Regex>,
}

struct Http {
    /// Without its `user:password@`, which travels as an Authorization header instead.
    url: Uri,
    authorization: Option<HeaderValue>,
    shared: Arc<Shared>,
}

/// Parses an http(s) URL and turns its `user:password@`, if any, into Basic authorization.
fn parse_url(text: &str) -> anyhow::Result<(Uri, Option<HeaderValue>)> {
    let shown = redact_url(text);
    if !text.contains("://") {
        anyhow::bail!("'{shown}': the URL must start with http:// or https://");
    }
    let uri: Uri = text.parse().map_err(|_| anyhow::anyhow!("'{shown}' is not a URL"))?;
    if !matches!(uri.scheme_str(), Some("http" | "https")) {
        anyhow::bail!("'{shown}': the URL must start with http:// or https://");
    }
    let authority = uri.authority().map(|a| a.as_str()).unwrap_or_default();
    let (userinfo, host_port) = match authority.rsplit_once('@') {
        Some((userinfo, host_port)) => (Some(userinfo), host_port),
        None => (None, authority),
    };
    if uri.host().is_none_or(str::is_empty) {
        anyhow::bail!("'{shown}': the URL has no host");
    }
    if host_port.ends_with(':') || uri.port().is_some_and(|port| port.as_u16() == 0) {
        anyhow::bail!("'{shown}': the URL's port is not a port (1 to 65535)");
    }
    let Some(userinfo) = userinfo else { return Ok((uri, None)) };
    let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
    let decode = |part| net::percent_decode(part).map_err(|why| anyhow::anyhow!("'{shown}': {why}"));
    let credentials = format!("{}:{}", decode(user)?, decode(password)?);
    let encoded = base64::engine::general_purpose::STANDARD.encode(credentials);
    let authorization = HeaderValue::from_str(&format!("Basic {encoded}"))?;
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let bare = format!("{}://{host_port}{path}", uri.scheme_str().unwrap_or("http"));
    let uri = bare.parse().map_err(|_| anyhow::anyhow!("'{shown}' is not a URL"))?;
    Ok((uri, Some(authorization)))
}

impl Check for Http {
    fn attempt(&self, deadline: Deadline, trace: &Trace) -> Verdict {
        let agent = self.agent(trace);
        let mut url = self.url.clone();
        let mut redirects = 0;
        loop {
            let response = match self.send(&agent, &url, deadline) {
                Ok(response) => response,
                Err(err) => return Verdict::unreachable(describe(&err, &url)),
            };
            let status = response.status();
            let next = status.is_redirection().then(|| location(&url, &response)).flatten();
            match next {
                Some(next) if same_host(&next, &url) => {
                    if redirects == MAX_REDIRECTS {
                        let last = redact_url(&next.to_string());
                        return Verdict::unhealthy(format!(
                            "more than {MAX_REDIRECTS} redirects, last to {last}"
                        ));
                    }
                    redirects += 1;
                    url = next;
                }
                Some(elsewhere) => {
                    let why =
                        format!("to {}, another host: not followed", redact_url(&elsewhere.to_string()));
                    return self.judge(response, redirects, Some(why), trace);
                }
                None => return self.judge(response, redirects, None, trace),
            }
        }
    }
}

impl Http {
    /// An agent for one attempt, whose resolver and connectors mark the phases in `trace`.
    /// Each request's timeout is the time left then (see `send`), redirects included.
    fn agent(&self, trace: &Trace) -> Agent {
        let config = Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .max_idle_connections(0)
            .proxy(None)
            .user_agent(concat!("probe/", env!("CARGO_PKG_VERSION")))
            // ureq zeroes 128 KiB buffers each way by default, a third of a probe's instructions;
            // a health check's request is small, and 32 KiB of answer headers is plenty. The input
            // buffer must be larger than the header cap, or ureq reads a full buffer as the end.
            .input_buffer_size(2 * HEADER_CAP)
            .max_response_header_size(HEADER_CAP)
            .output_buffer_size(16 * 1024)
            .tls_config(self.shared.tls.clone())
            .build();
        let connector =
            ().chain(Mark { trace: trace.clone(), phase: "connect", only_https: false })
                .chain(TcpConnector::default())
                .chain(Mark { trace: trace.clone(), phase: "tls", only_https: true })
                .chain(RustlsConnector::default())
                .chain(Mark { trace: trace.clone(), phase: "request", only_https: false });
        let resolver = MarkResolve { trace: trace.clone(), inner: DefaultResolver::default() };
        Agent::with_parts(config, connector, resolver)
    }

    fn send(
        &self,
        agent: &Agent,
        url: &Uri,
        deadline: Deadline,
    ) -> Result<Response<ureq::Body>, ureq::Error> {
        let mut request = match self.shared.method {
            Method::Get => agent.get(url),
            Method::Head => agent.head(url),
        };
        // kubelet sends `Connection: close` too (keep-alives disabled): a probe leaves nothing open.
        request = request.header("connection", "close");
        if let Some(authorization) = &self.authorization {
            request = request.header("authorization", authorization.clone());
        }
        for header in &self.shared.headers {
            request = request.header(header.name.clone(), header.value.clone());
        }
        request.config().timeout_global(Some(deadline.socket_timeout())).build().call()
    }

    fn judge(
        &self,
        mut response: Response<ureq::Body>,
        redirects: usize,
        not_followed: Option<String>,
        trace: &Trace,
    ) -> Verdict {
        let status = response.status();
        let mut seen = format!("HTTP {} {}", status.as_u16(), status.canonical_reason().unwrap_or(""));
        seen.truncate(seen.trim_end().len());
        if redirects > 0 {
            seen.push_str(&format!(" after {redirects} redirect{}", if redirects == 1 { "" } else { "s" }));
        }
        if let Some(why) = not_followed {
            seen.push_str(&format!(", {why}"));
        }
        if !self.shared.status.contains(status.as_u16()) {
            return Verdict::unhealthy(seen);
        }
        let Some(body_check) = &self.shared.body else { return Verdict::healthy(seen) };
        trace.enter("body");
        let mut body = Vec::new();
        let reader = response.body_mut().as_reader();
        if let Err(err) = reader.take(BODY_CAP).read_to_end(&mut body) {
            return Verdict::unreachable(format!(
                "{seen}, but reading the body failed: {}",
                net::describe(&err)
            ));
        }
        let body = String::from_utf8_lossy(&body);
        if let Some(text) = &body_check.contains
            && !body.contains(text.as_str())
        {
            return Verdict::unhealthy(format!("{seen}, but the body does not contain {}", quote(text)));
        }
        if let Some(regex) = &body_check.regex
            && !regex.is_match(&body)
        {
            return Verdict::unhealthy(format!(
                "{seen}, but the body does not match {}",
                quote(regex.as_str())
            ));
        }
        Verdict::healthy(format!("{seen}, body matches"))
    }
}

/// The redirect target, resolved against the URL that answered.
fn location(base: &Uri, response: &Response<ureq::Body>) -> Option<Uri> {
    let location = response.headers().get("location")?.to_str().ok()?.trim();
    let scheme = base.scheme_str().unwrap_or("http");
    let authority = base.authority()?.as_str();
    let absolute = if location.starts_with("http://") || location.starts_with("https://") {
        location.to_owned()
    } else if let Some(rest) = location.strip_prefix("//") {
        format!("{scheme}://{rest}")
    } else if location.starts_with('/') {
        format!("{scheme}://{authority}{location}")
    } else {
        let path = base.path();
        let directory = &path[..path.rfind('/').map_or(0, |i| i + 1)];
        format!("{scheme}://{authority}{directory}{location}")
    };
    absolute.parse().ok()
}

/// kubelet follows a redirect only when the host name stays the same (port and scheme may change).
fn same_host(next: &Uri, current: &Uri) -> bool {
    matches!((next.host(), current.host()), (Some(a), Some(b)) if a.eq_ignore_ascii_case(b))
}

fn quote(text: &str) -> String {
    const SHOWN: usize = 60;
    match text.char_indices().nth(SHOWN) {
        Some((cut, _)) => format!("{:?}…", &text[..cut]),
        None => format!("{text:?}"),
    }
}

fn describe(err: &ureq::Error, url: &Uri) -> String {
    match err {
        ureq::Error::Io(io) => {
            // rustls reports a failed handshake as an I/O error wrapping its own.
            match io.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>()) {
                Some(tls_error) => tls::describe(tls_error),
                None => net::describe(io),
            }
        }
        ureq::Error::Rustls(tls_error) => tls::describe(tls_error),
        ureq::Error::HostNotFound => format!("cannot resolve {}", url.host().unwrap_or_default()),
        ureq::Error::Timeout(_) => "timed out".to_owned(),
        ureq::Error::Protocol(_) => "the answer is not HTTP".to_owned(),
        ureq::Error::LargeResponseHeader(_, limit) => {
            format!("the answer's headers are larger than {limit} bytes")
        }
        ureq::Error::ConnectionFailed => "connection failed".to_owned(),
        other => other.to_string(),
    }
}

/// Marks a phase in the trace as the connection is being built (ureq's connector chain).
#[derive(Debug)]
struct Mark {
    trace: Trace,
    phase: &'static str,
    only_https: bool,
}

impl<In: Transport> Connector<In> for Mark {
    type Out = In;

    fn connect(&self, details: &ConnectionDetails, chained: Option<In>) -> Result<Option<In>, ureq::Error> {
        if !self.only_https || details.uri.scheme() == Some(&Scheme::HTTPS) {
            self.trace.enter(self.phase);
        }
        Ok(chained)
    }
}

#[derive(Debug)]
struct MarkResolve {
    trace: Trace,
    inner: DefaultResolver,
}

impl Resolver for MarkResolve {
    fn resolve(
        &self,
        uri: &Uri,
        config: &ureq::config::Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        self.trace.enter("resolve");
        self.inner.resolve(uri, config, timeout)
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

/// A request header from `-H 'Name: value'`.
#[derive(Clone, Debug)]
pub struct Header {
    name: HeaderName,
    value: HeaderValue,
}

impl FromStr for Header {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let (name, value) = text.split_once(':').ok_or("write a header as 'Name: value'")?;
        let name = HeaderName::from_bytes(name.trim().as_bytes())
            .map_err(|_| format!("'{}' is not a header name", name.trim()))?;
        let value = HeaderValue::from_str(value.trim())
            .map_err(|_| format!("the value of '{name}' has characters a header cannot carry"))?;
        Ok(Header { name, value })
    }
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
        let header: Header = "X-Probe:  yes ".parse().unwrap();
        assert_eq!((header.name.as_str(), header.value.to_str().unwrap()), ("x-probe", "yes"));
        assert!("Host: a:1".parse::<Header>().unwrap().value == "a:1");
        assert!("nocolon".parse::<Header>().unwrap_err().contains("'Name: value'"));
        assert!("Bad Name: x".parse::<Header>().unwrap_err().contains("not a header name"));
        assert!("X: a\u{1}b".parse::<Header>().unwrap_err().contains("cannot carry"));
    }

    #[test]
    fn url_credentials_become_basic_authorization() {
        let (uri, auth) = parse_url("http://user:p%40ss@host:8080/health?x=1").unwrap();
        assert_eq!(uri.to_string(), "http://host:8080/health?x=1");
        assert_eq!(auth.unwrap(), "Basic dXNlcjpwQHNz"); // user:p@ss
        for (bad, why) in [
            ("host:80", "http:// or https://"),
            ("ftp://h/", "http:// or https://"),
            ("http://", "not a URL"),
            ("http://h:0/", "not a port"),
            ("http://h:/", "not a port"),
            ("http://a b/", "not a URL"),
        ] {
            let err = parse_url(bad).unwrap_err().to_string();
            assert!(err.contains(why), "{bad}: {err}");
        }
        assert!(!parse_url("http://u:hunter2@/").unwrap_err().to_string().contains("hunter2"));
    }

    #[test]
    fn redirects_resolve_against_the_answering_url() {
        let base: Uri = "http://h:1/a/b?q".parse().unwrap();
        let resolve = |location: &str| {
            let response = Response::builder()
                .header("location", location)
                .body(ureq::Body::builder().data(""))
                .unwrap();
            location_of(&base, &response)
        };
        assert_eq!(resolve("/ok"), "http://h:1/ok");
        assert_eq!(resolve("c"), "http://h:1/a/c");
        assert_eq!(resolve("//other/x"), "http://other/x");
        assert_eq!(resolve("https://h:2/y"), "https://h:2/y");
    }

    fn location_of(base: &Uri, response: &Response<ureq::Body>) -> String {
        location(base, response).unwrap().to_string()
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
    }
}
