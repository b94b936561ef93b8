//! `-H` as the checks that send headers (http, grpc) read it: `Name: value`, or `@FILE` with one `Name: value`
//! a line (a mounted Secret, as curl's `-H @FILE` reads it), so that a token need be on no
//! command line. A value may be a credential: no message quotes one, and a name is named only
//! through `secret::printable_name`. What a name may be is each check's own rule.

use anyhow::anyhow;

use crate::{net, quote, secret};

/// Hands every header given to `add` as its name and value, both trimmed. `@FILE` gives one a
/// line; blank lines are skipped, and the `\r` of a file with CRLF line ends is no part of a
/// value, as it is not of one written on the command line from `$(cat token)`. An error says
/// where the header came from (`-H`, `-H @FILE, line 2`) and why, never what its value is.
pub fn each(given: &[String], mut add: impl FnMut(&str, &str) -> Result<(), String>) -> anyhow::Result<()> {
    for header in given {
        let Some(path) = header.strip_prefix('@') else {
            one(header, &mut add).map_err(|why| anyhow!("-H: {why}"))?;
            continue;
        };
        let shown = quote::escaped(path);
        let text = std::fs::read_to_string(path)
            .map_err(|err| anyhow!("-H @{shown}: cannot read it: {}", net::describe(&err)))?;
        for (number, line) in text.lines().enumerate() {
            if !line.trim().is_empty() {
                one(line, &mut add).map_err(|why| anyhow!("-H @{shown}, line {}: {why}", number + 1))?;
            }
        }
    }
    Ok(())
}

fn one(header: &str, add: &mut impl FnMut(&str, &str) -> Result<(), String>) -> Result<(), String> {
    let (name, value) = header.split_once(':').ok_or("write a header as 'Name: value'")?;
    let (name, value) = (name.trim(), value.trim());
    // Go's ValidHeaderFieldValue and the http crate's HeaderValue agree: no control character
    // but the tab, and no DEL.
    if value.bytes().any(|b| b != b'\t' && (b < b' ' || b == 0x7f)) {
        return Err(format!(
            "the value of {} has a control character, which a header cannot carry",
            named(name)
        ));
    }
    add(name, value)
}

/// A header's name as a message may print it: `header 'X-Probe'`, or `a header` when the name
/// is not a plain word or looks like a secret's (`Authorization`).
pub fn named(name: &str) -> String {
    match secret::printable_name(name) {
        "…" => "a header".to_owned(),
        plain => format!("header '{plain}'"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(given: &[&str]) -> Result<Vec<(String, String)>, String> {
        let given: Vec<String> = given.iter().map(|s| s.to_string()).collect();
        let mut all = Vec::new();
        each(&given, |name, value| {
            all.push((name.to_owned(), value.to_owned()));
            Ok(())
        })
        .map(|()| all)
        .map_err(|err| err.to_string())
    }

    #[test]
    fn names_and_values_are_trimmed() {
        let read = read(&["x-probe:  yes ", "Host: a:1", "Authorization: Bearer abc\r"]).unwrap();
        let pairs: Vec<(&str, &str)> = read.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        assert_eq!(pairs, [("x-probe", "yes"), ("Host", "a:1"), ("Authorization", "Bearer abc")]);
    }

    #[test]
    fn no_message_quotes_a_value_or_a_secret_name() {
        for (header, expected) in [
            ("Authorization Bearer s3cret", "-H: write a header as 'Name: value'"),
            ("Authorization: Bearer s3c\rret", "-H: the value of a header has a control character"),
            ("X-Probe: s3c\nret", "-H: the value of header 'X-Probe' has a control character"),
        ] {
            let err = read(&[header]).unwrap_err();
            assert!(err.starts_with(expected) && !err.contains("s3c"), "{header:?}: {err}");
        }
    }

    #[test]
    fn a_file_gives_one_header_a_line() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("headers");
        std::fs::write(&file, "Authorization: Bearer abc\r\n\nx-id: 3\n").unwrap();
        let given = format!("@{}", file.display());
        let read_back = read(&[&given, "x-id: 4"]).unwrap();
        assert_eq!(read_back.len(), 3);
        assert_eq!((read_back[0].1.as_str(), read_back[1].1.as_str()), ("Bearer abc", "3"));
        std::fs::write(&file, "x-id: 1\nAuthorization Bearer s3cret\n").unwrap();
        let err = read(&[&given]).unwrap_err();
        assert_eq!(err, format!("-H @{}, line 2: write a header as 'Name: value'", file.display()));
        let err = read(&["@/nonexistent/headers"]).unwrap_err();
        assert_eq!(err, "-H @/nonexistent/headers: cannot read it: no such file or directory");
    }
}
