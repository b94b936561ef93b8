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
    self, MARGIN, Probe, Run,
    certs::Pki,
    postgres::{APP_PASSWORD, APP_USER, Options, Postgres},
    process::signal,
    sockets,
};

/// The probe binary with a generous deadline: these tests are about verdicts and messages, and a
/// debug build's SCRAM login on a busy machine can take most of the default 900ms. The tests
/// about deadlines use `support::probe` and give their own.
fn probe() -> Probe {
    support::probe().args(["-t", "10s"])
}

fn run<I, S>(args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    probe().args(args).run()
}

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
    // As libpq: verify-full needs a root certificate file (or sslrootcert=system).
    let result = run(["postgres", &target("localhost", "sslmode=verify-full")]);
    result.says(3, "root certificate file \"~/.postgresql/root.crt\" does not exist");
    let result = run(["postgres", &target("localhost", "sslmode=verify-full sslrootcert=system")]);
    result.says(2, ": unreachable: TLS: certificate not trusted (unknown issuer) (");
    let from_env = probe()
        .env("PGSSLMODE", "verify-full")
        .env("PGSSLROOTCERT", ca)
        .args(["postgres", &target("localhost", "")])
        .run();
    from_env.code(0);

    let client = pki.issue("certuser", &["certuser"]);
    // As libpq, probe refuses a private key others may read.
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&client.key, fs::Permissions::from_mode(0o600)).unwrap();
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
    // Found when TLS starts, as libpq finds it there: the connection fails.
    let result = run(["postgres", &format!("{no_cert} sslcert={}", client.cert.display())]);
    result.says(
        2,
        ": unreachable: certificate present, but not private key file \"~/.postgresql/postgresql.key\" (",
    );
}

#[test]
fn silent_and_garbage_peers_are_unreachable() {
    let silent = sockets::open("127.0.0.1:0");
    let target = format!("host=127.0.0.1 port={} user=app sslmode=disable", silent.addr.port());
    let result = support::run(["postgres", "-t", "300ms", &target]);
    let line = result.code(2).within(Duration::from_millis(300) + MARGIN).stderr_line();
    assert!(line.contains(": unreachable: timed out after 300ms during auth ("), "{line}");
    let result = support::run(["postgres", "--ping", "-t", "300ms", &target]);
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
        ("mydb", "'mydb': missing \"=\" after \"mydb\" in connection info string"),
        ("host=db sslmode=strict password=hunter2", "invalid sslmode value: \"strict\""),
        ("postgres://app:hunter2@db:99999/x", "invalid port number: \"99999\""),
        ("host=db password=hunter2 gssencmode=require", "gssencmode=require: probe has no GSSAPI"),
        (
            "host=db sslmode=verify-ca sslrootcert=/nonexistent/ca.pem",
            "root certificate file \"/nonexistent/ca.pem\" does not exist",
        ),
        ("mysql://root:hunter2@db:3306/x", "'mysql://…': not a postgres:// or postgresql:// URL"),
        ("postgres://db/x?password=hunter2&sslmode=maybe", "'postgres://db/x?password=***&sslmode=maybe'"),
        ("postgres://db/x?sslmode=require&&password=hunter2", "missing key/value separator"),
        (
            "postgres://app:hunter2@[]/x",
            "'postgres://…': a host in the URL: what is in brackets is not an IPv6",
        ),
        ("postgres://app:hunter2@db/x%00", "the database name in the URL holds %00, which libpq forbids"),
        ("host=db password=hunter2 bogus=1", "invalid connection option \"bogus\""),
        ("host=db password=hunter2 require_auth=scram-sha-256", "require_auth: probe cannot"),
        ("host=a,b port=1,2,3 password=hunter2", "could not match 3 port numbers to 2 hosts"),
        ("service=nowhere password=hunter2", "definition of service \"nowhere\" not found"),
        ("host=db password=hunter2 replication=database", "replication: probe checks ordinary sessions only"),
        ("hostaddr=fe80::1%eth0 password=hunter2", "could not parse network address \"fe80::1%eth0\""),
    ] {
        let result = run(["postgres", target]);
        result.says(3, expected);
        result.hides("hunter2");
    }
    // From the environment too: PGGSSENCMODE=require cannot be honoured without GSSAPI.
    let result = probe().env("PGGSSENCMODE", "require").args(["postgres", "host=db password=hunter2"]).run();
    result.says(3, "gssencmode=require: probe has no GSSAPI");
    result.hides("hunter2");
}

#[test]
fn the_server_log_stays_clean_after_many_probes() {
    let pg = Postgres::start();
    let before = pg.server.log_text().len();
    let url = pg.app_url();
    let ghost = format!("postgres://ghost@127.0.0.1:{}/x", pg.port());
    for round in 0..500 {
        run(["postgres", &url]).code(0);
        run(["postgres", "--ping", if round % 2 == 0 { &url } else { &ghost }]).code(0);
    }
    let log = pg.server.log_text();
    let added = &log[before..];
    for noise in
        ["incomplete startup packet", "unexpected EOF", "connection reset", "expected", "could not receive"]
    {
        assert!(!added.contains(noise), "the server logged {noise:?}:\n{added}");
    }
}

/// A password file with a line per server, and two servers with different passwords: libpq
/// reads the file for each host with that host's own name and port.
#[test]
fn the_password_file_is_read_for_each_host_of_a_list() {
    use std::os::unix::fs::PermissionsExt;
    let first = Postgres::start();
    // The second host is read-only, so that target_session_attrs=read-only moves past the first
    // after logging in to it: both logins are real.
    let second = Postgres::start();
    first.sql("ALTER ROLE app PASSWORD 'first-Secret-1'");
    second.sql("ALTER ROLE app PASSWORD 'second-Secret-2'");
    second.sql("ALTER DATABASE app SET default_transaction_read_only = on");
    let passfile = first.dir.path().join("pgpass");
    fs::write(
        &passfile,
        format!(
            "127.0.0.1:{}:*:app:first-Secret-1\n127.0.0.1:{}:*:app:second-Secret-2\n",
            first.port(),
            second.port()
        ),
    )
    .unwrap();
    fs::set_permissions(&passfile, fs::Permissions::from_mode(0o600)).unwrap();
    let target = format!(
        "host=127.0.0.1,127.0.0.1 port={},{} user=app target_session_attrs=read-only",
        first.port(),
        second.port()
    );
    let result = probe().env("PGPASSFILE", &passfile).args(["postgres", &target]).run();
    result.says(0, ": ok: logged in as app to app (");
    result.hides("Secret");
    // Reversed, the first host answers and is taken; with a wrong line for it, its login fails
    // and libpq does not go on to the next host.
    let target = format!("host=127.0.0.1,127.0.0.1 port={},{} user=app", second.port(), first.port());
    probe().env("PGPASSFILE", &passfile).args(["postgres", &target]).run().code(0);
    fs::write(&passfile, format!("127.0.0.1:{}:*:app:first-Secret-1\n", first.port())).unwrap();
    let result = probe().env("PGPASSFILE", &passfile).args(["postgres", &target]).run();
    result.says(1, ": unhealthy: the server asks for a password and none was given");
    // The `passfile` key names the file as PGPASSFILE does.
    let target = format!("host=127.0.0.1 port={} user=app passfile={}", first.port(), passfile.display());
    probe().args(["postgres", &target]).run().says(0, ": ok: logged in as app to app (");
    // hostaddr without host: the file is matched against the address; the port as text.
    let target = format!("hostaddr=127.0.0.1 port={} user=app", first.port());
    probe().env("PGPASSFILE", &passfile).args(["postgres", &target]).run().code(0);
    let target = format!("hostaddr=127.0.0.1 port=0{} user=app", first.port());
    probe().env("PGPASSFILE", &passfile).args(["postgres", &target]).run().code(1);
    // An empty password is never sent: the file is read instead.
    let target = format!("postgres://app:@127.0.0.1:{}/app", first.port());
    probe().env("PGPASSFILE", &passfile).args(["postgres", &target]).run().code(0);
    let target = format!("host=127.0.0.1 port={} user=app password=", first.port());
    probe().env("PGPASSFILE", &passfile).env("PGPASSWORD", "").args(["postgres", &target]).run().code(0);
}

#[test]
fn a_password_file_others_can_read_is_named_when_the_login_lacks_a_password() {
    use std::os::unix::fs::PermissionsExt;
    let pg = Postgres::start();
    let passfile = pg.dir.path().join("pgpass");
    fs::write(&passfile, format!("*:*:*:*:{APP_PASSWORD}\n")).unwrap();
    fs::set_permissions(&passfile, fs::Permissions::from_mode(0o644)).unwrap();
    let target = format!("host=127.0.0.1 port={} user=app", pg.port());
    let result = probe().env("PGPASSFILE", &passfile).args(["postgres", &target]).run();
    let line = result.says(1, ": unhealthy: the server asks for a password and none was given");
    assert!(
        line.contains(&format!(
            "password file \"{}\" was ignored: it has group or world access; permissions should be u=rw (0600) or less",
            passfile.display()
        )),
        "{line}"
    );
    result.hides(APP_PASSWORD);
}

#[test]
fn target_session_attrs_over_a_primary_and_a_real_standby() {
    let primary = Postgres::start();
    let standby = primary.standby();
    let list = |first: &Postgres, second: &Postgres, attrs: &str| {
        format!(
            "postgres://app:{APP_PASSWORD}@127.0.0.1:{},127.0.0.1:{}/app?target_session_attrs={attrs}",
            first.port(),
            second.port()
        )
    };
    // Each case: the order of the list, the attribute, and the role of the host it must reach.
    for (first, second, attrs, role) in [
        (&standby, &primary, "any", "replica"),
        (&standby, &primary, "read-write", "primary"),
        (&standby, &primary, "primary", "primary"),
        (&primary, &standby, "read-only", "replica"),
        (&primary, &standby, "standby", "replica"),
        (&primary, &standby, "prefer-standby", "replica"),
        (&standby, &primary, "prefer-standby", "replica"),
    ] {
        let result = run(["postgres", "--expect-role", role, &list(first, second, attrs)]);
        result.says(0, &format!(", {role} ("));
        result.hides(APP_PASSWORD);
    }
    let only_primary = format!("{}?target_session_attrs=prefer-standby", primary.app_url());
    run(["postgres", "--expect-role", "primary", &only_primary]).says(0, ", primary (");
    let only_primary = format!("{}?target_session_attrs=standby", primary.app_url());
    run(["postgres", &only_primary])
        .says(1, ": unhealthy: server is not in hot standby mode (target_session_attrs=standby)");
    let both_standby = list(&standby, &standby, "read-write");
    let result = run(["postgres", &both_standby]);
    result.says(
        1,
        &format!(
            "127.0.0.1:{}: session is read-only (target_session_attrs=read-write); 127.0.0.1:",
            standby.port()
        ),
    );
    let from_env = probe()
        .env("PGTARGETSESSIONATTRS", "read-write")
        .args([
            "postgres",
            "--expect-role",
            "primary",
            &list(&standby, &primary, "any").replace("?target_session_attrs=any", ""),
        ])
        .run();
    from_env.says(0, ", primary (");
    // --expect-role judges the host the connection reached, the first that answers (issue 20):
    // to choose by role, target_session_attrs does it.
    let result = run(["postgres", "--expect-role", "replica", &list(&primary, &standby, "any")]);
    result.says(1, ": unhealthy: logged in as app to app, but it is a primary, not a replica (");
    // A host that is down is passed over too.
    let refusing = sockets::refusing();
    let down_first = format!(
        "host=127.0.0.1,127.0.0.1 port={},{} user=app password={APP_PASSWORD} target_session_attrs=primary",
        refusing.addr.port(),
        primary.port()
    );
    run(["postgres", &down_first]).says(0, ": ok: logged in as app to app (");
}

#[test]
fn a_service_file_fills_what_the_string_leaves_out() {
    let pg = Postgres::start();
    let dir = pg.dir.path();
    fs::write(
        dir.join("services.conf"),
        format!(
            "# a comment\n[orders]\nhost=127.0.0.1\nport={}\nuser=app\npassword={APP_PASSWORD}\ndbname=orders\n[broken]\nhost = 127.0.0.1\n",
            pg.port()
        ),
    )
    .unwrap();
    let file = dir.join("services.conf");
    let service = |args: &[&str]| probe().env("PGSERVICEFILE", &file).args(["postgres"]).args(args).run();
    let result = service(&["service=orders"]);
    result.says(0, ": ok: logged in as app to orders (");
    result.hides(APP_PASSWORD);
    // The string wins over the service; the service wins over the environment.
    service(&["service=orders dbname=app"]).says(0, ": ok: logged in as app to app (");
    service(&["postgresql:///app?service=orders"]).says(0, "logged in as app to app");
    let result = probe()
        .env("PGSERVICEFILE", &file)
        .env("PGSERVICE", "orders")
        .env("PGDATABASE", "app")
        .args(["postgres"])
        .run();
    result.says(0, ": ok: logged in as app to orders (");
    // PGSYSCONFDIR/pg_service.conf, when the user's file lacks the service.
    fs::write(
        dir.join("pg_service.conf"),
        format!("[sys]\nhost=127.0.0.1\nport={}\nuser=app\ndbname=app\n", pg.port()),
    )
    .unwrap();
    let result = probe()
        .env("PGSERVICEFILE", &file)
        .env("PGSYSCONFDIR", dir)
        .env("PGPASSWORD", APP_PASSWORD)
        .args(["postgres", "service=sys"])
        .run();
    result.says(0, ": ok: logged in as app to app (");
    service(&["service=nowhere"]).says(3, "definition of service \"nowhere\" not found");
    let result = service(&["service=broken"]);
    result.says(3, &format!("syntax error in service file \"{}\", line 9", file.display()));
}

#[test]
fn sslmode_allow_tries_plain_then_tls_and_prefer_falls_back_to_plain() {
    let pki = Pki::new();
    let server = pki.issue("postgres", &["localhost"]);
    let pg = Postgres::with(Options {
        hba: &["hostnossl all app 127.0.0.1/32 reject", "hostssl all plainonly 127.0.0.1/32 reject"],
        tls: Some((&server, &pki.ca)),
        ..Options::default()
    });
    pg.sql("CREATE ROLE plainonly LOGIN PASSWORD 'plain-pw'");
    let port = pg.port();
    let app = format!("host=127.0.0.1 port={port} user=app password={APP_PASSWORD} sslmode=allow");
    let result = run(["postgres", "-v", &app]);
    result.says(0, ": ok: logged in as app to app (");
    result.hides(APP_PASSWORD);
    let plain = format!("host=127.0.0.1 port={port} user=plainonly password=plain-pw dbname=postgres");
    for mode in ["allow", "prefer"] {
        run(["postgres", &format!("{plain} sslmode={mode}")])
            .says(0, ": ok: logged in as plainonly to postgres (");
    }
    run(["postgres", &format!("{plain} sslmode=require")])
        .says(1, ": unhealthy: 28000 pg_hba.conf rejects connection");
    let result =
        run(["postgres", &format!("host=127.0.0.1 port={port} user=app password=x sslmode=disable")]);
    result.says(1, ": unhealthy: 28000 pg_hba.conf rejects connection");
    // sslrootcert=system: verify-full against the bundled roots, which do not know this CA.
    let result =
        run(["postgres", &format!("host=localhost port={port} user=app password=x sslrootcert=system")]);
    result.says(2, ": unreachable: TLS: certificate not trusted (unknown issuer) (");
    // A root certificate at libpq's default path, ~/.postgresql/root.crt, is used below
    // verify-ca too: from another CA, require fails the handshake and prefer falls back to plain.
    let home = pg.dir.path().join("home");
    fs::create_dir_all(home.join(".postgresql")).unwrap();
    fs::copy(&Pki::new().ca, home.join(".postgresql/root.crt")).unwrap();
    let result = probe().env("HOME", &home).args(["postgres", &format!("{plain} sslmode=prefer")]).run();
    result.says(0, ": ok: logged in as plainonly to postgres (");
    let app_require = format!("host=localhost port={port} user=app password={APP_PASSWORD} sslmode=require");
    let result = probe().env("HOME", &home).args(["postgres", &app_require]).run();
    // Both test CAs have the same name, so rustls sees a bad signature rather than an unknown issuer.
    result.says(2, ": unreachable: TLS: certificate has a bad signature (");
    run(["postgres", &app_require]).says(0, ": ok: logged in as app to app (");
    // channel_binding=require: SCRAM bound to the TLS session.
    let bound =
        format!("host=localhost port={port} user=app password={APP_PASSWORD} channel_binding=require");
    run(["postgres", &bound]).says(0, ": ok: logged in as app to app (");
}

/// TLS asked of a real server without it, both ways TLS can start: after an SSLRequest the
/// server says no (`N`); asked directly (sslnegotiation=direct), PostgreSQL 15 reads the
/// ClientHello as a bad startup packet and closes, which is named with the fix. The other
/// direction cannot be met on a real PostgreSQL before 17, which has no TLS-only port: a plain
/// startup to a TLS-only port is `plain_text_to_a_tls_only_port_says_it_speaks_tls`'s; a plain
/// answer to a ClientHello, `a_plain_answer_to_direct_tls_is_named`'s.
#[test]
fn sslmode_require_on_a_server_without_tls_says_so() {
    let pg = Postgres::start();
    let target = format!("{}?sslmode=require", pg.app_url());
    let result = run(["postgres", &target]);
    result.says(2, ": unreachable: the server does not support TLS, but sslmode=require requires it (");
    result.hides(APP_PASSWORD);
    let direct = format!("{}?sslmode=require&sslnegotiation=direct", pg.app_url());
    let result = run(["postgres", &direct]);
    result.says(2, ": unreachable: connection closed by peer during the TLS handshake: the server may not take direct TLS (PostgreSQL 17 and later do; use sslnegotiation=postgres) (");
    result.hides(APP_PASSWORD);
    let result = run(["postgres", &format!("{}?sslmode=allow", pg.app_url())]);
    result.says(0, ": ok: logged in as app to app (");
}

#[test]
fn hosts_hostaddrs_and_abstract_sockets() {
    let name = format!("probe-it-{}", std::process::id());
    let pg = Postgres::with(Options { abstract_socket: Some(&name), ..Options::default() });
    let port = pg.port();
    let abstract_target = format!("host=@{name} port={port} user=postgres");
    run(["postgres", "-v", &abstract_target]).says(0, ": ok: logged in as postgres to postgres (");
    let refusing = sockets::refusing();
    // A hostaddr list without host, an empty item in a host list, and a percent-encoded port.
    let addrs = format!(
        "hostaddr=127.0.0.1,127.0.0.1 port={},{port} user=app password={APP_PASSWORD}",
        refusing.addr.port()
    );
    run(["postgres", &addrs]).says(0, ": ok: logged in as app to app (");
    // The empty item is libpq's default host; probe's default falls back to localhost.
    let empty_item =
        format!("host=127.0.0.1, port={},{port} user=app password={APP_PASSWORD}", refusing.addr.port());
    run(["postgres", &empty_item]).says(0, ": ok: logged in as app to app (");
    let digits = port.to_string();
    let encoded = format!("postgres://app:{APP_PASSWORD}@127.0.0.1:%3{}{}/app", &digits[..1], &digits[1..]);
    run(["postgres", &encoded]).says(0, ": ok: logged in as app to app (");
}

#[test]
fn options_and_the_variables_libpq_sends_reach_the_session() {
    let pg = Postgres::start();
    let check =
        |setting: &str, value: &str| format!("SELECT 1/(current_setting('{setting}') = '{value}')::int");
    let result = probe()
        .env("PGOPTIONS", "-c work_mem=3MB")
        .env("PGTZ", "Europe/Paris")
        .env("PGDATESTYLE", "SQL, DMY")
        .args(["postgres", "--query", &check("work_mem", "3MB"), &pg.app_url()])
        .run();
    result.says(0, ", query returned 1 row (");
    let result = probe()
        .env("PGTZ", "Europe/Paris")
        .args(["postgres", "--query", &check("TimeZone", "Europe/Paris"), &pg.app_url()])
        .run();
    result.says(0, ", query returned 1 row (");
    let result = probe()
        .env("PGDATESTYLE", "SQL, DMY")
        .args(["postgres", "--query", &check("DateStyle", "SQL, DMY"), &pg.app_url()])
        .run();
    result.says(0, ", query returned 1 row (");
    let url = format!("{}?options=-c%20work_mem%3D5MB&fallback_application_name=fallback", pg.app_url());
    run(["postgres", "--query", &check("work_mem", "5MB"), &url]).says(0, "query returned 1 row");
    run(["postgres", "--query", &check("application_name", "fallback"), &url])
        .says(0, "query returned 1 row");
    run(["postgres", "--query", &check("application_name", "probe"), &pg.app_url()])
        .says(0, "query returned 1 row");
    let target =
        format!("{} gssencmode=disable client_encoding=UTF8 keepalives=1 sslcompression=0", conninfo_of(&pg));
    run(["postgres", &target]).says(0, ": ok: logged in as app to app (");
}

fn conninfo_of(pg: &Postgres) -> String {
    format!("host=127.0.0.1 port={} user=app password={APP_PASSWORD}", pg.port())
}

#[test]
fn connect_timeout_caps_each_host_under_the_deadline() {
    let silent = sockets::open("127.0.0.1:0");
    let pg = Postgres::start();
    let target = format!(
        "host=127.0.0.1,127.0.0.1 port={},{} user=app password={APP_PASSWORD} sslmode=disable",
        silent.addr.port(),
        pg.port()
    );
    let result = support::probe().env("PGCONNECT_TIMEOUT", "2").args(["postgres", "-t", "5s", &target]).run();
    // The silent host gets two seconds, the real one the rest.
    result.code(0).within(Duration::from_secs(5));
    let result = support::probe()
        .env("PGCONNECT_TIMEOUT", "2")
        .args([
            "postgres",
            "-t",
            "5s",
            &target.replace(&format!(",{}", pg.port()), &format!(",{}", silent.addr.port())),
        ])
        .run();
    let line = result.code(2).within(Duration::from_millis(4000) + MARGIN).stderr_line();
    assert!(line.contains("timed out after 2s (connect_timeout)"), "{line}");
}

#[test]
fn a_query_cut_by_the_deadline_is_cancelled_on_the_server() {
    let pg = Postgres::start();
    let sleep = "SELECT pg_sleep(20) -- probe";
    let result = support::run(["postgres", "-t", "3s", "--query", sleep, &pg.app_url()]);
    let line = result.code(2).within(Duration::from_secs(3) + MARGIN).stderr_line();
    assert!(line.contains(": unreachable: timed out after 3s during query ("), "{line}");
    let active =
        format!("SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query = '{sleep}'");
    let until = Instant::now() + Duration::from_secs(1);
    while pg.sql(&active) != "0" {
        assert!(Instant::now() < until, "the query is still running on the server");
        thread::sleep(Duration::from_millis(50));
    }
}

/// libpq's order is the string (or its service section), PGPASSWORD, the password file; probe's
/// own --password-file sits above PGPASSWORD: an explicit option wins over an inherited variable.
#[test]
fn password_file_option_wins_over_pgpassword_but_not_over_the_url() {
    let pg = Postgres::start();
    let right = pg.dir.path().join("right");
    let wrong = pg.dir.path().join("wrong");
    fs::write(&right, format!("{APP_PASSWORD}\n")).unwrap();
    fs::write(&wrong, "not-the-Secret\n").unwrap();
    let target = format!("host=127.0.0.1 port={} user=app", pg.port());
    let result = probe()
        .env("PGPASSWORD", "wrong-from-env")
        .args(["postgres", "--password-file", right.to_str().unwrap(), &target])
        .run();
    result.says(0, ": ok: logged in as app to app (");
    result.hides(APP_PASSWORD).hides("wrong-from-env");
    let result = probe()
        .env("PGPASSWORD", APP_PASSWORD)
        .args(["postgres", "--password-file", wrong.to_str().unwrap(), &target])
        .run();
    result.says(1, ": unhealthy: 28P01 password authentication failed for user \"app\"");
    result.hides("not-the-Secret");
    // The password the URL states wins over the option.
    let result = run(["postgres", "--password-file", wrong.to_str().unwrap(), &pg.app_url()]);
    result.says(0, ": ok: logged in as app to app (");
    let result =
        run(["postgres", "--password-file", right.to_str().unwrap(), &pg.url(APP_USER, "nope", APP_USER)]);
    result.says(1, ": unhealthy: 28P01 password authentication failed");
    // An empty --password-file is a mistake, not "no password" (issue 20).
    let empty = pg.dir.path().join("empty");
    fs::write(&empty, "\n").unwrap();
    let result = run(["postgres", "--password-file", empty.to_str().unwrap(), &target]);
    result.says(3, &format!("--password-file {} is empty", empty.display()));
}

/// libpq's build_startup_packet sends PGDATESTYLE, PGTZ and PGGEQO unless set to `default` (any
/// case); an empty one is sent, and the server refuses an empty time zone.
#[test]
fn pgtz_and_pgdatestyle_set_to_default_are_not_sent() {
    let pg = Postgres::start();
    pg.sql("ALTER DATABASE app SET timezone = 'Asia/Tokyo'");
    pg.sql("ALTER DATABASE app SET DateStyle = 'German, DMY'");
    let query = "SELECT 1/(current_setting('TimeZone') = 'Asia/Tokyo' AND current_setting('DateStyle') = 'German, DMY')::int";
    let result = probe()
        .env("PGTZ", "default")
        .env("PGDATESTYLE", "DEFAULT")
        .args(["postgres", "--query", query, &pg.app_url()])
        .run();
    result.says(0, ", query returned 1 row (");
    // Sent, the setting replaces the database's: the same query divides by zero.
    let result =
        probe().env("PGTZ", "Europe/Paris").args(["postgres", "--query", query, &pg.app_url()]).run();
    result.says(1, ": unhealthy: the query failed: 22012 division by zero");
    let result = probe().env("PGTZ", "").args(["postgres", &pg.app_url()]).run();
    result.says(1, ": unhealthy: 22023 invalid value for parameter \"TimeZone\": \"\"");
}

/// A TLS-only port answers plain text (a startup packet, or an SSLRequest) with a TLS alert;
/// as the http check does, probe says the port speaks TLS.
#[test]
fn plain_text_to_a_tls_only_port_says_it_speaks_tls() {
    let pki = Pki::new();
    let pair = pki.issue("server", &["localhost"]);
    let tls_only = support::http::serve_tls(support::certs::server_config(&pair, None), |_, _| {});
    for mode in ["disable", "prefer", "require"] {
        let target = format!("host=127.0.0.1 port={} user=app sslmode={mode}", tls_only.addr.port());
        let result = run(["postgres", &target]);
        result.says(
            2,
            ": unreachable: the answer is TLS, not PostgreSQL's protocol: the port speaks TLS (use sslmode=require with sslnegotiation=direct) (",
        );
    }
    let target = format!("host=127.0.0.1 port={} user=app", tls_only.addr.port());
    run(["postgres", "--ping", &target])
        .says(2, ": unreachable: the answer is TLS, not PostgreSQL's protocol");
}

/// libpq reads sslrootcert, sslcert and sslkey when the server has agreed to TLS (initialize_SSL):
/// a server without TLS never has them read; with prefer, a TLS setup that fails falls back to
/// plain (checked with psql 15: ssl is off in pg_stat_ssl); with require, it is the verdict.
#[test]
fn tls_files_are_read_when_tls_starts() {
    use std::os::unix::fs::PermissionsExt;
    let pg = Postgres::start();
    let garbage = pg.dir.path().join("garbage.pem");
    fs::write(&garbage, "not a certificate\n").unwrap();
    fs::set_permissions(&garbage, fs::Permissions::from_mode(0o600)).unwrap();
    let bad_files = format!("sslcert={0} sslkey={0}", garbage.display());
    for mode in ["prefer", "allow"] {
        let target = format!("{} sslmode={mode} {bad_files}", conninfo_of(&pg));
        run(["postgres", &target]).says(0, ": ok: logged in as app to app (");
    }

    let pki = Pki::new();
    let server = pki.issue("postgres", &["localhost"]);
    let with_tls = Postgres::with(Options { tls: Some((&server, &pki.ca)), ..Options::default() });
    let plain_session = "SELECT 1/(NOT ssl)::int FROM pg_stat_ssl WHERE pid = pg_backend_pid()";
    let target = format!("{} sslmode=prefer {bad_files}", conninfo_of(&with_tls));
    run(["postgres", "--query", plain_session, &target]).says(0, ", query returned 1 row (");
    let target = format!("{} sslmode=require {bad_files}", conninfo_of(&with_tls));
    let result = run(["postgres", &target]);
    result.says(2, &format!(": unreachable: sslcert {}: ", garbage.display()));
    result.hides(APP_PASSWORD);
    // libpq's order: the certificate is read before the key is looked for.
    let target = format!(
        "{} sslmode=require sslcert={} sslkey=/nonexistent/key",
        conninfo_of(&with_tls),
        server.cert.display()
    );
    run(["postgres", &target])
        .says(2, ": unreachable: certificate present, but not private key file \"/nonexistent/key\" (");
}

/// PGHOSTADDR: the connection goes to the address, with no name resolution, while host names
/// the password file's line and the certificate's name, as libpq does.
#[test]
fn pghostaddr_connects_to_the_address_while_host_names_the_server() {
    use std::os::unix::fs::PermissionsExt;
    let pki = Pki::new();
    let server = pki.issue("postgres", &["db.invalid"]);
    let pg = Postgres::with(Options { tls: Some((&server, &pki.ca)), ..Options::default() });
    let passfile = pg.dir.path().join("pgpass");
    fs::write(&passfile, format!("db.invalid:{}:*:app:{APP_PASSWORD}\n", pg.port())).unwrap();
    fs::set_permissions(&passfile, fs::Permissions::from_mode(0o600)).unwrap();
    let target = format!(
        "host=db.invalid port={} user=app sslmode=verify-full sslrootcert={}",
        pg.port(),
        pki.ca.display()
    );
    let result =
        probe().env("PGHOSTADDR", "127.0.0.1").env("PGPASSFILE", &passfile).args(["postgres", &target]).run();
    result.says(0, ": ok: logged in as app to app (");
    result.hides(APP_PASSWORD);
    // Without it, the name must resolve, and .invalid never does.
    let result = probe().env("PGPASSFILE", &passfile).args(["postgres", &target]).run();
    result.code(2);
    // A line for the address does not serve a host that has a name.
    fs::write(&passfile, format!("127.0.0.1:{}:*:app:{APP_PASSWORD}\n", pg.port())).unwrap();
    let result =
        probe().env("PGHOSTADDR", "127.0.0.1").env("PGPASSFILE", &passfile).args(["postgres", &target]).run();
    result.says(1, ": unhealthy: the server asks for a password and none was given");
    // libpq's inet_aton forms of hostaddr reach the same address.
    let short = format!("hostaddr=127.1 port={} user=app password={APP_PASSWORD}", pg.port());
    run(["postgres", &short]).says(0, ": ok: logged in as app to app (");
}

/// channel_binding=require (or PGCHANNELBINDING): SCRAM bound to the TLS session succeeds; a
/// login without it (plain connection, md5, trust) is refused by the client, as libpq refuses it.
#[test]
fn channel_binding_required_as_libpq_requires_it() {
    let pki = Pki::new();
    let server = pki.issue("postgres", &["localhost"]);
    let pg = Postgres::with(Options {
        hba: &["host all md5user 127.0.0.1/32 md5", "host all trusted 127.0.0.1/32 trust"],
        tls: Some((&server, &pki.ca)),
        ..Options::default()
    });
    pg.sql("SET password_encryption = 'md5'; CREATE ROLE md5user LOGIN PASSWORD 'md5-pw'");
    pg.sql("CREATE ROLE trusted LOGIN");
    let port = pg.port();
    let bound = |target: String| probe().env("PGCHANNELBINDING", "require").args(["postgres", &target]).run();
    let result = bound(format!("{} sslmode=require", conninfo_of(&pg)));
    result.says(0, ": ok: logged in as app to app (");
    let refused = ": unhealthy: channel_binding=require, but the server authenticated without channel binding (it needs SCRAM over TLS) (";
    bound(format!("{} sslmode=disable", conninfo_of(&pg))).says(1, refused);
    bound(format!("host=127.0.0.1 port={port} user=md5user password=md5-pw dbname=postgres sslmode=require"))
        .says(1, refused);
    bound(format!("host=127.0.0.1 port={port} user=trusted dbname=postgres sslmode=require"))
        .says(1, refused);
    // The string wins over the variable.
    let result = bound(format!("{} sslmode=disable channel_binding=prefer", conninfo_of(&pg)));
    result.says(0, ": ok: logged in as app to app (");
}

/// PGCLIENTENCODING: a name the server does not know is refused by the server, as with libpq;
/// a good one is checked the same way, but probe's session stays UTF8 (tokio-postgres needs it;
/// listed under "Differences from libpq").
#[test]
fn pgclientencoding_is_judged_by_the_server_and_the_session_stays_utf8() {
    let pg = Postgres::start();
    let utf8 = "SELECT 1/(current_setting('client_encoding') = 'UTF8')::int";
    let result = probe().env("PGCLIENTENCODING", "bogus").args(["postgres", &pg.app_url()]).run();
    result.says(1, ": unhealthy: 22023 invalid value for parameter \"client_encoding\": \"bogus\"");
    for encoding in ["LATIN1", "auto"] {
        let result = probe()
            .env("PGCLIENTENCODING", encoding)
            .args(["postgres", "--query", utf8, &pg.app_url()])
            .run();
        result.says(0, ", query returned 1 row (");
    }
    let url = format!("{}?client_encoding=nonesuch", pg.app_url());
    run(["postgres", &url]).says(1, ": unhealthy: 22023 invalid value for parameter \"client_encoding\"");
}

/// Issue 25's forms against a real server: a password holding '?' and '#' (libpq ends the user
/// part at the first '@', so it logs in), in text, -v, --json and --wait lines; a second '@' in
/// the password (libpq would resolve the rest as a host) refused without it; and conninfo with a
/// secret-looking key in any case, or a missing '=', refused without the value.
#[test]
fn every_secret_form_is_hidden_in_every_output() {
    let pg = Postgres::start();
    let port = pg.port();
    let password = "Qx7?pw#Zk3";
    pg.sql(&format!("ALTER ROLE app PASSWORD '{password}'"));
    let url = format!("postgres://app:{password}@127.0.0.1:{port}/app");
    for flags in [&["-v"][..], &["--json"], &["-v", "--json"], &["--wait", "2s"]] {
        let result = probe().args(["postgres"]).args(flags).args([&url]).run();
        result.code(0).hides("Qx7").hides("Zk3");
        assert!(result.stdout.contains("postgres://app:***@127.0.0.1:"), "{result}");
    }
    let wrong = format!("postgres://app:Qx7?pw#Zk4@127.0.0.1:{port}/app");
    for flags in [&["-v"][..], &["--json"], &["--wait", "300ms", "--interval", "100ms"]] {
        let result = probe().args(["postgres"]).args(flags).args([&wrong]).run();
        result.code(1).hides("Qx7").hides("Zk4");
    }
    for (target, expected) in [
        (
            format!("postgres://app:p@ssw0rdQx7@127.0.0.1:{port}/app"),
            "'postgres://…': an '@' comes after the user part's '@'",
        ),
        (
            format!("postgres://app:pa/ssw0rdQx7@127.0.0.1:{port}/app"),
            "'postgres://…': an '@' comes after the host",
        ),
        (
            "host=127.0.0.1 PASSWORD=Qx7secret".to_owned(),
            "'host=127.0.0.1 PASSWORD=***': invalid connection option \"…\"",
        ),
        ("host=127.0.0.1 Password=Qx7secret".to_owned(), "invalid connection option \"…\""),
        ("host=127.0.0.1 pass=Qx7secret".to_owned(), "'host=127.0.0.1 pass=***'"),
        ("host=127.0.0.1 pwd=Qx7secret".to_owned(), "'host=127.0.0.1 pwd=***'"),
        ("host=127.0.0.1 passwd=Qx7secret".to_owned(), "'host=127.0.0.1 passwd=***'"),
        ("host=127.0.0.1 token=Qx7secret".to_owned(), "'host=127.0.0.1 token=***'"),
        ("host=127.0.0.1 secret=Qx7secret".to_owned(), "'host=127.0.0.1 secret=***'"),
        (
            "host=127.0.0.1 password Qx7secret".to_owned(),
            "'host=127.0.0.1 password ***': missing \"=\" after a word",
        ),
        ("host=127.0.0.1 password:Qx7secret".to_owned(), "'host=127.0.0.1 ***': missing \"=\" after a word"),
        (
            "host=127.0.0.1 password=Qx7 secret".to_owned(),
            "'host=127.0.0.1 password=*** ***': missing \"=\" after the word that follows a secret value",
        ),
    ] {
        for json in [&[][..], &["--json"]] {
            let result = probe().args(["postgres"]).args(json).args([&target]).run();
            result.says(3, expected);
            result.hides("Qx7").hides("ssw0rd");
        }
    }
}

/// A value holding a newline (a quoted conninfo value) is printed escaped: one line per target.
#[test]
fn a_label_with_a_newline_is_one_line() {
    let pg = Postgres::start();
    let target = format!("host={} port={} user=postgres application_name='a\nb'", pg.socket(), pg.port());
    let result = run(["postgres", &target]);
    let line = result.says(0, ": ok: logged in as postgres to postgres (");
    assert!(line.contains("application_name='a\\nb'"), "{line}");
}

/// A peer whose error message holds control characters (a CI workflow command, a forged healthy
/// line, a terminal escape): quoted escaped, one line, in text and --json (valid JSON).
#[test]
fn a_server_error_with_control_characters_is_one_line() {
    let message = "\n::error::injected workflow command\npostgres x: ok: logged in\r\x1b[2J\x7f";
    let body = [&b"SFATAL\0C28000\0M"[..], message.as_bytes(), b"\0\0"].concat();
    let error = [&[b'E'][..], &u32::try_from(body.len() + 4).unwrap().to_be_bytes(), &body].concat();
    let fake = sockets::answering(Box::leak(error.into_boxed_slice()));
    let target = format!("host=127.0.0.1 port={} user=app sslmode=disable", fake.port());
    for mode in [&["postgres"][..], &["postgres", "--ping"]] {
        let text = probe().args(mode).args([&target]).run();
        let code = if mode.len() == 1 { 1 } else { 0 };
        let line = text.code(code).stdout.clone() + &text.stderr;
        assert_eq!(line.lines().count(), 1, "{text}");
        assert!(!line.trim_end().contains(['\r', '\x1b', '\x7f']), "{text}");
        assert!(
            line.contains(
                "28000 \\n::error::injected workflow command\\npostgres x: ok: logged in\\r\\x1b[2J\\x7f"
            ),
            "{text}"
        );
        let json = probe().args(mode).args(["--json"]).args([&target]).run();
        let line = json.stdout.trim_end();
        assert_eq!(json.stdout.lines().count(), 1, "{json}");
        let object: serde_json::Value = serde_json::from_str(line).expect(line);
        assert!(object["message"].as_str().unwrap().contains("\\n::error::injected"), "{line}");
    }
}

/// --query gets all but a tenth of the time left (at most 100 ms): a query of 1.8 s passes a 2 s
/// deadline, which the old margin (a quarter, at most 200 ms) cut.
#[test]
fn a_query_may_use_all_but_a_small_margin_of_the_deadline() {
    let pg = Postgres::start();
    let target = format!("host={} port={} user=postgres", pg.socket(), pg.port());
    let result = support::run(["postgres", "-t", "2s", "--query", "SELECT pg_sleep(1.8)", &target]);
    result.says(0, ", query returned 1 row (");
}

/// A peer answering a direct ClientHello in plain text (PostgreSQL's error, as a server speaking
/// the protocol without TLS answers an unknown request): the port speaks plain text.
#[test]
fn a_plain_answer_to_direct_tls_is_named() {
    let error = b"E\0\0\0\x32SFATAL\0C08P01\0Munsupported frontend protocol\0\0";
    let fake = sockets::answering(error);
    let target =
        format!("host=127.0.0.1 port={} user=app sslmode=require sslnegotiation=direct", fake.port());
    run(["postgres", &target])
        .says(2, ": unreachable: the answer is not TLS: the port speaks plain text (use sslmode=disable) (");
}
