//! `probe mqtt` against real Mosquitto brokers started here: anonymous access, a password file,
//! an ACL (which hides what it denies), a TLS listener (with client certificates); both protocol levels; --topic; peers that
//! are not MQTT; secrets in every output; and the broker's log, which must show each probe's
//! normal connect and DISCONNECT and no protocol or socket error.

use std::time::Duration;

use crate::support::{
    MARGIN,
    certs::Pki,
    in_every_output_mode,
    mosquitto::Mosquitto,
    run,
    sockets::{self, Script},
};

const PASSWORD: &str = "mqtt-Secret-42";

fn anonymous() -> Mosquitto {
    Mosquitto::start("allow_anonymous true", &[], None)
}

/// The log's lines that tell of a connection that did not end with DISCONNECT, or an error.
fn complaints(log: &str) -> Vec<&str> {
    log.lines()
        .filter(|line| {
            [
                "closed its connection",
                "Socket error",
                "protocol error",
                "Error",
                "OpenSSL",
                "exceeded timeout",
            ]
            .iter()
            .any(|word| line.contains(word))
        })
        .collect()
}

#[test]
fn an_anonymous_broker_accepts_both_protocol_levels_and_logs_a_normal_disconnect() {
    let broker = anonymous();
    let url = format!("mqtt://127.0.0.1:{}", broker.port());
    run(["mqtt", &url]).says(0, "CONNACK 0 (accepted), MQTT 3.1.1");
    run(["mqtt", "--protocol", "5", &url]).says(0, "CONNACK 0 (accepted), MQTT 5");
    run(["mqtt", &format!("tcp://127.0.0.1:{}", broker.port())]).says(0, "CONNACK 0");
    let verbose = run(["-v", "mqtt", &url]);
    verbose.says(0, "connack ");
    std::thread::sleep(Duration::from_millis(100));
    let log = broker.log();
    let connected: Vec<&str> = log.lines().filter(|line| line.contains("New client connected")).collect();
    assert_eq!(connected.len(), 4, "{log}");
    // Every probe had a client id of its own, and each one said DISCONNECT.
    for line in &connected {
        let id = line.split(" as ").nth(1).and_then(|rest| rest.split(' ').next()).expect("a client id");
        assert!(id.starts_with("probe-") && id.len() == 22, "{line}");
        assert!(log.contains(&format!("Client {id} disconnected.")), "{log}");
        assert!(log.contains(&format!("Received DISCONNECT from {id}")), "{log}");
    }
    assert!(connected.iter().any(|line| line.contains("(p2, c1, k60)")), "{log}");
    assert!(connected.iter().any(|line| line.contains("(p5, c1, k60)")), "{log}");
    assert_eq!(complaints(&log), Vec::<&str>::new(), "{log}");
}

#[test]
fn a_password_file_names_every_refusal() {
    let broker = Mosquitto::start("allow_anonymous false", &[("app", PASSWORD)], None);
    let port = broker.port();
    run(["mqtt", &format!("mqtt://app:{PASSWORD}@127.0.0.1:{port}")]).says(0, "CONNACK 0");
    run(["mqtt", &format!("mqtt://app:wrong@127.0.0.1:{port}")])
        .says(1, ": unhealthy: CONNACK 5 (not authorized)");
    run(["mqtt", &format!("mqtt://127.0.0.1:{port}")]).says(1, "CONNACK 5 (not authorized)");
    run(["mqtt", "--protocol", "5", &format!("mqtt://app:wrong@127.0.0.1:{port}")])
        .says(1, "CONNACK 0x87 (not authorized)");
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("password");
    std::fs::write(&file, PASSWORD).expect("write");
    run(["mqtt", "--password-file", file.to_str().unwrap(), &format!("mqtt://app@127.0.0.1:{port}")])
        .says(0, "CONNACK 0");
    // MQTT 3.1.1 sends no password without a user name: a usage error, not a silent drop.
    run(["mqtt", "--password-file", file.to_str().unwrap(), &format!("mqtt://127.0.0.1:{port}")])
        .code(3)
        .hides(PASSWORD);
    std::thread::sleep(Duration::from_millis(100));
    let log = broker.log();
    assert!(log.contains("disconnected, not authorised"), "{log}");
    assert_eq!(complaints(&log), Vec::<&str>::new(), "{log}");
}

#[test]
fn a_topic_waits_for_one_message_and_an_acl_hides_what_it_denies() {
    let acl = "user app\ntopic readwrite public/#\nuser admin\ntopic readwrite #\n";
    let broker =
        Mosquitto::start("allow_anonymous false", &[("app", PASSWORD), ("admin", PASSWORD)], Some(acl));
    for topic in ["public/status", "private/status"] {
        let status = std::process::Command::new("mosquitto_pub")
            .args(["-h", "127.0.0.1", "-p", &broker.port().to_string(), "-u", "admin", "-P", PASSWORD])
            .args(["-r", "-t", topic, "-m", "up"])
            .status()
            .expect("mosquitto_pub runs (mosquitto-clients)");
        assert!(status.success());
    }
    let open = anonymous();
    let url = format!("mqtt://127.0.0.1:{}", open.port());
    // Mosquitto keeps $SYS/broker/uptime retained: the message comes at once.
    let line = run(["-v", "mqtt", "--topic", "$SYS/broker/uptime", &url])
        .says(0, "a retained message on $SYS/broker/uptime")
        .to_owned();
    assert!(line.contains("subscribe ") && line.contains("message "), "{line}");
    run(["mqtt", &format!("{url}/$SYS/broker/version")]).says(0, "message on $SYS/broker/version");
    run(["mqtt", "--protocol", "5", "--topic", "$SYS/broker/uptime", &url]).says(0, "message on");
    // A topic nobody publishes on: unhealthy once the deadline is near, after DISCONNECT.
    let quiet = run(["mqtt", "-t", "700ms", "--topic", "nobody/publishes", &url]);
    quiet.says(1, "but no message came on nobody/publishes within the deadline");
    quiet.within(Duration::from_millis(700) + MARGIN);
    let authed = format!("mqtt://app:{PASSWORD}@127.0.0.1:{}", broker.port());
    run(["mqtt", "--topic", "public/status", &authed])
        .says(0, "a retained message on public/status (2 bytes)");
    // Mosquitto grants the subscription and filters what the ACL denies: no message comes.
    run(["mqtt", "-t", "700ms", "--topic", "private/status", &authed])
        .says(1, "but no message came on private/status");
    run(["mqtt", "-t", "700ms", "--topic", "a/#/b", &url]).code(3);
    std::thread::sleep(Duration::from_millis(100));
    for log in [open.log(), broker.log()] {
        assert_eq!(complaints(&log), Vec::<&str>::new(), "{log}");
    }
}

#[test]
fn a_tls_listener_with_and_without_client_certificates() {
    let pki = Pki::new();
    let cert = pki.issue("mosquitto", &["localhost", "127.0.0.1"]);
    let client = pki.issue("client", &["probe-client"]);
    let tls = |require: bool| {
        format!(
            "allow_anonymous true\ncafile {}\ncertfile {}\nkeyfile {}\nrequire_certificate {require}\n",
            pki.ca.display(),
            cert.cert.display(),
            cert.key.display()
        )
    };
    let ca = pki.ca.to_str().unwrap();
    let broker = Mosquitto::start(&tls(false), &[], None);
    let port = broker.port();
    run(["mqtt", "--cacert", ca, &format!("mqtts://127.0.0.1:{port}")]).says(0, "CONNACK 0");
    run(["mqtt", "--cacert", ca, &format!("ssl://localhost:{port}")]).says(0, "CONNACK 0");
    run(["mqtt", &format!("mqtts://127.0.0.1:{port}")]).says(2, ": unreachable: TLS");
    run(["mqtt", "-t", "800ms", &format!("mqtt://127.0.0.1:{port}")]).code(2);
    let mutual = Mosquitto::start(&tls(true), &[], None);
    let (cert, key) = (client.cert.to_str().unwrap(), client.key.to_str().unwrap());
    let url = format!("mqtts://127.0.0.1:{}", mutual.port());
    run(["mqtt", "--cacert", ca, "--cert", cert, "--key", key, &url]).says(0, "CONNACK 0");
    run(["mqtt", "-t", "800ms", "--cacert", ca, &url]).code(2);
    // A plain listener asked in TLS.
    let plain = anonymous();
    run(["mqtt", "-t", "800ms", &format!("mqtts://127.0.0.1:{}", plain.port())]).code(2);
    std::thread::sleep(Duration::from_millis(100));
    let log = broker.log();
    let healthy: Vec<&str> = log.lines().filter(|line| line.contains("New client connected")).collect();
    assert_eq!(healthy.len(), 2, "{log}");
    for line in healthy {
        let id = line.split(" as ").nth(1).and_then(|rest| rest.split(' ').next()).expect("a client id");
        assert!(log.contains(&format!("Client {id} disconnected.")), "{log}");
    }
}

#[test]
fn peers_that_are_not_mqtt_are_unreachable_within_the_deadline() {
    let limit = Duration::from_millis(800) + MARGIN;
    let http = sockets::scripted(Script::Say(b"HTTP/1.1 400 Bad Request\r\n\r\n"));
    run(["mqtt", "-t", "800ms", &format!("mqtt://{http}")]).says(2, "the answer is not MQTT (");
    let silent = sockets::scripted(Script::Silent);
    run(["mqtt", "-t", "800ms", &format!("mqtt://{silent}")]).code(2).within(limit);
    let reset = sockets::scripted(Script::Reset);
    run(["mqtt", "-t", "800ms", &format!("mqtt://{reset}")]).code(2).within(limit);
    let closing = sockets::accepting();
    run(["mqtt", "-t", "800ms", &format!("mqtt://{closing}")]).code(2).within(limit);
    let huge = sockets::scripted(Script::Say(&[0x20, 0xff, 0xff, 0xff, 0x7f, 0, 0]));
    run(["mqtt", "-t", "800ms", &format!("mqtt://{huge}")]).code(2).within(limit);
    let tls = sockets::scripted(Script::Say(&[0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x46]));
    run(["mqtt", "-t", "800ms", &format!("mqtt://{tls}")]).says(2, "the port speaks TLS (use mqtts://)");
    let wrong = sockets::scripted(Script::Say(&[0x90, 0x03, 0, 1, 0]));
    run(["mqtt", "-t", "800ms", &format!("mqtt://{wrong}")]).says(2, "where CONNACK (0x20) was expected");
}

fn audit(args: &[&str]) {
    for (_, result) in in_every_output_mode(args, &[]) {
        result.hides("Secret-42");
    }
}

#[test]
fn every_secret_form_is_hidden_in_every_output() {
    let broker = Mosquitto::start("allow_anonymous false", &[("app", PASSWORD)], None);
    let port = broker.port();
    for url in [
        format!("mqtt://app:{PASSWORD}@127.0.0.1:{port}"),
        format!("mqtt://app:x{PASSWORD}@127.0.0.1:{port}"),
        format!("tcp://app:{PASSWORD}@127.0.0.1:{port}/topic"),
        format!("mqtts://app:{PASSWORD}@127.0.0.1:{port}"),
        format!("mqtt://app:ab/{PASSWORD}@127.0.0.1:{port}"),
        format!("mqtt://app:{PASSWORD}@127.0.0.1:port"),
        format!("mqtt://app:{PASSWORD}@127.0.0.1:{port}?x=1"),
        format!("mqtt://:{PASSWORD}@127.0.0.1:{port}"),
    ] {
        audit(&["mqtt", "-t", "500ms", &url]);
    }
}
