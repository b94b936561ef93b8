//! `wait-for-it` (and `wait-for-it.sh`): the bash script's command line, read as its `case` loop
//! reads it, its stderr lines and exit statuses, as Debian's `wait-for-it` package (the script
//! of vishnubob/wait-for-it) has them, over `probe --wait T tcp HOST:PORT`. As the script does,
//! the command after `--` runs once the port is open, and also after a timeout unless
//! `--strict`; a timeout is status 124 (GNU timeout's), usage errors 1.

use std::{
    ffi::OsString,
    path::Path,
    process::ExitCode,
    thread,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use super::{NO_LIMIT, Timing, check_one, config, err_line, err_text, shown_target, texts};
use crate::{env::Env, exec, outcome::Status, quote};

/// GNU timeout's status for a command it had to stop.
const TIMED_OUT: u8 = 124;

/// What the script's `case` loop leaves in its variables.
#[derive(Debug, Default, PartialEq)]
struct Args {
    host: String,
    port: String,
    /// As given (`-t 015` prints as `015`); `None` is the default, 15.
    timeout: Option<String>,
    strict: bool,
    quiet: bool,
    child: bool,
    command: Vec<String>,
}

/// How reading the arguments ended short of a run: the line to print (unless quiet), then the
/// usage, status 1.
#[derive(Debug, PartialEq)]
enum Refusal {
    /// `--help`: the usage alone.
    Help,
    Unknown(String),
    MissingHostOrPort,
}

fn parse(mut args: &[String]) -> Result<Args, (Refusal, bool)> {
    let mut parsed = Args::default();
    // `-h ""`, `-p ""` and `-t ""` end the loop where they stand (`break`): later words are ignored.
    while let Some(arg) = args.first() {
        let next = args.get(1).cloned().unwrap_or_default();
        match arg.as_str() {
            // The first pattern: any word with a colon, split on colons and then on blanks, as an
            // unquoted ${1//:/ } is.
            word if word.contains(':') => {
                let spaced = word.replace(':', " ");
                let mut words = spaced.split([' ', '\t', '\n']).filter(|w| !w.is_empty());
                parsed.host = words.next().unwrap_or_default().to_owned();
                parsed.port = words.next().unwrap_or_default().to_owned();
                args = &args[1..];
            }
            "--child" => (parsed.child, args) = (true, &args[1..]),
            "-q" | "--quiet" => (parsed.quiet, args) = (true, &args[1..]),
            "-s" | "--strict" => (parsed.strict, args) = (true, &args[1..]),
            "-h" | "-p" | "-t" => {
                let field = match arg.as_str() {
                    "-h" => &mut parsed.host,
                    "-p" => &mut parsed.port,
                    _ => parsed.timeout.get_or_insert_with(String::new),
                };
                *field = next.clone();
                if next.is_empty() {
                    if arg == "-t" {
                        parsed.timeout = None;
                    }
                    break;
                }
                args = &args[2.min(args.len())..];
            }
            "--" => {
                parsed.command = args[1..].to_vec();
                break;
            }
            "--help" => return Err((Refusal::Help, parsed.quiet)),
            word => {
                if let Some(host) = word.strip_prefix("--host=") {
                    parsed.host = host.to_owned();
                } else if let Some(port) = word.strip_prefix("--port=") {
                    parsed.port = port.to_owned();
                } else if let Some(timeout) = word.strip_prefix("--timeout=") {
                    parsed.timeout = Some(timeout.to_owned()).filter(|t| !t.is_empty());
                } else {
                    return Err((Refusal::Unknown(word.to_owned()), parsed.quiet));
                }
                args = &args[1..];
            }
        }
    }
    if parsed.host.is_empty() || parsed.port.is_empty() {
        return Err((Refusal::MissingHostOrPort, parsed.quiet));
    }
    Ok(parsed)
}

fn usage(name: &str) -> String {
    format!(
        "Usage:
    {name} host:port [-s] [-t timeout] [-- command args]
    -h HOST | --host=HOST       Host or IP under test
    -p PORT | --port=PORT       TCP port under test
                                Alternatively, you specify the host and port as host:port
    -s | --strict               Only execute subcommand if the test succeeds
    -q | --quiet                Don't output any status messages
    -t TIMEOUT | --timeout=TIMEOUT
                                Timeout in seconds, zero for no timeout
    -- COMMAND ARGS             Execute command with args after the test finishes
"
    )
}

/// The timeout as bash's `[[ $TIMEOUT -gt 0 ]]` reads it: a whole number (octal with a leading
/// 0, as bash reads it); anything else, zero or less means no limit.
fn seconds(timeout: &str) -> Option<u64> {
    let text = timeout.trim();
    let (digits, radix) = match text.strip_prefix('0') {
        Some(rest) if !rest.is_empty() => (rest, 8),
        _ => (text, 10),
    };
    u64::from_str_radix(digits, radix).ok().filter(|&n| n > 0)
}

/// `probe tcp`'s target for HOST and PORT as the script was given them.
fn target(host: &str, port: &str) -> String {
    if host.contains(':') { format!("[{host}]:{port}") } else { format!("{host}:{port}") }
}

fn now_seconds() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |t| t.as_secs())
}

pub fn main(args: &[OsString], env: &dyn Env) -> ExitCode {
    let texts = texts(args);
    let name =
        Path::new(&texts[0]).file_name().map_or_else(|| texts[0].clone(), |n| n.to_string_lossy().into());
    let say = |quiet: bool, line: &str| {
        if !quiet {
            err_line(line);
        }
    };
    let args = match parse(&texts[1..]) {
        Ok(args) => args,
        Err((refusal, quiet)) => {
            match refusal {
                Refusal::Help => {}
                // The script prints the whole word; a `--password=…` value is not shown.
                Refusal::Unknown(word) => {
                    let word = word.split_once('=').map_or(word.as_str(), |(name, _)| name);
                    say(quiet, &format!("Unknown argument: {}", quote::escaped(word)));
                }
                Refusal::MissingHostOrPort => {
                    say(quiet, "Error: you need to provide a host and port to test.")
                }
            }
            err_text(&usage(&name));
            return ExitCode::from(1);
        }
    };
    let raw_timeout = args.timeout.clone().unwrap_or_else(|| "15".to_owned());
    let limit = seconds(&raw_timeout).filter(|_| !args.child).map(Duration::from_secs);
    let (host, port, quiet) = (&args.host, &args.port, args.quiet);
    let shown = shown_target(&format!("{host}:{port}"));
    match seconds(&raw_timeout) {
        Some(_) => say(quiet, &format!("{name}: waiting {raw_timeout} seconds for {shown}")),
        None => say(quiet, &format!("{name}: waiting for {shown} without a timeout")),
    }
    let available = wait(&target(host, port), limit, env);
    let result = match available {
        Some(after) => {
            say(quiet, &format!("{name}: {shown} is available after {after} seconds"));
            0
        }
        None => {
            say(quiet, &format!("{name}: timeout occurred after waiting {raw_timeout} seconds for {shown}"));
            TIMED_OUT
        }
    };
    if args.child || args.command.first().is_none_or(String::is_empty) {
        return ExitCode::from(result);
    }
    if result != 0 && args.strict {
        say(quiet, &format!("{name}: strict mode, refusing to execute subprocess"));
        return ExitCode::from(result);
    }
    let command: Vec<OsString> = args.command.iter().map(OsString::from).collect();
    exec::replace(&command)
}

/// Waits for `target` to accept a connection, as the script's loop does (an attempt, then a
/// second's pause), within `limit` or for ever. Returns the whole seconds it took as `date +%s`
/// counts them, or `None` once the limit is reached. A target probe cannot read (a port that is
/// not a number) is never reached, as bash's /dev/tcp never reaches it.
fn wait(target: &str, limit: Option<Duration>, env: &dyn Env) -> Option<u64> {
    let (started, start_ts) = (Instant::now(), now_seconds());
    let length = limit.unwrap_or(NO_LIMIT);
    let timing = Timing { timeout: length, wait: Some(length), interval: Duration::from_secs(1) };
    loop {
        let left = length.saturating_sub(started.elapsed());
        let config = config(
            &["tcp".to_owned(), "--".to_owned(), target.to_owned()],
            Timing { wait: Some(left), ..timing },
            env,
        );
        if let Ok(config) = &config
            && check_one(config).verdict.status == Status::Healthy
        {
            return Some(now_seconds().saturating_sub(start_ts));
        }
        // GNU timeout stops the loop at the limit, not before: sit out what is left.
        match limit {
            Some(limit) => {
                thread::sleep(limit.saturating_sub(started.elapsed()));
                return None;
            }
            None if config.is_err() => thread::sleep(Duration::from_secs(60)),
            None => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &[&str]) -> Result<Args, (Refusal, bool)> {
        parse(&text.iter().map(|arg| (*arg).to_owned()).collect::<Vec<_>>())
    }

    #[test]
    fn arguments_read_as_the_case_loop_reads_them() {
        let args = parsed(&["db:5432", "-t", "30", "-s", "--", "app", "--flag"]).unwrap();
        assert_eq!(
            (args.host.as_str(), args.port.as_str(), args.timeout.as_deref()),
            ("db", "5432", Some("30"))
        );
        assert!(args.strict && !args.quiet);
        assert_eq!(args.command, ["app", "--flag"]);
        let args = parsed(&["-h", "db", "--port=5432", "--timeout=0", "-q"]).unwrap();
        assert_eq!(
            (args.host.as_str(), args.port.as_str(), args.timeout.as_deref()),
            ("db", "5432", Some("0"))
        );
        // Any word with a colon is host:port, even an option's: the first pattern wins.
        let args = parsed(&["--host=db:5432"]).unwrap();
        assert_eq!((args.host.as_str(), args.port.as_str()), ("--host=db", "5432"));
        let args = parsed(&["db::5432:x"]).unwrap();
        assert_eq!((args.host.as_str(), args.port.as_str()), ("db", "5432"));
        // `-t` with nothing after it ends the loop and keeps the default.
        assert_eq!(parsed(&["db:1", "-t"]).unwrap().timeout, None);
        assert_eq!(parsed(&["db:1", "-x"]), Err((Refusal::Unknown("-x".into()), false)));
        assert_eq!(parsed(&["-q", "db:1", "-x"]), Err((Refusal::Unknown("-x".into()), true)));
        assert_eq!(parsed(&[":5432"]), Err((Refusal::MissingHostOrPort, false)));
        assert_eq!(parsed(&["db:1", "-h", ""]), Err((Refusal::MissingHostOrPort, false)));
        assert_eq!(parsed(&["--help"]), Err((Refusal::Help, false)));
    }

    #[test]
    fn timeouts_read_as_bash_arithmetic() {
        assert_eq!(seconds("15"), Some(15));
        assert_eq!(seconds("010"), Some(8));
        for none in ["0", "-5", "abc", "1.5", "08", ""] {
            assert_eq!(seconds(none), None, "{none}");
        }
        assert_eq!(target("::1", "80"), "[::1]:80");
    }
}
