//! Per-user folders (XDG on Linux) from the `directories` crate.
use std::path::PathBuf;

use directories::ProjectDirs;

fn project_dirs() -> Option<ProjectDirs> {
    ProjectDirs::from("", "", "workbench")
}

/// The per-user cache folder (`~/.cache/workbench`): libtorch and staged datasets live here.
pub fn user_cache_dir() -> PathBuf {
    project_dirs()
        .map(|d| d.cache_dir().to_path_buf())
        .unwrap_or_else(|| std::env::temp_dir().join("workbench-cache"))
}

/// Where log files go: the per-user state folder (`~/.local/state/workbench`), else the cache folder.
pub fn user_log_dir() -> PathBuf {
    project_dirs()
        .and_then(|d| d.state_dir().map(|s| s.to_path_buf()))
        .unwrap_or_else(|| user_cache_dir().join("logs"))
}

/// The per-user config file, used when there is no `config.toml` in the current folder.
pub fn user_config_file() -> Option<PathBuf> {
    project_dirs().map(|d| d.config_dir().join("config.toml"))
}
