//! A throwaway Mosquitto broker on its own port, in its own temp dir: anonymous, with a password
//! file (made with mosquitto_passwd), an ACL, or a TLS listener, as a case needs; its log (every
//! log type) read by the tests.

use std::process::{Command, Stdio};

use super::{INSTALL_HINT, process};

pub struct Mosquitto {
    pub server: process::Server,
    pub dir: tempfile::TempDir,
}

fn binary() -> &'static str {
    if std::path::Path::new("/usr/sbin/mosquitto").exists() { "/usr/sbin/mosquitto" } else { "mosquitto" }
}

impl Mosquitto {
    /// A broker whose listener has the settings `config` (Mosquitto's syntax); `users` are
    /// written to a password file the listener uses, and `acl` to an ACL file.
    pub fn start(config: &str, users: &[(&str, &str)], acl: Option<&str>) -> Mosquitto {
        let dir = tempfile::Builder::new().prefix("probe-mosquitto-").tempdir().expect("temp dir");
        let mut config = config.to_owned();
        if !users.is_empty() {
            let file = dir.path().join("passwd");
            for (i, (user, password)) in users.iter().enumerate() {
                let mut command = Command::new("mosquitto_passwd");
                command.arg("-b");
                if i == 0 {
                    command.arg("-c");
                }
                let status = command
                    .arg(&file)
                    .args([user, password])
                    .stdout(Stdio::null())
                    .status()
                    .unwrap_or_else(|err| panic!("cannot run mosquitto_passwd: {err}; {INSTALL_HINT}"));
                assert!(status.success(), "mosquitto_passwd failed");
            }
            config.push_str(&format!("\npassword_file {}\n", file.display()));
        }
        if let Some(acl) = acl {
            let file = dir.path().join("acl");
            std::fs::write(&file, acl).expect("write the ACL");
            config.push_str(&format!("\nacl_file {}\n", file.display()));
        }
        let log = dir.path().join("mosquitto.log");
        let conf = dir.path().join("mosquitto.conf");
        let server = process::start("mosquitto", &log, "running", |port| {
            // Run as whoever runs the tests (as root it would switch to the mosquitto user, who
            // cannot write the temp dir); the log takes every type, so a socket error would show.
            let text = format!(
                "user root\nper_listener_settings true\nlog_dest file {}\nlog_type all\nlistener {port} 127.0.0.1\n{config}\n",
                log.display()
            );
            std::fs::write(&conf, text).expect("write mosquitto.conf");
            let mut command = Command::new(binary());
            command.arg("-c").arg(&conf).stdout(Stdio::null()).stderr(Stdio::null());
            command
        });
        Mosquitto { server, dir }
    }

    pub fn port(&self) -> u16 {
        self.server.port
    }

    pub fn log(&self) -> String {
        self.server.log_text()
    }
}
