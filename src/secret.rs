//! Redaction: passwords never reach the output, whichever form they came in.

use std::{fmt, path::Path};

use anyhow::Context;

/// A password. Its `Debug` and `Display` show `***`; only `expose` gives the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Reads a password file: its text without one trailing newline, as libpq and redis-cli users
/// expect from `echo secret > file`. An empty file is refused: it is a Secret mounted wrong far
/// more often than a real empty password. The file's contents never appear in an error.
pub fn read_password_file(path: &Path) -> anyhow::Result<Secret> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read --password-file {}", path.display()))?;
    let password = text.strip_suffix('\n').unwrap_or(&text);
    let password = password.strip_suffix('\r').unwrap_or(password);
    if password.is_empty() {
        anyhow::bail!("--password-file {} is empty", path.display());
    }
    Ok(Secret::new(password))
}

/// `url` with the password of its `user:password@` part, if any, shown as `***`.
pub fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else { return url.to_owned() };
    let rest = &url[scheme_end..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else { return url.to_owned() };
    match rest[..at].split_once(':') {
        Some((user, _password)) => format!("{}{user}:***{}", &url[..scheme_end], &rest[at..]),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_in_urls_are_starred() {
        assert_eq!(redact_url("redis://:pw@cache:6379/0"), "redis://:***@cache:6379/0");
        assert_eq!(
            redact_url("postgres://app:p%40ss@db/app?sslmode=require"),
            "postgres://app:***@db/app?sslmode=require"
        );
        assert_eq!(redact_url("http://u:p:q@h/x@y"), "http://u:***@h/x@y");
        assert_eq!(redact_url("http://a:b@c@host/"), "http://a:***@host/");
        assert_eq!(redact_url("https://user@host/"), "https://user@host/");
        assert_eq!(redact_url("http://host/?q=a:b@c"), "http://host/?q=a:b@c");
        assert_eq!(redact_url("not a url"), "not a url");
    }

    #[test]
    fn a_secret_never_formats_its_value() {
        let secret = Secret::new("hunter2");
        assert_eq!(format!("{secret} {secret:?} {:?}", Some(&secret)), "*** *** Some(***)");
        assert_eq!(secret.expose(), "hunter2");
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn a_url_password_never_survives(
            scheme in "(http|https|redis|rediss|postgres)",
            user in "[a-z]{0,8}",
            password in "[A-Za-z0-9]{12,20}",
            rest in "[a-z0-9.:/?=&@-]{0,30}",
        ) {
            let url = format!("{scheme}://{user}:{password}@{rest}");
            prop_assert!(!redact_url(&url).contains(&password), "{}", redact_url(&url));
        }

        #[test]
        fn any_text_is_redacted_without_panic(text in any::<String>()) {
            let _ = redact_url(&text);
        }
    }
}
