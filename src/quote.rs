//! Text from outside probe as it may be printed: a peer's words (error messages, reasons,
//! greetings, reply texts) and the targets people type. Control characters are shown escaped,
//! so one target is always one line and no terminal or CI log reads a command in it, and a
//! peer's text is cut to a bounded length. Every quote of a peer goes through [`peer`].

use std::fmt::Write as _;

/// The most characters of a peer's text that are quoted; the rest is shown as `…`.
pub const LONGEST: usize = 300;

/// What a peer sent, as probe quotes it: invalid UTF-8 replaced, control characters escaped
/// (`\n`, `\r`, `\t`, `\0`, `\x1b`, `\u{85}`), at most [`LONGEST`] characters shown, then `…`.
pub fn peer(text: impl AsRef<[u8]>) -> String {
    let text = String::from_utf8_lossy(text.as_ref());
    let mut out = String::with_capacity(text.len().min(LONGEST + 8));
    let mut shown = 0;
    let mut escaped = String::new();
    for c in text.chars() {
        escaped.clear();
        push_escaped(&mut escaped, c);
        shown += escaped.chars().count();
        if shown > LONGEST {
            out.push('…');
            break;
        }
        out.push_str(&escaped);
    }
    out
}

/// `text` with its control characters escaped, whatever its length: for targets and names
/// people wrote, which are printed whole.
pub fn escaped(text: &str) -> String {
    if !text.chars().any(needs_escape) {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len() + 8);
    text.chars().for_each(|c| push_escaped(&mut out, c));
    out
}

/// True for characters that may not be printed as they are: C0 and C1 controls, DEL, and the
/// Unicode line and paragraph separators, which some terminals and log viewers break lines at.
fn needs_escape(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}')
}

fn push_escaped(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\0' => out.push_str("\\0"),
        c if (c as u32) < 0x80 && needs_escape(c) => {
            let _ = write!(out, "\\x{:02x}", c as u32);
        }
        c if needs_escape(c) => {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
        c => out.push(c),
    }
}

/// `text` as a JSON string literal: for `--json` lines and for the JSON a protocol sends
/// (nats's CONNECT).
pub fn json_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c < ' ' => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_shown_escaped() {
        assert_eq!(peer("x\nerror::injected\r\x1b[2J\0ok"), "x\\nerror::injected\\r\\x1b[2J\\0ok");
        assert_eq!(peer(b"bad \xff byte\x7f"), "bad \u{fffd} byte\\x7f");
        assert_eq!(peer("next\u{85}line\u{2028}"), "next\\u{85}line\\u{2028}");
        assert_eq!(escaped("host=db\npassword"), "host=db\\npassword");
        assert_eq!(escaped("plain"), "plain");
    }

    #[test]
    fn a_peer_is_quoted_at_bounded_length() {
        let long = "é".repeat(LONGEST + 50);
        let quoted = peer(&long);
        assert_eq!(quoted.chars().count(), LONGEST + 1);
        assert!(quoted.ends_with('…'));
        assert_eq!(peer("é".repeat(LONGEST)).chars().count(), LONGEST);
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn a_quote_is_one_printable_line(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let quoted = peer(&bytes);
            prop_assert!(!quoted.chars().any(needs_escape), "{quoted:?}");
            prop_assert!(quoted.chars().count() <= LONGEST + 1);
        }
    }
}
