//! The fuzz targets' side of the library: the parsers of untrusted bytes, re-exported in one
//! place, and one function per target under `fuzz/` that feeds them an input and asserts what
//! must hold for every input (round trips, agreement with a simpler reading, no password in
//! what is shown). The targets are one line each, so `cargo test` runs the very same checks on
//! every committed input: the seed corpus and the inputs that once failed (`fuzz/regressions`).
//!
//! Not an API: hidden from the docs, and nothing in the binary calls it.

use std::io::{BufRead, BufReader, Cursor, Read, Write};
use std::time::Duration;

pub use crate::duration::{
    parse as parse_duration, parse_interval, parse_positive, setting as duration_setting,
};
pub use crate::net::{HostPort, parse_port};
pub use crate::secret::{Secret, redact_unparsed, redact_url};

#[cfg(feature = "amqp")]
pub use crate::check::amqp::{
    url::{label as amqp_label, parse as parse_amqp_url},
    wire::{
        FRAME_METHOD, Frame, Method, close as amqp_close, close_ok as amqp_close_ok, parse_method, read_frame,
    },
};
#[cfg(feature = "grpc")]
pub use crate::check::grpc::proto::{
    ServingStatus, health_check_response, request_frame, response as grpc_response,
};
#[cfg(feature = "http")]
pub use crate::check::http::{
    StatusSet,
    location::{hostname as location_hostname, parse as parse_location},
    wire::{Body, Connection, Framing, read_head},
};
#[cfg(feature = "redis")]
pub use crate::check::redis::{
    resp::{Reply, encode as resp_encode, read_reply},
    url::RedisUrl,
};

/// The password planted in the sessions the targets replay: it must never go out in clear.
pub const PLANTED_PASSWORD: &str = "Zq7Wk3Xp-planted";

/// Inputs longer than this are cut: every parser bounds what it reads well below it.
pub(crate) const LONGEST_INPUT: usize = 64 * 1024;

pub(crate) fn text(data: &[u8]) -> Option<&str> {
    std::str::from_utf8(data).ok()
}

/// `password`, as `read` found it in `input`, must not be in `shown` (what `show` makes of
/// `input`). Checked when it was typed once, in full, long enough not to turn up by chance, not
/// made of the mask's stars, and really read from that place: typing other letters there
/// changes what `read` finds (a default such as amqp's `guest` does not count). And it counts
/// as shown only if the text shown for those other letters holds it fewer times: a label that
/// joins `host= db` into `host=db` holds `t=db` without showing the password `t=db`.
pub(crate) fn assert_hidden(
    target: &str,
    input: &str,
    password: &str,
    shown: &str,
    read: &ReadPassword<'_>,
    show: &Show<'_>,
) {
    if password.chars().count() < 4 || password.contains('*') || input.matches(password).count() != 1 {
        return;
    }
    let other = if password.contains('Q') { "Z" } else { "Q" }.repeat(password.chars().count());
    let replaced = input.replacen(password, &other, 1);
    if read(&replaced).as_deref() != Some(other.as_str()) {
        return;
    }
    assert!(
        shown.matches(password).count() <= show(&replaced).matches(password).count(),
        "{target}: the password {password:?} of {input:?} is shown as {shown:?}"
    );
}

/// How a target finds the password in a text: the parser under test, reduced to that.
pub(crate) type ReadPassword<'a> = dyn Fn(&str) -> Option<String> + 'a;
/// What is shown of a text: its label, or the message that refuses it.
pub(crate) type Show<'a> = dyn Fn(&str) -> String + 'a;

/// An environment with no variables, run by a user named `fuzz`.
pub(crate) struct NoEnv;

impl crate::env::Env for NoEnv {
    fn var(&self, _: &str) -> Option<String> {
        None
    }

    fn os_user(&self) -> Option<String> {
        Some("fuzz".to_owned())
    }
}

/// `probe CHECK TARGET` as far as the settings go (no I/O): each label and any error must be
/// one line and free of `password`.
pub(crate) fn command_line(check: &str, target: &str, password: Option<(&str, &ReadPassword<'_>)>) {
    let shown = command_line_shows(check, target);
    if let Some((password, read)) = password {
        assert_hidden(check, target, password, &shown, read, &|text| command_line_shows(check, text));
    }
}

/// The labels of `probe CHECK TARGET`, or its usage error, which must be one line.
fn command_line_shows(check: &str, target: &str) -> String {
    use clap::Parser;
    if target.starts_with('-') || target.is_empty() {
        return String::new();
    }
    let Ok(cli) = crate::cli::Cli::try_parse_from(["probe", check, target]) else { return String::new() };
    let crate::cli::Command::Check(args) = cli.command else { return String::new() };
    match crate::config::Config::new(cli.global, args, &NoEnv) {
        Ok(config) => config.targets.into_iter().map(|target| target.label).collect::<Vec<_>>().join("\n"),
        Err(err) => {
            let message = format!("{err:#}");
            assert!(
                !message.contains(['\n', '\r']),
                "{check} {target:?}: a message of several lines: {message:?}"
            );
            message
        }
    }
}

/// Durations: `parse` reads back what `setting` prints, and the two stricter readers agree with it.
pub fn duration(data: &[u8]) {
    let Some(text) = text(data) else { return };
    let parsed = parse_duration(text);
    if let Ok(duration) = parsed {
        let printed = duration_setting(duration);
        let again = parse_duration(&printed).unwrap_or_else(|why| panic!("{text:?} -> {printed:?}: {why}"));
        // `setting` prints seconds as an f64 past a second: a nanosecond of rounding is allowed.
        let drift = again.abs_diff(duration);
        assert!(drift <= Duration::from_nanos(1), "{text:?} -> {duration:?} -> {printed:?} -> {again:?}");
    }
    match (&parsed, parse_positive(text)) {
        (Ok(Duration::ZERO), Ok(_)) | (Err(_), Ok(_)) => panic!("parse_positive took {text:?}"),
        (Ok(d), Ok(p)) => assert_eq!(*d, p),
        (Ok(d), Err(_)) => assert_eq!(*d, Duration::ZERO, "parse_positive refused {text:?}"),
        (Err(_), Err(_)) => {}
    }
    match (&parsed, parse_interval(text)) {
        (Ok(d), Ok(i)) => assert!(*d == i && i >= Duration::from_millis(10)),
        (Ok(d), Err(_)) => assert!(*d < Duration::from_millis(10), "parse_interval refused {text:?}"),
        (Err(_), Ok(_)) => panic!("parse_interval took {text:?}"),
        (Err(_), Err(_)) => {}
    }
}

/// `HOST:PORT`: what parses prints back as itself, and a port is what Go's dialer takes (digits
/// only, 1 to 65535, leading zeros allowed).
pub fn host_port(data: &[u8]) {
    let Some(text) = text(data) else { return };
    if let Ok(target) = text.parse::<HostPort>() {
        let printed = target.to_string();
        assert_eq!(printed.parse::<HostPort>().as_ref(), Ok(&target), "{text:?} printed as {printed:?}");
    }
    let reference = (!text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()))
        .then(|| text.trim_start_matches('0'))
        .filter(|digits| digits.len() <= 5)
        .and_then(|digits| digits.parse::<u32>().ok())
        .filter(|port| (1..=65535).contains(port));
    assert_eq!(parse_port(text).ok().map(u32::from), reference, "port {text:?}");
    #[cfg(feature = "tcp")]
    command_line("tcp", text, None);
}

/// `--status`: agrees with a plain reading of `CODE` and `LOW-HIGH` items, 100 to 599.
#[cfg(feature = "http")]
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

/// Redis URLs: the password never shown.
#[cfg(feature = "redis")]
pub fn redis_url(data: &[u8]) {
    let Some(text) = text(data) else { return };
    let (shown, unparsed) = (redact_url(text), redact_unparsed(text));
    let read = |text: &str| Some(RedisUrl::parse(text).ok()?.password?.expose().to_owned());
    let Some(password) = read(text) else { return };
    assert_hidden("redis", text, &password, &shown, &read, &redact_url);
    assert_hidden("redis", text, &password, &unparsed, &read, &redact_unparsed);
    if !text.contains("ssl_") && !text.contains("unix") {
        command_line("redis", text, Some((&password, &read)));
    }
}

/// AMQP URLs: the password never shown.
#[cfg(feature = "amqp")]
pub fn amqp_url(data: &[u8]) {
    let Some(text) = text(data) else { return };
    let shown = amqp_label(text);
    let Ok(url) = parse_amqp_url(text) else { return };
    let read = |text: &str| parse_amqp_url(text).ok().map(|url| url.password.expose().to_owned());
    assert_hidden("amqp", text, url.password.expose(), &shown, &read, &amqp_label);
    if url.cacertfile.is_none() && url.certfile.is_none() && url.keyfile.is_none() {
        command_line("amqp", text, Some((url.password.expose(), &read)));
    }
}

/// gRPC targets (`HOST:PORT`, `grpc://`, `grpcs://`, `unix:`): one-line messages.
#[cfg(feature = "grpc")]
pub fn grpc_target(data: &[u8]) {
    let Some(text) = text(data) else { return };
    command_line("grpc", text, None);
}

/// Writes `value` as a protobuf varint.
#[cfg(feature = "grpc")]
fn varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// gRPC's HealthCheckResponse: the frame adds nothing to the message, and a status appended to
/// a message that decodes is the one read (protobuf's last-one-wins).
#[cfg(feature = "grpc")]
pub fn grpc_health(data: &[u8]) {
    let data = &data[..data.len().min(LONGEST_INPUT)];
    let _ = grpc_response(data);
    let decoded = health_check_response(data);
    let mut framed = vec![0];
    framed.extend_from_slice(&(data.len() as u32).to_be_bytes());
    framed.extend_from_slice(data);
    assert_eq!(grpc_response(&framed), decoded, "the frame of {data:?} changed its reading");
    if decoded.is_ok() {
        let status = data.iter().take(8).fold(0u64, |n, &b| n.rotate_left(8) | u64::from(b));
        let mut appended = data.to_vec();
        appended.push(0x08); // field 1, varint
        varint(&mut appended, status);
        let expected = match status {
            0 => ServingStatus::Unknown,
            1 => ServingStatus::Serving,
            2 => ServingStatus::NotServing,
            3 => ServingStatus::ServiceUnknown,
            other => ServingStatus::Other(other),
        };
        assert_eq!(health_check_response(&appended), Ok(expected), "{data:?} then status {status}");
    }
    let request = request_frame(&String::from_utf8_lossy(data));
    assert_eq!(request[1..5], ((request.len() - 5) as u32).to_be_bytes(), "the request's length prefix");
}

/// AMQP frames as a broker sends them, and the connection methods in them; a Connection.Close
/// written by the client reads back as itself.
#[cfg(feature = "amqp")]
pub fn amqp_frames(data: &[u8]) {
    let data = &data[..data.len().min(LONGEST_INPUT)];
    let _ = parse_method(data);
    let mut stream = Cursor::new(data);
    for _ in 0..64 {
        let Ok(frame) = read_frame(&mut stream) else { break };
        if frame.kind == FRAME_METHOD
            && let Ok(Method::Start { server, .. }) = parse_method(&frame.payload)
        {
            let _ = server.describe();
        }
    }
    let code = u16::from_be_bytes([data.first().copied().unwrap_or(0), data.get(1).copied().unwrap_or(0)]);
    let reason = String::from_utf8_lossy(data.get(2..).unwrap_or_default());
    let mut cut = reason.len().min(255);
    while !reason.is_char_boundary(cut) {
        cut -= 1;
    }
    let reason = &reason[..cut];
    let written = amqp_close(code, reason);
    let frame = read_frame(&mut Cursor::new(&written)).expect("a frame probe wrote");
    assert_eq!((frame.kind, frame.channel), (FRAME_METHOD, 0));
    assert_eq!(parse_method(&frame.payload).ok(), Some(Method::Close { code, text: reason.to_owned() }));
    let frame = read_frame(&mut Cursor::new(amqp_close_ok())).expect("a frame probe wrote");
    assert_eq!(parse_method(&frame.payload).ok(), Some(Method::CloseOk));
}

/// RESP2 replies, read through buffers of any size; a command probe encodes reads back as its
/// arguments.
#[cfg(feature = "redis")]
pub fn redis_resp(data: &[u8]) {
    let data = &data[..data.len().min(LONGEST_INPUT)];
    let Some((&capacity, stream)) = data.split_first() else { return };
    let mut reader = BufReader::with_capacity(usize::from(capacity).max(1), stream);
    let mut whole = BufReader::new(stream);
    for _ in 0..64 {
        let small = read_reply(&mut reader, 0);
        let large = read_reply(&mut whole, 0);
        match (small, large) {
            (Ok(small), Ok(large)) => {
                let _ = small.text();
                assert_eq!(small, large, "the buffer's size changed a reply");
            }
            (Err(_), Err(_)) => break,
            (small, large) => panic!("the buffer's size changed a reply: {small:?} / {large:?}"),
        }
    }
    let args: Vec<&[u8]> = stream.split(|&b| b == b' ').take(16).collect();
    let encoded = resp_encode(&args);
    let reply = read_reply(&mut BufReader::new(encoded.as_slice()), 0).expect("a command probe encoded");
    let items = args.iter().map(|arg| Reply::Bulk(Some(arg.to_vec()))).collect();
    assert_eq!(reply, Reply::Array(Some(items)));
}

/// Go's reading of a `Location`: never panics, and a host it names is its own host name's superset.
#[cfg(feature = "http")]
pub fn http_location(data: &[u8]) {
    let Some(text) = text(data) else { return };
    if let Ok(reference) = parse_location(text)
        && let Some(host) = &reference.host
    {
        assert!(host.contains(location_hostname(host)), "{host:?}");
    }
}

/// An HTTP answer as a server sends it, over a real loopback socket: the head (1xx skipped),
/// the framing Go would choose, then the body; a body of a given length is that long.
#[cfg(feature = "http")]
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
    let mut reader =
        BufReader::with_capacity(usize::from(capacity).max(1) * 16, Connection::plain(client, deadline));
    let Ok(head) = read_head(&mut reader) else { return };
    if let Some(location) = &head.location {
        let _ = parse_location(location);
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

/// The fuzz targets by name, for the tests that replay the committed inputs.
pub type Target = fn(&[u8]);

pub const TARGETS: &[(&str, Target)] = &[
    ("duration", duration),
    ("host_port", host_port),
    #[cfg(feature = "http")]
    ("status_list", status_list),
    #[cfg(all(feature = "postgres", any(test, fuzzing)))]
    ("postgres_first_answer", crate::check::postgres::fuzz::first_answer_is_stable),
    #[cfg(all(feature = "postgres", any(test, fuzzing)))]
    ("postgres_conninfo", crate::check::postgres::fuzz::conninfo_hides_secrets),
    #[cfg(feature = "redis")]
    ("redis_url", redis_url),
    #[cfg(all(feature = "mysql", any(test, fuzzing)))]
    ("mysql_url", crate::check::mysql::fuzz::url_hides_secrets),
    #[cfg(feature = "amqp")]
    ("amqp_url", amqp_url),
    #[cfg(feature = "grpc")]
    ("grpc_target", grpc_target),
    #[cfg(feature = "grpc")]
    ("grpc_health", grpc_health),
    #[cfg(all(feature = "mysql", any(test, fuzzing)))]
    ("mysql_packets", crate::check::mysql::fuzz::packets_stay_in_bounds),
    #[cfg(all(feature = "mysql", any(test, fuzzing)))]
    ("mysql_session", crate::check::mysql::fuzz::session_keeps_the_password),
    #[cfg(feature = "amqp")]
    ("amqp_frames", amqp_frames),
    #[cfg(feature = "redis")]
    ("redis_resp", redis_resp),
    #[cfg(feature = "http")]
    ("http_location", http_location),
    #[cfg(feature = "http")]
    ("http_answer", http_answer),
];

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::TARGETS;

    /// Every committed input of every target (`fuzz/corpus/<target>/*`, the seeds, and
    /// `fuzz/regressions/<target>/*`, the inputs that once failed) passes the target's checks.
    #[test]
    fn every_committed_fuzz_input_passes_its_target() {
        let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
        let mut replayed = 0;
        for (name, target) in TARGETS {
            for kind in ["corpus", "regressions"] {
                let Ok(entries) = std::fs::read_dir(fuzz.join(kind).join(name)) else { continue };
                for entry in entries {
                    let path = entry.expect("a directory entry").path();
                    let input = std::fs::read(&path).expect("a committed input");
                    let outcome = std::panic::catch_unwind(|| target(&input));
                    assert!(outcome.is_ok(), "{name}: {} fails its checks", path.display());
                    replayed += 1;
                }
            }
        }
        assert!(replayed >= TARGETS.len(), "only {replayed} committed inputs found under {}", fuzz.display());
    }
}
