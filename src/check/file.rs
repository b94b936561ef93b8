//! `probe file`: healthy when a path exists and, with `--max-age`, was modified recently enough
//! (the heartbeat file of a worker that serves no port).

use std::{
    fs, io,
    path::{Path, PathBuf},
    sync::Arc,
    time::{Duration, SystemTime},
};

use super::{Check, Target};
use crate::{deadline::Deadline, duration, env::Env, net, outcome::Verdict, trace::Trace};

#[derive(Debug, clap::Args)]
#[command(after_long_help = crate::docs::environment(&[]))]
pub struct Args {
    /// The path to look at; symlinks are followed, a directory counts. Several are checked at once.
    #[arg(value_name = "PATH", required = true)]
    pub paths: Vec<PathBuf>,

    /// Healthy only if PATH was modified at most DUR ago (a heartbeat file), e.g. 60s or 5m.
    #[arg(long, value_name = "DUR", value_parser = duration::parse_positive)]
    pub max_age: Option<Duration>,
}

impl Args {
    pub fn targets(self, _: &dyn Env) -> anyhow::Result<Vec<Target>> {
        // clap refuses an empty PATH.
        let max_age = self.max_age;
        Ok(self
            .paths
            .into_iter()
            .map(|path| Target { label: path.display().to_string(), check: Arc::new(File { path, max_age }) })
            .collect())
    }
}

struct File {
    path: PathBuf,
    max_age: Option<Duration>,
}

impl Check for File {
    fn attempt(&self, _deadline: Deadline, trace: &Trace) -> Verdict {
        trace.enter("stat");
        let meta = match fs::metadata(&self.path) {
            Ok(meta) => meta,
            Err(err) => return missing_or_unexaminable(&self.path, &err),
        };
        let kind = if meta.is_dir() { "directory" } else { "file" };
        let Ok(modified) = meta.modified() else {
            return Verdict::unreachable("the file system does not record modification times");
        };
        // A clock behind the file's (a skewed NFS server) makes it younger than now: fresh.
        let age = SystemTime::now().duration_since(modified).unwrap_or(Duration::ZERO);
        match self.max_age {
            None => Verdict::healthy(format!("{kind} exists, modified {} ago", age_text(age))),
            Some(max) if age <= max => {
                Verdict::healthy(format!("modified {} ago, within {}", age_text(age), limit_text(max)))
            }
            Some(max) => Verdict::unhealthy(format!(
                "stale: modified {} ago, more than {}",
                age_text(age),
                limit_text(max)
            )),
        }
    }
}

/// Why `stat` failed, as the verdict: a path that is not there is unhealthy; one that could
/// not be examined (permission denied, an I/O error) is no answer, and says why.
fn missing_or_unexaminable(path: &Path, err: &io::Error) -> Verdict {
    match err.kind() {
        io::ErrorKind::NotFound => match fs::read_link(path) {
            Ok(to) => Verdict::unhealthy(format!("missing: a dangling symlink to {}", to.display())),
            Err(_) => Verdict::unhealthy("missing"),
        },
        io::ErrorKind::NotADirectory => match not_a_directory(path) {
            Some(file) => Verdict::unhealthy(format!("missing: {} is not a directory", file.display())),
            None => Verdict::unhealthy("missing: a part of the path is not a directory"),
        },
        io::ErrorKind::PermissionDenied => Verdict::unreachable(
            "cannot examine it: permission denied (a directory on the way is not searchable)",
        ),
        _ => Verdict::unreachable(format!("cannot examine it: {}", net::describe(err))),
    }
}

/// The first leading part of `path` that exists but is not a directory.
fn not_a_directory(path: &Path) -> Option<&Path> {
    let mut parts: Vec<&Path> = path.ancestors().skip(1).filter(|p| !p.as_os_str().is_empty()).collect();
    parts.reverse();
    parts.into_iter().find(|part| fs::metadata(part).is_ok_and(|meta| !meta.is_dir()))
}

/// An age as people read it, to the second: `350ms`, `42s`, `2m5s`, `3h12s`, `1h`.
fn age_text(age: Duration) -> String {
    if age < Duration::from_secs(1) {
        return format!("{}ms", age.as_millis());
    }
    let secs = age.as_secs();
    let mut text = String::new();
    for (amount, unit) in [(secs / 3600, "h"), (secs / 60 % 60, "m"), (secs % 60, "s")] {
        if amount > 0 {
            text.push_str(&format!("{amount}{unit}"));
        }
    }
    text
}

/// `--max-age` as the user could have written it: `60s` reads `1m`, `1.5s` stays `1.5s`.
fn limit_text(limit: Duration) -> String {
    if limit.subsec_nanos() == 0 { age_text(limit) } else { duration::setting(limit) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_back_as_durations() {
        let cases =
            [(350, "350ms"), (42_000, "42s"), (125_400, "2m5s"), (10_812_000, "3h12s"), (3_600_000, "1h")];
        for (millis, text) in cases {
            assert_eq!(age_text(Duration::from_millis(millis)), text);
            let back = duration::parse(text).unwrap();
            assert_eq!(back.as_secs(), Duration::from_millis(millis).as_secs(), "{text}");
        }
    }

    #[test]
    fn limits_read_as_written() {
        assert_eq!(limit_text(Duration::from_secs(60)), "1m");
        assert_eq!(limit_text(Duration::from_secs(90)), "1m30s");
        assert_eq!(limit_text(Duration::from_millis(1500)), "1.5s");
        assert_eq!(limit_text(Duration::from_millis(250)), "250ms");
    }

    #[test]
    fn the_file_that_is_not_a_directory_is_named() {
        assert_eq!(not_a_directory(Path::new("/etc/passwd/x/y")), Some(Path::new("/etc/passwd")));
        assert_eq!(not_a_directory(Path::new("/etc/nope/x")), None);
    }
}
