//! AMQP URLs as RabbitMQ's URI specification reads them (rabbitmq.com/uri-spec.html and
//! uri-query-parameters.html): `amqp[s]://[user[:password]@]host[:port][/vhost][?query]`, parts
//! percent-encoded, absent parts taking the defaults (guest, guest, port 5672 or 5671, vhost `/`).
//! `uri` splits and decodes the text (RFC 3986: the user part ends at the last `@` of the
//! authority) and builds the label; the spec's defaults, the vhost and the query's meaning are
//! read here. One difference, as pika and kombu read the URLs of the apps probe stands in for:
//! an empty vhost (`amqp://host/`) and `//` mean `/`, where the specification reads the vhost
//! `""`. No error message quotes a part of the text that could hold a secret.

use std::{path::PathBuf, time::Duration};

use crate::{
    net::parse_port,
    quote,
    secret::{Secret, printable_name},
    uri::{self, Uri, Userinfo},
};

/// One broker to log in to, and how.
#[derive(Debug, PartialEq, Eq)]
pub struct AmqpUrl {
    pub tls: bool,
    /// Without brackets, even when an IPv6 address.
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: Secret,
    pub vhost: String,
    pub heartbeat: Option<u16>,
    pub connection_timeout: Option<Duration>,
    pub channel_max: Option<u16>,
    pub frame_max: Option<u32>,
    /// `auth_mechanism`, in order of preference; empty means PLAIN.
    pub mechanisms: Vec<Mechanism>,
    pub cacertfile: Option<PathBuf>,
    pub certfile: Option<PathBuf>,
    pub keyfile: Option<PathBuf>,
    /// `verify=verify_none` turns verification off; `verify_peer` (or nothing) keeps it on.
    pub verify: bool,
    /// `server_name_indication`: a name to send and verify instead of the host, or `disable`.
    pub server_name: Option<ServerName>,
    /// The URL as printed: its password, in the user part or a secret-named parameter, masked.
    pub label: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mechanism {
    Plain,
    AmqPlain,
    External,
}

impl Mechanism {
    /// The name in Connection.Start's mechanisms and StartOk's mechanism.
    pub fn name(self) -> &'static str {
        match self {
            Mechanism::Plain => "PLAIN",
            Mechanism::AmqPlain => "AMQPLAIN",
            Mechanism::External => "EXTERNAL",
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum ServerName {
    Disable,
    Name(String),
}

pub const USAGE: &str = "amqp://user:password@host:port/vhost or amqps://…";

/// Reads an AMQP URL; the error says what is wrong, without the URL.
pub fn parse(text: &str) -> Result<AmqpUrl, String> {
    let uri = Uri::parse(text, Userinfo::LastAt).ok_or_else(|| format!("not an AMQP URL; write it as {USAGE}"))?;
    let tls = match uri.scheme().to_ascii_lowercase().as_str() {
        "amqp" => false,
        "amqps" => true,
        other => return Err(format!("'{other}://' is not an AMQP scheme; write it as {USAGE}")),
    };
    // An '@' after the authority means a password with an unencoded '/', '?' or '#'.
    if uri.stray_at() {
        return Err(uri::STRAY_AT.to_owned());
    }
    let password = match uri.password() {
        Some(password) => Secret::new(decode(password, "password")?),
        None => Secret::new("guest"),
    };
    let user = match uri.user() {
        Some(user) => decode(user, "user name")?,
        None => "guest".to_owned(),
    };
    let (host, port) = host_port(uri.hosts())?;
    let mut url = AmqpUrl {
        tls,
        host,
        port: port.unwrap_or(if tls { 5671 } else { 5672 }),
        user,
        password,
        vhost: vhost(uri.path())?,
        heartbeat: None,
        connection_timeout: None,
        channel_max: None,
        frame_max: None,
        mechanisms: Vec::new(),
        cacertfile: None,
        certfile: None,
        keyfile: None,
        verify: true,
        server_name: None,
        label: uri.label([]),
    };
    for param in uri.params() {
        url.set(param.name, param.value.unwrap_or_default())?;
    }
    Ok(url)
}

/// A part of the URL, percent-decoded.
fn decode(text: &str, what: &str) -> Result<String, String> {
    uri::decode(text).map(|text| text.into_owned()).map_err(|why| format!("the {what} {why}"))
}

/// `host[:port]`, an IPv6 address in brackets; an empty host is `localhost`, as the Erlang
/// client and pika read it.
fn host_port(text: &str) -> Result<(String, Option<u16>), String> {
    let bracketed = text.starts_with('[');
    let (host, port) = uri::split_host_port(text)?;
    let host = match bracketed {
        true => host.to_owned(),
        false => decode(host, "host")?,
    };
    if !bracketed && !host.is_empty() && !uri::is_host_name(&host) {
        return Err("the host is not a host name or IP address".to_owned());
    }
    let host = if host.is_empty() { "localhost".to_owned() } else { host };
    Ok((host, port.filter(|port| !port.is_empty()).map(parse_port).transpose()?))
}

/// The path after the authority as a vhost: `/` when absent, empty or `//` (pika's reading);
/// otherwise one percent-decoded segment, so a vhost with a `/` in it is written `%2F`.
fn vhost(path: &str) -> Result<String, String> {
    let segment = match path {
        "" | "/" | "//" => return Ok("/".to_owned()),
        path => &path[1..],
    };
    if segment.contains('/') {
        return Err(format!(
            "the vhost '{}' has a '/' in it; write it as '{}', each '/' as %2F",
            quote::escaped(segment),
            quote::escaped(&segment.replace('/', "%2F"))
        ));
    }
    let vhost = decode(segment, "vhost")?;
    if vhost.len() > 255 {
        return Err("the vhost is longer than AMQP's 255 bytes".to_owned());
    }
    Ok(if vhost.is_empty() { "/".to_owned() } else { vhost })
}

impl AmqpUrl {
    /// One query parameter, from RabbitMQ's list (uri-query-parameters.html) plus pika's
    /// `frame_max`. An unknown one is an error, so a typo is not silently ignored.
    fn set(&mut self, key: &str, value: &str) -> Result<(), String> {
        let value = decode(value, &format!("value of {}", printable_name(key)))?;
        let shown = quote::escaped(&value);
        let number = |max: u64| -> Result<u64, String> {
            value
                .parse::<u64>()
                .ok()
                .filter(|n| *n <= max)
                .ok_or_else(|| format!("{key}={shown}: a whole number from 0 to {max} is expected"))
        };
        let needs_tls = || -> Result<(), String> {
            match self.tls {
                true => Ok(()),
                false => Err(format!("{key} is a TLS setting: use an amqps:// URL")),
            }
        };
        match key {
            "heartbeat" => self.heartbeat = Some(number(u16::MAX.into())? as u16),
            "connection_timeout" => {
                let ms = number(u32::MAX.into())?;
                if ms == 0 {
                    return Err("connection_timeout=0: milliseconds, more than 0".to_owned());
                }
                self.connection_timeout = Some(Duration::from_millis(ms));
            }
            "channel_max" => self.channel_max = Some(number(u16::MAX.into())? as u16),
            "frame_max" => {
                let bytes = number(u32::MAX.into())? as u32;
                // frame-min-size: no peer may limit frames to less (amqp0-9-1.xml).
                if bytes != 0 && bytes < 4096 {
                    return Err(format!("frame_max={bytes}: at least 4096 (AMQP's frame-min-size), or 0"));
                }
                self.frame_max = Some(bytes);
            }
            "auth_mechanism" => self.mechanisms.push(match value.to_ascii_lowercase().as_str() {
                "plain" => Mechanism::Plain,
                "amqplain" => Mechanism::AmqPlain,
                "external" => Mechanism::External,
                _ => return Err(format!("auth_mechanism={shown}: plain, amqplain or external")),
            }),
            "cacertfile" | "certfile" | "keyfile" => {
                needs_tls()?;
                if value.is_empty() {
                    return Err(format!("{key} names no file"));
                }
                let path = Some(PathBuf::from(&value));
                match key {
                    "cacertfile" => self.cacertfile = path,
                    "certfile" => self.certfile = path,
                    _ => self.keyfile = path,
                }
            }
            "verify" => {
                needs_tls()?;
                self.verify = match value.as_str() {
                    "verify_peer" => true,
                    "verify_none" => false,
                    _ => return Err(format!("verify={shown}: verify_peer or verify_none")),
                };
            }
            "server_name_indication" => {
                needs_tls()?;
                self.server_name = Some(match value.as_str() {
                    "disable" => ServerName::Disable,
                    "" => return Err("server_name_indication names no host".to_owned()),
                    name => ServerName::Name(name.to_owned()),
                });
            }
            // Erlang's ssl options with no meaning for this client: a server-side setting, and
            // a chain-length limit (rustls bounds chains itself).
            "fail_if_no_peer_cert" | "depth" => needs_tls()?,
            "password" => {
                return Err(
                    "password= (for an encrypted keyfile) is not supported: give an unencrypted key".into()
                );
            }
            _ => {
                return Err(format!(
                    "unknown query parameter '{}' (known: heartbeat, connection_timeout, channel_max, \
                     frame_max, auth_mechanism, cacertfile, certfile, keyfile, verify, server_name_indication, \
                     fail_if_no_peer_cert, depth)",
                    printable_name(key)
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> AmqpUrl {
        parse(text).unwrap_or_else(|err| panic!("{text}: {err}"))
    }

    #[test]
    fn the_uri_specs_examples() {
        // rabbitmq.com/uri-spec.html, "Appendix A: Examples".
        let cases = [
            ("amqp://user:pass@host:10000/vhost", "user", "pass", "host", 10000, "vhost"),
            ("amqp://user%61:%61pass@ho%61st:10000/v%2fhost", "usera", "apass", "hoast", 10000, "v/host"),
            ("amqp://", "guest", "guest", "localhost", 5672, "/"),
            ("amqp://:@/", "", "", "localhost", 5672, "/"),
            ("amqp://user@", "user", "guest", "localhost", 5672, "/"),
            ("amqp://user:pass@", "user", "pass", "localhost", 5672, "/"),
            ("amqp://host", "guest", "guest", "host", 5672, "/"),
            ("amqp://:10000", "guest", "guest", "localhost", 10000, "/"),
            ("amqp://[::1]", "guest", "guest", "::1", 5672, "/"),
            ("amqp://[::1]:5673/x", "guest", "guest", "::1", 5673, "x"),
            ("amqps://host", "guest", "guest", "host", 5671, "/"),
            ("AMQP://host/%2F", "guest", "guest", "host", 5672, "/"),
        ];
        for (text, user, password, host, port, vhost) in cases {
            let u = url(text);
            assert_eq!(
                (u.user.as_str(), u.password.expose(), u.host.as_str(), u.port, u.vhost.as_str()),
                (user, password, host, port, vhost),
                "{text}"
            );
        }
    }

    #[test]
    fn empty_and_double_slash_vhosts_are_slash_as_pika_reads_them() {
        for text in ["amqp://h:5672/", "amqp://h:5672//", "amqp://h:5672/%2F", "amqp://h:5672"] {
            assert_eq!(url(text).vhost, "/", "{text}");
        }
        assert_eq!(url("amqp://h/%2Fdev").vhost, "/dev");
        assert_eq!(url("amqp://h/orders?heartbeat=5").vhost, "orders");
    }

    #[test]
    fn query_parameters() {
        let u = url("amqps://h/?heartbeat=10&connection_timeout=2500&channel_max=7&frame_max=8192\
             &auth_mechanism=external&auth_mechanism=PLAIN&cacertfile=/ca.pem&certfile=/c.pem\
             &keyfile=/c.key&verify=verify_none&server_name_indication=rabbit.svc&depth=3\
             &fail_if_no_peer_cert=true");
        assert_eq!(u.heartbeat, Some(10));
        assert_eq!(u.connection_timeout, Some(Duration::from_millis(2500)));
        assert_eq!((u.channel_max, u.frame_max), (Some(7), Some(8192)));
        assert_eq!(u.mechanisms, [Mechanism::External, Mechanism::Plain]);
        assert_eq!(u.cacertfile, Some(PathBuf::from("/ca.pem")));
        assert_eq!((u.certfile.is_some(), u.keyfile.is_some(), u.verify), (true, true, false));
        assert_eq!(u.server_name, Some(ServerName::Name("rabbit.svc".into())));
        assert_eq!(url("amqps://h?server_name_indication=disable").server_name, Some(ServerName::Disable));
    }

    #[test]
    fn mistakes_are_explained() {
        let cases = [
            ("http://h/", "'http://' is not an AMQP scheme"),
            ("rabbit:5672", "not an AMQP URL"),
            ("amqp://h:0/", "'0' is not a port"),
            ("amqp://h:port/", "the port is not a number"),
            // A password with an unencoded delimiter, or without its host: never quoted.
            ("amqp://u:hunter2#x@h/", "an '@' comes after the host"),
            ("amqp://u:123/hunter2@h/x", "an '@' comes after the host"),
            ("amqp://u:hun?ter2@h/x", "an '@' comes after the host"),
            ("amqp://u:hunter2", "the port is not a number"),
            ("amqp://u:%zzhunter2@h/", "the password has a '%' not followed by two hex digits"),
            ("amqp://h/?hunter2%21=1", "unknown query parameter '…'"),
            ("amqp://[::1/", "closing ']'"),
            ("amqp://a b/", "not a host name"),
            ("amqp://h/a/b", "write it as 'a%2Fb'"),
            ("amqp://h/%zz", "two hex digits"),
            ("amqp://h/?heartbeet=5", "unknown query parameter 'heartbeet'"),
            ("amqp://h/?heartbeat=-1", "heartbeat=-1: a whole number"),
            ("amqp://h/?channel_max=70000", "channel_max=70000"),
            ("amqp://h/?frame_max=100", "at least 4096"),
            ("amqp://h/?connection_timeout=0", "more than 0"),
            ("amqp://h/?auth_mechanism=scram", "plain, amqplain or external"),
            ("amqp://h/?cacertfile=/ca.pem", "cacertfile is a TLS setting: use an amqps:// URL"),
            ("amqps://h/?verify=maybe", "verify_peer or verify_none"),
            ("amqps://h/?password=hunter2", "not supported"),
        ];
        for (text, expected) in cases {
            let err = parse(text).expect_err(text);
            assert!(err.contains(expected), "{text}: {err}");
            assert!(!err.contains("hunter2"), "{err}");
        }
        let long = format!("amqp://h/{}", "v".repeat(256));
        assert!(parse(&long).unwrap_err().contains("255 bytes"));
    }

    #[test]
    fn labels_hide_passwords() {
        assert_eq!(url("amqp://app:s3cret@h/v").label, "amqp://app:***@h/v");
        assert_eq!(url("amqp://app:s3@cret@h/v").label, "amqp://app:***@h/v");
        assert_eq!(url("amqp://app:s3@cret@h/v").password.expose(), "s3@cret");
        assert_eq!(format!("{:?}", url("amqp://app:s3cret@h/").password), "***");
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn any_text_parses_or_says_why_in_one_line(text in "(amqps?://)?[ -~]{0,60}") {
            if let Err(why) = parse(&text) {
                prop_assert!(!why.is_empty() && !why.contains('\n'));
            }
        }

        #[test]
        fn encoded_parts_read_back(
            user in "[ -~]{0,12}", password in "[ -~]{1,12}", vhost in "[ -~]{1,20}", port in 1u16..,
        ) {
            let encode = |text: &str| text.bytes().map(|b| format!("%{b:02X}")).collect::<String>();
            let text = format!("amqp://{}:{}@rabbit:{port}/{}", encode(&user), encode(&password), encode(&vhost));
            let u = parse(&text).unwrap();
            prop_assert_eq!(&u.user, &user);
            prop_assert_eq!(u.password.expose(), password.as_str());
            prop_assert_eq!(&u.vhost, &vhost);
            prop_assert_eq!(u.port, port);
            let shown = format!("amqp://{}:***@rabbit:{port}/{}", encode(&user), encode(&vhost));
            prop_assert_eq!(u.label, shown);
        }
    }
}
