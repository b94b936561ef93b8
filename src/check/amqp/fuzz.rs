//! The `amqp_url` and `amqp_frames` fuzz targets' checks: no password in any label or usage
//! error, whichever way the URL is written, and frames as a broker sends them read without
//! panic, what probe quotes of them on one line.

use std::io::Cursor;

use super::{
    url::parse,
    wire::{FRAME_METHOD, Method, close, close_ok, parse_method, read_frame},
};
use crate::{
    fuzzing::{LONGEST_INPUT, ReadPassword, Show, assert_hidden, command_line, text},
    uri::{self, Uri, Userinfo},
};

/// AMQP URLs: the password probe reads (the defaults aside), and the one a plain URL reading
/// sees in a text probe refuses, never shown in the label or the usage error.
pub fn url(data: &[u8]) {
    let Some(text) = text(data) else { return };
    let show: &Show<'_> = &|text: &str| match parse(text) {
        Ok(url) => url.label,
        Err(why) => format!("'{}': {why}", uri::unparsed(text)),
    };
    let lenient: &ReadPassword<'_> = &|text: &str| Uri::parse(text, Userinfo::LastAt)?.password().map(str::to_owned);
    if let Some(password) = lenient(text) {
        assert_hidden("amqp", text, &password, &show(text), lenient, show);
    }
    let Ok(url) = parse(text) else { return };
    let read: &ReadPassword<'_> = &|text: &str| parse(text).ok().map(|url| url.password.expose().to_owned());
    assert_hidden("amqp", text, url.password.expose(), &show(text), read, show);
    if url.cacertfile.is_none() && url.certfile.is_none() && url.keyfile.is_none() {
        command_line("amqp", text, Some((url.password.expose(), read)));
    }
}

/// AMQP frames as a broker sends them, and the connection methods in them, any error about
/// them on one line; a Connection.Close written by the client reads back as itself.
pub fn frames(data: &[u8]) {
    let data = &data[..data.len().min(LONGEST_INPUT)];
    let _ = parse_method(data);
    let mut stream = Cursor::new(data);
    for _ in 0..64 {
        match read_frame(&mut stream) {
            Ok(frame) if frame.kind == FRAME_METHOD => {
                if let Ok(Method::Start { server, .. }) = parse_method(&frame.payload) {
                    let _ = server.describe();
                }
            }
            Ok(_) => {}
            Err(err) => {
                let said = err.to_string();
                assert!(!said.contains(['\n', '\r', '\0', '\x1b']), "{said:?}");
                break;
            }
        }
    }
    let code = u16::from_be_bytes([data.first().copied().unwrap_or(0), data.get(1).copied().unwrap_or(0)]);
    let reason = String::from_utf8_lossy(data.get(2..).unwrap_or_default());
    let mut cut = reason.len().min(255);
    while !reason.is_char_boundary(cut) {
        cut -= 1;
    }
    let reason = &reason[..cut];
    let written = close(code, reason);
    let frame = read_frame(&mut Cursor::new(&written)).expect("a frame probe wrote");
    assert_eq!((frame.kind, frame.channel), (FRAME_METHOD, 0));
    assert_eq!(parse_method(&frame.payload).ok(), Some(Method::Close { code, text: reason.to_owned() }));
    let frame = read_frame(&mut Cursor::new(close_ok())).expect("a frame probe wrote");
    assert_eq!(parse_method(&frame.payload).ok(), Some(Method::CloseOk));
}
