//! `probe mysql` against real MariaDB servers started by the tests: native and ed25519 logins
//! over TCP and the socket, server errors quoted with their numbers, every ssl-mode over TLS
//! with a generated CA, a client certificate for a REQUIRE X509 user, `--insecure`, a query the
//! server stops at the deadline, a server shutting down, roles on a real replica, `--ping` from
//! a non-loopback address with max_connect_errors=1, what each mode leaves in the error log,
//! hostile peers; and, replayed by scripted servers, what no MariaDB here can produce: MySQL 8's
//! caching_sha2_password exchanges and super_read_only (no MySQL 8 can be installed), and the
//! shutdown errors (1053, 1927) answering a login or COM_PING.

use std::{
    io::{Read, Write},
    net::{TcpListener, TcpStream},
    os::unix::net::UnixListener,
    process::{Command, Stdio},
    thread,
    time::{Duration, Instant},
};

use crate::support::{
    MARGIN,
    certs::Pki,
    mariadb::{
        APP_PASSWORD, APP_USER, DATABASE, ED_PASSWORD, ED_USER, Mariadb, Netns, Options, TLS_PASSWORD,
        TLS_USER,
    },
    probe, run,
    sockets::{self, Script},
};

#[test]
fn a_native_login_over_tcp_and_over_the_socket() {
    let db = Mariadb::start();
    let url = db.app_url();
    let result = run(["mysql", "-v", &url]);
    let line = result.says(0, "logged in as app to shop (MariaDB ");
    assert!(line.starts_with(&format!("mysql mysql://app:***@127.0.0.1:{}/shop: ok: ", db.port())), "{line}");
    for phase in ["resolve ", "connect ", "greeting ", "auth ", "ping "] {
        assert!(line.contains(phase), "{line}");
    }
    assert!(!line.contains("tls "), "the server offers no TLS: {line}");
    result.hides(APP_PASSWORD);

    let socket = db.socket_str().replace('/', "%2F");
    let from_env =
        probe().env("MYSQL_PWD", APP_PASSWORD).args(["mysql", &format!("mariadb://app@{socket}/shop")]).run();
    from_env.says(0, "logged in as app to shop");
    from_env.hides(APP_PASSWORD);

    let file = db.dir.path().join("password");
    std::fs::write(&file, format!("{APP_PASSWORD}\n")).unwrap();
    let query_socket = format!("mysql://app@localhost/shop?socket={}", db.socket_str());
    run(["mysql", "--password-file", file.to_str().unwrap(), &query_socket])
        .says(0, "logged in as app to shop");

    // No URL: localhost, the socket from MYSQL_UNIX_PORT, the OS user (root has no password
    // in these servers, as after mariadb-install-db).
    let default = probe().env("MYSQL_UNIX_PORT", db.socket_str()).args(["mysql"]).run();
    let os_user = whoami();
    if os_user == "root" {
        let line = default.says(0, "logged in as root (MariaDB ");
        assert!(line.contains(&format!("mysql mysql://root@{socket}: ok")), "{line}");
    } else {
        default.says(1, &format!("1045 (28000) Access denied for user '{os_user}'@'localhost'"));
    }

    // --ping over the socket, with the default user and no password.
    let nameless = probe().env("MYSQL_UNIX_PORT", db.socket_str()).args(["mysql", "--ping"]).run();
    nameless.says(0, "alive: ");

    // localhost is the socket, as for the mysql client (the port is ignored), and a message
    // says so. MYSQL_UNIX_PORT points at nothing, so the machine's own server is never reached.
    let nothing = db.dir.path().join("nothing.sock");
    let missing =
        probe().env("MYSQL_UNIX_PORT", &nothing).args(["mysql", "mysql://app@localhost:3307/shop"]).run();
    let line = missing.says(2, &format!("{}: no such file or directory", nothing.display()));
    assert!(line.contains("localhost means the unix socket"), "{line}");
}

fn whoami() -> String {
    let output = Command::new("id").arg("-un").output().expect("id");
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

#[test]
fn an_ed25519_login_with_a_password_of_any_length() {
    let db = Mariadb::start();
    let url = db.url(ED_USER, ED_PASSWORD, DATABASE);
    run(["mysql", &url]).says(0, "logged in as edd to shop");
    let wrong = run(["mysql", &db.url(ED_USER, "not-it", DATABASE)]);
    wrong.says(1, "1045 (28000) Access denied for user 'edd'@'localhost' (using password: YES)");
    wrong.hides("not-it");
}

#[test]
fn server_errors_are_unhealthy_and_quoted_with_their_numbers() {
    let db = Mariadb::start();
    let wrong = run(["mysql", &db.url(APP_USER, "wrong-Secret", DATABASE)]);
    wrong.says(1, "1045 (28000) Access denied for user 'app'@'localhost' (using password: YES)");
    wrong.hides("wrong-Secret");
    let socket = db.socket_str().replace('/', "%2F");
    run(["mysql", &format!("mysql://root@{socket}/nope")]).says(1, "1049 (42000) Unknown database 'nope'");
    run(["mysql", &db.url(APP_USER, APP_PASSWORD, "nope")])
        .says(1, "1044 (42000) Access denied for user 'app'@'%' to database 'nope'");
    run(["mysql", &db.app_url(), "--query", "SELECT * FROM missing"])
        .says(1, "1146 (42S02) Table 'shop.missing' doesn't exist");
    let rows = run(["mysql", &db.app_url(), "--query", "SELECT 1 UNION SELECT 2"]);
    assert!(
        rows.says(0, "logged in as app to shop (MariaDB 10").contains(", query returned 2 rows ("),
        "{rows}"
    );
    // The forms people write, bounded by SET STATEMENT all the same.
    for sql in ["SELECT 1;", "  show databases", "DO SLEEP(0)", "SELECT @@version -- trailing comment"] {
        run(["mysql", &db.app_url(), "--query", sql]).says(0, ", query returned ");
    }
    // REQUIRED against a server without TLS: a TLS failure (exit 2, as postgres's
    // sslmode=require), said before the password goes anywhere.
    let required = run(["mysql", &format!("{}?ssl-mode=REQUIRED", db.app_url())]);
    required.says(2, ": unreachable: ssl-mode=REQUIRED but the server (MariaDB 10");
    required.hides(APP_PASSWORD);
    // The handshake was completed all the same (without the password): no aborted connection.
    thread::sleep(Duration::from_millis(100));
    let log = db.log_text();
    assert!(!log.contains("Aborted"), "{log}");
    assert!(log.contains("Access denied for user 'app'@'localhost' (using password: NO)"), "{log}");
}

/// `--query` is bounded on the server (MariaDB's max_statement_time, as `SET STATEMENT … FOR`),
/// with time kept for the answer to come back: the server stops the statement before probe's
/// deadline, says so (1969), and probe reports its deadline as for any other phase, then quits.
/// Nothing is left running, and the connection was closed with COM_QUIT, not dropped.
#[test]
fn a_query_is_stopped_by_the_server_at_the_deadline() {
    let db = Mariadb::start();
    let before = db.log_text().lines().count();
    let slow = run(["mysql", "-t", "700ms", &db.app_url(), "--query", "SELECT SLEEP(30)"]);
    slow.says(2, ": unreachable: timed out after 700ms during query (");
    slow.within(Duration::from_millis(700) + MARGIN);
    // Read at once: the statement ended on the server before probe reported.
    let running = db.sql(
        "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE 'SET STATEMENT%SLEEP(30)%'",
    );
    assert_eq!(running, "0", "the query still runs on the server after probe reported");
    // COM_QUIT, not a dropped connection: the connection goes, and the log says nothing.
    let until = Instant::now() + Duration::from_secs(3);
    while db.sql("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = 'app'") != "0" {
        assert!(Instant::now() < until, "probe's connection is still open");
        thread::sleep(Duration::from_millis(20));
    }
    let log = db.log_text();
    let added: Vec<&str> = log.lines().skip(before).collect();
    assert!(added.iter().all(|line| !line.contains("Aborted")), "{added:?}");
}

/// A real mariadbd shutting down (`SHUTDOWN`, as `mariadb-admin shutdown` or SIGTERM): it
/// closes the connections it has, without a word, and stops listening. Neither is alive.
#[test]
fn a_real_server_that_shuts_down() {
    let db = Mariadb::start();
    let url = db.app_url();
    let ping_url = format!("mysql://127.0.0.1:{}", db.port());
    let result = thread::scope(|scope| {
        let query = scope.spawn(|| run(["mysql", "-t", "20s", &url, "--query", "SELECT SLEEP(30)"]));
        let until = Instant::now() + Duration::from_secs(10);
        while db.sql(
            "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE 'SET STATEMENT%SLEEP(30)%'",
        ) != "1"
        {
            assert!(Instant::now() < until, "probe's query never started");
            thread::sleep(Duration::from_millis(20));
        }
        db.sql("SHUTDOWN");
        query.join().expect("probe ran")
    });
    result.says(2, ": unreachable: connection closed by peer (");
    let until = Instant::now() + Duration::from_secs(20);
    while !db.log_text().contains("Shutdown complete") {
        assert!(Instant::now() < until, "mariadbd did not shut down:\n{}", db.log_text());
        thread::sleep(Duration::from_millis(50));
    }
    run(["mysql", "--ping", &ping_url]).says(2, ": unreachable: connection refused (");
}

/// A scripted MySQL 8 that greets, reads the login, and answers it with `login_answer`; after
/// an OK, it answers COM_PING with `ping_answer`. For the errors of a server going away, which
/// a real server does not produce on demand (MariaDB closes connections at shutdown rather than
/// answer 1053).
fn scripted_mysql(login_answer: &'static [u8], ping_answer: &'static [u8]) -> std::net::SocketAddr {
    sockets::serving(Duration::from_secs(5), move |mut stream| {
        send(&mut stream, 0, &mysql8_greeting(b"0123456789abcdefghij", false));
        let (seq, _) = receive(&mut stream);
        send(&mut stream, seq + 1, login_answer);
        if login_answer[0] == 0 {
            let (seq, _) = receive(&mut stream);
            send(&mut stream, seq + 1, ping_answer);
        }
        // Until the client closes.
        let _ = stream.read_to_end(&mut Vec::new());
    })
}

const SHUTTING_DOWN: &[u8] = b"\xff\x1d\x04#08S01Server shutdown in progress";

/// mysqladmin ping reports a server that answers at all as alive, shutdown included; the spec
/// makes a shutdown (1053, and MariaDB's 1927 connection killed) the one answer that is not.
#[test]
fn a_shutdown_answer_is_not_alive_even_for_ping() {
    let shutting_down = scripted_mysql(SHUTTING_DOWN, OK);
    let ping = run(["mysql", "--ping", &format!("mysql://{shutting_down}")]);
    ping.says(1, ": unhealthy: 1053 (08S01) Server shutdown in progress (");
    run(["mysql", &format!("mysql://app:{SHA2_PASSWORD}@{shutting_down}/shop")])
        .says(1, ": unhealthy: 1053 (08S01) Server shutdown in progress (");

    let killed = scripted_mysql(b"\xff\x87\x07#70100Connection was killed", OK);
    run(["mysql", "--ping", &format!("mysql://{killed}")])
        .says(1, ": unhealthy: 1927 (70100) Connection was killed (");

    // The login went in; the server began shutting down before COM_PING.
    let after_login = scripted_mysql(OK, SHUTTING_DOWN);
    run(["mysql", &format!("mysql://app:{SHA2_PASSWORD}@{after_login}/shop")])
        .says(1, ": unhealthy: 1053 (08S01) Server shutdown in progress (");
    run(["mysql", "--ping", &format!("mysql://{after_login}")])
        .says(1, ": unhealthy: 1053 (08S01) Server shutdown in progress (");

    // Any other refusal is an answer: alive.
    let denied = scripted_mysql(
        b"\xff\x15\x04#28000Access denied for user 'probe'@'10.0.0.9' (using password: NO)",
        OK,
    );
    run(["mysql", "--ping", &format!("mysql://{denied}")])
        .says(0, ": ok: alive: MySQL 8.0.36 answered 1045 (28000) Access denied for user 'probe'@'10.0.0.9'");
}

#[test]
fn tls_in_every_ssl_mode() {
    let pki = Pki::new();
    let pair = pki.issue("server", &["localhost"]);
    let db = Mariadb::with(Options { tls: Some((&pair, &pki.ca)), ..Options::default() });
    let ca = pki.ca.to_str().unwrap();
    let url = |mode: &str, extra: &str| format!("{}?ssl-mode={mode}{extra}", db.app_url());
    let ok_with_tls = |args: &[&str]| {
        let result = run(args);
        let line = result.says(0, "logged in as app to shop");
        assert!(line.contains("tls "), "{line}");
        result.hides(APP_PASSWORD);
    };
    let disabled = run(["mysql", "-v", &url("DISABLED", "")]);
    assert!(!disabled.says(0, "logged in as app").contains("tls "));
    ok_with_tls(&["mysql", "-v", &db.app_url()]);
    ok_with_tls(&["mysql", "-v", &url("preferred", "")]);
    ok_with_tls(&["mysql", "-v", &url("REQUIRED", "")]);
    ok_with_tls(&["mysql", "-v", &url("VERIFY_CA", &format!("&ssl-ca={ca}"))]);
    ok_with_tls(&["mysql", "-v", "--cacert", ca, &url("VERIFY_CA", "")]);
    run(["mysql", &url("VERIFY_CA", "")]).says(2, "TLS: certificate not trusted (unknown issuer)");
    // The certificate names localhost, not 127.0.0.1: the chain is good, the name is not.
    run(["mysql", &url("VERIFY_IDENTITY", &format!("&ssl-ca={ca}"))])
        .says(2, "TLS: certificate is not valid for this host name");
    // Over the socket, the name checked is localhost.
    let socket = db.socket_str().replace('/', "%2F");
    let on_socket =
        format!("mysql://{APP_USER}:{APP_PASSWORD}@{socket}/shop?ssl-mode=VERIFY_IDENTITY&ssl-ca={ca}");
    ok_with_tls(&["mysql", "-v", &on_socket]);
    // PREFERRED does not encrypt a socket, as the mysql client.
    let plain_socket = format!("mysql://{APP_USER}:{APP_PASSWORD}@{socket}/shop");
    assert!(!run(["mysql", "-v", &plain_socket]).says(0, "logged in").contains("tls "));

    // A REQUIRE SSL user: refused in plain text, admitted over TLS.
    let secure = db.url(TLS_USER, TLS_PASSWORD, "");
    run(["mysql", &format!("{secure}?ssl-mode=DISABLED")])
        .says(1, "1045 (28000) Access denied for user 'secure'@'localhost'");
    run(["mysql", &secure]).says(0, "logged in as secure (MariaDB");
}

const CERT_USER: &str = "certified";
const CERT_PASSWORD: &str = "cert-Secret-5e0";

/// A `REQUIRE X509` user: MariaDB admits it only with a client certificate its `ssl-ca` signed,
/// given as the mysql client's `--ssl-cert/--ssl-key` (here `ssl-cert`/`ssl-key` in the URL, as
/// MySQL Shell writes them) or as the other checks' `--cert/--key`.
#[test]
fn a_client_certificate_for_a_require_x509_user() {
    let pki = Pki::new();
    let pair = pki.issue("server", &["localhost"]);
    let client = pki.issue("client", &["probe"]);
    let db = Mariadb::with(Options { tls: Some((&pair, &pki.ca)), ..Options::default() });
    db.sql(&format!(
        "CREATE USER {CERT_USER}@'%' IDENTIFIED BY '{CERT_PASSWORD}' REQUIRE X509;
         GRANT ALL ON {DATABASE}.* TO {CERT_USER}@'%'"
    ));
    let url = db.url(CERT_USER, CERT_PASSWORD, DATABASE);
    let (cert, key) = (client.cert.to_str().unwrap(), client.key.to_str().unwrap());

    let flags = run(["mysql", "-v", "--cert", cert, "--key", key, &url]);
    assert!(flags.says(0, "logged in as certified to shop (MariaDB 10").contains("tls "), "{flags}");
    flags.hides(CERT_PASSWORD);
    let in_url = run([
        "mysql",
        &format!("{url}?ssl-mode=VERIFY_CA&ssl-ca={}&ssl-cert={cert}&ssl-key={key}", pki.ca.display()),
    ]);
    in_url.says(0, "logged in as certified to shop");
    in_url.hides(CERT_PASSWORD);

    // TLS without a certificate: the server's refusal, quoted.
    let without = run(["mysql", "-v", &url]);
    without.says(1, "1045 (28000) Access denied for user 'certified'@'localhost' (using password: YES)");
    without.hides(CERT_PASSWORD);
    // A certificate from a CA the server does not trust: the server ends the TLS handshake
    // with an alert.
    let other = Pki::new();
    let stranger = other.issue("stranger", &["probe"]);
    let (cert, key) = (stranger.cert.to_str().unwrap(), stranger.key.to_str().unwrap());
    run(["mysql", "--cert", cert, "--key", key, &url])
        .says(2, ": unreachable: TLS: the server refused the handshake (");
    // ssl-cert and ssl-key in the URL win over --cert and --key, as the README says.
    let (good_cert, good_key) = (client.cert.to_str().unwrap(), client.key.to_str().unwrap());
    run(["mysql", "--cert", good_cert, "--key", good_key, &format!("{url}?ssl-cert={cert}&ssl-key={key}")])
        .says(2, ": unreachable: TLS: the server refused the handshake (");
}

/// `--insecure`, as for http and grpc (curl's `-k`, grpc-health-probe's `-tls-no-verify`):
/// where VERIFY_CA or VERIFY_IDENTITY fail on the certificate, it connects over TLS anyway.
#[test]
fn insecure_connects_where_verification_fails() {
    let pki = Pki::new();
    let pair = pki.issue("server", &["localhost"]);
    let db = Mariadb::with(Options { tls: Some((&pair, &pki.ca)), ..Options::default() });
    let verify_ca = format!("{}?ssl-mode=VERIFY_CA", db.app_url());
    // The bundled roots do not know the test CA.
    run(["mysql", &verify_ca]).says(2, ": unreachable: TLS: certificate not trusted (unknown issuer) (");
    let insecure = run(["mysql", "-v", "--insecure", &verify_ca]);
    assert!(insecure.says(0, "logged in as app to shop").contains("tls "), "{insecure}");
    insecure.hides(APP_PASSWORD);
    // The certificate names localhost; the URL says 127.0.0.1.
    let verify_identity = format!("{}?ssl-mode=VERIFY_IDENTITY&ssl-ca={}", db.app_url(), pki.ca.display());
    run(["mysql", &verify_identity])
        .says(2, ": unreachable: TLS: certificate is not valid for this host name (");
    let insecure = run(["mysql", "-v", "--insecure", &verify_identity]);
    assert!(insecure.says(0, "logged in as app to shop").contains("tls "), "{insecure}");
}

#[test]
fn max_connections_exhausted() {
    // MariaDB's smallest max_connections is 10; one more is kept for administrators.
    let db = Mariadb::with(Options { args: &["--max-connections=10"], ..Options::default() });
    // Ten sleeping clients take every ordinary connection. One that lost a race with this
    // test's own polling connection is refused, and started again.
    let hold = || {
        Command::new("mariadb")
            .args(["--no-defaults", "-h", "127.0.0.1", "-P", &db.port().to_string(), "-u", APP_USER])
            .arg(format!("-p{APP_PASSWORD}"))
            .args(["-e", "SELECT SLEEP(60)"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("mariadb client")
    };
    let mut holders: Vec<_> = (0..10).map(|_| hold()).collect();
    let until = Instant::now() + Duration::from_secs(20);
    loop {
        for holder in &mut holders {
            if holder.try_wait().expect("wait").is_some() {
                *holder = hold();
            }
        }
        let held =
            db.sql("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO = 'SELECT SLEEP(60)'");
        if held == "10" {
            break;
        }
        assert!(Instant::now() < until, "the holding clients never all connected ({held})");
        thread::sleep(Duration::from_millis(50));
    }
    run(["mysql", &db.app_url()]).says(1, "1040 (08004) Too many connections");
    // --ping: alive, whatever the refusal. (MariaDB checks the password before the count, so
    // a ping without credentials meets 1045 instead.)
    let ping = run(["mysql", "--ping", &db.app_url()]);
    assert!(
        ping.says(0, "alive: MariaDB 10").contains("answered 1040 (08004) Too many connections"),
        "{ping}"
    );
    for holder in &mut holders {
        let _ = holder.kill();
        let _ = holder.wait();
    }
}

#[test]
fn roles_on_a_real_primary_and_replica() {
    let primary =
        Mariadb::with(Options { args: &["--log-bin=mysql-bin", "--server-id=1"], ..Options::default() });
    let replica = primary.replica();
    let role = |db: &Mariadb, role: &str| run(["mysql", &db.app_url(), "--expect-role", role]);

    let primary_role = role(&primary, "primary");
    assert!(
        primary_role.says(0, "logged in as app to shop (MariaDB 10").contains(", primary (writable) ("),
        "{primary_role}"
    );
    role(&primary, "replica").says(1, "but it is not a replica (no replication configured)");
    let replicating = role(&replica, "replica");
    let line = replicating.says(0, ", replica (replication running, ");
    assert!(line.contains("s behind"), "{line}");
    role(&replica, "primary").says(1, "but read_only is ON: not a primary");

    // A row the replica cannot apply (MariaDB replays DDL idempotently, not DML) stops its SQL
    // thread with an error.
    primary.sql("CREATE TABLE shop.clash (i INT PRIMARY KEY)");
    replica.wait_for_replication(|_, _| replica.sql("SHOW TABLES FROM shop LIKE 'clash'") == "clash");
    replica.sql("INSERT INTO shop.clash VALUES (1)");
    primary.sql("INSERT INTO shop.clash VALUES (1)");
    replica.wait_for_replication(|_, sql| sql == "No");
    let stopped = role(&replica, "replica");
    let line = stopped
        .says(1, "but replication is not running (I/O thread: Yes, SQL thread: No); last error 1062: ");
    assert!(line.contains("Duplicate entry '1' for key 'PRIMARY'"), "{line}");

    // A stopped replica that is read-only is neither.
    replica.sql("STOP SLAVE; RESET SLAVE ALL");
    role(&replica, "replica").says(1, "not a replica");
    role(&replica, "primary").says(1, "read_only is ON");
}

/// `probe` with `args`, run inside `netns`, with an empty environment.
fn run_in(netns: &Netns, args: &[&str]) -> crate::support::Run {
    let started = Instant::now();
    let output = netns
        .command(env!("CARGO_BIN_EXE_probe"))
        .args(args)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .stdin(Stdio::null())
        .output()
        .expect("ip netns exec");
    crate::support::Run {
        code: output.status.code().expect("an exit code"),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        elapsed: started.elapsed(),
    }
}

/// The host cache ignores loopback clients, so this runs from a network namespace of its own:
/// a veth pair whose 10.x addresses exist only there. With max_connect_errors=1 one dropped
/// handshake blocks the host (shown first, with a TCP-only probe); `--ping` completes every
/// handshake, so a real login after many pings still gets in.
#[test]
fn ping_needs_no_credentials_and_never_gets_the_host_blocked() {
    let netns =
        Netns::create().unwrap_or_else(|why| panic!("cannot make a network namespace: {why} (needs root)"));
    let db = Mariadb::with(Options {
        args: &["--max-connect-errors=1"],
        bind: Some(&netns.host_ip),
        ..Options::default()
    });
    let address = format!("{}:{}", netns.host_ip, db.port());
    let login = format!("mysql://{APP_USER}:{APP_PASSWORD}@{address}/shop");

    run_in(&netns, &["mysql", &login]).says(0, "logged in as app to shop");
    // What a TCP probe does: connect, close without a word. One is enough to block the host.
    run_in(&netns, &["tcp", &address]).says(0, "connected");
    let blocked = run_in(&netns, &["mysql", &login]);
    blocked.says(1, &format!("1129 Host '{}' is blocked because of many connection errors", netns.inner_ip));
    db.sql("FLUSH HOSTS");
    let before = db.log_text().lines().count();

    for _ in 0..5 {
        let ping = run_in(&netns, &["mysql", "--ping", &format!("mysql://{address}")]);
        let line = ping.says(0, "alive: MariaDB 10");
        assert!(
            line.contains(&format!("1045 (28000) Access denied for user 'root'@'{}'", netns.inner_ip)),
            "{line}"
        );
    }
    run_in(&netns, &["mysql", &login]).says(0, "logged in as app to shop");
    // With credentials, --ping logs in, pings and quits.
    run_in(&netns, &["mysql", "--ping", &login]).says(0, "alive: logged in as app to shop");
    let log = db.log_text();
    let since: Vec<&str> = log.lines().skip(before).collect();
    assert!(since.iter().all(|line| !line.contains("Aborted")), "{log}");
    let denied = since.iter().filter(|line| line.contains("Access denied")).count();
    assert_eq!(denied, 5, "one line per refused ping:\n{log}");
}

/// A way of probing, by name, and one probe.
type Way<'a> = (&'a str, Box<dyn Fn() + 'a>);

/// How many lines of the error log (log_warnings=2, MariaDB's default) each way of probing
/// leaves after 100 probes. Printed for the README; asserted where the spec promises.
#[test]
fn what_each_mode_leaves_in_the_error_log() {
    let pki = Pki::new();
    let pair = pki.issue("server", &["localhost", "127.0.0.1"]);
    let db = Mariadb::with(Options { tls: Some((&pair, &pki.ca)), ..Options::default() });
    // root@127.0.0.1 has no password after mariadb-install-db: ping as a user that does not
    // exist, as mariadb-admin below.
    let ping_url = format!("mysql://nobody@127.0.0.1:{}", db.port());
    let admin = |extra: &[&str]| {
        let mut command = Command::new("mariadb-admin");
        command
            .args(["--no-defaults", "-h", "127.0.0.1", "-P", &db.port().to_string()])
            .args(extra)
            .arg("ping");
        command.stdout(Stdio::null()).stderr(Stdio::null());
        command
    };
    let app_password = format!("-p{APP_PASSWORD}");
    let modes: Vec<Way<'_>> = vec![
        (
            "probe mysql (login, COM_PING, COM_QUIT)",
            Box::new(|| assert_eq!(run(["mysql", &db.app_url()]).code, 0)),
        ),
        (
            "probe mysql ssl-mode=DISABLED",
            Box::new(|| assert_eq!(run(["mysql", &format!("{}?ssl-mode=DISABLED", db.app_url())]).code, 0)),
        ),
        (
            "probe mysql --query 'SELECT 1'",
            Box::new(|| assert_eq!(run(["mysql", &db.app_url(), "--query", "SELECT 1"]).code, 0)),
        ),
        (
            "probe mysql --ping (no credentials)",
            Box::new(|| assert_eq!(run(["mysql", "--ping", &ping_url]).code, 0)),
        ),
        ("probe tcp", Box::new(|| assert_eq!(run(["tcp", &format!("127.0.0.1:{}", db.port())]).code, 0))),
        (
            "mariadb-admin ping (no credentials)",
            Box::new(|| assert!(admin(&["-u", "nobody"]).status().unwrap().success())),
        ),
        (
            "mariadb-admin ping (app's credentials)",
            Box::new(|| assert!(admin(&["-u", APP_USER, &app_password]).status().unwrap().success())),
        ),
    ];
    let mut table = Vec::new();
    for (name, probe_once) in &modes {
        let before = db.log_text().lines().count();
        for _ in 0..100 {
            probe_once();
        }
        thread::sleep(Duration::from_millis(200));
        let text = db.log_text();
        let added: Vec<&str> = text.lines().skip(before).collect();
        let aborted = added.iter().filter(|line| line.contains("Aborted")).count();
        let denied = added.iter().filter(|line| line.contains("Access denied")).count();
        eprintln!("{name}: {} lines ({denied} Access denied, {aborted} Aborted)", added.len());
        table.push((*name, added.len(), denied, aborted));
    }
    assert_eq!(table[0].1, 0, "a full check leaves nothing: {table:?}");
    assert_eq!(table[1].1, 0, "{table:?}");
    assert_eq!(table[2].1, 0, "{table:?}");
    assert_eq!(
        (table[3].1, table[3].2, table[3].3),
        (100, 100, 0),
        "--ping: one Access denied each: {table:?}"
    );
    assert_eq!(table[5].2, 100, "mariadb-admin ping logs the same: {table:?}");
}

/// hostile.rs's fault matrix, for mysql: each fault ends unreachable within the deadline,
/// naming the fault.
#[test]
fn hostile_peers_are_unreachable_within_the_deadline() {
    let verdict = |target: String, expected: &str| {
        let result = run(["mysql", "-t", "500ms", &target]);
        let line = result.code(2).within(Duration::from_millis(500) + MARGIN).stderr_line().to_owned();
        assert!(line.contains(expected), "expected {expected:?} in {line:?}");
    };
    let silent = sockets::scripted(Script::Silent);
    verdict(format!("mysql://{silent}"), ": unreachable: timed out after 500ms during greeting (");
    let http = sockets::answering(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
    verdict(format!("mysql://{http}"), ": unreachable: the answer is not MySQL's protocol: ");
    verdict(
        format!("mysql://{http}?ssl-mode=REQUIRED"),
        ": unreachable: the answer is not MySQL's protocol: ",
    );
    let garbage = sockets::scripted(Script::Say(b"\x00\x01\x02\xffSSH-2.0-OpenSSH_9.2 garbage\r\n\r\n"));
    verdict(format!("mysql://{garbage}"), "not MySQL's protocol: a packet out of sequence");
    // A header claiming the largest packet: refused at once, not read.
    let huge = sockets::answering(b"\xff\xff\xff\x00\x0a");
    verdict(format!("mysql://{huge}"), "not MySQL's protocol: a packet larger than 1024 KiB");
    // A greeting cut short, then silence; the same trickled a byte at a time.
    let half = sockets::scripted(Script::Say(b"\x4a\x00\x00\x00\x0a5.5.5-10.11"));
    verdict(format!("mysql://{half}"), ": unreachable: timed out after 500ms during greeting (");
    let trickle = sockets::scripted(Script::Trickle(
        b"\x4a\x00\x00\x00\x0a5.5.5-10.11.6-MariaDB",
        Duration::from_millis(100),
    ));
    verdict(format!("mysql://{trickle}"), ": unreachable: timed out after 500ms during greeting (");
    let reset = sockets::scripted(Script::Reset);
    verdict(format!("mysql://{reset}"), ": unreachable: connection reset by peer (");
    // A TLS server waits for a ClientHello, as a MySQL client waits for the greeting.
    let pki = Pki::new();
    let pair = pki.issue("server", &["127.0.0.1"]);
    let tls = crate::support::http::serve_tls(crate::support::certs::server_config(&pair, None), |_, out| {
        crate::support::http::respond(out, "200 OK", &[], "ok")
    });
    verdict(format!("mysql://{}", tls.addr), ": unreachable: timed out after 500ms during greeting (");
    let hole = sockets::black_hole();
    verdict(format!("mysql://{}", hole.addr), ": unreachable: timed out after 500ms during connect (");
    let refused = sockets::refusing();
    verdict(format!("mysql://{}", refused.addr), ": unreachable: connection refused (");
}

#[test]
fn usage_errors_say_what_is_wrong_in_one_line() {
    let bad = run(["mysql", "mysql://app:s3cret-Pw@db:0/shop"]);
    bad.says(3, "'mysql://…': '0' is not a port");
    bad.hides("s3cret-Pw");
    run(["mysql", "postgres://db"]).says(3, "not a mysql:// or mariadb:// URL");
    run(["mysql", "mysql://db?sslmode=require"]).says(3, "'sslmode' is not a connection parameter");
    run(["mysql", "mysql://db?ssl-mode=on"]).says(3, "ssl-mode 'on' is none of");
    run(["mysql", "--ping", "--query", "SELECT 1", "mysql://db"]).says(3, "cannot be used with");
}

// ---- MySQL 8's caching_sha2_password, replayed by a scripted server ----

/// The greeting of MySQL 8.0 with caching_sha2_password as its default plugin (the layout of
/// "Protocol::HandshakeV10"; capabilities as MySQL 8.0.36 sends them, less SSL when `tls` is
/// false).
fn mysql8_greeting(nonce: &[u8; 20], tls: bool) -> Vec<u8> {
    let mut g = vec![10];
    g.extend_from_slice(b"8.0.36\0");
    g.extend_from_slice(&7u32.to_le_bytes());
    g.extend_from_slice(&nonce[..8]);
    g.push(0);
    // Everything MySQL 8 offers; CLIENT_SSL (0x800) only when it has a certificate.
    let capabilities: u32 = if tls { 0xdfff_ffff } else { 0xdfff_f7ff };
    g.extend_from_slice(&(capabilities as u16).to_le_bytes());
    g.push(255);
    g.extend_from_slice(&2u16.to_le_bytes());
    g.extend_from_slice(&((capabilities >> 16) as u16).to_le_bytes());
    g.push(21);
    g.extend_from_slice(&[0; 10]);
    g.extend_from_slice(&nonce[8..]);
    g.push(0);
    g.extend_from_slice(b"caching_sha2_password\0");
    g
}

fn send(stream: &mut impl Write, seq: u8, payload: &[u8]) {
    let mut packet = (payload.len() as u32).to_le_bytes()[..3].to_vec();
    packet.push(seq);
    packet.extend_from_slice(payload);
    stream.write_all(&packet).unwrap();
}

fn receive(stream: &mut impl Read) -> (u8, Vec<u8>) {
    let mut header = [0u8; 4];
    stream.read_exact(&mut header).unwrap();
    let length = usize::from(header[0]) | usize::from(header[1]) << 8 | usize::from(header[2]) << 16;
    let mut payload = vec![0; length];
    stream.read_exact(&mut payload).unwrap();
    (header[3], payload)
}

/// The scramble the server checks ("caching_sha2_password information"):
/// SHA256(pw) XOR SHA256(SHA256(SHA256(pw)) + nonce).
fn sha2_scramble(password: &[u8], nonce: &[u8]) -> Vec<u8> {
    use ring::digest::{SHA256, digest};
    let stage1 = digest(&SHA256, password);
    let stage2 = digest(&SHA256, stage1.as_ref());
    let mask = digest(&SHA256, &[stage2.as_ref(), nonce].concat());
    stage1.as_ref().iter().zip(mask.as_ref()).map(|(a, b)| a ^ b).collect()
}

const OK: &[u8] = &[0, 0, 0, 2, 0, 0, 0];
const SHA2_PASSWORD: &str = "sha2-Secret-77";

/// One connection of the scripted MySQL 8: greeting, the login's scramble checked, then the
/// fast path (0x03, OK) or the full path (0x04, then the password in clear, or an ERR when it
/// is not sent), then COM_PING and COM_QUIT. Returns what the client sent after 0x04.
fn mysql8_session(stream: &mut (impl Read + Write), full: bool) -> Option<Vec<u8>> {
    let nonce = *b"0123456789abcdefghij";
    send(stream, 0, &mysql8_greeting(&nonce, false));
    mysql8_login(stream, &nonce, 1, full)
}

/// The same over TLS: the greeting offers it, the client's SSLRequest (sequence 1) starts the
/// TLS handshake, and the login continues inside it from sequence 2.
fn mysql8_tls_session(stream: TcpStream, config: std::sync::Arc<rustls::ServerConfig>) -> Option<Vec<u8>> {
    let mut stream = stream;
    let nonce = *b"0123456789abcdefghij";
    send(&mut stream, 0, &mysql8_greeting(&nonce, true));
    let (seq, request) = receive(&mut stream);
    assert_eq!((seq, request.len()), (1, 32), "an SSLRequest");
    assert_ne!(u32::from_le_bytes(request[..4].try_into().unwrap()) & 0x800, 0, "CLIENT_SSL");
    let connection = rustls::ServerConnection::new(config).unwrap();
    let mut tls = rustls::StreamOwned::new(connection, stream);
    mysql8_login(&mut tls, &nonce, 2, true)
}

fn mysql8_login(
    stream: &mut (impl Read + Write),
    nonce: &[u8; 20],
    first: u8,
    full: bool,
) -> Option<Vec<u8>> {
    let (seq, response) = receive(stream);
    assert_eq!(seq, first);
    let expected = sha2_scramble(SHA2_PASSWORD.as_bytes(), nonce);
    let after_user = response[32..].iter().position(|&b| b == 0).unwrap() + 33;
    assert_eq!(usize::from(response[after_user]), expected.len());
    assert_eq!(&response[after_user + 1..after_user + 33], expected.as_slice(), "the fast-path scramble");
    assert!(response.ends_with(b"caching_sha2_password\0"));
    let mut sent = None;
    if full {
        send(stream, first + 1, &[1, 4]);
        let (seq, password) = receive(stream);
        assert_eq!(seq, first + 2);
        if password == [SHA2_PASSWORD.as_bytes(), &[0]].concat() {
            send(stream, first + 3, OK);
        } else {
            send(
                stream,
                first + 3,
                b"\xff\x15\x04#28000Access denied for user 'app'@'10.0.0.9' (using password: YES)",
            );
            return Some(password);
        }
        sent = Some(password);
    } else {
        send(stream, first + 1, &[1, 3]);
        send(stream, first + 2, OK);
    }
    let (seq, ping) = receive(stream);
    assert_eq!((seq, ping.as_slice()), (0, &[0x0e][..]), "COM_PING");
    send(stream, 1, OK);
    let (seq, quit) = receive(stream);
    assert_eq!((seq, quit.as_slice()), (0, &[0x01][..]), "COM_QUIT");
    sent
}

#[test]
fn caching_sha2_password_fast_path_from_a_scripted_mysql_8() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        mysql8_session(&mut stream, false)
    });
    let result = run(["mysql", &format!("mysql://app:{SHA2_PASSWORD}@{addr}/shop")]);
    result.says(0, "logged in as app to shop (MySQL 8.0.36)");
    result.hides(SHA2_PASSWORD);
    assert_eq!(server.join().unwrap(), None);
}

#[test]
fn caching_sha2_password_full_path_only_where_the_password_is_safe() {
    // Over plain TCP the password is never sent: probe answers with an empty one, which ends
    // the handshake with the server's ERR instead of a dropped connection.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = thread::spawn(move || {
        let (mut stream, _): (TcpStream, _) = listener.accept().unwrap();
        mysql8_session(&mut stream, true)
    });
    let result = run(["mysql", &format!("mysql://app:{SHA2_PASSWORD}@{addr}/shop")]);
    let line = result.says(1, "caching_sha2_password wants the password itself");
    assert!(
        line.contains("use ssl-mode=REQUIRED or the socket (the server answered 1045 (28000) Access denied"),
        "{line}"
    );
    result.hides(SHA2_PASSWORD);
    assert_eq!(server.join().unwrap(), Some(vec![0]), "an empty password, not the real one");

    // Over a unix socket it is sent in clear, as the mysql client does.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mysqld.sock");
    let listener = UnixListener::bind(&path).unwrap();
    let server = thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        mysql8_session(&mut stream, true)
    });
    let socket = path.to_str().unwrap().replace('/', "%2F");
    run(["mysql", &format!("mysql://app:{SHA2_PASSWORD}@{socket}/shop")])
        .says(0, "logged in as app to shop (MySQL 8.0.36)");
    assert_eq!(server.join().unwrap(), Some([SHA2_PASSWORD.as_bytes(), &[0]].concat()));
}

#[test]
fn caching_sha2_password_full_path_over_tls() {
    let pki = Pki::new();
    let pair = pki.issue("server", &["127.0.0.1"]);
    let config = crate::support::certs::server_config(&pair, None);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        mysql8_tls_session(stream, config)
    });
    let ca = pki.ca.to_str().unwrap();
    let result = run([
        "mysql",
        "-v",
        &format!("mysql://app:{SHA2_PASSWORD}@{addr}/shop?ssl-mode=VERIFY_IDENTITY&ssl-ca={ca}"),
    ]);
    let line = result.says(0, "logged in as app to shop (MySQL 8.0.36)");
    assert!(line.contains("tls "), "{line}");
    result.hides(SHA2_PASSWORD);
    assert_eq!(server.join().unwrap(), Some([SHA2_PASSWORD.as_bytes(), &[0]].concat()));
}

/// A column definition ("Protocol::ColumnDefinition41") named `name`, of a BIGINT.
fn column(name: &str) -> Vec<u8> {
    let mut def = Vec::new();
    for part in ["def", "", "", "", name, ""] {
        def.push(u8::try_from(part.len()).unwrap());
        def.extend_from_slice(part.as_bytes());
    }
    def.extend_from_slice(&[0x0c, 63, 0, 20, 0, 0, 0, 8, 0x81, 0, 0, 0, 0]);
    def
}

const EOF: &[u8] = &[0xfe, 0, 0, 2, 0];

/// MySQL 8's `super_read_only`, which MariaDB lacks: a scripted MySQL 8 logs probe in (fast
/// path), answers the role query with `read_only` and `super_read_only` as given, and expects
/// COM_QUIT. Returns the query probe sent.
fn mysql8_with_flags(
    read_only: &'static str,
    super_read_only: &'static str,
) -> (std::net::SocketAddr, thread::JoinHandle<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        send(&mut stream, 0, &mysql8_greeting(b"0123456789abcdefghij", false));
        receive(&mut stream);
        send(&mut stream, 2, &[1, 3]);
        send(&mut stream, 3, OK);
        let (seq, query) = receive(&mut stream);
        assert_eq!((seq, query[0]), (0, 0x03), "COM_QUERY");
        let row: Vec<u8> = [read_only, super_read_only]
            .iter()
            .flat_map(|v| [&[v.len() as u8][..], v.as_bytes()].concat())
            .collect();
        let packets: [&[u8]; 6] =
            [&[2], &column("@@global.read_only"), &column("@@global.super_read_only"), EOF, &row, EOF];
        for (index, payload) in packets.iter().enumerate() {
            send(&mut stream, u8::try_from(index + 1).unwrap(), payload);
        }
        let (seq, quit) = receive(&mut stream);
        assert_eq!((seq, quit.as_slice()), (0, &[0x01][..]), "COM_QUIT");
        String::from_utf8_lossy(&query[1..]).into_owned()
    });
    (addr, server)
}

#[test]
fn super_read_only_on_mysql_is_not_a_primary() {
    for (read_only, super_read_only, code, expected) in [
        ("0", "0", 0, "logged in as app to shop (MySQL 8.0.36), primary (writable) ("),
        ("0", "1", 1, "but super_read_only is ON: not a primary ("),
        ("1", "1", 1, "but read_only is ON: not a primary ("),
    ] {
        let (addr, server) = mysql8_with_flags(read_only, super_read_only);
        let url = format!("mysql://app:{SHA2_PASSWORD}@{addr}/shop");
        run(["mysql", "--expect-role", "primary", &url]).says(code, expected);
        assert_eq!(server.join().unwrap(), "SELECT @@global.read_only, @@global.super_read_only");
    }
}

/// Issue 25's forms against a real server: a '?' or '#' in a password is read only encoded (the
/// MySQL Shell refuses it unencoded, and so does probe, naming none of it); the socket forms
/// with query parameters; in text, -v, --json and --wait lines.
#[test]
fn every_secret_form_is_hidden_in_every_output() {
    let db = Mariadb::start();
    let port = db.port();
    db.sql("CREATE USER 'odd'@'%' IDENTIFIED BY 'Qx7?pw#Zk3'; CREATE USER 'odd'@'localhost' IDENTIFIED BY 'Qx7?pw#Zk3'");
    let encoded = format!("mysql://odd:Qx7%3Fpw%23Zk3@127.0.0.1:{port}");
    let socket = db.socket_str().to_owned();
    let in_parens = format!("mysql://{APP_USER}:{APP_PASSWORD}@({socket})/shop?ssl-mode=DISABLED");
    let encoded_socket =
        format!("mysql://{APP_USER}:{APP_PASSWORD}@{}/shop?ssl-mode=DISABLED", socket.replace('/', "%2F"));
    let socket_param =
        format!("mysql://{APP_USER}:{APP_PASSWORD}@localhost/shop?socket={socket}&ssl-mode=DISABLED");
    for target in [&encoded, &in_parens, &encoded_socket, &socket_param] {
        for flags in [&["-v"][..], &["--json"], &["-v", "--json"], &["--wait", "2s"]] {
            let result = probe().args(["mysql"]).args(flags).args([target]).run();
            result.code(0).hides("Qx7").hides("Zk3").hides(APP_PASSWORD);
        }
    }
    let line = run(["mysql", &in_parens]).says(0, "logged in as app to shop").to_owned();
    assert!(
        line.starts_with(&format!("mysql mysql://app:***@({socket})/shop?ssl-mode=DISABLED: ok: ")),
        "{line}"
    );
    let wrong_socket = format!("mysql://{APP_USER}:Qx7wrong@({socket})/shop?ssl-mode=DISABLED");
    for flags in [&["-v"][..], &["--json"], &["--wait", "300ms", "--interval", "100ms"]] {
        probe().args(["mysql"]).args(flags).args([&wrong_socket]).run().code(1).hides("Qx7");
    }
    for (target, expected) in [
        (
            format!("mysql://odd:Qx7?pw#Zk3@127.0.0.1:{port}/shop"),
            "'mysql://…': a '/', '?', '#', '[' or ']' in the user part",
        ),
        (
            format!("mysql://app:hunter?Qx7Zk3@127.0.0.1:{port}/shop"),
            "'mysql://…': a '/', '?', '#', '[' or ']' in the user part",
        ),
        (
            format!("mysql://app:p@ssQx7Zk3@127.0.0.1:{port}/shop"),
            "'mysql://…': an '@' after the user part's '@'",
        ),
        (
            format!("mysql://app:pa/ssQx7Zk3@127.0.0.1:{port}/shop"),
            "'mysql://…': an '@' comes after the host",
        ),
        (
            format!("mysql://app:Qx7Zk3@({socket})/shop?ssl-mode=bogus"),
            "'mysql://…': ssl-mode 'bogus' is none of",
        ),
        (
            format!("mysql://app:Qx7Zk3@localhost/shop?socket={socket}&Password=Qx7Zk3"),
            "'…' is not a connection parameter",
        ),
    ] {
        for json in [&[][..], &["--json"]] {
            let result = probe().args(["mysql"]).args(json).args([&target]).run();
            result.says(3, expected);
            result.hides("Qx7").hides("Zk3");
        }
    }
}

/// A peer whose error holds control characters (a CI workflow command, a terminal escape, a
/// NUL) instead of its greeting: quoted escaped, one line, in text and --json (valid JSON).
#[test]
fn a_server_error_with_control_characters_is_one_line() {
    let message = b"\n::error::injected\r\x1b[2J\0mysql x: ok";
    let payload = [&b"\xff\x10\x04"[..], message].concat();
    let packet = [&u32::try_from(payload.len()).unwrap().to_le_bytes()[..3], &[0], &payload].concat();
    let fake = sockets::answering(Box::leak(packet.into_boxed_slice()));
    let target = format!("mysql://app@{fake}");
    for (mode, code) in [(&["mysql"][..], 1), (&["mysql", "--ping"], 0)] {
        let text = probe().args(mode).args([&target]).run();
        let out = text.code(code).stdout.clone() + &text.stderr;
        assert_eq!(out.lines().count(), 1, "{text}");
        assert!(!out.trim_end().contains(['\r', '\x1b', '\0']), "{text}");
        assert!(out.contains("1040 \\n::error::injected\\r\\x1b[2J\\0mysql x: ok"), "{text}");
        let json = probe().args(mode).args(["--json"]).args([&target]).run();
        assert_eq!(json.stdout.lines().count(), 1, "{json}");
        let object: serde_json::Value = serde_json::from_str(json.stdout.trim_end()).expect(&json.stdout);
        assert!(object["message"].as_str().unwrap().contains("\\n::error::injected"), "{json}");
    }
}
