//! Secrets: the `Secret` type that never formats its value, password files, the names that look
//! like secrets, and the masking of the spans a parser found to hold one. Names no protocol: each
//! check's parser says where its secrets are (on `uri.rs`, or its own for conninfo).

use std::{fmt, ops::Range, path::Path};

use anyhow::Context;

use crate::quote;

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

/// What stands in for a secret in any output.
pub const MASK: &str = "***";

/// `text` as it may be printed: each of the `secrets` spans (byte ranges that a parser found
/// to hold a secret) shown as `***`, overlapping or adjacent ones as one, and the rest with its
/// control characters escaped. Labels are built this way from the parse that read the text.
pub fn mask(text: &str, secrets: &[Range<usize>]) -> String {
    let mut spans: Vec<Range<usize>> = secrets.iter().filter(|span| !span.is_empty()).cloned().collect();
    spans.sort_by_key(|span| span.start);
    let mut out = String::with_capacity(text.len());
    let mut shown = 0;
    for span in spans {
        let (start, end) = (span.start.min(text.len()), span.end.min(text.len()));
        if start > shown {
            out.push_str(&quote::escaped(&text[shown..start]));
        }
        if end > shown {
            if !out.ends_with(MASK) || start > shown {
                out.push_str(MASK);
            }
            shown = end;
        }
    }
    out.push_str(&quote::escaped(&text[shown..]));
    out
}

/// True when a query parameter or conninfo key of this name carries a secret, compared without
/// case: `password`, `pass`, `passwd`, `pwd`, `secret`, `token`, `auth`, `sslpassword`,
/// `access_token`, `api_key`, `key`, `sig`, …, and any name containing `password`, `passwd`,
/// `secret`, `token`, `signature` or `credential` (`client_secret`, `X-Amz-Signature`).
pub fn is_secret_key(name: &str) -> bool {
    const EXACT: &[&str] = &[
        "pass",
        "pwd",
        "pw",
        "auth",
        "authorization",
        "key",
        "apikey",
        "api_key",
        "api-key",
        "sig",
        "session",
        "sessionid",
        "jwt",
    ];
    const PART: &[&str] = &["password", "passwd", "secret", "token", "signature", "credential"];
    let name = name.trim().to_ascii_lowercase();
    EXACT.contains(&name.as_str()) || PART.iter().any(|part| name.contains(part))
}

/// A name from a URL or conninfo (a query parameter's, a key's) as an error may print it: a
/// plain word of modest length that carries no secret, else `…`.
pub fn printable_name(name: &str) -> &str {
    let plain =
        name.len() <= 40 && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if plain && !is_secret_key(name) { name } else { "…" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_keys() {
        for key in [
            "password",
            "PASSWORD",
            "pass",
            "passwd",
            "pwd",
            "secret",
            "token",
            "auth",
            "sslpassword",
            "access_token",
            "client_secret",
            "X-Amz-Signature",
            "api_key",
            "key",
            "sig",
        ] {
            assert!(is_secret_key(key), "{key}");
        }
        for key in ["db", "user", "username", "sslmode", "sslkey", "sslcert", "protocol", "host"] {
            assert!(!is_secret_key(key), "{key}");
        }
    }

    #[test]
    fn a_secret_never_formats_its_value() {
        let secret = Secret::new("hunter2");
        assert_eq!(format!("{secret} {secret:?} {:?}", Some(&secret)), "*** *** Some(***)");
        assert_eq!(secret.expose(), "hunter2");
    }
}
