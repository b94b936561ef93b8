//! `probe file` against real files: fresh, stale (mtimes set in the past), directories,
//! symlinks, missing, under a file, and a directory probe may not search.

use std::{
    fs,
    os::unix::fs::PermissionsExt,
    path::Path,
    time::{Duration, SystemTime},
};

use crate::support::{Run, probe, run};

/// A file whose modification time is `age` ago.
fn aged(path: &Path, age: Duration) {
    let file = fs::File::create(path).unwrap();
    file.set_modified(SystemTime::now() - age).unwrap();
}

fn text(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn a_file_that_exists_is_healthy_and_its_age_said() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("heartbeat");
    aged(&file, Duration::from_secs(42));
    let line = run(["file", text(&file)]).says(0, ": ok: file exists, modified 42s ago (").to_owned();
    assert!(line.starts_with(&format!("file {}: ok: ", file.display())), "{line}");
    run(["file", "--max-age", "1m", text(&file)]).says(0, ": ok: modified 42s ago, within 1m (");
    run(["file", "--max-age", "1.5s", text(&file)])
        .says(1, ": unhealthy: stale: modified 42s ago, more than 1.5s (");
}

#[test]
fn a_stale_heartbeat_is_unhealthy_with_its_age() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("heartbeat");
    aged(&file, Duration::from_secs(125));
    let line =
        run(["file", "--max-age", "60s", text(&file)]).says(1, ": unhealthy: stale: modified 2m").to_owned();
    assert!(line.contains(" ago, more than 1m ("), "{line}");
    // Hours, as written in a duration.
    aged(&file, Duration::from_secs(3 * 3600 + 5));
    run(["file", "--max-age", "1h", text(&file)])
        .says(1, ": unhealthy: stale: modified 3h5s ago, more than 1h (");
}

#[test]
fn a_heartbeat_touched_while_waiting_passes() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("heartbeat");
    aged(&file, Duration::from_secs(600));
    let path = file.clone();
    let toucher = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(400));
        aged(&path, Duration::ZERO);
    });
    let result = run(["file", "--wait", "5s", "--interval", "100ms", "--max-age", "10s", text(&file)]);
    toucher.join().unwrap();
    result.code(0);
    assert!(result.stdout.contains(": ok: modified ") && result.stdout.contains(" attempts in "), "{result}");
    assert!(
        result.stderr.contains("waiting: file ") && result.stderr.contains(": unhealthy: stale: "),
        "{result}"
    );
}

#[test]
fn a_directory_counts_and_a_symlink_is_followed() {
    let dir = tempfile::tempdir().unwrap();
    run(["file", text(dir.path())]).says(0, ": ok: directory exists, modified ");
    let old = dir.path().join("old");
    aged(&old, Duration::from_secs(300));
    let link = dir.path().join("link");
    std::os::unix::fs::symlink(&old, &link).unwrap();
    // The link is new; what it points to is old, and that is what counts.
    run(["file", "--max-age", "1m", text(&link)]).says(1, ": unhealthy: stale: modified 5m ago");
}

#[test]
fn missing_paths_are_unhealthy_and_say_why() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nothing");
    run(["file", text(&missing)]).says(1, &format!("file {}: unhealthy: missing (", missing.display()));
    let dangling = dir.path().join("dangling");
    std::os::unix::fs::symlink("/nonexistent/heartbeat", &dangling).unwrap();
    run(["file", text(&dangling)])
        .says(1, ": unhealthy: missing: a dangling symlink to /nonexistent/heartbeat (");
    // A path under a plain file (ENOTDIR) cannot exist either.
    let plain = dir.path().join("plain");
    fs::write(&plain, "").unwrap();
    let under = plain.join("heartbeat");
    run(["file", text(&under)])
        .says(1, &format!(": unhealthy: missing: {} is not a directory (", plain.display()));
}

#[test]
fn several_paths_each_get_a_line_and_the_worst_code_wins() {
    let dir = tempfile::tempdir().unwrap();
    let (fresh, gone) = (dir.path().join("fresh"), dir.path().join("gone"));
    aged(&fresh, Duration::ZERO);
    let result = run(["file", text(&fresh), text(&gone)]);
    result.code(1);
    assert!(result.stdout.contains(": ok: file exists, modified "), "{result}");
    assert!(result.stderr.contains(": unhealthy: missing ("), "{result}");
}

#[test]
fn a_path_that_cannot_be_examined_says_permission_denied() {
    // Root may search any directory: the probe runs as nobody (uid 65534) when the tests run
    // as root, from a copy of the binary nobody can reach (the checkout may be in root's 0700 home).
    let dir = tempfile::tempdir().unwrap();
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let locked = dir.path().join("locked");
    fs::create_dir(&locked).unwrap();
    aged(&locked.join("heartbeat"), Duration::ZERO);
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o700)).unwrap();
    let copy = crate::support::probe_for_anyone();
    let mut command = copy.as_nobody();
    command.args(["file", "--max-age", "60s"]).arg(locked.join("heartbeat"));
    let output = crate::support::output_of_copied(&mut command);
    let result = Run {
        code: output.status.code().expect("an exit code"),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
        elapsed: Duration::ZERO,
    };
    result.says(2, ": unreachable: cannot examine it: permission denied (");
    assert!(!result.stderr.contains("missing"), "{result}");
}

#[test]
fn bad_input_is_a_usage_error() {
    run(["file"]).says(3, "required arguments were not provided: <PATH>");
    run(["file", "--max-age", "soon", "/tmp"]).says(3, "invalid value 'soon' for '--max-age <DUR>'");
    run(["file", "--max-age", "0", "/tmp"]).says(3, "must be longer than zero");
    run(["file", ""]).says(3, "a value is required for '<PATH>...' but none was supplied");
    // JSON carries the same message.
    let result = probe().args(["--json", "file", "/nonexistent/x"]).run();
    assert!(result.code(1).stdout.contains(r#""status":"unhealthy","message":"missing""#), "{result}");
}
