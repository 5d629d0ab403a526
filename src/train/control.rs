//! Cooperative control of a running worker: stop, pause and resume are checked between batches.
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use super::msg::StopReason;

const RUNNING: u8 = 0;
const STOP_USER: u8 = 1;
const STOP_INTERRUPTED: u8 = 2;

/// Shared between the worker and whoever started it. Cheap to check in the hot loop: two atomics.
#[derive(Debug, Default)]
pub struct RunControl {
    stop: AtomicU8,
    paused: AtomicBool,
    /// Wakes a paused worker at once when it is resumed or stopped.
    wake: (Mutex<()>, Condvar),
    /// Set from a signal handler (SIGINT/SIGTERM/SIGHUP); read as an interruption.
    signal: Arc<AtomicBool>,
    /// A move to another device is asked for: the loop ends at the next batch boundary.
    moving: AtomicBool,
    move_to: Mutex<Option<MoveTarget>>,
}

/// Where a run moves to (see `ControlCommand::Move`), its device already resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct MoveTarget {
    pub device: crate::device::ResolvedDevice,
    /// CPU threads from then on; `None` keeps the run's setting.
    pub threads: Option<u32>,
    /// Bytes of data the new device may hold (see `device::data_budget`).
    pub budget: Option<u64>,
}

impl RunControl {
    pub fn new() -> Arc<RunControl> {
        Arc::new(RunControl::default())
    }

    /// A control whose interruption flag is also set by signal handlers.
    pub fn with_signal_flag(signal: Arc<AtomicBool>) -> Arc<RunControl> {
        Arc::new(RunControl { signal, ..RunControl::default() })
    }

    pub fn request_stop(&self, reason: StopReason) {
        let code = match reason {
            StopReason::User => STOP_USER,
            StopReason::Interrupted => STOP_INTERRUPTED,
        };
        // An interruption outranks a user stop: the run is recorded as interrupted.
        self.stop.fetch_max(code, Ordering::SeqCst);
        self.notify();
    }

    pub fn stop_reason(&self) -> Option<StopReason> {
        if self.signal.load(Ordering::Relaxed) {
            return Some(StopReason::Interrupted);
        }
        match self.stop.load(Ordering::Relaxed) {
            RUNNING => None,
            STOP_USER => Some(StopReason::User),
            _ => Some(StopReason::Interrupted),
        }
    }

    pub fn set_paused(&self, paused: bool) {
        self.paused.store(paused, Ordering::SeqCst);
        self.notify();
    }

    pub fn is_paused(&self) -> bool {
        self.paused.load(Ordering::Relaxed)
    }

    /// Block while paused, waking on resume or stop. Returns how long it waited.
    pub fn wait_while_paused(&self) -> Duration {
        let start = std::time::Instant::now();
        let Ok(mut guard) = self.wake.0.lock() else { return Duration::ZERO };
        while self.is_paused() && self.stop_reason().is_none() {
            guard = match self.wake.1.wait_timeout(guard, Duration::from_millis(200)) {
                Ok((g, _)) => g,
                Err(_) => break,
            };
        }
        start.elapsed()
    }

    /// Ask the loop to end at the next batch boundary so the worker moves the run to `target`.
    pub fn request_move(&self, target: MoveTarget) {
        if let Ok(mut slot) = self.move_to.lock() {
            *slot = Some(target);
            self.moving.store(true, Ordering::SeqCst);
        }
    }

    /// Whether a move waits to be made (cheap: one atomic).
    pub fn move_requested(&self) -> bool {
        self.moving.load(Ordering::Relaxed)
    }

    /// The move asked for, taken: the next [`move_requested`](Self::move_requested) is false.
    pub fn take_move(&self) -> Option<MoveTarget> {
        self.moving.store(false, Ordering::SeqCst);
        self.move_to.lock().ok()?.take()
    }

    fn notify(&self) {
        let _guard = self.wake.0.lock();
        self.wake.1.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interruption_outranks_a_user_stop() {
        let c = RunControl::new();
        assert_eq!(c.stop_reason(), None);
        c.request_stop(StopReason::User);
        assert_eq!(c.stop_reason(), Some(StopReason::User));
        c.request_stop(StopReason::Interrupted);
        assert_eq!(c.stop_reason(), Some(StopReason::Interrupted));
        c.request_stop(StopReason::User);
        assert_eq!(c.stop_reason(), Some(StopReason::Interrupted));
    }

    #[test]
    fn resume_wakes_a_paused_worker() {
        let c = RunControl::new();
        c.set_paused(true);
        let c2 = c.clone();
        let t = std::thread::spawn(move || c2.wait_while_paused());
        std::thread::sleep(Duration::from_millis(50));
        c.set_paused(false);
        let waited = t.join().unwrap();
        assert!(waited >= Duration::from_millis(40) && waited < Duration::from_secs(2), "{waited:?}");
    }

    #[test]
    fn a_signal_flag_reads_as_an_interruption() {
        let flag = Arc::new(AtomicBool::new(false));
        let c = RunControl::with_signal_flag(flag.clone());
        flag.store(true, Ordering::SeqCst);
        assert_eq!(c.stop_reason(), Some(StopReason::Interrupted));
    }
}
