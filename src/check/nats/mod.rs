//! `probe nats`: NATS servers. Healthy when the server sends INFO, accepts CONNECT (with the
//! URL's user and password or token, an NKEY's signature of INFO's nonce, or a `.creds` file's
//! JWT and signature) and answers PING with PONG. `-ERR` is the server's verdict, quoted. TLS when
//! the URL is `tls://` or INFO says `tls_required`: the client upgrades after INFO, as nats.go
//! does. The protocol's lines are read and written in `wire`, keys in `nkey`, URLs in `url` (on
//! `uri`); sockets and TLS are `net`'s and `tls`'s.

#[cfg(any(test, fuzzing))]
pub mod fuzz;
pub mod nkey;
pub mod url;
pub mod wire;

use std::{
    io::Write,
    path::PathBuf,
    sync::{Arc, OnceLock},
};

use self::{
    nkey::UserKey,
    url::{Login, NatsUrl, Server},
    wire::{Failure, Line, Lines},
};
use super::{Check, Target};
use crate::{
    deadline::Deadline,
    env::Env,
    login::PasswordArgs,
    net::{self, Endpoint, Stream},
    outcome::{Status, Verdict},
    quote,
    secret::Secret,
    tls::{self, Tls, TlsArgs},
    trace::Trace,
    uri,
};

/// NATS's words for a TLS port asked in plain text and the reverse.
const PROTOCOL: net::Protocol = net::Protocol { name: "NATS", use_tls: "use tls://", drop_tls: "use nats://" };

const DEFAULT_URL: &str = "nats://127.0.0.1:4222";

#[derive(Debug, clap::Args)]
#[command(after_long_help = crate::docs::environment(&[("NATS_URL", "the target when none is given, as the nats CLI and nats.go read it"), ("NATS_CREDS", "--creds when it is not given"), ("NATS_NKEY", "--nkey when it is not given"), ("SSL_CERT_FILE", "a PEM file of trusted CAs for TLS when --cacert is not given, as OpenSSL reads it")]))]
pub struct Args {
    /// nats://[user:password@|token@]host[:port] or tls://… (TLS); several, separated by commas,
    /// are one target, healthy when any of them is, tried in order. With none, NATS_URL, else
    /// nats://127.0.0.1:4222. --password-file gives the password of nats://user@host, and the
    /// token of a URL that names no one.
    #[arg(value_name = "URL")]
    targets: Vec<String>,

    #[command(flatten)]
    password: PasswordArgs,

    /// A .creds file (a user JWT and its NKEY seed): the server's nonce is signed with the seed.
    #[arg(long, value_name = "FILE", conflicts_with = "nkey")]
    creds: Option<PathBuf>,

    /// A file holding a user's NKEY seed (SU…): the server's nonce is signed with it.
    #[arg(long, value_name = "FILE")]
    nkey: Option<PathBuf>,

    #[command(flatten)]
    tls: TlsArgs,
}

/// How a probe proves who it is beyond the URL.
enum Auth {
    Url,
    Nkey(UserKey),
    Creds { jwt: Secret, key: UserKey },
}

impl Args {
    pub fn targets(self, env: &dyn Env) -> anyhow::Result<Vec<Target>> {
        let file_password = self.password.read()?;
        let texts = match (self.targets.is_empty(), env.var("NATS_URL").filter(|url| !url.is_empty())) {
            (false, _) => self.targets.clone(),
            (true, Some(url)) => vec![url],
            (true, None) => vec![DEFAULT_URL.to_owned()],
        };
        let urls = texts
            .iter()
            .map(|text| {
                url::parse(text, file_password.is_some())
                    .map_err(|why| anyhow::anyhow!("'{}': {why}", uri::unparsed(text)))
            })
            .collect::<anyhow::Result<Vec<NatsUrl>>>()?;
        let auth = Arc::new(self.auth(env)?);
        // INFO may ask any server for TLS: the TLS options are always of use.
        let tls = Arc::new(Tls::load(&self.tls, env, true)?);
        let config = Arc::new(LazyConfig { tls, config: OnceLock::new() });
        Ok(urls
            .into_iter()
            .map(|url| {
                let servers = url.servers.into_iter().map(|server| with_file_password(server, &file_password));
                let nats = Nats { servers: servers.collect(), auth: Arc::clone(&auth), tls: Arc::clone(&config) };
                Target { label: url.label, check: Arc::new(nats) }
            })
            .collect())
    }

    /// --creds or --nkey (or NATS_CREDS, NATS_NKEY), read and checked now.
    fn auth(&self, env: &dyn Env) -> anyhow::Result<Auth> {
        let from_env = |name: &str| env.var(name).filter(|value| !value.is_empty()).map(PathBuf::from);
        let (creds, nkey) = match (&self.creds, &self.nkey) {
            (None, None) => (from_env("NATS_CREDS"), from_env("NATS_NKEY")),
            (creds, nkey) => (creds.clone(), nkey.clone()),
        };
        let read = |flag: &str, path: &PathBuf| {
            std::fs::read_to_string(path).map_err(|err| {
                anyhow::anyhow!("cannot read {flag} {}: {}", path.display(), net::describe(&err))
            })
        };
        if let Some(path) = creds {
            let (jwt, key) = nkey::creds(&read("--creds", &path)?)
                .map_err(|why| anyhow::anyhow!("--creds {}: {why}", path.display()))?;
            return Ok(Auth::Creds { jwt, key });
        }
        if let Some(path) = nkey {
            let key = nkey::seed_in(&read("--nkey", &path)?)
                .map_err(|why| anyhow::anyhow!("--nkey {}: {why}", path.display()))?;
            return Ok(Auth::Nkey(key));
        }
        Ok(Auth::Url)
    }
}

/// --password-file's secret where the URL leaves a gap: a user's password, or the token.
fn with_file_password(mut server: Server, file: &Option<Secret>) -> Server {
    let Some(file) = file else { return server };
    server.login = match server.login {
        Login::User { user, password: None } => Login::User { user, password: Some(file.clone()) },
        Login::None => Login::Token(file.clone()),
        login => login,
    };
    server
}

/// The rustls configuration, built the first time a server asks for TLS: the bundled roots cost
/// more than a plain-text probe takes.
struct LazyConfig {
    tls: Arc<Tls>,
    config: OnceLock<Result<Arc<rustls::ClientConfig>, String>>,
}

impl LazyConfig {
    fn get(&self) -> Result<Arc<rustls::ClientConfig>, String> {
        self.config.get_or_init(|| self.tls.for_rustls().map(Arc::new).map_err(|err| format!("TLS: {err:#}"))).clone()
    }
}

struct Nats {
    servers: Vec<Server>,
    auth: Arc<Auth>,
    tls: Arc<LazyConfig>,
}

impl Check for Nats {
    /// Each server in turn, each with an equal share of the time left, until one is healthy.
    fn attempt(&self, deadline: Deadline, trace: &Trace) -> Verdict {
        let several = self.servers.len() > 1;
        let mut failures: Vec<Verdict> = Vec::new();
        for (i, server) in self.servers.iter().enumerate() {
            let share = Deadline::new(deadline.remaining() / (self.servers.len() - i) as u32, None);
            let verdict = self.try_server(server, if several { share } else { deadline }, trace);
            if verdict.status == Status::Healthy || !several {
                return match several {
                    true => Verdict::healthy(format!("{}: {}", server.host, verdict.message)),
                    false => verdict,
                };
            }
            failures.push(Verdict { message: format!("{}: {}", server.host, verdict.message), ..verdict });
        }
        // Unhealthy when a server answered and said no; unreachable when none answered.
        let status = failures.iter().map(|verdict| verdict.status).min().unwrap_or(Status::Unreachable);
        let message = failures.into_iter().map(|verdict| verdict.message).collect::<Vec<_>>().join("; ");
        Verdict { status, message }
    }
}

impl Nats {
    fn try_server(&self, server: &Server, deadline: Deadline, trace: &Trace) -> Verdict {
        let endpoint = Endpoint::Tcp(server.host.clone());
        let mut socket = match net::open(&endpoint, deadline, trace) {
            Ok(socket) => socket,
            Err(why) => return Verdict::unreachable(why),
        };
        trace.enter("info");
        let info = match Lines::default().next(&mut socket) {
            Ok(Line::Info(info)) => info,
            Ok(Line::Err(text)) => {
                return Verdict::unreachable(format!("the server's first line is -ERR, not INFO: {}", quote::peer(text)));
            }
            Ok(other) => return Verdict::unreachable(format!("the answer is not NATS ({other:?} before INFO)")),
            Err(failure) => return unreachable(failure, "before INFO"),
        };
        let use_tls = server.tls || info.tls_required;
        if server.tls && !info.tls_required && !info.tls_available {
            return Verdict::unreachable("the server offers no TLS (use nats://)");
        }
        let mut stream: Stream = match use_tls {
            false => socket.into(),
            true => {
                trace.enter("tls");
                let config = match self.tls.get() {
                    Ok(config) => config,
                    Err(why) => return Verdict::unreachable(why),
                };
                match tls::handshake(socket, &server.host.host, config, deadline, &PROTOCOL) {
                    Ok(stream) => stream,
                    Err(why) => return Verdict::unreachable(why),
                }
            }
        };
        trace.enter("auth");
        let verdict = self.login_and_ping(server, &info, use_tls, &mut stream, deadline, trace);
        stream.close();
        verdict
    }

    /// CONNECT and PING; PONG is healthy, -ERR is the server's no.
    fn login_and_ping(
        &self,
        server: &Server,
        info: &wire::Info,
        use_tls: bool,
        stream: &mut Stream,
        deadline: Deadline,
        trace: &Trace,
    ) -> Verdict {
        let mut fields: Vec<(&str, String)> = Vec::new();
        match &server.login {
            Login::None => {}
            Login::User { user, password } => {
                fields.push(("user", quote::json_string(user)));
                fields.push(("pass", quote::json_string(password.as_ref().map(Secret::expose).unwrap_or_default())));
            }
            Login::Token(token) => fields.push(("auth_token", quote::json_string(token.expose()))),
        }
        let key = match &*self.auth {
            Auth::Url => None,
            Auth::Nkey(key) => {
                fields.push(("nkey", quote::json_string(&key.public())));
                Some(key)
            }
            Auth::Creds { jwt, key } => {
                fields.push(("jwt", quote::json_string(jwt.expose())));
                Some(key)
            }
        };
        if let Some(key) = key {
            let Some(nonce) = &info.nonce else {
                return Verdict::unhealthy(
                    "the server sent no nonce to sign: it has no NKEY or JWT users (drop --nkey or --creds)",
                );
            };
            fields.push(("sig", quote::json_string(&key.sign(nonce.as_bytes()))));
        }
        stream.set_timeout(deadline.socket_timeout());
        if let Err(err) = stream.write_all(&wire::connect(use_tls, &fields)).and_then(|()| stream.flush()) {
            return Verdict::unreachable(net::describe(&err));
        }
        trace.enter("ping");
        let mut lines = Lines::default();
        loop {
            stream.set_timeout(deadline.socket_timeout());
            match lines.next(stream) {
                Ok(Line::Pong) => return Verdict::healthy(seen(info, use_tls)),
                Ok(Line::Err(text)) => return Verdict::unhealthy(quote::peer(text)),
                Ok(Line::Ping) => {
                    let _ = stream.write_all(b"PONG\r\n");
                }
                Ok(Line::Ok | Line::Info(_) | Line::Other(_)) => {}
                Err(failure) => return unreachable(failure, "after CONNECT"),
            }
        }
    }
}

/// What a healthy server was: its name and version as INFO gave them.
fn seen(info: &wire::Info, tls: bool) -> String {
    let mut out = "PONG".to_owned();
    if let Some(name) = &info.server_name {
        out.push_str(&format!(" from {}", quote::peer(name)));
    }
    if let Some(version) = &info.version {
        out.push_str(&format!(", version {}", quote::peer(version)));
    }
    if tls {
        out.push_str(", over TLS");
    }
    out
}

fn unreachable(failure: Failure, when: &str) -> Verdict {
    Verdict::unreachable(match failure {
        Failure::Closed => format!("connection closed by peer {when}"),
        Failure::Io(err) => net::describe(&err),
        Failure::NotNats(what) => format!("the answer is not NATS ({what})"),
        Failure::SpeaksTls => PROTOCOL.speaks_tls(),
    })
}
