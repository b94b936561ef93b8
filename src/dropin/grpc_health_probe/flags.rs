//! Go's `flag` package as grpc-health-probe's main.go uses it: its flags with their usage texts and
//! defaults, `FlagSet.Parse` (ContinueOnError), `PrintDefaults`, and the Go value syntaxes they
//! read and print (`time.ParseDuration`, `Duration.String`, `strconv.ParseBool`, `strconv.Quote`).

use std::time::Duration;

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
pub(super) struct Flags {
    pub(super) addr: String,
    pub(super) service: String,
    pub(super) user_agent: String,
    pub(super) connect_timeout: i128,
    pub(super) rpc_timeout: i128,
    pub(super) tls: bool,
    pub(super) tls_no_verify: bool,
    pub(super) tls_ca_cert: String,
    pub(super) tls_client_cert: String,
    pub(super) tls_client_key: String,
    pub(super) tls_server_name: String,
    pub(super) headers: Vec<(String, String)>,
    pub(super) alts: bool,
    pub(super) spiffe: bool,
    pub(super) gzip: bool,
    pub(super) verbose: bool,
    pub(super) version: bool,
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
pub(super) enum ParseError {
    /// `-h` or `-help`: the usage alone.
    Help,
    /// The message printed before the usage.
    Message(String),
}

/// Go's `FlagSet.Parse`: flags until the first argument that is not one (or `--`); `-name`,
/// `--name`, `-name=value`, `-name value`; booleans take no separate value.
pub(super) fn parse(args: &[String]) -> Result<Flags, ParseError> {
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
                // grpc_health_probe quotes the value twice here; it may be a token.
                let Some((key, text)) = value.split_once(':') else {
                    return Err(ParseError::Message(format!(
                        "invalid value for flag -{name}: invalid RPC header, expected 'key: value'"
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
pub(super) fn usage() -> String {
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
pub(super) fn format_duration(nanos: i128) -> String {
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

pub(super) fn to_std(nanos: i128) -> Duration {
    Duration::from_nanos(u64::try_from(nanos.max(0)).unwrap_or(u64::MAX))
}

/// Go's `strconv.Quote` for `%q`: the text in double quotes, escapes for quotes, backslashes and
/// control characters.
pub(super) fn quote(text: &str) -> String {
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
                "invalid value for flag -rpc-header: invalid RPC header, expected 'key: value'",
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
}
