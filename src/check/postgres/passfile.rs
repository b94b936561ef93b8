//! libpq's password file (`passfile`, PGPASSFILE or `~/.pgpass`): read only when no password
//! was given, skipped when others may read it, and looked up per host of a host list.

use std::path::Path;

use crate::secret::Secret;

/// The password file, as found.
#[derive(Debug)]
pub enum PassFile {
    /// Not there, or no file was named and there is no home directory.
    Missing,
    /// There, but skipped, as libpq skips it; the reason is told when a login then lacks a password.
    Ignored(String),
    Text(String),
}

impl PassFile {
    /// Reads `path` if it is a plain file that only its owner may read or write.
    pub fn read(path: &Path) -> PassFile {
        use std::os::unix::fs::PermissionsExt;
        let Ok(metadata) = std::fs::metadata(path) else { return PassFile::Missing };
        if !metadata.is_file() {
            return PassFile::Ignored(format!("password file \"{}\" is not a plain file", path.display()));
        }
        if metadata.permissions().mode() & 0o077 != 0 {
            return PassFile::Ignored(format!(
                "password file \"{}\" was ignored: it has group or world access; permissions should be u=rw (0600) or less",
                path.display()
            ));
        }
        match std::fs::read(path) {
            Ok(bytes) => PassFile::Text(String::from_utf8_lossy(&bytes).into_owned()),
            Err(err) => PassFile::Ignored(format!(
                "password file \"{}\" was ignored: {}",
                path.display(),
                crate::net::describe(&err)
            )),
        }
    }

    /// The password for `host:port:dbname:user` (the port as text, as given), from the first line
    /// that matches, as libpq's `passwordFromFile`. An empty password is none.
    pub fn lookup(&self, host: &str, port: &str, dbname: &str, user: &str) -> Option<Secret> {
        let PassFile::Text(text) = self else { return None };
        // libpq's pg_strip_crlf: every trailing CR and LF goes, so `pw\r\r\n` is `pw`.
        text.split('\n')
            .filter(|line| !line.starts_with('#'))
            .map(|line| line.trim_end_matches(['\r', '\n']))
            .filter(|line| !line.is_empty())
            .find_map(|line| {
                let mut rest = line;
                for wanted in [host, port, dbname, user] {
                    rest = matches_field(rest, wanted)?;
                }
                Some(password_field(rest))
            })
            .filter(|password| !password.is_empty())
            .map(Secret::new)
    }
}

/// If the line's next field is `*` or equals `wanted` (with `\` escaping the next character),
/// the rest of the line after its `:`.
fn matches_field<'a>(line: &'a str, wanted: &str) -> Option<&'a str> {
    if let Some(rest) = line.strip_prefix("*:") {
        return Some(rest);
    }
    let mut wanted = wanted.chars();
    let mut chars = line.char_indices();
    while let Some((index, c)) = chars.next() {
        let (c, escaped) = match c {
            '\\' => match chars.next() {
                Some((_, next)) => (next, true),
                None => return None,
            },
            c => (c, false),
        };
        if c == ':' && !escaped {
            return wanted.next().is_none().then(|| &line[index + 1..]);
        }
        if wanted.next() != Some(c) {
            return None;
        }
    }
    None
}

/// The password field: up to the first unescaped `:`, with `\` escapes undone.
fn password_field(rest: &str) -> String {
    let mut password = String::new();
    let mut chars = rest.chars();
    while let Some(c) = chars.next() {
        match c {
            ':' => break,
            '\\' => match chars.next() {
                Some(next) => password.push(next),
                None => password.push('\\'),
            },
            c => password.push(c),
        }
    }
    password
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::postgres::settings::{
        Settings,
        tests::{settings_from, settings_with},
    };

    fn password(text: &str, key: [&str; 4]) -> Option<String> {
        PassFile::Text(text.to_owned()).lookup(key[0], key[1], key[2], key[3]).map(|p| p.expose().to_owned())
    }

    #[test]
    fn lines_match_as_in_libpq() {
        let file = "# comment\n #not a comment:*:*:*:x\nother:*:*:*:nope\ndb:5432:*:app:from-pgpass\n*:*:*:*:fallback\n";
        assert_eq!(password(file, ["db", "5432", "app", "app"]).as_deref(), Some("from-pgpass"));
        assert_eq!(password(file, ["db", "6000", "app", "app"]).as_deref(), Some("fallback"));
        // The port compares as text: 05432 is not 5432.
        assert_eq!(password(file, ["db", "05432", "app", "app"]).as_deref(), Some("fallback"));
        assert_eq!(password(file, [" #not a comment", "1", "d", "u"]).as_deref(), Some("x"));
    }

    #[test]
    fn escapes_and_the_password_field() {
        assert_eq!(password(r"h\:1:5432:d:u:pa\\ss", ["h:1", "5432", "d", "u"]).as_deref(), Some(r"pa\ss"));
        // An unescaped ':' ends the password; an escaped one is part of it.
        assert_eq!(password("h:1:d:u:pass:word", ["h", "1", "d", "u"]).as_deref(), Some("pass"));
        assert_eq!(password(r"h:1:d:u:pass\:word", ["h", "1", "d", "u"]).as_deref(), Some("pass:word"));
        // `\*` is a literal star, not a wildcard; `*x` is not a wildcard either.
        assert_eq!(password(r"\*:1:d:u:star", ["h", "1", "d", "u"]), None);
        assert_eq!(password(r"\*:1:d:u:star", ["*", "1", "d", "u"]).as_deref(), Some("star"));
        assert_eq!(password("*x:1:d:u:p", ["h", "1", "d", "u"]), None);
        // A line without a password field matches nothing; an empty password is none, and the
        // search stops at the first matching line, as in libpq.
        assert_eq!(password("h:1:d:u", ["h", "1", "d", "u"]), None);
        assert_eq!(password("h:1:d:u:\n*:*:*:*:later", ["h", "1", "d", "u"]), None);
        assert_eq!(password("h:1:d:u:p\r\n", ["h", "1", "d", "u"]).as_deref(), Some("p"));
        // libpq strips every trailing CR (pg_strip_crlf), not just one; one inside stays.
        assert_eq!(password("h:1:d:u:p\r\r\r\n", ["h", "1", "d", "u"]).as_deref(), Some("p"));
        assert_eq!(password("h:1:d:u:p\r\r", ["h", "1", "d", "u"]).as_deref(), Some("p"));
        assert_eq!(password("h:1:d:u:p\rq\r\n", ["h", "1", "d", "u"]).as_deref(), Some("p\rq"));
    }

    #[test]
    fn a_file_others_may_read_is_ignored_and_says_why() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pgpass");
        std::fs::write(&path, "*:*:*:*:pw\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        let PassFile::Ignored(why) = PassFile::read(&path) else { panic!("not ignored") };
        assert!(why.contains("has group or world access"), "{why}");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(matches!(PassFile::read(&path), PassFile::Text(_)));
        assert!(matches!(PassFile::read(&dir.path().join("none")), PassFile::Missing));
        assert!(matches!(PassFile::read(dir.path()), PassFile::Ignored(_)));
    }

    /// libpq's order (the string, its service section, PGPASSWORD, the password file), with
    /// probe's --password-file between the service section and PGPASSWORD: an explicit option
    /// wins over an inherited variable.
    #[test]
    fn password_file_option_wins_over_pgpassword_not_over_the_string() {
        let dir = tempfile::tempdir().unwrap();
        let file = passfile(dir.path(), "*:*:*:*:from-pgpass\n");
        let env = [("PGPASSWORD", "from-env"), ("PGPASSFILE", file.as_str())];
        let s = settings_with("host=a user=app", &env, Some("from-option")).unwrap();
        assert_eq!(passwords(&s), [Some("from-option")]);
        let s = settings_with("host=a user=app password=stated", &env, Some("from-option")).unwrap();
        assert_eq!(passwords(&s), [Some("stated")]);
        // An empty `password=` is none: the option is next; libpq would not read PGPASSWORD.
        let s = settings_with("host=a user=app password=", &env, Some("from-option")).unwrap();
        assert_eq!(passwords(&s), [Some("from-option")]);
        std::fs::write(dir.path().join("svc.conf"), "[db]\npassword=from-service\n").unwrap();
        let svc = dir.path().join("svc.conf").display().to_string();
        let with_service = [env.as_slice(), &[("PGSERVICEFILE", svc.as_str())]].concat();
        let s = settings_with("service=db host=a user=app", &with_service, Some("from-option")).unwrap();
        assert_eq!(passwords(&s), [Some("from-service")]);
        let s = settings_with("host=a user=app", &env, None).unwrap();
        assert_eq!(passwords(&s), [Some("from-env")]);
    }

    /// libpq's passwordFromFile gets the hostaddr text as written when there is no host.
    #[test]
    fn the_password_file_matches_hostaddr_as_written() {
        let dir = tempfile::tempdir().unwrap();
        let file = passfile(dir.path(), "0\\:0\\:0\\:0\\:0\\:0\\:0\\:1:5432:*:*:long\n::1:5432:*:*:short\n");
        let env = [("PGPASSFILE", file.as_str())];
        let s = settings_from("hostaddr=0:0:0:0:0:0:0:1 user=app", &env).unwrap();
        assert_eq!(passwords(&s), [Some("long")]);
        let s = settings_from("hostaddr=::1 user=app", &env).unwrap();
        assert_eq!(passwords(&s), [None]);
        let file = passfile(dir.path(), "\\:\\:1:5432:*:*:short\n");
        let s = settings_from("hostaddr=::1 user=app", &[("PGPASSFILE", file.as_str())]).unwrap();
        assert_eq!(passwords(&s), [Some("short")]);
        let s = settings_from("hostaddr=0:0:0:0:0:0:0:1 user=app", &[("PGPASSFILE", file.as_str())]).unwrap();
        assert_eq!(passwords(&s), [None]);
    }

    fn passfile(dir: &Path, text: &str) -> String {
        use std::os::unix::fs::PermissionsExt;
        let path = dir.join("pgpass");
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        path.display().to_string()
    }

    fn passwords(s: &Settings) -> Vec<Option<&str>> {
        s.hosts.iter().map(|h| h.password.as_ref().map(Secret::expose)).collect()
    }

    #[test]
    fn the_password_file_is_read_per_host() {
        let dir = tempfile::tempdir().unwrap();
        let file = passfile(
            dir.path(),
            "a:5432:*:app:pw-a\nb:6000:*:app:pw-b\n10.0.0.9:5432:*:app:by-addr\nlocalhost:5432:*:app:local\n/run/pg:7:*:app:sock\n",
        );
        let env = [("PGPASSFILE", file.as_str())];
        let s = settings_from("host=a,b port=5432,6000 user=app", &env).unwrap();
        assert_eq!(passwords(&s), [Some("pw-a"), Some("pw-b")]);
        let s = settings_from("hostaddr=10.0.0.9,10.0.0.8 user=app", &env).unwrap();
        assert_eq!(passwords(&s), [Some("by-addr"), None]);
        let s = settings_from("host=,/var/run/postgresql,/run/pg port=5432,5432,7 user=app", &env).unwrap();
        assert_eq!(passwords(&s), [Some("local"), Some("local"), Some("sock")]);
        // The port compares as given.
        let s = settings_from("host=b port=06000 user=app", &env).unwrap();
        assert_eq!(passwords(&s), [None]);
        // A password given wins everywhere, even an empty PGPASSWORD sends none and reads the file.
        let s = settings_from("host=a,b user=app password=given", &env).unwrap();
        assert_eq!(passwords(&s), [Some("given"), Some("given")]);
        let s = settings_from("host=a user=app", &[("PGPASSFILE", &file), ("PGPASSWORD", "env")]).unwrap();
        assert_eq!(passwords(&s), [Some("env")]);
        let s = settings_from("host=a user=app", &[("PGPASSFILE", &file), ("PGPASSWORD", "")]).unwrap();
        assert_eq!(passwords(&s), [Some("pw-a")]);
        // `password=` is given (so PGPASSWORD is not read) but empty, so the file is.
        let s = settings_from("host=a user=app password=", &[("PGPASSFILE", &file), ("PGPASSWORD", "env")])
            .unwrap();
        assert_eq!(passwords(&s), [Some("pw-a")]);
        // A URL's empty password is no password at all: PGPASSWORD is read.
        let s = settings_from("postgres://app:@a", &[("PGPASSFILE", &file), ("PGPASSWORD", "env")]).unwrap();
        assert_eq!(passwords(&s), [Some("env")]);
        let s = settings_from(&format!("host=a user=app passfile={file}"), &[]).unwrap();
        assert_eq!(passwords(&s), [Some("pw-a")]);
        let s = settings_from("host=a user=app", &[("HOME", dir.path().to_str().unwrap())]).unwrap();
        assert_eq!(passwords(&s), [None]);
        std::fs::rename(dir.path().join("pgpass"), dir.path().join(".pgpass")).unwrap();
        let s = settings_from("host=a user=app", &[("HOME", dir.path().to_str().unwrap())]).unwrap();
        assert_eq!(passwords(&s), [Some("pw-a")]);
    }
}
