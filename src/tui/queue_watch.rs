//! The TUI's queue watcher: a named thread that looks at the runs folder's queue every
//! [`LOOK`], sends what it sees as [`Event::Queue`] when it changed, and starts a dispatcher when
//! runs wait and none holds the runs folder's queue lock (a dispatcher exits when the queue is
//! empty; runs queued later by another tool, or left by a killed dispatcher, are picked up here).
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::app::Event;
use crate::queue::decide::Limits;
use crate::queue::dispatch::{dispatcher_pid, ensure_dispatcher, gpus_now};
use crate::queue::record::QueueReader;
use crate::queue::snapshot::snapshot;
use crate::train::process::Launcher;

/// How often the queue is looked at.
const LOOK: Duration = Duration::from_millis(500);
/// How often GPUs' free memory is asked for.
const GPU_LOOK: Duration = Duration::from_secs(2);
/// At most one dispatcher started per this long (one that fails to start is not retried in a loop).
const DISPATCHER_RETRY: Duration = Duration::from_secs(10);

/// The running thread; dropping it stops and joins it.
pub struct QueueWatch {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl QueueWatch {
    pub fn spawn(launcher: Launcher, limits: Limits, tx: Sender<Event>) -> std::io::Result<QueueWatch> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let report_to = tx.clone();
        let thread = super::workers::spawn(crate::app::Worker::QueueWatcher, &report_to, move || {
            let mut reader = QueueReader::new();
            let probe = crate::telemetry::GpuProbe::open().ok();
            let mut gpus = (Instant::now(), gpus_now(probe.as_ref()));
            let mut last_sent = None;
            let mut last_start: Option<Instant> = None;
            while !flag.load(Ordering::Relaxed) {
                let view = reader.scan(&launcher.runs_dir);
                if gpus.0.elapsed() >= GPU_LOOK {
                    gpus = (Instant::now(), gpus_now(probe.as_ref()));
                }
                let mut dispatcher = dispatcher_pid(&launcher.runs_dir);
                if !view.waiting.is_empty()
                    && dispatcher.is_none()
                    && last_start.is_none_or(|t| t.elapsed() > DISPATCHER_RETRY)
                {
                    last_start = Some(Instant::now());
                    match ensure_dispatcher(&launcher) {
                        Ok(pid) => {
                            tracing::info!("started the queue's dispatcher (process {pid})");
                            dispatcher = Some(pid);
                        }
                        Err(e) => tracing::error!("cannot start the queue's dispatcher: {e}"),
                    }
                }
                let seen = snapshot(&view, &gpus.1, &limits, dispatcher);
                if last_sent.as_ref() != Some(&seen) {
                    last_sent = Some(seen.clone());
                    if tx.send(Event::Queue(Box::new(seen))).is_err() {
                        return;
                    }
                }
                let next = Instant::now() + LOOK;
                while !flag.load(Ordering::Relaxed) && Instant::now() < next {
                    std::thread::sleep(Duration::from_millis(50));
                }
            }
        })?;
        Ok(QueueWatch { stop, thread: Some(thread) })
    }
}

impl Drop for QueueWatch {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
