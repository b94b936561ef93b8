//! The TLS options every check shares: an unusable client certificate and key are refused the
//! same way by each check, before any I/O (exit 3), however the check's library would take them;
//! postgres, as libpq, judges its files when TLS starts, in the same words.

use std::{os::unix::fs::PermissionsExt, process::Command};

use crate::support::{
    certs::Pki,
    postgres::{Options, Postgres},
    run,
};

/// The checks that take --cert/--key, with a target each (never reached: the pair is refused
/// first, so nothing needs to listen there).
const CHECKS: &[(&str, &str)] = &[
    ("http", "https://127.0.0.1:1/"),
    ("redis", "rediss://127.0.0.1:1"),
    ("grpc", "grpcs://127.0.0.1:1"),
    ("amqp", "amqps://127.0.0.1:1"),
    ("mysql", "mysql://app@127.0.0.1:1?ssl-mode=REQUIRED"),
];

/// The same pair named in each check's own settings (the MySQL shell's ssl-cert/ssl-key, the
/// RabbitMQ URI's certfile/keyfile), which reach the shared TLS code by another road than
/// --cert/--key. (postgres reads its files when TLS starts, as libpq does: see below.)
fn in_settings(cert: &str, key: &str) -> [(&'static str, String); 2] {
    [
        ("mysql", format!("mysql://app@127.0.0.1:1?ssl-mode=REQUIRED&ssl-cert={cert}&ssl-key={key}")),
        ("amqp", format!("amqps://127.0.0.1:1?certfile={cert}&keyfile={key}")),
    ]
}

#[test]
fn a_key_that_is_not_the_certificates_is_a_usage_error_for_every_check() {
    let pki = Pki::new();
    let (one, other) = (pki.issue("one", &["probe-client"]), pki.issue("other", &["probe-client"]));
    let (cert, key) = (one.cert.to_str().unwrap(), other.key.to_str().unwrap());
    for (check, target) in CHECKS {
        let result = run([check, "--cert", cert, "--key", key, target]);
        result.says(3, "the key is not the certificate's (they do not make a pair)");
        result.hides("PRIVATE KEY");
    }
    for (check, target) in in_settings(cert, key) {
        let result = run([check, target.as_str()]);
        result.says(3, "the key is not the certificate's (they do not make a pair)");
        result.hides("PRIVATE KEY");
    }
}

#[test]
fn an_x509_v1_client_certificate_is_named_as_such() {
    let pki = Pki::new();
    let (cert, key) = v1_pair(&pki);
    let (cert, key) = (cert.as_str(), key.as_str());
    for (check, target) in CHECKS {
        run([check, "--cert", cert, "--key", key, target])
            .says(3, "an X.509 v1 certificate; TLS clients need a v3 certificate");
    }
    for (check, target) in in_settings(cert, key) {
        run([check, target.as_str()]).says(3, "an X.509 v1 certificate; TLS clients need a v3 certificate");
    }
}

/// libpq reads sslcert, sslkey and sslrootcert when the server has agreed to TLS, and fails the
/// connection then (psql exits 2): probe does the same, in the words every other check uses.
#[test]
fn postgres_judges_its_tls_files_when_tls_starts_in_the_same_words() {
    let pki = Pki::new();
    let server = pki.issue("postgres", &["localhost"]);
    let pg = Postgres::with(Options { tls: Some((&server, &pki.ca)), ..Options::default() });
    let target =
        |extra: String| format!("host=localhost port={} user=app sslmode=require {extra}", pg.port());
    let private = |path: &std::path::Path| {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        path.to_str().unwrap().to_owned()
    };
    let (one, other) = (pki.issue("one", &["app"]), pki.issue("other", &["app"]));
    let (cert, key) = (one.cert.to_str().unwrap(), private(&other.key));
    let result = run(["postgres", &target(format!("sslcert={cert} sslkey={key}"))]);
    result.says(2, "the key is not the certificate's (they do not make a pair)");
    result.hides("PRIVATE KEY");
    let (cert, key) = v1_pair(&pki);
    let key = private(std::path::Path::new(&key));
    run(["postgres", &target(format!("sslcert={cert} sslkey={key}"))])
        .says(2, "an X.509 v1 certificate; TLS clients need a v3 certificate");
    let bad = pki.dir.path().join("bad-ca.pem");
    std::fs::write(&bad, "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n").expect("write");
    run(["postgres", &target(format!("sslmode=verify-ca sslrootcert={}", bad.display()))])
        .says(2, "no certificate in it can be trusted (not a valid X.509 certificate)");
}

/// An X.509 version 1 certificate and its key, made by openssl (rcgen makes only v3).
fn v1_pair(pki: &Pki) -> (String, String) {
    let (key, cert) = (pki.dir.path().join("v1.key"), pki.dir.path().join("v1.pem"));
    let csr = pki.dir.path().join("v1.csr");
    let openssl = |args: &[&str]| {
        let status = Command::new("openssl").args(args).output().expect("openssl (the openssl package)");
        assert!(status.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&status.stderr));
    };
    let (key, cert, csr) = (key.to_str().unwrap(), cert.to_str().unwrap(), csr.to_str().unwrap());
    openssl(
        &["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
            .iter()
            .chain(&["-keyout", key, "-subj", "/CN=v1", "-out", csr])
            .copied()
            .collect::<Vec<_>>(),
    );
    // Without extensions, `openssl x509 -req` signs a version 1 certificate.
    openssl(&["x509", "-req", "-in", csr, "-signkey", key, "-days", "1", "-out", cert]);
    (cert.to_owned(), key.to_owned())
}

#[test]
fn a_ca_file_with_no_usable_certificate_is_a_usage_error_for_every_check() {
    let pki = Pki::new();
    let bad = pki.dir.path().join("bad-ca.pem");
    std::fs::write(&bad, "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n").expect("write");
    let bad = bad.to_str().unwrap();
    for (check, target) in CHECKS {
        run([check, "--cacert", bad, target])
            .says(3, "no certificate in it can be trusted (not a valid X.509 certificate)");
    }
    let in_settings = [
        ("mysql", format!("mysql://app@127.0.0.1:1?ssl-mode=VERIFY_CA&ssl-ca={bad}")),
        ("amqp", format!("amqps://127.0.0.1:1?cacertfile={bad}")),
    ];
    for (check, target) in in_settings {
        run([check, target.as_str()])
            .says(3, "no certificate in it can be trusted (not a valid X.509 certificate)");
    }
}
