//! Throwaway ZooKeeper servers from Debian's `zookeeper` package (a JVM: about a second to
//! start), each in its own temp dir on its own ports, logging to a file the tests read: a
//! standalone server, the same with a four-letter-word whitelist, a secure (TLS) client port,
//! and one member of a three-server ensemble started alone, which listens but never serves (or,
//! with read-only mode on, turns read-only).
//! The JVM starts slowly, so the tests share one server per configuration (`shared`).

use std::{
    fs,
    io::{Read, Write},
    net::TcpStream,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    sync::OnceLock,
    time::Duration,
};

use super::{certs::Pki, process};

/// The jars a server needs: ZooKeeper's (its manifest names the rest), a logger that writes to
/// stderr, and the Netty codecs the secure port's handler loads.
const CLASSPATH: &str = "/usr/share/java/zookeeper.jar:/usr/share/java/slf4j-simple.jar:\
                         /usr/share/java/netty-codec.jar:/usr/share/java/netty-resolver.jar";

/// What the log says once the server has opened its client port.
const READY: &str = "ZooKeeper audit is disabled";

pub const INSTALL_HINT: &str =
    "run scripts/test, which installs zookeeper and default-jre-headless with apt-get";

pub struct ZooKeeper {
    pub server: process::Server,
    pub dir: tempfile::TempDir,
    /// The CA that signed a secure port's certificate.
    pub pki: Option<Pki>,
}

/// How a server is set up.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Setup {
    /// Standalone, four-letter words as shipped (srvr only).
    Standalone,
    /// Standalone, with `4lw.commands.whitelist=ruok`. ZooKeeper 3.8 keeps srvr on whatever the
    /// whitelist says (zkServer.sh needs it), so no whitelist makes it refuse srvr.
    OnlyRuok,
    /// Standalone, on a secure client port only (Netty, PEM files).
    Tls,
    /// Server 1 of three, the other two never started: no quorum.
    AloneInEnsemble,
    /// The same, with `readonlymode.enabled`: it serves read-only sessions once it finds no
    /// quorum.
    ReadOnly,
}

/// One server per setup for the whole test run (each test reads only the part of the log it
/// caused, or the connections still open).
pub fn shared(setup: Setup) -> &'static ZooKeeper {
    static SERVERS: [OnceLock<ZooKeeper>; 5] =
        [OnceLock::new(), OnceLock::new(), OnceLock::new(), OnceLock::new(), OnceLock::new()];
    let index = setup as usize;
    SERVERS[index].get_or_init(|| ZooKeeper::start(setup))
}

fn path(path: &Path) -> String {
    path.to_str().expect("a UTF-8 path").to_owned()
}

impl ZooKeeper {
    pub fn start(setup: Setup) -> ZooKeeper {
        let dir = tempfile::Builder::new().prefix("probe-zookeeper-").tempdir().expect("temp dir");
        let data = dir.path().join("data");
        fs::create_dir_all(&data).expect("data dir");
        let pki = (setup == Setup::Tls).then(Pki::new);
        let keystore = pki.as_ref().map(|pki| {
            let pair = pki.issue("zookeeper", &["localhost", "127.0.0.1"]);
            let both = dir.path().join("server.pem");
            let text =
                fs::read_to_string(&pair.key).expect("key") + &fs::read_to_string(&pair.cert).expect("cert");
            fs::write(&both, text).expect("keystore");
            (both, pki.ca.clone())
        });
        let log = dir.path().join("zookeeper.log");
        let config = dir.path().join("zoo.cfg");
        let server = process::start("zookeeper", &log, READY, |port| {
            let mut lines = vec![
                "tickTime=2000".to_owned(),
                format!("dataDir={}", path(&data)),
                "admin.enableServer=false".to_owned(),
                // The tests' servers live seconds: no need to sync the disk for each write.
                "forceSync=no".to_owned(),
            ];
            match setup {
                Setup::Tls => {
                    let (keystore, ca) = keystore.clone().expect("a keystore");
                    lines.extend([
                        format!("secureClientPort={port}"),
                        "serverCnxnFactory=org.apache.zookeeper.server.NettyServerCnxnFactory".to_owned(),
                        format!("ssl.keyStore.location={}", path(&keystore)),
                        "ssl.keyStore.type=PEM".to_owned(),
                        format!("ssl.trustStore.location={}", path(&ca)),
                        "ssl.trustStore.type=PEM".to_owned(),
                        "ssl.clientAuth=none".to_owned(),
                        "4lw.commands.whitelist=srvr,cons,dump".to_owned(),
                    ]);
                }
                _ => lines.push(format!("clientPort={port}")),
            }
            match setup {
                Setup::OnlyRuok => lines.push("4lw.commands.whitelist=ruok".to_owned()),
                Setup::Standalone => lines.push("4lw.commands.whitelist=srvr,cons,dump".to_owned()),
                Setup::AloneInEnsemble | Setup::ReadOnly => {
                    fs::write(data.join("myid"), "1\n").expect("myid");
                    lines.extend(["initLimit=5".to_owned(), "syncLimit=2".to_owned()]);
                    if setup == Setup::ReadOnly {
                        // Read-only mode opens only local sessions (ZooKeeper 3.6 and later).
                        lines.push("localSessionsEnabled=true".to_owned());
                    }
                    // Quorum and election ports next to the client port; 2 and 3 never start.
                    for (id, first) in [(1, port + 1), (2, port + 3), (3, port + 5)] {
                        lines.push(format!("server.{id}=127.0.0.1:{first}:{}", first + 1));
                    }
                }
                Setup::Tls => {}
            }
            fs::write(&config, lines.join("\n") + "\n").expect("zoo.cfg");
            let stderr = fs::File::create(&log).expect("log file");
            let mut command = Command::new("java");
            // A short-lived test server: the quick JIT tier and a small heap start it sooner.
            command.args(["-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xmx128m", "-Xshare:auto"]);
            command
                .args(["-Dorg.slf4j.simpleLogger.showDateTime=true", "-Dzookeeper.jmx.log4j.disable=true"]);
            if setup == Setup::ReadOnly {
                command.arg("-Dreadonlymode.enabled=true");
            }
            command.args(["-cp", CLASSPATH, "org.apache.zookeeper.server.quorum.QuorumPeerMain"]);
            command.arg(&config).stdout(Stdio::null()).stderr(stderr);
            command
        });
        ZooKeeper { server, dir, pki }
    }

    pub fn port(&self) -> u16 {
        self.server.port
    }

    pub fn target(&self) -> String {
        format!("127.0.0.1:{}", self.port())
    }

    pub fn log(&self) -> String {
        self.server.log_text()
    }

    /// A four-letter word's answer, over plain text.
    pub fn four_letters(&self, word: &str) -> String {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port())).expect("connect to zookeeper");
        stream.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
        stream.write_all(word.as_bytes()).expect("send");
        let mut answer = String::new();
        let _ = stream.read_to_string(&mut answer);
        answer
    }

    /// The CA file a secure port's certificate is signed by.
    pub fn ca(&self) -> PathBuf {
        self.pki.as_ref().expect("a TLS server").ca.clone()
    }
}
