//! MQTT URLs: `mqtt://[user:password@]host[:1883]` and `mqtts://host[:8883]` (TLS), paho's
//! `tcp://` and `ssl://` read as the same, and mosquitto_sub's `-L` form, whose path is the topic
//! (`mqtt://host/$SYS/broker/uptime`). Read by `uri`; the label masks the password. No error
//! message holds any part of the text.

use crate::{
    net::{HostPort, parse_port},
    secret::Secret,
    uri::{self, Uri, Userinfo},
};

#[derive(Debug, PartialEq, Eq)]
pub struct MqttUrl {
    pub host: HostPort,
    pub tls: bool,
    pub user: Option<String>,
    pub password: Option<Secret>,
    /// The path without its first `/`, decoded: mosquitto_sub -L's topic.
    pub topic: Option<String>,
    pub label: String,
}

const USAGE: &str = "write it as mqtt://[user:password@]host[:port][/topic], mqtts://… (TLS), tcp:// or ssl://";

pub fn parse(text: &str) -> Result<MqttUrl, String> {
    let uri = Uri::parse(text, Userinfo::LastAt).ok_or(format!("not an MQTT URL; {USAGE}"))?;
    let tls = match uri.scheme().to_ascii_lowercase().as_str() {
        "mqtt" | "tcp" => false,
        "mqtts" | "ssl" => true,
        "ws" | "wss" => return Err("MQTT over websockets (ws://, wss://) is not spoken; use the MQTT port".to_owned()),
        _ => return Err(format!("not an MQTT URL: the scheme is none of mqtt://, mqtts://, tcp://, ssl://; {USAGE}")),
    };
    if uri.stray_at() {
        return Err(uri::STRAY_AT.to_owned());
    }
    if uri.query().is_some() || uri.fragment().is_some() {
        return Err(format!("an MQTT URL has no query (write a '#' in a topic as %23); {USAGE}"));
    }
    let bracketed = uri.hosts().starts_with('[');
    let (host, port) = uri::split_host_port(uri.hosts())?;
    if !bracketed && !host.is_empty() && !uri::is_host_name(host) {
        return Err("the host is not a host name or IP address (is there a ':' or '@' in the password? \
                    write them as %3A and %40)"
            .to_owned());
    }
    let port = match port {
        None | Some("") => if tls { 8883 } else { 1883 },
        Some(port) => parse_port(port)?,
    };
    let host = HostPort { host: if host.is_empty() { "127.0.0.1".to_owned() } else { host.to_owned() }, port };
    let decoded = |raw: &str, what: &str| -> Result<Option<String>, String> {
        if raw.is_empty() {
            return Ok(None);
        }
        uri::decode(raw).map(|text| Some(text.into_owned())).map_err(|why| format!("the {what} {why}"))
    };
    let user = decoded(uri.user().unwrap_or_default(), "user name")?;
    let password = decoded(uri.password().unwrap_or_default(), "password")?.map(Secret::new);
    let topic = decoded(uri.path().strip_prefix('/').unwrap_or_default(), "topic")?;
    Ok(MqttUrl { host, tls, user, password, topic, label: uri.label([]) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_scheme_and_its_port() {
        for (text, port, tls) in [
            ("mqtt://broker", 1883, false),
            ("tcp://broker", 1883, false),
            ("mqtts://broker", 8883, true),
            ("ssl://broker:9", 9, true),
        ] {
            let url = parse(text).expect(text);
            assert_eq!((url.host.port, url.tls), (port, tls), "{text}");
        }
        let url = parse("mqtt://app:p%40ss@[::1]:1884/$SYS/broker/uptime").unwrap();
        assert_eq!(url.host.to_string(), "[::1]:1884");
        assert_eq!((url.user.as_deref(), url.password.unwrap().expose()), (Some("app"), "p@ss"));
        assert_eq!(url.topic.as_deref(), Some("$SYS/broker/uptime"));
        assert_eq!(url.label, "mqtt://app:***@[::1]:1884/$SYS/broker/uptime");
        assert_eq!(parse("mqtt://h/a%23").unwrap().topic.as_deref(), Some("a#"));
    }

    #[test]
    fn what_is_refused_is_not_quoted() {
        for text in ["http://h", "mqtt://h?x=secret1", "ws://h", "mqtt://u:secret1/x@h", "mqtt://h:secret1"] {
            let why = parse(text).unwrap_err();
            assert!(!why.contains("secret1"), "{why}");
        }
    }
}
