//! `workbench completions SHELL` and `workbench man`: shell completions (clap_complete) and the
//! roff man page (clap_mangen), both generated from the same clap definitions as `--help`, so
//! they list exactly the commands and flags the binary takes. `./dev install` writes them out.
use std::io::Write;

use clap::Args;
use clap_complete::Shell;

/// `workbench completions bash|zsh|fish|elvish|powershell`
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to write completions for
    #[arg(value_enum)]
    pub shell: Shell,
}

/// Print the completion script for `shell` to stdout.
pub fn completions(args: &CompletionsArgs) -> anyhow::Result<i32> {
    let mut cmd = super::command();
    clap_complete::generate(args.shell, &mut cmd, "workbench", &mut std::io::stdout());
    Ok(0)
}

/// Print the man page (roff, section 1) to stdout: `workbench man | man -l -`.
pub fn man() -> anyhow::Result<i32> {
    let page = man_page()?;
    std::io::stdout().write_all(&page)?;
    Ok(0)
}

/// The man page's roff text.
pub fn man_page() -> std::io::Result<Vec<u8>> {
    let mut page = Vec::new();
    clap_mangen::Man::new(super::command()).manual("workbench manual").render(&mut page)?;
    Ok(page)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_man_page_has_its_sections_and_every_command() {
        let page = String::from_utf8(man_page().unwrap()).unwrap();
        for section in [".SH NAME", ".SH SYNOPSIS", ".SH DESCRIPTION", ".SH OPTIONS", ".SH SUBCOMMANDS"] {
            assert!(page.contains(section), "{section} missing:\n{page}");
        }
        for (_, commands) in super::super::help::GROUPS {
            for command in *commands {
                assert!(page.contains(&format!("workbench\\-{command}")), "{command} missing:\n{page}");
            }
        }
    }
}
