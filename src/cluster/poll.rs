//! Asking the schedulers how their jobs are doing, never more often than every 10 s.
//!
//! Schedulers suffer from clients that poll too often, so [`Poller`] refuses to ask sooner than
//! its interval (at least [`MIN_POLL_INTERVAL`]) and the caller waits for
//! [`Poller::wait_time`]; there is no loop here. The parse functions are pure and are tested
//! against the schedulers' documented output formats (tests/fixtures/slurm, tests/fixtures/condor).
//!
//! - Slurm: `squeue -h -t all -j ID,ID -o '%i|%T|%r'`, and `scontrol show job ID` for the exit
//!   code of a job that failed. No `sacct`: without accounting storage it knows nothing. A job
//!   that left the controller's memory (MinJobAge, 5 min by default) is [`JobState::Gone`]; by
//!   then its run folder says how the run ended.
//! - HTCondor: the job event log in the run folder (written on the submit machine, read without
//!   asking the pool), else `condor_q -json ID`.
use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::condor::EVENT_LOG_FILE;
use super::exec::{self, Exec};
use super::{ClusterError, JobId, Scheduler};

/// No scheduler is asked more often than this.
pub const MIN_POLL_INTERVAL: Duration = Duration::from_secs(10);

/// What a scheduler says of a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobState {
    /// Waiting to start (pending, requeued, held, evicted and waiting again); `reason` is the
    /// scheduler's (`Priority`, `Resources`, `held: ...`).
    Queued { reason: Option<String> },
    /// Running (or finishing: Slurm's COMPLETING, HTCondor's output transfer).
    Running,
    /// Ended with exit code 0.
    Finished,
    /// Ended otherwise (non-zero exit, cancelled, time limit, node failure, removed).
    Failed { reason: String },
    /// The scheduler no longer knows the job.
    Gone,
}

impl JobState {
    /// The job will not change again.
    pub fn is_final(&self) -> bool {
        matches!(self, JobState::Finished | JobState::Failed { .. } | JobState::Gone)
    }
}

/// A job state in a few words, for a viewer: `queued (Priority)`, `running`, `failed: ...`.
pub fn describe(state: &JobState) -> String {
    match state {
        JobState::Queued { reason: Some(r) } => format!("queued ({r})"),
        JobState::Queued { reason: None } => "queued".into(),
        JobState::Running => "running".into(),
        JobState::Finished => "finished".into(),
        JobState::Failed { reason } => format!("failed: {reason}"),
        JobState::Gone => "no longer known to the scheduler".into(),
    }
}

/// A job to ask about, and its run folder (where HTCondor's event log is).
#[derive(Debug, Clone, PartialEq)]
pub struct Watched {
    pub job_id: JobId,
    pub dir: PathBuf,
}

/// Asks one scheduler about a set of jobs, at most once per interval.
pub struct Poller {
    scheduler: Scheduler,
    interval: Duration,
    last: Option<Instant>,
    exec: Exec,
}

impl Poller {
    /// A poller that runs the real client programs; `interval` is raised to at least 10 s.
    pub fn new(scheduler: Scheduler, interval: Duration) -> Poller {
        Poller::with_exec(scheduler, interval, exec::system())
    }

    /// A poller that runs its commands through `exec` (tests stand in for the scheduler).
    pub fn with_exec(scheduler: Scheduler, interval: Duration, exec: Exec) -> Poller {
        Poller { scheduler, interval: interval.max(MIN_POLL_INTERVAL), last: None, exec }
    }

    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// How long until the scheduler may be asked again (zero: now).
    pub fn wait_time(&self, now: Instant) -> Duration {
        match self.last {
            Some(last) => self.interval.saturating_sub(now.saturating_duration_since(last)),
            None => Duration::ZERO,
        }
    }

    /// Ask about `jobs`. Refused with [`ClusterError::TooSoon`] before [`Poller::wait_time`] has
    /// passed; a failed question counts too, so errors don't make it ask faster. Jobs in a
    /// final state need not be asked about again.
    pub fn poll(&mut self, jobs: &[Watched]) -> Result<Vec<(JobId, JobState)>, ClusterError> {
        let now = Instant::now();
        if let Some(last) = self.last {
            let since = now.saturating_duration_since(last);
            if since < self.interval {
                return Err(ClusterError::TooSoon {
                    scheduler: self.scheduler,
                    since_ms: since.as_millis() as u64,
                    wait_ms: (self.interval - since).as_millis() as u64,
                });
            }
        }
        self.last = Some(now);
        if jobs.is_empty() {
            return Ok(Vec::new());
        }
        match self.scheduler {
            Scheduler::Slurm => poll_slurm(jobs, &mut self.exec),
            Scheduler::Condor => poll_condor(jobs, &mut self.exec),
        }
    }
}

fn poll_slurm(jobs: &[Watched], exec: &mut Exec) -> Result<Vec<(JobId, JobState)>, ClusterError> {
    let ids: Vec<&JobId> = jobs.iter().map(|j| &j.job_id).collect();
    let listed = match squeue(&ids, exec)? {
        Listed::Jobs(listed) => listed,
        // One id squeue no longer knows fails the whole question ("Invalid job id specified"):
        // ask each job alone, so one job that is gone doesn't make every other one look gone.
        Listed::UnknownId if ids.len() > 1 => {
            let mut each = Vec::new();
            for id in &ids {
                if let Listed::Jobs(one) = squeue(&[id], exec)? {
                    each.extend(one);
                }
            }
            each
        }
        Listed::UnknownId => Vec::new(),
    };
    let mut states = Vec::new();
    for id in ids {
        let state = match listed.iter().find(|(i, _)| id == i.as_str()) {
            Some((_, JobState::Failed { reason })) => {
                // squeue gives the state and reason; scontrol adds the exit code.
                let detail = exec("scontrol", &["show".into(), "job".into(), id.to_string()])?;
                let from_scontrol = detail.success().then(|| parse_scontrol_job(&detail.stdout)).flatten();
                from_scontrol.unwrap_or(JobState::Failed { reason: reason.clone() })
            }
            Some((_, state)) => state.clone(),
            None => JobState::Gone,
        };
        states.push((id.clone(), state));
    }
    Ok(states)
}

/// What one `squeue -j` said.
enum Listed {
    /// The jobs it listed (a known id may still be missing: it left the controller's memory).
    Jobs(Vec<(String, JobState)>),
    /// It refused the question: at least one of the ids is unknown to it.
    UnknownId,
}

fn squeue(ids: &[&JobId], exec: &mut Exec) -> Result<Listed, ClusterError> {
    let list = ids.iter().map(|id| id.as_str()).collect::<Vec<_>>().join(",");
    let args = ["-h", "-t", "all", "-j", &list, "-o", SQUEUE_FORMAT].map(String::from).to_vec();
    let out = exec("squeue", &args)?;
    if out.success() {
        Ok(Listed::Jobs(parse_squeue(&out.stdout)))
    } else if out.stderr.contains("Invalid job id") {
        Ok(Listed::UnknownId)
    } else {
        Err(ClusterError::Command { program: "squeue".into(), stderr: out.message() })
    }
}

/// squeue's output format: job id, full state name, reason.
pub const SQUEUE_FORMAT: &str = "%i|%T|%r";

/// Parse `squeue -h -o '%i|%T|%r'` lines into job states.
pub fn parse_squeue(text: &str) -> Vec<(String, JobState)> {
    text.lines()
        .filter_map(|line| {
            let mut parts = line.trim().splitn(3, '|');
            let id = parts.next()?.trim();
            let state = parts.next()?.trim();
            let reason = parts.next().unwrap_or("").trim();
            (!id.is_empty() && !state.is_empty()).then(|| (id.to_string(), slurm_state(state, reason, None)))
        })
        .collect()
}

/// Parse `scontrol show job ID`: its `JobState=`, `Reason=` and `ExitCode=`.
pub fn parse_scontrol_job(text: &str) -> Option<JobState> {
    let field = |key: &str| {
        text.split_whitespace().find_map(|tok| tok.strip_prefix(key).and_then(|v| v.strip_prefix('=')))
    };
    let state = field("JobState")?;
    Some(slurm_state(state, field("Reason").unwrap_or("None"), field("ExitCode")))
}

/// Slurm's job state names (squeue's `%T`, scontrol's `JobState`) as a [`JobState`].
pub fn slurm_state(state: &str, reason: &str, exit_code: Option<&str>) -> JobState {
    let reason = match reason {
        "" | "None" | "(null)" => None,
        r => Some(r.to_string()),
    };
    let state = state.trim().to_ascii_uppercase();
    match state.as_str() {
        "PENDING" | "CONFIGURING" | "REQUEUED" | "REQUEUE_HOLD" | "REQUEUE_FED" | "RESV_DEL_HOLD"
        | "SUSPENDED" | "STOPPED" | "RESIZING" => JobState::Queued { reason },
        "RUNNING" | "COMPLETING" | "SIGNALING" | "STAGE_OUT" => JobState::Running,
        "COMPLETED" => JobState::Finished,
        _ => {
            let mut why = match state.as_str() {
                "TIMEOUT" => "hit its time limit (TIMEOUT)".to_string(),
                "CANCELLED" => "cancelled (CANCELLED)".to_string(),
                "OUT_OF_MEMORY" => "ran out of memory (OUT_OF_MEMORY); ask for more with --mem".to_string(),
                "NODE_FAIL" => "its node failed (NODE_FAIL)".to_string(),
                "PREEMPTED" => "preempted (PREEMPTED)".to_string(),
                "BOOT_FAIL" => "its node failed to boot (BOOT_FAIL)".to_string(),
                "DEADLINE" => "missed its deadline (DEADLINE)".to_string(),
                other => other.to_string(),
            };
            if let Some(r) = reason {
                why.push_str(&format!(", reason {r}"));
            }
            if let Some(code) = exit_code.filter(|c| *c != "0:0") {
                why.push_str(&format!(", exit code {code}"));
            }
            JobState::Failed { reason: why }
        }
    }
}

fn poll_condor(jobs: &[Watched], exec: &mut Exec) -> Result<Vec<(JobId, JobState)>, ClusterError> {
    let mut states = Vec::new();
    let mut ask: Vec<&JobId> = Vec::new();
    for job in jobs {
        let log = job.dir.join(EVENT_LOG_FILE);
        match std::fs::read_to_string(&log) {
            Ok(text) => match parse_event_log(&text, job.job_id.as_str()) {
                Some(state) => states.push((job.job_id.clone(), state)),
                None => ask.push(&job.job_id),
            },
            Err(_) => ask.push(&job.job_id),
        }
    }
    if !ask.is_empty() {
        let mut args = vec!["-json".to_string()];
        args.extend(ask.iter().map(|s| s.to_string()));
        args.extend(
            ["-attributes", "ClusterId,ProcId,JobStatus,HoldReason,ExitCode,RemoveReason"].map(String::from),
        );
        let out = exec("condor_q", &args)?;
        if !out.success() {
            return Err(ClusterError::Command { program: "condor_q".into(), stderr: out.message() });
        }
        let listed = parse_condor_q_json(&out.stdout)?;
        for id in ask {
            let state = listed
                .iter()
                .find(|(i, _)| id == i.as_str())
                .map(|(_, s)| s.clone())
                .unwrap_or(JobState::Gone);
            states.push((id.clone(), state));
        }
    }
    Ok(states)
}

/// Parse `condor_q -json` (an array of job ClassAds; empty output when no job matched).
pub fn parse_condor_q_json(text: &str) -> Result<Vec<(String, JobState)>, ClusterError> {
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    let ads: Vec<serde_json::Value> = serde_json::from_str(text).map_err(|e| {
        ClusterError::UnexpectedOutput { program: "condor_q -json".into(), output: e.to_string() }
    })?;
    Ok(ads
        .iter()
        .filter_map(|ad| {
            let cluster = ad.get("ClusterId")?.as_i64()?;
            let proc_ = ad.get("ProcId")?.as_i64()?;
            let status = ad.get("JobStatus")?.as_i64()?;
            let text = |key: &str| ad.get(key).and_then(|v| v.as_str()).map(str::to_string);
            let state = match status {
                1 => JobState::Queued { reason: None },
                2 | 6 => JobState::Running,
                3 => JobState::Failed {
                    reason: format!(
                        "removed{}",
                        text("RemoveReason").map(|r| format!(": {r}")).unwrap_or_default()
                    ),
                },
                4 => match ad.get("ExitCode").and_then(|v| v.as_i64()) {
                    Some(0) | None => JobState::Finished,
                    Some(code) => JobState::Failed { reason: format!("exit code {code}") },
                },
                5 => JobState::Queued {
                    reason: Some(format!(
                        "held: {}",
                        text("HoldReason").unwrap_or_else(|| "no reason given".into())
                    )),
                },
                7 => JobState::Queued { reason: Some("suspended".into()) },
                other => JobState::Queued { reason: Some(format!("JobStatus {other}")) },
            };
            Some((format!("{cluster}.{proc_}"), state))
        })
        .collect())
}

/// The state of job `job_id` (`CLUSTER.PROC`) after the last of its events in an HTCondor job
/// event log (the classic text format: `NNN (CLUSTER.PROC.SUBPROC) DATE TIME text`, detail lines,
/// then `...`). `None` when the log has no event for it.
pub fn parse_event_log(text: &str, job_id: &str) -> Option<JobState> {
    let (cluster, proc_) = job_id.split_once('.').unwrap_or((job_id, "0"));
    let (cluster, proc_): (u64, u64) = (cluster.parse().ok()?, proc_.parse().ok()?);
    let mut state = None;
    for event in text.split("\n...").map(|e| e.trim_matches(['\n', '\r'])) {
        let mut lines = event.lines();
        let Some(head) = lines.next() else { continue };
        let mut words = head.split_whitespace();
        let (Some(code), Some(id)) = (words.next(), words.next()) else { continue };
        let mut nums = id.trim_matches(['(', ')']).split('.').map(|n| n.parse::<u64>().ok());
        if (nums.next().flatten(), nums.next().flatten()) != (Some(cluster), Some(proc_)) {
            continue;
        }
        let detail: Vec<&str> = lines.map(str::trim).filter(|l| !l.is_empty()).collect();
        let first_detail = detail.first().map(|s| s.to_string());
        state = match code {
            "000" => Some(JobState::Queued { reason: None }),
            "001" => Some(JobState::Running),
            "004" => Some(JobState::Queued { reason: Some("evicted; waiting to run again".into()) }),
            "005" => Some(terminated(&detail)),
            "009" => Some(JobState::Failed {
                reason: format!("removed{}", first_detail.map(|d| format!(" ({d})")).unwrap_or_default()),
            }),
            "012" => Some(JobState::Queued {
                reason: Some(format!("held: {}", first_detail.unwrap_or_else(|| "no reason given".into()))),
            }),
            "013" => Some(JobState::Queued { reason: Some("released from hold".into()) }),
            _ => state,
        };
    }
    state
}

/// A terminate event's first detail line: `(1) Normal termination (return value N)` or
/// `(0) Abnormal termination (signal N)`.
fn terminated(detail: &[&str]) -> JobState {
    let first = detail.first().copied().unwrap_or("");
    if let Some(rest) = first.split("return value").nth(1) {
        let code = rest.trim().trim_end_matches(')').trim();
        return if code == "0" {
            JobState::Finished
        } else {
            JobState::Failed { reason: format!("exit code {code}") }
        };
    }
    if let Some(rest) = first.split("(signal").nth(1) {
        return JobState::Failed {
            reason: format!("killed by signal {}", rest.trim().trim_end_matches(')')),
        };
    }
    JobState::Failed { reason: if first.is_empty() { "terminated".into() } else { first.to_string() } }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use super::*;
    use crate::cluster::CmdOutput;

    const SQUEUE: &str = include_str!("../../tests/fixtures/slurm/squeue.txt");
    const SCONTROL_FAILED: &str = include_str!("../../tests/fixtures/slurm/scontrol_failed.txt");
    const CONDOR_Q: &str = include_str!("../../tests/fixtures/condor/condor_q.json");
    const EVENT_LOG: &str = include_str!("../../tests/fixtures/condor/job_event_log.txt");

    fn queued(reason: &str) -> JobState {
        JobState::Queued { reason: Some(reason.into()) }
    }

    #[test]
    fn squeue_states() {
        let s = parse_squeue(SQUEUE);
        let get = |id: &str| s.iter().find(|(i, _)| i == id).map(|(_, st)| st.clone()).unwrap();
        assert_eq!(s.len(), 9);
        assert_eq!(get("101"), queued("Priority"));
        assert_eq!(get("102"), queued("Resources"));
        assert_eq!(get("103"), JobState::Running);
        assert_eq!(get("104"), JobState::Finished);
        assert_eq!(get("2"), JobState::Failed { reason: "FAILED, reason BadConstraints".into() });
        assert_eq!(
            get("105"),
            JobState::Failed { reason: "hit its time limit (TIMEOUT), reason TimeLimit".into() }
        );
        assert_eq!(get("106"), JobState::Failed { reason: "cancelled (CANCELLED)".into() });
        assert_eq!(get("107"), queued("BeginTime"));
        assert_eq!(get("108"), JobState::Running);
        assert!(parse_squeue("\n  \ngarbage\n").is_empty());
    }

    #[test]
    fn scontrol_adds_the_exit_code() {
        assert_eq!(
            parse_scontrol_job(SCONTROL_FAILED),
            Some(JobState::Failed { reason: "FAILED, reason BadConstraints, exit code 0:1".into() })
        );
        assert_eq!(parse_scontrol_job("slurm_load_jobs error: Invalid job id specified"), None);
    }

    #[test]
    fn condor_q_json_states() {
        let s = parse_condor_q_json(CONDOR_Q).unwrap();
        assert_eq!(s[0], ("4711.0".into(), JobState::Running));
        assert!(
            matches!(&s[1].1, JobState::Queued { reason: Some(r) } if r.starts_with("held: Error from slot1_2") && r.contains("Exec format error"))
        );
        assert_eq!(s[2].1, JobState::Queued { reason: None });
        assert_eq!(s[3].1, JobState::Failed { reason: "exit code 1".into() });
        assert_eq!(s[4].1, JobState::Failed { reason: "removed: via condor_rm (by user me)".into() });
        assert_eq!(parse_condor_q_json("").unwrap(), vec![]);
        assert!(parse_condor_q_json("-- Schedd: submit.example.edu").is_err());
    }

    #[test]
    fn event_log_states() {
        let at = |id| parse_event_log(EVENT_LOG, id);
        assert_eq!(at("4711.0"), Some(JobState::Finished), "evicted, ran again, terminated with 0");
        assert!(
            matches!(at("4712.0"), Some(JobState::Queued { reason: Some(r) }) if r.contains("Exec format error"))
        );
        assert_eq!(at("4716.0"), Some(JobState::Failed { reason: "exit code 1".into() }));
        assert_eq!(
            at("4717.0"),
            Some(JobState::Failed { reason: "removed (via condor_rm (by user me))".into() })
        );
        assert_eq!(at("4718.0"), Some(JobState::Failed { reason: "killed by signal 9".into() }));
        assert_eq!(at("9999.0"), None);
        // The log as it stood before the eviction's end: running, then evicted.
        let cut = EVENT_LOG.find("001 (4711.000.000) 2026-11-28 13:45:10").unwrap();
        assert_eq!(
            parse_event_log(&EVENT_LOG[..cut], "4711.0"),
            Some(queued("evicted; waiting to run again"))
        );
        let cut = EVENT_LOG.find("012 (4712").unwrap();
        assert_eq!(parse_event_log(&EVENT_LOG[..cut], "4711.0"), Some(JobState::Running));
    }

    fn watched(scheduler: Scheduler, ids: &[&str]) -> Vec<Watched> {
        ids.iter()
            .map(|id| Watched { job_id: JobId::parse(scheduler, id).unwrap(), dir: PathBuf::new() })
            .collect()
    }

    fn named(states: Vec<(JobId, JobState)>) -> Vec<(String, JobState)> {
        states.into_iter().map(|(id, state)| (id.to_string(), state)).collect()
    }

    /// squeue as Slurm runs it: `-j` with an id the controller no longer knows fails the whole
    /// question with "Invalid job id specified"; otherwise the fixture's lines for the ids asked.
    fn strict_squeue(asked: Arc<std::sync::Mutex<Vec<String>>>) -> Exec {
        Box::new(move |program, args| {
            assert_eq!(program, "squeue", "no failed job here, so no scontrol");
            let list = args.iter().skip_while(|a| *a != "-j").nth(1).unwrap().clone();
            asked.lock().unwrap().push(list.clone());
            let ids: Vec<&str> = list.split(',').collect();
            let known: Vec<&str> =
                SQUEUE.lines().filter(|l| ids.contains(&l.split('|').next().unwrap())).collect();
            Ok(if known.len() < ids.len() {
                CmdOutput {
                    code: Some(1),
                    stdout: String::new(),
                    stderr: "slurm_load_jobs error: Invalid job id specified\n".into(),
                }
            } else {
                CmdOutput { code: Some(0), stdout: known.join("\n") + "\n", stderr: String::new() }
            })
        })
    }

    #[test]
    fn one_unknown_job_id_does_not_make_the_other_jobs_gone() {
        let asked = Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut p = Poller::with_exec(Scheduler::Slurm, MIN_POLL_INTERVAL, strict_squeue(asked.clone()));
        let states = named(p.poll(&watched(Scheduler::Slurm, &["101", "999", "103"])).unwrap());
        assert_eq!(
            states,
            vec![
                ("101".into(), queued("Priority")),
                ("999".into(), JobState::Gone),
                ("103".into(), JobState::Running),
            ]
        );
        assert_eq!(*asked.lock().unwrap(), ["101,999,103", "101", "999", "103"], "all at once, then each");
        // Every id known: one question.
        let mut p = Poller::with_exec(Scheduler::Slurm, MIN_POLL_INTERVAL, strict_squeue(asked.clone()));
        asked.lock().unwrap().clear();
        let states = named(p.poll(&watched(Scheduler::Slurm, &["101", "102"])).unwrap());
        assert_eq!(states, vec![("101".into(), queued("Priority")), ("102".into(), queued("Resources"))]);
        assert_eq!(asked.lock().unwrap().len(), 1);
    }

    /// A stand-in scheduler that counts questions and answers from the fixtures.
    fn counting(calls: Arc<AtomicUsize>) -> Exec {
        Box::new(move |program, args| {
            calls.fetch_add(1, Ordering::SeqCst);
            Ok(match program {
                "squeue" => {
                    assert!(args.contains(&"103,2,999".to_string()), "{args:?}");
                    CmdOutput { code: Some(0), stdout: SQUEUE.into(), stderr: String::new() }
                }
                "scontrol" => {
                    CmdOutput { code: Some(0), stdout: SCONTROL_FAILED.into(), stderr: String::new() }
                }
                other => panic!("unexpected {other}"),
            })
        })
    }

    #[test]
    fn the_poller_refuses_to_ask_sooner_than_its_interval() {
        let calls = Arc::new(AtomicUsize::new(0));
        let mut p = Poller::with_exec(Scheduler::Slurm, Duration::from_secs(1), counting(calls.clone()));
        assert_eq!(p.interval(), MIN_POLL_INTERVAL, "raised to the minimum");
        assert_eq!(p.wait_time(Instant::now()), Duration::ZERO);
        let jobs = watched(Scheduler::Slurm, &["103", "2", "999"]);
        let states = named(p.poll(&jobs).unwrap());
        assert_eq!(states[0], ("103".into(), JobState::Running));
        assert!(matches!(&states[1].1, JobState::Failed { reason } if reason.contains("exit code 0:1")));
        assert_eq!(states[2], ("999".into(), JobState::Gone));
        assert_eq!(calls.load(Ordering::SeqCst), 2, "one squeue, one scontrol for the failed job");
        let e = p.poll(&jobs).unwrap_err();
        assert!(matches!(e, ClusterError::TooSoon { .. }), "{e}");
        assert_eq!(calls.load(Ordering::SeqCst), 2, "refused without asking");
        let wait = p.wait_time(Instant::now());
        assert!(wait > Duration::from_secs(9) && wait <= MIN_POLL_INTERVAL, "{wait:?}");
    }

    #[test]
    fn condor_reads_the_event_log_before_asking_the_pool() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(EVENT_LOG_FILE), EVENT_LOG).unwrap();
        let asked = Arc::new(AtomicUsize::new(0));
        let seen = asked.clone();
        let exec: Exec = Box::new(move |program, args| {
            seen.fetch_add(1, Ordering::SeqCst);
            assert_eq!(program, "condor_q");
            assert!(args.contains(&"4713.0".to_string()) && !args.contains(&"4711.0".to_string()));
            Ok(CmdOutput { code: Some(0), stdout: CONDOR_Q.into(), stderr: String::new() })
        });
        let mut p = Poller::with_exec(Scheduler::Condor, MIN_POLL_INTERVAL, exec);
        let mut jobs = watched(Scheduler::Condor, &["4711.0", "4713.0"]);
        jobs[0].dir = dir.path().to_path_buf();
        jobs[1].dir = dir.path().join("no-log-here");
        let states = named(p.poll(&jobs).unwrap());
        assert_eq!(
            states,
            vec![("4711.0".into(), JobState::Finished), ("4713.0".into(), JobState::Queued { reason: None })]
        );
        assert_eq!(asked.load(Ordering::SeqCst), 1);
    }
}
