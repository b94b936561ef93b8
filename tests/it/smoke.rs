//! Every check once healthy and once not, against real servers, and `--version` in an empty
//! root: the smoke test a release binary for another architecture passes before it ships. It
//! runs this build's probe unless SMOKE_BINARY names another; SMOKE_RUNNER runs that one
//! through an emulator (.ci/run: the aarch64 release under `qemu-aarch64-static`, which this
//! machine has no binfmt_misc to start by itself).

use std::{fs, path::Path, process::Command};

use crate::{
    image::run_in_root,
    process::{Named, unique},
    support::{
        Run,
        certs::{Pki, server_config},
        grpc::{Grpc, Options},
        http::{respond, serve, serve_tls},
        mariadb::{self, Mariadb},
        memcached::Memcached,
        mosquitto::Mosquitto,
        nats::Nats,
        postgres::{self, Postgres},
        probe_as,
        rabbitmq::node,
        redis::Redis,
        sockets,
        zookeeper::{self, Setup},
    },
};

/// The binary under test and, when it needs one, the emulator that runs it.
fn under_test() -> (std::path::PathBuf, Option<std::path::PathBuf>) {
    match std::env::var_os("SMOKE_BINARY") {
        Some(binary) => (binary.into(), std::env::var_os("SMOKE_RUNNER").map(Into::into)),
        None => (env!("CARGO_BIN_EXE_probe").into(), None),
    }
}

fn smoke<const N: usize>(args: [&str; N]) -> Run {
    let (binary, runner) = under_test();
    let mut command = match runner {
        Some(runner) => Command::new(runner),
        None => Command::new(&binary),
    };
    if command.get_program() != binary.as_os_str() {
        command.arg(&binary);
    }
    probe_as(command).args(args).run()
}

#[test]
fn tcp_connects_and_a_refused_port_is_unreachable() {
    let open = sockets::open("127.0.0.1:0");
    smoke(["tcp", &open.addr.to_string()]).says(0, ": ok: connected (");
    let refusing = sockets::refusing();
    smoke(["tcp", &refusing.addr.to_string()]).says(2, ": unreachable: connection refused (");
}

#[test]
fn http_and_https_answer_and_a_503_is_unhealthy() {
    let handler = |request: &crate::support::http::Request, out: &mut dyn std::io::Write| {
        if request.path == "/ready" {
            respond(out, "200 OK", &[], "ok")
        } else {
            respond(out, "503 Service Unavailable", &[], "")
        }
    };
    let server = serve(handler);
    smoke(["http", &server.url("/ready")]).says(0, ": ok: HTTP 200 OK (");
    smoke(["http", &server.url("/down")]).says(1, ": unhealthy: HTTP 503 Service Unavailable (");
    // TLS: rustls and ring's assembly for this architecture.
    let pki = Pki::new();
    let pair = pki.issue("web", &["localhost"]);
    let https = serve_tls(server_config(&pair, None), handler);
    let ca = pki.ca.to_str().unwrap();
    smoke(["http", "--cacert", ca, &https.https_url("localhost", "/ready")]).says(0, ": ok: HTTP 200 OK (");
    smoke(["http", &https.https_url("localhost", "/ready")])
        .says(2, "TLS: certificate not trusted (unknown issuer)");
}

#[test]
fn postgres_logs_in_with_scram_and_a_wrong_password_is_unhealthy() {
    let db = Postgres::start();
    smoke(["postgres", &db.app_url()]).says(0, ": ok: logged in as app to app (");
    let wrong = db.url(postgres::APP_USER, "not-the-Secret", postgres::APP_USER);
    smoke(["postgres", &wrong])
        .hides("not-the-Secret")
        .says(1, ": unhealthy: 28P01 password authentication failed");
}

#[test]
fn redis_pongs_and_a_missing_password_is_unhealthy() {
    let redis = Redis::with_args(&["--requirepass", "smoke-Secret-1"]);
    let url = format!("redis://:smoke-Secret-1@127.0.0.1:{}", redis.port());
    smoke(["redis", &url]).hides("smoke-Secret-1").says(0, ": ok: PONG (");
    smoke(["redis", &redis.url()]).says(1, ": unhealthy: NOAUTH Authentication required. (");
}

#[test]
fn grpc_serving_and_not_serving() {
    let server =
        Grpc::start(&Options { statuses: &[("", "SERVING"), ("db", "NOT_SERVING")], ..Options::default() });
    smoke(["grpc", &server.addr()]).says(0, ": ok: SERVING (");
    smoke(["grpc", "--service", "db", &server.addr()])
        .says(1, r#": unhealthy: NOT_SERVING for service "db" ("#);
}

#[test]
fn file_present_and_missing() {
    let dir = tempfile::tempdir().unwrap();
    let heartbeat = dir.path().join("heartbeat");
    fs::write(&heartbeat, "").unwrap();
    smoke(["file", "--max-age", "1m", heartbeat.to_str().unwrap()]).says(0, ": ok: modified ");
    let missing = dir.path().join("missing");
    smoke(["file", missing.to_str().unwrap()]).says(1, ": unhealthy: missing (");
}

#[test]
fn process_running_and_gone() {
    let name = unique("smoke-");
    let running = Named::new(&name).spawn(&["30"]);
    smoke(["process", &name]).says(0, ": ok: running as PID ");
    drop(running);
    smoke(["process", &name]).says(1, &format!(": unhealthy: no process named {name} is running ("));
}

#[test]
fn amqp_logs_in_and_an_unknown_vhost_is_unhealthy() {
    let node = node();
    let _shared = node.shared();
    smoke(["amqp", &node.url("guest:guest", "/")]).says(0, ", logged in as guest to vhost / (");
    smoke(["amqp", &node.url("guest:guest", "/nope")])
        .says(1, ": unhealthy: 530 NOT_ALLOWED - vhost nope not found (");
}

#[test]
fn mysql_logs_in_and_a_wrong_password_is_unhealthy() {
    let db = Mariadb::start();
    smoke(["mysql", &db.app_url()]).says(0, ": ok: logged in as app to shop (MariaDB ");
    let wrong = db.url(mariadb::APP_USER, "not-the-Secret", mariadb::DATABASE);
    smoke(["mysql", &wrong])
        .hides("not-the-Secret")
        .says(1, "1045 (28000) Access denied for user 'app'@'localhost'");
}

#[test]
fn nats_pongs_to_an_nkey_user_and_a_wrong_password_is_unhealthy() {
    // The NKEY login signs the server's nonce with Ed25519: ring's code for this architecture.
    const SEED: &str = "SUACSSL3UAHUDXKFSNVUZRF5UHPMWZ6BFDTJ7M6USDXIEDNPPQYYYCU3VY";
    const PUBLIC: &str = "UDXU4RCSJNZOIQHZNWXHXORDPRTGNJAHAHFRGZNEEJCPQTT2M7NLCNF4";
    let nats = Nats::start(&format!(
        "authorization {{ users = [ {{user: app, password: \"smoke-Secret-2\"}}, {{nkey: {PUBLIC}}} ] }}"
    ));
    let dir = tempfile::tempdir().unwrap();
    let seed = dir.path().join("user.nk");
    fs::write(&seed, SEED).unwrap();
    smoke(["nats", "--nkey", seed.to_str().unwrap(), &nats.url()]).says(0, ": ok: PONG from ");
    smoke(["nats", &format!("nats://app:not-the-Secret@127.0.0.1:{}", nats.port())])
        .hides("not-the-Secret")
        .says(1, ": unhealthy: Authorization Violation");
}

#[test]
fn mqtt_is_accepted_and_a_wrong_password_is_not_authorized() {
    let broker = Mosquitto::start("allow_anonymous false", &[("app", "smoke-Secret-3")], None);
    let port = broker.port();
    smoke(["mqtt", &format!("mqtt://app:smoke-Secret-3@127.0.0.1:{port}")])
        .hides("smoke-Secret-3")
        .says(0, "CONNACK 0 (accepted), MQTT 3.1.1");
    smoke(["mqtt", &format!("mqtt://app:wrong@127.0.0.1:{port}")])
        .says(1, ": unhealthy: CONNACK 5 (not authorized)");
}

#[test]
fn zookeeper_opens_a_session_and_a_member_without_quorum_is_unhealthy() {
    smoke(["zookeeper", &zookeeper::shared(Setup::Standalone).target()]).says(0, ": ok: session 0x");
    smoke(["zookeeper", &zookeeper::shared(Setup::AloneInEnsemble).target()])
        .says(1, ": unhealthy: the server closed the connection instead of opening a session");
}

#[test]
fn memcached_answers_version_and_an_unknown_login_is_unhealthy() {
    let server = Memcached::start();
    let target = server.target();
    smoke(["memcached", &target]).says(0, ": ok: VERSION 1.");
    smoke(["memcached", &format!("memcached://app:pw@{target}")])
        .says(1, ": unhealthy: the server does not take SASL logins");
}

/// The binary alone (with its emulator, itself static) in an empty root: no libraries, no
/// /etc, no /proc.
#[test]
fn version_in_an_empty_root() {
    let (binary, runner) = under_test();
    let root = tempfile::tempdir().unwrap();
    fs::copy(&binary, root.path().join("probe")).expect("copy the binary");
    let mut program = vec![];
    if let Some(runner) = &runner {
        let runner = if runner.is_absolute() { runner.clone() } else { Path::new("/usr/bin").join(runner) };
        fs::copy(&runner, root.path().join("runner")).expect("copy the runner");
        program.push("/runner");
    }
    program.push("/probe");
    let output = run_in_root(root.path(), &program, &["--version"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{output:?}");
    assert_eq!(stdout, format!("probe {}\n", env!("CARGO_PKG_VERSION")), "{output:?}");
}
