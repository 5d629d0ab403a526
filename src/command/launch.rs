//! Making a command run: check that the command can be started, choose its device, write its
//! folder (run.toml with `kind = "command"`, the git state, `code.diff`) and start its run process.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::{CommandError, CommandInfo, RunKind};
use crate::device::DeviceChoice;
use crate::runs::{write_run_meta, RunMeta, RunRecorder};
use crate::train::process::{spawn_detached_with, Launcher};

/// The diff of a dirty tree kept in the run folder.
pub const CODE_DIFF_FILE: &str = "code.diff";
/// A larger diff is not kept: a note says how big it was.
pub const MAX_DIFF_BYTES: usize = 1024 * 1024;

/// What to run, as asked for on the command line or by a `[commands.NAME]` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct CommandRequest {
    /// The program and its arguments.
    pub argv: Vec<String>,
    /// Where to run it.
    pub cwd: PathBuf,
    /// Variables to set for it (a `[commands.NAME]` entry's `env`).
    pub env: BTreeMap<String, String>,
    /// `auto`, `cpu`, `cuda:N`.
    pub device: String,
    /// The run's name in listings (`--name`); default: the entry's name, else the script's.
    pub name: Option<String>,
    /// The `[commands.NAME]` entry it comes from.
    pub entry: Option<String>,
    /// The entry's params as given.
    pub params: BTreeMap<String, String>,
    /// The dataset it runs on, when `{dataset}` named one.
    pub dataset: Option<String>,
    pub stdout_metrics: bool,
    pub stop_grace_s: f64,
}

impl CommandRequest {
    /// A command typed after `--`, run from `cwd` on `device`: no entry, params or variables of
    /// its own, its stdout read for metrics.
    pub fn typed(argv: Vec<String>, cwd: PathBuf, device: &str, stop_grace_s: f64) -> CommandRequest {
        CommandRequest {
            argv,
            cwd,
            env: BTreeMap::new(),
            device: device.to_string(),
            name: None,
            entry: None,
            params: BTreeMap::new(),
            dataset: None,
            stdout_metrics: true,
            stop_grace_s,
        }
    }

    /// The request for a `[commands.NAME]` entry with its params filled in (`given` over the
    /// defaults, `{dataset}` by `dataset_path` of the dataset named), run from `cwd` unless the
    /// entry says where.
    pub fn from_entry(
        commands: &super::CommandsConfig,
        entry: &str,
        given: &BTreeMap<String, String>,
        dataset_path: &dyn Fn(&str) -> Result<PathBuf, String>,
        device: &str,
        cwd: PathBuf,
    ) -> Result<CommandRequest, CommandError> {
        let filled = commands.instantiate(entry, given, dataset_path)?;
        Ok(CommandRequest {
            argv: filled.argv,
            cwd: filled.cwd.unwrap_or(cwd),
            env: filled.env,
            device: device.to_string(),
            name: None,
            entry: Some(entry.to_string()),
            params: filled.params,
            dataset: filled.dataset,
            stdout_metrics: filled.stdout_metrics,
            stop_grace_s: commands.stop_grace_s,
        })
    }
}

/// Where a device choice puts the command: `CUDA_VISIBLE_DEVICES` and the device's names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevicePick {
    /// `cpu`, `cuda:0`: run.toml's `device`.
    pub name: String,
    /// `CPU`, `CUDA:0 NVIDIA H100`.
    pub label: String,
    /// The value of `CUDA_VISIBLE_DEVICES`: the GPU's index, or empty for the CPU; `None` leaves
    /// it as the command's environment has it (a cluster job, whose scheduler sets it).
    pub visible: Option<String>,
}

/// Turn `auto`, `cpu` or `cuda:N` into a device of this machine, or say why not.
pub fn pick_device(device: &str) -> Result<DevicePick, CommandError> {
    let choice: DeviceChoice =
        device.parse().map_err(|e: crate::device::BadDeviceName| CommandError::Device(e.to_string()))?;
    if choice == DeviceChoice::Cpu {
        // No need to look at the GPUs (and load CUDA) for the CPU.
        return Ok(DevicePick { name: "cpu".into(), label: "CPU".into(), visible: Some(String::new()) });
    }
    let report = crate::device::probe();
    let resolved =
        crate::device::resolve(choice, &report).map_err(|e| CommandError::Device(e.to_string()))?;
    let visible = match resolved.device {
        tch::Device::Cuda(i) => i.to_string(),
        _ => String::new(),
    };
    Ok(DevicePick { name: resolved.name, label: resolved.label, visible: Some(visible) })
}

/// Find the program `argv[0]` names as the command would: a path with a `/` from `cwd`, else in
/// each folder of `path` (the PATH it will see). Refused with the reason and the PATH searched.
pub fn find_program(program: &str, cwd: &Path, path: &str) -> Result<PathBuf, CommandError> {
    use std::os::unix::fs::PermissionsExt;
    let executable =
        |p: &Path| std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0);
    if program.is_empty() {
        return Err(CommandError::NoCommand);
    }
    if program.contains('/') {
        let full = cwd.join(program);
        return match std::fs::metadata(&full) {
            Err(e) => Err(CommandError::NotFound {
                program: program.into(),
                searched: format!("{} ({e})", full.display()),
            }),
            Ok(m) if m.is_dir() => {
                Err(CommandError::NotExecutable { path: full, why: "it is a folder".into() })
            }
            Ok(_) if !executable(&full) => Err(CommandError::NotExecutable {
                path: full,
                why: "it has no execute permission (chmod +x it, or run it with its interpreter)".into(),
            }),
            Ok(_) => Ok(full),
        };
    }
    let found =
        path.split(':').filter(|d| !d.is_empty()).map(|d| cwd.join(d).join(program)).find(|p| executable(p));
    found.ok_or_else(|| CommandError::NotFound { program: program.into(), searched: format!("PATH={path}") })
}

/// The environment the workbench sets for a run: the request's own variables, the GPU choice,
/// the run's folder and id, and `PYTHONUNBUFFERED=1` unless the user set it.
pub fn command_env(
    request: &CommandRequest,
    device: &DevicePick,
    dir: &Path,
    id: &str,
) -> BTreeMap<String, String> {
    let mut env = request.env.clone();
    if let Some(visible) = &device.visible {
        env.insert("CUDA_VISIBLE_DEVICES".into(), visible.clone());
    }
    env.insert("WORKBENCH_RUN_DIR".into(), dir.display().to_string());
    env.insert("WORKBENCH_RUN_ID".into(), id.to_string());
    if !env.contains_key("PYTHONUNBUFFERED") && std::env::var_os("PYTHONUNBUFFERED").is_none() {
        env.insert("PYTHONUNBUFFERED".into(), "1".into());
    }
    env
}

/// The run's name in listings: `--name`, else the entry's name, else the script (`train.py` of
/// `python train.py`), else the program's file name.
pub fn display_name(request: &CommandRequest) -> String {
    if let Some(name) = request.name.clone().or_else(|| request.entry.clone()) {
        return name;
    }
    let base =
        |s: &str| Path::new(s).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let program = request.argv.first().map(|p| base(p)).unwrap_or_default();
    let interpreter = ["python", "python3", "bash", "sh", "node", "Rscript", "julia"]
        .iter()
        .any(|i| program == *i || program.starts_with("python3."));
    let script = request.argv.iter().skip(1).find(|a| !a.starts_with('-'));
    match script {
        Some(s) if interpreter => base(s),
        _ => program,
    }
}

/// Check the command, pick its device and make its folder under `runs_dir` (status `queued`);
/// nothing is left behind when it can't be started. Returns the run's id and folder.
pub fn create_command_run(
    runs_dir: &Path,
    request: &CommandRequest,
) -> Result<(String, PathBuf), CommandError> {
    create_command_run_on(runs_dir, request, None)
}

/// [`create_command_run`] on a device chosen elsewhere (a cluster job's), else on the request's
/// device of this machine.
pub fn create_command_run_on(
    runs_dir: &Path,
    request: &CommandRequest,
    device: Option<DevicePick>,
) -> Result<(String, PathBuf), CommandError> {
    if request.argv.is_empty() {
        return Err(CommandError::NoCommand);
    }
    match std::fs::metadata(&request.cwd) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => return Err(CommandError::BadCwd { cwd: request.cwd.clone(), why: "not a folder".into() }),
        Err(e) => return Err(CommandError::BadCwd { cwd: request.cwd.clone(), why: e.to_string() }),
    }
    let path = request.env.get("PATH").cloned().or_else(|| std::env::var("PATH").ok()).unwrap_or_default();
    find_program(&request.argv[0], &request.cwd, &path)?;
    let device = match device {
        Some(device) => device,
        None => pick_device(&request.device)?,
    };
    let git = super::git::git_state(&request.cwd);
    let info = CommandInfo {
        argv: request.argv.clone(),
        cwd: request.cwd.clone(),
        stop_grace_s: request.stop_grace_s,
        stdout_metrics: request.stdout_metrics,
        name: request.entry.clone(),
        git_commit: git.as_ref().map(|g| g.commit.clone()),
        git_dirty: git.as_ref().map(|g| g.dirty),
        exit_code: None,
        signal: None,
        elapsed_s: None,
        env: BTreeMap::new(),
        params: request.params.clone(),
    };
    let mut meta = RunMeta {
        command: Some(info),
        ..RunMeta::queued(
            RunKind::Command,
            request.dataset.clone().unwrap_or_default(),
            display_name(request),
            device.name.clone(),
            device.label.clone(),
            crate::params::TrainSpec { device: device.name.clone(), ..Default::default() },
        )
    };
    let dir = RunRecorder::create_folder(runs_dir, &mut meta).map_err(|e| CommandError::disk(runs_dir, e))?;
    let env = command_env(request, &device, &dir, &meta.id);
    if let Some(info) = meta.command.as_mut() {
        info.env = env;
    }
    let written =
        write_run_meta(&dir, &meta).map_err(|e| CommandError::disk(&dir, e)).and_then(|()| {
            match git.as_ref().and_then(|g| g.diff.as_ref()) {
                Some(diff) => write_diff(&dir, diff),
                None => Ok(()),
            }
        });
    if let Err(e) = written {
        let _ = std::fs::remove_dir_all(&dir);
        return Err(e);
    }
    Ok((meta.id, dir))
}

/// `code.diff`: the diff itself, or a note when it is over [`MAX_DIFF_BYTES`].
fn write_diff(dir: &Path, diff: &[u8]) -> Result<(), CommandError> {
    let path = dir.join(CODE_DIFF_FILE);
    let body: Vec<u8> = if diff.len() <= MAX_DIFF_BYTES {
        diff.to_vec()
    } else {
        format!(
            "# `git diff HEAD` was {} bytes, more than the {} kept; it is not stored here.\n",
            diff.len(),
            MAX_DIFF_BYTES
        )
        .into_bytes()
    };
    std::fs::write(&path, body).map_err(|e| CommandError::disk(&path, e))
}

/// The variables a run's own folder and device gave it: set afresh for a new run.
const PER_RUN_ENV: [&str; 3] = ["CUDA_VISIBLE_DEVICES", "WORKBENCH_RUN_DIR", "WORKBENCH_RUN_ID"];

/// What starts the command of the run `meta` again as a new run: the same command line, folder,
/// variables, params and device; `None` for a run that is not a command run.
pub fn rerun_request(meta: &RunMeta) -> Option<CommandRequest> {
    let command = meta.command.as_ref()?;
    let mut env = command.env.clone();
    env.retain(|k, _| !PER_RUN_ENV.contains(&k.as_str()));
    Some(CommandRequest {
        argv: command.argv.clone(),
        cwd: command.cwd.clone(),
        env,
        device: meta.device.clone(),
        name: Some(meta.model.clone()).filter(|m| !m.is_empty()),
        entry: command.name.clone(),
        params: command.params.clone(),
        dataset: Some(meta.dataset.clone()).filter(|d| !d.is_empty()),
        stdout_metrics: command.stdout_metrics,
        stop_grace_s: command.stop_grace_s,
    })
}

/// Start the run process of the command run in `dir` (`workbench run --run-dir DIR`), detached in
/// its own session. Returns its pid.
pub fn start_command_run(dir: &Path, launcher: &Launcher) -> Result<u32, CommandError> {
    let args = [std::ffi::OsStr::new("run"), std::ffi::OsStr::new("--run-dir"), dir.as_os_str()];
    spawn_detached_with(dir, &args, launcher).map_err(|e| CommandError::Run(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(argv: &[&str]) -> CommandRequest {
        CommandRequest {
            argv: argv.iter().map(|s| s.to_string()).collect(),
            cwd: PathBuf::from("/"),
            env: BTreeMap::new(),
            device: "cpu".into(),
            name: None,
            entry: None,
            params: BTreeMap::new(),
            dataset: None,
            stdout_metrics: true,
            stop_grace_s: 10.0,
        }
    }

    #[test]
    fn a_missing_program_names_the_path_searched() {
        let e = find_program("surely-no-such-program", Path::new("/"), "/usr/bin:/bin").unwrap_err();
        let text = e.to_string();
        assert!(text.contains("surely-no-such-program") && text.contains("PATH=/usr/bin:/bin"), "{text}");
        assert!(find_program("sh", Path::new("/"), "/usr/bin:/bin").is_ok());
    }

    #[test]
    fn the_name_is_the_script_for_an_interpreter() {
        assert_eq!(display_name(&request(&["python3", "-u", "train.py", "--lr", "0.1"])), "train.py");
        assert_eq!(display_name(&request(&["/usr/bin/env"])), "env");
        let mut named = request(&["python3", "x.py"]);
        named.name = Some("mine".into());
        assert_eq!(display_name(&named), "mine");
    }

    #[test]
    fn the_environment_says_where_the_run_is_and_hides_gpus_for_the_cpu() {
        let device = DevicePick { name: "cpu".into(), label: "CPU".into(), visible: Some(String::new()) };
        let env = command_env(&request(&["x"]), &device, Path::new("/runs/r1"), "r1");
        assert_eq!(env["CUDA_VISIBLE_DEVICES"], "");
        assert_eq!(env["WORKBENCH_RUN_DIR"], "/runs/r1");
        assert_eq!(env["WORKBENCH_RUN_ID"], "r1");
    }
}
