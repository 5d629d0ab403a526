//! A process's CPU use and resident memory, from /proc. CPU use is the change in the process's
//! user + system time between two samples over the wall time between them (100% = one core).
use std::time::Instant;

/// One reading of a process.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProcessSample {
    pub pid: u32,
    /// CPU use since the previous sample, in percent of one core; `None` on the first sample.
    pub cpu_percent: Option<f64>,
    /// Resident memory in bytes.
    pub rss_bytes: u64,
}

/// Follows one process's CPU time between samples.
#[derive(Debug)]
pub struct ProcessProbe {
    pid: u32,
    ticks_per_s: f64,
    page_bytes: u64,
    last: Option<(Instant, u64)>,
    /// Sum over the process and all its descendants (a command run's whole process tree).
    tree: bool,
    /// The processes the last sample read: the GPU memory they hold is the run's.
    pids: Vec<u32>,
}

impl ProcessProbe {
    pub fn new(pid: u32) -> ProcessProbe {
        // SAFETY: sysconf only reads a configuration value.
        let (ticks, page) = unsafe { (libc::sysconf(libc::_SC_CLK_TCK), libc::sysconf(libc::_SC_PAGESIZE)) };
        ProcessProbe {
            pid,
            ticks_per_s: if ticks > 0 { ticks as f64 } else { 100.0 },
            page_bytes: if page > 0 { page as u64 } else { 4096 },
            last: None,
            tree: false,
            pids: Vec::new(),
        }
    }

    /// Follow `pid` and every process below it, summed: CPU time of the tree's live processes,
    /// and their resident memory.
    pub fn tree(pid: u32) -> ProcessProbe {
        ProcessProbe { tree: true, ..ProcessProbe::new(pid) }
    }

    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The process and, for a tree, its descendants, as of the last sample.
    pub fn pids(&self) -> &[u32] {
        &self.pids
    }

    /// Read the process now; `None` once it is gone.
    pub fn sample(&mut self) -> Option<ProcessSample> {
        let (mut ticks, mut rss_pages) = read_process(self.pid)?;
        self.pids.clear();
        self.pids.push(self.pid);
        if self.tree {
            for pid in descendants(self.pid) {
                if let Some((t, r)) = read_process(pid) {
                    ticks += t;
                    rss_pages += r;
                    self.pids.push(pid);
                }
            }
        }
        let now = Instant::now();
        let cpu_percent = self.last.map(|(then, before)| {
            let wall = now.duration_since(then).as_secs_f64();
            if wall <= 0.0 {
                0.0
            } else {
                ticks.saturating_sub(before) as f64 / self.ticks_per_s / wall * 100.0
            }
        });
        self.last = Some((now, ticks));
        Some(ProcessSample { pid: self.pid, cpu_percent, rss_bytes: rss_pages * self.page_bytes })
    }
}

/// (utime + stime, resident pages) of one process.
fn read_process(pid: u32) -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let statm = std::fs::read_to_string(format!("/proc/{pid}/statm")).ok()?;
    Some((cpu_ticks(&stat)?, statm.split_whitespace().nth(1)?.parse().ok()?))
}

/// Every process below `root` (children, grandchildren, ...), from /proc's parent ids.
pub fn descendants(root: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    let parents: Vec<(u32, u32)> = entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            let rest = &stat[stat.rfind(')')? + 1..];
            Some((pid, rest.split_whitespace().nth(1)?.parse().ok()?))
        })
        .collect();
    let mut found = Vec::new();
    let mut frontier = vec![root];
    while let Some(parent) = frontier.pop() {
        for &(pid, ppid) in &parents {
            if ppid == parent && !found.contains(&pid) {
                found.push(pid);
                frontier.push(pid);
            }
        }
    }
    found
}

/// utime + stime from /proc/PID/stat. The command name (field 2) is in parentheses and may hold
/// spaces, so fields are counted from the last `)`.
fn cpu_ticks(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    // After the name: state is field 3, utime field 14, stime field 15.
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_with_spaces_and_parentheses_does_not_shift_the_fields() {
        let stat = "1234 (my (odd) name) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 4 0 99 0 0";
        assert_eq!(cpu_ticks(stat), Some(300));
        assert_eq!(cpu_ticks("garbage"), None);
    }

    #[test]
    fn this_process_shows_memory_and_then_cpu_use() {
        let mut probe = ProcessProbe::new(std::process::id());
        let first = probe.sample().unwrap();
        assert!(first.rss_bytes > 1 << 20, "{first:?}");
        assert_eq!(first.cpu_percent, None, "no rate before a second sample");
        // Burn some CPU so the second sample has something to measure.
        let start = Instant::now();
        let mut x = 0u64;
        while start.elapsed().as_millis() < 200 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
        }
        std::hint::black_box(x);
        let second = probe.sample().unwrap();
        let cpu = second.cpu_percent.unwrap();
        assert!(cpu > 10.0 && cpu < 250.0, "cpu {cpu}");
    }

    #[test]
    fn a_gone_process_gives_none() {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        assert!(ProcessProbe::new(pid).sample().is_none());
    }
}
