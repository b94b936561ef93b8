//! `probe install DIR`: a complete 0755 copy of the running binary, renamed into place so a
//! probe running from that path is undisturbed; a missing, non-directory or read-only DIR is a
//! usage error naming it.

use std::{
    fs,
    os::unix::{fs::PermissionsExt, process::CommandExt},
    path::Path,
    process::{Command, Stdio},
    thread,
    time::{Duration, Instant},
};

use crate::support::{Run, probe, probe_for_anyone, run, sockets};

fn output_of(command: &mut Command) -> Run {
    let started = Instant::now();
    let output = crate::support::output_of_copied(command);
    Run {
        code: output.status.code().expect("an exit code"),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
        elapsed: started.elapsed(),
    }
}

#[track_caller]
fn assert_is_probe(path: &Path) {
    assert_eq!(fs::read(path).unwrap(), fs::read(env!("CARGO_BIN_EXE_probe")).unwrap(), "a complete copy");
    assert_eq!(fs::metadata(path).unwrap().permissions().mode() & 0o7777, 0o755);
    let version = output_of(Command::new(path).arg("--version"));
    assert_eq!(version.code(0).stdout_line(), format!("probe {}", env!("CARGO_PKG_VERSION")));
}

#[test]
fn installs_a_working_0755_copy_whatever_the_umask() {
    let dir = tempfile::tempdir().unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_probe"));
    command.env_clear().arg("install").arg(dir.path());
    // SAFETY: umask(2) is async-signal-safe and touches no memory of ours.
    unsafe {
        command.pre_exec(|| {
            libc::umask(0o077);
            Ok(())
        });
    }
    let result = output_of(&mut command);
    let installed = dir.path().join("probe");
    assert_eq!(result.code(0).stdout_line(), installed.display().to_string());
    assert_is_probe(&installed);
    // Nothing else is left in DIR.
    let names: Vec<_> = fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, ["probe"]);
    // Quiet prints nothing; installing again replaces the file.
    let result = run(["-q", "install", dir.path().to_str().unwrap()]);
    assert_eq!((result.code, result.stdout.as_str(), result.stderr.as_str()), (0, "", ""), "{result}");
    assert_is_probe(&installed);
}

#[test]
fn installing_over_a_running_probe_leaves_it_running() {
    let dir = tempfile::tempdir().unwrap();
    let installed = dir.path().join("probe");
    run(["install", dir.path().to_str().unwrap()]).code(0);
    // A probe running from DIR/probe, waiting on a closed port.
    let refusing = sockets::refusing();
    let mut running = Command::new(&installed)
        .args(["--wait", "30s", "--interval", "100ms", "tcp", &refusing.addr.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the installed probe runs");
    thread::sleep(Duration::from_millis(200));
    // Installed again, by the probe at that very path and by another: never "text file busy".
    let result = output_of(Command::new(&installed).arg("install").arg(dir.path()));
    assert_eq!(result.code(0).stdout_line(), installed.display().to_string());
    run(["install", dir.path().to_str().unwrap()]).code(0);
    assert!(running.try_wait().unwrap().is_none(), "the running probe was disturbed");
    // It runs the file it started from, now unlinked; the path holds a complete new one.
    let exe = fs::read_link(format!("/proc/{}/exe", running.id())).unwrap();
    assert_eq!(exe.display().to_string(), format!("{} (deleted)", installed.display()));
    assert_is_probe(&installed);
    running.kill().unwrap();
    running.wait().unwrap();
}

#[test]
fn a_missing_dir_is_not_created() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("shared");
    run(["install", missing.to_str().unwrap()]).says(
        3,
        &format!("probe: cannot install into {}: no such directory (it is not created)", missing.display()),
    );
    assert!(!missing.exists());
}

#[test]
fn a_file_is_not_a_directory() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("file");
    fs::write(&file, "").unwrap();
    run(["install", file.to_str().unwrap()])
        .says(3, &format!("probe: cannot install into {}: not a directory", file.display()));
}

#[test]
fn a_read_only_dir_is_refused_and_left_clean() {
    // Root writes through mode bits, so the directory is a read-only tmpfs, mounted in a mount
    // namespace of the probe's own (`unshare -m`): the machine's mounts are untouched.
    let dir = tempfile::tempdir().unwrap();
    let script = r#"mount -t tmpfs -o ro tmpfs "$1" && exec "$0" install "$1""#;
    let result = output_of(
        Command::new("unshare")
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .args(["-m", "sh", "-c", script, env!("CARGO_BIN_EXE_probe")])
            .arg(dir.path()),
    );
    result.says(3, &format!("probe: cannot install into {}: read-only file system", dir.path().display()));
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    // /proc/self is a directory no file can be created in.
    let result = run(["install", "/proc/self"]);
    assert!(result.code(3).stderr_line().starts_with("probe: cannot install into /proc/self: "), "{result}");
}

#[test]
fn a_dir_the_user_may_not_write_is_refused() {
    // Root writes through mode bits: the probe runs as nobody (uid 65534) when the tests run as
    // root, into a directory only root may write; from a copy nobody can reach, since the
    // checkout (and target/) may be in root's 0700 home.
    let dir = tempfile::tempdir().unwrap();
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let copy = probe_for_anyone();
    output_of(copy.as_nobody().arg("install").arg(dir.path())).says(
        3,
        &format!("probe: cannot install into {}: permission denied (not writable)", dir.path().display()),
    );
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn usage() {
    run(["install"]).says(3, "required arguments were not provided: <DIR>");
    let help = probe().args(["install", "--help"]).run();
    assert!(help.code(0).stdout.contains("DIR/probe"), "{help}");
}

#[test]
fn installs_without_proc_from_the_path_it_was_started_by() {
    // A bare chroot has no /proc/self/exe: the binary is read from argv[0] (/probe).
    let root = tempfile::tempdir().unwrap();
    fs::copy(env!("CARGO_BIN_EXE_probe"), root.path().join("probe")).unwrap();
    fs::create_dir(root.path().join("shared")).unwrap();
    // SAFETY: geteuid has no preconditions.
    let mut command = if unsafe { libc::geteuid() } == 0 {
        Command::new("chroot")
    } else {
        let mut unshare = Command::new("unshare");
        unshare.args(["--user", "--map-root-user", "chroot"]);
        unshare
    };
    command.env_clear().env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin").arg(root.path());
    let result = output_of(command.args(["/probe", "install", "/shared"]));
    assert_eq!(result.code(0).stdout_line(), "/shared/probe");
    assert_is_probe(&root.path().join("shared/probe"));
}
