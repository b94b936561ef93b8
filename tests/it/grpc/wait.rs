//! `probe grpc` in wait mode while a server turns healthy or starts listening, and the whole
//! JSON object.

use super::*;

/// The spec's wait mode, as `kubectl wait` or a compose healthcheck loop would use it: one
/// `waiting:` line each time the failure changes (not one per attempt), then the verdict of the
/// attempt that passed. grpc-health-probe has no wait; its users loop in shell.
#[test]
fn wait_says_each_change_until_the_server_turns_serving() {
    let server = Grpc::start(&Options { statuses: &[("db", "NOT_SERVING")], ..Options::default() });
    let addr = server.addr();
    let result = thread::scope(|scope| {
        scope.spawn(|| {
            thread::sleep(Duration::from_millis(1000));
            server.set_status("db", "UNKNOWN");
            thread::sleep(Duration::from_millis(1000));
            server.set_status("db", "SERVING");
        });
        run(["grpc", "--wait", "20s", "--interval", "100ms", "--service", "db", &addr])
    });
    result.code(0);
    assert!(result.elapsed >= Duration::from_millis(2000), "{result}");
    assert_eq!(
        result.stderr,
        format!(
            "waiting: grpc {addr}: unhealthy: NOT_SERVING for service \"db\"\n\
             waiting: grpc {addr}: unhealthy: UNKNOWN for service \"db\"\n"
        ),
        "one waiting line per change\n{result}"
    );
    let lines: Vec<&str> = result.stdout.lines().collect();
    assert_eq!(lines.len(), 1, "{result}");
    let line = lines[0];
    assert!(line.starts_with(&format!("grpc {addr}: ok: SERVING for service \"db\" (")), "{result}");
    let attempts: usize = line
        .split("; after ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .map_or(0, |n| n.parse().expect("a count of attempts"));
    // Every attempt was one Check call on the server, each about "db".
    let calls = server.calls();
    assert!(attempts >= 3 && calls.len() == attempts, "{attempts} attempts, {} calls\n{result}", calls.len());
    assert!(calls.iter().all(|call| call["service"] == "db"), "{calls:?}");
}

/// An init container started before its server: the socket does not exist yet, then a server
/// starts listening on it. In text, one waiting line naming the missing socket; with --json, no
/// waiting lines and one final object with `attempts`. Both probes wait at the same time.
#[test]
fn wait_until_a_server_starts_on_the_socket() {
    let dir = tempfile::tempdir().expect("temp dir");
    let socket = dir.path().join("app.sock");
    let target = format!("unix:{}", socket.display());
    let wait = ["grpc", "--wait", "30s", "--interval", "100ms"];
    let (text, json) = thread::scope(|scope| {
        let json = scope.spawn(|| run(wait.iter().copied().chain(["--json", target.as_str()])));
        let text = scope.spawn(|| run(wait.iter().copied().chain([target.as_str()])));
        thread::sleep(Duration::from_millis(800));
        let server = Grpc::start(&Options {
            statuses: &[("", "SERVING")],
            unix_at: Some(&socket),
            ..Options::default()
        });
        let done = (text.join().expect("text probe"), json.join().expect("json probe"));
        drop(server);
        done
    });

    text.code(0);
    // The server binds its socket file before it listens: an attempt that falls between the
    // two is refused, a real state a wait meets, said once on its own line.
    let missing =
        format!("waiting: grpc {target}: unreachable: {}: no such file or directory\n", socket.display());
    let refused = format!("waiting: grpc {target}: unreachable: {}: connection refused\n", socket.display());
    assert!(text.stderr == missing || text.stderr == format!("{missing}{refused}"), "{text}");
    let lines: Vec<&str> = text.stdout.lines().collect();
    assert_eq!(lines.len(), 1, "{text}");
    assert!(lines[0].starts_with(&format!("grpc {target}: ok: SERVING (")), "{text}");
    assert!(lines[0].contains(" attempts in "), "{text}");

    let line = json.code(0).stdout_line();
    let object: serde_json::Value = serde_json::from_str(line).expect(line);
    assert_eq!(
        keys(&object),
        ["check", "target", "ok", "status", "message", "elapsed_ms", "attempts"],
        "{line}"
    );
    assert_eq!(
        (&object["check"], &object["target"], &object["ok"], &object["status"], &object["message"]),
        (&"grpc".into(), &target.clone().into(), &true.into(), &"ok".into(), &"SERVING".into()),
        "{line}"
    );
    assert!(object["attempts"].as_u64().expect("attempts") >= 2, "{line}");
    assert!(object["elapsed_ms"].as_f64().expect("elapsed_ms") < 800.0, "one attempt's time: {line}");
}

#[test]
fn wait_gives_up_with_the_last_verdict() {
    let server = Grpc::start(&Options { statuses: &[("", "NOT_SERVING")], ..Options::default() });
    let addr = server.addr();
    // Attempts at 0, 0.7, 1.4 and 1.9 s (the wait runs its length: the last one gets the
    // 100 ms left). Were that last one cut short by the wait on a busy machine, the verdict
    // before it would stand: NOT_SERVING either way, never "the wait ran out".
    let result = run(["grpc", "-w", "2s", "--interval", "700ms", &addr]);
    result.code(1).within(Duration::from_secs(2) + MARGIN);
    let lines: Vec<&str> = result.stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{result}");
    assert_eq!(lines[0], format!("waiting: grpc {addr}: unhealthy: NOT_SERVING"));
    assert!(lines[1].starts_with(&format!("grpc {addr}: unhealthy: NOT_SERVING (")), "{result}");
    assert!(lines[1].contains("; after 4 attempts in "), "{result}");
    assert_eq!(result.stdout, "", "{result}");
}

fn keys(object: &serde_json::Value) -> Vec<&str> {
    object.as_object().expect("an object").keys().map(String::as_str).collect()
}

fn phase_names(object: &serde_json::Value) -> Vec<&str> {
    object["phases"]
        .as_array()
        .expect("phases")
        .iter()
        .map(|phase| phase["name"].as_str().expect("a name"))
        .collect()
}

/// The spec's JSON object, whole: every field, in order, with the values this run had; the
/// phases of a TLS call with -v; the token given with -H in no field.
#[test]
fn json_is_the_whole_object_and_never_carries_the_token() {
    let pki = Pki::new();
    let pair = pki.issue("server", &["localhost"]);
    let server = Grpc::start(&Options {
        statuses: &[("", "SERVING")],
        token: Some(TOKEN),
        tls: Some(&pair),
        ..Options::default()
    });
    let ca = pki.ca.to_str().unwrap();
    let target = format!("grpcs://localhost:{}", server.port);
    let header = format!("authorization: Bearer {TOKEN}");

    let ok = run(["grpc", "-v", "--json", "--cacert", ca, "-H", &header, &target]);
    let line = ok.code(0).hides(TOKEN).stdout_line();
    let object: serde_json::Value = serde_json::from_str(line).expect(line);
    assert_eq!(
        keys(&object),
        ["check", "target", "ok", "status", "message", "elapsed_ms", "phases"],
        "{line}"
    );
    assert_eq!(object["check"], "grpc");
    assert_eq!(object["target"], target);
    assert_eq!(object["ok"], true);
    assert_eq!(object["status"], "ok");
    assert_eq!(object["message"], "SERVING");
    let elapsed = object["elapsed_ms"].as_f64().expect("elapsed_ms");
    assert!(elapsed > 0.0 && elapsed < ok.elapsed.as_secs_f64() * 1e3, "{line}");
    assert_eq!(phase_names(&object), ["resolve", "connect", "tls", "rpc"], "{line}");
    let spent: f64 = object["phases"].as_array().unwrap().iter().map(|p| p["ms"].as_f64().expect("ms")).sum();
    assert!(spent <= elapsed + 0.5, "the phases fit in the attempt: {line}");

    // Refused by the interceptor: an answer (1), its code and message quoted.
    let wrong = format!("authorization: Bearer not-{TOKEN}");
    let refused = run(["grpc", "--json", "--cacert", ca, "-H", &wrong, &target]);
    let line = refused.code(1).hides(TOKEN).stdout_line();
    let object: serde_json::Value = serde_json::from_str(line).expect(line);
    assert_eq!(keys(&object), ["check", "target", "ok", "status", "message", "elapsed_ms"], "{line}");
    assert_eq!(
        (&object["ok"], &object["status"], &object["message"]),
        (&false.into(), &"unhealthy".into(), &r#"UNAUTHENTICATED "missing or wrong token""#.into()),
        "{line}"
    );

    // With a wait that runs out (attempts at 0, 0.7, 1.4 and 1.9 s, as above): the last verdict,
    // its phases, and the attempts made.
    let waited = run([
        "grpc",
        "-v",
        "--json",
        "-w",
        "2s",
        "--interval",
        "700ms",
        "--cacert",
        ca,
        "-H",
        &wrong,
        &target,
    ]);
    let line = waited.code(1).hides(TOKEN).stdout_line();
    let object: serde_json::Value = serde_json::from_str(line).expect(line);
    assert_eq!(
        keys(&object),
        ["check", "target", "ok", "status", "message", "elapsed_ms", "phases", "attempts"],
        "{line}"
    );
    assert_eq!(object["status"], "unhealthy");
    assert_eq!(phase_names(&object), ["resolve", "connect", "tls", "rpc"], "{line}");
    assert_eq!(object["attempts"], 4, "{line}");

    // A TLS failure (2) names no phase after the one it happened in.
    let untrusted = run(["grpc", "-v", "--json", "-H", &header, &target]);
    let line = untrusted.code(2).hides(TOKEN).stdout_line();
    let object: serde_json::Value = serde_json::from_str(line).expect(line);
    assert_eq!(object["status"], "unreachable");
    assert_eq!(object["message"], "TLS: certificate not trusted (unknown issuer)");
    assert_eq!(phase_names(&object), ["resolve", "connect", "tls"], "{line}");
}
