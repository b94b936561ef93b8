//! `probe nats` against real nats-server instances started here: no authorization, users, a
//! token, NKEY users, `.creds` files under an operator (keys and JWTs the tests make), TLS (asked
//! by INFO and by tls://) and verified client certificates; server lists; peers that are not
//! NATS; secrets in every output; the server's log after the probes.

use std::{path::Path, time::Duration};

use crate::support::{
    MARGIN, OUTPUT_MODES,
    certs::Pki,
    in_every_output_mode,
    nats::{
        Nats,
        jwt::{self, NKey, Role},
    },
    probe, run,
    sockets::{self, Script},
};

const PASSWORD: &str = "nats-Secret-42";
const TOKEN: &str = "tok-Secret-42";
/// The user in NATS's documentation of NKEY authentication.
const SEED: &str = "SUACSSL3UAHUDXKFSNVUZRF5UHPMWZ6BFDTJ7M6USDXIEDNPPQYYYCU3VY";
const PUBLIC: &str = "UDXU4RCSJNZOIQHZNWXHXORDPRTGNJAHAHFRGZNEEJCPQTT2M7NLCNF4";

fn users() -> String {
    format!("authorization {{ users = [ {{user: app, password: \"{PASSWORD}\"}}, {{nkey: {PUBLIC}}} ] }}")
}

#[test]
fn a_server_without_authorization_answers_pong_and_its_log_shows_a_plain_close() {
    let nats = Nats::start("");
    let line = run(["nats", &nats.url()]).says(0, "PONG from ").to_owned();
    assert!(line.contains(", version "), "{line}");
    let verbose = run(["-v", "nats", &nats.url()]);
    verbose.says(0, "info ");
    assert!(verbose.stdout.contains("auth ") && verbose.stdout.contains("ping "), "{verbose}");
    // NATS_URL when no target is given; the default port is 4222, never this test's.
    probe().args(["nats"]).env("NATS_URL", nats.url()).run().says(0, "PONG");
    std::thread::sleep(Duration::from_millis(100));
    let log = nats.server.log_text();
    assert!(log.matches("Client connection closed: Client Closed").count() >= 3, "{log}");
    assert_eq!(nats.complaints(), Vec::<String>::new(), "{log}");
}

#[test]
fn users_and_passwords() {
    let nats = Nats::start(&users());
    let port = nats.port();
    run(["nats", &format!("nats://app:{PASSWORD}@127.0.0.1:{port}")]).says(0, "PONG");
    run(["nats", &format!("nats://app:wrong@127.0.0.1:{port}")])
        .says(1, ": unhealthy: Authorization Violation");
    run(["nats", &nats.url()]).says(1, "Authorization Violation");
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("password");
    std::fs::write(&file, format!("{PASSWORD}\n")).expect("write");
    run(["nats", "--password-file", file.to_str().unwrap(), &format!("nats://app@127.0.0.1:{port}")])
        .says(0, "PONG");
}

#[test]
fn a_token() {
    let nats = Nats::start(&format!("authorization {{ token: \"{TOKEN}\" }}"));
    let port = nats.port();
    run(["nats", &format!("nats://{TOKEN}@127.0.0.1:{port}")]).says(0, "PONG");
    let wrong = run(["nats", &format!("nats://x{TOKEN}@127.0.0.1:{port}")]);
    wrong.says(1, "Authorization Violation");
    wrong.hides(TOKEN);
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("token");
    std::fs::write(&file, TOKEN).expect("write");
    run(["nats", "--password-file", file.to_str().unwrap(), &nats.url()]).says(0, "PONG");
}

#[test]
fn nkey_users_sign_the_nonce() {
    let nats = Nats::start(&users());
    let dir = tempfile::tempdir().expect("temp dir");
    let seed = dir.path().join("user.nk");
    std::fs::write(&seed, format!("{SEED}\n")).expect("write");
    let seed = seed.to_str().unwrap();
    run(["nats", "--nkey", seed, &nats.url()]).says(0, "PONG");
    probe().args(["nats", &nats.url()]).env("NATS_NKEY", seed).run().says(0, "PONG");
    // A seed with a typo is a usage error that does not quote it.
    let typo = dir.path().join("typo.nk");
    std::fs::write(&typo, SEED.replace("SUAC", "SUAD")).expect("write");
    let result = run(["nats", "--nkey", typo.to_str().unwrap(), &nats.url()]);
    result.code(3).hides(&SEED[4..]);
    assert!(result.stderr.contains("checksum"), "{result}");
    // A server without NKEY users sends no nonce: said, not a mystery.
    let open = Nats::start("");
    run(["nats", "--nkey", seed, &open.url()]).says(1, "no nonce");
}

/// The server never sees a seed, and probe's reading of one is what is under test: the tests' own
/// NKEY encoding is checked against text the nkeys library wrote (`SEED`, `PUBLIC`).
#[test]
fn the_tests_encode_nkeys_as_the_nkeys_library_does() {
    let seed_inside_the_documented_seed = [
        0x29, 0x49, 0x7b, 0xa0, 0x0f, 0x41, 0xdd, 0x45, 0x93, 0x6b, 0x4c, 0xc4, 0xbd, 0xa1, 0xde, 0xcb, 0x67,
        0xc1, 0x28, 0xe6, 0x9f, 0xb3, 0xd4, 0x90, 0xee, 0x82, 0x0d, 0xaf, 0x7c, 0x31, 0x8c, 0x0a,
    ];
    let user = NKey::from_seed(Role::User, seed_inside_the_documented_seed);
    assert_eq!(user.seed(), SEED);
    assert_eq!(user.public(), PUBLIC);
}

/// A `.creds` file written into `dir`, its path as an argument.
fn creds_file(dir: &Path, name: &str, user_jwt: &str, seed: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, jwt::creds(user_jwt, seed)).expect("write");
    path.to_str().expect("a UTF-8 path").to_owned()
}

#[test]
fn a_creds_file_signs_in_to_a_server_in_operator_mode_and_only_its_jwt_and_signature_are_sent() {
    let dir = tempfile::tempdir().expect("temp dir");
    let operator = NKey::generate(Role::Operator);
    let account = NKey::generate(Role::Account);
    let user = NKey::generate(Role::User);
    // trace: the log shows each CONNECT as it came, the only witness of what went on the wire.
    let nats =
        Nats::start(&format!("{}\ntrace: true", jwt::operator_mode(&operator, &[&account], dir.path())));
    let user_jwt = jwt::user_jwt(&user, &account);
    let seed = user.seed();
    let creds = creds_file(dir.path(), "user.creds", &user_jwt, &seed);
    for (_, result) in in_every_output_mode(&["nats", "--creds", &creds, &nats.url()], &[]) {
        // probe holds the JWT as a secret too (nkey::creds): its signature part is this JWT's alone.
        result.code(0).hides(&seed[4..]).hides(user_jwt.rsplit('.').next().unwrap());
    }
    run(["nats", "--creds", &creds, &nats.url()]).says(0, "PONG from ");
    probe().args(["nats", &nats.url()]).env("NATS_CREDS", &creds).run().says(0, "PONG");
    std::thread::sleep(Duration::from_millis(100));
    let log = nats.server.log_text();
    let runs = OUTPUT_MODES.len() + 2;
    let signed_in = format!("Authenticated JWT: Client \"{}\"", user.public());
    assert_eq!(log.matches(&signed_in).count(), runs, "{log}");
    let connects: Vec<&str> = log.lines().filter(|line| line.contains("<<- [CONNECT {")).collect();
    assert_eq!(connects.len(), runs, "{log}");
    for connect in connects {
        assert!(
            connect.contains(&format!("\"jwt\":\"{user_jwt}\"")) && connect.contains("\"sig\":\""),
            "{connect}"
        );
        assert!(!connect.contains("\"nkey\"") && !connect.contains(&seed[4..]), "{connect}");
    }
    assert_eq!(nats.complaints(), Vec::<String>::new(), "{log}");
}

#[test]
fn a_creds_file_of_an_unknown_account_or_with_another_users_seed_is_an_authorization_violation() {
    let dir = tempfile::tempdir().expect("temp dir");
    let operator = NKey::generate(Role::Operator);
    let account = NKey::generate(Role::Account);
    let user = NKey::generate(Role::User);
    let nats = Nats::start(&jwt::operator_mode(&operator, &[&account], dir.path()));
    let stranger = NKey::generate(Role::Account);
    let impostor = NKey::generate(Role::User);
    // The server's debug line names why it refused: each case is refused for its own reason.
    for (name, user_jwt, seed, why) in [
        // A user signed by an account the server has no JWT for (none its operator signed).
        (
            "stranger.creds",
            jwt::user_jwt(&user, &stranger),
            user.seed(),
            "Account JWT lookup error: account missing",
        ),
        // A genuine user JWT with someone else's seed: the nonce's signature is not the user's.
        ("impostor.creds", jwt::user_jwt(&user, &account), impostor.seed(), "Signature not verified"),
    ] {
        let creds = creds_file(dir.path(), name, &user_jwt, &seed);
        run(["nats", "--creds", &creds, &nats.url()]).says(1, ": unhealthy: Authorization Violation");
        for (_, result) in in_every_output_mode(&["nats", "--creds", &creds, &nats.url()], &[]) {
            result.code(1).hides(&seed[4..]);
        }
        let log = nats.server.log_text();
        assert!(log.contains(why), "{why:?} not in\n{log}");
    }
}

#[test]
fn tls_when_info_asks_and_when_the_url_does_with_verified_client_certificates() {
    let pki = Pki::new();
    let cert = pki.issue("nats", &["localhost", "127.0.0.1"]);
    let client = pki.issue("client", &["probe-client"]);
    let tls = |verify: bool| {
        format!(
            "tls {{ cert_file: \"{}\", key_file: \"{}\", ca_file: \"{}\", verify: {verify} }}",
            cert.cert.display(),
            cert.key.display(),
            pki.ca.display()
        )
    };
    let ca = pki.ca.to_str().unwrap();
    let nats = Nats::start(&tls(false));
    let port = nats.port();
    run(["nats", "--cacert", ca, &nats.url()]).says(0, "over TLS");
    run(["nats", "--cacert", ca, &format!("tls://127.0.0.1:{port}")]).says(0, "over TLS");
    run(["nats", "--cacert", ca, &format!("tls://localhost:{port}")]).says(0, "over TLS");
    run(["nats", &nats.url()]).says(2, ": unreachable: TLS");
    run(["nats", "--insecure", &nats.url()]).says(0, "over TLS");
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(
        nats.complaints().iter().filter(|line| !line.contains("TLS handshake error")).count(),
        0,
        "{}",
        nats.server.log_text()
    );

    let mutual = Nats::start(&tls(true));
    let (cert, key) = (client.cert.to_str().unwrap(), client.key.to_str().unwrap());
    run(["nats", "--cacert", ca, "--cert", cert, "--key", key, &mutual.url()]).says(0, "over TLS");
    run(["-t", "1s", "nats", "--cacert", ca, &mutual.url()]).code(2);

    // tls:// to a server with no TLS.
    let plain = Nats::start("");
    run(["nats", &format!("tls://127.0.0.1:{}", plain.port())])
        .says(2, "the server offers no TLS (use nats://)");
}

#[test]
fn a_list_of_servers_is_healthy_when_one_is() {
    let nats = Nats::start("");
    let refusing = sockets::refusing();
    let list = format!("nats://{}, nats://127.0.0.1:{}", refusing.addr, nats.port());
    run(["nats", &list]).says(0, &format!("127.0.0.1:{}: PONG", nats.port()));
    let both_down = format!("nats://{},{}", refusing.addr, refusing.addr);
    run(["nats", &both_down]).says(2, "connection refused; ");
}

#[test]
fn peers_that_are_not_nats_are_unreachable_within_the_deadline() {
    let limit = Duration::from_millis(800) + MARGIN;
    let http = sockets::answering(b"HTTP/1.1 400 Bad Request\r\n\r\n");
    run(["nats", "-t", "800ms", &format!("nats://{http}")]).says(2, "the answer is not NATS (");
    let silent = sockets::scripted(Script::Silent);
    run(["nats", "-t", "800ms", &format!("nats://{silent}")]).code(2).within(limit);
    let reset = sockets::scripted(Script::Reset);
    run(["nats", "-t", "800ms", &format!("nats://{reset}")]).code(2).within(limit);
    let closing = sockets::accepting();
    run(["nats", "-t", "800ms", &format!("nats://{closing}")])
        .says(2, "connection closed by peer before INFO");
    let huge: &'static [u8] =
        Box::leak([b"INFO {\"a\":\"".to_vec(), vec![b'x'; 1 << 20]].concat().into_boxed_slice());
    let huge = sockets::answering(huge);
    run(["nats", "-t", "800ms", &format!("nats://{huge}")]).says(2, "a line longer than 64 KiB");
    let tls = sockets::answering(&[0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x46]);
    run(["nats", "-t", "800ms", &format!("nats://{tls}")]).says(2, "the port speaks TLS (use tls://)");
    let err_first = sockets::answering(b"-ERR 'maximum connections exceeded'\r\n");
    run(["nats", "-t", "800ms", &format!("nats://{err_first}")]).says(2, "maximum connections exceeded");
}

fn audit(args: &[&str], env: &[(&str, &str)]) {
    for (_, result) in in_every_output_mode(args, env) {
        result.hides("Secret-42").hides(&SEED[4..]);
    }
}

#[test]
fn every_secret_form_is_hidden_in_every_output() {
    let nats = Nats::start(&users());
    let port = nats.port();
    for url in [
        format!("nats://app:{PASSWORD}@127.0.0.1:{port}"),
        format!("nats://app:x{PASSWORD}@127.0.0.1:{port}"),
        format!("nats://{TOKEN}@127.0.0.1:{port}"),
        format!("nats://127.0.0.1:1,app:{PASSWORD}@127.0.0.1:{port}"),
        format!("tls://{TOKEN}@127.0.0.1:{port}"),
        format!("nats://app:{PASSWORD}@127.0.0.1:{port}/x"),
        format!("nats://app:ab/{PASSWORD}@127.0.0.1:{port}"),
        format!("nats://app:{PASSWORD}@127.0.0.1:port"),
        format!("http://app:{PASSWORD}@127.0.0.1:{port}"),
    ] {
        audit(&["nats", "-t", "500ms", &url], &[]);
    }
    audit(&["nats", "-t", "500ms"], &[("NATS_URL", &format!("nats://app:{PASSWORD}@127.0.0.1:{port}"))]);
    let dir = tempfile::tempdir().expect("temp dir");
    let seed = dir.path().join("user.nk");
    std::fs::write(&seed, SEED).expect("write");
    audit(&["nats", "--nkey", seed.to_str().unwrap(), &nats.url()], &[]);
    let broken = dir.path().join("broken.nk");
    std::fs::write(&broken, format!("{}Q", &SEED[..SEED.len() - 1])).expect("write");
    audit(&["nats", "--nkey", broken.to_str().unwrap(), &nats.url()], &[]);
}
