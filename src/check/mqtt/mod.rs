//! `probe mqtt`: MQTT brokers (Mosquitto, EMQX, HiveMQ, VerneMQ). Healthy when CONNECT gets
//! CONNACK with code 0; every other code is unhealthy and named. The client id is `probe-` and
//! random characters, so a probe never takes over another client's session; the session is
//! clean, and the connection ends with DISCONNECT, so the broker logs a normal disconnect.
//! `--topic` also subscribes (QoS 0) and waits for one message, as `mosquitto_sub -C 1` does.
//! Packets are written and read in `wire`, URLs in `url` (on `uri`); sockets and TLS are `net`'s
//! and `tls`'s.

#[cfg(any(test, fuzzing))]
pub mod fuzz;
pub mod url;
pub mod wire;

use std::{io::Write, sync::Arc, time::Duration};

use self::{
    url::MqttUrl,
    wire::{Failure, Version},
};
use super::{Check, Target};
use crate::{
    deadline::Deadline,
    env::Env,
    login::PasswordArgs,
    net::{self, Endpoint, Stream},
    outcome::Verdict,
    quote,
    secret::Secret,
    tls::{self, Tls, TlsArgs},
    trace::Trace,
    uri,
};

/// MQTT's words for a TLS port asked in plain text and the reverse.
const PROTOCOL: net::Protocol = net::Protocol { name: "MQTT", use_tls: "use mqtts://", drop_tls: "use mqtt://" };

const DEFAULT_URL: &str = "mqtt://127.0.0.1:1883";

/// The keep-alive CONNECT announces, as mosquitto_sub's default: the connection lasts far less.
const KEEP_ALIVE: u16 = 60;

/// How long before the deadline a wait for a message gives up, to leave time for DISCONNECT.
const DISCONNECT_TIME: Duration = Duration::from_millis(100);

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ProtocolVersion {
    #[value(name = "3.1.1", alias = "311", alias = "mqttv311")]
    V311,
    #[value(name = "5", alias = "mqttv5")]
    V5,
}

#[derive(Debug, clap::Args)]
#[command(after_long_help = crate::docs::environment(&[("SSL_CERT_FILE", "a PEM file of trusted CAs for mqtts:// when --cacert is not given, as OpenSSL reads it")]))]
pub struct Args {
    /// mqtt://[user:password@]host[:1883][/topic] or mqtts://host[:8883] (TLS); paho's tcp://
    /// and ssl:// are the same. A path is the topic, as in mosquitto_sub -L. With none,
    /// mqtt://127.0.0.1:1883.
    #[arg(value_name = "URL")]
    targets: Vec<String>,

    #[command(flatten)]
    password: PasswordArgs,

    /// The protocol level CONNECT asks for.
    #[arg(long, value_enum, value_name = "VERSION", default_value = "3.1.1")]
    protocol: ProtocolVersion,

    /// Also subscribe to TOPIC (QoS 0) and wait for one message on it within the deadline (a
    /// retained message, or $SYS/broker/uptime, which Mosquitto publishes every few seconds).
    #[arg(long, value_name = "TOPIC")]
    topic: Option<String>,

    #[command(flatten)]
    tls: TlsArgs,
}

impl Args {
    pub fn targets(self, env: &dyn Env) -> anyhow::Result<Vec<Target>> {
        let file_password = self.password.read()?;
        let texts = if self.targets.is_empty() { vec![DEFAULT_URL.to_owned()] } else { self.targets.clone() };
        let urls = texts
            .iter()
            .map(|text| url::parse(text).map_err(|why| anyhow::anyhow!("'{}': {why}", uri::unparsed(text))))
            .collect::<anyhow::Result<Vec<MqttUrl>>>()?;
        let speaks_tls = urls.iter().any(|url| url.tls);
        let tls = Tls::load(&self.tls, env, speaks_tls)?;
        let config = match speaks_tls {
            true => Some(Arc::new(tls.for_rustls()?)),
            false => None,
        };
        if let Some(topic) = &self.topic {
            check_topic(topic).map_err(|why| anyhow::anyhow!("--topic: {why}"))?;
        }
        let version = match self.protocol {
            ProtocolVersion::V311 => Version::V311,
            ProtocolVersion::V5 => Version::V5,
        };
        urls.into_iter()
            .map(|url| {
                let password = url.password.clone().or_else(|| file_password.clone());
                if url.user.is_none() && password.is_some() && version == Version::V311 {
                    anyhow::bail!(
                        "'{}': MQTT 3.1.1 sends a password only with a user name: write mqtt://user@host, or use --protocol 5",
                        url.label
                    );
                }
                let topic = match (&self.topic, &url.topic) {
                    (Some(_), Some(_)) => anyhow::bail!("'{}': the URL names a topic, and so does --topic", url.label),
                    (topic, url_topic) => topic.clone().or_else(|| url_topic.clone()),
                };
                if let Some(topic) = &topic {
                    check_topic(topic).map_err(|why| anyhow::anyhow!("'{}': the topic {why}", url.label))?;
                }
                let mqtt = Mqtt {
                    host: url.host,
                    tls: url.tls.then(|| config.clone()).flatten(),
                    user: url.user,
                    password,
                    version,
                    topic,
                };
                Ok(Target { label: url.label, check: Arc::new(mqtt) })
            })
            .collect()
    }
}

/// A topic filter as brokers take it: not empty, `#` only last and alone in its level, `+`
/// alone in its level, no NUL.
fn check_topic(topic: &str) -> Result<(), &'static str> {
    if topic.is_empty() {
        return Err("is empty");
    }
    if topic.contains('\0') || topic.len() > 0xffff {
        return Err("is not a topic filter (a NUL, or longer than 65535 bytes)");
    }
    let levels: Vec<&str> = topic.split('/').collect();
    for (i, level) in levels.iter().enumerate() {
        if level.contains('#') && (*level != "#" || i + 1 != levels.len()) {
            return Err("has a '#' that is not a whole last level (as in a/#)");
        }
        if level.contains('+') && *level != "+" {
            return Err("has a '+' that is not a whole level (as in a/+/b)");
        }
    }
    Ok(())
}

struct Mqtt {
    host: net::HostPort,
    tls: Option<Arc<rustls::ClientConfig>>,
    user: Option<String>,
    password: Option<Secret>,
    version: Version,
    topic: Option<String>,
}

impl Check for Mqtt {
    fn attempt(&self, deadline: Deadline, trace: &Trace) -> Verdict {
        let mut stream = match self.open(deadline, trace) {
            Ok(stream) => stream,
            Err(why) => return Verdict::unreachable(why),
        };
        let verdict = match self.converse(&mut stream, deadline, trace) {
            Ok(verdict) => {
                // Connected: DISCONNECT, so the broker logs a normal disconnect.
                stream.set_timeout(deadline.socket_timeout());
                let _ = stream.write_all(&wire::DISCONNECT_PACKET).and_then(|()| stream.flush());
                verdict
            }
            Err(verdict) => verdict,
        };
        stream.close();
        verdict
    }
}

impl Mqtt {
    fn open(&self, deadline: Deadline, trace: &Trace) -> Result<Stream, String> {
        let socket = net::open(&Endpoint::Tcp(self.host.clone()), deadline, trace)?;
        let Some(config) = &self.tls else { return Ok(socket.into()) };
        trace.enter("tls");
        tls::handshake(socket, &self.host.host, Arc::clone(config), deadline, &PROTOCOL)
    }

    /// CONNECT, and SUBSCRIBE with --topic. `Ok` once connected (DISCONNECT is then due),
    /// whatever the verdict; `Err` when the broker did not accept the connection.
    fn converse(&self, stream: &mut Stream, deadline: Deadline, trace: &Trace) -> Result<Verdict, Verdict> {
        trace.enter("connack");
        let client_id = client_id();
        let password = self.password.as_ref().map(|p| p.expose().as_bytes());
        let connect = wire::connect(self.version, &client_id, self.user.as_deref(), password, KEEP_ALIVE);
        send(stream, &connect, deadline)?;
        let packet = read(stream, deadline, deadline.socket_timeout(), "before CONNACK", true)?;
        if packet.kind != wire::CONNACK {
            return Err(Verdict::unreachable(format!(
                "the answer is not MQTT (a packet of type {} where CONNACK was expected)",
                packet.kind
            )));
        }
        let connack = wire::parse_connack(self.version, &packet.body)
            .map_err(|why| Verdict::unreachable(format!("the answer is not MQTT ({why})")))?;
        if connack.code != 0 {
            // A 3.1.1 broker answers a 5 CONNECT in 3.1.1 (two bytes, no properties): code 1,
            // "unacceptable protocol version", in its own words.
            let answered_in = if packet.body.len() == 2 { Version::V311 } else { self.version };
            let named = named(answered_in, "CONNACK", connack.code, connack.reason.as_deref());
            return Err(Verdict::unhealthy(named));
        }
        let accepted = format!("CONNACK 0 (accepted), {}", self.version.name());
        let Some(topic) = &self.topic else { return Ok(Verdict::healthy(accepted)) };
        trace.enter("subscribe");
        send(stream, &wire::subscribe(self.version, 1, topic), deadline)?;
        let until = deadline.remaining().saturating_sub(DISCONNECT_TIME.min(deadline.remaining() / 5));
        let started = std::time::Instant::now();
        let mut subscribed = false;
        loop {
            let left = until.saturating_sub(started.elapsed());
            if left.is_zero() {
                let waited = if subscribed { "no message came" } else { "no SUBACK came" };
                let quoted = quote::escaped(topic);
                return Ok(Verdict::unhealthy(format!("{accepted}, but {waited} on {quoted} within the deadline")));
            }
            let packet = match read(stream, deadline, left, "after SUBSCRIBE", false) {
                Ok(packet) => packet,
                Err(verdict) if is_timeout(&verdict) => continue,
                Err(verdict) => return Err(verdict),
            };
            match packet.kind {
                wire::SUBACK => {
                    let (_, reason, codes) = wire::parse_suback(self.version, &packet.body)
                        .map_err(|why| Verdict::unreachable(format!("the answer is not MQTT ({why})")))?;
                    if codes[0] >= 0x80 {
                        let refused = named(self.version, "SUBACK", codes[0], reason.as_deref());
                        let quoted = quote::escaped(topic);
                        return Ok(Verdict::unhealthy(format!("{accepted}, but the subscription to {quoted} was refused: {refused}")));
                    }
                    subscribed = true;
                    trace.enter("message");
                    // A broker writes SUBACK and a retained message one after the other, and
                    // Nagle holds the message until SUBACK is acknowledged, which Linux delays by
                    // 40 ms. PINGREQ carries the acknowledgement at once; its PINGRESP is skipped.
                    send(stream, &wire::PINGREQ_PACKET, deadline)?;
                }
                wire::PUBLISH => {
                    let (on, size) = wire::parse_publish(self.version, packet.flags, &packet.body, packet.length)
                        .map_err(|why| Verdict::unreachable(format!("the answer is not MQTT ({why})")))?;
                    let retained = if packet.flags & 1 != 0 { "retained " } else { "" };
                    return Ok(Verdict::healthy(format!(
                        "{accepted}, a {retained}message on {} ({size} bytes)",
                        quote::peer(&on)
                    )));
                }
                wire::DISCONNECT => {
                    let code = packet.body.first().copied().unwrap_or(0);
                    return Err(Verdict::unhealthy(format!("the broker disconnected: {}", named(self.version, "DISCONNECT", code, None))));
                }
                _ => {}
            }
        }
    }

}

/// A code with its name, and the broker's reason string when it gave one.
fn named(version: Version, packet: &str, code: u8, reason: Option<&str>) -> String {
    let code_text = if code < 10 { code.to_string() } else { format!("0x{code:02X}") };
    let mut out = format!("{packet} {code_text} ({})", wire::code_name(version, code));
    if let Some(reason) = reason {
        out.push_str(&format!(": {}", quote::peer(reason)));
    }
    out
}

fn send(stream: &mut Stream, bytes: &[u8], deadline: Deadline) -> Result<(), Verdict> {
    stream.set_timeout(deadline.socket_timeout());
    stream.write_all(bytes).and_then(|()| stream.flush()).map_err(|err| Verdict::unreachable(net::describe(&err)))
}

/// The next packet within `timeout`.
fn read(
    stream: &mut Stream,
    deadline: Deadline,
    timeout: Duration,
    when: &str,
    first: bool,
) -> Result<wire::Packet, Verdict> {
    stream.set_timeout(timeout.min(deadline.socket_timeout()));
    wire::read_packet(stream, first).map_err(|failure| {
        Verdict::unreachable(match failure {
            Failure::Closed => format!("connection closed by peer {when}"),
            Failure::Io(err) => net::describe(&err),
            Failure::NotMqtt(what) => format!("the answer is not MQTT ({what})"),
            Failure::SpeaksTls => PROTOCOL.speaks_tls(),
        })
    })
}

fn is_timeout(verdict: &Verdict) -> bool {
    verdict.message == "timed out"
}

/// `probe-` and 16 random lowercase letters and digits: 22 characters, within the 23 every 3.1.1
/// broker must accept.
fn client_id() -> String {
    const ALPHABET: &[u8; 36] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut random = [0u8; 16];
    // SAFETY: getrandom(2) writes at most `len` bytes into the buffer it is given.
    let filled = unsafe { libc::getrandom(random.as_mut_ptr().cast(), random.len(), 0) };
    if filled != random.len() as isize {
        // No getrandom (a very old kernel): the time and pid still differ between probes.
        let seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos()
            ^ u128::from(std::process::id()) << 64;
        random.copy_from_slice(&seed.to_le_bytes());
    }
    let mut id = "probe-".to_owned();
    id.extend(random.iter().map(|&b| ALPHABET[usize::from(b) % ALPHABET.len()] as char));
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_ids_are_random_and_short_enough_for_3_1_1() {
        let (a, b) = (client_id(), client_id());
        assert_ne!(a, b);
        assert!(a.starts_with("probe-") && a.len() == 22, "{a}");
    }

    #[test]
    fn codes_are_named_in_the_version_the_broker_answered_in() {
        assert_eq!(named(Version::V311, "CONNACK", 1, None), "CONNACK 1 (unacceptable protocol version)");
        assert_eq!(
            named(Version::V5, "CONNACK", 0x88, Some("down\nnow")),
            "CONNACK 0x88 (server unavailable): down\\nnow"
        );
    }

    #[test]
    fn topics_are_checked_as_brokers_check_them() {
        for good in ["$SYS/broker/uptime", "a/#", "#", "a/+/b", "+"] {
            assert!(check_topic(good).is_ok(), "{good}");
        }
        for bad in ["", "a/#/b", "a#", "a+/b", "a\0"] {
            assert!(check_topic(bad).is_err(), "{bad}");
        }
    }
}
