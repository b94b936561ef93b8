//! The `nats_answers` and `nats_url` fuzz targets' checks: the server's lines read the same
//! whatever sizes the bytes arrive in, every reading described on one line; no password or token
//! of a NATS URL (or list of them) in any label or message.

use super::{
    url,
    wire::{Failure, Line, Lines},
};
use crate::{
    fuzzing::{LONGEST_INPUT, ReadPassword, Show, Trickle, assert_hidden, command_line, text},
    uri,
};

fn read_all(data: &[u8], step: usize) -> Vec<String> {
    let mut reader = Trickle { data, step };
    let mut lines = Lines::default();
    let mut out = Vec::new();
    for _ in 0..64 {
        match lines.next(&mut reader) {
            Ok(line) => {
                let described = match &line {
                    Line::Err(text) => crate::quote::peer(text),
                    other => format!("{other:?}"),
                };
                out.push(described);
                if matches!(line, Line::Pong) {
                    break;
                }
            }
            Err(failure) => {
                let described = match failure {
                    Failure::NotNats(what) => {
                        assert!(!what.contains(['\n', '\r', '\0']), "{what:?}");
                        what
                    }
                    other => format!("{other:?}"),
                };
                out.push(described);
                break;
            }
        }
    }
    out
}

/// What a server sends, read through reads of any size: the same lines, each shown on one line.
pub fn answers(data: &[u8]) {
    let data = &data[..data.len().min(LONGEST_INPUT * 2)];
    let Some((&step, stream)) = data.split_first() else { return };
    let whole = read_all(stream, usize::MAX);
    let small = read_all(stream, usize::from(step).max(1));
    assert_eq!(whole, small, "the read size changed what was read");
    if let Ok(text) = std::str::from_utf8(stream) {
        let _ = super::wire::parse_info(text);
    }
}

/// NATS URLs and lists of them: every password and token hidden from the label and the usage
/// error.
pub fn url(data: &[u8]) {
    let Some(text) = text(data) else { return };
    let show: &Show<'_> = &|text: &str| match url::parse(text, false) {
        Ok(url) => url.label,
        Err(why) => format!("'{}': {why}", uri::unparsed(text)),
    };
    let read: &ReadPassword<'_> = &|text: &str| {
        let parsed = url::parse(text, false).ok()?;
        parsed.servers.into_iter().find_map(|server| match server.login {
            url::Login::User { password, .. } => password.map(|p| p.expose().to_owned()),
            url::Login::Token(token) => Some(token.expose().to_owned()),
            url::Login::None => None,
        })
    };
    let Some(password) = read(text) else { return };
    assert_hidden("nats", text, &password, &show(text), read, show);
    command_line("nats", text, Some((&password, read)));
}
