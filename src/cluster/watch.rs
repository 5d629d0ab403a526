//! One round of following cluster runs: the queued runs of a runs folder, their jobs asked about
//! (each scheduler at most every interval), and a run whose job ended before it started marked
//! failed with the scheduler's reason. A viewer's thread calls [`Watcher::round`] after
//! [`Watcher::wait_time`]; the run folders' own changes reach viewers through the follower.
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::poll::Watched;
use super::{job_of, read_run_meta, reconcile, ClusterError, JobId, JobRecord, JobState, Poller, Scheduler};
use crate::runs::RunStatus;

/// What one round learned about one run.
#[derive(Debug, Clone, PartialEq)]
pub struct JobUpdate {
    pub dir: PathBuf,
    pub job: JobRecord,
    pub state: JobState,
    /// `run.toml` was rewritten (the run is now failed).
    pub run_changed: bool,
}

/// A poller per scheduler, over one runs folder.
pub struct Watcher {
    slurm: Poller,
    condor: Poller,
}

impl Watcher {
    pub fn new(interval: Duration) -> Watcher {
        Watcher {
            slurm: Poller::new(Scheduler::Slurm, interval),
            condor: Poller::new(Scheduler::Condor, interval),
        }
    }

    /// A watcher over given pollers (tests stand in for the schedulers).
    pub fn with_pollers(slurm: Poller, condor: Poller) -> Watcher {
        Watcher { slurm, condor }
    }

    /// How long until the next round may ask a scheduler.
    pub fn wait_time(&self, now: Instant) -> Duration {
        self.slurm.wait_time(now).max(self.condor.wait_time(now))
    }

    /// Ask about the jobs of every queued or running cluster run under `runs_dir`. A scheduler
    /// with no such job is not asked at all. Errors of one scheduler don't hide the other's
    /// answers. Only a queued run's `run.toml` is ever changed ([`reconcile`]).
    pub fn round(&mut self, runs_dir: &Path) -> (Vec<JobUpdate>, Vec<ClusterError>) {
        let (runs, errors) = scan(runs_dir);
        let (updates, more) = self.round_on(&runs);
        (updates, errors.into_iter().chain(more).collect())
    }

    /// One look for a viewer: every cluster run under `runs_dir`, and, when one is queued or
    /// running and the schedulers may be asked again ([`Watcher::wait_time`]), what they say.
    pub fn report(&mut self, runs_dir: &Path) -> ClusterReport {
        let (runs, mut errors) = scan(runs_dir);
        let mut states: Vec<JobUpdate> = Vec::new();
        if runs.iter().any(|r| is_active(r.status)) && self.wait_time(Instant::now()).is_zero() {
            let (updates, more) = self.round_on(&runs);
            states = updates;
            errors.extend(more);
        }
        let jobs = runs
            .into_iter()
            .map(|r| {
                let state = states.iter().find(|u| u.dir == r.dir).map(|u| u.state.clone());
                ClusterJob { key: dir_key(&r.dir), scheduler: r.job.scheduler, job_id: r.job.job_id, state }
            })
            .collect();
        ClusterReport { jobs, errors: errors.iter().map(ToString::to_string).collect() }
    }

    fn round_on(&mut self, runs: &[ClusterRun]) -> (Vec<JobUpdate>, Vec<ClusterError>) {
        let mut errors = Vec::new();
        let mut updates = Vec::new();
        for (scheduler, poller) in
            [(Scheduler::Slurm, &mut self.slurm), (Scheduler::Condor, &mut self.condor)]
        {
            let mine: Vec<&ClusterRun> =
                runs.iter().filter(|r| r.job.scheduler == scheduler && is_active(r.status)).collect();
            if mine.is_empty() {
                continue;
            }
            let watched: Vec<Watched> =
                mine.iter().map(|r| Watched { job_id: r.job.job_id.clone(), dir: r.dir.clone() }).collect();
            match poller.poll(&watched) {
                Ok(states) => {
                    for (run, (_, state)) in mine.into_iter().zip(states) {
                        let run_changed = match reconcile(&run.dir, &run.job, &state) {
                            Ok(changed) => changed,
                            Err(e) => {
                                errors.push(e);
                                false
                            }
                        };
                        updates.push(JobUpdate {
                            dir: run.dir.clone(),
                            job: run.job.clone(),
                            state,
                            run_changed,
                        });
                    }
                }
                Err(e) => errors.push(e),
            }
        }
        (updates, errors)
    }
}

/// A cluster run as a viewer sees it: its key, its job and what the scheduler last said.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterJob {
    /// The run's folder name.
    pub key: String,
    pub scheduler: Scheduler,
    pub job_id: JobId,
    /// What the scheduler said this round; `None` when it was not asked.
    pub state: Option<JobState>,
}

/// What one look at the runs folder found: plain data for the UI thread.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ClusterReport {
    /// Every cluster run (a folder with `job.toml`).
    pub jobs: Vec<ClusterJob>,
    /// What went wrong, worded for the user.
    pub errors: Vec<String>,
}

/// A folder with a `job.toml`, and its `run.toml` status.
struct ClusterRun {
    dir: PathBuf,
    job: JobRecord,
    status: Option<RunStatus>,
}

fn is_active(status: Option<RunStatus>) -> bool {
    matches!(status, Some(RunStatus::Queued | RunStatus::Running | RunStatus::Paused))
}

fn dir_key(dir: &Path) -> String {
    dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

/// Every cluster run under `runs_dir`.
fn scan(runs_dir: &Path) -> (Vec<ClusterRun>, Vec<ClusterError>) {
    let mut runs = Vec::new();
    let mut errors = Vec::new();
    for entry in std::fs::read_dir(runs_dir).into_iter().flatten().flatten() {
        let dir = entry.path();
        match job_of(&dir) {
            Ok(Some(job)) => {
                let status = read_run_meta(&dir).ok().map(|m| m.status);
                runs.push(ClusterRun { dir, job, status });
            }
            Ok(None) => {}
            Err(e) => errors.push(e),
        }
    }
    (runs, errors)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::{create_queued_run, write_job_record, CmdOutput, Exec};
    use crate::config::TrainConfig;
    use crate::train::TrainSpec;

    fn fake(stdout: &'static str) -> Exec {
        Box::new(move |program, _| {
            Ok(CmdOutput {
                code: Some(0),
                stdout: if program == "squeue" { stdout.into() } else { String::new() },
                stderr: String::new(),
            })
        })
    }

    fn queued_run(runs: &Path, scheduler: Scheduler, id: &str) -> PathBuf {
        let spec = TrainSpec::from_config("iris", &TrainConfig::default());
        let dir = create_queued_run(runs, &spec, scheduler).unwrap();
        let job = JobRecord {
            scheduler,
            job_id: JobId::parse(scheduler, id).unwrap(),
            submitted_at: "now".into(),
            job_file: "job.sbatch".into(),
        };
        write_job_record(&dir, &job).unwrap();
        assert_eq!(job_of(&dir).unwrap(), Some(job));
        dir
    }

    #[test]
    fn a_failed_job_fails_its_queued_run_and_a_pending_one_stays_queued() {
        let runs = tempfile::tempdir().unwrap();
        let failed = queued_run(runs.path(), Scheduler::Slurm, "2");
        let pending = queued_run(runs.path(), Scheduler::Slurm, "101");
        std::fs::create_dir(runs.path().join("a-plain-run")).unwrap();
        let never: Exec = Box::new(|p, _| panic!("condor asked ({p}) with no condor job"));
        let mut w = Watcher::with_pollers(
            Poller::with_exec(
                Scheduler::Slurm,
                Duration::ZERO,
                fake("2|FAILED|NonZeroExitCode\n101|PENDING|Priority\n"),
            ),
            Poller::with_exec(Scheduler::Condor, Duration::ZERO, never),
        );
        let (mut updates, errors) = w.round(runs.path());
        assert!(errors.is_empty(), "{errors:?}");
        updates.sort_by(|a, b| a.job.job_id.cmp(&b.job.job_id));
        assert_eq!(updates.len(), 2);
        assert_eq!(updates[0].job.job_id, "101");
        assert!(!updates[0].run_changed);
        assert!(updates[1].run_changed);
        let meta = read_run_meta(&failed).unwrap();
        assert_eq!(meta.status, RunStatus::Failed);
        assert_eq!(
            meta.reason.as_deref(),
            Some("Slurm job 2 failed before the run started: FAILED, reason NonZeroExitCode")
        );
        assert_eq!(read_run_meta(&pending).unwrap().status, RunStatus::Queued);
        // The next round comes no sooner than the interval, and skips the ended run.
        assert!(w.wait_time(Instant::now()) > Duration::from_secs(9));
        assert!(matches!(w.round(runs.path()).1.as_slice(), [ClusterError::TooSoon { .. }]));
    }

    #[test]
    fn a_job_that_dies_under_a_running_run_fails_it_with_the_reason_but_a_live_run_is_left_alone() {
        let runs = tempfile::tempdir().unwrap();
        let dead = queued_run(runs.path(), Scheduler::Slurm, "7");
        let mut meta = read_run_meta(&dead).unwrap();
        meta.status = RunStatus::Running;
        meta.pid = 0; // no such process here: the run is gone
        crate::cluster::write_run_meta(&dead, &meta).unwrap();
        let live = queued_run(runs.path(), Scheduler::Slurm, "8");
        let mut meta = read_run_meta(&live).unwrap();
        meta.status = RunStatus::Running;
        meta.pid = std::process::id(); // this test process: alive
        crate::cluster::write_run_meta(&live, &meta).unwrap();
        let never: Exec = Box::new(|p, _| panic!("condor asked ({p}) with no condor job"));
        let mut w = Watcher::with_pollers(
            Poller::with_exec(
                Scheduler::Slurm,
                Duration::ZERO,
                fake("7|OUT_OF_MEMORY|None\n8|OUT_OF_MEMORY|None\n"),
            ),
            Poller::with_exec(Scheduler::Condor, Duration::ZERO, never),
        );
        let report = w.report(runs.path());
        assert!(report.errors.is_empty(), "{:?}", report.errors);
        assert_eq!(report.jobs.len(), 2);
        assert!(report.jobs.iter().all(|j| matches!(j.state, Some(JobState::Failed { .. }))));
        let meta = read_run_meta(&dead).unwrap();
        assert_eq!(meta.status, RunStatus::Failed);
        assert!(meta.reason.unwrap().contains("Slurm job 7 ended while the run was going"));
        assert_eq!(
            read_run_meta(&live).unwrap().status,
            RunStatus::Running,
            "a live run's run.toml is its own"
        );
        // The next look lists the jobs without asking Slurm again before the interval.
        let again = w.report(runs.path());
        assert!(again.jobs.iter().all(|j| j.state.is_none()) && again.errors.is_empty(), "{again:?}");
    }

    #[test]
    fn a_job_toml_with_a_hostile_id_is_an_error_and_never_asked_about() {
        let runs = tempfile::tempdir().unwrap();
        let spec = TrainSpec::from_config("iris", &TrainConfig::default());
        let dir = create_queued_run(runs.path(), &spec, Scheduler::Condor).unwrap();
        let record =
            "scheduler = \"condor\"\njob_id = \"-all\"\nsubmitted_at = \"now\"\njob_file = \"job.sub\"\n";
        std::fs::write(dir.join(crate::cluster::JOB_FILE), record).unwrap();
        let e = job_of(&dir).unwrap_err().to_string();
        assert!(e.contains("job.toml") && e.contains("\"-all\" is not a"), "{e}");
        // An id of the other scheduler's form is refused too (scancel 12.0 names a job step).
        let slurm =
            "scheduler = \"slurm\"\njob_id = \"12.0\"\nsubmitted_at = \"now\"\njob_file = \"job.sbatch\"\n";
        std::fs::write(dir.join(crate::cluster::JOB_FILE), slurm).unwrap();
        assert!(job_of(&dir).unwrap_err().to_string().contains("\"12.0\" is not a Slurm job id"));
        std::fs::write(dir.join(crate::cluster::JOB_FILE), record).unwrap();
        let never: Exec = Box::new(|p, a| panic!("{p} {a:?} asked about a hostile id"));
        let never_slurm: Exec = Box::new(|p, a| panic!("{p} {a:?} asked about a hostile id"));
        let mut w = Watcher::with_pollers(
            Poller::with_exec(Scheduler::Slurm, Duration::ZERO, never_slurm),
            Poller::with_exec(Scheduler::Condor, Duration::ZERO, never),
        );
        let (updates, errors) = w.round(runs.path());
        assert!(updates.is_empty());
        assert!(matches!(errors.as_slice(), [ClusterError::BadFile { .. }]), "{errors:?}");
        assert!(crate::cluster::cancel(&dir).unwrap_err().to_string().contains("-all"));
        assert_eq!(read_run_meta(&dir).unwrap().status, RunStatus::Queued, "nothing was cancelled");
    }
}
