//! The code a command ran: the commit of the git repository its folder is in, whether the tree
//! had changes, and those changes (`git diff HEAD`).
use std::path::Path;
use std::process::{Command, Stdio};

/// A repository's state at the start of a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitState {
    /// `HEAD`'s commit id.
    pub commit: String,
    /// Whether tracked files differ from `HEAD` or untracked files are there.
    pub dirty: bool,
    /// `git diff HEAD` when dirty (tracked files only).
    pub diff: Option<Vec<u8>>,
}

/// The state of the repository `dir` is in; `None` outside one, or without git.
pub fn git_state(dir: &Path) -> Option<GitState> {
    let git = |args: &[&str]| -> Option<Vec<u8>> {
        let out = Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(args)
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
            .ok()?;
        out.status.success().then_some(out.stdout)
    };
    let commit = String::from_utf8_lossy(&git(&["rev-parse", "HEAD"])?).trim().to_string();
    let status = git(&["status", "--porcelain"]).unwrap_or_default();
    let dirty = !status.is_empty();
    let diff = if dirty { git(&["diff", "HEAD"]).filter(|d| !d.is_empty()) } else { None };
    Some(GitState { commit, dirty, diff })
}
