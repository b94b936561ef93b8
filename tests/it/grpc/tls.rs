//! `probe grpc` over TLS against grpcio with a generated CA: verification, unix sockets,
//! `--server-name`, ALPN, mutual TLS, and TLS and plain-text ports told apart both ways.

use super::*;

#[test]
fn tls_verified_against_a_generated_ca() {
    let pki = Pki::new();
    let pair = pki.issue("server", &["localhost", "127.0.0.1"]);
    let server =
        Grpc::start(&Options { statuses: &[("", "SERVING")], tls: Some(&pair), ..Options::default() });
    let ca = pki.ca.to_str().unwrap();
    let grpcs = format!("grpcs://localhost:{}", server.port);
    let result = run(["grpc", "-v", "--cacert", ca, &grpcs]);
    let line = result.says(0, &format!("grpc {grpcs}: ok: SERVING ("));
    assert!(line.contains("tls "), "{line}");
    run(["grpc", "--tls", "--cacert", ca, &server.addr()]).says(0, ": ok: SERVING (");
    // The bundled roots do not know the test CA; SSL_CERT_FILE can name it.
    run(["grpc", &grpcs]).says(2, ": unreachable: TLS: certificate not trusted (unknown issuer) (");
    probe().env("SSL_CERT_FILE", ca).args(["grpc", &grpcs]).run().says(0, ": ok: SERVING (");
    run(["grpc", "--insecure", &grpcs]).says(0, ": ok: SERVING (");
    // TLS to grpcio's plain port: the port speaks plain text, and the fix is named.
    let plain = Grpc::serving();
    let expected =
        ": unreachable: the answer is not TLS: the port speaks plain text (use grpc:// and drop --tls) (";
    run(["grpc", "--tls", "--insecure", &plain.addr()]).says(2, expected);
    run(["grpc", "--insecure", &format!("grpcs://{}", plain.addr())]).says(2, expected);
}

/// `--tls` on a unix socket, as grpc-go dials a `unix:` target with transport credentials: the
/// name sent and verified is `localhost`, grpc-go's authority for unix targets.
#[test]
fn tls_over_a_unix_socket() {
    let pki = Pki::new();
    let pair = pki.issue("server", &["localhost"]);
    let server = Grpc::start(&Options {
        statuses: &[("", "SERVING")],
        tls: Some(&pair),
        unix: true,
        ..Options::default()
    });
    let ca = pki.ca.to_str().unwrap();
    let target = format!("unix:{}", server.socket.as_ref().expect("a unix socket").display());
    let ok = run(["grpc", "-v", "--tls", "--cacert", ca, &target]);
    let line = ok.says(0, &format!("grpc {target}: ok: SERVING ("));
    for phase in ["connect ", "tls ", "rpc "] {
        assert!(line.contains(phase), "{line}");
    }
    assert!(!line.contains("resolve "), "a socket path is not resolved: {line}");
    run(["grpc", "--tls", "--cacert", ca, "--server-name", "grpc.internal", &target])
        .says(2, ": unreachable: TLS: certificate is not valid for this host name (");
    run(["grpc", "--tls", &target]).says(2, ": unreachable: TLS: certificate not trusted (unknown issuer) (");
}

#[test]
fn server_name_sets_the_name_to_verify() {
    let pki = Pki::new();
    let pair = pki.issue("server", &["grpc.internal"]);
    let server =
        Grpc::start(&Options { statuses: &[("", "SERVING")], tls: Some(&pair), ..Options::default() });
    let ca = pki.ca.to_str().unwrap();
    let addr = server.addr();
    run(["grpc", "--tls", "--cacert", ca, &addr])
        .says(2, ": unreachable: TLS: certificate is not valid for this host name (");
    run(["grpc", "--tls", "--cacert", ca, "--server-name", "grpc.internal", &addr])
        .says(0, ": ok: SERVING (");
    let expired = pki.expired("old", &["localhost"]);
    let old =
        Grpc::start(&Options { statuses: &[("", "SERVING")], tls: Some(&expired), ..Options::default() });
    run(["grpc", "--tls", "--cacert", ca, &format!("localhost:{}", old.port)])
        .says(2, ": unreachable: TLS: certificate has expired (");
}

#[test]
fn a_tls_server_that_does_not_agree_to_http2() {
    let pki = Pki::new();
    let pair = pki.issue("server", &["localhost"]);
    let server = serve_tls(server_config(&pair, None), |_, out| respond(out, "200 OK", &[], "ok"));
    let target = format!("grpcs://localhost:{}", server.addr.port());
    run(["grpc", "--cacert", pki.ca.to_str().unwrap(), &target])
        .says(2, ": unreachable: TLS: the server did not agree to HTTP/2 (no ALPN h2) (");
}

/// A TLS port asked in plain text answers the HTTP/2 preface with a TLS alert: said as such, as
/// every check says it, where h2 alone would see a malformed frame.
#[test]
fn plain_text_to_a_tls_port_says_the_port_speaks_tls() {
    let pki = Pki::new();
    let pair = pki.issue("server", &["localhost"]);
    let rustls_server = serve_tls(server_config(&pair, None), |_, out| respond(out, "200 OK", &[], "ok"));
    let expected =
        ": unreachable: the answer is TLS, not HTTP/2: the port speaks TLS (use grpcs:// or --tls) (";
    run(["grpc", &format!("grpc://localhost:{}", rustls_server.addr.port())]).says(2, expected);
    let grpcio =
        Grpc::start(&Options { statuses: &[("", "SERVING")], tls: Some(&pair), ..Options::default() });
    // grpcio's BoringSSL closes on the plain preface without an alert; a plain HTTP/2 server
    // would have sent its SETTINGS first, so the close before any frame names the likely fix.
    let expected = concat!(
        ": unreachable: connection closed by peer at the HTTP/2 preface, before any frame: ",
        "the port may speak TLS (use grpcs:// or --tls) ("
    );
    run(["grpc", &format!("localhost:{}", grpcio.port)]).says(2, expected);
    run(["grpc", &format!("grpc://localhost:{}", grpcio.port)]).says(2, expected);
}

#[test]
fn mutual_tls() {
    let pki = Pki::new();
    let pair = pki.issue("server", &["localhost"]);
    let client = pki.issue("client", &["probe"]);
    let server = Grpc::start(&Options {
        statuses: &[("", "SERVING")],
        tls: Some(&pair),
        client_ca: Some(&pki.ca),
        ..Options::default()
    });
    let ca = pki.ca.to_str().unwrap();
    let grpcs = format!("grpcs://localhost:{}", server.port);
    let (cert, key) = (client.cert.to_str().unwrap(), client.key.to_str().unwrap());
    run(["grpc", "--cacert", ca, "--cert", cert, "--key", key, &grpcs]).says(0, ": ok: SERVING (");
    let hint = ": unreachable: connection closed by peer right after the TLS handshake (is a client certificate missing or refused?) (";
    run(["grpc", "--cacert", ca, &grpcs]).says(2, hint);
    let other = Pki::new();
    let stranger = other.issue("stranger", &["probe"]);
    let (cert, key) = (stranger.cert.to_str().unwrap(), stranger.key.to_str().unwrap());
    run(["grpc", "--cacert", ca, "--cert", cert, "--key", key, &grpcs]).says(2, hint);
}
