//! What run.toml says about a command run: `kind = "command"` and its `[command]` table.
use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// What made a run folder. Folders without a `kind` were made by `workbench train`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunKind {
    /// A built-in model, layer stack or TorchScript module trained by the workbench.
    #[default]
    Train,
    /// The user's own command, supervised by `workbench run`.
    Command,
}

/// run.toml's `[command]` table: what was run, where, with what, and how it ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommandInfo {
    /// The program and its arguments, as started.
    pub argv: Vec<String>,
    /// The working folder it was started in.
    pub cwd: PathBuf,
    /// Seconds between SIGINT and SIGTERM, and between SIGTERM and SIGKILL, when it is stopped.
    #[serde(default = "default_grace")]
    pub stop_grace_s: f64,
    /// Whether its stdout is read for metrics (into `scalars.csv`).
    #[serde(default = "yes")]
    pub stdout_metrics: bool,
    /// The `[commands.NAME]` entry it came from, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The commit of the git repository `cwd` is in, when it is in one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_commit: Option<String>,
    /// Whether that repository's tree had changes (then `git diff HEAD` is in `code.diff`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_dirty: Option<bool>,
    /// Its exit code, once it exited by itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// The signal that ended it (`SIGKILL`), when one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal: Option<String>,
    /// How long it ran, in seconds, measured by its run process (the start and end stamps count
    /// whole seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elapsed_s: Option<f64>,
    /// The variables the workbench set for it (on top of the environment it was started from).
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// The `[commands.NAME.params]` values it was started with.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub params: BTreeMap<String, String>,
}

/// The default of `[commands] stop_grace_s`.
pub const DEFAULT_STOP_GRACE_S: f64 = 10.0;

fn default_grace() -> f64 {
    DEFAULT_STOP_GRACE_S
}

fn yes() -> bool {
    true
}

impl CommandInfo {
    /// The command line, each argument quoted for a POSIX shell where it needs to be.
    pub fn command_line(&self) -> String {
        shell_line(&self.argv)
    }

    /// The command line cut to `width` characters with `…` (for the runs pane and listings).
    pub fn short_line(&self, width: usize) -> String {
        let line = self.command_line();
        if line.chars().count() <= width {
            return line;
        }
        let mut cut: String = line.chars().take(width.saturating_sub(1)).collect();
        cut.push('…');
        cut
    }
}

/// `arg` as a POSIX shell would need it written.
pub fn shell_quote(arg: &str) -> String {
    let plain =
        !arg.is_empty() && arg.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%{}".contains(c));
    if plain {
        arg.to_string()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

/// `argv` as one line a POSIX shell would read back the same.
pub fn shell_line(argv: &[String]) -> String {
    argv.iter().map(|a| shell_quote(a)).collect::<Vec<_>>().join(" ")
}
