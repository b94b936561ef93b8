//! `probe redis` against real redis-server instances: passwords and ACL users, databases,
//! error replies as verdicts (NOAUTH, WRONGPASS, MASTERDOWN, LOADING, BUSY), roles, TLS, and
//! servers that hang or do not speak Redis.

use std::{
    fs,
    process::{Command, Stdio},
    thread,
    time::Duration,
};

use crate::support::{MARGIN, certs::Pki, probe, redis::Redis, run, sockets};

const PASSWORD: &str = "redis-Secret-42";

#[test]
fn pong_is_healthy_and_the_phases_are_named() {
    let redis = Redis::start();
    let result = run(["redis", "-v", &redis.url()]);
    let line = result.code(0).stdout_line();
    assert!(line.starts_with(&format!("redis {}: ok: PONG (", redis.url())), "{line}");
    for phase in ["resolve ", "connect ", "ping "] {
        assert!(line.contains(phase), "{line}");
    }
}

#[test]
fn the_target_comes_from_redis_url_when_none_is_given() {
    let redis = Redis::start();
    let result = probe().env("REDIS_URL", redis.url()).args(["redis"]).run();
    assert!(
        result.code(0).stdout_line().starts_with(&format!("redis {}: ok: PONG", redis.url())),
        "{result}"
    );
}

#[test]
fn a_unix_socket() {
    let dir = tempfile::tempdir().expect("temp dir");
    let socket = dir.path().join("redis.sock");
    let socket_arg = socket.to_str().unwrap().to_owned();
    let _redis = Redis::launch("Ready to accept connections", move |port| {
        vec!["--port".into(), port.to_string(), "--unixsocket".into(), socket_arg.clone()]
    });
    for scheme in ["unix", "redis+unix"] {
        let url = format!("{scheme}://{}", socket.display());
        run(["redis", &url]).says(0, ": ok: PONG (");
    }
}

#[test]
fn passwords_from_the_url_the_environment_and_a_file() {
    let redis = Redis::with_args(&["--requirepass", PASSWORD]);
    let with_password = format!("redis://:{PASSWORD}@127.0.0.1:{}", redis.port());
    let result = run(["redis", "-v", "--json", &with_password]);
    result.code(0);
    result.hides(PASSWORD);
    assert!(result.stdout.contains(r#""target":"redis://:***@127.0.0.1:"#), "{result}");

    let from_env = probe().env("REDISCLI_AUTH", PASSWORD).args(["redis", "-v", &redis.url()]).run();
    from_env.says(0, "auth ");
    from_env.hides(PASSWORD);

    let file = redis.dir.path().join("password");
    fs::write(&file, format!("{PASSWORD}\n")).unwrap();
    let from_file = run(["redis", "--password-file", file.to_str().unwrap(), &redis.url()]);
    from_file.code(0);
    from_file.hides(PASSWORD);
}

#[test]
fn a_missing_or_wrong_password_is_unhealthy_and_quoted() {
    let redis = Redis::with_args(&["--requirepass", PASSWORD]);
    let missing = run(["redis", &redis.url()]);
    missing.says(1, ": unhealthy: NOAUTH Authentication required. (");

    let wrong_url = format!("redis://:not-{PASSWORD}@127.0.0.1:{}", redis.port());
    let wrong = run(["redis", "-v", &wrong_url]);
    let line = wrong.code(1).stderr_line();
    assert!(
        line.contains(": unhealthy: WRONGPASS invalid username-password pair or user is disabled. ("),
        "{line}"
    );
    wrong.hides(PASSWORD);

    let wrong_file = redis.dir.path().join("wrong");
    fs::write(&wrong_file, "nope\n").unwrap();
    let result = run(["redis", "--password-file", wrong_file.to_str().unwrap(), &redis.url()]);
    result.says(1, "WRONGPASS");
    let result = run(["redis", "--password-file", "/nonexistent/pw", &redis.url()]);
    result.says(3, "cannot read --password-file /nonexistent/pw");
}

#[test]
fn an_acl_user_logs_in_by_name() {
    let redis = Redis::start();
    redis.cli(
        None,
        &["ACL", "SETUSER", "monitor", "on", ">monitor-pw", "+ping", "+role", "+select", "allkeys"],
    );
    let url = format!("redis://monitor:monitor-pw@127.0.0.1:{}", redis.port());
    run(["redis", "--expect-role", "master", &url]).says(0, ": ok: PONG, role master (");
    let wrong = format!("redis://monitor:nope@127.0.0.1:{}", redis.port());
    run(["redis", &wrong]).says(1, "WRONGPASS");
    // ACL users without the right to PING get NOPERM, an unhealthy verdict.
    redis.cli(None, &["ACL", "SETUSER", "mute", "on", ">mute-pw", "-@all"]);
    let mute = format!("redis://mute:mute-pw@127.0.0.1:{}", redis.port());
    let result = run(["redis", &mute]);
    result.says(1, ": unhealthy: NOPERM ");
}

#[test]
fn a_database_index_is_selected() {
    let redis = Redis::start();
    let result = run(["redis", "-v", &format!("{}/3", redis.url())]);
    result.says(0, "select ");
    let result = run(["redis", &format!("{}/99", redis.url())]);
    result.says(1, ": unhealthy: ERR DB index is out of range (");
}

#[test]
fn masterdown_is_unhealthy_but_alive() {
    // A replica whose master is gone, told not to serve stale data: every PING says MASTERDOWN.
    let absent = sockets::refusing();
    let replica = Redis::with_args(&[
        "--replicaof",
        "127.0.0.1",
        &absent.addr.port().to_string(),
        "--replica-serve-stale-data",
        "no",
    ]);
    let result = run(["redis", &replica.url()]);
    let line = result.code(1).stderr_line();
    assert!(
        line.contains(
            ": unhealthy: MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'."
        ),
        "{line}"
    );
    let alive = run(["redis", "--alive", &replica.url()]);
    alive.says(0, ": ok: alive: MASTERDOWN ");
}

#[test]
fn roles_come_from_role() {
    let master = Redis::start();
    let replica = Redis::with_args(&["--replicaof", "127.0.0.1", &master.port().to_string()]);
    run(["redis", "--expect-role", "master", &master.url()]).says(0, "PONG, role master");
    run(["redis", "--expect-role", "replica", &replica.url()]).says(0, "PONG, role replica");
    let result = run(["redis", "--expect-role", "master", &replica.url()]);
    result.says(1, ": unhealthy: PONG, but the role is replica, not master (");
    let result = run(["redis", "--expect-role", "replica", &master.url()]);
    result.says(1, "the role is master, not replica");
}

#[test]
fn loading_is_unhealthy_alive_and_waited_out() {
    // A real LOADING state: a dump of 20,000 keys, reloaded at 100 µs a key (about two seconds).
    let seed = Redis::with_args(&["--enable-debug-command", "yes"]);
    seed.cli(None, &["DEBUG", "POPULATE", "20000"]);
    seed.cli(None, &["SAVE"]);
    let dir = tempfile::Builder::new().prefix("probe-redis-").tempdir().unwrap();
    fs::copy(seed.dir.path().join("dump.rdb"), dir.path().join("dump.rdb")).expect("a dump");
    drop(seed);
    let loading = Redis::launch_in(dir, "Loading RDB produced by", |port| {
        [
            "--port",
            &port.to_string(),
            "--key-load-delay",
            "100",
            "--loading-process-events-interval-bytes",
            "1024",
        ]
        .map(str::to_owned)
        .to_vec()
    });
    // Loading starts as the log says so; the server answers LOADING while it lasts.
    let result = run(["redis", &loading.url()]);
    let line = result.code(1).stderr_line();
    assert!(line.contains(": unhealthy: LOADING Redis is loading the dataset in memory ("), "{line}");
    let alive = run(["redis", "--alive", &loading.url()]);
    alive.says(0, ": ok: alive: LOADING ");

    let waited = run(["redis", "--wait", "30s", "--interval", "200ms", &loading.url()]);
    waited.code(0);
    assert!(
        waited.stderr.starts_with(&format!("waiting: redis {}: unhealthy: LOADING ", loading.url())),
        "{waited}"
    );
    assert!(waited.stdout.contains(": ok: PONG (") && waited.stdout.contains(" attempts in "), "{waited}");
}

#[test]
fn a_busy_script_is_unhealthy_and_a_sleeping_server_times_out() {
    let redis = Redis::with_args(&["--busy-reply-threshold", "100"]);
    let port = redis.port().to_string();
    let script = Command::new("redis-cli")
        .args(["-h", "127.0.0.1", "-p", &port, "EVAL", "while true do end", "0"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("redis-cli");
    thread::sleep(Duration::from_millis(400));
    let result = run(["redis", &redis.url()]);
    result.says(1, ": unhealthy: BUSY Redis is busy running a script.");
    redis.cli(None, &["SCRIPT", "KILL"]);
    let _ = script.wait_with_output();

    let sleeper = Redis::with_args(&["--enable-debug-command", "yes"]);
    let port = sleeper.port().to_string();
    let sleep = Command::new("redis-cli")
        .args(["-h", "127.0.0.1", "-p", &port, "DEBUG", "SLEEP", "3"])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    thread::sleep(Duration::from_millis(200));
    let result = run(["redis", "-t", "500ms", &sleeper.url()]);
    let line = result.code(2).within(Duration::from_millis(500) + MARGIN).stderr_line();
    assert!(line.contains(": unreachable: timed out after 500ms during ping ("), "{line}");
    let _ = sleep.wait_with_output();
}

#[test]
fn tls_with_a_generated_ca_and_mutual_tls() {
    let pki = Pki::new();
    let server = pki.issue("redis", &["localhost", "127.0.0.1"]);
    let redis = Redis::tls(&server, &pki.ca, false);
    let url = format!("rediss://localhost:{}", redis.port());
    let ca = pki.ca.to_str().unwrap();
    run(["redis", "--cacert", ca, &url]).says(0, ": ok: PONG (");
    let untrusted = run(["redis", &url]);
    untrusted.says(2, ": unreachable: TLS: certificate not trusted (unknown issuer) (");
    run(["redis", "--insecure", &url]).code(0);

    let demanding = Redis::tls(&server, &pki.ca, true);
    let url = format!("rediss://localhost:{}", demanding.port());
    let client = pki.issue("client", &["probe-client"]);
    let (cert, key) = (client.cert.to_str().unwrap(), client.key.to_str().unwrap());
    run(["redis", "--cacert", ca, "--cert", cert, "--key", key, &url]).code(0);
    let result = run(["redis", "--cacert", ca, &url]);
    result.says(2, ": unreachable: ");
}

#[test]
fn a_silent_socket_and_a_garbage_answer_are_unreachable() {
    let silent = sockets::open("127.0.0.1:0");
    let result = run(["redis", "-t", "300ms", &format!("redis://{}", silent.addr)]);
    let line = result.code(2).within(Duration::from_millis(300) + MARGIN).stderr_line();
    assert!(line.contains(": unreachable: timed out after 300ms during ping ("), "{line}");

    let http = sockets::answering(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n");
    let result = run(["redis", &format!("redis://{http}")]);
    result.says(2, ": unreachable: the answer is not Redis's protocol (");

    let refusing = sockets::refusing();
    let result = run(["redis", &format!("redis://{}", refusing.addr)]);
    result.says(2, ": unreachable: connection refused (");
}

#[test]
fn malformed_urls_are_usage_errors_without_the_password() {
    for (url, expected) in [
        ("http://cache:6379", "is not a Redis URL"),
        ("redis://:hunter2@cache:notaport", "is not a Redis URL"),
        ("redis://:hunter2@cache:6379/x", "is not a Redis URL"),
    ] {
        let result = run(["redis", url]);
        result.says(3, expected);
        result.hides("hunter2");
    }
}
