//! The postgres fuzz targets' checks (`fuzz/fuzz_targets/postgres_*.rs` call them; `cargo test`
//! replays the committed inputs through them): the first answer's verdict is stable, and no
//! secret of a URL or conninfo, in any form libpq reads or refuses, reaches a label or message.

use super::{
    conninfo::assigns_a_secret,
    parse::{Parsed, is_secret, parse},
    ping::{Answer, first_answer, verdict},
    settings::settings,
};
use crate::fuzzing::{LONGEST_INPUT, NoEnv, ReadPassword, assert_hidden, command_line, text};

/// PostgreSQL's first answer: a verdict for every answer, and one that once decided does not
/// change as more bytes arrive.
pub fn first_answer_is_stable(data: &[u8]) {
    let data = &data[..data.len().min(LONGEST_INPUT)];
    let answer = first_answer(data);
    let _ = verdict(first_answer(data));
    if answer != Answer::Incomplete {
        let longer = [data, b"E\0\0\0\x08SX\0\0R"].concat();
        assert_eq!(first_answer(&longer), answer, "more bytes changed the answer to {data:?}");
    }
    if let Some((_, shorter)) = data.split_last() {
        let before = first_answer(shorter);
        if before != Answer::Incomplete {
            assert_eq!(before, answer, "the last byte of {data:?} changed the answer");
        }
    }
}

/// What is shown of a target: its label, or the message refusing it, which is one line.
fn shown(text: &str) -> String {
    let shown = match parse(text) {
        Ok(Parsed { label, .. }) => label,
        Err(refused) => refused.to_string(),
    };
    assert!(!shown.contains(['\n', '\r']), "{text:?} shown on several lines: {shown:?}");
    shown
}

/// Keys naming files: what the settings read from them is not the text's.
const FILE_KEYS: &[&str] =
    &["service", "passfile", "sslrootcert", "sslcert", "sslkey", "sslcrl", "sslcrldir", "sslkeylogfile"];

/// conninfo, URL or keywords: no secret shown, in the label, the refusal, the settings' refusal
/// or the command line's output; a keyword string's label reads back as its pairs.
pub fn conninfo_hides_secrets(data: &[u8]) {
    let Some(text) = text(data) else { return };
    let shown = shown(text);
    for index in 0..8 {
        let read = |text: &str| written_secrets(text).into_iter().nth(index);
        let Some(secret) = read(text) else { break };
        assert_hidden("postgres", text, &secret, &shown, &read, &self::shown);
    }
    let Ok(Parsed { pairs, label }) = parse(text) else { return };
    let value_of = |key: &str| {
        let key = key.to_owned();
        move |text: &str| parse(text).ok()?.pairs.into_iter().rev().find(|(k, _)| *k == key).map(|(_, v)| v)
    };
    for (key, value) in &pairs {
        if is_secret(key) {
            assert_hidden("postgres", text, value, &label, &value_of(key), &self::shown);
        }
    }
    if !text.contains("://") && crate::quote::escaped(text) == text {
        let again = parse(&label).unwrap_or_else(|why| panic!("{text:?} shown as {label:?}: {why}"));
        // A secret reads back as `***`; an empty one may show as written (`password=`) or
        // masked with its quotes (`password=''`).
        let expected = pairs.iter().zip(&again.pairs).map(|((key, value), (_, shown))| {
            let masked = if value.is_empty() && shown.is_empty() { "" } else { "***" };
            (key.clone(), if is_secret(key) || assigns_a_secret(value) { masked.to_owned() } else { value.clone() })
        });
        assert_eq!(again.pairs, expected.collect::<Vec<_>>(), "{text:?} shown as {label:?}");
        assert_eq!(again.pairs.len(), pairs.len(), "{text:?} shown as {label:?}");
    }
    let kept: Vec<(String, String)> = pairs.iter().filter(|(key, _)| !FILE_KEYS.contains(&key.as_str())).cloned().collect();
    let password = pairs.iter().rev().find(|(key, _)| key == "password").map(|(_, value)| value.as_str());
    if let Err(why) = settings(&kept, &NoEnv, None) {
        assert!(!why.contains(['\n', '\r']), "{text:?}: a message of several lines: {why:?}");
        if let Some(password) = password {
            let refusal = |text: &str| {
                let pairs = parse(text).map(|parsed| parsed.pairs).unwrap_or_default();
                let kept: Vec<_> = pairs.into_iter().filter(|(key, _)| !FILE_KEYS.contains(&key.as_str())).collect();
                settings(&kept, &NoEnv, None).err().unwrap_or_default()
            };
            assert_hidden("postgres", text, password, &why, &value_of("password"), &refusal);
        }
    }
    if !pairs.iter().any(|(key, _)| FILE_KEYS.contains(&key.as_str())) {
        let read = value_of("password");
        command_line("postgres", text, password.map(|p| (p, &read as &ReadPassword<'_>)));
    }
}

/// A plain reading of the secrets a person wrote, whether libpq would read them or refuse the
/// string: the value after a secret-looking key and `=`, `:` or a space (`password=x`,
/// `PASSWORD=x`, `password:x`, `password x`), and a URL's password up to its last `@`.
fn written_secrets(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    if let Some(rest) = text.strip_prefix("postgres://").or_else(|| text.strip_prefix("postgresql://"))
        && let Some((userinfo, _)) = rest.rsplit_once('@')
        && let Some((_, password)) = userinfo.split_once(':')
    {
        found.push(password.to_owned());
    }
    let words: Vec<&str> = text.split(|c: char| c.is_ascii_whitespace() || c == '&' || c == '?').collect();
    for (index, word) in words.iter().enumerate() {
        let value = match word.split_once(['=', ':']) {
            Some((key, value)) if is_secret(key) => value,
            // `token hunter2`: the next word is its value, unless an `=` makes it a key
            // (`tokendb port = 5433`).
            None if is_secret(word) && !words.get(index + 2).is_some_and(|after| after.starts_with('=')) => {
                words.get(index + 1).copied().unwrap_or_default()
            }
            _ => continue,
        };
        let value = value.trim_matches('\'');
        if !value.is_empty() && !value.contains(['=', '\\']) {
            found.push(value.to_owned());
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 25's forms, through the fuzz target's own checks.
    #[test]
    fn every_secret_form_passes_the_target() {
        for text in [
            "host=db PASSWORD=Zq7Wk3Xp",
            "host=db Password=Zq7Wk3Xp",
            "host=db pass=Zq7Wk3Xp pwd=Qa9Wk3Xp passwd=Za7Qk3Xp",
            "host=db token=Zq7Wk3Xp secret=Qa9Wk3Xp",
            "host=db password Zq7Wk3Xp",
            "host=db password:Zq7Wk3Xp",
            "postgres://app:p@ssZq7Wk3Xp@db/app",
            "postgres://app:Zq7W?k3Xp@db/app?sslmode=require",
            "host=db password=Zq7W://k3Xp application_name=a://b",
            "host=db application_name= password=Zq7Wk3Xp",
            "host=db application_name= password Zq7Wk3Xp",
            "host=db (password Zq7Wk3Xp",
            "postgres://db&sslmode=require&password=Zq7Wk3Xp",
            "postgresql://app@h1:1,h2:2/app password=Zq7Wk3Xp&x=y",
            "postgres://db/app,password=Zq7Wk3Xp?application_name=a,token:Qa9Wk3Xp",
            "host=db application_name='password:Zq7Wk3Xp' x=1",
        ] {
            conninfo_hides_secrets(text.as_bytes());
            assert!(!shown(text).contains("Zq7W"), "{text}: {}", shown(text));
        }
    }
}
