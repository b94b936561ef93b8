//! `pg_isready`: PostgreSQL's command line (getopt_long, as `src/bin/scripts/pg_isready.c` reads
//! it), its PG* environment, its line (`HOST:PORT - accepting connections`) and exit codes
//! (0 accepting, 1 rejecting, 2 no response, 3 no attempt), over `probe postgres --ping`. The
//! line's HOST:PORT is worked out as pg_isready works it out: from `-d` when it is a connection
//! string, else `-h`/`-p`, else PGHOST/PGPORT, else the socket directory and 5432.

use std::{ffi::OsString, path::Path, process::ExitCode, time::Duration};

use super::{NO_LIMIT, Overlay, Timing, check_one, config, err_line, out_line, texts};
use crate::{env::Env, outcome::Status, quote};

const NO_ATTEMPT: u8 = 3;
/// Debian's libpq default socket directory (DEFAULT_PGSOCKET_DIR).
const SOCKET_DIR: &str = "/var/run/postgresql";
/// pg_isready's `-t` when none is given (DEFAULT_CONNECT_TIMEOUT).
const DEFAULT_TIMEOUT: &str = "3";

/// What the command line sets.
#[derive(Debug, Default, PartialEq)]
struct Args {
    dbname: Option<String>,
    host: Option<String>,
    port: Option<String>,
    user: Option<String>,
    timeout: Option<String>,
    quiet: bool,
}

/// How the command line was refused, in getopt's words or pg_isready's.
#[derive(Debug, PartialEq)]
enum Refusal {
    /// getopt's own complaint, printed after the program's path.
    Getopt(String),
    /// An argument that is not an option: named if it is a plain word (never a URL or a
    /// `key=value`, which may hold a password).
    TooMany(Option<String>),
}

const LONG: [(&str, char); 6] =
    [("dbname", 'd'), ("host", 'h'), ("port", 'p'), ("quiet", 'q'), ("timeout", 't'), ("username", 'U')];

/// glibc's getopt_long with "d:h:p:qt:U:": options anywhere (non-options are moved to the end,
/// unless POSIXLY_CORRECT is set), clusters (`-qh db`, `-hdb`), `--name=value` and `--name
/// value`, any unambiguous prefix of a long name, `--` ending the options.
fn parse(args: &[String], posixly_correct: bool) -> Result<Args, Refusal> {
    let mut parsed = Args::default();
    let mut operands: Vec<&String> = Vec::new();
    let mut rest = args.iter();
    let mut set = |option: char, value: Option<String>| match option {
        'd' => parsed.dbname = value,
        'h' => parsed.host = value,
        'p' => parsed.port = value,
        't' => parsed.timeout = value,
        'U' => parsed.user = value,
        _ => parsed.quiet = true,
    };
    while let Some(arg) = rest.next() {
        if arg == "--" {
            operands.extend(rest.by_ref());
            break;
        }
        if let Some(long) = arg.strip_prefix("--") {
            let (name, value) = match long.split_once('=') {
                Some((name, value)) => (name, Some(value.to_owned())),
                None => (long, None),
            };
            let found = LONG.iter().find(|(full, _)| *full == name).or_else(|| {
                Some(LONG.iter().filter(|(full, _)| full.starts_with(name)).collect::<Vec<_>>())
                    .filter(|found| found.len() == 1 && !name.is_empty())
                    .map(|found| found[0])
            });
            let Some(&(full, option)) = found else {
                // getopt quotes the whole argument; its value may be a password (--password=…).
                return Err(Refusal::Getopt(format!("unrecognized option '--{}'", quote::escaped(name))));
            };
            if option == 'q' {
                if value.is_some() {
                    return Err(Refusal::Getopt(format!("option '--{full}' doesn't allow an argument")));
                }
                set('q', None);
                continue;
            }
            let value = match value {
                Some(value) => value,
                None => rest
                    .next()
                    .cloned()
                    .ok_or_else(|| Refusal::Getopt(format!("option '--{full}' requires an argument")))?,
            };
            set(option, Some(value));
            continue;
        }
        match arg.strip_prefix('-').filter(|cluster| !cluster.is_empty()) {
            Some(cluster) => {
                for (at, option) in cluster.char_indices() {
                    match option {
                        'q' => set('q', None),
                        'd' | 'h' | 'p' | 't' | 'U' => {
                            let attached = &cluster[at + option.len_utf8()..];
                            let value = if attached.is_empty() {
                                rest.next().cloned().ok_or_else(|| {
                                    Refusal::Getopt(format!("option requires an argument -- '{option}'"))
                                })?
                            } else {
                                attached.to_owned()
                            };
                            set(option, Some(value));
                            break;
                        }
                        other => {
                            return Err(Refusal::Getopt(format!(
                                "invalid option -- '{}'",
                                quote::escaped(other.encode_utf8(&mut [0; 4]))
                            )));
                        }
                    }
                }
            }
            None if posixly_correct => {
                operands.push(arg);
                operands.extend(rest.by_ref());
                break;
            }
            None => operands.push(arg),
        }
    }
    match operands.first() {
        Some(first) => Err(Refusal::TooMany(plain_word(first).then(|| (*first).clone()))),
        None => Ok(parsed),
    }
}

fn help(name: &str) -> String {
    format!(
        "{name} issues a connection check to a PostgreSQL database.

Usage:
  {name} [OPTION]...

Options:
  -d, --dbname=DBNAME      database name
  -q, --quiet              run quietly
  -V, --version            output version information, then exit
  -?, --help               show this help, then exit

Connection options:
  -h, --host=HOSTNAME      database server host or socket directory
  -p, --port=PORT          database server port
  -t, --timeout=SECS       seconds to wait when attempting connection, 0 disables (default: {DEFAULT_TIMEOUT})
  -U, --username=USERNAME  user name to connect as

This {name} is probe {} ('probe postgres --ping'); see probe's README, \"Drop-in names\".
",
        env!("CARGO_PKG_VERSION")
    )
}

pub fn main(args: &[OsString], env: &dyn Env) -> ExitCode {
    let texts = texts(args);
    let program = texts[0].as_str();
    let name = Path::new(program).file_name().map_or(program.to_owned(), |n| n.to_string_lossy().into());
    let hint = || err_line(&format!("{name}: hint: Try \"{name} --help\" for more information."));
    match texts.get(1).map(String::as_str) {
        Some("--help" | "-?") => {
            let _ = crate::report::print_bytes(true, help(&name).as_bytes());
            return ExitCode::SUCCESS;
        }
        Some("--version" | "-V") => {
            out_line(&format!("{name} (probe) {}", env!("CARGO_PKG_VERSION")));
            return ExitCode::SUCCESS;
        }
        _ => {}
    }
    let args = match parse(&texts[1..], env.var("POSIXLY_CORRECT").is_some()) {
        Ok(args) => args,
        Err(Refusal::Getopt(complaint)) => {
            err_line(&format!("{program}: {complaint}"));
            hint();
            return ExitCode::from(NO_ATTEMPT);
        }
        Err(Refusal::TooMany(first)) => {
            let first = first.map(|word| format!(" (first is \"{word}\")")).unwrap_or_default();
            err_line(&format!("{name}: error: too many command-line arguments{first}"));
            hint();
            return ExitCode::from(NO_ATTEMPT);
        }
    };
    let given = match args.dbname.as_deref().filter(|d| is_connection_string(d)).map(conninfo::parse) {
        None => Vec::new(),
        Some(Ok(pairs)) => pairs,
        Some(Err(why)) => {
            err_line(&format!("{name}: error: {why}"));
            return ExitCode::from(NO_ATTEMPT);
        }
    };
    let from_string = |key: &str| given.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.clone());
    let host = from_string("host")
        .or_else(|| args.host.clone())
        .or_else(|| env.var("PGHOST"))
        .unwrap_or_else(|| SOCKET_DIR.to_owned());
    let hostaddr = from_string("hostaddr").or_else(|| env.var("PGHOSTADDR"));
    let port = from_string("port")
        .or_else(|| args.port.clone())
        .or_else(|| env.var("PGPORT"))
        .unwrap_or("5432".into());
    let shown = quote::escaped(&format!("{}:{port}", hostaddr.unwrap_or(host)));
    let say = |word: &str, code: u8| {
        if !args.quiet {
            out_line(&format!("{shown} - {word}"));
        }
        ExitCode::from(code)
    };
    // libpq reads the timeout and the port when it connects: a bad one is no response.
    let Some(timeout) = int_param(args.timeout.as_deref().unwrap_or(DEFAULT_TIMEOUT)) else {
        return say("no response", 2);
    };
    if !port.contains(',') && !port.is_empty() && int_param(&port).is_none_or(|p| !(1..=65535).contains(&p)) {
        return say("no response", 2);
    }
    let timeout = timeout.max(0);
    let (target, overlay) = target(&args, timeout);
    let env = Overlay { base: env, vars: overlay };
    // libpq waits at least 2 s when it waits at all.
    let deadline = if timeout == 0 { NO_LIMIT } else { Duration::from_secs(timeout.max(2).unsigned_abs()) };
    let timing = Timing { timeout: deadline, wait: None, interval: Duration::from_secs(1) };
    let check = ["postgres".to_owned(), "--ping".to_owned(), "--".to_owned(), target];
    let Ok(config) = config(&check, timing, &env) else { return say("no attempt", NO_ATTEMPT) };
    match check_one(&config).verdict.status {
        Status::Healthy => say("accepting connections", 0),
        Status::Unhealthy => say("rejecting connections", 1),
        Status::Unreachable => say("no response", 2),
    }
}

/// A word that may be quoted in a message: letters, digits and `._/-` only, so never a URL, a
/// `key=value` or a user's `name:password`.
fn plain_word(text: &str) -> bool {
    !text.is_empty() && text.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '/' | '-'))
}

/// pg_isready's test for a `-d` that is a connection string rather than a database name.
fn is_connection_string(text: &str) -> bool {
    text.starts_with("postgresql://") || text.starts_with("postgres://") || text.contains('=')
}

/// libpq's `parse_int_param`: an int, blanks around it allowed.
fn int_param(text: &str) -> Option<i64> {
    let trimmed = text.trim_matches(|c: char| c.is_ascii_whitespace() || c == '\x0b');
    let value: i64 = trimmed.parse().ok()?;
    i32::try_from(value).ok().map(i64::from)
}

/// The target `probe postgres` gets, and the variables set over the environment: pg_isready
/// passes `-h`, `-p`, `-U`, then `-d` (a connection string there overrides them), then
/// `connect_timeout` and `fallback_application_name` (which override it).
fn target(args: &Args, timeout: i64) -> (String, Vec<(&'static str, String)>) {
    let given =
        [("host", &args.host, "PGHOST"), ("port", &args.port, "PGPORT"), ("user", &args.user, "PGUSER")];
    let given = given.into_iter().filter_map(|(key, value, var)| {
        value.as_ref().filter(|value| !value.is_empty()).map(|value| (key, value.clone(), var))
    });
    let last =
        [("connect_timeout", timeout.to_string()), ("fallback_application_name", "pg_isready".to_owned())];
    match args.dbname.as_deref().filter(|d| !d.is_empty()) {
        Some(url) if url.starts_with("postgresql://") || url.starts_with("postgres://") => {
            // A URL takes no words before it: the options become the variables they stand for,
            // which a URL overrides too.
            let query: Vec<String> = last.iter().map(|(key, value)| format!("{key}={value}")).collect();
            let separator = match url.find('?') {
                None => "?",
                Some(_) if url.ends_with(['?', '&']) => "",
                Some(_) => "&",
            };
            let overlay = given.map(|(_, value, var)| (var, value)).collect();
            (format!("{url}{separator}{}", query.join("&")), overlay)
        }
        dbname => {
            let mut words: Vec<String> =
                given.map(|(key, value, _)| format!("{key}={}", quoted(&value))).collect();
            match dbname {
                Some(conninfo) if conninfo.contains('=') => words.push(conninfo.to_owned()),
                Some(name) => words.push(format!("dbname={}", quoted(name))),
                None => {}
            }
            words.extend(last.iter().map(|(key, value)| format!("{key}={}", quoted(value))));
            (words.join(" "), Vec::new())
        }
    }
}

/// A conninfo value in single quotes, backslashes and quotes escaped.
fn quoted(value: &str) -> String {
    format!("'{}'", value.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// libpq's `PQconninfoParse`, as pg_isready calls it to show where it connects: the pairs a
/// `postgres://` URL or `key=value` words set, or libpq's reason for refusing them.
mod conninfo {
    use crate::{quote, secret::is_secret_key};

    /// Every keyword libpq (up to 18) accepts.
    const KEYWORDS: &[&str] = &[
        "service",
        "user",
        "password",
        "passfile",
        "channel_binding",
        "connect_timeout",
        "dbname",
        "host",
        "hostaddr",
        "port",
        "client_encoding",
        "options",
        "application_name",
        "fallback_application_name",
        "keepalives",
        "keepalives_idle",
        "keepalives_interval",
        "keepalives_count",
        "tcp_user_timeout",
        "sslmode",
        "sslnegotiation",
        "sslcompression",
        "sslcert",
        "sslkey",
        "sslcertmode",
        "sslpassword",
        "sslrootcert",
        "sslcrl",
        "sslcrldir",
        "sslsni",
        "sslkeylogfile",
        "requirepeer",
        "require_auth",
        "ssl_min_protocol_version",
        "ssl_max_protocol_version",
        "min_protocol_version",
        "max_protocol_version",
        "gssencmode",
        "krbsrvname",
        "gsslib",
        "gssdelegation",
        "replication",
        "target_session_attrs",
        "load_balance_hosts",
        "scram_client_key",
        "scram_server_key",
        "oauth_issuer",
        "oauth_client_id",
        "oauth_client_secret",
        "oauth_scope",
    ];

    pub type Pairs = Vec<(String, String)>;

    pub fn parse(text: &str) -> Result<Pairs, String> {
        match text.strip_prefix("postgresql://").or_else(|| text.strip_prefix("postgres://")) {
            Some(rest) => uri(text, rest),
            None => words(text),
        }
    }

    /// libpq's `isspace`.
    fn blank(c: char) -> bool {
        matches!(c, ' ' | '\t' | '\n' | '\x0b' | '\x0c' | '\r')
    }

    /// `key=value` words: blanks around `=`, values in single quotes, backslash escapes.
    fn words(text: &str) -> Result<Pairs, String> {
        let mut pairs: Pairs = Vec::new();
        let mut chars = text.chars().peekable();
        loop {
            while chars.next_if(|&c| blank(c)).is_some() {}
            if chars.peek().is_none() {
                return Ok(pairs);
            }
            let mut key = String::new();
            while let Some(c) = chars.next_if(|&c| c != '=' && !blank(c)) {
                key.push(c);
            }
            while chars.next_if(|&c| blank(c)).is_some() {}
            // libpq quotes the word; only a keyword is quoted here, since a word may be the rest
            // of a password an unquoted space cut off (`password=a b`) or one (`password:a`).
            let after_a_secret = pairs.last().is_some_and(|(key, _)| is_secret_key(key));
            if chars.next() != Some('=') {
                return Err(match KEYWORDS.contains(&key.as_str()) {
                    true => format!("missing \"=\" after \"{key}\" in connection info string"),
                    false => {
                        "missing \"=\" after a word that is no connection option, in connection info string"
                            .to_owned()
                    }
                });
            }
            while chars.next_if(|&c| blank(c)).is_some() {}
            let mut value = String::new();
            if chars.next_if_eq(&'\'').is_some() {
                loop {
                    match chars.next() {
                        None => return Err("unterminated quoted string in connection info string".to_owned()),
                        Some('\\') => value.extend(chars.next()),
                        Some('\'') => break,
                        Some(c) => value.push(c),
                    }
                }
            } else {
                while let Some(c) = chars.next_if(|&c| !blank(c)) {
                    match c {
                        '\\' => value.extend(chars.next()),
                        c => value.push(c),
                    }
                }
            }
            if !KEYWORDS.contains(&key.as_str()) {
                return Err(match after_a_secret || !super::plain_word(&key) {
                    true => "invalid connection option after a secret value".to_owned(),
                    false => format!("invalid connection option \"{key}\""),
                });
            }
            pairs.push((key, value));
        }
    }

    /// `[user[:password]@][host[:port][,…]][/dbname][?key=value&…]`, percent-decoded.
    fn uri(whole: &str, rest: &str) -> Result<Pairs, String> {
        let mut pairs = Vec::new();
        let mut rest = rest;
        if let Some(at) = rest.find(['@', '/']).filter(|&at| rest.as_bytes()[at] == b'@') {
            let (user, password) = match rest[..at].split_once(':') {
                Some((user, password)) => (user, Some(password)),
                None => (&rest[..at], None),
            };
            if !user.is_empty() {
                pairs.push(("user".to_owned(), decode(user)?));
            }
            if let Some(password) = password.filter(|p| !p.is_empty()) {
                let password = decode(password)
                    .map_err(|_| "the password in the URI has a bad percent-encoding".to_owned())?;
                pairs.push(("password".to_owned(), password));
            }
            rest = &rest[at + 1..];
        }
        let (mut hosts, mut ports) = (String::new(), String::new());
        let end = loop {
            if let Some(inner) = rest.strip_prefix('[') {
                // libpq quotes the whole URI in these three; its query may hold a password.
                let close = inner.find(']').ok_or_else(|| {
                    "end of string reached when looking for matching \"]\" in IPv6 host address in URI"
                        .to_owned()
                })?;
                if close == 0 {
                    return Err("IPv6 host address may not be empty in URI".to_owned());
                }
                hosts.push_str(&inner[..close]);
                rest = &inner[close + 1..];
                if rest.chars().next().is_some_and(|c| !matches!(c, ':' | '/' | '?' | ',')) {
                    let position = whole.len() - rest.len() + 1;
                    return Err(format!(
                        "unexpected character at position {position} in URI (expected \":\" or \"/\")"
                    ));
                }
            } else {
                let len = rest.find([':', '/', '?', ',']).unwrap_or(rest.len());
                hosts.push_str(&rest[..len]);
                rest = &rest[len..];
            }
            if let Some(after) = rest.strip_prefix(':') {
                let len = after.find(['/', '?', ',']).unwrap_or(after.len());
                ports.push_str(&after[..len]);
                rest = &after[len..];
            }
            match rest.strip_prefix(',') {
                Some(after) => {
                    hosts.push(',');
                    ports.push(',');
                    rest = after;
                }
                None => break rest.chars().next(),
            }
        };
        if !hosts.is_empty() {
            pairs.push(("host".to_owned(), decode(&hosts)?));
        }
        if !ports.is_empty() {
            pairs.push(("port".to_owned(), decode(&ports)?));
        }
        if end == Some('/') {
            let after = &rest[1..];
            let len = after.find('?').unwrap_or(after.len());
            if len > 0 {
                pairs.push(("dbname".to_owned(), decode(&after[..len])?));
            }
            rest = &after[len..];
        }
        if let Some(query) = rest.strip_prefix('?') {
            for param in query.split('&').filter(|_| !query.is_empty()) {
                let (key, value) = match param.split_once('=') {
                    Some((_, value)) if value.contains('=') => {
                        return Err(format!(
                            "extra key/value separator \"=\" in URI query parameter: \"{}\"",
                            quote::escaped(param.split('=').next().unwrap_or_default())
                        ));
                    }
                    Some(pair) => pair,
                    // libpq quotes the parameter, which may be a password missing its key.
                    None => return Err("missing key/value separator \"=\" in URI query parameter".to_owned()),
                };
                let (key, value) = (decode(key)?, decode(value)?);
                let (key, value) = match (key.as_str(), value.as_str()) {
                    ("ssl", "true") => ("sslmode".to_owned(), "require".to_owned()),
                    _ => (key, value),
                };
                if !KEYWORDS.contains(&key.as_str()) {
                    return Err(format!("invalid URI query parameter: \"{}\"", quote::escaped(&key)));
                }
                pairs.push((key, value));
            }
        }
        Ok(pairs)
    }

    fn decode(text: &str) -> Result<String, String> {
        let bytes = text.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut at = 0;
        while at < bytes.len() {
            if bytes[at] != b'%' {
                out.push(bytes[at]);
                at += 1;
                continue;
            }
            let hex = bytes.get(at + 1..at + 3).and_then(|hex| std::str::from_utf8(hex).ok());
            let byte = hex
                .filter(|hex| hex.bytes().all(|b| b.is_ascii_hexdigit()))
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
                .ok_or_else(|| "invalid percent-encoded token".to_owned())?;
            if byte == 0 {
                return Err("forbidden value %00 in percent-encoded value".to_owned());
            }
            out.push(byte);
            at += 3;
        }
        Ok(String::from_utf8_lossy(&out).into_owned())
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        fn pairs(list: &[(&str, &str)]) -> Pairs {
            list.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
        }

        #[test]
        fn words_and_uris_read_as_libpq_reads_them() {
            assert_eq!(
                parse("host = db port=5433 dbname='my db' user=a\\ b").unwrap(),
                pairs(&[("host", "db"), ("port", "5433"), ("dbname", "my db"), ("user", "a b")])
            );
            assert_eq!(
                parse("postgres://u:pw@[::1]:5433,h2/app?sslmode=disable&ssl=true").unwrap(),
                pairs(&[
                    ("user", "u"),
                    ("password", "pw"),
                    ("host", "::1,h2"),
                    ("port", "5433,"),
                    ("dbname", "app"),
                    ("sslmode", "disable"),
                    ("sslmode", "require")
                ])
            );
            assert_eq!(parse("postgresql://%2Ftmp/").unwrap(), pairs(&[("host", "/tmp")]));
            assert_eq!(parse("postgresql:///app?").unwrap(), pairs(&[("dbname", "app")]));
            for (text, why) in [
                ("host", "missing \"=\" after \"host\" in connection info string"),
                ("host='db", "unterminated quoted string in connection info string"),
                ("foo=bar", "invalid connection option \"foo\""),
                ("postgres://h:1/x?foo=1", "invalid URI query parameter: \"foo\""),
                (
                    "postgres://[::1",
                    "end of string reached when looking for matching \"]\" in IPv6 host address in URI",
                ),
                ("postgres://[]/", "IPv6 host address may not be empty in URI"),
                (
                    "postgres://[::1]x/",
                    "unexpected character at position 17 in URI (expected \":\" or \"/\")",
                ),
                ("postgresql://%zz@h/", "invalid percent-encoded token"),
                ("postgresql://h/?a", "missing key/value separator \"=\" in URI query parameter"),
                ("postgresql://h/?a=b=c", "extra key/value separator \"=\" in URI query parameter: \"a\""),
                ("postgresql://h/?&a=b", "missing key/value separator \"=\" in URI query parameter"),
                (
                    "postgresql://u:secret@[h/?password=secret",
                    "end of string reached when looking for matching \"]\" in IPv6 host address in URI",
                ),
                ("postgresql://h/?password=a%zzb", "invalid percent-encoded token"),
                ("postgresql://h/?password=a%00b", "forbidden value %00 in percent-encoded value"),
                ("postgresql://h/db?secretword", "missing key/value separator \"=\" in URI query parameter"),
                (
                    "localhost",
                    "missing \"=\" after a word that is no connection option, in connection info string",
                ),
                (
                    "host=h password=a secret",
                    "missing \"=\" after a word that is no connection option, in connection info string",
                ),
                (
                    "password:secret",
                    "missing \"=\" after a word that is no connection option, in connection info string",
                ),
                ("host=h password=a secret=b", "invalid connection option after a secret value"),
            ] {
                assert_eq!(parse(text), Err(why.to_owned()), "{text}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &[&str]) -> Result<Args, Refusal> {
        parse(&text.iter().map(|arg| (*arg).to_owned()).collect::<Vec<_>>(), false)
    }

    #[test]
    fn options_read_as_getopt_long_reads_them() {
        let args = parsed(&["-qh", "db", "-p5433", "--user=app", "--time", "5", "--dbname=x"]).unwrap();
        assert_eq!(
            args,
            Args {
                dbname: Some("x".into()),
                host: Some("db".into()),
                port: Some("5433".into()),
                user: Some("app".into()),
                timeout: Some("5".into()),
                quiet: true
            }
        );
        assert_eq!(parsed(&["-x"]), Err(Refusal::Getopt("invalid option -- 'x'".into())));
        assert_eq!(parsed(&["-V"]), Err(Refusal::Getopt("invalid option -- 'V'".into())));
        assert_eq!(parsed(&["--foo=bar"]), Err(Refusal::Getopt("unrecognized option '--foo'".into())));
        assert_eq!(parsed(&["-h"]), Err(Refusal::Getopt("option requires an argument -- 'h'".into())));
        assert_eq!(parsed(&["--ho"]), Err(Refusal::Getopt("option '--host' requires an argument".into())));
        assert_eq!(
            parsed(&["--q=1"]),
            Err(Refusal::Getopt("option '--quiet' doesn't allow an argument".into()))
        );
        // Operands are moved to the end: the options after them still count, then they are refused.
        assert_eq!(parsed(&["extra", "-x"]), Err(Refusal::Getopt("invalid option -- 'x'".into())));
        assert_eq!(parsed(&["extra", "-q"]), Err(Refusal::TooMany(Some("extra".into()))));
        assert_eq!(parsed(&["--", "-q"]), Err(Refusal::TooMany(Some("-q".into()))));
        assert_eq!(parsed(&["-h", "-q"]).unwrap().host.as_deref(), Some("-q"));
    }

    #[test]
    fn the_target_keeps_pg_isready_precedence() {
        let args = Args { host: Some("h".into()), dbname: Some("port=1".into()), ..Args::default() };
        assert_eq!(
            target(&args, 3).0,
            "host='h' port=1 connect_timeout='3' fallback_application_name='pg_isready'"
        );
        let args = Args { user: Some("o'k".into()), dbname: Some("my db".into()), ..Args::default() };
        assert_eq!(
            target(&args, 0).0,
            "user='o\\'k' dbname='my db' connect_timeout='0' fallback_application_name='pg_isready'"
        );
        let args = Args {
            host: Some("h".into()),
            dbname: Some("postgres://x/db?sslmode=disable".into()),
            ..Args::default()
        };
        assert_eq!(
            target(&args, 3),
            (
                "postgres://x/db?sslmode=disable&connect_timeout=3&fallback_application_name=pg_isready"
                    .to_owned(),
                vec![("PGHOST", "h".to_owned())]
            )
        );
        assert_eq!(int_param(" 5 "), Some(5));
        assert_eq!(int_param("5s"), None);
        assert_eq!(int_param("99999999999"), None);
    }
}
