//! The queue's one decision, as a pure function: the queued runs, the devices and the runs
//! already going → which runs start where, and why each other run waits. No I/O: the dispatcher
//! gathers the inputs from the run folders and NVML, and `workbench queue` and the TUI show the
//! same reasons.
use super::{format_mb, AskedDevice};

/// A run waiting in the queue.
#[derive(Debug, Clone, PartialEq)]
pub struct Waiting {
    pub id: String,
    pub asked: AskedDevice,
    /// GPU memory it needs (MiB); `None`: a whole GPU to itself (nothing like it measured yet).
    pub need_mb: Option<u64>,
    pub priority: i32,
    /// The first-come order (the `[queue] queued_at` stamp; sorts as text).
    pub queued_at: String,
    /// `queue top` or an out-of-memory requeue: before every run without it, latest first.
    pub top: Option<String>,
    /// It must run alone on its GPU.
    pub alone: bool,
}

/// Where a run runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Placement {
    Cpu,
    Gpu(usize),
}

impl Placement {
    /// `cpu`, `cuda:1`: the device as runs name it.
    pub fn name(&self) -> String {
        match self {
            Placement::Cpu => "cpu".into(),
            Placement::Gpu(i) => format!("cuda:{i}"),
        }
    }

    /// Read `cpu` or `cuda:N` (`cuda` is `cuda:0`); `None` for anything else.
    pub fn parse(name: &str) -> Option<Placement> {
        match name {
            "cpu" => Some(Placement::Cpu),
            "cuda" => Some(Placement::Gpu(0)),
            _ => name.strip_prefix("cuda:")?.parse().ok().map(Placement::Gpu),
        }
    }
}

/// A GPU as NVML sees it now.
#[derive(Debug, Clone, PartialEq)]
pub struct Gpu {
    pub index: usize,
    pub total_mb: u64,
    pub free_mb: u64,
}

/// A run the queue started that is still going.
#[derive(Debug, Clone, PartialEq)]
pub struct Going {
    pub id: String,
    pub on: Placement,
    /// The memory it was started with (MiB); `None`: it took its GPU whole.
    pub reserved_mb: Option<u64>,
    /// It runs alone on its GPU: nothing else goes there while it runs.
    pub alone: bool,
    /// Seconds since it was started.
    pub started_s_ago: f64,
}

/// `[queue]` settings the decision needs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    pub cpu_slots: u32,
    /// At most this many queue runs on one GPU; `None`: as many as fit.
    pub gpu_slots: Option<u32>,
    pub gpu_headroom_mb: u64,
    /// A run started less than this long ago may not have allocated its memory yet: what it
    /// reserved is held off the GPU's free memory until then.
    pub warmup_s: f64,
}

/// What the queue does now.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Decision {
    /// Runs to start, in queue order, each with its device.
    pub starts: Vec<(String, Placement)>,
    /// Every other queued run, in queue order, with why it waits.
    pub waits: Vec<(String, String)>,
}

/// The queue order: marked runs first (latest mark first), then higher priority, then first
/// come (then the id, so the order is total).
pub fn order(queue: &mut [Waiting]) {
    queue.sort_by(|a, b| {
        b.top
            .cmp(&a.top)
            .then(b.priority.cmp(&a.priority))
            .then(a.queued_at.cmp(&b.queued_at))
            .then(a.id.cmp(&b.id))
    });
}

/// One GPU as the decision sees it while it places runs.
#[derive(Debug, Clone)]
struct GpuRoom {
    index: usize,
    total_mb: u64,
    /// Free per NVML, less what recent runs reserved but have not allocated yet.
    free_mb: u64,
    /// Queue runs on it, and what the recent ones reserved.
    runs: u32,
    reserved_mb: u64,
    /// A run on it runs alone (or took it whole).
    taken_alone: bool,
}

impl GpuRoom {
    fn name(&self) -> String {
        format!("cuda:{}", self.index)
    }

    /// Why `need` can't go here now, or `None` when it can.
    fn refusal(&self, need: Option<u64>, alone: bool, limits: &Limits) -> Option<String> {
        let name = self.name();
        if self.taken_alone {
            return Some(format!("{name} runs a run alone"));
        }
        if limits.gpu_slots.is_some_and(|slots| self.runs >= slots) {
            return Some(format!("{name} runs {} (its {} slots are full)", runs(self.runs), self.runs));
        }
        if (need.is_none() || alone) && self.runs > 0 {
            return Some(format!("{name} runs {}{}", runs(self.runs), self.reserved_note()));
        }
        let wanted = need.unwrap_or(self.total_mb.saturating_sub(limits.gpu_headroom_mb));
        if wanted.saturating_add(limits.gpu_headroom_mb) > self.free_mb {
            let busy = if self.runs > 0 { format!(", runs {}", runs(self.runs)) } else { String::new() };
            return Some(format!(
                "{name} has {} free{busy}{}",
                format_mb(self.free_mb),
                self.reserved_note()
            ));
        }
        None
    }

    fn reserved_note(&self) -> String {
        if self.reserved_mb > 0 {
            format!(" ({} reserved)", format_mb(self.reserved_mb))
        } else {
            String::new()
        }
    }

    /// Take `need` (a whole GPU when `None`) for a run started now.
    fn take(&mut self, need: Option<u64>, alone: bool, headroom: u64) {
        let taken = need.unwrap_or(self.free_mb.saturating_sub(headroom));
        self.free_mb = self.free_mb.saturating_sub(taken);
        self.reserved_mb += taken;
        self.runs += 1;
        self.taken_alone |= alone || need.is_none();
    }
}

fn runs(n: u32) -> String {
    if n == 1 {
        "1 run".into()
    } else {
        format!("{n} runs")
    }
}

/// Decide which queued runs start now, and where; say why each other one waits.
///
/// The CPU takes at most `cpu_slots` queue runs. A GPU takes a run when its free memory, less
/// what runs started there in the last `warmup_s` reserved, less `gpu_headroom_mb`, holds what the
/// run needs, and it has a slot; a run that needs the whole GPU (or must run alone) goes only on
/// a GPU with no queue run, and nothing joins it. Among GPUs that fit, the one left with the least
/// free memory (best fit), so that large holes stay for large runs. A run that can't start does
/// not hold back later runs that can (they fit where it doesn't).
pub fn decide(queue: &[Waiting], gpus: &[Gpu], going: &[Going], limits: &Limits) -> Decision {
    let mut rooms: Vec<GpuRoom> = gpus
        .iter()
        .map(|g| GpuRoom {
            index: g.index,
            total_mb: g.total_mb,
            free_mb: g.free_mb,
            runs: 0,
            reserved_mb: 0,
            taken_alone: false,
        })
        .collect();
    let mut cpu_used = 0u32;
    for run in going {
        match run.on {
            Placement::Cpu => cpu_used += 1,
            Placement::Gpu(i) => {
                // A run on a GPU that vanished holds nothing anyone can use.
                let Some(room) = rooms.iter_mut().find(|r| r.index == i) else { continue };
                room.runs += 1;
                room.taken_alone |= run.alone || run.reserved_mb.is_none();
                if run.started_s_ago < limits.warmup_s {
                    let held = run.reserved_mb.unwrap_or(0);
                    room.free_mb = room.free_mb.saturating_sub(held);
                    room.reserved_mb += held;
                }
            }
        }
    }
    let mut ordered = queue.to_vec();
    order(&mut ordered);
    let mut decision = Decision::default();
    for run in &ordered {
        match place(run, &mut rooms, &mut cpu_used, limits) {
            Ok(at) => decision.starts.push((run.id.clone(), at)),
            Err(why) => decision.waits.push((run.id.clone(), why)),
        }
    }
    decision
}

/// Place one run, updating the rooms; or say why it waits.
fn place(
    run: &Waiting,
    rooms: &mut [GpuRoom],
    cpu_used: &mut u32,
    limits: &Limits,
) -> Result<Placement, String> {
    let cpu = |cpu_used: &mut u32| {
        if *cpu_used < limits.cpu_slots {
            *cpu_used += 1;
            Ok(Placement::Cpu)
        } else {
            Err(format!("waits for a CPU slot: {} of {} in use", cpu_used, limits.cpu_slots))
        }
    };
    let candidates: Vec<usize> = match run.asked {
        AskedDevice::Cpu => return cpu(cpu_used),
        AskedDevice::Auto if rooms.is_empty() => return cpu(cpu_used),
        AskedDevice::Auto | AskedDevice::AnyGpu => (0..rooms.len()).collect(),
        AskedDevice::Cuda(i) => match rooms.iter().position(|r| r.index == i) {
            Some(at) => vec![at],
            None => return Err(format!("waits for cuda:{i}, which is not there now")),
        },
    };
    if candidates.is_empty() {
        return Err("waits for a GPU: none is there now".into());
    }
    let best = candidates
        .iter()
        .copied()
        .filter(|&at| rooms[at].refusal(run.need_mb, run.alone, limits).is_none())
        .min_by_key(|&at| (rooms[at].free_mb, rooms[at].index));
    if let Some(at) = best {
        rooms[at].take(run.need_mb, run.alone, limits.gpu_headroom_mb);
        return Ok(Placement::Gpu(rooms[at].index));
    }
    let what = match (run.need_mb, run.alone) {
        (None, _) => "a whole GPU (nothing like it has been measured yet)".to_string(),
        (Some(mb), true) => format!("{} alone on a GPU (it ran out of memory beside others)", format_mb(mb)),
        (Some(mb), false) => format!("{} on a GPU", format_mb(mb)),
    };
    let reasons: Vec<String> =
        candidates.iter().filter_map(|&at| rooms[at].refusal(run.need_mb, run.alone, limits)).collect();
    Err(format!("waits for {what}: {}", reasons.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    const GIB: u64 = 1024;

    fn limits() -> Limits {
        Limits { cpu_slots: 1, gpu_slots: None, gpu_headroom_mb: 512, warmup_s: 60.0 }
    }

    fn gpus(n: usize, total_gib: u64) -> Vec<Gpu> {
        (0..n).map(|index| Gpu { index, total_mb: total_gib * GIB, free_mb: total_gib * GIB }).collect()
    }

    fn run(id: &str, asked: AskedDevice, need_gib: Option<f64>) -> Waiting {
        Waiting {
            id: id.into(),
            asked,
            need_mb: need_gib.map(|g| (g * GIB as f64) as u64),
            priority: 0,
            queued_at: format!("2026-12-06T06:00:00.{:03}Z", id.len()),
            top: None,
            alone: false,
        }
    }

    fn queued(ids: &[&str], need_gib: f64) -> Vec<Waiting> {
        ids.iter()
            .enumerate()
            .map(|(i, id)| Waiting {
                queued_at: format!("2026-12-06T06:00:{i:02}.000Z"),
                ..run(id, AskedDevice::AnyGpu, Some(need_gib))
            })
            .collect()
    }

    fn started(d: &Decision) -> Vec<(&str, Placement)> {
        d.starts.iter().map(|(id, at)| (id.as_str(), *at)).collect()
    }

    #[test]
    fn small_runs_pack_onto_one_gpu_until_its_memory_is_used() {
        // 24 GiB, 512 MiB kept free: three 7 GiB runs fit (21 + 0.5), a fourth doesn't.
        let q = queued(&["a", "b", "c", "d"], 7.0);
        let d = decide(&q, &gpus(1, 24), &[], &limits());
        assert_eq!(
            started(&d),
            [("a", Placement::Gpu(0)), ("b", Placement::Gpu(0)), ("c", Placement::Gpu(0))]
        );
        assert_eq!(d.waits.len(), 1);
        assert!(
            d.waits[0].1.starts_with("waits for 7.0 GiB on a GPU: cuda:0 has 3.0 GiB free"),
            "{:?}",
            d.waits
        );
    }

    #[test]
    fn never_over_commits_any_gpu_on_machines_of_one_to_eight() {
        for n in 1..=8 {
            let machine: Vec<Gpu> = (0..n)
                .map(|index| Gpu {
                    index,
                    total_mb: (8 + 8 * index as u64) * GIB,
                    free_mb: (6 + 7 * index as u64) * GIB,
                })
                .collect();
            let sizes = [0.5, 3.0, 7.5, 1.25, 12.0, 2.0, 30.0, 5.0];
            let q: Vec<Waiting> = (0..40)
                .map(|i| Waiting {
                    queued_at: format!("2026-12-06T06:00:{i:02}.000Z"),
                    ..run(&format!("r{i:02}"), AskedDevice::AnyGpu, Some(sizes[i % sizes.len()]))
                })
                .collect();
            let d = decide(&q, &machine, &[], &limits());
            assert_eq!(d.starts.len() + d.waits.len(), q.len(), "every run is placed or waits");
            for gpu in &machine {
                let used: u64 = d
                    .starts
                    .iter()
                    .filter(|(_, at)| *at == Placement::Gpu(gpu.index))
                    .map(|(id, _)| q.iter().find(|r| &r.id == id).unwrap().need_mb.unwrap())
                    .sum();
                assert!(
                    used + 512 <= gpu.free_mb,
                    "{n} GPUs: cuda:{} given {used} of {} free",
                    gpu.index,
                    gpu.free_mb
                );
            }
            assert!(!d.starts.is_empty(), "{n} GPUs: something fits");
        }
    }

    #[test]
    fn best_fit_leaves_the_big_gpu_for_the_big_run() {
        let machine = vec![
            Gpu { index: 0, total_mb: 80 * GIB, free_mb: 80 * GIB },
            Gpu { index: 1, total_mb: 16 * GIB, free_mb: 16 * GIB },
        ];
        let mut q = queued(&["small", "big"], 10.0);
        q[1].need_mb = Some(70 * GIB);
        let d = decide(&q, &machine, &[], &limits());
        assert_eq!(started(&d), [("small", Placement::Gpu(1)), ("big", Placement::Gpu(0))]);
    }

    #[test]
    fn priority_first_then_first_come() {
        let mut q = queued(&["first", "second", "urgent"], 0.0);
        for r in &mut q {
            r.asked = AskedDevice::Cpu;
        }
        q[2].priority = 5;
        let lim = Limits { cpu_slots: 2, ..limits() };
        let d = decide(&q, &[], &[], &lim);
        assert_eq!(started(&d), [("urgent", Placement::Cpu), ("first", Placement::Cpu)]);
        assert_eq!(d.waits, [("second".to_string(), "waits for a CPU slot: 2 of 2 in use".to_string())]);
        // A run put on top goes before even the higher priority.
        q[1].top = Some("2026-12-06T07:00:00.000Z".into());
        let d = decide(&q, &[], &[], &lim);
        assert_eq!(started(&d), [("second", Placement::Cpu), ("urgent", Placement::Cpu)]);
    }

    #[test]
    fn cpu_slots_count_the_runs_going() {
        let q = vec![run("next", AskedDevice::Cpu, None)];
        let going = [Going {
            id: "a".into(),
            on: Placement::Cpu,
            reserved_mb: None,
            alone: false,
            started_s_ago: 5.0,
        }];
        let lim = Limits { cpu_slots: 2, ..limits() };
        assert_eq!(started(&decide(&q, &[], &going, &lim)), [("next", Placement::Cpu)]);
        let two = [going[0].clone(), Going { id: "b".into(), ..going[0].clone() }];
        assert!(decide(&q, &[], &two, &lim).starts.is_empty());
    }

    #[test]
    fn the_first_of_its_kind_takes_a_whole_gpu_and_goes_alone() {
        let q = vec![
            run("unmeasured", AskedDevice::AnyGpu, None),
            Waiting {
                queued_at: "2026-12-06T06:00:09.000Z".into(),
                ..run("small", AskedDevice::AnyGpu, Some(1.0))
            },
        ];
        let d = decide(&q, &gpus(1, 24), &[], &limits());
        assert_eq!(started(&d), [("unmeasured", Placement::Gpu(0))]);
        assert!(d.waits[0].1.contains("cuda:0 runs a run alone"), "{:?}", d.waits);
        // While another run is on the only GPU, the unmeasured run waits for it to be empty.
        let going = [Going {
            id: "x".into(),
            on: Placement::Gpu(0),
            reserved_mb: Some(GIB),
            alone: false,
            started_s_ago: 600.0,
        }];
        let d = decide(&q[..1], &gpus(1, 24), &going, &limits());
        assert!(d.starts.is_empty());
        assert_eq!(
            d.waits[0].1,
            "waits for a whole GPU (nothing like it has been measured yet): cuda:0 runs 1 run"
        );
        // On a machine of two GPUs, it takes the empty one.
        let d = decide(&q[..1], &gpus(2, 24), &going, &limits());
        assert_eq!(started(&d), [("unmeasured", Placement::Gpu(1))]);
    }

    #[test]
    fn recent_starts_hold_their_reservation_until_warmed_up() {
        // NVML still says 24 GiB free: the run started 5 s ago hasn't allocated its 20 GiB yet.
        let going = [Going {
            id: "x".into(),
            on: Placement::Gpu(0),
            reserved_mb: Some(20 * GIB),
            alone: false,
            started_s_ago: 5.0,
        }];
        let q = queued(&["next"], 6.0);
        let d = decide(&q, &gpus(1, 24), &going, &limits());
        assert!(d.starts.is_empty());
        assert_eq!(
            d.waits[0].1,
            "waits for 6.0 GiB on a GPU: cuda:0 has 4.0 GiB free, runs 1 run (20.0 GiB reserved)"
        );
        // After the warm-up, NVML's figure is trusted alone.
        let warm = [Going { started_s_ago: 120.0, ..going[0].clone() }];
        assert_eq!(started(&decide(&q, &gpus(1, 24), &warm, &limits())), [("next", Placement::Gpu(0))]);
    }

    #[test]
    fn gpu_slots_cap_runs_per_gpu() {
        let q = queued(&["a", "b", "c"], 1.0);
        let lim = Limits { gpu_slots: Some(2), ..limits() };
        let d = decide(&q, &gpus(1, 80), &[], &lim);
        assert_eq!(d.starts.len(), 2);
        assert!(d.waits[0].1.contains("its 2 slots are full"), "{:?}", d.waits);
    }

    #[test]
    fn a_vanished_gpu_holds_its_runs_and_frees_nothing() {
        let machine = vec![Gpu { index: 0, total_mb: 24 * GIB, free_mb: 24 * GIB }];
        let q = vec![run("wants1", AskedDevice::Cuda(1), Some(1.0))];
        let going = [Going {
            id: "on1".into(),
            on: Placement::Gpu(1),
            reserved_mb: Some(GIB),
            alone: false,
            started_s_ago: 1.0,
        }];
        let d = decide(&q, &machine, &going, &limits());
        assert_eq!(d.waits, [("wants1".to_string(), "waits for cuda:1, which is not there now".to_string())]);
        let any = queued(&["any"], 1.0);
        assert_eq!(started(&decide(&any, &machine, &going, &limits())), [("any", Placement::Gpu(0))]);
        let d = decide(&any, &[], &going, &limits());
        assert_eq!(d.waits[0].1, "waits for a GPU: none is there now");
    }

    #[test]
    fn an_out_of_memory_requeue_goes_first_and_alone() {
        let mut q = queued(&["a", "b", "oom"], 4.0);
        q[2].top = Some("2026-12-06T06:05:00.000Z".into());
        q[2].alone = true;
        let d = decide(&q, &gpus(2, 24), &[], &limits());
        assert_eq!(d.starts[0], ("oom".to_string(), Placement::Gpu(0)));
        assert!(d.starts[1..].iter().all(|(_, at)| *at == Placement::Gpu(1)), "nothing joins it: {d:?}");
        let going = [Going {
            id: "a".into(),
            on: Placement::Gpu(0),
            reserved_mb: Some(GIB),
            alone: false,
            started_s_ago: 600.0,
        }];
        let d = decide(&q[2..], &gpus(1, 24), &going, &limits());
        assert!(d.waits[0].1.starts_with("waits for 4.0 GiB alone on a GPU"), "{:?}", d.waits);
    }

    #[test]
    fn auto_means_a_gpu_where_there_is_one_else_the_cpu() {
        let q = vec![run("a", AskedDevice::Auto, Some(1.0))];
        assert_eq!(started(&decide(&q, &[], &[], &limits())), [("a", Placement::Cpu)]);
        assert_eq!(started(&decide(&q, &gpus(1, 8), &[], &limits())), [("a", Placement::Gpu(0))]);
    }

    #[test]
    fn nothing_queued_decides_nothing() {
        assert_eq!(decide(&[], &gpus(8, 80), &[], &limits()), Decision::default());
    }
}
