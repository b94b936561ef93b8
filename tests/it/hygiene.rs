//! Process hygiene and secrets: many targets with few file descriptors, nothing left behind,
//! any argument bytes, and no password in any output on any path.

use std::{
    fs,
    os::unix::{ffi::OsStrExt, process::CommandExt},
    process::Command,
};

use crate::support::{
    http::{respond, serve},
    in_every_output_mode,
    mariadb::Mariadb,
    postgres::{APP_PASSWORD, APP_USER, Postgres},
    probe, rabbitmq,
    redis::Redis,
    run, sockets,
};

#[test]
fn five_hundred_targets_fit_in_128_file_descriptors() {
    // Black-holed targets hold their socket for the whole deadline: checked all at once, 500 of
    // them would run out of descriptors ("too many open files") long before the deadline.
    let hole = sockets::black_hole();
    let open = sockets::accepting();
    let mut targets: Vec<String> = (0..400).map(|_| hole.addr.to_string()).collect();
    targets.extend((0..100).map(|_| open.to_string()));
    let mut command = Command::new(env!("CARGO_BIN_EXE_probe"));
    command.env_clear().args(["tcp", "-t", "200ms"]).args(&targets);
    // SAFETY: setrlimit is async-signal-safe and touches no memory of ours.
    unsafe {
        command.pre_exec(|| {
            let limit = libc::rlimit { rlim_cur: 128, rlim_max: 128 };
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
            Ok(())
        });
    }
    let output = command.output().expect("probe runs");
    let (stdout, stderr) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    let timed_out = stderr
        .lines()
        .filter(|l| l.contains(": unreachable: timed out after 200ms during connect ("))
        .count();
    assert_eq!(timed_out, 400, "{stderr}");
    assert_eq!(stdout.lines().filter(|l| l.contains(": ok: connected (")).count(), 100, "{stdout}");
}

#[test]
fn nothing_is_left_behind() {
    let tmp = tempfile::tempdir().unwrap();
    let server = serve(|_, out| respond(out, "200 OK", &[], ""));
    let redis = Redis::start();
    for args in [vec!["http".to_owned(), server.url("/")], vec!["redis".to_owned(), redis.url()]] {
        let result = probe().env("TMPDIR", tmp.path()).env("HOME", tmp.path()).args(&args).run();
        result.code(0);
    }
    assert_eq!(fs::read_dir(tmp.path()).unwrap().count(), 0, "probe wrote files");
}

#[test]
fn arguments_that_are_not_utf8_are_a_usage_error() {
    let bad = std::ffi::OsStr::from_bytes(b"db:\xff\xfe");
    let result = probe().args([std::ffi::OsStr::new("tcp"), bad]).run();
    assert!(result.code(3).stderr_line().starts_with("probe: "), "{result}");
    let result = probe().args([std::ffi::OsStr::from_bytes(b"--\xff")]).run();
    result.code(3);
}

const SECRET: &str = "Zx9-secret-Qw7";

/// Runs one case in every output form and asserts the secret appears in none of them.
#[track_caller]
fn audit(args: &[String], env: &[(&str, &str)]) {
    let leaks = leaks(args, env);
    assert!(leaks.is_empty(), "the secret leaked:\n{}", leaks.join("\n"));
}

/// Runs one case in every output form; what showed the secret, one line each.
fn leaks(args: &[String], env: &[(&str, &str)]) -> Vec<String> {
    in_every_output_mode(args, env)
        .into_iter()
        .filter(|(_, result)| result.stdout.contains(SECRET) || result.stderr.contains(SECRET))
        .map(|(mode, result)| {
            let shown = format!("{}{}", result.stdout, result.stderr).replace('\n', " | ");
            format!("{mode:?} {args:?}: {shown}")
        })
        .collect()
}

#[test]
fn no_password_is_ever_printed() {
    let silent = sockets::open("127.0.0.1:0");
    let refusing = sockets::refusing();
    let file = tempfile::NamedTempFile::new().unwrap();
    fs::write(file.path(), format!("{SECRET}\n")).unwrap();
    let file = file.path().to_str().unwrap().to_owned();
    let s = |text: &str| text.to_owned();

    // HTTP: the URL's password, against a server that refuses it, nothing, silence, bad input.
    let server = serve(|_, out| respond(out, "401 Unauthorized", &[], ""));
    for host in [server.addr, refusing.addr, silent.addr] {
        audit(&[s("http"), s("-t"), s("300ms"), format!("http://user:{SECRET}@{host}/")], &[]);
    }
    audit(&[s("http"), format!("http://user:{SECRET}@host:99999/")], &[]);

    // Redis: URL, REDISCLI_AUTH and --password-file; right, wrong, unreachable, silent.
    let redis = Redis::with_args(&["--requirepass", SECRET]);
    let redis_ok = format!("redis://:{SECRET}@127.0.0.1:{}", redis.port());
    for target in [redis_ok, format!("redis://:{SECRET}x@127.0.0.1:{}", redis.port())] {
        audit(&[s("redis"), target], &[]);
    }
    for host in [refusing.addr, silent.addr] {
        audit(&[s("redis"), s("-t"), s("300ms"), format!("redis://:{SECRET}@{host}")], &[]);
        audit(&[s("redis"), s("-t"), s("300ms"), format!("redis://{host}")], &[("REDISCLI_AUTH", SECRET)]);
        audit(
            &[s("redis"), s("-t"), s("300ms"), s("--password-file"), file.clone(), format!("redis://{host}")],
            &[],
        );
    }
    audit(&[s("redis"), format!("redis://:{SECRET}@cache:port")], &[]);

    // PostgreSQL: URL, conninfo, PGPASSWORD and --password-file, against a server where the
    // secret is the wrong password, nothing, silence, and in malformed settings.
    let pg = Postgres::start();
    let port = pg.port();
    audit(&[s("postgres"), pg.url(APP_USER, SECRET, APP_USER)], &[]);
    audit(&[s("postgres"), format!("host=127.0.0.1 port={port} user={APP_USER} password={SECRET}")], &[]);
    audit(&[s("postgres"), format!("host=127.0.0.1 port={port} user={APP_USER}")], &[("PGPASSWORD", SECRET)]);
    audit(
        &[s("postgres"), s("--password-file"), file.clone(), format!("host=127.0.0.1 port={port} user=app")],
        &[],
    );
    for host in [refusing.addr, silent.addr] {
        audit(&[s("postgres"), s("-t"), s("300ms"), format!("postgres://app:{SECRET}@{host}/app")], &[]);
    }
    audit(&[s("postgres"), format!("host=db password={SECRET} sslmode=bogus")], &[]);
    audit(&[s("postgres"), format!("password='{SECRET}")], &[]);
    // MySQL: URL, MYSQL_PWD and --password-file, the secret a wrong password; unreachable,
    // silent, malformed.
    let my = Mariadb::start();
    let my_port = my.port();
    audit(&[s("mysql"), format!("mysql://app:{SECRET}@127.0.0.1:{my_port}/shop")], &[]);
    audit(&[s("mysql"), format!("mysql://app@127.0.0.1:{my_port}/shop")], &[("MYSQL_PWD", SECRET)]);
    audit(
        &[s("mysql"), s("--password-file"), file.clone(), format!("mariadb://edd@127.0.0.1:{my_port}")],
        &[],
    );
    for host in [refusing.addr, silent.addr] {
        audit(&[s("mysql"), s("-t"), s("300ms"), format!("mysql://app:{SECRET}@{host}/shop")], &[]);
    }
    audit(&[s("mysql"), format!("mysql://app:{SECRET}@db:0/shop?ssl-mode=bogus")], &[]);
    // The right password still works, and is still not shown.
    let ok = run(["postgres", "-v", "--json", &pg.app_url()]);
    assert!(ok.code(0).stdout.contains(r#""ok":true"#) && !ok.stdout.contains(APP_PASSWORD), "{ok}");
}

#[test]
fn no_password_in_any_url_form() {
    let redis = Redis::unix(&["--requirepass", SECRET]);
    let (port, socket) = (redis.port(), redis.socket());
    let refusing = sockets::refusing();
    let silent = sockets::open("127.0.0.1:0");
    let s = |text: &str| text.to_owned();

    // Every way a Redis URL carries a password, against the server (right), refused, silent.
    let forms = |host: &str| {
        [
            format!("redis://:{SECRET}@{host}"),
            format!("redis://default:{SECRET}@{host}/0"),
            format!("redis://{SECRET}@{host}"),
            format!("redis://{host}?password={SECRET}"),
            format!("redis://{host}/0?db=1&password={SECRET}"),
            format!("redis://{host}?pass={SECRET}&user=default"),
            format!("valkey://{SECRET}@{host}"),
            format!("rediss://:{SECRET}@{host}"),
        ]
    };
    for host in [format!("127.0.0.1:{port}"), refusing.addr.to_string()] {
        for url in forms(&host) {
            audit(&[s("redis"), s("-t"), s("300ms"), url], &[]);
        }
    }
    for url in forms(&silent.addr.to_string()).into_iter().take(4) {
        audit(&[s("redis"), s("-t"), s("200ms"), url], &[]);
    }
    for url in [
        format!("unix://{socket}?db=2&password={SECRET}"),
        format!("unix://:{SECRET}@{socket}"),
        format!("redis+unix://{socket}?pass={SECRET}"),
        format!("unix://{socket}x?password={SECRET}"),
    ] {
        audit(&[s("redis"), url], &[]);
    }
    // Usage errors: unencoded delimiters in the password, and a bad part elsewhere.
    for url in [
        format!("redis://:{SECRET}#x@127.0.0.1:{port}"),
        format!("redis://:ab#{SECRET}@127.0.0.1:{port}"),
        format!("redis://:ab/{SECRET}@127.0.0.1:{port}/0"),
        format!("redis://:ab?{SECRET}@127.0.0.1:{port}"),
        format!("redis://{SECRET}@127.0.0.1:{port}/x"),
        format!("redis://{SECRET}@127.0.0.1:0"),
        format!("redis://:{SECRET}@cache:port"),
        format!("redis://127.0.0.1:{port}?password={SECRET}&db=x"),
        format!("redis://127.0.0.1:{port}?password={SECRET}&unknown=1"),
        format!("redis://127.0.0.1:{port}?{SECRET}={SECRET}"),
        format!("unix://:{SECRET}@cache/run/redis.sock"),
        format!("redis://:%FF{SECRET}@127.0.0.1:{port}"),
        format!("http://:{SECRET}@127.0.0.1:{port}"),
    ] {
        let result = run(["redis", &url]);
        result.code(3).hides(SECRET);
        audit(&[s("redis"), url], &[]);
    }

    // The same rule for the other checks' URLs: a secret in the query.
    let server = serve(|_, out| respond(out, "401 Unauthorized", &[], ""));
    for url in [
        format!("http://{}/health?token={SECRET}", server.addr),
        format!("http://{}/health?x=1&Password={SECRET}#frag", server.addr),
        format!("http://user:{SECRET}@{}/health", refusing.addr),
    ] {
        audit(&[s("http"), url], &[]);
    }
    let pg = Postgres::start();
    audit(
        &[
            s("postgres"),
            format!("postgresql://{APP_USER}@127.0.0.1:{}/{APP_USER}?password={SECRET}", pg.port()),
        ],
        &[],
    );
    audit(
        &[
            s("postgres"),
            format!("postgresql://{APP_USER}:{SECRET}@127.0.0.1:{}/{APP_USER}?sslmode=bogus", pg.port()),
        ],
        &[],
    );

    // AMQP: the secret a wrong password for guest at the node, refused, silent; and usage errors
    // where an unencoded delimiter, or a missing host, puts the password where a port, a vhost
    // or a parameter's name is read.
    let node = rabbitmq::node();
    let _shared = node.shared();
    audit(&[s("amqp"), node.url(&format!("guest:{SECRET}"), "/")], &[]);
    for host in [refusing.addr, silent.addr] {
        audit(&[s("amqp"), s("-t"), s("300ms"), format!("amqp://guest:{SECRET}@{host}/")], &[]);
    }
    for url in [
        format!("amqp://guest:{SECRET}#x@127.0.0.1/"),
        format!("amqp://guest:ab#{SECRET}@127.0.0.1/"),
        format!("amqp://guest:12/{SECRET}@127.0.0.1/vhost"),
        format!("amqp://guest:ab?{SECRET}@127.0.0.1/"),
        format!("amqp://guest:{SECRET}"),
        format!("amqps://guest:{SECRET}@127.0.0.1/?verify=maybe"),
        format!("amqps://127.0.0.1/?password={SECRET}"),
    ] {
        run(["amqp", &url]).code(3).hides(SECRET);
        audit(&[s("amqp"), url], &[]);
    }

    // Every check's URLs: `user:password` with its '@' or host missing reads as `host:port`, or
    // an unencoded '/' puts part of the password where the port is read; neither is quoted.
    // With an '@' in the user as well, the authority ends inside the password.
    for (check, scheme) in [
        ("postgres", "postgres"),
        ("mysql", "mysql"),
        ("grpc", "grpc"),
        ("amqp", "amqp"),
        ("nats", "nats"),
        ("mqtt", "mqtt"),
        ("memcached", "memcached"),
    ] {
        for url in [
            format!("{scheme}://app:{SECRET}"),
            format!("{scheme}://app:{SECRET}/x@db:1/x"),
            format!("{scheme}://us@r:{SECRET}/x@db:1/x"),
            format!("{scheme}://us@r:pa/{SECRET}@db:1/x"),
        ] {
            run([check, &url]).code(3).hides(SECRET);
        }
    }
    for url in [format!("http://us@r:{SECRET}/x@db:1/x"), format!("http://us@r:pa/{SECRET}@db:1/x")] {
        run(["http", &url]).code(3).hides(SECRET);
    }
}

/// Every secret form of every check (issue 25's list), in every output: text, `-v`, `--json`,
/// `--wait` lines and usage errors. The targets are refused, refusing or silent, so each form
/// reaches every path that names it: the usage error, the label, and the failure message.
#[test]
fn every_check_hides_every_secret_form() {
    let refusing = sockets::refusing().addr.to_string();
    let silent = sockets::open("127.0.0.1:0").addr.to_string();
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("absent.sock").display().to_string();
    let mut table: Vec<(&str, Vec<String>)> = Vec::new();
    for host in [&refusing, &silent] {
        table.extend([
            // A URL's password given to tcp (`probe tcp "$DATABASE_URL"`), and host:port forms
            // in which a password stands where the port is read.
            ("tcp", vec![format!("postgres://app:{SECRET}@{host}/app")]),
            ("tcp", vec![format!("tcp://u:{SECRET}@{host}")]),
            ("tcp", vec![format!("redis://:{SECRET}@{host}/0")]),
            ("tcp", vec![format!("https://u:{SECRET}@{host}/")]),
            ("tcp", vec![format!("u:{SECRET}@{host}")]),
            ("tcp", vec![format!("app:{SECRET}")]),
            // Conninfo: any secret-looking key in any case, and a '=' that is missing.
            ("postgres", vec![format!("host=127.0.0.1 port={} PASSWORD={SECRET}", port_of(host))]),
            ("postgres", vec![format!("host=127.0.0.1 port={} Password={SECRET}", port_of(host))]),
            ("postgres", vec![format!("host=127.0.0.1 port={} pass={SECRET}", port_of(host))]),
            ("postgres", vec![format!("host=127.0.0.1 port={} pwd={SECRET}", port_of(host))]),
            ("postgres", vec![format!("host=127.0.0.1 port={} passwd={SECRET}", port_of(host))]),
            ("postgres", vec![format!("host=127.0.0.1 port={} token={SECRET}", port_of(host))]),
            ("postgres", vec![format!("host=127.0.0.1 port={} secret={SECRET}", port_of(host))]),
            ("postgres", vec![format!("host=127.0.0.1 port={} password {SECRET}", port_of(host))]),
            ("postgres", vec![format!("host=127.0.0.1 port={} password:{SECRET}", port_of(host))]),
            // An unencoded '@', '/', '?' or '#' in a password.
            ("postgres", vec![format!("postgres://app:x@{SECRET}@{host}/app")]),
            ("postgres", vec![format!("postgres://app:x?{SECRET}@{host}/app")]),
            ("mysql", vec![format!("mysql://app:hunter?{SECRET}@{host}/shop")]),
            ("mysql", vec![format!("mysql://app:x@{SECRET}@{host}/shop")]),
            ("mysql", vec![format!("mysql://app:x#{SECRET}@{host}/shop")]),
            ("redis", vec![format!("redis://:x@{SECRET}@{host}")]),
            ("redis", vec![format!("redis://:x/{SECRET}@{host}/0")]),
            ("amqp", vec![format!("amqp://guest:x@{SECRET}@{host}/")]),
            ("amqp", vec![format!("amqp://guest:x?{SECRET}@{host}/")]),
            ("nats", vec![format!("nats://app:x@{SECRET}@{host}")]),
            ("nats", vec![format!("nats://{SECRET}@{host}")]),
            ("nats", vec![format!("nats://{SECRET}@127.0.0.1:1, tls://app:{SECRET}@{host}")]),
            ("mqtt", vec![format!("mqtt://app:x@{SECRET}@{host}")]),
            ("mqtt", vec![format!("mqtt://app:x/{SECRET}@{host}")]),
            ("mqtt", vec![format!("ssl://app:{SECRET}@{host}/topic")]),
            ("memcached", vec![format!("memcached://app:x@{SECRET}@{host}")]),
            ("memcached", vec![format!("memcached://app:x/{SECRET}@{host}")]),
            ("grpc", vec![format!("grpc://u:{SECRET}@{host}")]),
            ("grpc", vec![format!("grpc://u:x/{SECRET}@{host}")]),
            ("http", vec![format!("http://u:x@{SECRET}@{host}/")]),
            // Headers and metadata: a CRLF-terminated token file, a missing colon, a good one.
            (
                "http",
                vec!["-H".into(), format!("Authorization: Bearer {SECRET}\r\n"), format!("http://{host}/")],
            ),
            ("http", vec!["-H".into(), format!("Authorization Bearer {SECRET}"), format!("http://{host}/")]),
            ("http", vec!["-H".into(), format!("X-Api-Key: {SECRET}"), format!("http://{host}/")]),
            ("grpc", vec!["-H".into(), format!("authorization: Bearer {SECRET}\r\n"), host.clone()]),
            ("grpc", vec!["-H".into(), format!("authorization Bearer {SECRET}"), host.clone()]),
            ("grpc", vec!["-H".into(), format!("authorization: Bearer {SECRET}"), host.clone()]),
        ]);
    }
    // Unix sockets with query parameters.
    table.extend([
        ("redis", vec![format!("unix://{sock}?db=1&password={SECRET}")]),
        ("mysql", vec![format!("mysql://app@localhost/shop?socket={sock}&password={SECRET}")]),
        ("mysql", vec![format!("mysql://app:{SECRET}@%2F{}/shop?ssl-mode=DISABLED", &sock[1..])]),
        ("postgres", vec![format!("postgresql://app@%2F{}/app?password={SECRET}", &sock[1..])]),
    ]);
    let mut all = Vec::new();
    for (check, args) in table {
        let mut full = vec![check.to_owned(), "-t".to_owned(), "300ms".to_owned()];
        full.extend(args);
        // Only the first output form that leaks, per case: the list stays readable.
        all.extend(leaks(&full, &[]).into_iter().take(1));
    }
    assert!(all.is_empty(), "{} forms leaked:\n{}", all.len(), all.join("\n"));
}

/// The port of `host:port`.
fn port_of(addr: &str) -> &str {
    addr.rsplit_once(':').map_or(addr, |(_, port)| port)
}
