//! The `memcached_answers` and `memcached_target` fuzz targets' checks: a server's bytes read
//! as a text line and as a binary response, bounded, without panic, quoted on one line; a
//! target's password never in its label or usage error.

use super::{
    target::MemcachedTarget,
    wire::{self, Line},
};
use crate::fuzzing::{LONGEST_INPUT, ReadPassword, Show, assert_hidden, command_line, text};

/// A server's answer, as the text protocol's line and as a binary response.
pub fn answers(data: &[u8]) {
    let data = &data[..data.len().min(LONGEST_INPUT)];
    if let Ok(Line::Version(shown) | Line::Error(shown)) = wire::read_line(&mut &data[..]) {
        assert!(!shown.contains(['\n', '\r', '\0', '\x1b']), "{shown:?}");
    }
    if let Some(line) = data.split(|&b| b == b'\n').next() {
        let _ = wire::parse_line(line);
    }
    if let Ok(response) = wire::read_response(&mut &data[..]) {
        assert!(response.value.len() <= 4096, "a body past the bound was read");
    }
}

/// Targets: the password never in the label or the message that refuses the target.
pub fn target(data: &[u8]) {
    let Some(text) = text(data) else { return };
    let show: &Show<'_> = &|text: &str| match MemcachedTarget::parse(text) {
        Ok(target) => target.label,
        Err(why) => why,
    };
    let read: &ReadPassword<'_> =
        &|text: &str| Some(MemcachedTarget::parse(text).ok()?.password?.expose().to_owned());
    let lenient: &ReadPassword<'_> = &|text: &str| {
        crate::uri::Uri::parse(text, crate::uri::Userinfo::LastAt)?.password().map(str::to_owned)
    };
    if let Some(password) = lenient(text) {
        assert_hidden("memcached", text, &password, &show(text), lenient, show);
    }
    match read(text) {
        Some(password) => {
            assert_hidden("memcached", text, &password, &show(text), read, show);
            command_line("memcached", text, Some((&password, read)));
        }
        None => command_line("memcached", text, None),
    }
}
