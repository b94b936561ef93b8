//! `probe amqp`: RabbitMQ and other AMQP 0-9-1 brokers. Healthy when the connection handshake
//! completes: Connection.Start, StartOk (PLAIN, AMQPLAIN or EXTERNAL), Tune, TuneOk, Open of the
//! vhost, OpenOk; the connection then ends with Close and CloseOk, which leaves RabbitMQ's log
//! at its info-level accepting and closing lines. `--ping` stops at Connection.Start, with no
//! credentials. The frames are written here (`wire`), over a socket opened here, so every phase
//! is timed and under the deadline. URLs are read by `url` (on `uri`); sockets and TLS are
//! `net`'s and `tls`'s.

#[cfg(any(test, fuzzing))]
pub mod fuzz;
pub mod url;
pub mod wire;

use std::{
    io::{self, Write},
    sync::Arc,
    time::Duration,
};

use self::{
    url::{AmqpUrl, Mechanism, ServerName},
    wire::{Field, Method, WireError},
};
use super::{Check, Target};
use crate::{
    deadline::Deadline,
    env::Env,
    net::{self, Endpoint, HostPort, Stream},
    outcome::Verdict,
    quote,
    tls::{self, Tls, TlsArgs},
    trace::Trace,
    uri,
};

const DEFAULT_URL: &str = "amqp://guest:guest@127.0.0.1:5672";

/// AMQP's words for a TLS port asked in plain text and the reverse.
pub const PROTOCOL: crate::net::Protocol =
    crate::net::Protocol { name: "AMQP 0-9-1", use_tls: "use amqps://", drop_tls: "use amqp://" };

#[derive(Debug, clap::Args)]
#[command(after_long_help = crate::docs::environment(&[("AMQP_URL", "the target when none is given"), ("SSL_CERT_FILE", "a PEM file of trusted CAs for amqps:// when --cacert is not given, as OpenSSL reads it")]))]
pub struct Args {
    /// amqp://user:password@host:port/vhost or amqps:// (TLS); with none, AMQP_URL, else
    /// amqp://guest:guest@127.0.0.1:5672. An empty vhost is "/", as pika reads it. Query
    /// parameters: heartbeat, connection_timeout, channel_max, frame_max, auth_mechanism (plain,
    /// amqplain, external), and for amqps:// cacertfile, certfile, keyfile, verify,
    /// server_name_indication.
    #[arg(value_name = "URL")]
    pub targets: Vec<String>,

    /// Healthy when the broker answers AMQP's protocol header with Connection.Start: no login.
    #[arg(long)]
    pub ping: bool,

    #[command(flatten)]
    pub tls: TlsArgs,
}

impl Args {
    pub fn targets(self, env: &dyn Env) -> anyhow::Result<Vec<Target>> {
        let urls = match (self.targets.is_empty(), env.var("AMQP_URL").filter(|url| !url.is_empty())) {
            (false, _) => self.targets.clone(),
            (true, Some(url)) => vec![url],
            (true, None) => vec![DEFAULT_URL.to_owned()],
        };
        let parsed = urls
            .iter()
            .map(|text| url::parse(text).map_err(|why| anyhow::anyhow!("'{}': {why}", uri::unparsed(text))))
            .collect::<anyhow::Result<Vec<_>>>()?;
        if !parsed.iter().any(|url| url.tls) {
            // Refuses a TLS option that no target would use.
            Tls::load(&self.tls, env, false)?;
        }
        parsed
            .into_iter()
            .map(|url| {
                let tls = self.tls_config(&url, env).map_err(|err| anyhow::anyhow!("'{}': {err:#}", url.label))?;
                let label = url.label.clone();
                Ok(Target { label, check: Arc::new(Amqp { url, tls, ping: self.ping }) })
            })
            .collect()
    }

    /// The TLS settings of one amqps:// target: its URL's cacertfile, certfile and keyfile, else
    /// --cacert, --cert and --key, else SSL_CERT_FILE or the bundled roots. EXTERNAL needs a
    /// client certificate, and a certificate needs TLS.
    fn tls_config(&self, url: &AmqpUrl, env: &dyn Env) -> anyhow::Result<Option<Arc<rustls::ClientConfig>>> {
        let external = url.mechanisms.contains(&Mechanism::External);
        if !url.tls {
            if external {
                anyhow::bail!("auth_mechanism=external needs TLS with a client certificate: use amqps://");
            }
            return Ok(None);
        }
        let args = &self.tls;
        let merged = TlsArgs {
            cacert: url.cacertfile.clone().or_else(|| args.cacert.clone()),
            cert: url.certfile.clone().or_else(|| args.cert.clone()),
            key: url.keyfile.clone().or_else(|| args.key.clone()),
            insecure: args.insecure || !url.verify,
        };
        if merged.cert.is_none() && external && !self.ping {
            anyhow::bail!(
                "auth_mechanism=external needs a client certificate (--cert and --key, or certfile and keyfile)"
            );
        }
        let mut config = Tls::load(&merged, env, true)?.for_rustls()?;
        config.enable_sni = url.server_name != Some(ServerName::Disable);
        Ok(Some(Arc::new(config)))
    }
}

struct Amqp {
    url: AmqpUrl,
    tls: Option<Arc<rustls::ClientConfig>>,
    ping: bool,
}

impl Check for Amqp {
    fn attempt(&self, deadline: Deadline, trace: &Trace) -> Verdict {
        let mut stream = match self.open(deadline, trace) {
            Ok(stream) => stream,
            Err(why) => return Verdict::unreachable(why),
        };
        let mut session = Session { stream: &mut stream, deadline, trace };
        let verdict = match self.handshake(&mut session) {
            Ok(verdict) | Err(verdict) => verdict,
        };
        // A TLS close_notify, then a FIN.
        stream.close();
        verdict
    }
}

impl Amqp {
    /// The socket (its connect capped by `connection_timeout` too), and TLS on it for amqps://.
    fn open(&self, deadline: Deadline, trace: &Trace) -> Result<Stream, String> {
        let target = Endpoint::Tcp(HostPort { host: self.url.host.clone(), port: self.url.port });
        let connect_by = match self.url.connection_timeout {
            Some(cap) if cap < deadline.remaining() => Deadline::new(cap, None),
            _ => deadline,
        };
        let socket = net::open(&target, connect_by, trace)?;
        let Some(config) = &self.tls else { return Ok(Stream::Plain(socket)) };
        trace.enter("tls");
        let name = match &self.url.server_name {
            Some(ServerName::Name(name)) => name,
            _ => &self.url.host,
        };
        tls::handshake(socket, name, Arc::clone(config), deadline, &PROTOCOL)
    }

    fn handshake(&self, session: &mut Session<'_>) -> Result<Verdict, Verdict> {
        session.trace.enter("start");
        session.send(&wire::PROTOCOL_HEADER)?;
        let (server, mechanisms) = match session.read()? {
            Method::Start { version: (0, 9), server, mechanisms } => (server, mechanisms),
            Method::Start { version: (major, minor), .. } => {
                return Err(Verdict::unreachable(format!(
                    "the broker speaks AMQP {major}-{minor}, not AMQP 0-9-1"
                )));
            }
            other => return Err(unexpected(&other, "Connection.Start")),
        };
        let broker = server.describe().map_or_else(|| "the broker".to_owned(), quote::peer);
        if self.ping {
            // Closing the socket here is what RabbitMQ logs least about: one warning. Any method
            // sent now, even Close, is a protocol error it logs as one.
            return Ok(Verdict::healthy(format!("{broker} accepting connections")));
        }
        let mechanism = self.choose(&mechanisms)?;
        let url = &self.url;
        let response = match mechanism {
            Mechanism::Plain => wire::plain_response(&url.user, url.password.expose()),
            Mechanism::AmqPlain => wire::amqplain_response(&url.user, url.password.expose()),
            Mechanism::External => Vec::new(),
        };
        session.trace.enter("login");
        session.send(&wire::start_ok(&client_properties(), mechanism.name(), &response))?;
        // The broker's heartbeat is not taken up: the connection lasts milliseconds.
        let (channel_max, frame_max) = match session.read() {
            Ok(Method::Tune { channel_max, frame_max, .. }) => (channel_max, frame_max),
            Ok(Method::Close { code, text }) => return Err(session.refused(code, &text)),
            Ok(Method::Secure) => {
                return Err(Verdict::unhealthy(format!(
                    "the broker asked a login challenge (Connection.Secure), which {} does not answer",
                    mechanism.name()
                )));
            }
            // Brokers without authentication_failure_close refuse a login by closing the socket.
            Err(Failure::Closed) => {
                return Err(Verdict::unhealthy(format!(
                    "the broker closed the connection after the {} login: the login was refused",
                    mechanism.name()
                )));
            }
            Ok(other) => return Err(unexpected(&other, "Connection.Tune")),
            Err(failure) => return Err(failure.into()),
        };
        session.trace.enter("open");
        let mut tune_ok = wire::tune_ok(
            lowest(channel_max, url.channel_max.unwrap_or(0)),
            lowest(frame_max, url.frame_max.unwrap_or(wire::MAX_FRAME)),
            url.heartbeat.unwrap_or(0),
        );
        tune_ok.extend_from_slice(&wire::open(&url.vhost));
        session.send(&tune_ok)?;
        let mut blocked = None;
        loop {
            match session.read()? {
                Method::OpenOk => break,
                Method::Close { code, text } => return Err(session.refused(code, &text)),
                Method::Blocked { reason } => blocked = Some(reason),
                Method::Unblocked => blocked = None,
                other => return Err(unexpected(&other, "Connection.OpenOk")),
            }
        }
        session.trace.enter("close");
        blocked = session.close(blocked);
        let who = match mechanism {
            Mechanism::External => "with the client certificate".to_owned(),
            _ => format!("as {}", quote::escaped(&url.user)),
        };
        let mut seen = format!("{broker}, logged in {who} to vhost {}", quote::escaped(&url.vhost));
        if let Some(reason) = blocked {
            // Healthy all the same: consumers, which an alarm never blocks, are what clear it.
            seen.push_str(&format!(", but the broker blocks publishing: {}", quote::peer(reason)));
        }
        Ok(Verdict::healthy(seen))
    }

    /// The first of the URL's mechanisms (PLAIN by default) that the broker offers.
    fn choose(&self, offered: &[String]) -> Result<Mechanism, Verdict> {
        let wanted: &[Mechanism] =
            if self.url.mechanisms.is_empty() { &[Mechanism::Plain] } else { &self.url.mechanisms };
        wanted.iter().copied().find(|m| offered.iter().any(|o| o == m.name())).ok_or_else(|| {
            let wanted: Vec<&str> = wanted.iter().map(|m| m.name()).collect();
            Verdict::unhealthy(format!(
                "the broker offers {}, not {}",
                if offered.is_empty() { "no login mechanism".to_owned() } else { quote::peer(offered.join(", ")) },
                wanted.join(" or ")
            ))
        })
    }
}

/// The properties the client introduces itself with. The capabilities ask RabbitMQ to explain a
/// refused login with Connection.Close (authentication_failure_close) instead of closing the
/// socket, and to say when it blocks the connection (connection.blocked).
fn client_properties() -> Vec<(&'static str, Field<'static>)> {
    const CAPABILITIES: &[(&str, Field<'static>)] =
        &[("authentication_failure_close", Field::Bool(true)), ("connection.blocked", Field::Bool(true))];
    vec![
        ("product", Field::Text("probe")),
        ("version", Field::Text(env!("CARGO_PKG_VERSION"))),
        ("platform", Field::Text("Rust")),
        ("capabilities", Field::Table(CAPABILITIES)),
    ]
}

/// The lower of two limits where 0 means none (§ Connection.Tune: "zero means no limit").
fn lowest<T: Copy + Ord + Default>(broker: T, client: T) -> T {
    match (broker == T::default(), client == T::default()) {
        (true, _) => client,
        (_, true) => broker,
        _ => broker.min(client),
    }
}

/// One connection's conversation, each read and write within the deadline.
struct Session<'a> {
    stream: &'a mut Stream,
    deadline: Deadline,
    trace: &'a Trace,
}

/// Why no method could be read.
enum Failure {
    /// The broker closed the connection.
    Closed,
    Other(Verdict),
}

impl From<Failure> for Verdict {
    fn from(failure: Failure) -> Verdict {
        match failure {
            Failure::Closed => Verdict::unreachable("connection closed by peer"),
            Failure::Other(verdict) => verdict,
        }
    }
}

impl Session<'_> {
    fn send(&mut self, bytes: &[u8]) -> Result<(), Verdict> {
        self.stream.set_timeout(self.deadline.socket_timeout());
        self.stream.write_all(bytes).and_then(|()| self.stream.flush()).map_err(|err| {
            Verdict::unreachable(match err.kind() {
                io::ErrorKind::BrokenPipe => "connection closed by peer".to_owned(),
                _ => net::describe(&err),
            })
        })
    }

    /// The next connection method, heartbeats skipped.
    fn read(&mut self) -> Result<Method, Failure> {
        self.read_within(self.deadline.socket_timeout())
    }

    fn read_within(&mut self, timeout: Duration) -> Result<Method, Failure> {
        loop {
            self.stream.set_timeout(timeout.max(Duration::from_millis(1)));
            let frame = wire::read_frame(self.stream).map_err(|err| match err {
                WireError::Io(io) if io.kind() == io::ErrorKind::UnexpectedEof => Failure::Closed,
                WireError::Io(io) => Failure::Other(Verdict::unreachable(net::describe(&io))),
                other => Failure::Other(Verdict::unreachable(other.to_string())),
            })?;
            match (frame.kind, frame.channel) {
                (wire::FRAME_HEARTBEAT, _) => continue,
                (wire::FRAME_METHOD, 0) => {
                    return wire::parse_method(&frame.payload)
                        .map_err(|err| Failure::Other(Verdict::unreachable(err.to_string())));
                }
                (kind, channel) => {
                    return Err(Failure::Other(Verdict::unreachable(format!(
                        "the answer is not AMQP 0-9-1 (a frame of type {kind} on channel {channel} before \
                         any channel was opened)"
                    ))));
                }
            }
        }
    }

    /// The broker's Connection.Close: answered with CloseOk, as the specification asks, and
    /// quoted: ACCESS_REFUSED (403) for a refused login, NOT_ALLOWED (530) for an unknown vhost or
    /// one the user has no access to.
    fn refused(&mut self, code: u16, text: &str) -> Verdict {
        let _ = self.send(&wire::close_ok());
        Verdict::unhealthy(format!("{code} {}", quote::peer(text)))
    }

    /// Ends the connection with Close and waits for CloseOk, so the broker logs a normal close.
    /// The verdict is already decided: this spends at most three quarters of the time left, so
    /// the deadline cannot overtake a healthy verdict. Returns the last Blocked reason seen.
    fn close(&mut self, mut blocked: Option<String>) -> Option<String> {
        if self.send(&wire::close(200, "Goodbye")).is_err() {
            return blocked;
        }
        let budget = self.deadline.remaining() * 3 / 4;
        let until = std::time::Instant::now() + budget;
        loop {
            let left = until.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return blocked;
            }
            match self.read_within(left) {
                Ok(Method::Blocked { reason }) => blocked = Some(reason),
                Ok(Method::Unblocked) => blocked = None,
                Ok(Method::Close { .. }) => {
                    let _ = self.send(&wire::close_ok());
                    return blocked;
                }
                Ok(Method::CloseOk) | Err(_) => return blocked,
                Ok(_) => {}
            }
        }
    }
}

/// A method other than the one the handshake expects next.
fn unexpected(method: &Method, expected: &str) -> Verdict {
    let seen = match method {
        Method::Other { class, method } => format!("method {class}.{method}"),
        other => format!("{other:?}").split([' ', '{']).next().unwrap_or_default().to_owned(),
    };
    Verdict::unreachable(format!("the answer is not AMQP 0-9-1 ({seen} where {expected} was expected)"))
}

#[cfg(test)]
mod tests {
    use std::{io::Read, net::TcpListener, thread, time::Instant};

    use super::{wire::tests::*, *};
    use crate::outcome::Status;

    /// A broker on a port of its own that answers each thing the client sends with the next
    /// reply (`None`: closes the connection instead), then reads until the client is gone.
    fn broker(replies: Vec<Option<Vec<u8>>>) -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("address").port();
        thread::spawn(move || {
            let (mut stream, _) = listener.accept().expect("accept");
            let _ = stream.set_read_timeout(Some(Duration::from_secs(3)));
            for reply in replies {
                let _ = stream.read(&mut [0u8; 4096]);
                match reply {
                    Some(bytes) => {
                        let _ = stream.write_all(&bytes);
                    }
                    None => return,
                }
            }
            let _ = stream.read_to_end(&mut Vec::new());
        });
        port
    }

    fn check(port: u16, query: &str, ping: bool) -> Verdict {
        let url = url::parse(&format!("amqp://127.0.0.1:{port}/{query}")).expect("a URL");
        let amqp = Amqp { url, tls: None, ping };
        amqp.attempt(Deadline::new(Duration::from_secs(2), None), &Trace::default())
    }

    fn full(replies: Vec<Option<Vec<u8>>>) -> Verdict {
        check(broker(replies), "", false)
    }

    fn start() -> Option<Vec<u8>> {
        Some(rabbitmq_start("AMQPLAIN PLAIN"))
    }

    fn tune_frame() -> Option<Vec<u8>> {
        Some(tune(2047, 131_072, 60))
    }

    #[test]
    fn a_whole_handshake_is_healthy() {
        let verdict = full(vec![start(), tune_frame(), Some(open_ok()), Some(wire::close_ok())]);
        assert_eq!(verdict, Verdict::healthy("RabbitMQ 3.10.8, logged in as guest to vhost /"));
    }

    #[test]
    fn heartbeats_are_skipped_and_a_block_is_said_but_healthy() {
        let heartbeat = vec![wire::FRAME_HEARTBEAT, 0, 0, 0, 0, 0, 0, 0xCE];
        let mut tune = heartbeat.clone();
        tune.extend(tune_frame().unwrap());
        let mut closing = blocked("low on memory");
        closing.extend(wire::close_ok());
        let verdict = full(vec![start(), Some(tune), Some(open_ok()), Some(closing)]);
        assert_eq!(
            verdict,
            Verdict::healthy(
                "RabbitMQ 3.10.8, logged in as guest to vhost /, but the broker blocks publishing: low on memory"
            )
        );
        let mut unblocked_after = blocked("low on disk");
        unblocked_after.extend(unblocked());
        unblocked_after.extend(open_ok());
        let verdict = full(vec![start(), tune_frame(), Some(unblocked_after), Some(wire::close_ok())]);
        assert_eq!(verdict.status, Status::Healthy);
        assert!(!verdict.message.contains("blocks"), "{verdict:?}");
    }

    #[test]
    fn refusals_are_unhealthy_and_quoted() {
        let text = "ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN. For details see the broker logfile.";
        let verdict = full(vec![start(), Some(server_close(403, text))]);
        assert_eq!(verdict, Verdict::unhealthy(format!("403 {text}")));
        let verdict = full(vec![start(), None]);
        assert_eq!(
            verdict,
            Verdict::unhealthy(
                "the broker closed the connection after the PLAIN login: the login was refused"
            )
        );
        let text = "NOT_ALLOWED - vhost nope not found";
        let verdict = full(vec![start(), tune_frame(), Some(server_close(530, text))]);
        assert_eq!(verdict, Verdict::unhealthy(format!("530 {text}")));
    }

    #[test]
    fn a_mechanism_the_broker_lacks_is_unhealthy() {
        let verdict = check(broker(vec![Some(rabbitmq_start("AMQPLAIN"))]), "", false);
        assert_eq!(verdict, Verdict::unhealthy("the broker offers AMQPLAIN, not PLAIN"));
        let port = broker(vec![
            Some(rabbitmq_start("PLAIN")),
            tune_frame(),
            Some(open_ok()),
            Some(wire::close_ok()),
        ]);
        let verdict = check(port, "?auth_mechanism=amqplain&auth_mechanism=plain", false);
        assert_eq!(verdict.status, Status::Healthy, "{verdict:?}");
    }

    #[test]
    fn ping_stops_at_start() {
        let verdict = check(broker(vec![start()]), "", true);
        assert_eq!(verdict, Verdict::healthy("RabbitMQ 3.10.8 accepting connections"));
    }

    #[test]
    fn other_protocols_are_unreachable() {
        let cases: [(&[u8], &str); 4] = [
            (b"AMQP\x00\x01\x00\x00", "the broker speaks AMQP 1.0, not AMQP 0-9-1"),
            (b"HTTP/1.1 400 Bad Request\r\n\r\n", "the answer is not AMQP 0-9-1 (frame type 72)"),
            (b"\x01\x00\x01\x00\x00\x00\x00\xCE", "a frame of type 1 on channel 1"),
            (
                b"\x01\x00\x00\x00\x00\x00\x04\x00\x0a\x00\x29\xCE",
                "(OpenOk where Connection.Start was expected)",
            ),
        ];
        for (bytes, expected) in cases {
            let verdict = full(vec![Some(bytes.to_vec())]);
            assert_eq!(verdict.status, Status::Unreachable, "{verdict:?}");
            assert!(verdict.message.contains(expected), "{expected}: {verdict:?}");
        }
        let verdict = full(vec![None]);
        assert_eq!(verdict, Verdict::unreachable("connection closed by peer"));
    }

    /// An environment of the given variables only.
    struct Vars(&'static [(&'static str, &'static str)]);

    impl Env for Vars {
        fn var(&self, name: &str) -> Option<String> {
            self.0.iter().find(|(key, _)| *key == name).map(|(_, value)| (*value).to_owned())
        }
    }

    fn labels(targets: &[&str], env: &Vars) -> anyhow::Result<Vec<String>> {
        let tls = TlsArgs { cacert: None, cert: None, key: None, insecure: false };
        let args = Args { targets: targets.iter().map(|t| (*t).to_owned()).collect(), ping: false, tls };
        Ok(args.targets(env)?.into_iter().map(|target| target.label).collect())
    }

    #[test]
    fn targets_come_from_the_arguments_then_amqp_url_then_the_default() {
        let env = Vars(&[("AMQP_URL", "amqp://app:pw@rabbit/orders")]);
        assert_eq!(labels(&["amqp://a:b@h/"], &env).unwrap(), ["amqp://a:***@h/"]);
        assert_eq!(labels(&[], &env).unwrap(), ["amqp://app:***@rabbit/orders"]);
        assert_eq!(labels(&[], &Vars(&[("AMQP_URL", "")])).unwrap(), ["amqp://guest:***@127.0.0.1:5672"]);
        let err = labels(&["amqp://u:secret@h/?nope=1"], &Vars(&[])).unwrap_err().to_string();
        assert!(err.starts_with("'amqp://…': unknown query parameter 'nope'"), "{err}");
        let err = labels(&["amqp://u:secret@h/", "amqp://h/"], &Vars(&[]));
        assert_eq!(err.unwrap(), ["amqp://u:***@h/", "amqp://h/"]);
    }

    #[test]
    fn limits_are_negotiated_down() {
        assert_eq!(lowest(2047u16, 0), 2047);
        assert_eq!(lowest(0u16, 10), 10);
        assert_eq!(lowest(2047u16, 10), 10);
        assert_eq!(lowest(4096u32, 131_072), 4096);
    }

    mod properties {
        use proptest::prelude::*;

        use super::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(64))]

            /// Whatever a broker answers, at whatever step, the attempt ends with a verdict, in time.
            #[test]
            fn arbitrary_broker_answers_end_in_a_verdict(
                step in 0usize..3, bytes in proptest::collection::vec(any::<u8>(), 0..300),
            ) {
                let mut replies = vec![start(), tune_frame(), Some(open_ok())];
                replies.truncate(step);
                replies.push(Some(bytes));
                let started = Instant::now();
                let port = broker(replies);
                let url = url::parse(&format!("amqp://127.0.0.1:{port}/")).expect("a URL");
                let amqp = Amqp { url, tls: None, ping: false };
                let _ = amqp.attempt(Deadline::new(Duration::from_millis(300), None), &Trace::default());
                prop_assert!(started.elapsed() < Duration::from_millis(600));
            }
        }
    }
}
