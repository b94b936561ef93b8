//! `grpc_health_probe`: grpc-health-probe's command line (Go's `flag` package, ContinueOnError),
//! its lines (Go's `log`, flags 0: no timestamp, on stderr) and its exit codes (1 arguments,
//! 2 connection, 3 RPC, 4 not SERVING), over `probe grpc`. Read from grpc-ecosystem/grpc-health-probe
//! `main.go`: the flags and their usage texts, the validation order, every message.
//!
//! Its connect and RPC timeouts become one deadline of their sum. From the outcome's status: no
//! usable answer (refused, TLS failure, not HTTP/2, the deadline) is a connection failure (2),
//! as grpc-go, which waits for a connection to become ready, mostly has it; an answer with an
//! error status is an RPC failure (3); an answer other than SERVING is unhealthy (4).

use std::{ffi::OsString, process::ExitCode, time::Duration};

mod flags;

use super::{Timing, check_one, config, err_line, err_text, out_line, shown_target, texts};
use crate::{
    env::Env,
    outcome::{Outcome, Status},
};
use flags::{Flags, ParseError, format_duration, parse, quote, to_std, usage};

const INVALID_ARGUMENTS: u8 = 1;
const CONNECTION_FAILURE: u8 = 2;
const RPC_FAILURE: u8 = 3;
const UNHEALTHY: u8 = 4;

/// One line as Go's `log.Printf` writes it with flags 0: on stderr, newline-terminated.
fn log(line: &str) {
    err_line(line);
}

/// main.go's checks after parsing, in its order: the first failing one's message.
fn validate(flags: &Flags) -> Option<String> {
    let checks: [(bool, String); 13] = [
        (flags.addr.is_empty(), "-addr not specified".to_owned()),
        (
            flags.connect_timeout <= 0,
            format!(
                "-connect-timeout must be greater than zero (specified: {})",
                format_duration(flags.connect_timeout)
            ),
        ),
        (
            flags.rpc_timeout <= 0,
            format!(
                "-rpc-timeout must be greater than zero (specified: {})",
                format_duration(flags.rpc_timeout)
            ),
        ),
        (flags.alts && flags.spiffe, "-alts and -spiffe are mutually incompatible".to_owned()),
        (flags.tls && flags.alts, "cannot specify -tls with -alts".to_owned()),
        (!flags.tls && flags.tls_no_verify, "specified -tls-no-verify without specifying -tls".to_owned()),
        (
            !flags.tls && !flags.tls_ca_cert.is_empty(),
            "specified -tls-ca-cert without specifying -tls".to_owned(),
        ),
        (
            !flags.tls && !flags.tls_client_cert.is_empty(),
            "specified -tls-client-cert without specifying -tls".to_owned(),
        ),
        (
            !flags.tls && !flags.tls_server_name.is_empty(),
            "specified -tls-server-name without specifying -tls".to_owned(),
        ),
        (
            !flags.tls_client_cert.is_empty() && flags.tls_client_key.is_empty(),
            "specified -tls-client-cert without specifying -tls-client-key".to_owned(),
        ),
        (
            flags.tls_client_cert.is_empty() && !flags.tls_client_key.is_empty(),
            "specified -tls-client-key without specifying -tls-client-cert".to_owned(),
        ),
        (
            flags.tls_no_verify && !flags.tls_ca_cert.is_empty(),
            "cannot specify -tls-ca-cert with -tls-no-verify (CA cert would not be used)".to_owned(),
        ),
        (
            flags.tls_no_verify && !flags.tls_server_name.is_empty(),
            "cannot specify -tls-server-name with -tls-no-verify (server name would not be used)".to_owned(),
        ),
    ];
    checks.into_iter().find(|(failed, _)| *failed).map(|(_, message)| message)
}

/// The "parsed options" lines of `-v`. Header values are starred: probe prints no metadata value.
fn verbose_options(flags: &Flags) -> Vec<String> {
    let mut lines = vec![
        "parsed options:".to_owned(),
        format!(
            "> addr={} conn_timeout={} rpc_timeout={}",
            shown_target(&flags.addr),
            format_duration(flags.connect_timeout),
            format_duration(flags.rpc_timeout)
        ),
    ];
    if !flags.headers.is_empty() {
        // fmt's %v of a metadata.MD: map[key:[value value] …], keys sorted.
        let mut keys: Vec<&str> = flags.headers.iter().map(|(key, _)| key.as_str()).collect();
        keys.sort_unstable();
        keys.dedup();
        let entries: Vec<String> = keys
            .iter()
            .map(|key| {
                let count = flags.headers.iter().filter(|(k, _)| k == key).count();
                format!("{key}:[{}]", vec!["***"; count].join(" "))
            })
            .collect();
        lines.push(format!("> headers: map[{}]", entries.join(" ")));
    }
    lines.push(format!("> tls={}", flags.tls));
    if flags.tls {
        lines.push(format!("  > no-verify={} ", flags.tls_no_verify));
        lines.push(format!("  > ca-cert={}", flags.tls_ca_cert));
        lines.push(format!("  > client-cert={}", flags.tls_client_cert));
        lines.push(format!("  > client-key={}", flags.tls_client_key));
        lines.push(format!("  > server-name={}", flags.tls_server_name));
    }
    lines.push(format!("> alts={}", flags.alts));
    lines.push(format!("> spiffe={}", flags.spiffe));
    lines
}

/// The target as `probe grpc` reads it: grpc-go's `dns:` and `passthrough:` schemes name a plain
/// `host:port` (the resolver authority, which probe does not use, dropped).
fn target(addr: &str) -> String {
    for scheme in ["dns:", "passthrough:"] {
        if let Some(rest) = addr.strip_prefix(scheme) {
            return match rest.strip_prefix("//") {
                Some(authority_and_path) => authority_and_path
                    .split_once('/')
                    .map_or(authority_and_path, |(_, endpoint)| endpoint)
                    .to_owned(),
                None => rest.to_owned(),
            };
        }
    }
    addr.to_owned()
}

/// `probe grpc`'s options for these flags, without the target; TLS and metadata apart, so that
/// a failure can be told as main.go tells it.
fn tls_args(flags: &Flags) -> Vec<String> {
    let mut args = Vec::new();
    if flags.tls {
        args.push("--tls".to_owned());
    }
    for (given, option) in [
        (&flags.tls_ca_cert, "--cacert"),
        (&flags.tls_client_cert, "--cert"),
        (&flags.tls_client_key, "--key"),
        (&flags.tls_server_name, "--server-name"),
    ] {
        if !given.is_empty() {
            args.push(format!("{option}={given}"));
        }
    }
    if flags.tls_no_verify {
        args.push("--insecure".to_owned());
    }
    args
}

fn header_args(flags: &Flags) -> Vec<String> {
    // grpc.WithUserAgent: an empty one leaves grpc-go's own, so probe's stays.
    let agent = (!flags.user_agent.is_empty()).then(|| ("user-agent".to_owned(), flags.user_agent.clone()));
    flags
        .headers
        .iter()
        .cloned()
        .chain(agent)
        .map(|(key, value)| format!("--header={key}: {value}"))
        .collect()
}

/// A place no probe connects to: Config is built before any connection, so a placeholder target
/// tells a TLS or metadata problem apart from one with the address.
const PLACEHOLDER: &str = "127.0.0.1:1";

pub fn main(args: &[OsString], env: &dyn Env) -> ExitCode {
    ExitCode::from(probe(&texts(&args[1..]), env))
}

fn probe(args: &[String], env: &dyn Env) -> u8 {
    let flags = match parse(args) {
        Ok(flags) => flags,
        Err(err) => {
            let usage = usage();
            let text = match err {
                ParseError::Help => usage,
                ParseError::Message(message) => format!("{message}\n{usage}"),
            };
            err_text(&text);
            return INVALID_ARGUMENTS;
        }
    };
    if flags.version {
        out_line(&format!("probe {} (as grpc_health_probe)", env!("CARGO_PKG_VERSION")));
        return 0;
    }
    if let Some(message) = validate(&flags) {
        log(&format!("error: {message}"));
        return INVALID_ARGUMENTS;
    }
    if flags.verbose {
        verbose_options(&flags).iter().for_each(|line| log(line));
    }
    if flags.tls && flags.spiffe {
        log("-tls and -spiffe are mutually incompatible");
        return INVALID_ARGUMENTS;
    }
    if flags.alts {
        log("error: -alts is not supported: probe speaks plain text or TLS (-tls), not ALTS");
        return INVALID_ARGUMENTS;
    }
    if flags.spiffe {
        log(
            "error: -spiffe is not supported: give the workload's certificate with -tls -tls-client-cert -tls-client-key",
        );
        return INVALID_ARGUMENTS;
    }
    let timing = Timing {
        timeout: to_std(flags.connect_timeout.saturating_add(flags.rpc_timeout)),
        wait: None,
        interval: Duration::from_secs(1),
    };
    let options = [
        (tls_args(&flags), Vec::new(), PLACEHOLDER.to_owned()),
        (Vec::new(), header_args(&flags), PLACEHOLDER.to_owned()),
        (tls_args(&flags), header_args(&flags), target(&flags.addr)),
    ];
    let mut built = None;
    for (stage, (tls, headers, target)) in options.into_iter().enumerate() {
        let mut check = vec!["grpc".to_owned(), format!("--service={}", flags.service)];
        check.extend(tls);
        check.extend(headers);
        check.extend(["--".to_owned(), target]);
        match config(&check, timing, env) {
            Ok(config) => built = Some(config),
            Err(err) => {
                let (code, line) = match stage {
                    0 => (INVALID_ARGUMENTS, format!("failed to initialize tls credentials. error={err:#}")),
                    1 => (INVALID_ARGUMENTS, format!("error: invalid -rpc-header: {err:#}")),
                    _ => (
                        CONNECTION_FAILURE,
                        format!(
                            "error: failed to connect service at \"{}\": {err:#}",
                            shown_target(&flags.addr)
                        ),
                    ),
                };
                if flags.verbose && stage == 2 {
                    log("establishing connection");
                }
                log(&line);
                return code;
            }
        }
    }
    let config = built.expect("the last stage built the settings");
    if flags.verbose {
        log("establishing connection");
    }
    let outcome = check_one(&config);
    let (code, lines) = tell(&outcome, &flags, config.timeout);
    for line in lines.iter().filter(|line| flags.verbose || !line.starts_with(VERBOSE)) {
        log(line.strip_prefix(VERBOSE).unwrap_or(line));
    }
    code
}

/// Marks a line only `-v` prints.
const VERBOSE: &str = "\u{0}v ";

/// The exit code and lines for an outcome, as main.go reaches them. probe's "no usable answer"
/// (unreachable) is main.go's connection failure: grpc-go keeps a connection that fails, or
/// whose peer never completes HTTP/2, from becoming ready until the connect timeout. An answer
/// with an error status is its RPC failure; an answer other than SERVING, unhealthy.
fn tell(outcome: &Outcome, flags: &Flags, deadline: Duration) -> (u8, Vec<String>) {
    let message = outcome.verdict.message.as_str();
    let took = |names: &[&str]| -> i128 {
        let sum: Duration =
            outcome.phases.iter().filter(|phase| names.contains(&phase.name)).map(|phase| phase.took).sum();
        i128::try_from(sum.as_nanos()).unwrap_or(i128::MAX)
    };
    let connected = format!("{VERBOSE}connection established (took {})", format_duration(took(&CONNECTING)));
    match outcome.verdict.status {
        Status::Healthy => {
            let elapsed = format!(
                "{VERBOSE}time elapsed: connect={} rpc={}",
                format_duration(took(&CONNECTING)),
                format_duration(took(&["rpc"]))
            );
            (0, vec![connected, elapsed, "status: SERVING".to_owned()])
        }
        // The deadline passed: the guard answers at it, whatever words the check chose.
        Status::Unreachable if outcome.elapsed + Duration::from_millis(10) >= deadline => (
            CONNECTION_FAILURE,
            vec![format!(
                "timeout: failed to connect service \"{}\" within {}",
                shown_target(&flags.addr),
                format_duration(flags.connect_timeout)
            )],
        ),
        Status::Unreachable => (
            CONNECTION_FAILURE,
            vec![format!("error: failed to connect service at \"{}\": {message}", shown_target(&flags.addr))],
        ),
        Status::Unhealthy => match answer(message) {
            Answer::Status(status) => {
                (UNHEALTHY, vec![connected, format!("service unhealthy (responded with {})", quote(&status))])
            }
            Answer::Unimplemented(said) => (
                RPC_FAILURE,
                vec![
                    connected,
                    format!(
                        "error: this server does not implement the grpc health protocol (grpc.health.v1.Health): {said}"
                    ),
                ],
            ),
            Answer::Error { code, said } => (
                RPC_FAILURE,
                vec![connected, format!("error: health rpc failed: rpc error: code = {code} desc = {said}")],
            ),
        },
    }
}

/// The phases grpc-go counts as connecting.
const CONNECTING: [&str; 3] = ["resolve", "connect", "tls"];

/// What an unhealthy verdict of `probe grpc` says the server answered.
#[derive(Debug, PartialEq, Eq)]
enum Answer {
    /// A health answer other than SERVING, named as the proto enum's String() names it.
    Status(String),
    /// grpc-status UNIMPLEMENTED, with its message.
    Unimplemented(String),
    /// Another grpc-status: its name as grpc-go's `codes.Code` prints it, and its message.
    Error { code: String, said: String },
}

/// Reads `probe grpc`'s unhealthy messages: `NOT_SERVING`, `NOT_SERVING for service "x"`,
/// `status 7 (not a known ServingStatus)`, `the server has no health service (UNIMPLEMENTED
/// "msg")`, `NOT_FOUND "msg": the server knows no service "x"`, `CODE "msg"`, `grpc-status 42`.
fn answer(message: &str) -> Answer {
    for status in ["NOT_SERVING", "SERVICE_UNKNOWN", "UNKNOWN"] {
        if let Some(rest) = message.strip_prefix(status)
            && (rest.is_empty() || rest.starts_with(" for service \""))
        {
            return Answer::Status(status.to_owned());
        }
    }
    if let Some(number) = message.strip_prefix("status ").and_then(|rest| rest.split(' ').next())
        && number.parse::<u32>().is_ok()
    {
        return Answer::Status(number.to_owned());
    }
    if let Some(rest) = message.strip_prefix("the server has no health service (UNIMPLEMENTED") {
        let said = rest.strip_suffix(')').unwrap_or(rest);
        return Answer::Unimplemented(unquote(said));
    }
    let (name, rest) = match message.strip_prefix("grpc-status ") {
        Some(rest) => {
            let number = rest.split([' ', ':']).next().unwrap_or_default();
            (format!("Code({number})"), &rest[number.len()..])
        }
        None => {
            let name = message.split([' ', ':']).next().unwrap_or_default();
            (go_code(name), &message[name.len()..])
        }
    };
    let said = rest.split_once("\": the server knows no service").map_or(rest, |(said, _)| said);
    Answer::Error { code: name, said: unquote(said) }
}

/// ` "text"` → `text`; anything else → nothing.
fn unquote(text: &str) -> String {
    let text = text.trim_start();
    match text.strip_prefix('"') {
        Some(inner) => inner.strip_suffix('"').unwrap_or(inner).to_owned(),
        None => String::new(),
    }
}

/// A gRPC status code's name (`NOT_FOUND`) as grpc-go's `codes.Code.String` writes it.
fn go_code(name: &str) -> String {
    let known = [
        ("OK", "OK"),
        ("CANCELLED", "Canceled"),
        ("UNKNOWN", "Unknown"),
        ("INVALID_ARGUMENT", "InvalidArgument"),
        ("DEADLINE_EXCEEDED", "DeadlineExceeded"),
        ("NOT_FOUND", "NotFound"),
        ("ALREADY_EXISTS", "AlreadyExists"),
        ("PERMISSION_DENIED", "PermissionDenied"),
        ("RESOURCE_EXHAUSTED", "ResourceExhausted"),
        ("FAILED_PRECONDITION", "FailedPrecondition"),
        ("ABORTED", "Aborted"),
        ("OUT_OF_RANGE", "OutOfRange"),
        ("UNIMPLEMENTED", "Unimplemented"),
        ("INTERNAL", "Internal"),
        ("UNAVAILABLE", "Unavailable"),
        ("DATA_LOSS", "DataLoss"),
        ("UNAUTHENTICATED", "Unauthenticated"),
    ];
    known.iter().find(|(upper, _)| *upper == name).map_or_else(|| name.to_owned(), |(_, go)| (*go).to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(text: &[&str]) -> Vec<String> {
        text.iter().map(|arg| (*arg).to_owned()).collect()
    }

    #[test]
    fn addresses_and_quotes() {
        assert_eq!(target("dns:///db:50051"), "db:50051");
        assert_eq!(target("dns://8.8.8.8/db:50051"), "db:50051");
        assert_eq!(target("passthrough:///:50051"), ":50051");
        assert_eq!(target("unix:///run/app.sock"), "unix:///run/app.sock");
        assert_eq!(quote("a\"b\\c\n\u{1}"), "\"a\\\"b\\\\c\\n\\x01\"");
    }

    #[test]
    fn unhealthy_messages_name_what_the_server_answered() {
        assert_eq!(answer("NOT_SERVING"), Answer::Status("NOT_SERVING".into()));
        assert_eq!(answer("UNKNOWN for service \"db\""), Answer::Status("UNKNOWN".into()));
        assert_eq!(answer("status 7 (not a known ServingStatus)"), Answer::Status("7".into()));
        assert_eq!(
            answer("the server has no health service (UNIMPLEMENTED \"Method not found!\")"),
            Answer::Unimplemented("Method not found!".into())
        );
        assert_eq!(
            answer("the server has no health service (UNIMPLEMENTED)"),
            Answer::Unimplemented(String::new())
        );
        assert_eq!(
            answer("NOT_FOUND: the server knows no service \"db\""),
            Answer::Error { code: "NotFound".into(), said: String::new() }
        );
        assert_eq!(
            answer("NOT_FOUND \"unknown service\": the server knows no service \"db\""),
            Answer::Error { code: "NotFound".into(), said: "unknown service".into() }
        );
        assert_eq!(
            answer("UNAUTHENTICATED \"missing token\""),
            Answer::Error { code: "Unauthenticated".into(), said: "missing token".into() }
        );
        assert_eq!(answer("UNKNOWN \"boom\""), Answer::Error { code: "Unknown".into(), said: "boom".into() });
        assert_eq!(answer("grpc-status 42"), Answer::Error { code: "Code(42)".into(), said: String::new() });
    }

    #[test]
    fn validation_follows_main_go() {
        let flags = |given: &[&str]| parse(&args(given)).unwrap();
        assert_eq!(validate(&flags(&[])).unwrap(), "-addr not specified");
        assert_eq!(
            validate(&flags(&["-addr=x:1", "-connect-timeout=0"])).unwrap(),
            "-connect-timeout must be greater than zero (specified: 0s)"
        );
        assert_eq!(
            validate(&flags(&["-addr=x:1", "-tls", "-alts"])).unwrap(),
            "cannot specify -tls with -alts"
        );
        assert_eq!(
            validate(&flags(&["-addr=x:1", "-tls", "-tls-client-key=k"])).unwrap(),
            "specified -tls-client-key without specifying -tls-client-cert"
        );
        assert_eq!(validate(&flags(&["-addr=x:1", "-tls", "-spiffe"])), None);
    }
}
