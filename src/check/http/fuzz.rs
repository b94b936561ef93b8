//! The fuzz targets of `probe http` (`fuzz/fuzz_targets/{status_list,http_location,http_answer}.rs`
//! call these): what must hold for every input. `cargo test` replays the committed inputs
//! through them (`fuzzing::TARGETS`). Not an API: nothing in the binary calls it.

use std::io::{BufRead, BufReader, Read, Write};
use std::time::Duration;

use super::{
    location, request,
    status::StatusSet,
    target,
    wire::{Body, Connection, Framing, read_head},
};
use crate::{
    fuzzing::{LONGEST_INPUT, ReadPassword, assert_hidden, command_line, text},
    net, uri,
};

/// `--status`: agrees with a plain reading of `CODE` and `LOW-HIGH` items, 100 to 599.
pub fn status_list(data: &[u8]) {
    let Some(text) = text(data) else { return };
    let code = |part: &str| {
        let part = part.trim();
        let digits = part.strip_prefix('+').unwrap_or(part);
        (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
            .then(|| digits.trim_start_matches('0'))
            .filter(|d| d.len() <= 3)
            .and_then(|d| d.parse::<u16>().ok())
            .filter(|code| (100..=599).contains(code))
    };
    let reference: Option<Vec<(u16, u16)>> = text
        .split(',')
        .map(|item| match item.split_once('-') {
            Some((low, high)) => Some((code(low)?, code(high)?)).filter(|(low, high)| low <= high),
            None => code(item).map(|code| (code, code)),
        })
        .collect();
    let parsed = text.parse::<StatusSet>().ok().map(|set| format!("{set:?}"));
    assert_eq!(parsed, reference.map(|ranges| format!("StatusSet({ranges:?})")), "--status {text:?}");
}

/// A URL, three ways. As a `Location`, Go's reading never panics, a host it names is its own
/// host name's superset, and it is shown in one line without the password Go reads in it. As
/// a URL given on the command line, its password (the one the `url` crate sends) is in no
/// label or message. As `-H`, its value is in no message.
pub fn http_location(data: &[u8]) {
    let Some(text) = text(data) else { return };
    if let Ok(reference) = location::parse(text)
        && let Some(host) = &reference.host
    {
        assert!(host.contains(location::hostname(host)), "{host:?}");
    }
    let shown = target::shown_location(text);
    assert!(!shown.contains(['\n', '\r']), "{text:?} shown as {shown:?}");
    let read: &ReadPassword<'_> = &|text| {
        let url = target::parse(text).ok()?.hop.url;
        Some(uri::decode(url.password()?).ok()?.into_owned())
    };
    if let Some(password) = read(text) {
        assert_hidden("http Location", text, &password, &shown, read, &target::shown_location);
        command_line("http", text, Some((&password, read)));
    } else {
        command_line("http", text, None);
    }
    if let Some((name, value)) = text.split_once(':')
        && let Err(why) = request::read(&[text.to_owned()])
        && value.trim().len() >= 4
        && !name.contains(value.trim())
        && !text.starts_with('@')
    {
        // Counted against the message for other letters there: the fixed words may hold the
        // value by chance (`heade` in "a header name").
        let value = value.trim();
        let other = if value.contains('Q') { "Z" } else { "Q" }.repeat(value.chars().count());
        let baseline = request::read(&[text.replacen(value, &other, 1)]).err().map(|why| why.to_string());
        let by_chance = baseline.map_or(0, |why| why.matches(value).count());
        assert!(why.to_string().matches(value).count() <= by_chance, "-H {text:?}: {why}");
    }
}

/// An HTTP answer as a server sends it, over a real loopback socket: the head (1xx skipped),
/// the framing Go would choose, then the body; a body of a given length is that long.
pub fn http_answer(data: &[u8]) {
    use std::net::{Shutdown, TcpListener, TcpStream};
    use std::sync::OnceLock;
    static LISTENER: OnceLock<TcpListener> = OnceLock::new();
    let data = &data[..data.len().min(LONGEST_INPUT)];
    let Some((&capacity, answer)) = data.split_first() else { return };
    let listener = LISTENER.get_or_init(|| TcpListener::bind("127.0.0.1:0").expect("a loopback port"));
    let client = TcpStream::connect(listener.local_addr().expect("its address")).expect("a connection");
    let (mut server, _) = listener.accept().expect("the connection");
    server.write_all(answer).expect("the answer sent");
    server.shutdown(Shutdown::Write).expect("the answer ended");
    let deadline = crate::deadline::Deadline::new(Duration::from_secs(5), None);
    let stream = net::Stream::Plain(net::Socket::Tcp(client));
    let mut reader = BufReader::with_capacity(usize::from(capacity).max(1) * 16, Connection::new(stream, deadline));
    let Ok(head) = read_head(&mut reader) else { return };
    if let Some(location) = &head.location {
        let _ = location::parse(location);
        let _ = target::shown_location(location);
    }
    let _ = head.framing("HEAD");
    let Ok(framing) = head.framing("GET") else { return };
    let length = match framing {
        Framing::Length(length) => Some(length),
        Framing::Empty => Some(0),
        _ => None,
    };
    let mut body = Vec::new();
    if Body::new(&mut reader, framing).read_to_end(&mut body).is_ok() {
        if let Some(length) = length {
            assert_eq!(body.len() as u64, length, "the body's length");
        }
        assert!(body.len() <= answer.len());
    }
    let _ = reader.fill_buf();
}
