//! `probe amqp` against a real RabbitMQ node (started once for the whole run): logins, vhosts,
//! refusals quoted, `--ping`, AMQPS with a CA and with a client certificate (EXTERNAL), what
//! the broker's log keeps of each mode, a resource alarm, and peers that are not brokers.

use std::{
    thread,
    time::{Duration, Instant},
};

use crate::support::{
    MARGIN, in_every_output_mode, probe,
    rabbitmq::{APP_PASSWORD, APP_USER, AT_PASSWORD, AT_USER, node},
    run,
    sockets::{self, Script},
};

fn path(path: &std::path::Path) -> &str {
    path.to_str().expect("a UTF-8 path")
}

#[test]
fn guest_on_the_default_vhost_is_healthy_and_the_phases_are_named() {
    let node = node();
    let _shared = node.shared();
    let url = node.url("guest:guest", "/");
    let result = run(["amqp", "-v", &url]);
    let line = result.says(0, ", logged in as guest to vhost / (");
    assert!(line.starts_with("amqp amqp://guest:***@127.0.0.1:"), "{line}");
    assert!(line.contains(": ok: RabbitMQ "), "{line}");
    for phase in ["resolve ", "connect ", "start ", "login ", "open ", "close "] {
        assert!(line.contains(phase), "{phase}: {line}");
    }
    result.hides(":guest@");
}

#[test]
fn the_target_comes_from_amqp_url_when_none_is_given() {
    let node = node();
    let _shared = node.shared();
    let result = probe().env("AMQP_URL", node.url("", "")).args(["amqp"]).run();
    result.says(0, ", logged in as guest to vhost / (");
    // No URL at all: AMQP_URL's default, here unset, is amqp://guest:guest@127.0.0.1:5672, which
    // a unit test checks; the machine's own broker on 5672 is never used.
}

#[test]
fn a_user_on_its_vhost_with_the_password_hidden() {
    let node = node();
    let _shared = node.shared();
    let url = node.url(&format!("{APP_USER}:{APP_PASSWORD}"), "/orders");
    let result = run(["amqp", "-v", "--json", &url]);
    result.code(0).hides(APP_PASSWORD);
    assert!(result.stdout.contains(r#""target":"amqp://app:***@127.0.0.1:"#), "{result}");
    assert!(result.stdout.contains(", logged in as app to vhost orders"), "{result}");
    // A vhost with a slash in it, written %2F, as the URI spec asks.
    let url = node.url(&format!("{APP_USER}:{APP_PASSWORD}"), "/team%2Fa");
    run(["amqp", &url]).says(0, ", logged in as app to vhost team/a (");
}

#[test]
fn empty_double_slash_and_encoded_slash_vhosts_are_the_default_one() {
    let node = node();
    let _shared = node.shared();
    for path in ["", "/", "//", "/%2F", "/%2f"] {
        let url = node.url("guest:guest", path);
        run(["amqp", &url]).says(0, ", logged in as guest to vhost / (");
    }
    let url =
        format!("{}?auth_mechanism=amqplain&heartbeat=5&channel_max=10&frame_max=8192", node.url("", "/"));
    run(["amqp", &url]).says(0, ", logged in as guest to vhost / (");
}

#[test]
fn a_wrong_password_is_refused_and_quoted() {
    let node = node();
    let _shared = node.shared();
    let url = node.url(&format!("{APP_USER}:not-{APP_PASSWORD}"), "/orders");
    let result = run(["amqp", "-v", &url]);
    result.says(
        1,
        ": unhealthy: 403 ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN. \
         For details see the broker logfile. (",
    );
    result.hides(APP_PASSWORD);
}

#[test]
fn an_unknown_vhost_and_one_without_permission_are_unhealthy() {
    let node = node();
    let _shared = node.shared();
    let url = node.url(&format!("{APP_USER}:{APP_PASSWORD}"), "/nope");
    run(["amqp", &url]).says(1, ": unhealthy: 530 NOT_ALLOWED - vhost nope not found (");
    let url = node.url(&format!("{APP_USER}:{APP_PASSWORD}"), "/locked");
    run(["amqp", &url])
        .says(1, ": unhealthy: 530 NOT_ALLOWED - access to vhost 'locked' refused for user 'app' (");
}

#[test]
fn ping_needs_no_credentials() {
    let node = node();
    let _shared = node.shared();
    let url = node.url("nobody:wrong", "/nope");
    let result = run(["amqp", "--ping", "-v", &url]);
    let line = result.says(0, " accepting connections (");
    assert!(line.contains(": ok: RabbitMQ ") && line.contains("start "), "{line}");
    assert!(!line.contains("login "), "{line}");
}

#[test]
fn amqps_with_the_ca_and_without() {
    let node = node();
    let _shared = node.shared();
    let ca = path(&node.pki.ca);
    let url = node.tls_url("/");
    let result = run(["amqp", "-v", "--cacert", ca, &url]);
    let line = result.says(0, ", logged in as guest to vhost / (");
    assert!(line.contains("tls "), "{line}");
    run(["amqp", &url]).says(2, ": unreachable: TLS: certificate not trusted (unknown issuer) (");
    run(["amqp", "--insecure", &url]).says(0, ", logged in as guest to vhost / (");
    run(["amqp", &format!("{url}?cacertfile={ca}")]).says(0, ", logged in as guest to vhost / (");
    run(["amqp", &format!("{url}?verify=verify_none")]).says(0, ", logged in as guest to vhost / (");
    // SSL_CERT_FILE stands in for --cacert, as with curl.
    let result = probe().env("SSL_CERT_FILE", ca).args(["amqp", &url]).run();
    result.says(0, ", logged in as guest to vhost / (");
    // The certificate names localhost, not another name sent for it.
    let result = run(["amqp", "--cacert", ca, &format!("{url}?server_name_indication=rabbit.example")]);
    result.says(2, ": unreachable: TLS: certificate is not valid for this host name (");
}

#[test]
fn amqps_with_a_client_certificate_logs_in_with_external() {
    let node = node();
    let _shared = node.shared();
    let (ca, cert, key) = (path(&node.pki.ca), path(&node.client.cert), path(&node.client.key));
    let url = node.tls_url("/?auth_mechanism=external");
    let result = run(["amqp", "--cacert", ca, "--cert", cert, "--key", key, &url]);
    result.says(0, ", logged in with the client certificate to vhost / (");
    let in_url = format!("{url}&cacertfile={ca}&certfile={cert}&keyfile={key}");
    run(["amqp", &in_url]).says(0, ", logged in with the client certificate to vhost / (");
    // A client certificate with PLAIN still logs in with the password.
    let url = node.tls_url("/");
    run(["amqp", "--cacert", ca, "--cert", cert, "--key", key, &url]).says(0, "logged in as guest");
    // EXTERNAL without a certificate cannot be tried.
    let result = run(["amqp", "--cacert", ca, &node.tls_url("/?auth_mechanism=external")]);
    result.says(3, "auth_mechanism=external needs a client certificate");
}

#[test]
fn usage_errors_are_one_line_and_hide_the_password() {
    let cases = [
        ("amqp://u:hunter2@h/?heartbeet=5", "unknown query parameter 'heartbeet'"),
        ("amqp://u:hunter2@h/a/b", "write it as 'a%2Fb'"),
        ("amqp://u:hunter2@h:0/", "'0' is not a port"),
        ("amqp://u:hunter2@h/?cacertfile=/ca.pem", "cacertfile is a TLS setting: use an amqps:// URL"),
        ("amqp://u:hunter2@h/?auth_mechanism=external", "needs TLS with a client certificate"),
        ("amqps://u:hunter2@h/?keyfile=/k&password=hunter2", "not supported"),
        ("redis://u:hunter2@h/", "'redis://' is not an AMQP scheme"),
    ];
    for (url, expected) in cases {
        let result = run(["amqp", url]);
        let line = result.says(3, expected);
        // A refused URL is named by its scheme; one refused for its TLS settings, by its label.
        assert!(
            ["'amqp://…': ", "'redis://…': ", "'amqps://…': ", "'amqp://u:***@h/?auth_mechanism=external': "]
                .iter()
                .any(|name| line.contains(name)),
            "{line}"
        );
        result.hides("hunter2");
    }
    let result = run(["amqp", "--cacert", "/nonexistent/ca.pem", "amqps://h/"]);
    result.says(3, "/nonexistent/ca.pem");
}

/// What each mode leaves in the broker's log at default settings, measured over N probes: a full
/// check three info lines (accepting, authenticated, closing), `--ping` one info line and one
/// warning (RabbitMQ's "client unexpectedly closed TCP connection", printed over two lines).
#[test]
fn the_broker_log_keeps_info_lines_for_a_check_and_one_warning_for_a_ping() {
    const N: usize = 20;
    let node = node();
    let _alone = node.exclusive();
    let url = node.url("guest:guest", "/");
    // RabbitMQ's log handler writes lines up to a few seconds late: wait until the log has been
    // still for longer than that, before and after.
    let settled = || -> Vec<String> {
        let (mut last, mut since) = (node.log_text(), Instant::now());
        while since.elapsed() < Duration::from_secs(3) {
            thread::sleep(Duration::from_millis(100));
            let now = node.log_text();
            if now != last {
                (last, since) = (now, Instant::now());
            }
        }
        last.lines().map(str::to_owned).collect()
    };
    let new_lines = |run_them: &dyn Fn()| -> Vec<String> {
        let before = settled().len();
        run_them();
        settled().split_off(before)
    };
    let count = |lines: &[String], level: &str, text: &str| {
        lines.iter().filter(|line| line.contains(&format!("[{level}]")) && line.contains(text)).count()
    };

    let checks = new_lines(&|| {
        for _ in 0..N {
            run(["amqp", &url]).code(0);
        }
    });
    assert_eq!(count(&checks, "info", "accepting AMQP connection"), N, "{checks:#?}");
    assert_eq!(count(&checks, "info", "authenticated and granted access to vhost '/'"), N, "{checks:#?}");
    assert_eq!(count(&checks, "info", "closing AMQP connection"), N, "{checks:#?}");
    assert_eq!(checks.len(), 3 * N, "nothing else: {checks:#?}");

    let pings = new_lines(&|| {
        for _ in 0..N {
            run(["amqp", "--ping", &url]).code(0);
        }
    });
    assert_eq!(count(&pings, "info", "accepting AMQP connection"), N, "{pings:#?}");
    assert_eq!(count(&pings, "warning", "closing AMQP connection"), N, "{pings:#?}");
    assert_eq!(count(&pings, "warning", "client unexpectedly closed TCP connection"), N, "{pings:#?}");
    assert_eq!(pings.len(), 3 * N, "nothing else: {pings:#?}");
    assert!(!pings.iter().any(|line| line.contains("[error]")), "{pings:#?}");
}

/// RabbitMQ blocks only connections that publish (rabbit_reader's should_block), and probe never
/// publishes: under a memory alarm the handshake completes and the broker stays healthy, as it
/// should, since consumers are what clear the alarm.
#[test]
fn a_memory_alarm_leaves_the_broker_healthy() {
    let node = node();
    let _alone = node.exclusive();
    node.ctl(&["set_vm_memory_high_watermark", "0.0001"]);
    let until = Instant::now() + Duration::from_secs(20);
    while !node.log_text().contains("memory resource limit alarm set") {
        assert!(Instant::now() < until, "no alarm:\n{}", node.log_text());
        thread::sleep(Duration::from_millis(100));
    }
    let result = run(["amqp", &node.url("", "/")]);
    node.ctl(&["set_vm_memory_high_watermark", "0.4"]);
    while !node.log_text().contains("memory resource limit alarm cleared") {
        assert!(Instant::now() < until, "the alarm stays:\n{}", node.log_text());
        thread::sleep(Duration::from_millis(100));
    }
    result.says(0, ", logged in as guest to vhost / (");
}

const DEADLINE: Duration = Duration::from_millis(500);

#[track_caller]
fn assert_fault(url: &str, code: i32, expected: &str) {
    let result = run(["amqp", "-t", "500ms", url]);
    result.within(DEADLINE + MARGIN).says(code, expected);
}

#[test]
fn peers_that_are_not_brokers() {
    let silent = sockets::scripted(Script::Silent);
    assert_fault(&format!("amqp://{silent}/"), 2, ": unreachable: timed out after 500ms during start (");
    let garbage = sockets::scripted(Script::Say(b"\x00\x01\x02\xffSSH-2.0-OpenSSH_9.2 garbage\r\n"));
    assert_fault(
        &format!("amqp://{garbage}/"),
        2,
        ": unreachable: the answer is not AMQP 0-9-1 (frame type 0) (",
    );
    let http = sockets::scripted(Script::Say(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n"));
    assert_fault(
        &format!("amqp://{http}/"),
        2,
        ": unreachable: the answer is not AMQP 0-9-1 (frame type 72) (",
    );
    let amqp10 = sockets::scripted(Script::Say(b"AMQP\x00\x01\x00\x00"));
    assert_fault(
        &format!("amqp://{amqp10}/"),
        2,
        ": unreachable: the broker speaks AMQP 1.0, not AMQP 0-9-1 (its protocol header: AMQP 0-1-0-0) (",
    );
    // A peer that sends back what it is sent: not a broker of the same version refusing it.
    let echo = sockets::scripted(Script::Say(b"AMQP\x00\x00\x09\x01"));
    assert_fault(
        &format!("amqp://{echo}/"),
        2,
        ": unreachable: the peer sent back the protocol header it was sent (AMQP 0-0-9-1) instead of \
         Connection.Start: an echo, not an AMQP broker (",
    );
    let reset = sockets::scripted(Script::Reset);
    assert_fault(&format!("amqp://{reset}/"), 2, ": unreachable: connection reset by peer (");
    assert_fault(&format!("amqps://{reset}/"), 2, ": unreachable: connection reset by peer (");
    let hole = sockets::black_hole();
    assert_fault(
        &format!("amqp://{}/", hole.addr),
        2,
        ": unreachable: timed out after 500ms during connect (",
    );
    let refusing = sockets::refusing();
    assert_fault(&format!("amqp://{}/", refusing.addr), 2, ": unreachable: connection refused (");
}

#[test]
fn a_cut_off_start_a_trickle_and_a_huge_frame() {
    // A method frame header announcing 100 bytes, then nothing more.
    let cut = sockets::scripted(Script::Say(b"\x01\x00\x00\x00\x00\x00\x64\x00\x0a"));
    assert_fault(&format!("amqp://{cut}/"), 2, ": unreachable: timed out after 500ms during start (");
    let trickle = sockets::scripted(Script::Trickle(
        b"\x01\x00\x00\x00\x00\x00\x64\x00\x0a\x00\x0a",
        Duration::from_millis(100),
    ));
    assert_fault(&format!("amqp://{trickle}/"), 2, ": unreachable: timed out after 500ms during start (");
    let huge = sockets::scripted(Script::Say(b"\x01\x00\x00\x7f\xff\xff\xff"));
    assert_fault(
        &format!("amqp://{huge}/"),
        2,
        "the answer is not AMQP 0-9-1 (a frame of 2147483647 bytes) (",
    );
}

#[test]
fn tls_and_plain_text_mixed_up() {
    let node = node();
    let _shared = node.shared();
    // RabbitMQ answers a TLS ClientHello on its plain port with its protocol header.
    let plain_as_tls = format!("amqps://localhost:{}/", node.port);
    run(["amqp", "--insecure", &plain_as_tls])
        .says(2, ": unreachable: the answer is not TLS: the port speaks plain text (use amqp://) (");
    run(["amqp", "--cacert", path(&node.pki.ca), &plain_as_tls])
        .says(2, ": unreachable: the answer is not TLS: the port speaks plain text (use amqp://) (");
    // And its TLS port answers the protocol header with a TLS alert.
    let tls_as_plain = format!("amqp://127.0.0.1:{}/", node.tls_port);
    run(["amqp", &tls_as_plain])
        .says(2, ": unreachable: the answer is TLS, not AMQP 0-9-1: the port speaks TLS (use amqps://) (");
}

/// A connection method frame on channel 0 (AMQP 0-9-1 §4.2.3), as a fake broker sends it.
fn method(method: u16, arguments: &[u8]) -> Vec<u8> {
    let mut payload = vec![0, 10];
    payload.extend_from_slice(&method.to_be_bytes());
    payload.extend_from_slice(arguments);
    let mut frame = vec![1, 0, 0];
    frame.extend_from_slice(&u32::try_from(payload.len()).unwrap().to_be_bytes());
    frame.extend_from_slice(&payload);
    frame.push(0xCE);
    frame
}

fn long_string(bytes: &[u8]) -> Vec<u8> {
    let mut out = u32::try_from(bytes.len()).unwrap().to_be_bytes().to_vec();
    out.extend_from_slice(bytes);
    out
}

/// Connection.Start from a broker naming itself `product` and offering `mechanisms`.
fn start(product: &[u8], mechanisms: &[u8]) -> Vec<u8> {
    let mut table = vec![7];
    table.extend_from_slice(b"product");
    table.push(b'S');
    table.extend(long_string(product));
    let mut arguments = vec![0, 9];
    arguments.extend(long_string(&table));
    arguments.extend(long_string(mechanisms));
    arguments.extend(long_string(b"en_US"));
    method(10, &arguments)
}

/// Connection.Close with `text`.
fn close(code: u16, text: &[u8]) -> Vec<u8> {
    let mut arguments = code.to_be_bytes().to_vec();
    arguments.push(u8::try_from(text.len()).unwrap());
    arguments.extend_from_slice(text);
    arguments.extend_from_slice(&[0, 10, 0, 11]);
    method(50, &arguments)
}

/// A fake broker that answers the protocol header with `frames`, all at once.
fn fake(frames: Vec<u8>) -> std::net::SocketAddr {
    sockets::scripted(Script::Say(Box::leak(frames.into_boxed_slice())))
}

/// The run's one line has no raw control character, and its JSON is valid with that message.
#[track_caller]
fn one_clean_line(args: &[&str], code: i32, message: &str) {
    let text = run(args);
    let line = text.says(code, message);
    assert!(!line.contains(['\r', '\x1b', '\0']), "{text}");
    let json = probe().args(["--json"]).args(args).run();
    let object: serde_json::Value = serde_json::from_str(json.code(code).stdout_line()).expect("JSON");
    assert!(object["message"].as_str().expect("a message").starts_with(message), "{json}");
}

#[test]
fn what_a_broker_says_is_quoted_escaped_on_one_line() {
    let hostile = b"Rabbit\n::error::injected\r\x1b[2J\0";
    let broker = fake(start(hostile, b"PLAIN"));
    one_clean_line(
        &["amqp", "--ping", "-t", "500ms", &format!("amqp://{broker}/")],
        0,
        "Rabbit\\n::error::injected\\r\\x1b[2J\\0 accepting connections",
    );
    let broker = fake(start(b"RabbitMQ", b"EVIL\nX\x1b"));
    one_clean_line(
        &["amqp", "-t", "500ms", &format!("amqp://{broker}/")],
        1,
        "the broker offers EVIL, X\\x1b, not PLAIN",
    );
    let mut frames = start(b"RabbitMQ", b"PLAIN");
    frames.extend(close(403, b"ACCESS_REFUSED\namqp amqp://h/: ok: fine\r\0"));
    let broker = fake(frames);
    one_clean_line(
        &["amqp", "-t", "500ms", &format!("amqp://{broker}/")],
        1,
        "403 ACCESS_REFUSED\\namqp amqp://h/: ok: fine\\r\\0",
    );
}

/// Runs one case in every output form and asserts no part of the secret appears in any.
#[track_caller]
fn audit(args: &[&str]) {
    for (_, result) in in_every_output_mode(args, &[]) {
        result.hides("secret-Qw7").hides("Zx9%40secret").hides("Zx9@secret");
    }
}

#[test]
fn every_secret_form_is_hidden_in_every_output() {
    let node = node();
    let _shared = node.shared();
    let encoded = AT_PASSWORD.replace('@', "%40");
    // An '@' in the password is read up to the last '@' before the host, as RFC 3986 readers do.
    for userinfo in [format!("{AT_USER}:{AT_PASSWORD}"), format!("{AT_USER}:{encoded}")] {
        let url = node.url(&userinfo, "/");
        let result = run(["amqp", &url]);
        assert!(
            result.says(0, ", logged in as at to vhost / (").starts_with("amqp amqp://at:***@127.0.0.1:")
        );
        audit(&["amqp", &url]);
    }
    let refusing = sockets::refusing();
    for url in [
        node.url(&format!("{AT_USER}:{AT_PASSWORD}x"), "/"),
        format!("amqps://{AT_USER}:{AT_PASSWORD}@localhost:{}/", node.port),
        format!("amqp://{AT_USER}:{AT_PASSWORD}@127.0.0.1:{}/", node.tls_port),
        format!("amqp://{AT_USER}:{AT_PASSWORD}@{}/", refusing.addr),
        format!("amqp://{AT_USER}:ab/{AT_PASSWORD}@127.0.0.1:{}/", node.port),
        format!("amqp://{AT_USER}:ab?{AT_PASSWORD}@127.0.0.1:{}/", node.port),
        format!("amqp://{AT_USER}:{AT_PASSWORD}#x@127.0.0.1:{}/", node.port),
        format!("amqp://{AT_USER}:%zz{AT_PASSWORD}@127.0.0.1:{}/", node.port),
        format!("amqp://{AT_USER}:{encoded}@127.0.0.1:0/"),
        format!("amqp://{AT_USER}:{encoded}"),
        format!("amqps://127.0.0.1:{}/?password={encoded}", node.tls_port),
        format!("amqp://127.0.0.1:{}/?{encoded}=1", node.port),
    ] {
        audit(&["amqp", "-t", "300ms", &url]);
    }
}
