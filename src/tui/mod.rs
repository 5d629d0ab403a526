//! The terminal UI (placeholder until the TUI lands).
pub mod terminal {
    pub fn restore_after_panic() {}
}

pub fn run(_settings: &crate::config::Settings, _log: Option<&std::path::Path>) -> anyhow::Result<i32> {
    anyhow::bail!("the TUI is not built yet; use `workbench train`")
}
