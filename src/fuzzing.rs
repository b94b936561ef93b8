//! The fuzz targets' side of the library: the parsers of untrusted bytes, re-exported in one
//! place, and one function per target under `fuzz/` that feeds them an input and asserts what
//! must hold for every input (round trips, agreement with a simpler reading, no password in
//! what is shown). The targets are one line each, so `cargo test` runs the very same checks on
//! every committed input: the seed corpus and the inputs that once failed (`fuzz/regressions`).
//!
//! Not an API: hidden from the docs, and nothing in the binary calls it.

use std::io::{Cursor, Read, Write};
use std::time::Duration;

pub use crate::duration::{
    parse as parse_duration, parse_interval, parse_positive, setting as duration_setting,
};
pub use crate::secret::{Secret, redact_unparsed, redact_url};

#[cfg(feature = "mysql")]
pub use crate::check::mysql::{
    packet::{
        AuthReply, Reader, eof_status, is_eof, ok_status, parse_auth_reply, parse_err, parse_greeting,
        put_lenenc, read_packet,
    },
    session::{Conn, Credentials, Transport, login, ping as mysql_ping, query as mysql_query},
    url::{Defaults as MysqlDefaults, label as mysql_label, settings as mysql_settings},
};
#[cfg(feature = "postgres")]
pub use crate::check::postgres::{
    parse::{label as conninfo_label, parse as parse_conninfo},
    ping::{Answer, first_answer, verdict as first_answer_verdict},
    settings::{Env as PgEnv, settings as pg_settings},
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
struct NoEnv;

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
pub(crate) fn command_line_shows(check: &str, target: &str) -> String {
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

/// PostgreSQL's first answer: a verdict for every answer, and one that once decided does not
/// change as more bytes arrive.
#[cfg(feature = "postgres")]
pub fn postgres_first_answer(data: &[u8]) {
    let data = &data[..data.len().min(LONGEST_INPUT)];
    let answer = first_answer(data);
    let _ = first_answer_verdict(first_answer(data));
    if answer != Answer::Incomplete {
        let longer = [data, b"E\0\0\0\x08SX\0\0R"].concat();
        assert_eq!(first_answer(&longer), answer, "more bytes changed the answer to {data:?}");
    }
    if let Some((_, shorter)) = data.split_last() {
        let before = first_answer(shorter);
        if before != Answer::Incomplete {
            assert_eq!(before, answer, "the last byte of {data:?} changed the answer");
        }
    }
}

/// conninfo, URL or keywords: the password never shown; keywords read back from their label.
#[cfg(feature = "postgres")]
pub fn postgres_conninfo(data: &[u8]) {
    const SECRET_KEYS: &[&str] =
        &["password", "sslpassword", "scram_client_key", "scram_server_key", "oauth_client_secret"];
    let Some(text) = text(data) else { return };
    let shown = conninfo_label(text);
    let Ok(pairs) = parse_conninfo(text) else { return };
    fn value_of(key: &str) -> impl Fn(&str) -> Option<String> + '_ {
        move |text| parse_conninfo(text).ok()?.into_iter().rev().find(|(k, _)| k == key).map(|(_, v)| v)
    }
    let password = pairs.iter().rev().find(|(key, _)| key == "password").map(|(_, value)| value.as_str());
    for (key, value) in &pairs {
        if SECRET_KEYS.contains(&key.as_str()) {
            assert_hidden("postgres", text, value, &shown, &value_of(key), &conninfo_label);
        }
    }
    if !text.contains("://") {
        let again = parse_conninfo(&shown).unwrap_or_else(|why| panic!("{text:?} shown as {shown:?}: {why}"));
        let expected: Vec<(String, String)> = pairs
            .iter()
            .map(|(key, value)| {
                let value = if SECRET_KEYS.contains(&key.as_str()) { "***" } else { value };
                (key.clone(), value.to_owned())
            })
            .collect();
        assert_eq!(again, expected, "{text:?} shown as {shown:?}");
    }
    // The settings, without the keys that name files: what they read is not the text's.
    const FILE_KEYS: &[&str] =
        &["service", "passfile", "sslrootcert", "sslcert", "sslkey", "sslcrl", "sslcrldir", "sslkeylogfile"];
    let kept: Vec<(String, String)> =
        pairs.iter().filter(|(key, _)| !FILE_KEYS.contains(&key.as_str())).cloned().collect();
    let env = PgEnv { var: &|_| None, os_user: &|| Some("fuzz".to_owned()) };
    if let Err(why) = pg_settings(&kept, &env, None) {
        assert!(!why.contains(['\n', '\r']), "{text:?}: a message of several lines: {why:?}");
        if let Some(password) = password {
            let refusal = |text: &str| {
                let pairs: Vec<(String, String)> = parse_conninfo(text).unwrap_or_default();
                let kept: Vec<_> =
                    pairs.into_iter().filter(|(key, _)| !FILE_KEYS.contains(&key.as_str())).collect();
                pg_settings(&kept, &env, None).err().unwrap_or_default()
            };
            assert_hidden("postgres", text, password, &why, &value_of("password"), &refusal);
        }
    }
    if !pairs.iter().any(|(key, _)| FILE_KEYS.contains(&key.as_str())) {
        let read = value_of("password");
        command_line("postgres", text, password.map(|p| (p, &read as &ReadPassword<'_>)));
    }
}

/// MySQL URLs: the password never shown.
#[cfg(feature = "mysql")]
pub fn mysql_url(data: &[u8]) {
    let Some(text) = text(data) else { return };
    let defaults =
        MysqlDefaults { var: &|_| None, os_user: &|| Some("fuzz".to_owned()), password_file: None };
    let Ok(settings) = mysql_settings(text, &defaults) else { return };
    let read = |text: &str| Some(mysql_settings(text, &defaults).ok()?.password?.expose().to_owned());
    let shown = mysql_label(text, &settings);
    let Some(password) = settings.password.map(|p| p.expose().to_owned()) else { return };
    let show =
        |text: &str| mysql_settings(text, &defaults).map(|s| mysql_label(text, &s)).unwrap_or_default();
    assert_hidden("mysql", text, &password, &shown, &read, &show);
    if settings.ssl_ca.is_none() && settings.ssl_cert.is_none() && settings.ssl_key.is_none() {
        command_line("mysql", text, Some((&password, &read)));
    }
}

/// MySQL packets, one by one: no reader goes past its packet, and lenenc integers round-trip.
#[cfg(feature = "mysql")]
pub fn mysql_packets(data: &[u8]) {
    let data = &data[..data.len().min(LONGEST_INPUT)];
    if let Ok(greeting) = parse_greeting(data) {
        let _ = (greeting.product(), greeting.is_mariadb());
    }
    let _ = parse_auth_reply(data);
    let _ = parse_err(data);
    let _ = ok_status(data);
    if is_eof(data) {
        let _ = eof_status(data);
    }
    let mut reader = Reader::new(data);
    while let Ok(Some(bytes)) = reader.lenenc_bytes() {
        let _ = crate::check::mysql::packet::text(bytes);
    }
    // The stream: packets until the input ends.
    let mut stream = Cursor::new(data);
    let mut seq = data.first().copied().unwrap_or(0);
    while let Ok(payload) = read_packet(&mut stream, &mut seq) {
        let _ = parse_greeting(&payload);
    }
    for chunk in data.chunks(8) {
        let mut bytes = [0u8; 8];
        bytes[..chunk.len()].copy_from_slice(chunk);
        let n = u64::from_le_bytes(bytes);
        let mut out = Vec::new();
        put_lenenc(&mut out, n);
        let mut reader = Reader::new(&out);
        assert_eq!(reader.lenenc().ok(), Some(Some(n)), "lenenc {n} written as {out:?}");
        assert!(reader.is_empty());
    }
}

/// A server's side of a MySQL conversation, replayed; what the client writes is kept.
#[cfg(feature = "mysql")]
struct Replay {
    server: Cursor<Vec<u8>>,
    client: Vec<u8>,
}

#[cfg(feature = "mysql")]
impl Read for Replay {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.server.read(buf)
    }
}

#[cfg(feature = "mysql")]
impl Write for Replay {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.client.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(feature = "mysql")]
impl Transport for Replay {
    fn set_timeout(&mut self, _: Duration) {}
}

/// A whole MySQL conversation against the input as the server's bytes (the first byte chooses
/// whether the connection counts as secure): greeting, login with its plugins and switches, a
/// query and its result sets, a ping. Over an insecure connection the password never goes out
/// in clear, whatever the server asks.
#[cfg(feature = "mysql")]
pub fn mysql_session(data: &[u8]) {
    let Some((&flags, server)) = data.split_first() else { return };
    let secure = flags & 1 == 1;
    let replay = Replay {
        server: Cursor::new(server[..server.len().min(LONGEST_INPUT)].to_vec()),
        client: Vec::new(),
    };
    let mut conn = Conn::new(replay, Box::new(|| Duration::from_secs(1)));
    let conversation = |conn: &mut Conn<Replay>| -> Result<(), crate::check::mysql::packet::Failure> {
        let greeting = parse_greeting(&conn.read()?)?;
        let _ = greeting.product();
        let capabilities =
            crate::check::mysql::packet::client_capabilities(greeting.capabilities, true, false);
        let who = Credentials { user: "fuzz", password: PLANTED_PASSWORD.as_bytes(), database: Some("db") };
        login(conn, &greeting, capabilities, &who, secure)?;
        for table in mysql_query(conn, "SELECT 1", 4)? {
            assert!(table.rows.len() <= 4 && table.rows.len() as u64 <= table.count);
            assert!(table.rows.iter().all(|row| row.len() == table.columns.len()));
        }
        mysql_ping(conn)
    };
    let _ = conversation(&mut conn);
    if !secure {
        let sent = &conn.stream.client;
        assert!(
            !sent.windows(PLANTED_PASSWORD.len()).any(|w| w == PLANTED_PASSWORD.as_bytes()),
            "the password went out in clear over an insecure connection"
        );
    }
}

/// The fuzz targets by name, for the tests that replay the committed inputs.
pub type Target = fn(&[u8]);

pub const TARGETS: &[(&str, Target)] = &[
    ("duration", duration),
    #[cfg(all(feature = "tcp", any(test, fuzzing)))]
    ("host_port", crate::check::tcp::fuzz::host_port),
    #[cfg(all(feature = "http", any(test, fuzzing)))]
    ("status_list", crate::check::http::fuzz::status_list),
    #[cfg(feature = "postgres")]
    ("postgres_first_answer", postgres_first_answer),
    #[cfg(feature = "postgres")]
    ("postgres_conninfo", postgres_conninfo),
    #[cfg(all(feature = "redis", any(test, fuzzing)))]
    ("redis_url", crate::check::redis::fuzz::url),
    #[cfg(feature = "mysql")]
    ("mysql_url", mysql_url),
    #[cfg(all(feature = "amqp", any(test, fuzzing)))]
    ("amqp_url", crate::check::amqp::fuzz::url),
    #[cfg(all(feature = "grpc", any(test, fuzzing)))]
    ("grpc_target", crate::check::grpc::fuzz::grpc_target),
    #[cfg(all(feature = "grpc", any(test, fuzzing)))]
    ("grpc_health", crate::check::grpc::fuzz::grpc_health),
    #[cfg(feature = "mysql")]
    ("mysql_packets", mysql_packets),
    #[cfg(feature = "mysql")]
    ("mysql_session", mysql_session),
    #[cfg(all(feature = "amqp", any(test, fuzzing)))]
    ("amqp_frames", crate::check::amqp::fuzz::frames),
    #[cfg(all(feature = "redis", any(test, fuzzing)))]
    ("redis_resp", crate::check::redis::fuzz::resp),
    #[cfg(all(feature = "http", any(test, fuzzing)))]
    ("http_location", crate::check::http::fuzz::http_location),
    #[cfg(all(feature = "http", any(test, fuzzing)))]
    ("http_answer", crate::check::http::fuzz::http_answer),
];

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::TARGETS;

    /// Found by `postgres_conninfo`: a keyword string with `://` in any value was shown as a URL,
    /// its `password=` word in clear. libpq reads it as keywords, and so must the label.
    #[cfg(feature = "postgres")]
    #[test]
    fn a_keyword_string_holding_a_url_keeps_its_password_hidden() {
        let shown = super::conninfo_label("host=db password=Zq7W://k3Xp application_name=a://b");
        assert_eq!(shown, "host=db password=*** application_name=a://b");
    }

    /// Found by `mysql_url`: in MySQL's socket form the user part runs to the last '@' before
    /// the parenthesis (mysql's own reading), so a '/' in the password did not end it.
    #[test]
    fn a_mysql_socket_url_with_a_slash_in_its_password_keeps_it_hidden() {
        let shown = super::redact_url("mysql://us@r:pa/ssZq7W@(/run/mysqld.sock)/db");
        assert_eq!(shown, "mysql://***@(/run/mysqld.sock)/db");
        assert_eq!(
            super::redact_url("mysql://app:pw@(/run/mysqld.sock)/db"),
            "mysql://app:***@(/run/mysqld.sock)/db"
        );
    }

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
