//! libpq's connection service file: `service=NAME` (or PGSERVICE) names a `[NAME]` section of
//! PGSERVICEFILE or `~/.pg_service.conf`, else of `PGSYSCONFDIR/pg_service.conf`, whose
//! `key=value` lines fill the settings the connection string left unset.

use std::path::{Path, PathBuf};

use super::parse::is_keyword;
use crate::env::Env;

/// Where libpq looks for the system-wide file when PGSYSCONFDIR is unset: Debian's and
/// Ubuntu's libpq are built with this directory (`pg_config --sysconfdir`).
pub const DEFAULT_SYSCONFDIR: &str = "/etc/postgresql-common";

/// The `key=value` pairs of service `name`: from `user_file` when it has the section,
/// otherwise from `system_file`. A file that is not there is skipped, as libpq skips it.
pub fn lookup(
    name: &str,
    user_file: Option<&Path>,
    system_file: &Path,
) -> Result<Vec<(String, String)>, String> {
    if let Some(file) = user_file.filter(|file| file.exists())
        && let Some(pairs) = section(name, file)?
    {
        return Ok(pairs);
    }
    if system_file.exists()
        && let Some(pairs) = section(name, system_file)?
    {
        return Ok(pairs);
    }
    Err(format!("definition of service \"{name}\" not found"))
}

/// The file's `[name]` section, if it has one, read as libpq reads it: lines trimmed, `#`
/// comments and blank lines skipped, `key=value` with nothing trimmed around the `=`, every
/// key one libpq knows and none of them `service`.
fn section(name: &str, file: &Path) -> Result<Option<Vec<(String, String)>>, String> {
    let bytes = std::fs::read(file).map_err(|_| format!("service file \"{}\" not found", file.display()))?;
    let text = String::from_utf8_lossy(&bytes);
    let mut found: Option<Vec<(String, String)>> = None;
    let header = format!("[{name}]");
    for (index, line) in text.split('\n').enumerate() {
        let line = line.trim_matches(|c: char| matches!(c, ' ' | '\t' | '\n' | '\x0b' | '\x0c' | '\r'));
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if line.starts_with('[') {
            if found.is_some() {
                break;
            }
            // libpq compares the name and the `]` after it; anything after is ignored.
            if line.starts_with(&header) {
                found = Some(Vec::new());
            }
            continue;
        }
        let Some(pairs) = found.as_mut() else { continue };
        let error = |what: &str| format!("{what} in service file \"{}\", line {}", file.display(), index + 1);
        let Some((key, value)) = line.split_once('=') else { return Err(error("syntax error")) };
        if key == "service" {
            return Err(error("nested service specifications not supported"));
        }
        if !is_keyword(key) {
            return Err(error("syntax error"));
        }
        pairs.push((key.to_owned(), value.to_owned()));
    }
    Ok(found)
}

/// The two files libpq reads, from its environment: PGSERVICEFILE or `~/.pg_service.conf`, and
/// `pg_service.conf` in PGSYSCONFDIR.
pub fn files(env: &dyn Env, home: Option<&Path>) -> (Option<PathBuf>, PathBuf) {
    let user = env
        .var("PGSERVICEFILE")
        .map(PathBuf::from)
        .or_else(|| home.map(|home| home.join(".pg_service.conf")));
    let system = env.var("PGSYSCONFDIR").unwrap_or_else(|| DEFAULT_SYSCONFDIR.to_owned());
    (user, Path::new(&system).join("pg_service.conf"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn the_user_file_first_then_the_system_file() {
        let dir = tempfile::tempdir().unwrap();
        let user =
            write(dir.path(), "user.conf", "# mine\n[app]\nhost=user-host\n  port=6000  \n[other]\nhost=x\n");
        let system = write(dir.path(), "system.conf", "[app]\nhost=system-host\n[sys]\ndbname=s\nuser=u=v\n");
        let pairs = lookup("app", Some(&user), &system).unwrap();
        assert_eq!(
            pairs,
            [("host".to_owned(), "user-host".to_owned()), ("port".to_owned(), "6000".to_owned())]
        );
        let pairs = lookup("sys", Some(&user), &system).unwrap();
        assert_eq!(pairs[1], ("user".to_owned(), "u=v".to_owned()));
        let pairs = lookup("app", Some(&dir.path().join("missing")), &system).unwrap();
        assert_eq!(pairs[0].1, "system-host");
        let err = lookup("nope", Some(&user), &system).unwrap_err();
        assert_eq!(err, "definition of service \"nope\" not found");
        // `[app]x` names app too, as libpq reads it; `[apps]` does not.
        let odd = write(dir.path(), "odd.conf", "[apps]\nhost=a\n[app]x\nhost=b\n");
        assert_eq!(lookup("app", Some(&odd), &system).unwrap()[0].1, "b");
    }

    #[test]
    fn bad_lines_in_the_section_are_refused_with_their_line() {
        let dir = tempfile::tempdir().unwrap();
        let system = dir.path().join("none");
        for (text, expected) in [
            ("[a]\nhost\n", "syntax error in service file"),
            ("[a]\nhost = x\n", "syntax error"),
            ("[a]\nbogus=1\n", "syntax error"),
            ("\n\n[a]\nservice=b\n", "nested service specifications not supported in service file"),
        ] {
            let file = write(dir.path(), "s.conf", text);
            let err = lookup("a", Some(&file), &system).unwrap_err();
            assert!(err.contains(expected), "{text:?}: {err}");
        }
        let err =
            lookup("a", Some(&write(dir.path(), "s.conf", "[a]\n\n\nservice=b\n")), &system).unwrap_err();
        assert!(err.ends_with("line 4"), "{err}");
        // Lines outside the section are not read.
        assert!(
            lookup("a", Some(&write(dir.path(), "s.conf", "[b]\nnonsense\n[a]\nhost=x\n")), &system).is_ok()
        );
    }
}
