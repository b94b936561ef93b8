//! `probe … -- COMMAND [ARG...]`: once every target is healthy, probe becomes COMMAND (exec(2):
//! same PID, signals and exit status), as wait-for-it does for an entrypoint.

use std::{
    ffi::OsString,
    io::{self, Write as _},
    os::unix::process::CommandExt,
    path::Path,
    process::ExitCode,
};

/// Exit statuses of a command that cannot be run, as a shell gives them.
const NOT_EXECUTABLE: u8 = 126;
const NOT_FOUND: u8 = 127;

/// Splits the command line at the first `--`: probe's own arguments before it, the command
/// after it. Done before clap sees the arguments, so a check's options and targets, and the
/// global options, read the same with or without a command.
pub fn split(mut args: Vec<OsString>) -> anyhow::Result<(Vec<OsString>, Option<Vec<OsString>>)> {
    let Some(at) = args.iter().position(|arg| arg == "--") else { return Ok((args, None)) };
    let command = args.split_off(at + 1);
    args.pop();
    anyhow::ensure!(!command.is_empty(), "'--' must be followed by the command to run once the checks pass");
    Ok((args, Some(command)))
}

/// Replaces probe with `command`; returns only when that fails, with the shell's status for it
/// (126 not executable, 127 not found) after saying why on stderr.
pub fn replace(command: &[OsString]) -> ExitCode {
    let (program, args) = command.split_first().expect("split refuses an empty command");
    // The result line must be out before the process image is gone.
    let _ = io::stdout().flush();
    let err = std::process::Command::new(program).args(args).exec();
    // exec(2) failed, but std had already put SIGPIPE back to its default for the new program:
    // ignored again, a closed stderr (`2>&1 | head`) cannot kill probe before it exits 126/127.
    // SAFETY: signal(2) with SIG_IGN touches no memory of ours and is safe from any thread.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
    }
    // A script whose interpreter is missing fails as "not found" too, but is there: say which.
    // A path (not a name looked up in PATH) is judged as the shell judges it.
    let path = program.as_encoded_bytes().contains(&b'/').then(|| Path::new(program));
    let is_there = || path.is_some_and(Path::exists);
    let (code, why) = match err.kind() {
        io::ErrorKind::NotFound if is_there() => (NOT_EXECUTABLE, "its interpreter was not found".to_owned()),
        io::ErrorKind::NotFound => (NOT_FOUND, "not found".to_owned()),
        // execve says EACCES for a directory; a shell says what it is.
        io::ErrorKind::PermissionDenied if path.is_some_and(Path::is_dir) => {
            (NOT_EXECUTABLE, "is a directory".to_owned())
        }
        io::ErrorKind::PermissionDenied => (NOT_EXECUTABLE, "permission denied (not executable)".to_owned()),
        _ => (NOT_EXECUTABLE, crate::net::describe(&err)),
    };
    crate::report::print_line(false, &format!("probe: cannot run {}: {why}", program.to_string_lossy()));
    ExitCode::from(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(text: &[&str]) -> Vec<OsString> {
        text.iter().map(OsString::from).collect()
    }

    #[test]
    fn the_first_double_dash_starts_the_command() {
        let (own, command) = split(args(&["probe", "tcp", "db:1", "--", "app", "--", "x"])).unwrap();
        assert_eq!(own, args(&["probe", "tcp", "db:1"]));
        assert_eq!(command, Some(args(&["app", "--", "x"])));
        let (own, command) = split(args(&["probe", "tcp", "db:1"])).unwrap();
        assert_eq!((own.len(), command), (3, None));
        assert!(
            split(args(&["probe", "tcp", "db:1", "--"]))
                .unwrap_err()
                .to_string()
                .contains("must be followed")
        );
    }
}
