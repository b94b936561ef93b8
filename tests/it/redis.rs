//! `probe redis` against real redis-server instances: passwords and ACL users, databases,
//! error replies as verdicts (NOAUTH, WRONGPASS, MASTERDOWN, LOADING, BUSY), roles, TLS, and
//! servers that hang or do not speak Redis.

use std::{
    fs,
    process::{Command, Stdio},
    thread,
    time::Duration,
};

use crate::support::{
    MARGIN,
    certs::Pki,
    in_every_output_mode, probe,
    redis::Redis,
    run,
    sockets::{self, Script},
};

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
fn malformed_urls_are_usage_errors_named_by_their_scheme_only() {
    for (url, expected) in [
        ("http://cache:6379", "'http://…': not a Redis URL: the scheme is none of redis://"),
        ("redis://:hunter2@cache:notaport", "'redis://…': the port is not a number"),
        ("redis://:hunter2@cache:6379/x", "'redis://…': the database after the host"),
        ("redis://:hun#ter2@cache:6379", "'redis://…': an '@' comes after the host; in a password"),
        ("redis://:hun/ter2@cache:6379", "'redis://…': an '@' comes after the host"),
        ("redis://:hun?ter2@cache:6379", "'redis://…': an '@' comes after the host"),
        ("redis://:hunter2@cache:0", "'redis://…': '0' is not a port (1 to 65535)"),
        ("redis://:%FFhunter2@cache", "'redis://…': the password is not UTF-8 once decoded"),
        (
            "redis://:%zzhunter2@cache",
            "'redis://…': the password has a '%' not followed by two hex digits (write '%' as %25)",
        ),
        ("redis://hunter2%zz@cache", "'redis://…': the password has a '%' not followed by two hex digits"),
        ("redis://cache?password=hunter2&db=x", "'redis://…': ?db= is not a number"),
        ("redis://cache?pasword=hunter2", "unknown query parameter ?pasword="),
        ("unix://:hunter2@cache/run/redis.sock", "'unix://…': a unix URL names no host"),
    ] {
        let result = run(["redis", url]);
        let line = result.code(3).stderr_line();
        assert!(line.starts_with("probe: ") && line.contains(expected), "expected {expected:?} in {line}");
        result.hides("hunter2");
    }
}

#[test]
fn redis_py_url_forms() {
    // redis-py's unix form with the password and database in the query, on a server that needs it.
    let redis = Redis::unix(&["--requirepass", PASSWORD]);
    let socket = redis.socket();
    let url = format!("unix://{socket}?db=2&password={PASSWORD}");
    let result = run(["redis", "-v", &url]);
    let line = result.says(0, ": ok: PONG (");
    assert!(line.starts_with(&format!("redis unix://{socket}?db=2&password=***: ok: PONG (")), "{line}");
    assert!(line.contains("auth ") && line.contains("select "), "{line}");
    result.hides(PASSWORD);
    // The same on redis://; ?db= comes before the path's database, as in redis-py.
    let url = format!("redis://127.0.0.1:{}?password={PASSWORD}&db=3", redis.port());
    run(["redis", &url]).says(0, "?password=***&db=3: ok: PONG (");
    let url = format!("redis://127.0.0.1:{}/1?db=99&password={PASSWORD}", redis.port());
    run(["redis", &url]).says(1, ": unhealthy: ERR DB index is out of range (");

    // No host is 127.0.0.1, and 0.0.0.0 connects as both references connect.
    let open = Redis::start();
    run(["redis", &format!("redis://:{}", open.port())]).says(0, ": ok: PONG (");
    run(["redis", &format!("redis://0.0.0.0:{}", open.port())]).says(0, ": ok: PONG (");
}

#[test]
fn a_lone_word_before_the_host_is_the_password() {
    let redis = Redis::with_args(&["--requirepass", PASSWORD]);
    let url = format!("redis://{PASSWORD}@127.0.0.1:{}", redis.port());
    let result = run(["redis", "-v", "--json", &url]);
    assert!(result.code(0).stdout.contains(r#""target":"redis://***@127.0.0.1:"#), "{result}");
    result.hides(PASSWORD);
    // With the password in the query, the word is the user name, as redis-py reads it.
    redis.cli(Some(PASSWORD), &["ACL", "SETUSER", "monitor", "on", ">monitor-pw", "+ping", "allkeys"]);
    let url = format!("redis://monitor@127.0.0.1:{}?password=monitor-pw", redis.port());
    run(["redis", &url]).says(0, "?password=***: ok: PONG (");
    let url = format!("redis://monitor@127.0.0.1:{}?password=wrong", redis.port());
    run(["redis", &url]).says(1, ": unhealthy: WRONGPASS ");
}

#[test]
fn a_password_the_server_does_not_need_is_healthy_and_said() {
    let redis = Redis::start();
    let said = ": ok: PONG; the password was not needed: the server asks for none (";
    run(["redis", &format!("redis://:{PASSWORD}@127.0.0.1:{}", redis.port())]).says(0, said);
    run(["redis", &format!("redis://127.0.0.1:{}?password={PASSWORD}", redis.port())]).says(0, said);
    probe().env("REDISCLI_AUTH", PASSWORD).args(["redis", &redis.url()]).run().says(0, said);
    // A named user that does not exist is still refused.
    let result = run(["redis", &format!("redis://nobody:{PASSWORD}@127.0.0.1:{}", redis.port())]);
    result.says(1, ": unhealthy: WRONGPASS ");
}

#[test]
fn alive_still_asks_the_role() {
    // A replica whose master is gone answers PING with MASTERDOWN, and ROLE all the same.
    let absent = sockets::refusing();
    let replica = Redis::with_args(&[
        "--replicaof",
        "127.0.0.1",
        &absent.addr.port().to_string(),
        "--replica-serve-stale-data",
        "no",
    ]);
    let result = run(["redis", "--alive", "--expect-role", "master", &replica.url()]);
    result.says(1, ": unhealthy: alive: MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'. But the role is replica, not master (");
    let result = run(["redis", "--alive", "--expect-role", "replica", &replica.url()]);
    result.says(0, ": ok: alive: MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'. Role replica (");
    // Primary is master's other name, as for every check's --expect-role.
    let result = run(["redis", "--alive", "--expect-role", "primary", &replica.url()]);
    result.says(1, "But the role is replica, not master (");
    // Without --alive, MASTERDOWN is the verdict whatever the role.
    let result = run(["redis", "--expect-role", "replica", &replica.url()]);
    result.says(1, ": unhealthy: MASTERDOWN ");
}

#[test]
fn the_server_log_stays_clean_over_a_unix_socket() {
    let redis = Redis::unix(&["--loglevel", "verbose"]);
    let url = format!("unix://{}", redis.socket());
    for _ in 0..100 {
        run(["redis", &url]).code(0);
    }
    let log = redis.server.log_text();
    let accepted = log.matches("Accepted connection to ").count();
    assert!(accepted >= 100, "{accepted} connections logged:\n{log}");
    for complaint in ["Error writing to client", "Broken pipe", "Connection reset", "Protocol error"] {
        assert!(!log.contains(complaint), "{complaint:?} in the log:\n{log}");
    }
}

/// redis-py from the venv scripts/test makes: one line per URL, PONG or the exception's class.
fn redis_py(urls: &[String]) -> Vec<String> {
    let python = concat!(env!("CARGO_MANIFEST_DIR"), "/target/tools/venv/bin/python");
    let script = "import sys, redis\n\
        for url in sys.argv[1:]:\n    \
            try:\n        \
                r = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)\n        \
                print('PONG' if r.ping() else 'no')\n    \
            except Exception as e:\n        \
                print(type(e).__name__)\n";
    let output = Command::new(python).arg("-c").arg(script).args(urls).output().unwrap_or_else(|err| {
        panic!("cannot run {python}: {err}; run scripts/test, which installs redis-py there")
    });
    assert!(output.status.success(), "redis-py: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).lines().map(str::to_owned).collect()
}

/// redis-cli -u URL ping: PONG, or what it said instead.
fn redis_cli(url: &str) -> String {
    let output = Command::new("redis-cli")
        .args(["--no-auth-warning", "-u", url, "ping"])
        .stdin(Stdio::null())
        .output()
        .expect("redis-cli");
    let stdout = String::from_utf8_lossy(&output.stdout);
    if stdout.lines().any(|line| line == "PONG") { "PONG".to_owned() } else { "no".to_owned() }
}

#[test]
fn agrees_with_redis_cli_and_redis_py_or_says_why_not() {
    // Each row: the URL, probe's exit code, whether redis-cli and redis-py reach PONG. Where they
    // differ, README's "Differences from redis-cli and redis-py" says why.
    let secured = Redis::unix(&["--requirepass", PASSWORD]);
    secured.cli(Some(PASSWORD), &["ACL", "SETUSER", "mon", "on", ">mon-pw", "+ping", "+select", "allkeys"]);
    let open = Redis::start();
    let (s, o, socket) = (secured.port(), open.port(), secured.socket());
    let rows: Vec<(String, i32, bool, bool)> = vec![
        (format!("redis://default:{PASSWORD}@127.0.0.1:{s}/1"), 0, true, true),
        (format!("redis://mon:mon-pw@127.0.0.1:{s}"), 0, true, true),
        (format!("redis://127.0.0.1:{s}"), 1, false, false),
        (format!("redis://:wrong@127.0.0.1:{s}"), 1, false, false),
        (format!("redis://:{PASSWORD}@127.0.0.1:{s}"), 0, false, true),
        (format!("redis://{PASSWORD}@127.0.0.1:{s}"), 0, true, false),
        (format!("redis://mon@127.0.0.1:{s}?password=mon-pw"), 0, false, true),
        (format!("redis://127.0.0.1:{s}/2?password={PASSWORD}&db=3"), 0, false, true),
        (format!("unix://{socket}?db=2&password={PASSWORD}"), 0, false, true),
        (format!("unix://:{PASSWORD}@{socket}"), 0, false, true),
        (format!("redis://127.0.0.1:{o}"), 0, true, true),
        (format!("REDIS://127.0.0.1:{o}"), 0, true, false),
        (format!("redis://0.0.0.0:{o}"), 0, true, true),
        (format!("redis://:not-needed@127.0.0.1:{o}"), 0, true, true),
        (format!("redis://127.0.0.1:{o}?password=not-needed"), 0, true, true),
        (format!("redis://127.0.0.1:{o}/99"), 1, true, false),
        (format!("redis://127.0.0.1:{o}/abc"), 3, true, true),
        (format!("redis://127.0.0.1:{o}/0/1"), 3, true, true),
        (format!("redis://127.0.0.1:{o}?db=x"), 3, true, false),
        (format!("redis://127.0.0.1:{o}?pass=x"), 0, true, false),
        (format!("redis://127.0.0.1:{o}?pasword=x"), 3, true, false),
        (format!("valkey://127.0.0.1:{o}"), 0, false, false),
        (format!("redis://:pa%FF@127.0.0.1:{o}"), 3, true, true),
    ];
    let urls: Vec<String> = rows.iter().map(|row| row.0.clone()).collect();
    let python = redis_py(&urls);
    for ((url, code, cli_pong, py_pong), py) in rows.iter().zip(&python) {
        let cli = redis_cli(url);
        let result = run(["redis", url]);
        assert_eq!(
            (result.code, cli == "PONG", py == "PONG"),
            (*code, *cli_pong, *py_pong),
            "{url}: probe, redis-cli ({cli}), redis-py ({py})\n{result}"
        );
    }
}

#[test]
fn tls_and_plain_text_mixed_up_name_the_fix() {
    let pki = Pki::new();
    let server = pki.issue("redis", &["localhost", "127.0.0.1"]);
    let tls = Redis::tls(&server, &pki.ca, false);
    // OpenSSL's port resets a plain command it cannot read as TLS, before any answer.
    let reset = ": unreachable: connection reset by peer at the first request: the port may speak TLS \
                 (use rediss://) (";
    run(["redis", &format!("redis://127.0.0.1:{}", tls.port())]).says(2, reset);
    let with_password = run(["redis", &format!("redis://:{PASSWORD}@127.0.0.1:{}/2", tls.port())]);
    with_password.says(2, reset);
    with_password.hides(PASSWORD);
    // A plain Redis never answers a ClientHello: a second connection asks it in plain text.
    let plain = Redis::start();
    let plain_as_tls = format!("rediss://localhost:{}", plain.port());
    let result = run(["redis", "--cacert", pki.ca.to_str().unwrap(), &plain_as_tls]);
    let line = result.code(2).within(Duration::from_millis(900)).stderr_line();
    assert!(
        line.contains(": unreachable: the answer is not TLS: the port speaks plain text (use redis://) ("),
        "{line}"
    );
    // A TLS server that answers in time never sees that second connection.
    let before = tls.server.log_text().len();
    for _ in 0..5 {
        run(["redis", "--cacert", pki.ca.to_str().unwrap(), &format!("rediss://localhost:{}", tls.port())])
            .code(0);
    }
    let log = tls.server.log_text().split_off(before);
    assert!(!log.contains("Error accepting a client connection"), "{log}");
}

#[test]
fn a_bulk_pong_is_healthy_and_no_answer_contradicts_itself() {
    let bulk = sockets::scripted(Script::Say(b"$4\r\nPONG\r\n"));
    run(["redis", &format!("redis://{bulk}")]).says(0, ": ok: PONG (");
    let other = sockets::scripted(Script::Say(b"$4\r\nPANG\r\n"));
    run(["redis", &format!("redis://{other}")])
        .says(1, ": unhealthy: PING answered the bulk string 'PANG', not PONG (");
    let status = sockets::scripted(Script::Say(b"+PONG \r\n"));
    run(["redis", &format!("redis://{status}")])
        .says(1, ": unhealthy: PING answered the status 'PONG ', not PONG (");
    let number = sockets::scripted(Script::Say(b":1\r\n"));
    run(["redis", &format!("redis://{number}")])
        .says(1, ": unhealthy: PING answered the integer 1, not PONG (");
}

/// One line, escaped, in text and in valid JSON, whatever control characters a peer sends.
#[track_caller]
fn one_clean_line(target: &str, code: i32, message: &str) {
    let text = run(["redis", "-t", "500ms", target]);
    let line = text.says(code, &format!(": unhealthy: {message} ("));
    assert!(!line.contains(['\r', '\x1b', '\0']), "{text}");
    let json = run(["redis", "-t", "500ms", "--json", target]);
    let object: serde_json::Value = serde_json::from_str(json.code(code).stdout_line()).expect("JSON");
    assert_eq!(object["message"], message, "{json}");
}

#[test]
fn what_a_peer_says_is_quoted_escaped_on_one_line() {
    let error = sockets::scripted(Script::Say(b"-ERR x\rredis redis://db: ok: PONG\x1b[2J\0\r\n"));
    one_clean_line(&format!("redis://{error}"), 1, "ERR x\\rredis redis://db: ok: PONG\\x1b[2J\\0");
    let bulk = sockets::scripted(Script::Say(b"$22\r\nPONG\n::error::injected\r\n"));
    one_clean_line(
        &format!("redis://{bulk}"),
        1,
        "PING answered the bulk string 'PONG\\n::error::injected', not PONG",
    );
}

const SECRET: &str = "Zx9@secret-Qw7";

/// Runs one case in every output form and asserts no part of the secret appears in any.
#[track_caller]
fn audit(args: &[&str], env: &[(&str, &str)]) {
    for (_, result) in in_every_output_mode(args, env) {
        result.hides("secret-Qw7").hides("Zx9%40secret").hides("Zx9@secret");
    }
}

#[test]
fn every_secret_form_is_hidden_in_every_output() {
    let redis = Redis::unix(&["--requirepass", SECRET]);
    let (port, socket) = (redis.port(), redis.socket());
    let encoded = SECRET.replace('@', "%40");
    // Logins that pass: an '@' in the password read at the last '@', as redis-py reads it.
    for url in [
        format!("redis://default:{SECRET}@127.0.0.1:{port}"),
        format!("redis://:{SECRET}@127.0.0.1:{port}/1"),
        format!("redis://{encoded}@127.0.0.1:{port}"),
        format!("redis://127.0.0.1:{port}?password={SECRET}"),
        format!("redis://127.0.0.1:{port}?pass={encoded}&db=2"),
        format!("unix://{socket}?password={encoded}"),
        format!("unix://:{encoded}@{socket}"),
    ] {
        run(["redis", &url]).code(0);
        audit(&["redis", &url], &[]);
    }
    // Logins that fail, a server that speaks TLS, and usage errors.
    for url in [
        format!("redis://default:{SECRET}x@127.0.0.1:{port}"),
        format!("redis://{SECRET}x@127.0.0.1:{port}"),
        format!("rediss://:{SECRET}@127.0.0.1:{port}"),
        format!("redis://:ab/{SECRET}@127.0.0.1:{port}"),
        format!("redis://:ab?{SECRET}@127.0.0.1:{port}"),
        format!("redis://:{SECRET}#x@127.0.0.1:{port}"),
        format!("redis://:%zz{SECRET}@127.0.0.1:{port}"),
        format!("redis://{encoded}@127.0.0.1:0"),
        format!("redis://:{encoded}@cache:port"),
        format!("redis://127.0.0.1:{port}?password={encoded}&db=x"),
        format!("redis://127.0.0.1:{port}?{encoded}=1"),
    ] {
        audit(&["redis", "-t", "300ms", &url], &[]);
    }
    audit(&["redis", &format!("redis://127.0.0.1:{port}")], &[("REDISCLI_AUTH", SECRET)]);
}
