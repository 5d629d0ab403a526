//! `RUN` on the command line: a run's id (its folder name under the runs folder), a unique
//! prefix of one, or a run folder's path.
use std::path::{Path, PathBuf};

use super::error::RunsError;
use super::record::{folder_id, looks_like_run};

/// The run folder `arg` names. Tried in order: an id under `runs_dir`, a folder path, a unique
/// prefix of an id. The error lists close matches, or says how to list the runs.
pub fn resolve_run(runs_dir: &Path, arg: &str) -> Result<PathBuf, RunsError> {
    let trimmed = arg.trim_end_matches('/');
    if !trimmed.is_empty() && !trimmed.contains('/') && trimmed != "." && trimmed != ".." {
        let under = runs_dir.join(trimmed);
        if under.is_dir() {
            return Ok(under);
        }
    }
    let path = Path::new(arg);
    if path.is_dir() && looks_like_run(path) {
        return Ok(path.to_path_buf());
    }
    let ids = run_ids(runs_dir);
    let matches: Vec<&String> = ids.iter().filter(|id| id.starts_with(trimmed)).collect();
    match matches.as_slice() {
        [one] if !trimmed.is_empty() => return Ok(runs_dir.join(one)),
        [_, _, ..] if !trimmed.is_empty() => {
            let mut names: Vec<String> = matches.iter().take(5).map(|s| s.to_string()).collect();
            if matches.len() > 5 {
                names.push(format!("and {} more", matches.len() - 5));
            }
            return Err(RunsError::AmbiguousRun { arg: arg.into(), candidates: names.join(", ") });
        }
        _ => {}
    }
    let lower = trimmed.to_lowercase();
    let close: Vec<&String> = ids
        .iter()
        .filter(|id| {
            !lower.is_empty() && (id.to_lowercase().contains(&lower) || lower.contains(&id.to_lowercase()))
        })
        .take(5)
        .collect();
    let hint = if close.is_empty() {
        "; `workbench runs` lists them".to_string()
    } else {
        format!("; did you mean {}?", close.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", "))
    };
    Err(RunsError::UnknownRun { arg: arg.into(), runs_dir: runs_dir.to_path_buf(), hint })
}

/// The ids of the run folders under `runs_dir`, newest first.
fn run_ids(runs_dir: &Path) -> Vec<String> {
    let Ok(read) = std::fs::read_dir(runs_dir) else { return Vec::new() };
    let mut ids: Vec<String> = read
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.is_dir() && looks_like_run(p))
        .map(|p| folder_id(&p))
        .collect();
    ids.sort();
    ids.reverse();
    ids
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runs() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for id in
            ["20261126-150102-iris-mlp-cpu", "20261126-150102-iris-mlp-cpu-2", "20261127-090000-wine-mlp-cpu"]
        {
            std::fs::create_dir(dir.path().join(id)).unwrap();
            std::fs::write(dir.path().join(id).join("run.toml"), "").unwrap();
        }
        dir
    }

    #[test]
    fn ids_paths_and_unique_prefixes_resolve() {
        let dir = runs();
        let root = dir.path();
        let id = "20261126-150102-iris-mlp-cpu";
        assert_eq!(resolve_run(root, id).unwrap(), root.join(id));
        let path = root.join("20261127-090000-wine-mlp-cpu");
        assert_eq!(resolve_run(root, path.to_str().unwrap()).unwrap(), path);
        assert_eq!(resolve_run(root, "20261127").unwrap(), path);
    }

    #[test]
    fn ambiguous_and_unknown_runs_say_what_to_do() {
        let dir = runs();
        let err = resolve_run(dir.path(), "20261126").unwrap_err().to_string();
        assert!(err.contains("matches several runs") && err.contains("iris-mlp-cpu-2"), "{err}");
        let err = resolve_run(dir.path(), "wine").unwrap_err().to_string();
        assert!(err.contains("did you mean 20261127-090000-wine-mlp-cpu"), "{err}");
        let err = resolve_run(dir.path(), "nothing-like-it").unwrap_err().to_string();
        assert!(err.contains("`workbench runs` lists them"), "{err}");
    }
}
