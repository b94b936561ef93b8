//! `probe http`: kubelet's httpGet probe (Kubernetes' `pkg/probe/http`, over Go's `net/http`
//! client), request for request: healthy on a final status of 200-399 (or the `--status` list);
//! 301/302/303/307/308 followed to the same host name only, stopping where Go stops; up to 10 KiB
//! of every body read within the deadline; no keep-alive, no compression, no proxy. This file
//! holds the options and the hops; the URL is read in `target`, the request written in
//! `request`, the answer read in `wire`.

#[cfg(any(test, fuzzing))]
pub mod fuzz;
pub mod location;
mod request;
pub mod status;
pub mod target;
pub mod wire;

use std::{
    io::{BufReader, Read},
    sync::{Arc, OnceLock},
};

use rustls::ClientConfig;
use url::Url;

use super::{Check, Target};
use crate::{
    deadline::Deadline,
    env::Env,
    net::{self, HostPort},
    outcome::Verdict,
    tls::{self, Tls, TlsArgs},
    trace::Trace,
    uri,
};
use request::Header;
use status::StatusSet;
use target::{Given, Hop};
use wire::{Connection, Failure, Framing};

/// HTTP's words for a TLS port asked in plain text and the reverse.
const PROTOCOL: net::Protocol =
    net::Protocol { name: "HTTP", use_tls: "use https://", drop_tls: "use http://" };

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
/// What a plain-text server that closed a fresh connection without a byte is told as.
const CLOSED: &str = "the server closed the connection without answering";

#[derive(Debug, clap::Args)]
#[command(after_long_help = crate::docs::environment(&[("SSL_CERT_FILE", "a PEM file of trusted CAs for https:// when --cacert is not given, as curl and OpenSSL read it (proxy variables are ignored, as kubelet ignores them)")]))]
pub struct Args {
    /// http:// or https:// URL. Several are checked at once. Certificates are verified against
    /// the bundled Mozilla roots, or those in SSL_CERT_FILE, or --cacert.
    #[arg(value_name = "URL", required = true)]
    targets: Vec<String>,

    /// Request method.
    #[arg(long, value_enum, ignore_case = true, default_value_t = Method::Get)]
    method: Method,

    /// Request header, 'Name: value'; repeatable. @FILE reads one 'Name: value' a line from FILE
    /// (a mounted Secret). 'Name:' with no value removes a default one (User-Agent, Accept); a
    /// Host header given here is the one sent. Values are never printed.
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE")]
    headers: Vec<String>,

    /// Healthy status codes instead of 200-399, e.g. 200 or 200-299,304.
    #[arg(long, value_name = "LIST")]
    status: Option<StatusSet>,

    /// Do not follow redirects: the first answer is the one judged, as curl does by default
    /// (kubelet follows them).
    #[arg(long)]
    no_follow: bool,

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
        let given: Vec<Given> =
            self.targets.iter().map(|text| target::parse(text).map_err(anyhow::Error::msg)).collect::<Result<_, _>>()?;
        let https = given.iter().any(|given| given.hop.url.scheme() == "https");
        let tls = TlsSource::new(&self.tls, env, https)?;
        let headers = request::read(&self.headers)?;
        let body = match (self.body_contains, self.body_regex) {
            (None, None) => None,
            _ if self.method == Method::Head => {
                anyhow::bail!("--body-contains and --body-regex need a body, and a HEAD answer has none")
            }
            (contains, regex) => Some(BodyCheck { contains, regex }),
        };
        let shared = Arc::new(Shared {
            method: self.method,
            headers,
            status: self.status.unwrap_or_default(),
            follow: !self.no_follow,
            body,
            tls,
        });
        let targets = given.into_iter().map(|Given { hop, label }| {
            let check = Http { first: hop, shared: Arc::clone(&shared) };
            Target { label, check: Arc::new(check) }
        });
        Ok(targets.collect())
    }
}

/// Settings every target of one run shares.
struct Shared {
    method: Method,
    headers: Vec<Header>,
    status: StatusSet,
    follow: bool,
    body: Option<BodyCheck>,
    tls: TlsSource,
}

struct BodyCheck {
    contains: Option<String>,
    regex: Option<regex_lite::Regex>,
}

/// The TLS settings, read before any I/O, and the rustls configuration built from them when
/// first needed.
struct TlsSource {
    settings: Result<Tls, String>,
    built: OnceLock<Result<Arc<ClientConfig>, String>>,
}

impl TlsSource {
    /// With an https target, the options are read and checked now: a bad file is a usage
    /// error. Without one, a TLS option is a usage error, and TLS is met only by a redirect to
    /// https, which the defaults and SSL_CERT_FILE serve: a problem with that file is told then.
    fn new(args: &TlsArgs, env: &dyn Env, https: bool) -> anyhow::Result<Self> {
        let given = Tls::load(args, env, https)?;
        if !https {
            let settings = Tls::load(args, env, true).map_err(|err| format!("{err:#}"));
            return Ok(TlsSource { settings, built: OnceLock::new() });
        }
        let source = TlsSource { settings: Ok(given), built: OnceLock::new() };
        source.config().map_err(anyhow::Error::msg)?;
        Ok(source)
    }

    fn config(&self) -> Result<Arc<ClientConfig>, String> {
        self.built
            .get_or_init(|| {
                let tls = self.settings.as_ref().map_err(Clone::clone)?;
                tls.for_rustls().map(Arc::new).map_err(|err| format!("{err:#}"))
            })
            .clone()
    }
}

struct Http {
    first: Hop,
    shared: Arc<Shared>,
}

/// What a redirect leads to.
enum Redirect {
    /// Not followed: the 3xx is the answer, seen as this.
    Answer(String),
    /// Not followed, and a failure.
    Fails(Verdict),
    Follow(Hop),
}

impl Check for Http {
    fn attempt(&self, deadline: Deadline, trace: &Trace) -> Verdict {
        let mut hop = Hop { host_header: request::custom_host(&self.shared.headers).map(str::to_owned), ..self.first.clone() };
        if hop.host_header.as_deref() == Some(hop.go_host.as_str()) {
            hop.host_header = None;
        }
        let mut previous: Option<Url> = None;
        let mut requests = 0;
        loop {
            requests += 1;
            let head = request::head(&self.shared.headers, &self.first.url, &hop, previous.as_ref());
            let mut exchange = match self.exchange(&hop, &head, deadline, trace) {
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
            let location = exchange.head.location.clone().filter(|l| !l.is_empty() && FOLLOWED.contains(&status));
            let Some(location) = location else {
                return self.judge(&mut exchange, framing, seen, trace);
            };
            if !self.shared.follow {
                let seen = format!("{seen}, to {}: not followed (--no-follow)", target::shown_location(&location));
                return self.judge(&mut exchange, framing, seen, trace);
            }
            let next = match self.redirect(&hop, &location, requests, &seen) {
                Redirect::Answer(seen) => return self.judge(&mut exchange, framing, seen, trace),
                Redirect::Fails(verdict) => return verdict,
                Redirect::Follow(next) => next,
            };
            // Go reads up to 2 KiB of the redirect's body before the next request, errors
            // ignored; a body that stalls there uses up the deadline.
            let slurp = framing.redirect_slurp();
            if slurp > 0 {
                trace.enter("body");
                let body = wire::Body::new(&mut exchange.reader, framing);
                let _ = std::io::copy(&mut body.take(slurp), &mut std::io::sink());
            }
            previous = Some(std::mem::replace(&mut hop, next).url);
        }
    }
}

/// A response in hand: the head read, the rest of the connection left to read the body from.
struct Exchange {
    head: wire::Head,
    reader: BufReader<Connection>,
}

impl Http {
    /// Go's Client.do, step by step: `req.URL.Parse(loc)` (an error fails the probe), then
    /// kubelet's CheckRedirect (another host name: the 3xx is the answer; then the 10-request
    /// limit), then the transport (the scheme, then the address).
    fn redirect(&self, hop: &Hop, location: &str, requests: usize, seen: &str) -> Redirect {
        let go = match location::parse(location) {
            Ok(go) => go,
            Err(why) => {
                let shown = uri::unparsed(location);
                return Redirect::Fails(Verdict::unhealthy(format!(
                    "{seen}, but its Location \"{shown}\" is not a URL: {why}"
                )));
            }
        };
        let shown = target::shown_location(location);
        let go_host = go.host.clone().unwrap_or_else(|| hop.go_host.clone());
        if location::hostname(&go_host) != location::hostname(&self.first.go_host) {
            return Redirect::Answer(format!("{seen}, to {shown}, another host: not followed"));
        }
        let next = hop.url.join(location);
        if requests >= MAX_REQUESTS {
            let last = next.as_ref().map_or(shown, |next| target::shown_location(next.as_str()));
            let why = format!("{seen}, stopped after {MAX_REQUESTS} redirects, the last to {last}");
            return Redirect::Fails(Verdict::unhealthy(why));
        }
        let scheme = go.scheme.clone().unwrap_or_else(|| hop.url.scheme().to_owned());
        if !matches!(scheme.as_str(), "http" | "https") {
            let why = format!("{seen}, to {shown}: not followed, {scheme:?} is not http or https");
            return Redirect::Fails(Verdict::unhealthy(why));
        }
        // What Go parses and the url crate cannot (a port above 65535): Go's dial fails.
        let url = match next {
            Ok(url) => url,
            Err(why) => {
                let why = format!("{seen}, to {shown}: cannot be followed: {why}");
                return Redirect::Fails(Verdict::unhealthy(why));
            }
        };
        // Go keeps a custom Host on a redirect whose Location has no scheme (issue 22233).
        let host_header = hop.host_header.clone().filter(|_| !go.is_absolute());
        Redirect::Follow(Hop { url, go_host, host_header })
    }

    /// Connects (resolving the name the way every check does, with TLS for https), sends the
    /// request and reads the answer's head.
    fn exchange(
        &self,
        hop: &Hop,
        head: &[(String, String)],
        deadline: Deadline,
        trace: &Trace,
    ) -> Result<Exchange, String> {
        let url = &hop.url;
        let host = match url.host() {
            Some(url::Host::Ipv6(ip)) => ip.to_string(),
            Some(host) => host.to_string(),
            None => return Err("the URL has no host".to_owned()),
        };
        let port = url.port_or_known_default().unwrap_or(80);
        let socket = net::open(&net::Endpoint::Tcp(HostPort { host: host.clone(), port }), deadline, trace)?;
        let https = url.scheme() == "https";
        let stream = if https {
            trace.enter("tls");
            tls::handshake(socket, &host, self.shared.tls.config()?, deadline, &PROTOCOL)?
        } else {
            net::Stream::Plain(socket)
        };
        trace.enter("request");
        let mut reader = BufReader::with_capacity(8 * 1024, Connection::new(stream, deadline));
        let target = match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_owned(),
        };
        let method = self.shared.method.as_str();
        wire::send(reader.get_mut(), method, &target, head).map_err(|err| net::describe(&err))?;
        match wire::read_head(&mut reader) {
            Ok(head) => Ok(Exchange { head, reader }),
            Err(failure) => Err(describe(failure, https)),
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
                let why = wire::body_failure(&err);
                return Verdict::unreachable(format!("{seen}, but reading the body failed: {why}"));
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
            return Verdict::unhealthy(format!("{seen}, but {what} does not contain {}", excerpt(text)));
        }
        if let Some(regex) = &check.regex
            && !regex.is_match(&body)
        {
            let pattern = excerpt(regex.as_str());
            return Verdict::unhealthy(format!("{seen}, but {what} does not match {pattern}"));
        }
        Verdict::healthy(format!("{seen}, body matches"))
    }
}

/// Why no answer could be read, in words. A plain-text port that closes a fresh connection at
/// once is most often a TLS one (OpenSSL closes so on an HTTP request, without an alert).
fn describe(failure: Failure, https: bool) -> String {
    match failure {
        Failure::Io(err) => net::describe(&err),
        Failure::NotHttp(why) if why.is_empty() => "the answer is not HTTP".to_owned(),
        Failure::NotHttp(why) => format!("the answer is not HTTP: {why}"),
        Failure::SpeaksTls => PROTOCOL.speaks_tls(),
        Failure::TooLarge => format!("the answer's headers are larger than {} MiB", wire::HEADER_CAP >> 20),
        Failure::Nothing if https => CLOSED.to_owned(),
        Failure::Nothing => PROTOCOL.ended_by_tls_port(CLOSED),
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

/// Text the user gave (`--body-contains`, `--body-regex`) as a message quotes it: escaped, in
/// double quotes, cut after 60 characters.
fn excerpt(text: &str) -> String {
    const SHOWN: usize = 60;
    match text.char_indices().nth(SHOWN) {
        Some((cut, _)) => format!("{:?}…", &text[..cut]),
        None => format!("{text:?}"),
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn urls_and_headers_parse_or_say_why_in_one_line(text in any::<String>()) {
            let header = request::read(std::slice::from_ref(&text)).err().map(|err| err.to_string());
            for why in [target::parse(&text).err(), header].into_iter().flatten() {
                prop_assert!(!why.is_empty() && !why.contains('\n'));
            }
        }

        #[test]
        fn a_url_password_never_reaches_an_error(password in "[A-Za-z0-9]{12,20}", rest in "[ -~]{0,20}") {
            if let Err(why) = target::parse(&format!("http://user:{password}@{rest}")) {
                prop_assert!(!why.contains(&password), "{}", why);
            }
        }

        #[test]
        fn a_header_value_never_reaches_an_error(name in "[ -?A-~]{0,12}", value in "[A-Za-z0-9]{12,20}", cut in "[\r\n\u{1}]?") {
            let given = format!("{name}:{value}{cut}{value}");
            if let Err(why) = request::read(&[given]) {
                prop_assert!(!why.to_string().contains(&value), "{}", why);
            }
        }

        #[test]
        fn any_location_resolves_or_says_why(location in any::<String>()) {
            let base = target::parse("http://h:1/a/b?q").unwrap().hop;
            let _ = location::parse(&location);
            let _ = base.url.join(&location);
            let shown = target::shown_location(&location);
            prop_assert!(!shown.contains(['\n', '\r']));
        }
    }
}
