//! `key=value` connection strings, read as libpq's `conninfo_parse` reads them (spaces around
//! `=`, single quotes, backslash escapes), into pairs and the byte spans of their secrets. The
//! label is the text with those spans masked (`secret::mask`), so it is the text as typed, on
//! one line. A refused string is named the same way: the whole text is read for secrets even
//! past the word libpq stops at, and a word that may be a secret's (a word after a secret value,
//! which an unquoted space cut off, or a word that is no plain name) is masked and never quoted.

use super::parse::{Parsed, Refused, is_keyword, is_secret};
use crate::{
    secret::{self, printable_name},
    uri::Span,
};

/// libpq's `isspace`: ASCII whitespace, vertical tab included.
pub fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\x0b' | '\x0c' | '\r')
}

/// One word of the string, as libpq's reading sees it.
#[derive(Debug)]
enum Token {
    /// `key=value`: the key, the value's span as written (quotes included), and its value.
    Pair { key: Span, value: Span, decoded: String },
    /// A word not followed by `=`: libpq stops here.
    Bare(Span),
    /// `key='…` without its closing quote: the value runs to the end.
    Unterminated { value: Span },
}

pub fn parse(text: &str) -> Result<Parsed, Refused> {
    let tokens = tokens(text);
    let secrets = secrets(text, &tokens);
    let name = || secret::mask(text, &secrets);
    let mut pairs = Vec::with_capacity(tokens.len());
    let mut after_secret = false;
    for token in &tokens {
        let why = match token {
            Token::Pair { key, decoded, .. } if is_keyword(&text[key.clone()]) => {
                pairs.push((text[key.clone()].to_owned(), decoded.clone()));
                after_secret = is_secret(&text[key.clone()]) || is_secret(decoded);
                continue;
            }
            Token::Pair { key, .. } => {
                format!("invalid connection option \"{}\"", printable_name(&text[key.clone()]))
            }
            Token::Bare(word) => missing_equals(&text[word.clone()], after_secret),
            Token::Unterminated { .. } => "unterminated quoted string in connection info string".to_owned(),
        };
        return Err(Refused { name: name(), why });
    }
    Ok(Parsed { pairs, label: name() })
}

/// libpq's words for a word without `=`, quoting the word only when it is a plain name that
/// cannot be a secret's value.
fn missing_equals(word: &str, after_secret: bool) -> String {
    if after_secret {
        return "missing \"=\" after the word that follows a secret value (quote a value that holds spaces: key='a b')".to_owned();
    }
    match printable_name(word) {
        "…" => "missing \"=\" after a word in connection info string (write key=value)".to_owned(),
        word => format!("missing \"=\" after \"{word}\" in connection info string"),
    }
}

/// Every word of `text`, as far as it goes: libpq stops at the first bad one, probe reads on
/// so that the secrets after it are masked too.
fn tokens(text: &str) -> Vec<Token> {
    let bytes = text.as_bytes();
    let space = |i: usize| is_space(char::from(bytes[i]));
    let skip_spaces = |mut i: usize| {
        while i < bytes.len() && space(i) {
            i += 1;
        }
        i
    };
    let mut tokens = Vec::new();
    let mut at = skip_spaces(0);
    while at < bytes.len() {
        let key_start = at;
        while at < bytes.len() && bytes[at] != b'=' && !space(at) {
            at += 1;
        }
        let key = key_start..at;
        at = skip_spaces(at);
        if bytes.get(at) != Some(&b'=') {
            tokens.push(Token::Bare(key));
            continue;
        }
        at = skip_spaces(at + 1);
        match value(text, at) {
            Ok((decoded, end)) => {
                tokens.push(Token::Pair { key, value: at..end, decoded });
                at = skip_spaces(end);
            }
            Err(()) => {
                tokens.push(Token::Unterminated { value: at..text.len() });
                break;
            }
        }
    }
    tokens
}

/// The value starting at `start`: quoted (`'…'`, `\` escaping any character) or up to the next
/// space (`\` escaping too; a trailing one is dropped). Its decoded text and where it ends.
fn value(text: &str, start: usize) -> Result<(String, usize), ()> {
    let mut chars = text[start..].char_indices().peekable();
    let mut decoded = String::new();
    if chars.next_if(|(_, c)| *c == '\'').is_some() {
        loop {
            match chars.next() {
                None => return Err(()),
                Some((i, '\'')) => return Ok((decoded, start + i + 1)),
                Some((_, '\\')) => decoded.extend(chars.next().map(|(_, c)| c)),
                Some((_, c)) => decoded.push(c),
            }
        }
    }
    while let Some((i, c)) = chars.next() {
        match c {
            c if is_space(c) => return Ok((decoded, start + i)),
            '\\' => decoded.extend(chars.next().map(|(_, c)| c)),
            c => decoded.push(c),
        }
    }
    Ok((decoded, text.len()))
}

/// True for a word made as names are (letters, digits, `_`, `-`, `.`, at most 40), whatever it
/// names: one that is not may be a secret glued to its key (`password:hunter2`).
fn is_plain_name(word: &str) -> bool {
    word.len() <= 40 && word.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// True for a value holding a word such as `password=…` or `token:…`: a secret's key and value
/// that a slip (an empty value before it, a comma for a space) made part of another value.
pub(super) fn assigns_a_secret(value: &str) -> bool {
    value
        .split(|c: char| c.is_whitespace() || matches!(c, '&' | '?' | ',' | ';'))
        .any(|word| word.split_once(['=', ':']).is_some_and(|(key, _)| is_secret(key)))
}

/// The spans to mask: a secret key's value (and the `=`-less words right after it, the rest of
/// a value an unquoted space cut off), a value without its closing quote, and any word or
/// unknown key that is no plain name (`password:hunter2`).
fn secrets(text: &str, tokens: &[Token]) -> Vec<Span> {
    let plain = |span: &Span| is_plain_name(&text[span.clone()]);
    let mut spans = Vec::new();
    let mut run_on = false;
    for token in tokens {
        match token {
            Token::Pair { key, value, decoded } => {
                let key_text = &text[key.clone()];
                if !is_keyword(key_text) && !plain(key) {
                    spans.push(key.clone());
                }
                // A key probe does not know may be a misspelt secret's (`pasword=`), and its
                // value may hold one (`x=a?password=b`, found by fuzzing): never shown. Nor is
                // a value that reads as a secret's assignment: libpq takes `password=hunter2` as
                // the application name in `application_name= password=hunter2`.
                if is_secret(key_text) || !is_keyword(key_text) || assigns_a_secret(decoded) {
                    spans.push(value.clone());
                }
                run_on = is_secret(key_text) || is_secret(decoded);
            }
            Token::Bare(word) => {
                if run_on || !plain(word) {
                    spans.push(word.clone());
                }
                // `(password hunter2`: the word after one naming a secret is masked, whatever
                // else the first word holds.
                run_on = run_on || is_secret(&text[word.clone()]);
            }
            Token::Unterminated { value, .. } => spans.push(value.clone()),
        }
    }
    spans
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(text: &str) -> Vec<(String, String)> {
        parse(text).unwrap_or_else(|err| panic!("{text}: {err}")).pairs
    }

    fn kv(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn keyword_strings_with_quotes_and_escapes() {
        assert_eq!(
            pairs(r"host=db port = 5433 password='a b\'c' user=x\ y dbname=''"),
            kv(&[("host", "db"), ("port", "5433"), ("password", "a b'c"), ("user", "x y"), ("dbname", "")])
        );
        assert_eq!(pairs("host=a\\"), kv(&[("host", "a")]));
        assert_eq!(
            pairs("host=x\x0bport=1\x0csslmode=disable\r"),
            kv(&[("host", "x"), ("port", "1"), ("sslmode", "disable")])
        );
        // A non-ASCII space is part of the value, as in libpq.
        assert_eq!(pairs("host=a\u{a0}port=1"), kv(&[("host", "a\u{a0}port=1")]));
        assert_eq!(pairs("host=a=b"), kv(&[("host", "a=b")]));
        assert_eq!(pairs("host=a host=b"), kv(&[("host", "a"), ("host", "b")]));
        assert_eq!(pairs("  "), kv(&[]));
    }

    /// Each refused string was refused by libpq 15 too, with the reason quoted here; probe
    /// quotes a word only when it cannot be a secret's.
    #[test]
    fn what_libpq_refuses_is_refused_with_its_reason() {
        for (text, expected) in [
            ("mydb", "'mydb': missing \"=\" after \"mydb\" in connection info string"),
            ("host=db nonsense", "'host=db nonsense': missing \"=\" after \"nonsense\""),
            ("host='db", "'host=***': unterminated quoted string"),
            ("host='a\\'", "'host=***': unterminated quoted string"),
            ("host=db sslfoo=1", "'host=db sslfoo=***': invalid connection option \"sslfoo\""),
            ("=x", "invalid connection option \"\""),
            ("ssl=true", "invalid connection option \"ssl\""),
            // libpq stops at the first bad word; the secrets after it are masked all the same.
            ("bogus=1 password=hunter2", "'bogus=*** password=***': invalid connection option \"bogus\""),
        ] {
            let err = parse(text).expect_err(text).to_string();
            assert!(err.contains(expected), "{text}: {err}");
        }
    }

    /// Issue 25's forms: a secret-looking key in any case, and a missing `=` whose next word
    /// is the secret; neither the label nor the reason holds it.
    #[test]
    fn every_secret_form_is_masked_when_refused() {
        for (text, name, why) in [
            ("host=db PASSWORD=hunter2", "host=db PASSWORD=***", "invalid connection option \"…\""),
            ("host=db Password=hunter2", "host=db Password=***", "invalid connection option \"…\""),
            ("host=db pass=hunter2", "host=db pass=***", "invalid connection option \"…\""),
            ("host=db pwd=hunter2", "host=db pwd=***", "invalid connection option \"…\""),
            ("host=db passwd=hunter2", "host=db passwd=***", "invalid connection option \"…\""),
            ("host=db token=hunter2", "host=db token=***", "invalid connection option \"…\""),
            ("host=db secret=hunter2", "host=db secret=***", "invalid connection option \"…\""),
            ("host=db password hunter2", "host=db password ***", "missing \"=\" after a word"),
            ("host=db password:hunter2", "host=db ***", "missing \"=\" after a word"),
            ("password=hunter 2x", "password=*** ***", "follows a secret value"),
            ("password:hunter2=x", "***=***", "invalid connection option \"…\""),
            ("host='db password=hunter2", "host=***", "unterminated quoted string"),
        ] {
            let refused = parse(text).expect_err(text);
            assert_eq!((refused.name.as_str(), refused.why.contains(why)), (name, true), "{text}: {refused}");
            assert!(!refused.to_string().contains("hunter"), "{text}: {refused}");
        }
    }

    #[test]
    fn labels_are_the_text_with_secrets_masked_on_one_line() {
        let label = |text: &str| parse(text).unwrap().label;
        assert_eq!(label("host=db password='s3 cret' user=app"), "host=db password=*** user=app");
        assert_eq!(label("host=db password = s3cret dbname=x"), "host=db password = *** dbname=x");
        assert_eq!(label("dbname='my db' sslpassword=k scram_client_key=c"), "dbname='my db' sslpassword=*** scram_client_key=***");
        assert_eq!(label("host=db application_name='a\nb'"), "host=db application_name='a\\nb'");
        assert_eq!(label("password='a\nb' host=db"), "password=*** host=db");
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn any_text_parses_or_says_why_in_one_line(text in any::<String>()) {
            match parse(&text) {
                Ok(parsed) => prop_assert!(!parsed.label.contains(['\n', '\r'])),
                Err(refused) => prop_assert!(!refused.to_string().contains(['\n', '\r'])),
            }
        }

        #[test]
        fn a_password_never_reaches_the_label_or_the_reason(
            password in "[A-Za-z0-9]{12,20}",
            key in "(password|PASSWORD|Password|pass|pwd|passwd|token|secret|sslpassword)",
            sep in "(=| = |=')",
            before in "(host=db |user=app |bogus=1 |)",
            after in "( dbname=x| port=5432| nonsense| x:y|)",
        ) {
            let close = if sep.ends_with('\'') { "'" } else { "" };
            let text = format!("{before}{key}{sep}{password}{close}{after}");
            let shown = match parse(&text) {
                Ok(parsed) => parsed.label,
                Err(refused) => refused.to_string(),
            };
            prop_assert!(!shown.contains(&password), "{text} shown as {shown}");
            for joined in [format!("{key} {password}"), format!("{key}:{password}")] {
                let text = format!("{before}{joined}{after}");
                prop_assert!(!parse(&text).unwrap_err().to_string().contains(&password), "{text}");
            }
        }
    }
}
