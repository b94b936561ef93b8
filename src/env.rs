//! What a check may learn from outside its command line while building its targets: the
//! process's environment variables and the user it runs as. Passed to the checks as `&dyn Env`,
//! the one way they read either, so settings can be tested with any environment; the default
//! `os_user` reads /proc/self and /etc/passwd, as libpq and the mysql client find the user.

pub trait Env {
    /// The variable's value; an empty one counts as set, as libpq and redis-cli read them.
    fn var(&self, name: &str) -> Option<String>;

    /// The name of the user running probe, as libpq and the mysql client find it: the password
    /// database entry of the effective user (/proc/self belongs to it). None in an image without
    /// /etc/passwd.
    fn os_user(&self) -> Option<String> {
        use std::os::unix::fs::MetadataExt;
        let uid = std::fs::metadata("/proc/self").ok()?.uid().to_string();
        let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
        passwd
            .lines()
            .map(|line| line.split(':').collect::<Vec<_>>())
            .find_map(|fields| (fields.len() > 2 && fields[2] == uid).then(|| fields[0].to_owned()))
    }
}

/// The environment probe was started with.
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}
