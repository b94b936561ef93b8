//! The `mqtt_packets` and `mqtt_url` fuzz targets' checks: packets read the same whatever sizes
//! the bytes arrive in, each parsed without panic; no password of an MQTT URL in any label or
//! message.

use super::{url, wire};
use crate::{
    fuzzing::{LONGEST_INPUT, ReadPassword, Show, Trickle, assert_hidden, command_line, text},
    uri,
};

fn read_all(data: &[u8], step: usize) -> Vec<String> {
    let mut reader = Trickle { data, step };
    let mut out = Vec::new();
    for i in 0..64 {
        match wire::read_packet(&mut reader, i == 0) {
            Ok(packet) => {
                assert!(packet.body.len() <= wire::KEPT && packet.body.len() <= packet.length);
                for version in [wire::Version::V311, wire::Version::V5] {
                    if let Ok(connack) = wire::parse_connack(version, &packet.body) {
                        let _ = wire::code_name(version, connack.code);
                        if let Some(reason) = connack.reason {
                            assert!(!crate::quote::peer(reason).contains(['\n', '\r']));
                        }
                    }
                    let _ = wire::parse_suback(version, &packet.body);
                    if let Ok((_, size)) = wire::parse_publish(version, packet.flags, &packet.body, packet.length) {
                        assert!(size <= packet.length);
                    }
                }
                out.push(format!("{packet:?}"));
            }
            Err(failure) => {
                out.push(match failure {
                    wire::Failure::Io(err) => format!("io {:?}", err.kind()),
                    other => format!("{other:?}"),
                });
                break;
            }
        }
    }
    out
}

/// What a broker sends, read through reads of any size: the same packets.
pub fn packets(data: &[u8]) {
    let data = &data[..data.len().min(LONGEST_INPUT * 2)];
    let Some((&step, stream)) = data.split_first() else { return };
    assert_eq!(read_all(stream, usize::MAX), read_all(stream, usize::from(step).max(1)));
}

/// MQTT URLs: the password hidden from the label and the usage error.
pub fn url(data: &[u8]) {
    let Some(text) = text(data) else { return };
    let show: &Show<'_> = &|text: &str| match url::parse(text) {
        Ok(url) => url.label,
        Err(why) => format!("'{}': {why}", uri::unparsed(text)),
    };
    let read: &ReadPassword<'_> = &|text: &str| Some(url::parse(text).ok()?.password?.expose().to_owned());
    let Some(password) = read(text) else { return };
    assert_hidden("mqtt", text, &password, &show(text), read, show);
    command_line("mqtt", text, Some((&password, read)));
}
