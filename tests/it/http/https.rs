//! `probe http` over TLS: certificates verified against a generated CA, mutual TLS, and TLS
//! and plain-text ports told apart against rustls and `openssl s_server`.

use super::*;

#[test]
fn https_verifies_against_the_given_ca() {
    // A deliberate difference (README): kubelet sets InsecureSkipVerify; probe verifies unless
    // --insecure, against --cacert or SSL_CERT_FILE.
    let pki = Pki::new();
    let server = https_server(&pki, &["localhost", "127.0.0.1"], false, false);
    let ca = pki.ca.to_str().unwrap();
    for host in ["localhost", "127.0.0.1"] {
        let result = run(["http", "-v", "--cacert", ca, &server.https_url(host, "/")]);
        let line = result.code(0).stdout_line();
        assert!(line.contains(": ok: HTTP 200 OK (") && line.contains(", tls "), "{line}");
    }
    let result = run(["http", &server.https_url("localhost", "/")]);
    result.says(2, ": unreachable: TLS: certificate not trusted (unknown issuer) (");
    let from_env = probe().env("SSL_CERT_FILE", ca).args(["http", &server.https_url("localhost", "/")]).run();
    from_env.code(0);
    run(["http", "--insecure", &server.https_url("localhost", "/")]).code(0);
}

#[test]
fn a_self_signed_certificate_needs_insecure() {
    // As above: verified by default; --insecure is kubelet's behaviour.
    let pki = Pki::new();
    let server = https_server(&pki, &["localhost"], true, false);
    let result = run(["http", "--cacert", pki.ca.to_str().unwrap(), &server.https_url("localhost", "/")]);
    result.says(2, "TLS: certificate not trusted (unknown issuer)");
    run(["http", "--insecure", &server.https_url("localhost", "/")]).code(0);
}

#[test]
fn a_certificate_for_another_name_is_refused() {
    // As above: the name is verified (kubelet skips verification).
    let pki = Pki::new();
    let server = https_server(&pki, &["other.example"], false, false);
    let result = run(["http", "--cacert", pki.ca.to_str().unwrap(), &server.https_url("localhost", "/")]);
    result.says(2, ": unreachable: TLS: certificate is not valid for this host name (");
}

#[test]
fn an_expired_certificate_is_refused() {
    // As above: expiry is verified (kubelet skips verification).
    let pki = Pki::new();
    let expired = pki.expired("old", &["localhost"]);
    let server = serve_tls(server_config(&expired, None), |_, out| respond(out, "200 OK", &[], ""));
    let result = run(["http", "--cacert", pki.ca.to_str().unwrap(), &server.https_url("localhost", "/")]);
    result.says(2, ": unreachable: TLS: certificate has expired (");
}

#[test]
fn mutual_tls_presents_the_client_certificate() {
    // kubelet's NewWithCert presents a client certificate; --cert/--key do the same.
    let pki = Pki::new();
    let server = https_server(&pki, &["localhost"], false, true);
    let client = pki.issue("client", &["probe-client"]);
    let ca = pki.ca.to_str().unwrap();
    let url = server.https_url("localhost", "/");
    run([
        "http",
        "--cacert",
        ca,
        "--cert",
        client.cert.to_str().unwrap(),
        "--key",
        client.key.to_str().unwrap(),
        &url,
    ])
    .code(0);
    let result = run(["http", "--cacert", ca, &url]);
    result.says(2, ": unreachable: TLS: ");
}

#[test]
fn a_key_file_that_is_not_a_key_is_named_but_never_shown() {
    // SPEC: an unreadable key is a usage error (3), and secrets are never printed.
    let pki = Pki::new();
    let client = pki.issue("client", &["probe-client"]);
    // The certificate file where the key should be: no key in it, and its text stays unprinted.
    let result = run([
        "http",
        "--cert",
        client.cert.to_str().unwrap(),
        "--key",
        client.cert.to_str().unwrap(),
        "https://h/",
    ]);
    let line = result.code(3).stderr_line();
    assert!(line.contains("no PEM private key in it") && !line.contains("BEGIN"), "{line}");
}

#[test]
fn a_tls_port_asked_in_plain_text_is_named() {
    // A TLS server answers plain text with an alert record (0x15 0x03 …): say the port speaks TLS.
    let pki = Pki::new();
    let server = https_server(&pki, &["localhost"], false, false);
    let result = run(["http", &server.url("/")]);
    result.says(2, ": unreachable: the answer is TLS, not HTTP: the port speaks TLS (use https://) (");
}

#[test]
fn a_tls_body_read_to_the_close_ends_without_close_notify() {
    // Go's crypto/tls takes a TCP close between records as the end of the stream.
    let pki = Pki::new();
    let pair = pki.issue("server", &["localhost"]);
    let server = serve_tls(server_config(&pair, None), |_, out| {
        let _ = out.write_all(b"HTTP/1.0 200 OK\r\n\r\nup until the close");
    });
    let url = server.https_url("localhost", "/");
    let result = run(["http", "--cacert", pki.ca.to_str().unwrap(), "--body-contains", "close", &url]);
    result.says(0, ": ok: HTTP 200 OK, body matches (");
}

#[test]
fn tls_and_plain_ports_are_told_apart_against_openssl_s_server() {
    // OpenSSL ends a plain HTTP request to its TLS port without an alert ("http request"): no
    // HTTP server closes a fresh request so, and the line names the likely fix. HTTPS to it works.
    let pki = Pki::new();
    let pair = pki.issue("server", &["localhost", "127.0.0.1"]);
    let openssl = openssl_server(&pair);
    let ca = pki.ca.to_str().unwrap();
    run(["http", "--cacert", ca, &format!("https://localhost:{}/", openssl.port)])
        .says(0, ": ok: HTTP 200 OK (");
    run(["http", &format!("http://localhost:{}/", openssl.port)]).says(
        2,
        ": unreachable: the server closed the connection without answering: the port may speak TLS (use https://) (",
    );
    // A rustls server answers with an alert record: the port speaks TLS, said outright.
    let rustls = https_server(&pki, &["localhost"], false, false);
    run(["http", &rustls.url("/")])
        .says(2, ": unreachable: the answer is TLS, not HTTP: the port speaks TLS (use https://) (");
    // TLS to a real plain-text port (grpcio's HTTP/2, which answers the ClientHello at once),
    // and to one that answers as nginx does: the port speaks plain text.
    let grpcio = crate::support::grpc::Grpc::serving();
    run(["http", "--insecure", &format!("https://127.0.0.1:{}/", grpcio.port)])
        .says(2, ": unreachable: the answer is not TLS: the port speaks plain text (use http://) (");
    let plain =
        sockets::scripted(sockets::Script::Say(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n"));
    run(["http", "--insecure", &format!("https://{plain}/")])
        .says(2, ": unreachable: the answer is not TLS: the port speaks plain text (use http://) (");
}
