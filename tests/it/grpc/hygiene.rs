//! `probe grpc` and secrets: metadata (also from `-H @FILE`) reaches the server and no output,
//! and a target that carries a password is refused without echoing it.

use super::*;
use crate::support::OUTPUT_MODES;

#[test]
fn metadata_reaches_the_server_and_is_never_shown() {
    let server =
        Grpc::start(&Options { statuses: &[("", "SERVING")], token: Some(TOKEN), ..Options::default() });
    let addr = server.addr();
    run(["grpc", &addr]).says(1, r#": unhealthy: UNAUTHENTICATED "missing or wrong token" ("#);
    let header = format!("authorization: Bearer {TOKEN}");
    let ok = run(["grpc", "-v", "-H", &header, &addr]);
    ok.says(0, ": ok: SERVING (");
    ok.hides(TOKEN);
    let json = run(["grpc", "-v", "--json", "-H", &header, &addr]);
    json.code(0).hides(TOKEN);
    let wrong = run(["grpc", "-v", "--json", "-H", &format!("authorization: Bearer not-{TOKEN}"), &addr]);
    assert!(wrong.code(1).stdout.contains("UNAUTHENTICATED"), "{wrong}");
    wrong.hides(TOKEN);
}

#[test]
fn metadata_from_a_mounted_file() {
    let server =
        Grpc::start(&Options { statuses: &[("", "SERVING")], token: Some(TOKEN), ..Options::default() });
    let file = server.dir.path().join("metadata");
    std::fs::write(&file, format!("authorization: Bearer {TOKEN}\n")).unwrap();
    let header = format!("@{}", file.display());
    let result = run(["grpc", "-v", "--json", "-H", &header, &server.addr()]);
    assert!(result.code(0).stdout.contains(r#""message":"SERVING""#), "{result}");
    result.hides(TOKEN);
    std::fs::write(&file, format!("authorization Bearer {TOKEN}: x\n")).unwrap();
    let result = run(["grpc", "-H", &header, &server.addr()]);
    result.says(3, &format!("-H {header}, line 1: a metadata key is made of"));
    result.hides(TOKEN);
}

#[test]
fn a_malformed_header_is_a_usage_error_that_hides_the_value() {
    let server = Grpc::serving();
    for header in [
        format!("authorization Bearer {TOKEN}"),
        format!("grpc-timeout: {TOKEN}"),
        format!("x: {TOKEN}\u{1}"),
    ] {
        let result = run(["grpc", "-v", "--json", "-H", &header, &server.addr()]);
        result.says(3, "-H: ");
        result.hides(TOKEN);
    }
}

#[test]
fn a_password_typed_into_a_target_is_never_echoed() {
    // A gRPC target has no place for credentials, but a pasted URL may carry some.
    for (args, secret) in [
        (&["grpc", "grpc://u:p4ss#word@127.0.0.1:1"][..], "p4ss"),
        (&["grpc", "--tls", "grpc://u:hunter2@127.0.0.1:1"][..], "hunter2"),
    ] {
        let result = crate::support::run(args);
        result.code(3).hides(secret);
    }
}

/// A target holds no credentials, but a pasted URL may carry some; metadata holds tokens. No
/// form shows them: text, -v, --json and --wait lines, usage errors and answers alike.
#[test]
fn secrets_never_show_in_any_output_form() {
    const SECRET: &str = "Grpc-Secret-41d9";
    let server =
        Grpc::start(&Options { statuses: &[("", "SERVING")], token: Some(TOKEN), ..Options::default() });
    let modes = OUTPUT_MODES;
    let targets = [
        format!("grpcs://app:{SECRET}@127.0.0.1:{}", server.port),
        format!("grpc://app:{SECRET}/x@127.0.0.1:{}", server.port),
        format!("grpc://app:pa#{SECRET}@127.0.0.1:{}", server.port),
        format!("app:{SECRET}@127.0.0.1:{}", server.port),
        format!("grpc://127.0.0.1:{}?token={SECRET}", server.port),
        format!("grpc://app:{SECRET}"),
        format!("http://app:{SECRET}@127.0.0.1:{}", server.port),
    ];
    for target in &targets {
        for mode in modes {
            probe().args(mode).args(["grpc", target]).run().code(3).hides(SECRET);
        }
    }
    // Metadata: a wrong token (answered UNAUTHENTICATED, again and again while waiting), one
    // read with its CRLF from `$(cat token)`, and malformed ones.
    for mode in modes {
        let wrong = probe()
            .args(mode)
            .args(["grpc", "-H", &format!("authorization: Bearer {SECRET}"), &server.addr()])
            .run();
        wrong.code(1).hides(SECRET);
        let crlf = format!("authorization: Bearer {TOKEN}\r");
        probe().args(mode).args(["grpc", "-H", &crlf, &server.addr()]).run().code(0).hides(TOKEN);
        for header in [
            format!("authorization Bearer {SECRET}"),
            format!("x-key: {SECRET}\u{1}"),
            format!("x-key: a\n{SECRET}"),
        ] {
            probe().args(mode).args(["grpc", "-H", &header, &server.addr()]).run().code(3).hides(SECRET);
        }
    }
}
