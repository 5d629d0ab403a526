//! `workbench --help`: the commands grouped by what they are for, in the README's order, instead
//! of clap's one flat list (clap has a single heading for subcommands, so the root's help
//! template carries the grouped list).
use std::fmt::Write as _;

use clap::builder::StyledStr;
use clap::Command;

/// The groups, in the order the help shows them, and the commands in each.
pub const GROUPS: &[(&str, &[&str])] = &[
    ("Run", &["tui", "train", "run", "queue", "sweep", "race", "stop", "pause", "resume", "move"]),
    ("Watch", &["runs", "export"]),
    ("Data and models", &["datasets", "models", "stage", "cache"]),
    ("Cluster", &["submit"]),
    ("Setup", &["devices", "paths", "completions", "man", "help"]),
];

/// The root command's help template: about, usage, the grouped commands, then the options.
pub fn root_template(cmd: &Command) -> StyledStr {
    let styles = cmd.get_styles();
    let (header, literal) = (styles.get_header(), styles.get_literal());
    let commands: Vec<(String, String)> = cmd
        .get_subcommands()
        .filter(|c| !c.is_hide_set())
        .map(|c| (c.get_name().to_string(), c.get_about().map(|a| a.to_string()).unwrap_or_default()))
        .collect();
    let width = commands.iter().map(|(name, _)| name.len()).max().unwrap_or(0);
    let mut text = StyledStr::new();
    let _ = write!(text, "{{before-help}}{{about-with-newline}}\n{{usage-heading}} {{usage}}\n");
    let mut listed: Vec<&str> = Vec::new();
    for (group, names) in GROUPS.iter().copied().chain(std::iter::once(("Other", &[][..]))) {
        // "Other" gathers any command no group names, so a new command is never hidden.
        let members: Vec<&(String, String)> = commands
            .iter()
            .filter(|(name, _)| {
                if group == "Other" {
                    !listed.contains(&name.as_str())
                } else {
                    names.contains(&name.as_str())
                }
            })
            .collect();
        if members.is_empty() {
            continue;
        }
        let _ = write!(text, "\n{header}{group} commands:{header:#}\n");
        for (name, about) in members {
            let _ = writeln!(text, "  {literal}{name:<width$}{literal:#}  {about}");
            listed.push(name);
        }
    }
    let _ = write!(text, "\n{header}Options:{header:#}\n{{options}}{{after-help}}");
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_has_a_group_and_every_grouped_name_is_a_command() {
        let cmd = crate::cli::command();
        let names: Vec<&str> = cmd.get_subcommands().map(|c| c.get_name()).collect();
        for name in &names {
            assert!(GROUPS.iter().any(|(_, members)| members.contains(name)), "`{name}` is in no group");
        }
        for (group, members) in GROUPS {
            for member in *members {
                assert!(names.contains(member), "group {group} names `{member}`, which is not a command");
            }
        }
    }
}
