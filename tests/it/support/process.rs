//! Starting throwaway servers: on a port nobody else uses, as a child that dies with the test
//! process, ready when its log says so, and stopped when its handle is dropped.

use std::{
    collections::hash_map::RandomState,
    fs,
    hash::{BuildHasher, Hasher},
    os::unix::process::CommandExt,
    path::{Path, PathBuf},
    process::{Child, Command},
    sync::{Mutex, OnceLock, mpsc},
    thread,
    time::{Duration, Instant},
};

/// A running server process; dropping it stops the server.
pub struct Server {
    child: Child,
    pub port: u16,
    pub log: PathBuf,
    /// The signal that stops it cleanly: SIGINT, but SIGTERM for mariadbd, which ignores SIGINT.
    stop_signal: i32,
}

impl Server {
    pub fn log_text(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Stops the server the way its operator would (SIGINT: a fast, clean shutdown for both
    /// PostgreSQL and Redis; SIGTERM for mariadbd), and waits for it to be gone.
    pub fn stop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            signal(self.child.id(), self.stop_signal);
            let until = Instant::now() + Duration::from_secs(10);
            while let Ok(None) = self.child.try_wait() {
                if Instant::now() > until {
                    let _ = self.child.kill();
                }
                thread::sleep(Duration::from_millis(10));
            }
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// A process the test started itself, stopped as a server is when dropped.
    pub fn adopt(child: Child) -> Server {
        Server { child, port: 0, log: PathBuf::new(), stop_signal: libc::SIGINT }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

pub fn signal(pid: u32, signal: i32) {
    let pid = libc::pid_t::try_from(pid).expect("a pid");
    // SAFETY: kill(2) with a pid we own and a valid signal number has no memory effects.
    unsafe { libc::kill(pid, signal) };
}

/// Starts the command `for_port` builds for a port, waits until `log` contains `ready`, and
/// tries another port when the chosen one turns out to be taken.
pub fn start(name: &str, log: &Path, ready: &str, for_port: impl FnMut(u16) -> Command) -> Server {
    start_stopped_by(name, log, ready, libc::SIGINT, for_port)
}

/// `start`, for a server that `stop_signal` stops (and that gets it when the tests end).
pub fn start_stopped_by(
    name: &str,
    log: &Path,
    ready: &str,
    stop_signal: i32,
    mut for_port: impl FnMut(u16) -> Command,
) -> Server {
    for _ in 0..8 {
        let port = unused_port();
        let _ = fs::remove_file(log);
        let mut child = spawn_with_death_signal(for_port(port), stop_signal)
            .unwrap_or_else(|err| panic!("cannot start {name}: {err}; {}", super::INSTALL_HINT));
        let until = Instant::now() + Duration::from_secs(60);
        loop {
            let text = fs::read_to_string(log).unwrap_or_default();
            if text.contains(ready) {
                return Server { child, port, log: log.to_owned(), stop_signal };
            }
            if let Some(status) = child.try_wait().expect("wait") {
                if text.contains("already in use") {
                    break;
                }
                panic!("{name} exited ({status}) before it was ready:\n{text}");
            }
            if Instant::now() > until {
                let _ = child.kill();
                panic!("{name} was not ready within a minute:\n{text}");
            }
            thread::sleep(Duration::from_millis(20));
        }
    }
    panic!("{name}: eight ports in a row were taken");
}

/// A port below Linux's ephemeral range (32768 and up), so no outgoing connection can be holding
/// it; a listener that does hold it makes `start` try another.
pub fn unused_port() -> u16 {
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    20_000 + (hasher.finish() % 12_000) as u16
}

/// Spawns `command` so that it gets SIGINT when the test process ends, however it ends.
/// PR_SET_PDEATHSIG fires when the *thread* that forked the child exits, and every test runs on
/// a thread of its own, so all children are forked from one thread that lives as long as the
/// process does.
pub fn spawn_for_life(command: Command) -> std::io::Result<Child> {
    spawn_with_death_signal(command, libc::SIGINT)
}

/// `spawn_for_life` with another signal than SIGINT.
pub fn spawn_with_death_signal(mut command: Command, death_signal: i32) -> std::io::Result<Child> {
    type Request = (Command, mpsc::Sender<std::io::Result<Child>>);
    static SPAWNER: OnceLock<Mutex<mpsc::Sender<Request>>> = OnceLock::new();
    let spawner = SPAWNER.get_or_init(|| {
        let (send, receive) = mpsc::channel::<Request>();
        thread::spawn(move || {
            for (mut command, reply) in receive {
                let _ = reply.send(command.spawn());
            }
        });
        Mutex::new(send)
    });
    // SAFETY: prctl is async-signal-safe and touches no memory of ours.
    unsafe {
        command.pre_exec(move || {
            libc::prctl(libc::PR_SET_PDEATHSIG, death_signal);
            Ok(())
        });
    }
    let (reply, answer) = mpsc::channel();
    spawner.lock().expect("spawner lock").send((command, reply)).expect("spawner thread alive");
    answer.recv().expect("spawner replies")
}
