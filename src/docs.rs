//! The documentation probe carries for the places it is installed. Every command's `--help`
//! ends with what it reads from the environment and what its exit status means, built here
//! ([`environment`] for a check, whose `Args` names its variables: one list per check); the
//! manual pages, generated from the same definitions, show them as their ENVIRONMENT and EXIT
//! STATUS sections (`doc/probe.1` and one `doc/probe-COMMAND.1` each; a test keeps them current).
//! Also the shell completions.

use std::io;

use clap::CommandFactory;

use crate::{
    cli::{Cli, Shell},
    outcome::ExitStatus,
    report,
};

/// One line of a help block: what it is about (a variable, several joined by ", ", an exit
/// code) and what it means.
pub type Entry = (&'static str, &'static str);

/// The headings of the blocks a command's help ends with, as its manual page's sections.
pub const ENVIRONMENT: &str = "Environment";
pub const EXIT_STATUS: &str = "Exit status";

/// The variables every command reads: its global options.
const GLOBAL_VARIABLES: Entry = (
    "PROBE_TIMEOUT, PROBE_WAIT, PROBE_INTERVAL, PROBE_QUIET, PROBE_VERBOSE, PROBE_JSON",
    "the global options (--timeout, --wait, --interval, --quiet, --verbose, --json); given on the \
     command line, the option wins; one set to the empty string counts as unset",
);

/// What the global options' variables do for a command they do nothing for.
const IDLE: &str = "read as for a check, so a malformed one is a usage error (3), but without effect here";

/// A check's exit statuses, the same for every check (pg_isready's meanings).
const CHECK_EXIT_STATUS: &[Entry] = &[
    ("0", "every target is healthy"),
    ("1", "reached, but it answered \"not healthy\" (HTTP 503, a wrong password, LOADING, a wrong role, …)"),
    (
        "2",
        "no usable answer: unresolvable, refused, reset, a TLS failure, the deadline passed, not the protocol",
    ),
    ("3", "the probe could not try: a usage or configuration error (a bad flag, URL or file)"),
    ("70", "an internal error in probe (please report it)"),
    (
        "126, 127",
        "with -- COMMAND: the checks passed, but COMMAND cannot be run (126) or was not found (127); \
         once COMMAND runs, its exit status is probe's",
    ),
];

/// The end of a check's `--help` (its `after_long_help`): the `variables` it reads, with what
/// each one is for, then the global options' variables, then the exit statuses.
pub fn environment(variables: &[Entry]) -> String {
    let mut read = variables.to_vec();
    read.push(GLOBAL_VARIABLES);
    [block(ENVIRONMENT, None, &read), block(EXIT_STATUS, Some(HIGHEST), CHECK_EXIT_STATUS)].join("\n\n")
}

const HIGHEST: &str = "with several targets, the highest code among them";

/// The end of `probe --help`.
pub fn top_help() -> String {
    let read = [
        GLOBAL_VARIABLES,
        (
            "PG*, REDIS_URL, REDISCLI_AUTH, AMQP_URL, MYSQL_PWD, MYSQL_HOST, NATS_URL, USER, SSL_CERT_FILE, …",
            "read by each check as its reference tool reads them (libpq, redis-cli, the mysql client, \
             OpenSSL): each check's list is in 'probe CHECK --help' and probe-CHECK(1)",
        ),
    ];
    [block(ENVIRONMENT, None, &read), block(EXIT_STATUS, Some(HIGHEST), CHECK_EXIT_STATUS)].join("\n\n")
}

/// The end of `probe install --help`.
pub fn install_help() -> String {
    let read = [
        ("PROBE_QUIET", "print nothing, as --quiet"),
        ("PROBE_TIMEOUT, PROBE_WAIT, PROBE_INTERVAL, PROBE_VERBOSE, PROBE_JSON", IDLE),
    ];
    let status = [
        ("0", "installed: DIR/probe is a complete copy, and its path is printed"),
        (
            "3",
            "DIR is missing, not a directory, or not writable (the message says which); nothing is left in it",
        ),
        ("70", "an internal error in probe (please report it)"),
    ];
    [block(ENVIRONMENT, None, &read), block(EXIT_STATUS, None, &status)].join("\n\n")
}

/// The end of `probe completions --help`.
pub fn completions_help() -> String {
    let status = [
        ("0", "the script was printed (or its reader stopped early, as `| head` does)"),
        ("3", "an unknown shell, or the script could not be written"),
    ];
    [block(ENVIRONMENT, None, &[(GLOBAL_VARIABLES.0, IDLE)]), block(EXIT_STATUS, None, &status)].join("\n\n")
}

/// `Heading (note):` and one `  what: meaning` line per entry, wrapped, or `Heading: none.`
fn block(heading: &str, note: Option<&str>, entries: &[Entry]) -> String {
    const WIDTH: usize = 100;
    if entries.is_empty() {
        return format!("{heading}: none.");
    }
    let mut text = match note {
        Some(note) => format!("{heading} ({note}):"),
        None => format!("{heading}:"),
    };
    for (what, meaning) in entries {
        let mut line = String::from(" ");
        for word in format!("{what}: {meaning}").split_whitespace() {
            if line.len() + 1 + word.len() > WIDTH && !line.trim().is_empty() {
                text.push('\n');
                text.push_str(&line);
                line = String::from("   ");
            }
            line.push(' ');
            line.push_str(word);
        }
        text.push('\n');
        text.push_str(&line);
    }
    text
}

/// A block read back: heading, note, and entries (what, meaning).
#[cfg(test)]
type Block = (String, Option<String>, Vec<(String, String)>);

/// The blocks `text` holds, as [`block`] wrote them.
#[cfg(test)]
fn blocks(text: &str) -> Vec<Block> {
    let mut found: Vec<(String, Option<String>, Vec<String>)> = Vec::new();
    for line in text.lines().filter(|line| !line.trim().is_empty()) {
        if let Some(more) = line.strip_prefix("    ") {
            let entry = found.last_mut().and_then(|block| block.2.last_mut()).expect("an entry first");
            entry.push(' ');
            entry.push_str(more);
        } else if let Some(entry) = line.strip_prefix("  ") {
            found.last_mut().expect("a heading first").2.push(entry.to_owned());
        } else {
            let heading = line.strip_suffix(':').or_else(|| line.strip_suffix(": none.")).expect(line);
            let (heading, note) = match heading.split_once(" (") {
                Some((heading, note)) => (heading, note.strip_suffix(')').map(str::to_owned)),
                None => (heading, None),
            };
            found.push((heading.to_owned(), note, Vec::new()));
        }
    }
    let entry = |text: String| {
        let (what, meaning) = text.split_once(": ").expect("an entry is `what: meaning`");
        (what.to_owned(), meaning.to_owned())
    };
    found
        .into_iter()
        .map(|(heading, note, entries)| (heading, note, entries.into_iter().map(entry).collect()))
        .collect()
}

/// Prints the completion script for `shell`. A reader that stops early (`| head`) is no error:
/// probe stops quietly, as `yes | head` does.
pub fn completions(shell: Shell) -> ExitStatus {
    use clap_complete::{generate, shells};
    // Written whole from a buffer: clap_complete panics on a write error.
    let (mut command, mut script) = (Cli::command(), Vec::new());
    match shell {
        Shell::Bash => generate(shells::Bash, &mut command, "probe", &mut script),
        Shell::Zsh => generate(shells::Zsh, &mut command, "probe", &mut script),
        Shell::Fish => generate(shells::Fish, &mut command, "probe", &mut script),
    }
    match report::print_bytes(true, &script) {
        Err(err) if err.kind() != io::ErrorKind::BrokenPipe => {
            report::print_line(
                false,
                &format!("probe: cannot write the script: {}", crate::net::describe(&err)),
            );
            ExitStatus::Usage
        }
        _ => ExitStatus::Healthy,
    }
}

#[cfg(test)]
mod tests {
    use std::{collections::BTreeMap, path::Path};

    use super::*;

    /// A command's manual page: clap_mangen's, with DETAILS from what its help begins with, and
    /// ENVIRONMENT and EXIT STATUS from the blocks it ends with in place of the EXTRA section
    /// clap_mangen would make of them.
    fn page(command: &clap::Command) -> Vec<u8> {
        let help = command.get_after_long_help().map(ToString::to_string).unwrap_or_default();
        let sections = blocks(&help);
        let names: Vec<&str> = sections.iter().map(|(heading, ..)| heading.as_str()).collect();
        assert_eq!(
            names,
            [ENVIRONMENT, EXIT_STATUS],
            "{}: its help must end with both blocks",
            command.get_name()
        );
        let mut roff = String::new();
        // clap_mangen leaves out what `--help` prints first: a check's notes on its options.
        if let Some(details) = command.get_before_long_help() {
            roff.push_str(&format!(".SH DETAILS\n.PP\n{}\n", escaped(&details.to_string())));
        }
        for (heading, note, entries) in sections {
            roff.push_str(&format!(".SH \"{}\"\n", heading.to_uppercase()));
            if let Some(note) = note {
                roff.push_str(&format!(".PP\n{}.\n", escaped(&capitalised(&note))));
            }
            if entries.is_empty() {
                roff.push_str(".PP\nNone.\n");
            }
            for (what, meaning) in entries {
                roff.push_str(&format!(
                    ".TP\n\\fB{}\\fR\n{}\n",
                    escaped(&what),
                    escaped(&capitalised(&meaning))
                ));
            }
        }
        let mut page = Vec::new();
        clap_mangen::Man::new(command.clone().after_long_help(None)).render(&mut page).unwrap();
        let page = String::from_utf8(page).expect("roff is text");
        let at = page.find(".SH VERSION\n").unwrap_or(page.len());
        format!("{}{roff}{}", &page[..at], &page[at..]).into_bytes()
    }

    /// Text for roff: backslashes and hyphens escaped, no line taken for a request.
    fn escaped(text: &str) -> String {
        let text = text.replace('\\', "\\e").replace('-', "\\-");
        if text.starts_with(['.', '\'']) { format!("\\&{text}") } else { text }
    }

    fn capitalised(text: &str) -> String {
        let mut chars = text.chars();
        chars.next().map(|first| first.to_uppercase().chain(chars).collect()).unwrap_or_default()
    }

    /// Every page, by file name: `probe.1`, and `probe-tcp.1` and so on for each subcommand.
    fn pages() -> BTreeMap<String, Vec<u8>> {
        let mut command = Cli::command().disable_help_subcommand(true);
        command.build();
        let mut pages = BTreeMap::new();
        for sub in command.get_subcommands().filter(|sub| !sub.is_hide_set()) {
            pages.insert(format!("{}.1", sub.get_display_name().unwrap_or(sub.get_name())), page(sub));
        }
        pages.insert("probe.1".to_owned(), with_full_synopsis(&page(&command)));
        pages
    }

    /// Renders the manual pages; when `doc/` differs, rewrites it and fails, so the change shows
    /// in the diff and the next run passes.
    #[test]
    fn the_manual_pages_are_current() {
        let doc = Path::new(env!("CARGO_MANIFEST_DIR")).join("doc");
        let current: BTreeMap<String, Vec<u8>> = std::fs::read_dir(&doc)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|entry| entry.path().extension().is_some_and(|ext| ext == "1"))
            .map(|entry| {
                (entry.file_name().to_string_lossy().into_owned(), std::fs::read(entry.path()).unwrap())
            })
            .collect();
        let wanted = pages();
        if wanted != current {
            for stale in current.keys().filter(|name| !wanted.contains_key(*name)) {
                std::fs::remove_file(doc.join(stale)).expect("remove a stale page");
            }
            for (name, page) in &wanted {
                std::fs::write(doc.join(name), page).expect("write a page");
            }
            panic!("doc/*.1 were out of date and have been regenerated: commit them");
        }
    }

    /// clap_mangen ends the top page's synopsis at `<check>`, since the targets and `-- COMMAND`
    /// belong to the checks: the synopsis says the whole command line, as the usage line does.
    fn with_full_synopsis(page: &[u8]) -> Vec<u8> {
        let page = String::from_utf8(page.to_vec()).expect("roff is text");
        let check = r"<\fIcheck\fR>";
        let whole = concat!(
            r"<\fIcheck\fR> [\fIcheck options\fR] [\fItarget\fR]... [\fB\-\-\fR \fIcommand\fR [\fIarg\fR]...]",
            "\n.br\n",
            r"\fBprobe install\fR \fIdir\fR",
        );
        assert_eq!(page.matches(check).count(), 1, "the synopsis of probe.1 changed shape:\n{page}");
        page.replacen(check, whole, 1).into_bytes()
    }

    #[test]
    fn the_top_manual_page_names_targets_and_the_command() {
        let page = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/doc/probe.1")).unwrap();
        let synopsis = page.split(".SH SYNOPSIS").nth(1).and_then(|rest| rest.split(".SH").next()).unwrap();
        assert!(synopsis.contains(r"[\fItarget\fR]..."), "{synopsis}");
        assert!(synopsis.contains(r"\fBprobe install\fR \fIdir\fR"), "{synopsis}");
    }

    #[test]
    fn every_manual_page_says_its_environment_and_exit_status() {
        let pages = pages();
        assert!(pages.len() >= 12, "{:?}", pages.keys());
        for (name, page) in &pages {
            let page = String::from_utf8_lossy(page);
            assert!(page.contains("\n.SH \"ENVIRONMENT\"\n"), "{name}");
            assert!(page.contains("\n.SH \"EXIT STATUS\"\n"), "{name}");
        }
        let postgres = String::from_utf8_lossy(&pages["probe-postgres.1"]).into_owned();
        assert!(postgres.contains(r"\fBPGHOST, "), "{postgres}");
        let http = String::from_utf8_lossy(&pages["probe-http.1"]).into_owned();
        assert!(http.contains(".TP\n\\fBSSL_CERT_FILE\\fR\n"), "{http}");
        assert!(http.contains(".TP\n\\fB3\\fR\nThe probe could not try"), "{http}");
    }

    #[test]
    fn blocks_read_back() {
        let text = environment(&[(
            "A_VERY_LONG_NAME, ANOTHER",
            "what they are for, at some length so that the line has to wrap somewhere past a hundred columns",
        )]);
        let read = blocks(&text);
        assert_eq!(read.len(), 2, "{text}");
        assert_eq!(read[0].2[0].0, "A_VERY_LONG_NAME, ANOTHER");
        assert!(read[0].2[0].1.ends_with("wrap somewhere past a hundred columns"), "{text}");
        assert!(text.lines().all(|line| line.len() <= 100), "{text}");
        assert_eq!(blocks(&block(ENVIRONMENT, None, &[]))[0], (ENVIRONMENT.to_owned(), None, Vec::new()));
    }

    /// An environment that says which variables were asked for, holding `values`.
    struct Recorder {
        asked: std::sync::Mutex<Vec<String>>,
        values: &'static [(&'static str, &'static str)],
    }

    impl crate::env::Env for Recorder {
        fn var(&self, name: &str) -> Option<String> {
            self.asked.lock().unwrap().push(name.to_owned());
            self.values.iter().find(|(key, _)| *key == name).map(|(_, value)| value.to_string())
        }

        fn os_user(&self) -> Option<String> {
            None
        }
    }

    /// The variables each check reads, found by building its targets from typical command lines
    /// with an environment that records what is asked for, are all in its `--help`.
    #[test]
    fn every_check_lists_the_variables_it_reads() {
        type Case = (&'static [&'static str], &'static [(&'static str, &'static str)]);
        let cases: &[Case] = &[
            (&["tcp", "db:1"], &[]),
            (&["http", "https://db/"], &[]),
            (&["http", "http://db/"], &[]),
            (&["postgres"], &[]),
            (&["postgres", "postgres://u@db/app"], &[("HOME", "/nonexistent")]),
            (&["postgres"], &[("PGSERVICE", "probe-none"), ("HOME", "/nonexistent")]),
            (&["postgres", "host=db sslmode=verify-full"], &[]),
            (&["redis"], &[]),
            (&["redis", "rediss://db"], &[]),
            (&["grpc", "grpcs://db:1"], &[]),
            (&["grpc", "db:1"], &[]),
            (&["file", "/x"], &[]),
            (&["process", "x"], &[]),
            (&["amqp"], &[]),
            (&["amqp", "amqps://db"], &[]),
            (&["mysql"], &[]),
            (&["mysql", "mysql://db/?ssl-mode=VERIFY_CA"], &[]),
            (&["mysql", "mysql://u@db"], &[]),
            (&["nats"], &[]),
            (&["nats", "tls://db"], &[]),
            (&["mqtt"], &[]),
            (&["mqtt", "mqtts://db"], &[]),
        ];
        let mut command = Cli::command();
        command.build();
        let mut seen = std::collections::BTreeSet::new();
        for (args, values) in cases {
            let Some(check) = command.find_subcommand(args[0]) else { continue };
            let help = check.get_after_long_help().map(ToString::to_string).unwrap_or_default();
            let listed: Vec<String> = blocks(&help)
                .into_iter()
                .filter(|(heading, ..)| heading == ENVIRONMENT)
                .flat_map(|(_, _, entries)| entries)
                .flat_map(|(what, _)| what.split(", ").map(str::to_owned).collect::<Vec<_>>())
                .collect();
            assert!(listed.iter().any(|name| name == "PROBE_TIMEOUT"), "{}: {help}", args[0]);
            let argv = std::iter::once("probe").chain(args.iter().copied());
            let Ok(crate::cli::Cli { command: crate::cli::Command::Check(check_args), .. }) =
                <Cli as clap::Parser>::try_parse_from(argv)
            else {
                panic!("{args:?} parses");
            };
            let recorder = Recorder { asked: Default::default(), values };
            let _ = check_args.targets(&recorder);
            for name in recorder.asked.into_inner().unwrap() {
                assert!(
                    listed.contains(&name),
                    "probe {} reads {name}, but its --help does not list it:\n{help}",
                    args[0]
                );
                seen.insert(name);
            }
        }
        // The recorder saw the checks read: the test is not vacuous.
        for name in [
            "PGHOST",
            "PGSERVICEFILE",
            "REDIS_URL",
            "REDISCLI_AUTH",
            "SSL_CERT_FILE",
            "AMQP_URL",
            "MYSQL_PWD",
            "NATS_URL",
            "NATS_CREDS",
        ] {
            assert!(seen.contains(name), "{name} was never asked for: {seen:?}");
        }
    }
}
