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
use super::quoting::{
    no_controls, sbatch_path, sbatch_quote, sbatch_word, shell_path, shell_quote, slurm_pattern_literal,
    SBATCH_FILE,
};
use super::values::slurm_time_text;
use super::{ClusterError, Exec, JobId, JobSpec, Scheduler};

/// The script's name in the run folder.
pub const SCRIPT_FILE: &str = "job.sbatch";

/// The sbatch script for a run. Paths are quoted the way sbatch and the shell read them; what
/// no quoting can carry (a line break, ...) is refused with the reason ([`super::quoting`]).
pub fn script(job: &JobSpec, cfg: &SlurmConfig) -> Result<String, ClusterError> {
    let dir = sbatch_path("the run folder", &job.run_dir)?;
    let r = &job.resources;
    let mut s = String::new();
    let mut line = |text: String| {
        s.push_str(&text);
        s.push('\n');
    };
    let output = |ext: &str| sbatch_quote(&format!("{}/slurm-%j.{ext}", slurm_pattern_literal(dir)));
    line("#!/bin/bash".into());
    let job_name = sbatch_word("the run id", &job.run_id)?;
    line(format!("# workbench run {job_name} (written by `workbench submit`; submit with sbatch)"));
    line(format!("#SBATCH --job-name=wb-{job_name}"));
    line(format!("#SBATCH --output={}", output("out")));
    line(format!("#SBATCH --error={}", output("err")));
    // A requeued job appends to its output files instead of emptying them.
    line("#SBATCH --open-mode=append".into());
    line(format!("#SBATCH --chdir={}", sbatch_quote(dir)));
    if let Some(p) = &r.partition {
        line(format!("#SBATCH --partition={}", sbatch_word(PARTITION, p)?));
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
    // A command run can't go on in its folder after a requeue: it is never requeued.
    let requeue = cfg.requeue && !job.command;
    line(if requeue { "#SBATCH --requeue" } else { "#SBATCH --no-requeue" }.into());
    for extra in &cfg.extra {
        line(format!("#SBATCH {}", no_controls("[cluster.slurm] extra", extra.trim(), SBATCH_FILE)?));
    }
    line(String::new());
    for setup in &cfg.setup {
        line(setup.clone());
    }
    line(format!("RUN_DIR={}", shell_quote(dir)));
    if !job.command {
        line(format!("REQUEUE={}", u8::from(requeue)));
    }
    let shell = |what: &str, path: &std::path::Path| shell_path(what, path, SBATCH_FILE);
    let mut global = format!(
        "--datasets-dir {} --runs-dir {}",
        shell("the datasets folder", &job.datasets_dir)?,
        shell("the runs folder", &job.runs_dir)?
    );
    if let Some(c) = &job.config {
        let _ = write!(global, " --config {}", shell("the config file", c)?);
    }
    line(format!("WORKBENCH=({} {global})", shell("the workbench binary ([cluster] binary)", &job.binary)?));
    s.push_str(if job.command { COMMAND_BODY } else { BODY });
    Ok(s)
}

/// How errors name the partition.
const PARTITION: &str = "the partition (--partition or [cluster.slurm] partition)";

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

/// The same for a command run: the run process passes the time-limit warning (USR1) on to the
/// command's process group, and scancel's TERM stops the command as `workbench stop` does.
const COMMAND_BODY: &str = r#"
echo "workbench: job $SLURM_JOB_ID on $(hostname): run --run-dir $RUN_DIR"
trap 'kill -USR1 "$child" 2>/dev/null' USR1
trap 'kill -TERM "$child" 2>/dev/null' TERM
"${WORKBENCH[@]}" run --run-dir "$RUN_DIR" &
child=$!
# `wait` returns early when a trapped signal arrives; wait again until the run has exited.
while :; do
    wait "$child"
    rc=$?
    kill -0 "$child" 2>/dev/null || break
done
exit "$rc"
"#;

/// Submit a script with `sbatch --parsable`; returns the job id. sbatch's refusals become
/// [`ClusterError`]s that quote it.
pub fn submit(
    script: &Path,
    partition: Option<&str>,
    gpus: u32,
    exec: &mut Exec,
) -> Result<JobId, ClusterError> {
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
pub fn parse_sbatch_parsable(stdout: &str) -> Option<JobId> {
    let first = stdout.lines().map(str::trim).find(|l| !l.is_empty())?;
    JobId::parse(Scheduler::Slurm, first.split(';').next()?.trim()).ok()
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
pub fn cancel(job_id: &JobId, exec: &mut Exec) -> Result<(), ClusterError> {
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
            command: false,
        }
    }

    #[test]
    fn a_command_job_runs_the_supervisor_passes_usr1_on_and_is_never_requeued() {
        let job = JobSpec { command: true, ..job() };
        let s = script(&job, &SlurmConfig { requeue: true, ..SlurmConfig::default() }).unwrap();
        assert!(s.contains("\"${WORKBENCH[@]}\" run --run-dir \"$RUN_DIR\" &"), "{s}");
        assert!(s.contains("trap 'kill -USR1 \"$child\" 2>/dev/null' USR1"), "{s}");
        assert!(s.contains("#SBATCH --no-requeue") && !s.contains("scontrol requeue"), "{s}");
        assert!(!s.contains(" train "), "{s}");
    }

    #[test]
    fn the_script_asks_for_everything_and_runs_the_folder() {
        let s = script(&job(), &SlurmConfig::default()).unwrap();
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
        let s = script(&job(), &cfg).unwrap();
        assert!(s.contains("#SBATCH --gpus=2") && !s.contains("--gres"));
        assert!(s.contains("#SBATCH --no-requeue") && s.contains("REQUEUE=0"));
        assert!(s.contains("#SBATCH --signal=B:USR1@300"));
        assert!(s.contains("#SBATCH --account=proj42"));
        assert!(s.contains("\nmodule load cuda\n"));
        let mut no_limit = job();
        no_limit.resources = Resources::default();
        let s = script(&no_limit, &SlurmConfig::default()).unwrap();
        assert!(!s.contains("--time") && !s.contains("--gres") && !s.contains("--partition"));
        assert!(s.contains("#SBATCH --signal=B:USR1@120"), "the partition's own limit needs it too");
        assert!(s.contains("--cpus-per-task=1"));
    }

    #[test]
    fn paths_with_spaces_are_quoted() {
        let mut j = job();
        j.run_dir = PathBuf::from("/shared/my runs/x");
        let s = script(&j, &SlurmConfig::default()).unwrap();
        assert!(s.contains("RUN_DIR='/shared/my runs/x'"), "{s}");
        // sbatch splits #SBATCH lines at unquoted spaces and ends them at an unquoted #.
        assert!(s.contains("#SBATCH --output=\"/shared/my runs/x/slurm-%j.out\"\n"), "{s}");
        assert!(s.contains("#SBATCH --error=\"/shared/my runs/x/slurm-%j.err\"\n"), "{s}");
        assert!(s.contains("#SBATCH --chdir=\"/shared/my runs/x\"\n"), "{s}");
        // % starts a filename pattern in --output; the folder's own % is doubled.
        j.run_dir = PathBuf::from("/shared/100%#1/x");
        let s = script(&j, &SlurmConfig::default()).unwrap();
        assert!(s.contains("#SBATCH --output=\"/shared/100%%#1/x/slurm-%j.out\"\n"), "{s}");
        assert!(s.contains("#SBATCH --chdir=\"/shared/100%#1/x\"\n"), "{s}");
    }

    #[test]
    fn values_no_quoting_can_carry_are_refused_naming_the_key() {
        let mut j = job();
        j.run_dir = PathBuf::from("/shared/runs/x\n#SBATCH --uid=0");
        let e = script(&j, &SlurmConfig::default()).unwrap_err().to_string();
        assert!(e.starts_with("the run folder \"/shared/runs/x\\n#SBATCH --uid=0\" can't be written into the Slurm job script"), "{e}");
        let mut j = job();
        j.resources.partition = Some("gpu --account=other".into());
        let e = script(&j, &SlurmConfig::default()).unwrap_err().to_string();
        assert!(
            e.contains("the partition (--partition or [cluster.slurm] partition) \"gpu --account=other\""),
            "{e}"
        );
        let cfg = SlurmConfig { extra: vec!["--account=a\nrm -rf ~".into()], ..SlurmConfig::default() };
        let e = script(&job(), &cfg).unwrap_err().to_string();
        assert!(e.contains("[cluster.slurm] extra") && e.contains("line break"), "{e}");
        let mut j = job();
        j.binary = PathBuf::from("/bin/work\nbench");
        assert!(script(&j, &SlurmConfig::default()).unwrap_err().to_string().contains("[cluster] binary"));
    }

    #[test]
    fn sbatch_ids_and_refusals() {
        let parsed = |out: &str| parse_sbatch_parsable(out).map(String::from);
        assert_eq!(parsed("1234\n").as_deref(), Some("1234"));
        assert_eq!(parsed("77;cluster2\n").as_deref(), Some("77"));
        assert_eq!(parsed("Submitted batch job 5"), None);
        assert_eq!(parsed("-all\n"), None);
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
