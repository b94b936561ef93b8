//! Every probe command in `examples/` runs as kubelet, Docker or a CI runner would run it (argv,
//! environment from the manifest, the manifest's timeout) against real servers, and gives the
//! documented verdict: healthy. Manifests are checked for the fields Kubernetes expects.

use std::{
    collections::BTreeMap,
    fs,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    thread,
    time::{Duration, Instant},
};

use serde_yaml_ng::Value;

use crate::support::{
    http::{respond, serve},
    postgres::{APP_PASSWORD, APP_USER, Postgres},
    redis::Redis,
};

const REDIS_PASSWORD: &str = "example-redis-pw";

/// One probe command found in an example.
#[derive(Debug)]
struct Case {
    file: String,
    argv: Vec<String>,
    env: Vec<(String, String)>,
    timeout: Duration,
}

fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).expect("examples/") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            files.extend(yaml_files(&path));
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            files.push(path);
        }
    }
    files.sort();
    files
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_sequence()
        .map(|s| s.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
        .unwrap_or_default()
}

fn seconds(text: &str) -> Duration {
    let number = text.trim_end_matches('s');
    Duration::from_secs_f64(number.parse().unwrap_or_else(|_| panic!("a duration: {text}")))
}

/// Values the test gives the Secrets the manifests refer to.
fn secret(name: &str, key: &str) -> String {
    match (name, key) {
        ("redis", "password") => REDIS_PASSWORD.to_owned(),
        ("orders-db", "username") => APP_USER.to_owned(),
        other => panic!("no test value for the secret {other:?}"),
    }
}

fn container_env(container: &Value) -> Vec<(String, String)> {
    container["env"]
        .as_sequence()
        .into_iter()
        .flatten()
        .map(|entry| {
            let name = entry["name"].as_str().expect("env name").to_owned();
            let value = match entry["value"].as_str() {
                Some(value) => value.to_owned(),
                None => {
                    let reference = &entry["valueFrom"]["secretKeyRef"];
                    secret(
                        reference["name"].as_str().expect("secret"),
                        reference["key"].as_str().expect("key"),
                    )
                }
            };
            (name, value)
        })
        .collect()
}

/// The probe deadline a command sets (`-t`, `--timeout`), or the default.
fn deadline(argv: &[String]) -> Duration {
    for (index, arg) in argv.iter().enumerate() {
        let value = match arg.as_str() {
            "-t" | "--timeout" => argv.get(index + 1).cloned(),
            _ => arg.strip_prefix("--timeout=").map(str::to_owned),
        };
        if let Some(value) = value {
            return seconds(&value.replace("ms", "e-3"));
        }
    }
    Duration::from_millis(900)
}

fn kubernetes_cases(file: &str, document: &Value) -> Vec<Case> {
    let pod =
        if document["kind"] == "Pod" { &document["spec"] } else { &document["spec"]["template"]["spec"] };
    let mut cases = Vec::new();
    for container in pod["containers"].as_sequence().into_iter().flatten() {
        for kind in ["startupProbe", "livenessProbe", "readinessProbe"] {
            let probe = &container[kind];
            if probe.is_null() {
                continue;
            }
            for field in ["timeoutSeconds", "periodSeconds", "failureThreshold"] {
                assert!(probe[field].as_u64().is_some_and(|n| n >= 1), "{file}: {kind} needs {field}");
            }
            let argv = strings(&probe["exec"]["command"]);
            let timeout = Duration::from_secs(probe["timeoutSeconds"].as_u64().unwrap());
            assert!(
                deadline(&argv) < timeout,
                "{file}: {kind}: probe's deadline must be under timeoutSeconds"
            );
            cases.push(Case { file: file.to_owned(), argv, env: container_env(container), timeout });
        }
    }
    for container in pod["initContainers"].as_sequence().into_iter().flatten() {
        let argv = strings(&container["command"]);
        if argv.first().is_some_and(|a| a == "/probe") {
            cases.push(Case {
                file: file.to_owned(),
                argv,
                env: container_env(container),
                timeout: Duration::from_secs(30),
            });
        }
    }
    cases
}

fn compose_cases(file: &str, document: &Value) -> Vec<Case> {
    let mut cases = Vec::new();
    for (_, service) in document["services"].as_mapping().into_iter().flatten() {
        let check = &service["healthcheck"];
        let test = strings(&check["test"]);
        if test.first().is_some_and(|first| first == "CMD") {
            let timeout = seconds(check["timeout"].as_str().expect("a healthcheck timeout"));
            cases.push(Case { file: file.to_owned(), argv: test[1..].to_vec(), env: Vec::new(), timeout });
        }
    }
    cases
}

fn ci_cases(file: &str, document: &Value) -> Vec<Case> {
    let mut cases = Vec::new();
    for (_, job) in document["jobs"].as_mapping().into_iter().flatten() {
        for step in job["steps"].as_sequence().into_iter().flatten() {
            if let Some(run) = step["run"].as_str().filter(|run| run.starts_with("probe ")) {
                let argv = run.split_whitespace().map(str::to_owned).collect();
                cases.push(Case {
                    file: file.to_owned(),
                    argv,
                    env: Vec::new(),
                    timeout: Duration::from_secs(60),
                });
            }
        }
    }
    cases
}

fn all_cases() -> Vec<Case> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut cases = Vec::new();
    for path in yaml_files(&root) {
        let file = path.strip_prefix(&root).unwrap().display().to_string();
        let text = fs::read_to_string(&path).unwrap();
        for document in serde_yaml_ng::Deserializer::from_str(&text) {
            let document: Value =
                serde::Deserialize::deserialize(document).unwrap_or_else(|e| panic!("{file}: {e}"));
            if document.get("apiVersion").is_some() {
                assert!(document["kind"].is_string() && document["metadata"]["name"].is_string(), "{file}");
                cases.extend(kubernetes_cases(&file, &document));
            } else if document.get("services").is_some() {
                cases.extend(compose_cases(&file, &document));
            } else if document.get("jobs").is_some() {
                cases.extend(ci_cases(&file, &document));
            } else {
                panic!("{file}: neither a Kubernetes manifest, a compose file nor a CI workflow");
            }
        }
    }
    cases
}

#[test]
fn every_example_probe_passes_against_real_servers() {
    let web = serve(|request, out| match request.path.as_str() {
        "/healthz" => respond(out, "200 OK", &[], "ok"),
        "/ready" => respond(out, "200 OK", &[], r#"{"status":"UP"}"#),
        _ => respond(out, "404 Not Found", &[], ""),
    });
    // The Kubernetes examples' Redis has a password from a Secret; compose's and CI's has none.
    let redis = Redis::with_args(&["--requirepass", REDIS_PASSWORD]);
    let open_redis = Redis::start();
    let postgres = Postgres::start();
    let password_file = postgres.dir.path().join("db-password");
    fs::write(&password_file, APP_PASSWORD).unwrap();

    // Where the examples' hosts, ports and mounted files are in this test.
    let (redis_at, pg_at) = (format!("127.0.0.1:{}", redis.port()), format!("127.0.0.1:{}", postgres.port()));
    let renames: BTreeMap<&str, String> = BTreeMap::from([
        ("127.0.0.1:8080", web.addr.to_string()),
        ("127.0.0.1:6379", redis_at.clone()),
        ("redis.cache.svc.cluster.local:6379", redis_at),
        ("127.0.0.1:5432", pg_at.clone()),
        ("postgres.db.svc.cluster.local:5432", pg_at),
        ("/var/run/secrets/db/password", password_file.display().to_string()),
    ]);
    let open_redis_at = format!("127.0.0.1:{}", open_redis.port());
    let rename = |file: &str, text: &str| {
        let text = if file.starts_with("kubernetes/") {
            text.to_owned()
        } else {
            text.replace("127.0.0.1:6379", &open_redis_at)
        };
        renames.iter().fold(text, |text, (from, to)| text.replace(from, to))
    };

    let cases = all_cases();
    assert!(cases.len() >= 12, "the examples hold {} probe commands", cases.len());
    for case in cases {
        assert!(matches!(case.argv[0].as_str(), "/probe" | "probe"), "{case:?}");
        let mut command = Command::new(env!("CARGO_BIN_EXE_probe"));
        command.env_clear().args(case.argv[1..].iter().map(|a| rename(&case.file, a)));
        for (key, value) in &case.env {
            let value = match (key.as_str(), value.as_str()) {
                ("PGHOST", _) => "127.0.0.1".to_owned(),
                ("PGPORT", _) => postgres.port().to_string(),
                _ => rename(&case.file, value),
            };
            command.env(key, value);
        }
        let started = Instant::now();
        let mut child = command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("probe");
        while child.try_wait().expect("wait").is_none() {
            assert!(started.elapsed() < case.timeout, "{case:?} outlived its timeout");
            thread::sleep(Duration::from_millis(5));
        }
        let output = child.wait_with_output().expect("output");
        assert_eq!(output.status.code(), Some(0), "{case:?}\n{}", String::from_utf8_lossy(&output.stderr));
    }
}
