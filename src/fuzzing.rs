//! The fuzz targets' side of the library: the parsers of untrusted bytes, re-exported in one
//! place, and one function per target under `fuzz/` that feeds them an input and asserts what
//! must hold for every input (round trips, agreement with a simpler reading, no password in
//! what is shown). The targets are one line each, so `cargo test` runs the very same checks on
//! every committed input: the seed corpus and the inputs that once failed (`fuzz/regressions`).
//!
//! Not an API: hidden from the docs, and nothing in the binary calls it.

use std::time::Duration;

pub use crate::duration::{
    parse as parse_duration, parse_interval, parse_positive, setting as duration_setting,
};
pub use crate::secret::Secret;

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

/// A reader that hands out at most `step` bytes a call: a server's answer split as the network
/// may split it, for the checks that what is read does not depend on the split.
pub(crate) struct Trickle<'a> {
    pub data: &'a [u8],
    pub step: usize,
}

impl std::io::Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.step.min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

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
pub type Target = fn(&[u8]);

pub const TARGETS: &[(&str, Target)] = &[
    ("duration", duration),
    #[cfg(all(feature = "tcp", any(test, fuzzing)))]
    ("host_port", crate::check::tcp::fuzz::host_port),
    #[cfg(all(feature = "http", any(test, fuzzing)))]
    ("status_list", crate::check::http::fuzz::status_list),
    #[cfg(all(feature = "postgres", any(test, fuzzing)))]
    ("postgres_first_answer", crate::check::postgres::fuzz::first_answer_is_stable),
    #[cfg(all(feature = "postgres", any(test, fuzzing)))]
    ("postgres_conninfo", crate::check::postgres::fuzz::conninfo_hides_secrets),
    #[cfg(all(feature = "redis", any(test, fuzzing)))]
    ("redis_url", crate::check::redis::fuzz::url),
    #[cfg(all(feature = "mysql", any(test, fuzzing)))]
    ("mysql_url", crate::check::mysql::fuzz::url_hides_secrets),
    #[cfg(all(feature = "amqp", any(test, fuzzing)))]
    ("amqp_url", crate::check::amqp::fuzz::url),
    #[cfg(all(feature = "grpc", any(test, fuzzing)))]
    ("grpc_target", crate::check::grpc::fuzz::grpc_target),
    #[cfg(all(feature = "grpc", any(test, fuzzing)))]
    ("grpc_health", crate::check::grpc::fuzz::grpc_health),
    #[cfg(all(feature = "mysql", any(test, fuzzing)))]
    ("mysql_packets", crate::check::mysql::fuzz::packets_stay_in_bounds),
    #[cfg(all(feature = "mysql", any(test, fuzzing)))]
    ("mysql_session", crate::check::mysql::fuzz::session_keeps_the_password),
    #[cfg(all(feature = "amqp", any(test, fuzzing)))]
    ("amqp_frames", crate::check::amqp::fuzz::frames),
    #[cfg(all(feature = "redis", any(test, fuzzing)))]
    ("redis_resp", crate::check::redis::fuzz::resp),
    #[cfg(all(feature = "http", any(test, fuzzing)))]
    ("http_location", crate::check::http::fuzz::http_location),
    #[cfg(all(feature = "http", any(test, fuzzing)))]
    ("http_answer", crate::check::http::fuzz::http_answer),
    #[cfg(all(feature = "nats", any(test, fuzzing)))]
    ("nats_answers", crate::check::nats::fuzz::answers),
    #[cfg(all(feature = "nats", any(test, fuzzing)))]
    ("nats_url", crate::check::nats::fuzz::url),
    #[cfg(all(feature = "mqtt", any(test, fuzzing)))]
    ("mqtt_packets", crate::check::mqtt::fuzz::packets),
    #[cfg(all(feature = "mqtt", any(test, fuzzing)))]
    ("mqtt_url", crate::check::mqtt::fuzz::url),
    #[cfg(all(feature = "zookeeper", any(test, fuzzing)))]
    ("zookeeper_answers", crate::check::zookeeper::fuzz::answers),
    #[cfg(all(feature = "zookeeper", any(test, fuzzing)))]
    ("zookeeper_target", crate::check::zookeeper::fuzz::target),
    #[cfg(all(feature = "memcached", any(test, fuzzing)))]
    ("memcached_answers", crate::check::memcached::fuzz::answers),
    #[cfg(all(feature = "memcached", any(test, fuzzing)))]
    ("memcached_target", crate::check::memcached::fuzz::target),
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
