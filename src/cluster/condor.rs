//! HTCondor: the submit description, its wrapper script, submitting, and cancelling.
//!
//! Many pools have no shared filesystem, so by default the job carries what it needs: the
//! wrapper (the executable), the run folder, the dataset, the config file and either the
//! workbench binary or a container image that holds it; the run folder comes back when the job
//! exits. The wrapper turns HTCondor's SIGTERM (eviction, `condor_rm`) into the run's
//! checkpoint signal (USR1) and then exits with `checkpoint_exit_code`, so HTCondor keeps the
//! run folder (`transfer_checkpoint_files`) and starts the job again, which resumes from it.
use std::path::Path;

use super::config::CondorConfig;
use super::quoting::{condor_key, condor_path, condor_string, condor_value, shell_path, CONDOR_FILE};
use super::{ClusterError, Exec, JobId, JobSpec, Scheduler};

/// The submit description's name in the run folder.
pub const SUBMIT_FILE: &str = "job.sub";
/// The wrapper script HTCondor runs.
pub const WRAPPER_FILE: &str = "job.sh";
/// The job event log, in the run folder on the submit machine.
pub const EVENT_LOG_FILE: &str = "condor.log";

/// The submit description for a run. Paths and `[cluster.condor]` values that the submit
/// language can't carry (no quoting exists in it) are refused with the reason ([`super::quoting`]).
pub fn submit_description(job: &JobSpec, cfg: &CondorConfig) -> Result<String, ClusterError> {
    let dir = condor_path("the run folder", &job.run_dir)?;
    let run_id = condor_path("the run id", std::path::Path::new(&job.run_id))?;
    let r = &job.resources;
    let mut lines: Vec<String> = vec![
        format!("# workbench run {run_id} (written by `workbench submit`; submit with condor_submit)"),
        format!("batch_name = wb-{run_id}"),
        format!("executable = {dir}/{WRAPPER_FILE}"),
    ];
    if cfg.shared_filesystem {
        lines.push(format!("arguments = \"{}\"", condor_arg(dir)));
        lines.push(format!("initialdir = {dir}"));
        lines.push("should_transfer_files = NO".into());
    } else {
        // Output files come back into the job's initialdir: without one, into whatever folder
        // condor_submit ran in. The runs folder makes the returned `RUN_ID` the run folder.
        let runs = job.run_dir.parent().unwrap_or(&job.runs_dir);
        lines.push(format!("initialdir = {}", condor_path("the runs folder", runs)?));
        lines.push(format!("arguments = \"{}\"", condor_arg(run_id)));
        lines.push("should_transfer_files = YES".into());
        lines.push("when_to_transfer_output = ON_EXIT".into());
        let mut inputs = vec![dir, condor_path("the dataset", &job.dataset_path)?];
        if let Some(c) = &job.config {
            inputs.push(condor_path("the config file", c)?);
        }
        if cfg.container_image.is_none() {
            inputs.push(condor_path("the workbench binary ([cluster] binary)", &job.binary)?);
        }
        lines.push(format!("transfer_input_files = {}", inputs.join(", ")));
        lines.push(format!("transfer_output_files = {run_id}"));
        // The run folder is the checkpoint: kept by HTCondor when the wrapper exits with the
        // checkpoint code, and brought back to the restarted job.
        lines.push(format!("transfer_checkpoint_files = {run_id}"));
    }
    if let Some(image) = &cfg.container_image {
        lines.push(format!("container_image = {}", condor_value("[cluster.condor] container_image", image)?));
    }
    if !job.command {
        // A command run is not resumed in its folder: no checkpoint exit for it.
        lines.push(format!("checkpoint_exit_code = {}", cfg.checkpoint_exit_code));
        lines.push("+is_resumable = true".into());
    }
    lines.push(format!("log = {dir}/{EVENT_LOG_FILE}"));
    lines.push(format!("output = {dir}/condor-$(Cluster).$(Process).out"));
    lines.push(format!("error = {dir}/condor-$(Cluster).$(Process).err"));
    lines.push(format!("request_cpus = {}", r.cpus.max(1)));
    if let Some(m) = r.mem_mib {
        lines.push(format!("request_memory = {m}M"));
    }
    lines.push(format!("request_disk = {}", condor_value("[cluster.condor] disk", &cfg.disk)?));
    if r.gpus > 0 {
        lines.push(format!("request_gpus = {}", r.gpus));
        if let Some(m) = cfg.gpus_minimum_memory {
            lines.push(format!("gpus_minimum_memory = {m}"));
        }
        if let Some(c) = &cfg.gpus_minimum_capability {
            let c = condor_value("[cluster.condor] gpus_minimum_capability", c)?;
            lines.push(format!("gpus_minimum_capability = {c}"));
        }
        if cfg.want_gpu_lab {
            lines.push("+WantGPULab = true".into());
        }
        if let Some(len) = &cfg.gpu_job_length {
            let len = condor_string("[cluster.condor] gpu_job_length", len)?;
            lines.push(format!("+GPUJobLength = \"{len}\""));
        }
    }
    if let Some(t) = r.time_s {
        // The job is put on hold when it runs longer than --time.
        lines.push(format!("allowed_execute_duration = {t}"));
    }
    for (key, value) in &cfg.extra {
        let key = condor_key("a [cluster.condor] extra key", key)?;
        lines.push(format!("{key} = {}", condor_value(&format!("[cluster.condor] extra {key}"), value)?));
    }
    lines.push("queue".into());
    Ok(lines.join("\n") + "\n")
}

/// A value inside `arguments = "..."` (the new syntax): double quotes doubled, single quotes
/// around a value with spaces.
fn condor_arg(s: &str) -> String {
    let s = s.replace('"', "\"\"");
    if s.contains([' ', '\'']) {
        format!("'{}'", s.replace('\'', "''"))
    } else {
        s
    }
}

/// The wrapper HTCondor runs. Its one argument is the run folder: a name in the job's scratch
/// folder (transferred there), or an absolute path on a shared filesystem.
pub fn wrapper(job: &JobSpec, cfg: &CondorConfig) -> Result<String, ClusterError> {
    let shell = |what: &str, path: &Path| shell_path(what, path, CONDOR_FILE);
    let name = |path: &Path| Path::new(path.file_name().unwrap_or_default()).to_path_buf();
    let mut global = String::new();
    if cfg.shared_filesystem {
        global.push_str(&format!(
            " --datasets-dir {} --runs-dir {}",
            shell("the datasets folder", &job.datasets_dir)?,
            shell("the runs folder", &job.runs_dir)?
        ));
        if let Some(c) = &job.config {
            global.push_str(&format!(" --config {}", shell("the config file", c)?));
        }
    } else {
        // Everything was transferred into the scratch folder, which is the job's working folder.
        global.push_str(" --datasets-dir . --runs-dir .");
        if let Some(c) = &job.config {
            global.push_str(&format!(" --config {}", shell("the config file", &name(c))?));
        }
    }
    let binary = if cfg.container_image.is_some() {
        "workbench".to_string()
    } else if cfg.shared_filesystem {
        shell("the workbench binary ([cluster] binary)", &job.binary)?
    } else {
        format!("./{}", shell("the workbench binary ([cluster] binary)", &name(&job.binary))?)
    };
    let id = condor_path("the run id", Path::new(&job.run_id))?;
    if job.command {
        return Ok(format!(
            r#"#!/bin/bash
# HTCondor wrapper for workbench command run {id} (written by `workbench submit`).
RUN_DIR=$1
echo "workbench: job $(hostname) run --run-dir $RUN_DIR"
# condor_rm and eviction send SIGTERM: the command is stopped as `workbench stop` stops it.
trap 'kill -TERM "$child" 2>/dev/null' TERM
trap 'kill -USR1 "$child" 2>/dev/null' USR1
{binary}{global} run --run-dir "$RUN_DIR" &
child=$!
while :; do
    wait "$child"
    rc=$?
    kill -0 "$child" 2>/dev/null || break
done
exit "$rc"
"#
        ));
    }
    Ok(format!(
        r#"#!/bin/bash
# HTCondor wrapper for workbench run {id} (written by `workbench submit`).
RUN_DIR=$1
CHECKPOINT_EXIT={code}
if grep -q '^status = "queued"' "$RUN_DIR/run.toml"; then mode=--run-dir; else mode=--resume; fi
echo "workbench: job $(hostname) train $mode $RUN_DIR"
evicted=0
# Eviction and condor_rm send SIGTERM: the run checkpoints on USR1 and exits as interrupted.
trap 'evicted=1; kill -USR1 "$child" 2>/dev/null' TERM
{binary}{global} train "$mode" "$RUN_DIR" &
child=$!
while :; do
    wait "$child"
    rc=$?
    kill -0 "$child" 2>/dev/null || break
done
if [ "$evicted" = 1 ]; then
    echo "workbench: checkpointed; asking HTCondor to restart the job (exit $CHECKPOINT_EXIT)"
    exit "$CHECKPOINT_EXIT"
fi
exit "$rc"
"#,
        code = cfg.checkpoint_exit_code,
    ))
}

/// Submit with `condor_submit -terse`; returns `CLUSTER.PROC`.
pub fn submit(description: &Path, exec: &mut Exec) -> Result<JobId, ClusterError> {
    let out = exec("condor_submit", &["-terse".to_string(), description.display().to_string()])?;
    if !out.success() {
        return Err(ClusterError::Rejected { scheduler: Scheduler::Condor, reason: out.message() });
    }
    parse_terse(&out.stdout).ok_or_else(|| ClusterError::UnexpectedOutput {
        program: "condor_submit".into(),
        output: out.stdout.clone(),
    })
}

/// `condor_submit -terse` prints `123.0 - 123.0` (the first and last job of the cluster).
pub fn parse_terse(stdout: &str) -> Option<JobId> {
    let first = stdout.lines().map(str::trim).find(|l| !l.is_empty())?;
    JobId::parse(Scheduler::Condor, first.split_whitespace().next()?).ok()
}

/// `condor_rm ID`.
pub fn cancel(job_id: &JobId, exec: &mut Exec) -> Result<(), ClusterError> {
    let out = exec("condor_rm", &[job_id.to_string()])?;
    if out.success() {
        Ok(())
    } else {
        Err(ClusterError::Command { program: format!("condor_rm {job_id}"), stderr: out.message() })
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::cluster::Resources;

    pub(crate) fn job() -> JobSpec {
        JobSpec {
            scheduler: Scheduler::Condor,
            run_id: "20261128-133000-iris-mlp-condor".into(),
            run_dir: PathBuf::from("/home/me/runs/20261128-133000-iris-mlp-condor"),
            binary: PathBuf::from("/home/me/bin/workbench"),
            config: Some(PathBuf::from("/home/me/config.toml")),
            datasets_dir: PathBuf::from("/home/me/datasets"),
            runs_dir: PathBuf::from("/home/me/runs"),
            dataset_path: PathBuf::from("/home/me/datasets/iris.csv"),
            resources: Resources {
                gpus: 1,
                cpus: 2,
                time_s: Some(3600),
                mem_mib: Some(8192),
                partition: None,
            },
            command: false,
        }
    }

    #[test]
    fn a_command_job_runs_the_supervisor_and_has_no_checkpoint_exit() {
        let job = JobSpec { command: true, ..job() };
        let cfg = CondorConfig { shared_filesystem: true, ..CondorConfig::default() };
        let w = wrapper(&job, &cfg).unwrap();
        assert!(w.contains("/home/me/bin/workbench --datasets-dir /home/me/datasets"), "{w}");
        assert!(w.contains(" run --run-dir \"$RUN_DIR\" &") && !w.contains(" train "), "{w}");
        let d = submit_description(&job, &cfg).unwrap();
        assert!(!d.contains("checkpoint_exit_code") && !d.contains("is_resumable"), "{d}");
    }

    #[test]
    fn transfers_everything_without_a_shared_filesystem() {
        let cfg = CondorConfig {
            want_gpu_lab: true,
            gpu_job_length: Some("short".into()),
            gpus_minimum_memory: Some(8000),
            ..CondorConfig::default()
        };
        let d = submit_description(&job(), &cfg).unwrap();
        for want in [
            "executable = /home/me/runs/20261128-133000-iris-mlp-condor/job.sh",
            "arguments = \"20261128-133000-iris-mlp-condor\"",
            "should_transfer_files = YES",
            "transfer_input_files = /home/me/runs/20261128-133000-iris-mlp-condor, /home/me/datasets/iris.csv, /home/me/config.toml, /home/me/bin/workbench",
            "transfer_output_files = 20261128-133000-iris-mlp-condor",
            "checkpoint_exit_code = 85",
            "log = /home/me/runs/20261128-133000-iris-mlp-condor/condor.log",
            "request_gpus = 1",
            "request_cpus = 2",
            "request_memory = 8192M",
            "request_disk = 4G",
            "gpus_minimum_memory = 8000",
            "+WantGPULab = true",
            "+GPUJobLength = \"short\"",
            "allowed_execute_duration = 3600",
        ] {
            assert!(d.contains(want), "missing {want:?} in\n{d}");
        }
        assert!(d.trim_end().ends_with("queue"));
        let w = wrapper(&job(), &cfg).unwrap();
        assert!(
            w.contains(
                "./workbench --datasets-dir . --runs-dir . --config config.toml train \"$mode\" \"$RUN_DIR\""
            ),
            "{w}"
        );
        assert!(w.contains("CHECKPOINT_EXIT=85"));
    }

    #[test]
    fn a_container_image_replaces_the_binary_and_a_shared_filesystem_the_transfers() {
        let cfg = CondorConfig {
            container_image: Some("docker://ghcr.io/me/workbench:1".into()),
            shared_filesystem: true,
            ..CondorConfig::default()
        };
        let d = submit_description(&job(), &cfg).unwrap();
        assert!(d.contains("container_image = docker://ghcr.io/me/workbench:1"));
        assert!(d.contains("should_transfer_files = NO"));
        assert!(!d.contains("transfer_input_files"));
        assert!(!d.contains("+WantGPULab"), "GPU-lab attributes only when configured");
        let w = wrapper(&job(), &cfg).unwrap();
        assert!(w.contains("\nworkbench --datasets-dir /home/me/datasets --runs-dir /home/me/runs"), "{w}");
    }

    #[test]
    fn output_comes_back_into_the_runs_folder_not_the_submitters_current_folder() {
        let d = submit_description(&job(), &CondorConfig::default()).unwrap();
        // The returned folder is initialdir/transfer_output_files: the run folder itself.
        assert!(d.contains("\ninitialdir = /home/me/runs\n"), "{d}");
        assert!(d.contains("\ntransfer_output_files = 20261128-133000-iris-mlp-condor\n"), "{d}");
        let shared = CondorConfig { shared_filesystem: true, ..CondorConfig::default() };
        let d = submit_description(&job(), &shared).unwrap();
        assert!(d.contains("\ninitialdir = /home/me/runs/20261128-133000-iris-mlp-condor\n"), "{d}");
    }

    #[test]
    fn what_the_submit_language_cant_carry_is_refused_naming_the_key() {
        let mut j = job();
        j.run_dir = PathBuf::from("/home/me/my runs/x");
        let e = submit_description(&j, &CondorConfig::default()).unwrap_err().to_string();
        assert!(
            e.starts_with(
                "the run folder \"/home/me/my runs/x\" can't be written into the HTCondor submit file"
            ),
            "{e}"
        );
        let cfg = CondorConfig {
            gpu_job_length: Some("short\"\nexecutable = /bin/sh".into()),
            ..CondorConfig::default()
        };
        let e = submit_description(&job(), &cfg).unwrap_err().to_string();
        assert!(e.contains("[cluster.condor] gpu_job_length"), "{e}");
        let mut extra = std::collections::BTreeMap::new();
        extra.insert("request_disk".to_string(), "1G\nqueue 1000".to_string());
        let cfg = CondorConfig { extra, ..CondorConfig::default() };
        let e = submit_description(&job(), &cfg).unwrap_err().to_string();
        assert!(e.contains("[cluster.condor] extra request_disk") && e.contains("line break"), "{e}");
    }

    #[test]
    fn terse_ids() {
        assert_eq!(parse_terse("4711.0 - 4711.0\n").map(String::from).as_deref(), Some("4711.0"));
        assert_eq!(parse_terse("Submitting job(s).\n"), None);
        assert_eq!(parse_terse("-all - -all\n"), None);
        assert_eq!(condor_arg("my runs/x"), "'my runs/x'");
    }
}
