//! `probe process`: healthy when a process with that name (or command line) is running and is
//! not a zombie, read from /proc as `pgrep -x` (or `pgrep -f`) reads it.

use std::{fs, io, sync::Arc};

use regex_lite::Regex;

use super::{Check, Target};
use crate::{deadline::Deadline, env::Env, outcome::Verdict, trace::Trace};

/// The kernel keeps 15 bytes of a process's name (`comm`, TASK_COMM_LEN less the NUL).
const COMM_LEN: usize = 15;

/// How many PIDs a message names before it only counts the rest.
const PIDS_SHOWN: usize = 5;

#[derive(Debug, clap::Args)]
#[command(after_long_help = crate::docs::environment(&[]))]
pub struct Args {
    /// Process name, matched exactly as `pgrep -x` matches it (/proc/PID/comm). A NAME longer
    /// than the 15 bytes the kernel keeps matches the full executable name. Several are checked
    /// at once.
    #[arg(value_name = "NAME", required_unless_present = "full")]
    pub names: Vec<String>,

    /// Match the command line, arguments joined by spaces, against REGEX anywhere in it (as
    /// `pgrep -f`); repeatable, each one a target.
    #[arg(long, value_name = "REGEX")]
    pub full: Vec<Regex>,
}

impl Args {
    pub fn targets(self, _: &dyn Env) -> anyhow::Result<Vec<Target>> {
        let mut targets = Vec::new();
        for name in self.names {
            anyhow::ensure!(!name.is_empty(), "an empty NAME matches no process");
            targets.push(Target { label: name.clone(), check: Arc::new(Process(Matcher::Name(name))) });
        }
        for regex in self.full {
            // An unset $PATTERN would turn a worker's probe into one that always passes.
            anyhow::ensure!(!regex.as_str().is_empty(), "an empty --full REGEX matches every process");
            let label = format!("--full {}", regex.as_str());
            targets.push(Target { label, check: Arc::new(Process(Matcher::Full(regex))) });
        }
        Ok(targets)
    }
}

enum Matcher {
    Name(String),
    Full(Regex),
}

struct Process(Matcher);

impl Check for Process {
    fn attempt(&self, _deadline: Deadline, trace: &Trace) -> Verdict {
        trace.enter("scan");
        let found = match scan(&self.0) {
            Ok(found) => found,
            Err(err) => {
                return Verdict::unreachable(format!("cannot read /proc: {}", crate::net::describe(&err)));
            }
        };
        let zombies = match found.zombies.as_slice() {
            [] => String::new(),
            [pid] => format!(" (PID {pid} is a zombie)"),
            pids => format!(" (PIDs {} are zombies)", pid_list(pids)),
        };
        match found.running.as_slice() {
            [] => Verdict::unhealthy(match &self.0 {
                Matcher::Name(name) => format!("no process named {name} is running{zombies}"),
                Matcher::Full(_) => format!("no running process's command line matches{zombies}"),
            }),
            [pid] => Verdict::healthy(format!("running as PID {pid}")),
            pids => Verdict::healthy(format!("{} running: PIDs {}", pids.len(), pid_list(pids))),
        }
    }
}

#[derive(Debug, Default)]
struct Found {
    running: Vec<u32>,
    zombies: Vec<u32>,
}

/// Every process but this one that `matcher` matches, in PID order. A process that ends while
/// it is being read is skipped, as pgrep skips it.
fn scan(matcher: &Matcher) -> io::Result<Found> {
    // An empty /proc (a chroot, a container without it) would read as "nothing is running".
    if fs::metadata("/proc/self").is_err() {
        return Err(io::Error::other("it is not mounted"));
    }
    let own = std::process::id();
    let mut found = Found::default();
    let mut stat = Vec::with_capacity(1024);
    for entry in fs::read_dir("/proc")? {
        let Some(pid) = entry?.file_name().to_str().and_then(|name| name.parse::<u32>().ok()) else {
            continue;
        };
        if pid == own {
            continue;
        }
        if read_proc(&format!("/proc/{pid}/stat"), &mut stat).is_err() {
            continue;
        }
        let Some((comm, state)) = parse_stat(&stat) else { continue };
        if !matches(matcher, pid, comm) {
            continue;
        }
        // Z: exited, not yet reaped; X: being reaped. Neither is running.
        match state {
            b'Z' | b'X' => found.zombies.push(pid),
            _ => found.running.push(pid),
        }
    }
    found.running.sort_unstable();
    found.zombies.sort_unstable();
    Ok(found)
}

fn matches(matcher: &Matcher, pid: u32, comm: &[u8]) -> bool {
    match matcher {
        Matcher::Name(name) if name.len() <= COMM_LEN => comm == name.as_bytes(),
        // The kernel cut the name: the cut form must match, and the full name is the base name
        // of argv[0], or, for a script, of the script's path that follows the interpreter.
        Matcher::Name(name) => {
            comm == &name.as_bytes()[..COMM_LEN]
                && cmdline(pid)
                    .is_some_and(|args| args.iter().take(3).any(|arg| base_name(arg) == name.as_bytes()))
        }
        Matcher::Full(regex) => match cmdline(pid) {
            Some(args) if !args.is_empty() => {
                let joined: Vec<String> =
                    args.iter().map(|a| String::from_utf8_lossy(a).into_owned()).collect();
                regex.is_match(&joined.join(" "))
            }
            // Kernel threads and zombies have no command line; pgrep -f then matches the name.
            _ => regex.is_match(&String::from_utf8_lossy(comm)),
        },
    }
}

/// `comm` and the state letter from /proc/PID/stat: `PID (comm) S ...`. The name may itself
/// hold spaces and parentheses, so it ends at the last `)`.
fn parse_stat(stat: &[u8]) -> Option<(&[u8], u8)> {
    let open = stat.iter().position(|&b| b == b'(')?;
    let close = stat.iter().rposition(|&b| b == b')')?;
    let comm = stat.get(open + 1..close)?;
    let state = *stat.get(close + 2)?;
    Some((comm, state))
}

/// Reads a /proc file into `buf`. Not `fs::read`: /proc reports a size of 0, so that stats the
/// file and then reads it in growing steps from 32 bytes, eight system calls for one stat line
/// where this takes four.
fn read_proc(path: &str, buf: &mut Vec<u8>) -> io::Result<()> {
    use std::io::Read;
    buf.clear();
    let mut file = fs::File::open(path)?;
    let mut chunk = [0; 1024];
    loop {
        match file.read(&mut chunk)? {
            0 => return Ok(()),
            n => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

/// The arguments of a process, from /proc/PID/cmdline (NUL-separated). None when it is gone.
fn cmdline(pid: u32) -> Option<Vec<Vec<u8>>> {
    let mut raw = Vec::new();
    read_proc(&format!("/proc/{pid}/cmdline"), &mut raw).ok()?;
    let raw = raw.strip_suffix(b"\0").unwrap_or(&raw);
    if raw.is_empty() {
        return Some(Vec::new());
    }
    Some(raw.split(|&b| b == 0).map(<[u8]>::to_vec).collect())
}

fn base_name(path: &[u8]) -> &[u8] {
    path.rsplit(|&b| b == b'/').next().unwrap_or(path)
}

/// `12, 15, 17`, or `12, 15, 17, 20, 31 and 4 more`.
fn pid_list(pids: &[u32]) -> String {
    let shown: Vec<String> = pids.iter().take(PIDS_SHOWN).map(u32::to_string).collect();
    match pids.len().saturating_sub(PIDS_SHOWN) {
        0 => shown.join(", "),
        more => format!("{} and {more} more", shown.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_is_read_from_the_last_parenthesis() {
        assert_eq!(parse_stat(b"42 (sleep) S 1 42 42 0"), Some((&b"sleep"[..], b'S')));
        assert_eq!(parse_stat(b"42 (a) b) (c) Z 1 42"), Some((&b"a) b) (c"[..], b'Z')));
        assert_eq!(parse_stat(b"42 () R 1"), Some((&b""[..], b'R')));
        assert_eq!(parse_stat(b"42 (sleep"), None);
        assert_eq!(parse_stat(b"42 (x)"), None);
        assert_eq!(parse_stat(b""), None);
    }

    #[test]
    fn a_few_pids_are_named_and_the_rest_counted() {
        assert_eq!(pid_list(&[7]), "7");
        assert_eq!(pid_list(&[1, 2, 3, 4, 5]), "1, 2, 3, 4, 5");
        assert_eq!(pid_list(&[1, 2, 3, 4, 5, 6, 7]), "1, 2, 3, 4, 5 and 2 more");
    }

    #[test]
    fn base_names() {
        assert_eq!(base_name(b"/usr/bin/sleep"), b"sleep");
        assert_eq!(base_name(b"sleep"), b"sleep");
        assert_eq!(base_name(b"/x/"), b"");
    }
}
