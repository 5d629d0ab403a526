//! The TUI's cluster work off the UI thread: [`submit_event`], which the runner's submit
//! thread runs for [`crate::app::Effect::Submit`], and the cluster watcher, a named thread that looks at the runs folder's cluster runs every few
//! seconds and, while one is queued or running, asks its scheduler at most every
//! `[cluster] poll_interval_s` (never under 10 s) through [`crate::cluster::Watcher`], which
//! marks a run whose job died before it started. What it learns goes to the UI as
//! [`Event::Cluster`]; run folders' own changes reach the UI through the runs follower.
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::app::Event;
use crate::cluster::Watcher;

/// How often the runs folder is looked at for cluster runs (reading `job.toml` files only; the
/// schedulers are asked no more often than their interval).
const LOOK: Duration = Duration::from_secs(2);

/// The running thread; dropping it stops and joins it.
pub struct ClusterWatch {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl ClusterWatch {
    /// Start watching `runs_dir`, asking schedulers at most every `interval` (at least 10 s).
    pub fn spawn(runs_dir: PathBuf, interval: Duration, tx: Sender<Event>) -> std::io::Result<ClusterWatch> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let report_to = tx.clone();
        let thread = super::workers::spawn(crate::app::Worker::ClusterWatcher, &report_to, move || {
            let mut watcher = Watcher::new(interval);
            let mut last_sent = None;
            while !flag.load(Ordering::Relaxed) {
                let report = watcher.report(&runs_dir);
                // Only news is sent: an unchanged list with no fresh states is not.
                let news = report.jobs.iter().any(|j| j.state.is_some()) || !report.errors.is_empty();
                if (news || last_sent.as_ref() != Some(&report.jobs)) && !report.jobs.is_empty() {
                    last_sent = Some(report.jobs.clone());
                    if tx.send(Event::Cluster(report)).is_err() {
                        return;
                    }
                }
                let next = Instant::now() + LOOK;
                while !flag.load(Ordering::Relaxed) && Instant::now() < next {
                    std::thread::sleep(Duration::from_millis(50));
                }
            }
        })?;
        Ok(ClusterWatch { stop, thread: Some(thread) })
    }
}

impl Drop for ClusterWatch {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Carry out a submission (what the runner's submit thread does): the same path as
/// `workbench submit`, answered as plain data.
pub fn submit_event(plan: &crate::cluster::submit::SubmitPlan) -> Event {
    let result = crate::cluster::submit::submit_system(plan).map_err(|e| e.to_string());
    match &result {
        Ok(done) => {
            tracing::info!("submitted {} job {} for run {}", done.job.scheduler, done.job.job_id, done.run_id)
        }
        Err(e) => tracing::error!("submission failed: {e}"),
    }
    Event::Submitted(result)
}
