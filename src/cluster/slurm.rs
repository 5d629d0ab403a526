//! Slurm: the sbatch script, submitting it, reading sbatch's refusals, and cancelling.
//!
//! The script runs `workbench train --run-dir DIR` the first time and `workbench train --resume
//! DIR` after a requeue (when `run.toml` no longer says `queued`). Slurm sends the batch shell
//! USR1 `signal_before_s` before the time limit (`--signal=B:USR1@N`); the shell forwards it to
//! the run, which checkpoints and exits as interrupted, and then, where configured, the shell
//! requeues the job (`scontrol requeue`), which starts again from that checkpoint.
use std::fmt::Write as _;
use std::path::Path;

use super::config::SlurmConfig;
use super::values::slurm_time_text;
use super::{shell_quote, ClusterError, Exec, JobSpec, Scheduler};

/// The script's name in the run folder.
pub const SCRIPT_FILE: &str = "job.sbatch";

/// The sbatch script for a run.
pub fn script(job: &JobSpec, cfg: &SlurmConfig) -> String {
    let dir = job.run_dir.display().to_string();
    let r = &job.resources;
    let mut s = String::new();
    let mut line = |text: String| {
        s.push_str(&text);
        s.push('\n');
    };
    line("#!/bin/bash".into());
    line(format!("# workbench run {} (written by `workbench submit`; submit with sbatch)", job.run_id));
    line(format!("#SBATCH --job-name=wb-{}", job.run_id));
    line(format!("#SBATCH --output={dir}/slurm-%j.out"));
    line(format!("#SBATCH --error={dir}/slurm-%j.err"));
    // A requeued job appends to its output files instead of emptying them.
    line("#SBATCH --open-mode=append".into());
    line(format!("#SBATCH --chdir={dir}"));
    if let Some(p) = &r.partition {
        line(format!("#SBATCH --partition={p}"));
    }
    if let Some(t) = r.time_s {
        line(format!("#SBATCH --time={}", slurm_time_text(t)));
    }
    if let Some(m) = r.mem_mib {
        line(format!("#SBATCH --mem={m}M"));
    }
    line("#SBATCH --ntasks=1".into());
    line(format!("#SBATCH --cpus-per-task={}", r.cpus.max(1)));
    if r.gpus > 0 {
        if cfg.use_gpus_flag {
            line(format!("#SBATCH --gpus={}", r.gpus));
        } else {
            line(format!("#SBATCH --gres=gpu:{}", r.gpus));
        }
    }
    // Always: without --time the partition's default limit still ends the job.
    line(format!("#SBATCH --signal=B:USR1@{}", cfg.signal_before_s));
    line(if cfg.requeue { "#SBATCH --requeue" } else { "#SBATCH --no-requeue" }.into());
    for extra in &cfg.extra {
        line(format!("#SBATCH {}", extra.trim()));
    }
    line(String::new());
    for setup in &cfg.setup {
        line(setup.clone());
    }
    line(format!("RUN_DIR={}", shell_quote(&dir)));
    line(format!("REQUEUE={}", u8::from(cfg.requeue)));
    let mut global = format!(
        "--datasets-dir {} --runs-dir {}",
        shell_quote(&job.datasets_dir.display().to_string()),
        shell_quote(&job.runs_dir.display().to_string())
    );
    if let Some(c) = &job.config {
        let _ = write!(global, " --config {}", shell_quote(&c.display().to_string()));
    }
    line(format!("WORKBENCH=({} {global})", shell_quote(&job.binary.display().to_string())));
    s.push_str(BODY);
    s
}

/// The part of the script that runs, forwards the time-limit signal and requeues.
const BODY: &str = r#"
# First start: the run is still queued. After a requeue: continue from its checkpoint.
if grep -q '^status = "queued"' "$RUN_DIR/run.toml"; then
    mode=--run-dir
else
    mode=--resume
fi
echo "workbench: job $SLURM_JOB_ID (restart ${SLURM_RESTART_COUNT:-0}) on $(hostname): train $mode $RUN_DIR"

# Slurm's time-limit warning (USR1) and scancel's TERM reach this shell; pass them on so the run
# checkpoints and exits as interrupted.
limit=0
trap 'limit=1; kill -USR1 "$child" 2>/dev/null' USR1
trap 'kill -TERM "$child" 2>/dev/null' TERM
"${WORKBENCH[@]}" train "$mode" "$RUN_DIR" &
child=$!
# `wait` returns early when a trapped signal arrives; wait again until the run has exited.
while :; do
    wait "$child"
    rc=$?
    kill -0 "$child" 2>/dev/null || break
done
if [ "$limit" = 1 ] && [ "$REQUEUE" = 1 ]; then
    echo "workbench: time limit near; checkpointed, requeueing job $SLURM_JOB_ID"
    scontrol requeue "$SLURM_JOB_ID"
fi
exit "$rc"
"#;

/// Submit a script with `sbatch --parsable`; returns the job id. sbatch's refusals become
/// [`ClusterError`]s that quote it.
pub fn submit(
    script: &Path,
    partition: Option<&str>,
    gpus: u32,
    exec: &mut Exec,
) -> Result<String, ClusterError> {
    let out = exec("sbatch", &["--parsable".to_string(), script.display().to_string()])?;
    if !out.success() {
        return Err(classify_rejection(&out.message(), partition, gpus));
    }
    parse_sbatch_parsable(&out.stdout).ok_or_else(|| ClusterError::UnexpectedOutput {
        program: "sbatch".into(),
        output: out.stdout.clone(),
    })
}

/// `sbatch --parsable` prints `ID` or `ID;CLUSTER`.
pub fn parse_sbatch_parsable(stdout: &str) -> Option<String> {
    let first = stdout.lines().map(str::trim).find(|l| !l.is_empty())?;
    let id = first.split(';').next()?.trim();
    (!id.is_empty() && id.chars().all(|c| c.is_ascii_digit())).then(|| id.to_string())
}

/// Turn sbatch's error text into the error a user can act on.
pub fn classify_rejection(message: &str, partition: Option<&str>, gpus: u32) -> ClusterError {
    let reason = message.replace("sbatch: error: ", "").trim().to_string();
    let lower = reason.to_ascii_lowercase();
    if lower.contains("invalid partition") {
        return ClusterError::NoSuchPartition {
            partition: partition.unwrap_or("(the default)").to_string(),
            reason,
        };
    }
    if lower.contains("gres") || (gpus > 0 && lower.contains("tres")) {
        return ClusterError::NoGpus { gpus, reason };
    }
    if lower.contains("node configuration is not available")
        || lower.contains("memory specification")
        || lower.contains("time limit")
    {
        return ClusterError::DoesNotFit { scheduler: Scheduler::Slurm, reason };
    }
    ClusterError::Rejected { scheduler: Scheduler::Slurm, reason }
}

/// `scancel ID`.
pub fn cancel(job_id: &str, exec: &mut Exec) -> Result<(), ClusterError> {
    let out = exec("scancel", &[job_id.to_string()])?;
    if out.success() {
        Ok(())
    } else {
        Err(ClusterError::Command { program: format!("scancel {job_id}"), stderr: out.message() })
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::cluster::Resources;

    fn job() -> JobSpec {
        JobSpec {
            scheduler: Scheduler::Slurm,
            run_id: "20261128-133000-iris-mlp-slurm".into(),
            run_dir: PathBuf::from("/shared/runs/20261128-133000-iris-mlp-slurm"),
            binary: PathBuf::from("/shared/bin/workbench"),
            config: Some(PathBuf::from("/shared/me/config.toml")),
            datasets_dir: PathBuf::from("/shared/me/datasets"),
            runs_dir: PathBuf::from("/shared/runs"),
            dataset_path: PathBuf::from("/shared/me/datasets/iris.csv"),
            resources: Resources {
                gpus: 2,
                cpus: 4,
                time_s: Some(7200),
                mem_mib: Some(16384),
                partition: Some("gpu".into()),
            },
        }
    }

    #[test]
    fn the_script_asks_for_everything_and_runs_the_folder() {
        let s = script(&job(), &SlurmConfig::default());
        for want in [
            "#SBATCH --job-name=wb-20261128-133000-iris-mlp-slurm",
            "#SBATCH --output=/shared/runs/20261128-133000-iris-mlp-slurm/slurm-%j.out",
            "#SBATCH --error=/shared/runs/20261128-133000-iris-mlp-slurm/slurm-%j.err",
            "#SBATCH --partition=gpu",
            "#SBATCH --time=02:00:00",
            "#SBATCH --mem=16384M",
            "#SBATCH --cpus-per-task=4",
            "#SBATCH --gres=gpu:2",
            "#SBATCH --signal=B:USR1@120",
            "#SBATCH --requeue",
            "WORKBENCH=(/shared/bin/workbench --datasets-dir /shared/me/datasets --runs-dir /shared/runs --config /shared/me/config.toml)",
            "train \"$mode\" \"$RUN_DIR\"",
            "mode=--run-dir",
            "mode=--resume",
            "scontrol requeue \"$SLURM_JOB_ID\"",
        ] {
            assert!(s.contains(want), "missing {want:?} in\n{s}");
        }
        // Every #SBATCH line comes before the first command, or sbatch ignores it.
        let lines: Vec<&str> = s.lines().collect();
        let last_directive = lines.iter().rposition(|l| l.starts_with("#SBATCH")).unwrap();
        let first_command = s.lines().position(|l| !l.is_empty() && !l.starts_with('#')).unwrap();
        assert!(last_directive < first_command);
    }

    #[test]
    fn config_switches_change_the_script() {
        let cfg = SlurmConfig {
            use_gpus_flag: true,
            requeue: false,
            signal_before_s: 300,
            setup: vec!["module load cuda".into()],
            extra: vec!["--account=proj42".into()],
            ..SlurmConfig::default()
        };
        let s = script(&job(), &cfg);
        assert!(s.contains("#SBATCH --gpus=2") && !s.contains("--gres"));
        assert!(s.contains("#SBATCH --no-requeue") && s.contains("REQUEUE=0"));
        assert!(s.contains("#SBATCH --signal=B:USR1@300"));
        assert!(s.contains("#SBATCH --account=proj42"));
        assert!(s.contains("\nmodule load cuda\n"));
        let mut no_limit = job();
        no_limit.resources = Resources::default();
        let s = script(&no_limit, &SlurmConfig::default());
        assert!(!s.contains("--time") && !s.contains("--gres") && !s.contains("--partition"));
        assert!(s.contains("#SBATCH --signal=B:USR1@120"), "the partition's own limit needs it too");
        assert!(s.contains("--cpus-per-task=1"));
    }

    #[test]
    fn paths_with_spaces_are_quoted() {
        let mut j = job();
        j.run_dir = PathBuf::from("/shared/my runs/x");
        let s = script(&j, &SlurmConfig::default());
        assert!(s.contains("RUN_DIR='/shared/my runs/x'"), "{s}");
    }

    #[test]
    fn sbatch_ids_and_refusals() {
        assert_eq!(parse_sbatch_parsable("1234\n").as_deref(), Some("1234"));
        assert_eq!(parse_sbatch_parsable("77;cluster2\n").as_deref(), Some("77"));
        assert_eq!(parse_sbatch_parsable("Submitted batch job 5"), None);
        // Messages as sbatch 22.05 prints them (captured from the local cluster).
        let e = classify_rejection(
            "sbatch: error: invalid partition specified: nope\nsbatch: error: Batch job submission failed: Invalid partition name specified",
            Some("nope"),
            0,
        );
        assert!(matches!(e, ClusterError::NoSuchPartition { .. }));
        assert!(e.to_string().contains("\"nope\"") && e.to_string().contains("sinfo"));
        let e = classify_rejection("sbatch: error: Invalid generic resource (gres) specification", None, 1);
        assert!(matches!(e, ClusterError::NoGpus { gpus: 1, .. }), "{e}");
        assert!(e.to_string().contains("Invalid generic resource (gres) specification"));
        let e = classify_rejection(
            "sbatch: error: Memory specification can not be satisfied\nsbatch: error: Batch job submission failed: Requested node configuration is not available",
            None,
            0,
        );
        assert!(matches!(e, ClusterError::DoesNotFit { .. }), "{e}");
        let e = classify_rejection("sbatch: error: Batch job submission failed: Invalid account", None, 0);
        assert!(e
            .to_string()
            .contains("Slurm rejected the job: Batch job submission failed: Invalid account"));
    }
}
