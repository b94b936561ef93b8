//! The documentation probe carries for the places it is installed: shell completions generated
//! from the command line's own definitions. The manual page, generated from the same
//! definitions, is `doc/probe.1`; a test keeps it current.

use std::io;

use clap::CommandFactory;

use crate::{
    cli::{Cli, Shell},
    outcome::ExitStatus,
};

pub fn completions(shell: Shell) -> ExitStatus {
    use clap_complete::{generate, shells};
    let (mut command, out) = (Cli::command(), &mut io::stdout());
    match shell {
        Shell::Bash => generate(shells::Bash, &mut command, "probe", out),
        Shell::Zsh => generate(shells::Zsh, &mut command, "probe", out),
        Shell::Fish => generate(shells::Fish, &mut command, "probe", out),
    }
    ExitStatus::Healthy
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Renders the manual page; when `doc/probe.1` differs, rewrites it and fails, so the change
    /// shows in the diff and the next run passes.
    #[test]
    fn the_manual_page_is_current() {
        let mut page = Vec::new();
        clap_mangen::Man::new(Cli::command()).render(&mut page).expect("render");
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("doc/probe.1");
        let current = std::fs::read(&path).unwrap_or_default();
        if current != page {
            std::fs::create_dir_all(path.parent().expect("doc/")).expect("mkdir doc");
            std::fs::write(&path, &page).expect("write doc/probe.1");
            panic!("doc/probe.1 was out of date and has been regenerated: commit it");
        }
    }
}
