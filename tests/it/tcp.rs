//! `probe tcp` against real sockets: open, refused, black-holed, unresolvable, IPv6, several at
//! once, wait mode, and the output forms.

use std::time::Duration;

use crate::support::{
    MARGIN,
    postgres::{APP_PASSWORD, APP_USER, Postgres},
    probe,
    redis::Redis,
    run, sockets,
};

#[test]
fn an_open_port_is_healthy() {
    let open = sockets::open("127.0.0.1:0");
    let result = run(["tcp", &open.addr.to_string()]);
    let line = result.code(0).stdout_line();
    assert!(line.starts_with(&format!("tcp {}: ok: connected (", open.addr)), "{line}");
    assert!(line.ends_with(" ms)"), "{line}");
}

#[test]
fn a_name_is_resolved_and_the_address_shown() {
    let open = sockets::open("127.0.0.1:0");
    let target = format!("localhost:{}", open.addr.port());
    let result = run(["tcp", &target]);
    let line = result.code(0).stdout_line();
    assert!(
        line.starts_with(&format!("tcp {target}: ok: connected to 127.0.0.1:{} (", open.addr.port())),
        "{line}"
    );
}

#[test]
fn ipv6_in_brackets() {
    let open = sockets::open("[::1]:0");
    let target = format!("[::1]:{}", open.addr.port());
    let result = run(["tcp", &target]);
    assert!(result.code(0).stdout_line().starts_with(&format!("tcp {target}: ok: connected (")), "{result}");
}

#[test]
fn a_refused_port_is_unreachable() {
    let refusing = sockets::refusing();
    let result = run(["tcp", &refusing.addr.to_string()]);
    let line = result.code(2).stderr_line();
    assert!(line.starts_with(&format!("tcp {}: unreachable: connection refused (", refusing.addr)), "{line}");
}

#[test]
fn a_black_holed_port_times_out_at_the_deadline() {
    let hole = sockets::black_hole();
    let result = run(["tcp", "--timeout", "300ms", &hole.addr.to_string()]);
    let line = result.code(2).within(Duration::from_millis(300) + MARGIN).stderr_line();
    assert!(
        line.starts_with(&format!("tcp {}: unreachable: timed out after 300ms during connect (", hole.addr)),
        "{line}"
    );
    assert!(result.elapsed >= Duration::from_millis(300), "{result}");
}

#[test]
fn the_default_deadline_fits_inside_kubernetes_one_second() {
    let hole = sockets::black_hole();
    let result = run(["tcp", &hole.addr.to_string()]);
    let line = result.code(2).within(Duration::from_millis(900) + MARGIN).stderr_line();
    assert!(line.contains("timed out after 900ms during connect"), "{line}");
}

#[test]
fn an_unknown_host_is_unreachable() {
    let result = run(["tcp", "--timeout", "3s", "no-such-host.invalid:80"]);
    let line = result.code(2).stderr_line();
    let why = line.strip_prefix("tcp no-such-host.invalid:80: unreachable: ").expect(line);
    // Where no DNS server answers, the resolver gives up only when the deadline does.
    assert!(
        why.starts_with("cannot resolve no-such-host.invalid: ")
            || why.starts_with("timed out after 3s during resolve"),
        "{line}"
    );
}

#[test]
fn several_targets_are_checked_at_once_and_the_worst_code_wins() {
    let open = sockets::open("127.0.0.1:0");
    let refusing = sockets::refusing();
    let hole = sockets::black_hole();
    let targets = [open.addr.to_string(), refusing.addr.to_string(), hole.addr.to_string()];
    let result = probe().args(["tcp", "-t", "500ms"]).args(&targets).run();
    // Checked one after another, the black hole's deadline would come after the others' time.
    result.code(2).within(Duration::from_millis(500) + MARGIN);
    assert!(result.stdout.starts_with(&format!("tcp {}: ok: connected (", open.addr)), "{result}");
    let failures: Vec<&str> = result.stderr.lines().collect();
    assert_eq!(failures.len(), 2, "{result}");
    assert!(
        failures[0].starts_with(&format!("tcp {}: unreachable: connection refused", refusing.addr)),
        "{result}"
    );
    assert!(
        failures[1].starts_with(&format!("tcp {}: unreachable: timed out after 500ms", hole.addr)),
        "{result}"
    );

    let all_open = run(["tcp", &targets[0], &targets[0]]);
    assert_eq!(all_open.code(0).stdout.lines().count(), 2, "{all_open}");
}

#[test]
fn wait_mode_notices_a_port_opening_within_one_interval() {
    let delay = Duration::from_millis(1200);
    let (addr, opener) = sockets::listening_after(delay);
    let result = run(["tcp", "--wait", "10s", "--interval", "200ms", &addr.to_string()]);
    let _listener = opener.join().expect("opener");
    result.code(0).within(delay + Duration::from_millis(200) + MARGIN);
    assert!(result.elapsed >= delay, "{result}");
    assert_eq!(
        result.stderr,
        format!("waiting: tcp {addr}: unreachable: connection refused\n"),
        "one waiting line, not one per attempt\n{result}"
    );
    let line = result.stdout.trim_end();
    assert!(line.starts_with(&format!("tcp {addr}: ok: connected (")), "{result}");
    assert!(line.contains(" attempts in 1."), "{result}");
}

#[test]
fn wait_mode_gives_up_at_the_wait_deadline_with_the_last_verdict() {
    let refusing = sockets::refusing();
    let result = run(["tcp", "-w", "1s", "--interval", "300ms", &refusing.addr.to_string()]);
    result.code(2).within(Duration::from_secs(1) + MARGIN);
    let lines: Vec<&str> = result.stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{result}");
    assert_eq!(lines[0], format!("waiting: tcp {}: unreachable: connection refused", refusing.addr));
    assert!(
        lines[1].starts_with(&format!("tcp {}: unreachable: connection refused (", refusing.addr)),
        "{result}"
    );
    assert!(lines[1].contains("; after 4 attempts in "), "{result}");
}

#[test]
fn the_wait_bounds_the_whole_run_first_attempt_included() {
    // A CI step's own timeout is what --wait stands for: -t longer than the wait does not stretch it.
    let hole = sockets::black_hole();
    let result = run(["tcp", "-w", "1s", "-t", "5s", &hole.addr.to_string()]);
    let line = result.code(2).within(Duration::from_secs(1) + MARGIN).stderr_line();
    assert!(
        line.starts_with(&format!("tcp {}: unreachable: the wait of 1s ran out during connect (", hole.addr)),
        "{result}"
    );
}

#[test]
fn an_attempt_cut_short_by_the_wait_reports_what_it_met() {
    // The last attempt gets only what is left of the wait; a refusal in that sliver is still a
    // refusal, not "timed out after 15µs".
    let refusing = sockets::refusing();
    let result = run(["tcp", "-w", "300ms", "--interval", "10ms", &refusing.addr.to_string()]);
    let last = result.code(2).stderr.lines().last().unwrap_or_default().to_owned();
    assert!(
        last.starts_with(&format!("tcp {}: unreachable: connection refused (", refusing.addr)),
        "{result}"
    );
}

#[test]
fn a_wait_shorter_than_the_interval_still_runs_its_length() {
    // wait-for-it keeps trying until its timeout: the pause ends where a last attempt still
    // has time (100ms), not after the wait.
    let refusing = sockets::refusing();
    let result = run(["tcp", "-w", "1s", "--interval", "5s", &refusing.addr.to_string()]);
    result.code(2).within(Duration::from_secs(1) + MARGIN);
    assert!(result.elapsed >= Duration::from_millis(900), "{result}");
    let last = result.stderr.lines().last().unwrap_or_default();
    assert!(
        last.starts_with(&format!("tcp {}: unreachable: connection refused (", refusing.addr)),
        "{result}"
    );
    assert!(last.contains("; after 2 attempts in 9"), "{result}");

    // And a port that opens before the wait is over is found by that last attempt.
    let (addr, opener) = sockets::listening_after(Duration::from_millis(400));
    let result = run(["tcp", "-w", "1s", "--interval", "5s", &addr.to_string()]);
    let _listener = opener.join().expect("opener");
    let line = result.code(0).within(Duration::from_secs(1) + MARGIN).stdout.trim_end().to_owned();
    assert!(line.starts_with(&format!("tcp {addr}: ok: connected (")), "{result}");
    assert!(line.contains("; after 2 attempts in 9"), "{result}");
}

#[test]
fn a_last_attempt_cut_short_by_the_wait_leaves_the_verdict_before_it() {
    // Refused at first; black-holed by the time of the last attempt, which the wait's end cuts
    // short: the refusal stands, not "the wait ran out", which would hide what was seen.
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).expect("a socket");
    socket.bind(&"127.0.0.1:0".parse::<std::net::SocketAddr>().unwrap().into()).expect("bind");
    let addr = socket.local_addr().unwrap().as_socket().unwrap();
    let holing = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(400));
        socket.listen(0).expect("listen");
        let queued = std::net::TcpStream::connect(addr).expect("the first connection fills the queue");
        (socket, queued)
    });
    let result = run(["tcp", "-w", "1s", "--interval", "5s", &addr.to_string()]);
    let _hole = holing.join().expect("black hole");
    let last = result.code(2).within(Duration::from_secs(1) + MARGIN).stderr.lines().last().unwrap_or("");
    assert!(last.starts_with(&format!("tcp {addr}: unreachable: connection refused (")), "{result}");
    assert!(last.contains("; after 2 attempts in "), "{result}");
    assert!(result.elapsed >= Duration::from_secs(1), "the last attempt ran to the wait's end\n{result}");
}

#[test]
fn a_wait_of_zero_is_no_wait_and_an_empty_variable_is_unset() {
    // One attempt with the whole -t, as if --wait were left out: no "the wait of 0s ran out".
    let open = sockets::open("127.0.0.1:0");
    let hole = sockets::black_hole();
    let (open, hole) = (open.addr.to_string(), hole.addr.to_string());
    for wait in ["0", "0s", "0ms"] {
        let line = run(["tcp", "--wait", wait, &open]).code(0).stdout_line().to_owned();
        assert!(
            line.starts_with(&format!("tcp {open}: ok: connected (")) && !line.contains("attempts"),
            "{line}"
        );
        run(["tcp", "--wait", wait, "-t", "300ms", &hole])
            .says(2, &format!("tcp {hole}: unreachable: timed out after 300ms during connect ("));
    }
    let result = probe().env("PROBE_WAIT", "0").args(["tcp", &open]).run();
    result.says(0, &format!("tcp {open}: ok: connected ("));
    let json = probe().env("PROBE_WAIT", "0").args(["tcp", "--json", &open]).run();
    assert!(!json.code(0).stdout_line().contains("attempts"), "{json}");

    // Compose and pod specs leave variables empty: each one counts as unset.
    let mut empty = probe();
    for name in
        ["PROBE_WAIT", "PROBE_TIMEOUT", "PROBE_INTERVAL", "PROBE_QUIET", "PROBE_VERBOSE", "PROBE_JSON"]
    {
        empty = empty.env(name, "");
    }
    empty.args(["tcp", &open]).run().says(0, &format!("tcp {open}: ok: connected ("));
    let mut empty = probe();
    for name in ["PROBE_WAIT", "PROBE_TIMEOUT", "PROBE_INTERVAL"] {
        empty = empty.env(name, "");
    }
    // The default timeout, and no wait.
    empty.args(["tcp", &hole]).run().says(2, "timed out after 900ms during connect (");
}

#[test]
fn the_shortest_wait_still_makes_one_real_attempt() {
    // --wait 1ms: an attempt gets at least 100ms (or -t), so its verdict is the target's.
    let open = sockets::open("127.0.0.1:0");
    let refusing = sockets::refusing();
    let hole = sockets::black_hole();
    for _ in 0..5 {
        run(["tcp", "--wait", "1ms", &open.addr.to_string()]).says(0, ": ok: connected (");
        run(["tcp", "-w", "1ms", &refusing.addr.to_string()]).says(2, ": unreachable: connection refused (");
    }
    let result = run(["tcp", "-w", "1ms", &hole.addr.to_string()]);
    result.says(2, &format!("tcp {}: unreachable: the wait of 1ms ran out during connect (", hole.addr));
    result.within(Duration::from_millis(100) + MARGIN);
    assert!(result.elapsed >= Duration::from_millis(100), "{result}");
}

#[test]
fn an_interval_that_would_spin_is_refused() {
    for interval in ["0", "1ms"] {
        run(["tcp", "-w", "1s", "--interval", interval, "127.0.0.1:1"])
            .says(3, &format!("invalid value '{interval}' for '--interval <DUR>': must be at least 10ms"));
    }
}

#[test]
fn wait_mode_with_json_prints_only_the_final_objects_with_attempts() {
    let refusing = sockets::refusing();
    let result = run(["tcp", "--json", "-w", "500ms", "--interval", "100ms", &refusing.addr.to_string()]);
    let line = result.code(2).stdout_line();
    let object: serde_json::Value = serde_json::from_str(line).expect(line);
    assert_eq!(object["status"], "unreachable");
    assert!(object["attempts"].as_u64().expect("attempts") >= 3, "{line}");
}

#[test]
fn json_has_the_spec_fields_and_phases_with_verbose() {
    let open = sockets::open("127.0.0.1:0");
    let result = run(["tcp", "--json", "-v", &open.addr.to_string()]);
    let line = result.code(0).stdout_line();
    let object: serde_json::Value = serde_json::from_str(line).expect(line);
    let keys: Vec<&str> = object.as_object().expect("an object").keys().map(String::as_str).collect();
    assert_eq!(keys, ["check", "target", "ok", "status", "message", "elapsed_ms", "phases"], "{line}");
    assert_eq!(object["check"], "tcp");
    assert_eq!(object["target"], open.addr.to_string());
    assert_eq!(object["ok"], true);
    assert_eq!(object["status"], "ok");
    assert_eq!(object["message"], "connected");
    assert!(object["elapsed_ms"].as_f64().expect("a number") >= 0.0);
    let phases: Vec<&str> = object["phases"]
        .as_array()
        .expect("phases")
        .iter()
        .map(|p| p["name"].as_str().expect("name"))
        .collect();
    assert_eq!(phases, ["resolve", "connect"]);

    let refusing = sockets::refusing();
    let failed = run(["tcp", "--json", &refusing.addr.to_string()]);
    let object: serde_json::Value = serde_json::from_str(failed.code(2).stdout_line()).expect("JSON");
    assert_eq!((object["ok"].as_bool(), object["status"].as_str()), (Some(false), Some("unreachable")));
    assert_eq!(object["message"], "connection refused");
    assert!(object.get("phases").is_none() && object.get("attempts").is_none(), "{failed}");
}

#[test]
fn verbose_appends_the_phases() {
    let open = sockets::open("127.0.0.1:0");
    let result = run(["tcp", "-v", &open.addr.to_string()]);
    let line = result.code(0).stdout_line();
    let timings = line.split_once(" (").expect(line).1;
    let parts: Vec<&str> = timings.trim_end_matches(')').split([';', ',']).map(str::trim).collect();
    assert_eq!(parts.len(), 3, "{line}");
    assert!(parts[1].starts_with("resolve ") && parts[1].ends_with(" ms"), "{line}");
    assert!(parts[2].starts_with("connect ") && parts[2].ends_with(" ms"), "{line}");
}

#[test]
fn quiet_prints_nothing_either_way() {
    let open = sockets::open("127.0.0.1:0");
    let refusing = sockets::refusing();
    for (target, code) in [(open.addr.to_string(), 0), (refusing.addr.to_string(), 2)] {
        let result = run(["tcp", "-q", &target]);
        result.code(code);
        assert_eq!((result.stdout.as_str(), result.stderr.as_str()), ("", ""), "{result}");
    }
}

#[test]
fn a_throwaway_postgres_and_redis_answer_on_their_own_ports() {
    let postgres = Postgres::start();
    let redis = Redis::with_args(&["--requirepass", "redis-Secret"]);
    for port in [postgres.port(), redis.port()] {
        assert!(![5432, 6379].contains(&port), "never the machine's own services");
        run(["tcp", &format!("127.0.0.1:{port}")]).code(0);
    }
    // The servers are real: SCRAM over TCP and requirepass are in force.
    assert_eq!(postgres.sql(&format!("SELECT rolname FROM pg_roles WHERE rolname = '{APP_USER}'")), APP_USER);
    assert_eq!(postgres.sql("SHOW password_encryption"), "scram-sha-256");
    assert!(APP_PASSWORD.len() > 8);
    assert_eq!(redis.cli(Some("redis-Secret"), &["PING"]), "PONG");
    assert!(redis.cli(None, &["PING"]).starts_with("NOAUTH"));
}

#[test]
fn a_url_is_refused_by_its_scheme_only() {
    for (target, named) in [
        ("postgres://app:hunter2@db:5432/app", "'postgres://…': a URL is not a TCP target; write HOST:PORT"),
        ("https://user:hunter2@db/", "'https://…': a URL is not a TCP target; write HOST:PORT"),
        ("tcp://u:hunter2@db:5432", "'tcp://…': a TCP target has no user or password; write HOST:PORT"),
        ("app:hunter2@db:5432", "'…': a TCP target has no user or password; write HOST:PORT"),
        ("app:hunter2", "'…': the port is not a number from 1 to 65535"),
        ("hunter2 x:1", "'…': the host is not a host name or IP address; write HOST:PORT"),
    ] {
        for extra in [&[][..], &["--json"], &["-v"], &["--wait", "300ms"]] {
            let result = probe().args(extra).args(["tcp", target]).run();
            let line = result.code(3).stderr_line();
            assert!(line.starts_with("probe: ") && line.contains(named), "{target}: {line}");
            result.hides("hunter2");
        }
    }
}

#[test]
fn a_port_alone_is_this_host_and_tcp_urls_are_read() {
    let open = sockets::open("127.0.0.1:0");
    let port = open.addr.port();
    let result = run(["tcp", &format!(":{port}")]);
    assert!(
        result.code(0).stdout_line().starts_with(&format!("tcp localhost:{port}: ok: connected to ")),
        "{result}"
    );
    let result = run(["tcp", &format!("tcp://127.0.0.1:{port}")]);
    assert!(
        result.code(0).stdout_line().starts_with(&format!("tcp 127.0.0.1:{port}: ok: connected (")),
        "{result}"
    );
    run(["tcp", "db:0"]).says(3, "'…': '0' is not a port (1 to 65535)");
}
