//! `probe mysql` against real MariaDB servers started by the tests: native and ed25519 logins
//! over TCP and the socket, server errors quoted with their numbers, every ssl-mode over TLS
//! with a generated CA, roles on a real replica, `--ping` from a non-loopback address with
//! max_connect_errors=1, what each mode leaves in the error log, hostile peers, and MySQL 8's
//! caching_sha2_password exchange replayed by a scripted server (no MySQL 8 can be installed).

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
    // REQUIRED against a server without TLS: refused before the password goes anywhere.
    let required = run(["mysql", &format!("{}?ssl-mode=REQUIRED", db.app_url())]);
    required.says(1, "ssl-mode=REQUIRED but the server (MariaDB 10");
    // The handshake was completed all the same (without the password): no aborted connection.
    thread::sleep(Duration::from_millis(100));
    let log = db.log_text();
    assert!(!log.contains("Aborted"), "{log}");
    assert!(log.contains("Access denied for user 'app'@'localhost' (using password: NO)"), "{log}");
}

#[test]
fn a_query_is_stopped_by_the_server_at_the_deadline() {
    let db = Mariadb::start();
    let started = Instant::now();
    let slow = run(["mysql", "-t", "700ms", &db.app_url(), "--query", "SELECT SLEEP(30)"]);
    assert!(slow.code == 1 || slow.code == 2, "{slow}");
    slow.within(Duration::from_millis(700) + MARGIN);
    // max_statement_time ends the statement on the server too, not only probe's wait.
    let until = Instant::now() + Duration::from_secs(3);
    loop {
        let running = db.sql(
            "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE 'SET STATEMENT%SLEEP(30)%'",
        );
        if running == "0" {
            break;
        }
        assert!(Instant::now() < until, "the query still runs on the server {:?} later", started.elapsed());
        thread::sleep(Duration::from_millis(50));
    }
    assert!(started.elapsed() < Duration::from_secs(3), "stopped only after {:?}", started.elapsed());
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
    bad.says(3, "'mysql://app:***@db:0/shop': '0' is not a port");
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
