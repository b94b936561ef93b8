//! `probe postgres` against a real PostgreSQL started by the tests: libpq's target forms and
//! environment, SCRAM logins, SQLSTATE verdicts, roles on a real standby, pg_isready's check,
//! every sslmode over TLS with a generated CA, hostile peers, and a clean server log.

use std::{
    fs,
    process::Stdio,
    thread,
    time::{Duration, Instant},
};

use crate::support::{
    MARGIN,
    certs::Pki,
    postgres::{APP_PASSWORD, APP_USER, Options, Postgres},
    probe,
    process::signal,
    run, sockets,
};

#[test]
fn a_scram_login_over_tcp_with_each_form_of_target() {
    let pg = Postgres::start();
    let port = pg.port().to_string();
    let url = pg.app_url();
    let result = run(["postgres", "-v", &url]);
    let line = result.code(0).stdout_line();
    assert!(
        line.starts_with(&format!(
            "postgres postgres://app:***@127.0.0.1:{port}/app: ok: logged in as app to app ("
        )),
        "{line}"
    );
    for phase in ["resolve ", "connect ", "tls ", "auth "] {
        assert!(line.contains(phase), "{line}");
    }
    result.hides(APP_PASSWORD);

    let conninfo = format!("host=127.0.0.1 port={port} user=app password={APP_PASSWORD} dbname=orders");
    let result = run(["postgres", "--json", &conninfo]);
    let line = result.code(0).stdout_line();
    assert!(
        line.contains(&format!(
            r#""target":"host=127.0.0.1 port={port} user=app password=*** dbname=orders""#
        )),
        "{line}"
    );
    assert!(line.contains(r#""message":"logged in as app to orders""#), "{line}");
    result.hides(APP_PASSWORD);

    let from_env = probe()
        .env("PGHOST", "127.0.0.1")
        .env("PGPORT", &port)
        .env("PGUSER", APP_USER)
        .env("PGPASSWORD", APP_PASSWORD)
        .env("PGDATABASE", "orders")
        .env("PGSSLMODE", "disable")
        .args(["postgres", "-v"])
        .run();
    let line = from_env.code(0).stdout_line();
    assert!(
        line.starts_with(&format!(
            "postgres postgres://app@127.0.0.1:{port}/orders: ok: logged in as app to orders ("
        )),
        "{line}"
    );
    assert!(!line.contains("tls "), "sslmode=disable: no TLS phase: {line}");
    from_env.hides(APP_PASSWORD);
}

#[test]
fn a_unix_socket_from_pghost_or_the_url() {
    let pg = Postgres::start();
    let port = pg.port().to_string();
    let result = probe()
        .env("PGHOST", pg.socket())
        .env("PGPORT", &port)
        .env("PGUSER", "postgres")
        .args(["postgres", "-v"])
        .run();
    let line = result.code(0).stdout_line();
    assert!(
        line.contains(": ok: logged in as postgres to postgres (") && !line.contains("resolve"),
        "{line}"
    );
    let url = format!("postgres://postgres@{}:{port}/orders", pg.socket().replace('/', "%2F"));
    run(["postgres", &url]).says(0, "logged in as postgres to orders");
    let url = format!("postgresql:///orders?host={}&port={port}&user=postgres", pg.socket());
    run(["postgres", &url]).code(0);
}

#[test]
fn a_password_file_and_wrong_or_missing_passwords() {
    let pg = Postgres::start();
    let file = pg.dir.path().join("password");
    fs::write(&file, format!("{APP_PASSWORD}\n")).unwrap();
    let target = format!("host=127.0.0.1 port={} user=app", pg.port());
    let result = run(["postgres", "--password-file", file.to_str().unwrap(), &target]);
    result.code(0);
    result.hides(APP_PASSWORD);

    let wrong = pg.url(APP_USER, "not-the-password", APP_USER);
    let result = run(["postgres", "-v", "--json", &wrong]);
    assert!(
        result
            .code(1)
            .stdout
            .contains(r#""message":"28P01 password authentication failed for user \"app\"""#),
        "{result}"
    );
    assert!(!result.stdout.contains("not-the-password"), "{result}");

    let result = probe().env("PGPASSWORD", "wrong-from-env").args(["postgres", &target]).run();
    result.says(1, ": unhealthy: 28P01 password authentication failed");
    assert!(!result.stderr.contains("wrong-from-env"), "{result}");

    let result = run(["postgres", &target]);
    result.says(1, ": unhealthy: the server asks for a password and none was given");
    let result = run(["postgres", "--password-file", "/nonexistent/pw", &target]);
    result.says(3, "cannot read --password-file /nonexistent/pw");
}

#[test]
fn md5_and_trust_logins() {
    let pg = Postgres::with(Options {
        hba: &["host all md5user 127.0.0.1/32 md5", "host all trusted 127.0.0.1/32 trust"],
        ..Options::default()
    });
    pg.sql("SET password_encryption = 'md5'; CREATE ROLE md5user LOGIN PASSWORD 'md5-pw'");
    pg.sql("CREATE ROLE trusted LOGIN");
    let md5 = pg.url("md5user", "md5-pw", "postgres");
    run(["postgres", &md5]).says(0, ": ok: logged in as md5user to postgres (");
    let wrong = pg.url("md5user", "nope", "postgres");
    run(["postgres", &wrong]).says(1, "28P01 password authentication failed");
    let trusted = format!("postgres://trusted@127.0.0.1:{}/postgres", pg.port());
    run(["postgres", &trusted]).says(0, ": ok: logged in as trusted to postgres (");
}

#[test]
fn a_private_pgpass_file_is_read_as_libpq_reads_it() {
    use std::os::unix::fs::PermissionsExt;
    let pg = Postgres::start();
    let passfile = pg.dir.path().join("pgpass");
    fs::write(&passfile, format!("# test\n127.0.0.1:{}:*:{APP_USER}:{APP_PASSWORD}\n", pg.port())).unwrap();
    let target = format!("host=127.0.0.1 port={} user={APP_USER}", pg.port());
    for (mode, code) in [(0o600, 0), (0o644, 1)] {
        fs::set_permissions(&passfile, fs::Permissions::from_mode(mode)).unwrap();
        let result = probe().env("PGPASSFILE", &passfile).args(["postgres", &target]).run();
        result.code(code).hides(APP_PASSWORD);
    }
    let home = pg.dir.path().join("home");
    fs::create_dir(&home).unwrap();
    fs::copy(&passfile, home.join(".pgpass")).unwrap();
    fs::set_permissions(home.join(".pgpass"), fs::Permissions::from_mode(0o600)).unwrap();
    probe().env("HOME", &home).args(["postgres", &target]).run().says(0, ": ok: logged in as app to app (");
}

#[test]
fn sqlstate_verdicts_for_databases_and_queries() {
    let pg = Postgres::start();
    let result = run(["postgres", &pg.url(APP_USER, APP_PASSWORD, "nosuchdb")]);
    result.says(1, r#": unhealthy: 3D000 database "nosuchdb" does not exist ("#);

    let result = run(["postgres", "-v", "--query", "SELECT 1 UNION SELECT 2", &pg.app_url()]);
    let line = result.code(0).stdout_line();
    assert!(
        line.contains(": ok: logged in as app to app, query returned 2 rows (") && line.contains("query "),
        "{line}"
    );
    let result = run(["postgres", "--query", "SELECT * FROM nosuch", &pg.app_url()]);
    result.says(1, r#": unhealthy: the query failed: 42P01 relation "nosuch" does not exist ("#);
}

#[test]
fn roles_on_a_primary_and_a_real_standby() {
    let primary = Postgres::start();
    let standby = primary.standby();
    let on_standby = standby.url(APP_USER, APP_PASSWORD, APP_USER);
    let result = run(["postgres", "--expect-role", "replica", &on_standby]);
    result.says(0, ": ok: logged in as app to app, replica (");
    let result = run(["postgres", "--expect-role", "primary", &on_standby]);
    result.says(1, ": unhealthy: logged in as app to app, but it is a replica, not a primary (");
    let result = run(["postgres", "--expect-role", "primary", &primary.app_url()]);
    result.says(0, ", primary (");
    run(["postgres", "--expect-role", "replica", &primary.app_url()]).code(1);
}

#[test]
fn ping_needs_no_credentials_as_pg_isready() {
    let pg = Postgres::start();
    let unknown = format!("postgres://ghost@127.0.0.1:{}/nowhere", pg.port());
    let result = run(["postgres", "--ping", "-v", &unknown]);
    let line = result.code(0).stdout_line();
    assert!(line.contains(": ok: accepting connections (") && line.contains("ping "), "{line}");
    let refusing = sockets::refusing();
    let result = run(["postgres", "--ping", &format!("host=127.0.0.1 port={}", refusing.addr.port())]);
    result.says(2, ": unreachable: connection refused (");
}

#[test]
fn too_many_connections_is_unhealthy_but_pings() {
    // Three of four slots held by sleeping sessions, the fourth reserved for superusers (who can
    // still count the sleepers): the app user is turned away with 53300.
    let pg = Postgres::with(Options {
        settings: &[("max_connections", "4"), ("superuser_reserved_connections", "1")],
        ..Options::default()
    });
    let sleep = "SELECT pg_sleep(30)";
    let mut holders: Vec<_> =
        (0..3).map(|_| pg.psql(sleep).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap()).collect();
    let count = format!("SELECT count(*) FROM pg_stat_activity WHERE query = '{sleep}'");
    let until = Instant::now() + Duration::from_secs(30);
    while pg.sql(&count) != "3" {
        assert!(Instant::now() < until, "the sleeping sessions did not connect");
        thread::sleep(Duration::from_millis(50));
    }
    let result = run(["postgres", &pg.app_url()]);
    let line = result.code(1).stderr_line();
    assert!(line.contains(": unhealthy: 53300 remaining connection slots are reserved for "), "{line}");
    let result = run(["postgres", "--ping", &pg.app_url()]);
    result.says(0, ": ok: accepting connections (");
    for holder in &mut holders {
        let _ = holder.kill();
        let _ = holder.wait();
    }
}

#[test]
fn a_server_shutting_down_is_unhealthy_to_both() {
    let mut pg = Postgres::start();
    // A smart shutdown waits for the open session; meanwhile new ones are refused with 57P03.
    let mut session =
        pg.psql("SELECT pg_sleep(30)").stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    thread::sleep(Duration::from_millis(500));
    signal(pg.server.pid(), libc::SIGTERM);
    let until = Instant::now() + Duration::from_secs(30);
    let result = loop {
        let result = run(["postgres", &pg.app_url()]);
        if result.code == 1 || Instant::now() > until {
            break result;
        }
        thread::sleep(Duration::from_millis(100));
    };
    result.says(1, ": unhealthy: 57P03 the database system is shutting down (");
    let result = run(["postgres", "--ping", &pg.app_url()]);
    result.says(1, ": unhealthy: 57P03 the database system is shutting down (");
    let _ = session.kill();
    let _ = session.wait();
    pg.server.stop();
}

#[test]
fn every_sslmode_over_tls() {
    let pki = Pki::new();
    let server = pki.issue("postgres", &["localhost"]);
    let pg = Postgres::with(Options {
        hba: &["hostssl all certuser 127.0.0.1/32 cert", "hostnossl all app 127.0.0.1/32 reject"],
        tls: Some((&server, &pki.ca)),
        ..Options::default()
    });
    pg.sql("CREATE ROLE certuser LOGIN");
    let port = pg.port();
    let ca = pki.ca.to_str().unwrap();
    let target =
        |host: &str, extra: &str| format!("host={host} port={port} user=app password={APP_PASSWORD} {extra}");

    // The server refuses app without TLS, so a success proves TLS was used.
    let result = run(["postgres", &target("127.0.0.1", "sslmode=disable")]);
    result.says(1, ": unhealthy: 28000 pg_hba.conf rejects connection");
    for mode in ["prefer", "require"] {
        run(["postgres", &target("127.0.0.1", &format!("sslmode={mode}"))]).code(0);
    }
    run(["postgres", &target("127.0.0.1", &format!("sslmode=verify-ca sslrootcert={ca}"))]).code(0);
    let result =
        run(["postgres", "-v", &target("localhost", &format!("sslmode=verify-full sslrootcert={ca}"))]);
    result.says(0, "tls ");

    let result = run(["postgres", &target("127.0.0.1", &format!("sslmode=verify-full sslrootcert={ca}"))]);
    result.says(2, ": unreachable: TLS: certificate is not valid for this host name (");
    let result = run(["postgres", &target("localhost", "sslmode=verify-full")]);
    result.says(2, ": unreachable: TLS: certificate not trusted (unknown issuer) (");
    let from_env = probe()
        .env("PGSSLMODE", "verify-full")
        .env("PGSSLROOTCERT", ca)
        .args(["postgres", &target("localhost", "")])
        .run();
    from_env.code(0);

    let client = pki.issue("certuser", &["certuser"]);
    let cert_login = format!(
        "host=localhost port={port} user=certuser dbname=postgres sslmode=verify-full sslrootcert={ca} sslcert={} sslkey={}",
        client.cert.display(),
        client.key.display()
    );
    run(["postgres", &cert_login]).code(0);
    let no_cert = format!(
        "host=localhost port={port} user=certuser dbname=postgres sslmode=verify-full sslrootcert={ca}"
    );
    let result = run(["postgres", &no_cert]);
    result.says(1, ": unhealthy: 28000 ");
    let result = run(["postgres", &format!("{no_cert} sslcert={}", client.cert.display())]);
    result.says(3, "sslcert and sslkey go together");
}

#[test]
fn silent_and_garbage_peers_are_unreachable() {
    let silent = sockets::open("127.0.0.1:0");
    let target = format!("host=127.0.0.1 port={} user=app sslmode=disable", silent.addr.port());
    let result = run(["postgres", "-t", "300ms", &target]);
    let line = result.code(2).within(Duration::from_millis(300) + MARGIN).stderr_line();
    assert!(line.contains(": unreachable: timed out after 300ms during auth ("), "{line}");
    let result = run(["postgres", "--ping", "-t", "300ms", &target]);
    assert!(
        result
            .code(2)
            .within(Duration::from_millis(300) + MARGIN)
            .stderr_line()
            .contains("timed out after 300ms during ping"),
        "{result}"
    );

    let garbage = sockets::answering(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n");
    for mode in ["disable", "prefer"] {
        let target = format!("host=127.0.0.1 port={} user=app sslmode={mode}", garbage.port());
        for mode in [&["postgres"][..], &["postgres", "--ping"]] {
            let result = probe().args(mode).args([&target]).run();
            result.says(2, ": unreachable: the answer is not PostgreSQL's protocol (");
        }
    }
}

#[test]
fn malformed_targets_are_usage_errors_without_the_password() {
    for (target, expected) in [
        ("mydb", "neither a postgres:// URL nor key=value settings"),
        ("host=db sslmode=strict password=hunter2", "sslmode 'strict'"),
        ("postgres://app:hunter2@db:99999/x", "'99999' is not a port"),
        ("host=db password=hunter2 gssencmode=require", "'gssencmode' is not a connection setting"),
        ("host=db sslrootcert=/nonexistent/ca.pem", "cannot read sslrootcert /nonexistent/ca.pem"),
    ] {
        let result = run(["postgres", target]);
        result.says(3, expected);
        result.hides("hunter2");
    }
}

#[test]
fn the_server_log_stays_clean_after_many_probes() {
    let pg = Postgres::start();
    let before = pg.server.log_text().len();
    let url = pg.app_url();
    let ghost = format!("postgres://ghost@127.0.0.1:{}/x", pg.port());
    // A generous deadline: this is about the log, and a debug build's SCRAM on a busy machine
    // can take most of the default 900ms.
    for round in 0..500 {
        run(["-t", "10s", "postgres", &url]).code(0);
        run(["-t", "10s", "postgres", "--ping", if round % 2 == 0 { &url } else { &ghost }]).code(0);
    }
    let log = pg.server.log_text();
    let added = &log[before..];
    for noise in
        ["incomplete startup packet", "unexpected EOF", "connection reset", "expected", "could not receive"]
    {
        assert!(!added.contains(noise), "the server logged {noise:?}:\n{added}");
    }
}
