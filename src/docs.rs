//! The documentation probe carries for the places it is installed: shell completions generated
//! from the command line's own definitions. The manual pages, generated from the same
//! definitions, are `doc/probe.1` and one `doc/probe-CHECK.1` per check; a test keeps them current.

use std::io;

use clap::CommandFactory;

use crate::{
    cli::{Cli, Shell},
    outcome::ExitStatus,
    report,
};

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
    use super::*;

    /// Renders the manual pages; when `doc/` differs, rewrites it and fails, so the change shows
    /// in the diff and the next run passes.
    #[test]
    fn the_manual_pages_are_current() {
        let rendered = tempfile::tempdir().expect("temp dir");
        clap_mangen::generate_to(Cli::command(), rendered.path()).expect("render");
        let doc = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("doc");
        let pages = |dir: &std::path::Path| -> std::collections::BTreeMap<String, Vec<u8>> {
            std::fs::read_dir(dir)
                .into_iter()
                .flatten()
                .flatten()
                .filter(|entry| entry.path().extension().is_some_and(|ext| ext == "1"))
                .map(|entry| {
                    (entry.file_name().to_string_lossy().into_owned(), std::fs::read(entry.path()).unwrap())
                })
                .collect()
        };
        let (mut wanted, current) = (pages(rendered.path()), pages(&doc));
        let top = wanted.get_mut("probe.1").expect("probe.1 rendered");
        *top = with_full_synopsis(top);
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
}
