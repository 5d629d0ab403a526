//! The queue as the TUI shows it: how many runs wait, why each waits, and each device's room.
//! Plain data, made off the UI thread and sent to it as an event.
use std::collections::BTreeMap;
use std::time::SystemTime;

use super::decide::{decide, Gpu, Limits, Placement};
use super::record::QueueView;

/// One GPU's room for queued runs.
#[derive(Debug, Clone, PartialEq)]
pub struct GpuRoomLine {
    pub index: usize,
    pub free_mb: u64,
    pub total_mb: u64,
    /// Queue runs on it now.
    pub runs: u32,
}

/// What the TUI knows of the queue.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct QueueSnapshot {
    /// The dispatcher working the runs folder, if one is.
    pub dispatcher: Option<u32>,
    /// Queued runs in queue order (run id → why it waits), and runs whose `[queue]` is wrong.
    pub reasons: BTreeMap<String, String>,
    /// Each queued run's place in the queue (1 is next).
    pub positions: BTreeMap<String, usize>,
    pub waiting: usize,
    /// Queue runs on the CPU now, and the slots.
    pub cpu_runs: u32,
    pub cpu_slots: u32,
    /// At most this many queue runs per GPU (`None`: as many as fit).
    pub gpu_slots: Option<u32>,
    pub gpus: Vec<GpuRoomLine>,
}

/// The snapshot of `view` on a machine with `gpus`, under `limits`.
pub fn snapshot(view: &QueueView, gpus: &[Gpu], limits: &Limits, dispatcher: Option<u32>) -> QueueSnapshot {
    let (mut waiting, problems) = view.waiting_for_decision();
    let going = view.going_for_decision(SystemTime::now());
    let decision = decide(&waiting, gpus, &going, limits);
    super::decide::order(&mut waiting);
    let mut reasons: BTreeMap<String, String> = decision.waits.into_iter().collect();
    for (id, at) in decision.starts {
        let why = match dispatcher {
            Some(_) => format!("starts on {} now", at.name()),
            None => format!("can start on {}; no dispatcher runs (the TUI starts one)", at.name()),
        };
        reasons.insert(id, why);
    }
    reasons.extend(problems);
    reasons.extend(view.problems.iter().cloned());
    let on = |p: Placement| going.iter().filter(|g| g.on == p).count() as u32;
    QueueSnapshot {
        dispatcher,
        positions: waiting.iter().enumerate().map(|(i, w)| (w.id.clone(), i + 1)).collect(),
        waiting: waiting.len(),
        reasons,
        cpu_runs: on(Placement::Cpu),
        cpu_slots: limits.cpu_slots,
        gpu_slots: limits.gpu_slots,
        gpus: gpus
            .iter()
            .map(|g| GpuRoomLine {
                index: g.index,
                free_mb: g.free_mb,
                total_mb: g.total_mb,
                runs: on(Placement::Gpu(g.index)),
            })
            .collect(),
    }
}

impl QueueSnapshot {
    /// Whether any run waits or runs under the queue.
    pub fn is_active(&self) -> bool {
        self.waiting > 0 || self.cpu_runs > 0 || self.gpus.iter().any(|g| g.runs > 0)
    }

    /// `queue: CPU 1 of 2 slots`, then `cuda:0 3.1 GiB free of 24.0 GiB, 2 runs (of 4 slots)`.
    pub fn device_lines(&self) -> Vec<String> {
        let mut lines = vec![format!("queue: CPU {} of {} slots", self.cpu_runs, self.cpu_slots)];
        for g in &self.gpus {
            let slots = match self.gpu_slots {
                Some(n) => format!(" of {n} slots"),
                None => String::new(),
            };
            lines.push(format!(
                "queue: cuda:{} {} free of {}, {} run{}{slots}",
                g.index,
                super::format_mb(g.free_mb),
                super::format_mb(g.total_mb),
                g.runs,
                if g.runs == 1 { "" } else { "s" }
            ));
        }
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_queue_shows_the_room_of_each_device() {
        let limits = crate::config::queue::QueueConfig::default().limits();
        let gpus = [Gpu { index: 0, total_mb: 24576, free_mb: 3174 }];
        let s = snapshot(&QueueView::default(), &gpus, &limits, None);
        assert_eq!(s.waiting, 0);
        assert_eq!(
            s.device_lines(),
            ["queue: CPU 0 of 1 slots", "queue: cuda:0 3.1 GiB free of 24.0 GiB, 0 runs"]
        );
    }
}
