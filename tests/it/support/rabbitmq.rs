//! One throwaway RabbitMQ node for the whole test run (it takes seconds to boot): its own node
//! name, ports, cookie, data, logs and configuration in a temp dir, so it never meets the
//! machine's own broker on 5672 (only epmd on 4369 is shared, as every node shares it). Users,
//! vhosts and permissions are loaded from a definitions file at boot. Plain AMQP and AMQPS
//! (certificates from `certs`, client certificates accepted for EXTERNAL) listen on ports of
//! their own. The node dies with the test process: SIGINT from PR_SET_PDEATHSIG (the Erlang VM
//! has no terminal, so its break handler ends it), and SIGTERM and cleanup at exit.

use std::{
    fs,
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{Mutex, OnceLock, RwLock, RwLockReadGuard, RwLockWriteGuard},
    thread,
    time::{Duration, Instant},
};

use super::{
    INSTALL_HINT,
    certs::{Pair, Pki},
    process,
};

/// The users the definitions create: guest (as RabbitMQ seeds it), an app user on its own
/// vhosts, the user a client certificate logs in as with EXTERNAL (its common name), and one
/// whose password holds an '@'.
pub const APP_USER: &str = "app";
pub const APP_PASSWORD: &str = "app-Secret-42";
pub const CERT_USER: &str = "probe-client";
/// A user whose password holds an '@', as careless URLs write it unencoded.
pub const AT_USER: &str = "at";
pub const AT_PASSWORD: &str = "Zx9@secret-Qw7";

pub struct Node {
    pub name: String,
    pub port: u16,
    pub tls_port: u16,
    pub pki: Pki,
    /// A client certificate whose common name is `CERT_USER`.
    pub client: Pair,
    pub log: PathBuf,
    home: PathBuf,
    child: Mutex<Option<Child>>,
    dir: Mutex<Option<tempfile::TempDir>>,
    lock: RwLock<()>,
}

static NODE: OnceLock<Node> = OnceLock::new();

/// The node, started by the first test that asks for it.
pub fn node() -> &'static Node {
    NODE.get_or_init(|| {
        let node = Node::start();
        // SAFETY: registering a plain function with atexit(3) has no preconditions.
        unsafe { libc::atexit(stop_at_exit) };
        node
    })
}

extern "C" fn stop_at_exit() {
    if let Some(node) = NODE.get() {
        node.stop();
    }
}

/// The server scripts, as Debian installs them (`/usr/sbin/rabbitmq-server` there is a wrapper
/// that switches to the rabbitmq user) or as the generic Unix package puts them on the PATH.
fn script(name: &str) -> PathBuf {
    let debian = Path::new("/usr/lib/rabbitmq/bin").join(name);
    if debian.exists() { debian } else { PathBuf::from(name) }
}

impl Node {
    fn start() -> Node {
        let pki = Pki::new();
        let server = pki.issue("rabbit", &["localhost", "127.0.0.1"]);
        let client = pki.issue("client", &[CERT_USER]);
        for attempt in 0..4 {
            let dir = tempfile::Builder::new().prefix("probe-rabbitmq-").tempdir().expect("temp dir");
            let name = format!("probe-test-{}-{attempt}@localhost", std::process::id());
            let (port, tls_port, dist_port) =
                (process::unused_port(), process::unused_port(), process::unused_port());
            if port == tls_port || port == dist_port || tls_port == dist_port {
                continue;
            }
            let home = dir.path().join("home");
            let log = dir.path().join("rabbit.log");
            write_files(dir.path(), &home, &pki, &server, port, tls_port);
            let mut command = Command::new(script("rabbitmq-server"));
            command
                .env_clear()
                .env("PATH", "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin")
                .env("HOME", &home)
                .env("RABBITMQ_NODENAME", &name)
                .env("RABBITMQ_NODE_IP_ADDRESS", "127.0.0.1")
                .env("RABBITMQ_NODE_PORT", port.to_string())
                .env("RABBITMQ_DIST_PORT", dist_port.to_string())
                .env("RABBITMQ_MNESIA_BASE", dir.path().join("mnesia"))
                .env("RABBITMQ_LOG_BASE", dir.path())
                .env("RABBITMQ_LOGS", &log)
                .env("RABBITMQ_CONFIG_FILE", dir.path().join("rabbitmq.conf"))
                .env("RABBITMQ_ENABLED_PLUGINS_FILE", dir.path().join("enabled_plugins"))
                // The script then execs the VM itself instead of staying as its parent, so the
                // death signal reaches the VM; -noinput keeps the VM off stdin.
                .env("RABBITMQ_ALLOW_INPUT", "1")
                .env("RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS", "-noinput")
                .current_dir(dir.path())
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            let mut child = process::spawn_for_life(command)
                .unwrap_or_else(|err| panic!("cannot start rabbitmq-server: {err}; {INSTALL_HINT}"));
            let until = Instant::now() + Duration::from_secs(120);
            loop {
                let text = fs::read_to_string(&log).unwrap_or_default();
                if text.contains("Server startup complete") {
                    return Node {
                        name,
                        port,
                        tls_port,
                        pki,
                        client,
                        log,
                        home,
                        child: Mutex::new(Some(child)),
                        dir: Mutex::new(Some(dir)),
                        lock: RwLock::new(()),
                    };
                }
                if let Some(status) = child.try_wait().expect("wait") {
                    if text.contains("eaddrinuse") {
                        break;
                    }
                    panic!("rabbitmq-server exited ({status}) before it was ready:\n{text}");
                }
                if Instant::now() > until {
                    let _ = child.kill();
                    panic!("rabbitmq-server was not ready within two minutes:\n{text}");
                }
                thread::sleep(Duration::from_millis(50));
            }
            let _ = child.wait();
        }
        panic!("rabbitmq-server: four tries in a row found a port taken");
    }

    /// For a case that only reads the node's state: many run at once.
    pub fn shared(&self) -> RwLockReadGuard<'_, ()> {
        self.lock.read().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// For a case that reads the node's log or changes its state: it runs alone.
    pub fn exclusive(&self) -> RwLockWriteGuard<'_, ()> {
        self.lock.write().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// `amqp://USERINFO@127.0.0.1:PORT/PATH`; USERINFO may be empty.
    pub fn url(&self, userinfo: &str, path: &str) -> String {
        let at = if userinfo.is_empty() { "" } else { "@" };
        format!("amqp://{userinfo}{at}127.0.0.1:{}{path}", self.port)
    }

    /// `amqps://localhost:TLS_PORT/PATH`, for the certificate's name.
    pub fn tls_url(&self, path: &str) -> String {
        format!("amqps://localhost:{}{path}", self.tls_port)
    }

    pub fn log_text(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Runs `rabbitmqctl -n NODE ARGS` and returns its output.
    pub fn ctl(&self, args: &[&str]) -> String {
        let output = Command::new(script("rabbitmqctl"))
            .env_clear()
            .env("PATH", "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin")
            .env("HOME", &self.home)
            .args(["-q", "-n", &self.name])
            .args(args)
            .output()
            .unwrap_or_else(|err| panic!("cannot run rabbitmqctl: {err}; {INSTALL_HINT}"));
        assert!(
            output.status.success(),
            "rabbitmqctl {args:?}:\n{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// SIGTERM (RabbitMQ's clean shutdown), a few seconds' grace, then SIGKILL; then the temp
    /// dir goes.
    fn stop(&self) {
        if let Some(mut child) = self.child.lock().ok().and_then(|mut child| child.take()) {
            process::signal(child.id(), libc::SIGTERM);
            let until = Instant::now() + Duration::from_secs(5);
            while let Ok(None) = child.try_wait() {
                if Instant::now() > until {
                    let _ = child.kill();
                    let _ = child.wait();
                    break;
                }
                thread::sleep(Duration::from_millis(20));
            }
        }
        if let Ok(mut dir) = self.dir.lock() {
            drop(dir.take());
        }
    }
}

/// The node's configuration (rabbitmq.conf), plugins, definitions and Erlang cookie.
fn write_files(dir: &Path, home: &Path, pki: &Pki, server: &Pair, port: u16, tls_port: u16) {
    let path = |path: &Path| path.to_str().expect("a UTF-8 path").to_owned();
    fs::create_dir_all(home).expect("home");
    let cookie = home.join(".erlang.cookie");
    fs::write(&cookie, format!("probe-test-cookie-{}", std::process::id())).expect("cookie");
    fs::set_permissions(&cookie, fs::Permissions::from_mode(0o600)).expect("chmod the cookie");
    let definitions = dir.join("definitions.json");
    let config = format!(
        "listeners.tcp.default = 127.0.0.1:{port}\n\
         listeners.ssl.default = 127.0.0.1:{tls_port}\n\
         ssl_options.cacertfile = {ca}\n\
         ssl_options.certfile = {cert}\n\
         ssl_options.keyfile = {key}\n\
         ssl_options.verify = verify_peer\n\
         ssl_options.fail_if_no_peer_cert = false\n\
         auth_mechanisms.1 = PLAIN\n\
         auth_mechanisms.2 = AMQPLAIN\n\
         auth_mechanisms.3 = EXTERNAL\n\
         ssl_cert_login_from = common_name\n\
         load_definitions = {definitions}\n",
        ca = path(&pki.ca),
        cert = path(&server.cert),
        key = path(&server.key),
        definitions = path(&definitions),
    );
    fs::write(dir.join("rabbitmq.conf"), config).expect("rabbitmq.conf");
    fs::write(dir.join("enabled_plugins"), "[rabbitmq_auth_mechanism_ssl].\n").expect("enabled_plugins");
    let all = |user: &str, vhost: &str| serde_json::json!({"user": user, "vhost": vhost, "configure": ".*", "write": ".*", "read": ".*"});
    let json = serde_json::json!({
        "users": [
            {"name": "guest", "password": "guest", "tags": ["administrator"]},
            {"name": APP_USER, "password": APP_PASSWORD, "tags": []},
            {"name": CERT_USER, "password": "unused-Cert-Password", "tags": []},
            {"name": AT_USER, "password": AT_PASSWORD, "tags": []},
        ],
        "vhosts": [{"name": "/"}, {"name": "orders"}, {"name": "team/a"}, {"name": "locked"}],
        "permissions": [
            all("guest", "/"),
            all(APP_USER, "orders"),
            all(APP_USER, "team/a"),
            all(CERT_USER, "/"),
            all(AT_USER, "/"),
        ],
    });
    fs::write(&definitions, json.to_string()).expect("definitions");
}
