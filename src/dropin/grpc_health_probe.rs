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

use super::{Timing, check_one, config, err_line, err_text, out_line, texts};
use crate::{
    env::Env,
    outcome::{Outcome, Status},
};

const INVALID_ARGUMENTS: u8 = 1;
const CONNECTION_FAILURE: u8 = 2;
const RPC_FAILURE: u8 = 3;
const UNHEALTHY: u8 = 4;

/// The kinds of value a flag takes, as Go's `flag` package prints and parses them.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Bool,
    Str,
    Duration,
    /// `-rpc-header`'s own `flag.Value`: repeatable `name: value`.
    Header,
}

struct Flag {
    name: &'static str,
    kind: Kind,
    usage: &'static str,
    /// The default as `PrintDefaults` shows it, when it is not the zero value.
    default: Option<&'static str>,
}

/// grpc-health-probe's flags, sorted by name as `PrintDefaults` lists them.
const FLAGS: &[Flag] = &[
    flag("addr", Kind::Str, "(required) tcp host:port to connect", None),
    flag("alts", Kind::Bool, "use ALTS (default: false, INSECURE plaintext transport)", None),
    flag("connect-timeout", Kind::Duration, "timeout for establishing connection", Some("1s")),
    flag(
        "gzip",
        Kind::Bool,
        "use GZIPCompressor for requests and GZIPDecompressor for response (default: false)",
        None,
    ),
    flag(
        "rpc-header",
        Kind::Header,
        "additional RPC headers in 'name: value' format. May specify more than one via multiple flags.",
        None,
    ),
    flag("rpc-timeout", Kind::Duration, "timeout for health check rpc", Some("1s")),
    flag("service", Kind::Str, "service name to check (default: \"\")", None),
    flag("spiffe", Kind::Bool, "use SPIFFE to obtain mTLS credentials", None),
    flag("tls", Kind::Bool, "use TLS (default: false, INSECURE plaintext transport)", None),
    flag(
        "tls-ca-cert",
        Kind::Str,
        "(with -tls, optional) file containing trusted certificates for verifying server",
        None,
    ),
    flag(
        "tls-client-cert",
        Kind::Str,
        "(with -tls, optional) client certificate for authenticating to the server (requires -tls-client-key)",
        None,
    ),
    flag(
        "tls-client-key",
        Kind::Str,
        "(with -tls) client private key for authenticating to the server (requires -tls-client-cert)",
        None,
    ),
    flag(
        "tls-no-verify",
        Kind::Bool,
        "(with -tls) don't verify the certificate (INSECURE) presented by the server (default: false)",
        None,
    ),
    flag(
        "tls-server-name",
        Kind::Str,
        "(with -tls) override the hostname used to verify the server certificate",
        None,
    ),
    flag(
        "user-agent",
        Kind::Str,
        "user-agent header value of health check requests",
        Some("\"grpc_health_probe\""),
    ),
    flag("v", Kind::Bool, "verbose logs", None),
    flag("version", Kind::Bool, "print the version and exit", None),
];

const fn flag(name: &'static str, kind: Kind, usage: &'static str, default: Option<&'static str>) -> Flag {
    Flag { name, kind, usage, default }
}

/// The parsed flags, with main.go's defaults.
#[derive(Debug, PartialEq)]
struct Flags {
    addr: String,
    service: String,
    user_agent: String,
    connect_timeout: i128,
    rpc_timeout: i128,
    tls: bool,
    tls_no_verify: bool,
    tls_ca_cert: String,
    tls_client_cert: String,
    tls_client_key: String,
    tls_server_name: String,
    headers: Vec<(String, String)>,
    alts: bool,
    spiffe: bool,
    gzip: bool,
    verbose: bool,
    version: bool,
}

const SECOND: i128 = 1_000_000_000;

impl Default for Flags {
    fn default() -> Self {
        Flags {
            addr: String::new(),
            service: String::new(),
            user_agent: "grpc_health_probe".to_owned(),
            connect_timeout: SECOND,
            rpc_timeout: SECOND,
            tls: false,
            tls_no_verify: false,
            tls_ca_cert: String::new(),
            tls_client_cert: String::new(),
            tls_client_key: String::new(),
            tls_server_name: String::new(),
            headers: Vec::new(),
            alts: false,
            spiffe: false,
            gzip: false,
            verbose: false,
            version: false,
        }
    }
}

/// Why parsing stopped, as `FlagSet.Parse` returns it after printing.
#[derive(Debug, PartialEq)]
enum ParseError {
    /// `-h` or `-help`: the usage alone.
    Help,
    /// The message printed before the usage.
    Message(String),
}

/// Go's `FlagSet.Parse`: flags until the first argument that is not one (or `--`); `-name`,
/// `--name`, `-name=value`, `-name value`; booleans take no separate value.
fn parse(args: &[String]) -> Result<Flags, ParseError> {
    let mut flags = Flags::default();
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        if arg.len() < 2 || !arg.starts_with('-') {
            break;
        }
        let minuses = if arg.as_bytes()[1] == b'-' { 2 } else { 1 };
        if arg == "--" {
            break;
        }
        let name = &arg[minuses..];
        if name.is_empty() || name.starts_with('-') || name.starts_with('=') {
            return Err(ParseError::Message(format!("bad flag syntax: {arg}")));
        }
        let (name, value) = match name.split_once('=') {
            Some((name, value)) => (name, Some(value)),
            None => (name, None),
        };
        let Some(flag) = FLAGS.iter().find(|flag| flag.name == name) else {
            if name == "help" || name == "h" {
                return Err(ParseError::Help);
            }
            return Err(ParseError::Message(format!("flag provided but not defined: -{name}")));
        };
        if flag.kind == Kind::Bool {
            let set = match value {
                None => true,
                Some(value) => parse_bool(value).ok_or_else(|| {
                    ParseError::Message(format!(
                        "invalid boolean value {} for -{name}: parse error",
                        quote(value)
                    ))
                })?,
            };
            set_bool(&mut flags, name, set);
            continue;
        }
        let value = match value {
            Some(value) => value,
            None => {
                rest.next().ok_or_else(|| ParseError::Message(format!("flag needs an argument: -{name}")))?
            }
        };
        let invalid = |why: &str| {
            ParseError::Message(format!("invalid value {} for flag -{name}: {why}", quote(value)))
        };
        match flag.kind {
            Kind::Duration => {
                let duration = parse_duration(value).ok_or_else(|| invalid("parse error"))?;
                match name {
                    "connect-timeout" => flags.connect_timeout = duration,
                    _ => flags.rpc_timeout = duration,
                }
            }
            Kind::Header => {
                let Some((key, text)) = value.split_once(':') else {
                    return Err(invalid(&format!(
                        "invalid RPC header, expected 'key: value', got {}",
                        quote(value)
                    )));
                };
                // metadata.MD.Append lowercases the key; the value loses its leading spaces.
                flags.headers.push((key.to_lowercase(), text.trim_start().to_owned()));
            }
            _ => set_string(&mut flags, name, value.to_owned()),
        }
    }
    Ok(flags)
}

fn set_bool(flags: &mut Flags, name: &str, set: bool) {
    let field = match name {
        "alts" => &mut flags.alts,
        "gzip" => &mut flags.gzip,
        "spiffe" => &mut flags.spiffe,
        "tls" => &mut flags.tls,
        "tls-no-verify" => &mut flags.tls_no_verify,
        "v" => &mut flags.verbose,
        _ => &mut flags.version,
    };
    *field = set;
}

fn set_string(flags: &mut Flags, name: &str, value: String) {
    let field = match name {
        "addr" => &mut flags.addr,
        "service" => &mut flags.service,
        "tls-ca-cert" => &mut flags.tls_ca_cert,
        "tls-client-cert" => &mut flags.tls_client_cert,
        "tls-client-key" => &mut flags.tls_client_key,
        "tls-server-name" => &mut flags.tls_server_name,
        _ => &mut flags.user_agent,
    };
    *field = value;
}

/// Go's `strconv.ParseBool`.
fn parse_bool(text: &str) -> Option<bool> {
    match text {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// The usage `FlagSet.PrintDefaults` writes for a flag set without a name.
fn usage() -> String {
    let mut out = String::from("Usage:\n");
    for flag in FLAGS {
        let mut line = format!("  -{}", flag.name);
        match flag.kind {
            Kind::Bool => {}
            Kind::Str => line.push_str(" string"),
            Kind::Duration => line.push_str(" duration"),
            Kind::Header => line.push_str(" value"),
        }
        // A name of one letter with no value type shares its line with the usage text.
        line.push_str(if line.len() <= 4 { "\t" } else { "\n    \t" });
        line.push_str(flag.usage);
        if let Some(default) = flag.default {
            line.push_str(&format!(" (default {default})"));
        }
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// Go's `time.ParseDuration`, in nanoseconds: `300ms`, `-1.5h`, `1h2m3s`, `0`; `None` where Go
/// refuses (no unit, unknown unit, out of range).
fn parse_duration(text: &str) -> Option<i128> {
    let (negative, mut rest) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if rest == "0" {
        return Some(0);
    }
    if rest.is_empty() {
        return None;
    }
    let mut total: i128 = 0;
    while !rest.is_empty() {
        let whole_len = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        let whole = &rest[..whole_len];
        rest = &rest[whole_len..];
        let mut fraction = "";
        if let Some(after) = rest.strip_prefix('.') {
            let len = after.find(|c: char| !c.is_ascii_digit()).unwrap_or(after.len());
            fraction = &after[..len];
            rest = &after[len..];
        }
        if whole.is_empty() && fraction.is_empty() {
            return None;
        }
        let unit_len = rest.find(|c: char| c == '.' || c.is_ascii_digit()).unwrap_or(rest.len());
        let scale: i128 = match &rest[..unit_len] {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => SECOND,
            "m" => 60 * SECOND,
            "h" => 3600 * SECOND,
            _ => return None,
        };
        rest = &rest[unit_len..];
        let whole: i128 = if whole.is_empty() { 0 } else { whole.parse().ok()? };
        let mut part = whole.checked_mul(scale)?;
        let mut place = scale;
        for digit in fraction.bytes().take(30) {
            place /= 10;
            part += i128::from(digit - b'0') * place;
        }
        total = total.checked_add(part)?;
        if total > i128::from(i64::MAX) + i128::from(negative) {
            return None;
        }
    }
    Some(if negative { -total } else { total })
}

/// Go's `time.Duration.String`: `1s`, `1.5s`, `250ms`, `1.234567ms`, `2m0s`, `1h0m0s`, `0s`.
fn format_duration(nanos: i128) -> String {
    let sign = if nanos < 0 { "-" } else { "" };
    let u = nanos.unsigned_abs();
    if u == 0 {
        return "0s".to_owned();
    }
    let fraction = |value: u128, digits: u32| -> String {
        let scale = 10u128.pow(digits);
        let (whole, part) = (value / scale, value % scale);
        let part = format!("{part:0width$}", width = digits as usize);
        let part = part.trim_end_matches('0');
        if part.is_empty() { whole.to_string() } else { format!("{whole}.{part}") }
    };
    if u < 1_000_000_000 {
        let (digits, unit) = match u {
            u if u < 1_000 => (0, "ns"),
            u if u < 1_000_000 => (3, "µs"),
            _ => (6, "ms"),
        };
        return format!("{sign}{}{unit}", fraction(u, digits));
    }
    let seconds = fraction(u % (60 * 1_000_000_000), 9);
    let minutes = u / (60 * 1_000_000_000);
    match (minutes / 60, minutes % 60) {
        (0, 0) => format!("{sign}{seconds}s"),
        (0, m) => format!("{sign}{m}m{seconds}s"),
        (h, m) => format!("{sign}{h}h{m}m{seconds}s"),
    }
}

fn to_std(nanos: i128) -> Duration {
    Duration::from_nanos(u64::try_from(nanos.max(0)).unwrap_or(u64::MAX))
}

/// Go's `strconv.Quote` for `%q`: the text in double quotes, escapes for quotes, backslashes and
/// control characters.
fn quote(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x0b' => out.push_str("\\v"),
            c if (c as u32) < 0x80 && c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

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
            flags.addr,
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
                        format!("error: failed to connect service at {}: {err:#}", quote(&flags.addr)),
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
                "timeout: failed to connect service {} within {}",
                quote(&flags.addr),
                format_duration(flags.connect_timeout)
            )],
        ),
        Status::Unreachable => (
            CONNECTION_FAILURE,
            vec![format!("error: failed to connect service at {}: {message}", quote(&flags.addr))],
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
    fn flags_parse_as_go_flag_does() {
        let flags =
            parse(&args(&["-addr=:5000", "--service", "db", "-tls", "-tls-no-verify=true", "-v"])).unwrap();
        assert_eq!((flags.addr.as_str(), flags.service.as_str()), (":5000", "db"));
        assert!(flags.tls && flags.tls_no_verify && flags.verbose);
        // Parsing stops at the first argument that is not a flag, and at `--`.
        let flags = parse(&args(&["-addr", "x:1", "extra", "-tls"])).unwrap();
        assert!(!flags.tls);
        let flags = parse(&args(&["-addr", "x:1", "--", "-tls"])).unwrap();
        assert!(!flags.tls);
        // A value may start with '-'.
        assert_eq!(parse(&args(&["-service", "-x"])).unwrap().service, "-x");
        let flags =
            parse(&args(&["-rpc-header", "Foo: bar", "-rpc-header=foo:baz", "-connect-timeout=250ms"]))
                .unwrap();
        assert_eq!(
            flags.headers,
            [("foo".to_owned(), "bar".to_owned()), ("foo".to_owned(), "baz".to_owned())]
        );
        assert_eq!(flags.connect_timeout, 250_000_000);
        for (given, expected) in [
            (&["-x"][..], "flag provided but not defined: -x"),
            (&["--no-such-flag=1"], "flag provided but not defined: -no-such-flag"),
            (&["-addr"], "flag needs an argument: -addr"),
            (&["-tls=yes"], "invalid boolean value \"yes\" for -tls: parse error"),
            (&["-rpc-timeout", "1"], "invalid value \"1\" for flag -rpc-timeout: parse error"),
            (
                &["-rpc-header", "novalue"],
                "invalid value \"novalue\" for flag -rpc-header: invalid RPC header, expected 'key: value', got \"novalue\"",
            ),
            (&["---x"], "bad flag syntax: ---x"),
            (&["-=x"], "bad flag syntax: -=x"),
        ] {
            assert_eq!(parse(&args(given)), Err(ParseError::Message(expected.to_owned())), "{given:?}");
        }
        assert_eq!(parse(&args(&["-h"])), Err(ParseError::Help));
        assert_eq!(parse(&args(&["--help"])), Err(ParseError::Help));
    }

    #[test]
    fn the_usage_is_print_defaults() {
        let usage = usage();
        assert!(
            usage.starts_with("Usage:\n  -addr string\n    \t(required) tcp host:port to connect\n  -alts\n")
        );
        assert!(usage.contains(
            "  -connect-timeout duration\n    \ttimeout for establishing connection (default 1s)\n"
        ));
        assert!(usage.contains("  -rpc-header value\n"));
        assert!(usage.contains("health check requests (default \"grpc_health_probe\")\n"));
        assert!(usage.contains("\n  -v\tverbose logs\n"));
    }

    #[test]
    fn durations_read_and_print_as_go_does() {
        for (text, nanos) in [
            ("0", Some(0)),
            ("1s", Some(SECOND)),
            ("250ms", Some(250_000_000)),
            ("1.5h", Some(5400 * SECOND)),
            ("1h2m3.5s", Some(3723 * SECOND + SECOND / 2)),
            ("-1s", Some(-SECOND)),
            (".5s", Some(SECOND / 2)),
            ("1µs", Some(1000)),
            ("1", None),
            ("", None),
            ("s", None),
            (".s", None),
            ("1d", None),
            ("3000000h", None),
        ] {
            assert_eq!(parse_duration(text), nanos, "{text}");
        }
        for (nanos, text) in [
            (0, "0s"),
            (SECOND, "1s"),
            (1_500_000_000, "1.5s"),
            (250_000_000, "250ms"),
            (1_234_567, "1.234567ms"),
            (1_500, "1.5µs"),
            (12, "12ns"),
            (120 * SECOND, "2m0s"),
            (3600 * SECOND, "1h0m0s"),
            (-SECOND, "-1s"),
        ] {
            assert_eq!(format_duration(nanos), text);
        }
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
