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
    certs::Pki,
    grpc::{Grpc, Options},
    http::{respond, serve},
    postgres::{APP_PASSWORD, APP_USER, Postgres},
    process,
    redis::Redis,
};

const REDIS_PASSWORD: &str = "example-redis-pw";

/// One probe command found in an example, with where the volumes its container mounts are in
/// this test (mount path, directory).
#[derive(Debug)]
struct Case {
    file: String,
    argv: Vec<String>,
    env: Vec<(String, String)>,
    timeout: Duration,
    mounts: Mounts,
}

/// What the examples need besides their probe commands: the volumes (alive as long as the test),
/// and the containers' own commands, which the test stands in for.
#[derive(Default)]
struct Examples {
    cases: Vec<Case>,
    volumes: Vec<tempfile::TempDir>,
    /// The containers' own commands, for those that have one.
    programs: Vec<Program>,
}

/// Where the volumes a container mounts are in this test: (mount path, directory).
type Mounts = Vec<(String, PathBuf)>;

struct Program {
    image: String,
    command: Vec<String>,
    mounts: Mounts,
}

/// Files the examples' programs write, which the test writes for them.
const WRITTEN_BY_THE_APP: &[&str] = &["/run/worker/heartbeat"];

/// An image from Docker Hub's official library (`redis:7.2`, `postgres:16`): it has no probe.
fn is_stock(image: &str) -> bool {
    !image.contains('/')
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

const GRPC_TOKEN: &str = "example-grpc-token";

/// The CA of the gRPC example's Secret and of its server's certificate.
fn grpc_pki() -> &'static Pki {
    static PKI: std::sync::OnceLock<Pki> = std::sync::OnceLock::new();
    PKI.get_or_init(Pki::new)
}

/// Values the test gives the Secrets the manifests refer to.
fn secret(name: &str, key: &str) -> String {
    match (name, key) {
        ("redis", "password") => REDIS_PASSWORD.to_owned(),
        ("orders-db", "username") => APP_USER.to_owned(),
        ("orders-db", "password") => APP_PASSWORD.to_owned(),
        ("payments-tls", "ca.crt") => fs::read_to_string(&grpc_pki().ca).unwrap(),
        ("payments-grpc-token", "metadata") => format!("authorization: Bearer {GRPC_TOKEN}\n"),
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

/// What the README's rule leaves between probe's deadline and kubelet's timeoutSeconds for the
/// container runtime's exec and probe's own start and exit.
const EXEC_MARGIN: Duration = Duration::from_millis(100);

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

/// A new directory standing for a volume, kept until the test ends.
fn volume(examples: &mut Examples) -> PathBuf {
    let dir = tempfile::Builder::new().prefix("probe-volume-").tempdir().expect("temp dir");
    let path = dir.path().to_owned();
    examples.volumes.push(dir);
    path
}

fn kubernetes_cases(file: &str, document: &Value, examples: &mut Examples) {
    let pod =
        if document["kind"] == "Pod" { &document["spec"] } else { &document["spec"]["template"]["spec"] };
    // Each volume as a directory: an emptyDir empty, a Secret holding its items.
    let mut volumes = BTreeMap::new();
    for entry in pod["volumes"].as_sequence().into_iter().flatten() {
        let name = entry["name"].as_str().expect("volume name").to_owned();
        let dir = volume(examples);
        if let Some(secret_name) = entry["secret"]["secretName"].as_str() {
            let items = entry["secret"]["items"].as_sequence().expect("the Secret's items are listed");
            for item in items {
                let (key, path) = (item["key"].as_str().unwrap(), item["path"].as_str().unwrap());
                fs::write(dir.join(path), secret(secret_name, key)).unwrap();
            }
        } else {
            assert!(
                entry.get("emptyDir").is_some(),
                "{file}: volume {name} is neither an emptyDir nor a Secret"
            );
        }
        volumes.insert(name, dir);
    }
    let mounts_of = |container: &Value| -> Mounts {
        container["volumeMounts"]
            .as_sequence()
            .into_iter()
            .flatten()
            .map(|mount| {
                let name = mount["name"].as_str().expect("mount name");
                let dir = volumes.get(name).unwrap_or_else(|| panic!("{file}: no volume {name}"));
                (mount["mountPath"].as_str().expect("mountPath").to_owned(), dir.clone())
            })
            .collect()
    };
    // Init containers first, as kubelet runs them.
    for container in pod["initContainers"].as_sequence().into_iter().flatten() {
        let argv = strings(&container["command"]);
        if argv.first().is_some_and(|a| a == "/probe") {
            examples.cases.push(Case {
                file: file.to_owned(),
                argv,
                env: container_env(container),
                timeout: Duration::from_secs(30),
                mounts: mounts_of(container),
            });
        }
    }
    for container in pod["containers"].as_sequence().into_iter().flatten() {
        let image = container["image"].as_str().expect("image");
        let command = strings(&container["command"]);
        if !command.is_empty() {
            examples.programs.push(Program {
                image: image.to_owned(),
                command,
                mounts: mounts_of(container),
            });
        }
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
            // The README's rule: -t is timeoutSeconds minus the runtime's exec margin.
            assert_eq!(
                deadline(&argv) + EXEC_MARGIN,
                timeout,
                "{file}: {kind}: -t must be timeoutSeconds minus 100ms"
            );
            assert!(
                !(is_stock(image) && argv[0] == "/probe"),
                "{file}: {image} has no /probe: install it into a volume with an init container"
            );
            examples.cases.push(Case {
                file: file.to_owned(),
                argv,
                env: container_env(container),
                timeout,
                mounts: mounts_of(container),
            });
        }
    }
}

fn compose_cases(file: &str, document: &Value, examples: &mut Examples) {
    let mut volumes = BTreeMap::new();
    for (name, _) in document["volumes"].as_mapping().into_iter().flatten() {
        volumes.insert(name.as_str().expect("volume name").to_owned(), volume(examples));
    }
    let (mut installs, mut others) = (Vec::new(), Vec::new());
    for (_, service) in document["services"].as_mapping().into_iter().flatten() {
        let image = service["image"].as_str().expect("image");
        let mounts: Mounts = strings(&service["volumes"])
            .iter()
            .map(|spec| {
                let mut parts = spec.split(':');
                let (name, path) = (parts.next().unwrap(), parts.next().expect("a mount path"));
                let dir = volumes.get(name).unwrap_or_else(|| panic!("{file}: no volume {name}"));
                (path.to_owned(), dir.clone())
            })
            .collect();
        let case = |argv: Vec<String>, timeout: Duration| Case {
            file: file.to_owned(),
            argv,
            env: Vec::new(),
            timeout,
            mounts: mounts.clone(),
        };
        // The probe image's entrypoint is /probe: its command is probe's arguments.
        if image.contains("/probe:") {
            let argv = ["/probe".to_owned()].into_iter().chain(strings(&service["command"])).collect();
            installs.push(case(argv, Duration::from_secs(30)));
            continue;
        }
        let entrypoint = strings(&service["entrypoint"]);
        if entrypoint.first().is_some_and(|first| first.ends_with("/probe")) {
            let argv = entrypoint.into_iter().chain(strings(&service["command"])).collect();
            others.push(case(argv, Duration::from_secs(60)));
        }
        let check = &service["healthcheck"];
        let test = strings(&check["test"]);
        if test.first().is_some_and(|first| first == "CMD") {
            let timeout = seconds(check["timeout"].as_str().expect("a healthcheck timeout"));
            assert!(
                !(is_stock(image) && test[1] == "/probe"),
                "{file}: {image} has no /probe: install it into a volume"
            );
            others.push(case(test[1..].to_vec(), timeout));
        }
    }
    examples.cases.extend(installs.into_iter().chain(others));
}

fn ci_cases(file: &str, document: &Value, examples: &mut Examples) {
    for (_, job) in document["jobs"].as_mapping().into_iter().flatten() {
        for step in job["steps"].as_sequence().into_iter().flatten() {
            let Some(run) = step["run"].as_str() else { continue };
            let words: Vec<String> = run.split_whitespace().map(str::to_owned).collect();
            let (argv, mounts) = if words.first().is_some_and(|word| word == "probe") {
                (words, Vec::new())
            } else if let Some((image, argv, mounts)) = docker_run(&words, examples) {
                // The probe image's entrypoint is /probe.
                assert!(image.contains("/probe:"), "{file}: docker runs {image}, not the probe image");
                (std::iter::once("/probe".to_owned()).chain(argv).collect(), mounts)
            } else {
                continue;
            };
            examples.cases.push(Case {
                file: file.to_owned(),
                argv,
                env: Vec::new(),
                timeout: Duration::from_secs(60),
                mounts,
            });
        }
    }
}

/// `docker run [--rm] [-v HOST:CONTAINER]... IMAGE ARG...`: the image, its arguments, and each
/// volume's container path with a directory standing for it.
fn docker_run(words: &[String], examples: &mut Examples) -> Option<(String, Vec<String>, Mounts)> {
    let mut rest = words.strip_prefix(&["docker".to_owned(), "run".to_owned()])?.iter();
    let mut mounts = Vec::new();
    let image = loop {
        match rest.next()?.as_str() {
            "--rm" => {}
            "-v" | "--volume" => {
                let (_, at) = rest.next()?.split_once(':')?;
                mounts.push((at.split(':').next()?.to_owned(), volume(examples)));
            }
            other if other.starts_with('-') => panic!("docker run {other}: not understood by this test"),
            image => break image.to_owned(),
        }
    };
    Some((image, rest.cloned().collect(), mounts))
}

/// The paths in the repository an example names: what a CI step hands to cargo (`--path`,
/// `--manifest-path`), to docker (`-f`, `--file`, a build context) or runs (`./scripts/…`), a
/// step's `working-directory` and a local action (`uses: ./…`), relative to the repository's
/// root (the checkout); a compose service's `build` context, `dockerfile` and `env_file`, and a
/// relative bind mount, relative to the compose file's directory.
fn repository_paths(file: &Path, document: &Value) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut paths = Vec::new();
    for (_, job) in document["jobs"].as_mapping().into_iter().flatten() {
        for step in job["steps"].as_sequence().into_iter().flatten() {
            if let Some(local) = step["uses"].as_str().filter(|uses| uses.starts_with("./")) {
                paths.push(root.join(local));
            }
            if let Some(dir) = step["working-directory"].as_str() {
                paths.push(root.join(dir));
            }
            let words: Vec<&str> = step["run"].as_str().unwrap_or_default().split_whitespace().collect();
            for (at, word) in words.iter().enumerate() {
                let value = || words.get(at + 1).map(|next| root.join(next));
                match *word {
                    "--path" | "--manifest-path" | "-f" | "--file" => paths.extend(value()),
                    "build" if at > 0 && words[at - 1] == "docker" => paths.extend(
                        words[at + 1..].iter().rev().find(|w| !w.starts_with('-')).map(|c| root.join(c)),
                    ),
                    _ if word.starts_with("./") => paths.push(root.join(word)),
                    _ => {}
                }
            }
        }
    }
    let here = file.parent().expect("a directory");
    for (_, service) in document["services"].as_mapping().into_iter().flatten() {
        let build = &service["build"];
        let context = build.as_str().or_else(|| build["context"].as_str()).map(|context| here.join(context));
        if let Some(context) = &context {
            paths.push(context.clone());
            paths.extend(build["dockerfile"].as_str().map(|dockerfile| context.join(dockerfile)));
        }
        let env_files = &service["env_file"];
        paths.extend(env_files.as_str().map(|env_file| here.join(env_file)));
        paths.extend(strings(env_files).iter().map(|env_file| here.join(env_file)));
        for volume in strings(&service["volumes"]) {
            let host = volume.split(':').next().unwrap_or_default();
            if host.starts_with("./") || host.starts_with("../") {
                paths.push(here.join(host));
            }
        }
    }
    paths
}

#[test]
fn every_repository_path_an_example_names_exists() {
    // What the test reads: a CI step installing from a directory the repository lacks.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let wrong: Value = serde_yaml_ng::from_str(
        "jobs: {test: {steps: [{run: cargo install --locked --path tools/probe}, {run: ./scripts/test}]}}",
    )
    .unwrap();
    let ci = root.join("examples/ci/x.yaml");
    assert_eq!(repository_paths(&ci, &wrong), [root.join("tools/probe"), root.join("./scripts/test")]);
    let compose: Value =
        serde_yaml_ng::from_str("services: {app: {build: {context: ../.., dockerfile: Dockerfile}}}")
            .unwrap();
    let at = root.join("examples/compose/compose.yaml");
    let dir = root.join("examples/compose");
    assert_eq!(repository_paths(&at, &compose), [dir.join("../.."), dir.join("../../Dockerfile")]);

    for path in yaml_files(&root.join("examples")) {
        let text = fs::read_to_string(&path).unwrap();
        for document in serde_yaml_ng::Deserializer::from_str(&text) {
            let document: Value = serde::Deserialize::deserialize(document).unwrap();
            for named in repository_paths(&path, &document) {
                assert!(named.exists(), "{}: {} is not in the repository", path.display(), named.display());
            }
        }
    }
}

fn all_examples() -> Examples {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut examples = Examples::default();
    for path in yaml_files(&root) {
        let file = path.strip_prefix(&root).unwrap().display().to_string();
        let text = fs::read_to_string(&path).unwrap();
        for document in serde_yaml_ng::Deserializer::from_str(&text) {
            let document: Value =
                serde::Deserialize::deserialize(document).unwrap_or_else(|e| panic!("{file}: {e}"));
            if document.get("apiVersion").is_some() {
                assert!(document["kind"].is_string() && document["metadata"]["name"].is_string(), "{file}");
                kubernetes_cases(&file, &document, &mut examples);
            } else if document.get("services").is_some() {
                compose_cases(&file, &document, &mut examples);
            } else if document.get("jobs").is_some() {
                ci_cases(&file, &document, &mut examples);
            } else {
                panic!("{file}: neither a Kubernetes manifest, a compose file nor a CI workflow");
            }
        }
    }
    examples
}

/// A path inside a container, where this test keeps it: under a mounted volume's directory.
fn in_volume(path: &str, mounts: &[(String, PathBuf)]) -> Option<PathBuf> {
    mounts.iter().find_map(|(at, dir)| {
        let rest = path.strip_prefix(at.as_str())?;
        (rest.is_empty() || rest.starts_with('/')).then(|| dir.join(rest.trim_start_matches('/')))
    })
}

/// Redis as the Kubernetes example starts it (its own command, the password from the Secret in
/// the environment), on a port of the test's.
fn redis_as_the_example_starts_it(command: &[String]) -> Redis {
    let dir = tempfile::Builder::new().prefix("probe-redis-").tempdir().expect("temp dir");
    let log = dir.path().join("redis.log");
    let server = process::start("redis-server", &log, "Ready to accept connections", |port| {
        let own = format!(
            "redis-server - --port {port} --bind 127.0.0.1 --save '' --appendonly no --dir '{}' --logfile '{}'",
            dir.path().display(),
            log.display()
        );
        // The image's entrypoint (it drops root for the redis user) is not on this machine.
        let argv: Vec<String> = command
            .iter()
            .map(|arg| arg.replace("docker-entrypoint.sh ", "").replace("redis-server -", &own))
            .collect();
        assert!(argv.iter().any(|arg| arg.contains(&own)), "the example runs `redis-server -`: {command:?}");
        let mut command = Command::new(&argv[0]);
        command
            .args(&argv[1..])
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("REDIS_PASSWORD", REDIS_PASSWORD);
        command.stdout(Stdio::null()).stderr(Stdio::null());
        command
    });
    Redis { server, dir }
}

/// A process with the container's command line: `sh -c '…' COMMAND...`, which ends with its sleep.
fn stand_in(command: &[String]) -> process::Server {
    let mut sh = Command::new("/bin/sh");
    sh.args(["-c", r#"trap 'kill $!; exit' INT TERM; sleep 60 & wait"#])
        .args(command)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let child = process::spawn_for_life(sh).expect("sh");
    process::Server::adopt(child)
}

#[test]
fn every_example_probe_passes_against_real_servers() {
    let examples = all_examples();
    let web = serve(|request, out| match request.path.as_str() {
        "/healthz" => respond(out, "200 OK", &[], "ok"),
        "/ready" => respond(out, "200 OK", &[], r#"{"status":"UP"}"#),
        _ => respond(out, "404 Not Found", &[], ""),
    });
    // The Kubernetes examples' Redis has a password from a Secret and is started as
    // kubernetes/redis.yaml starts it; compose's and CI's has none.
    let redis_example =
        examples.programs.iter().find(|p| p.image.starts_with("redis:")).expect("an example runs redis");
    let redis = redis_as_the_example_starts_it(&redis_example.command);
    let cmdline = fs::read(format!("/proc/{}/cmdline", redis.server.pid())).unwrap();
    assert!(!String::from_utf8_lossy(&cmdline).contains(REDIS_PASSWORD), "the password is on a command line");
    assert_eq!(redis.cli(Some(REDIS_PASSWORD), &["ping"]), "PONG");
    assert!(redis.cli(None, &["ping"]).contains("NOAUTH"), "the example's Redis has no password");
    let open_redis = Redis::start();
    let postgres = Postgres::start();
    // The gRPC example's server: TLS for the name it expects, and a token on every call.
    let grpc_cert = grpc_pki().issue("payments", &["payments.prod.svc"]);
    let grpc = Grpc::start(&Options {
        statuses: &[("", "SERVING"), ("payments.v1.Payments", "SERVING")],
        token: Some(GRPC_TOKEN),
        tls: Some(&grpc_cert),
        ..Options::default()
    });

    // The containers' own programs, and the files they write.
    let mut stand_ins = Vec::new();
    for program in &examples.programs {
        if !program.image.starts_with("redis:") {
            stand_ins.push(stand_in(&program.command));
        }
        for path in WRITTEN_BY_THE_APP {
            if let Some(file) = in_volume(path, &program.mounts) {
                fs::write(file, "").unwrap();
            }
        }
    }

    // Where the examples' hosts and ports are in this test.
    let (redis_at, pg_at) = (format!("127.0.0.1:{}", redis.port()), format!("127.0.0.1:{}", postgres.port()));
    let renames: BTreeMap<&str, String> = BTreeMap::from([
        ("127.0.0.1:8080", web.addr.to_string()),
        ("127.0.0.1:6379", redis_at.clone()),
        ("redis.cache.svc.cluster.local:6379", redis_at),
        ("127.0.0.1:5432", pg_at.clone()),
        ("postgres.db.svc.cluster.local:5432", pg_at.clone()),
        ("postgres:5432", pg_at),
        ("127.0.0.1:8443", grpc.addr()),
    ]);
    let open_redis_at = format!("127.0.0.1:{}", open_redis.port());
    let rename = |case: &Case, text: &str| {
        if let Some(path) = in_volume(text, &case.mounts) {
            return path.display().to_string();
        }
        // `-H @FILE` (grpc) names a file too.
        if let Some(path) = text.strip_prefix('@').and_then(|file| in_volume(file, &case.mounts)) {
            return format!("@{}", path.display());
        }
        if let Some((flag, value)) = text.split_once('=').filter(|(flag, _)| flag.starts_with("--"))
            && let Some(path) = in_volume(value, &case.mounts)
        {
            return format!("{flag}={}", path.display());
        }
        let text = if case.file.starts_with("kubernetes/") {
            text.to_owned()
        } else {
            text.replace("127.0.0.1:6379", &open_redis_at).replace("redis:6379", &open_redis_at)
        };
        renames.iter().fold(text, |text, (from, to)| text.replace(from, to))
    };

    assert!(examples.cases.len() >= 18, "the examples hold {} probe commands", examples.cases.len());
    let mut installed = 0;
    for case in &examples.cases {
        // /probe is in the probe image and in images that copy it in; any other path must be
        // in a volume, where an init container (or service) put it first.
        let program = match case.argv[0].as_str() {
            "/probe" | "probe" => PathBuf::from(env!("CARGO_BIN_EXE_probe")),
            other => {
                let path = in_volume(other, &case.mounts)
                    .unwrap_or_else(|| panic!("{}: {other} is in no volume of its container", case.file));
                assert!(path.exists(), "{}: nothing installed {other} before it runs", case.file);
                path
            }
        };
        let mut args: Vec<String> = case.argv[1..].iter().map(|a| rename(case, a)).collect();
        // The command after `--` is the app's: a stand-in that says it started.
        let app = args.iter().position(|a| a == "--").map(|at| args.split_off(at + 1));
        if let Some(app) = &app {
            args.extend(["/bin/sh".into(), "-c".into(), r#"echo "app started: $0 $*""#.into()]);
            args.extend(app.iter().cloned());
        }
        let mut command = Command::new(&program);
        command.env_clear().args(&args);
        for (key, value) in &case.env {
            let value = match (key.as_str(), value.as_str()) {
                ("PGHOST", _) => "127.0.0.1".to_owned(),
                ("PGPORT", _) => postgres.port().to_string(),
                _ => rename(case, value),
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
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert_eq!(
            output.status.code(),
            Some(0),
            "{case:?}\n{stdout}{}",
            String::from_utf8_lossy(&output.stderr)
        );
        if let Some(app) = app {
            assert!(stdout.ends_with(&format!("app started: {}\n", app.join(" "))), "{case:?}\n{stdout}");
        }
        if args.first().is_some_and(|a| a == "install") {
            installed += 1;
        }
    }
    assert!(installed >= 4, "the examples install probe {installed} times");
    drop(stand_ins);
}

/// The README's first commands, run as a newcomer would run them: each probe line prints what
/// the README shows and exits as its `echo $?` says. Timings aside, and the `waiting:` line and
/// the attempt count, which depend on how fast the server starts.
#[test]
fn the_readmes_first_commands_do_what_it_shows() {
    let readme = fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let section = readme.split("\n## Build and run\n").nth(1).expect("a Build and run section");
    let block =
        section.split("```console\n").nth(1).and_then(|rest| rest.split("```").next()).expect("a block");
    // A port free a moment ago, as the README's 8000 is on a newcomer's machine.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port().to_string();
    let normal = |line: &str| -> Option<String> {
        let line = line.replace("8000", &port);
        if line.starts_with("waiting: ") {
            return None;
        }
        Some(match line.rfind(" (").filter(|_| line.ends_with(')')) {
            Some(at) => format!("{} (…)", &line[..at]),
            None => line,
        })
    };
    let mut server: Option<process::Server> = None;
    let mut last: Option<(String, std::process::Output)> = None;
    let mut lines = block.lines().peekable();
    let mut probes = 0;
    while let Some(line) = lines.next() {
        let command = line.strip_prefix("$ ").unwrap_or_else(|| panic!("not a command: {line}"));
        let mut shown = Vec::new();
        while let Some(output) = lines.next_if(|line| !line.starts_with("$ ")) {
            shown.push(output);
        }
        let words: Vec<&str> = command.split_whitespace().collect();
        match words.as_slice() {
            // The tests run the debug build of the same source.
            ["cargo", "build", "--release"] => {}
            ["python3", "-m", "http.server", "8000", "--bind", "127.0.0.1", ">/dev/null", "2>&1", "&"] => {
                let mut python = Command::new("python3");
                python.args(["-m", "http.server", &port, "--bind", "127.0.0.1"]);
                python.stdout(Stdio::null()).stderr(Stdio::null());
                server = Some(process::Server::adopt(process::spawn_for_life(python).expect("python3")));
            }
            ["kill", "%1"] => {
                let mut python = server.take().expect("a server to kill");
                python.stop();
            }
            ["echo", "$?"] => {
                let (command, output) = last.as_ref().expect("a command before echo $?");
                assert_eq!(shown.len(), 1, "{command}");
                assert_eq!(
                    output.status.code().map(|code| code.to_string()).as_deref(),
                    Some(shown[0]),
                    "{command}"
                );
            }
            [program, args @ ..] if program.ends_with("/release/probe") => {
                probes += 1;
                let args: Vec<String> = args.iter().map(|arg| arg.replace("8000", &port)).collect();
                let output = Command::new(env!("CARGO_BIN_EXE_probe"))
                    .env_clear()
                    .args(&args)
                    .stdin(Stdio::null())
                    .output()
                    .expect("probe");
                let said = format!(
                    "{}{}",
                    String::from_utf8_lossy(&output.stderr),
                    String::from_utf8_lossy(&output.stdout)
                );
                let said: Vec<String> = said.lines().filter_map(normal).collect();
                let wanted: Vec<String> = shown.iter().copied().filter_map(normal).collect();
                assert_eq!(said, wanted, "{command}");
                last = Some((command.to_owned(), output));
            }
            _ => panic!("a command this test does not know: {command}"),
        }
    }
    assert!(probes >= 2, "the README's first block runs probe {probes} times");
}
