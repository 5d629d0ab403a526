//! Following run folders as they change, for the TUI and any other viewer: a few `stat` calls per
//! run per poll, reading only what was appended to `metrics.csv` and `steps.csv` since the last
//! poll, and `run.toml`/`live.toml` only when they changed. Never writes in a watched folder.
use std::collections::{BTreeMap, HashSet};
use std::fs::File;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use notify::{EventKind, RecursiveMode, Watcher};

use super::events::{RunEvent, RunKey, LIVE_FILE};
use super::liveness::{effective_status, read_live};
use super::record::{folder_id, looks_like_run, parse_meta, MetricsColumns, StepsColumns};
use super::{RowError, RunMeta, RunStatus, METRICS_FILE, RUN_FILE, STEPS_FILE};
use crate::telemetry::TelemetryTail;
use crate::util::lines::{AppendedLines, Line};

/// Runs that ended (and problem folders) are looked at once every this many polls.
const QUIET_EVERY: u64 = 10;
/// A folder without `run.toml` younger than this is a run being created, not yet a problem.
const HALF_MADE_GRACE: Duration = Duration::from_secs(10);
/// How often [`spawn_watcher`] polls when nothing wakes it.
pub const DEFAULT_INTERVAL: Duration = Duration::from_millis(500);
/// Fewest milliseconds between two polls woken by file events (a busy run writes often).
const MIN_GAP: Duration = Duration::from_millis(100);

/// What a file looked like at the last look: a change in any of these means "read it again".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileSig {
    len: u64,
    mtime: Option<SystemTime>,
    ino: u64,
}

fn sig(path: &Path) -> Option<FileSig> {
    let m = std::fs::metadata(path).ok()?;
    Some(FileSig { len: m.len(), mtime: m.modified().ok(), ino: m.ino() })
}

/// The largest run.toml read: the workbench writes a few KiB; a larger file is a problem, not
/// read into memory.
pub const RUN_FILE_MAX: u64 = 1 << 20;

/// The longest CSV line followed: a row of a few hundred columns fits many times over; a longer
/// line is reported as a problem and skipped, and the file is still read past it.
pub const CSV_LINE_MAX: usize = 1 << 20;

/// One appended-to CSV file, followed from the last byte read.
#[derive(Debug)]
struct Tail {
    ino: u64,
    /// Where reading goes on, and the row whose newline has not been written yet (capped).
    appended: AppendedLines,
    /// Complete lines read so far (the header is line 1).
    lines: usize,
}

impl Default for Tail {
    fn default() -> Tail {
        Tail { ino: 0, appended: AppendedLines::new(0, CSV_LINE_MAX), lines: 0 }
    }
}

impl Tail {
    /// Complete lines appended since the last call, with their line numbers. A file replaced or
    /// cut shorter is read again from its start (`true` in the answer).
    fn read_new(&mut self, path: &Path) -> Result<(Vec<(usize, Line)>, bool), String> {
        let Some(s) = sig(path) else { return Ok((Vec::new(), false)) };
        let mut restarted = false;
        if s.ino != self.ino || s.len < self.appended.offset {
            restarted = self.appended.offset > 0;
            *self = Tail { ino: s.ino, ..Tail::default() };
        }
        if s.len == self.appended.offset {
            return Ok((Vec::new(), restarted));
        }
        let lines = File::open(path)
            .and_then(|mut f| self.appended.read(&mut f, s.len))
            .map_err(|e| format!("cannot read it: {e}"))?;
        let numbered = lines
            .into_iter()
            .map(|line| {
                self.lines += 1;
                (self.lines, line)
            })
            .collect();
        Ok((numbered, restarted))
    }
}

/// The header of a followed CSV: not read yet, understood, or not one this version reads.
#[derive(Debug)]
enum Header<C> {
    Unread,
    Known(C),
    Foreign,
}

/// What the follower knows of one run folder.
#[derive(Debug)]
struct Followed {
    key: RunKey,
    meta_sig: Option<FileSig>,
    meta: Option<RunMeta>,
    /// The status last sent in a `Meta` event.
    status: Option<RunStatus>,
    /// The problem last sent, so that it is not sent again each poll.
    problem: Option<String>,
    live_sig: Option<FileSig>,
    metrics: Tail,
    metrics_header: Header<MetricsColumns>,
    steps: Tail,
    steps_header: Header<StepsColumns>,
    /// `telemetry.csv`, once the run's folder is known.
    telemetry: Option<TelemetryTail>,
    /// A command run's scalar series (`scalars.csv`, logs written inside its folder).
    command: Option<crate::command::CommandSeries>,
}

impl Followed {
    fn new(key: RunKey) -> Followed {
        Followed {
            key,
            meta_sig: None,
            meta: None,
            status: None,
            problem: None,
            live_sig: None,
            metrics: Tail::default(),
            metrics_header: Header::Unread,
            steps: Tail::default(),
            steps_header: Header::Unread,
            telemetry: None,
            command: None,
        }
    }

    /// An ended run or a problem folder: looked at less often.
    fn quiet(&self) -> bool {
        match self.status {
            Some(s) => !matches!(s, RunStatus::Running | RunStatus::Paused | RunStatus::Queued),
            None => self.problem.is_some(),
        }
    }
}

/// Follows every run folder under some runs folders; each [`poll`](RunsFollower::poll) returns
/// what changed since the last one.
#[derive(Debug)]
pub struct RunsFollower {
    dirs: Vec<PathBuf>,
    runs: BTreeMap<PathBuf, Followed>,
    polls: u64,
}

impl RunsFollower {
    /// Follow the run folders under each of `dirs` (runs folders; missing ones are fine).
    pub fn new(dirs: Vec<PathBuf>) -> RunsFollower {
        RunsFollower { dirs, runs: BTreeMap::new(), polls: 0 }
    }

    /// The runs folders followed.
    pub fn dirs(&self) -> &[PathBuf] {
        &self.dirs
    }

    /// What changed since the last poll. The first poll reports every run: `Meta` (or `Problem`),
    /// then its `Epochs`, `Steps` and `Live`. A `Problem` can also follow a run's `Meta` when one
    /// of its CSV files has a bad row or header; what was read before stays valid.
    pub fn poll(&mut self) -> Vec<RunEvent> {
        let mut events = Vec::new();
        let mut seen: HashSet<PathBuf> = HashSet::new();
        for root in &self.dirs {
            let Ok(read) = std::fs::read_dir(root) else {
                // Unreadable for now (a network hiccup): keep what was known under it.
                seen.extend(self.runs.keys().filter(|d| d.parent() == Some(root.as_path())).cloned());
                continue;
            };
            for entry in read.filter_map(|e| e.ok()) {
                if !entry.file_type().is_ok_and(|t| t.is_dir()) {
                    continue;
                }
                let dir = entry.path();
                if !self.runs.contains_key(&dir) && !is_new_run(&dir) {
                    continue;
                }
                seen.insert(dir);
            }
        }
        let gone: Vec<PathBuf> = self.runs.keys().filter(|d| !seen.contains(*d)).cloned().collect();
        for dir in gone {
            if let Some(f) = self.runs.remove(&dir) {
                events.push(RunEvent::Removed { key: f.key });
            }
        }
        let mut fresh: Vec<PathBuf> = seen.into_iter().filter(|d| !self.runs.contains_key(d)).collect();
        fresh.sort();
        for dir in fresh {
            let mut key = folder_id(&dir);
            if self.runs.values().any(|f| f.key == key) {
                key = dir.display().to_string(); // the same name under two runs folders
            }
            self.runs.insert(dir, Followed::new(key));
        }
        self.polls += 1;
        let slow_turn = self.polls % QUIET_EVERY == 1;
        for (dir, f) in self.runs.iter_mut() {
            if f.quiet() && !slow_turn {
                continue;
            }
            poll_run(dir, f, &mut events);
        }
        events
    }
}

/// A folder not followed yet: a run, or a half-made one old enough not to be mid-creation.
fn is_new_run(dir: &Path) -> bool {
    if dir.join(RUN_FILE).is_file() {
        return true;
    }
    if !looks_like_run(dir) {
        return false;
    }
    let age = std::fs::metadata(dir).and_then(|m| m.modified()).ok().and_then(|t| t.elapsed().ok());
    age.is_none_or(|a| a >= HALF_MADE_GRACE)
}

fn problem(dir: &Path, f: &mut Followed, text: String, events: &mut Vec<RunEvent>) {
    if f.problem.as_deref() != Some(text.as_str()) {
        f.problem = Some(text.clone());
        events.push(RunEvent::Problem { key: f.key.clone(), dir: dir.to_path_buf(), problem: text });
    }
}

fn poll_run(dir: &Path, f: &mut Followed, events: &mut Vec<RunEvent>) {
    let meta_path = dir.join(RUN_FILE);
    let meta_sig = sig(&meta_path);
    if meta_sig != f.meta_sig || (f.meta.is_none() && f.problem.is_none()) {
        f.meta_sig = meta_sig;
        match meta_sig {
            None => {
                f.meta = None;
                f.status = None;
                let text =
                    format!("{} has no {RUN_FILE}: half-written, or not made by workbench", dir.display());
                problem(dir, f, text, events);
            }
            Some(_) => match crate::util::lines::read_capped(&meta_path, RUN_FILE_MAX)
                .map_err(|e| format!("{}: cannot read it: {e}", meta_path.display()))
                .and_then(|text| parse_meta(&meta_path, &text).map_err(|e| e.to_string()))
            {
                Ok(meta) => {
                    let status = effective_status(dir, &meta);
                    f.problem = None;
                    f.status = Some(status);
                    events.push(RunEvent::Meta {
                        key: f.key.clone(),
                        dir: dir.to_path_buf(),
                        meta: Box::new(meta.clone()),
                        status,
                    });
                    f.meta = Some(meta);
                }
                Err(text) => {
                    f.meta = None;
                    f.status = None;
                    problem(dir, f, text, events);
                }
            },
        }
    } else if let Some(meta) = &f.meta {
        // run.toml unchanged, but its process may have gone since: a kill -9 writes nothing.
        if matches!(meta.status, RunStatus::Running | RunStatus::Paused) {
            let status = effective_status(dir, meta);
            if f.status != Some(status) {
                f.status = Some(status);
                events.push(RunEvent::Meta {
                    key: f.key.clone(),
                    dir: dir.to_path_buf(),
                    meta: Box::new(meta.clone()),
                    status,
                });
            }
        }
    }
    if f.meta.is_none() {
        return; // rows are sent only after the run they belong to
    }
    follow_metrics(dir, f, events);
    follow_steps(dir, f, events);
    if let Some(meta) = f.meta.as_ref().filter(|m| m.kind == crate::command::RunKind::Command) {
        let series = f.command.get_or_insert_with(|| crate::command::CommandSeries::new(dir, meta));
        events.extend(series.poll(dir, &f.key));
    }
    let tail = f.telemetry.get_or_insert_with(|| TelemetryTail::new(dir));
    if let Some(update) = tail.poll() {
        events.push(RunEvent::Telemetry { key: f.key.clone(), update });
    }
    let live_path = dir.join(LIVE_FILE);
    let live_sig = sig(&live_path);
    if live_sig != f.live_sig {
        f.live_sig = live_sig;
        // Written atomically, so a parse failure is a foreign file: skipped, not a problem.
        if let Some(live) = read_live(dir) {
            events.push(RunEvent::Live { key: f.key.clone(), live });
        }
    }
}

fn follow_metrics(dir: &Path, f: &mut Followed, events: &mut Vec<RunEvent>) {
    let path = dir.join(METRICS_FILE);
    let (rows, problems) = follow_csv(
        &path,
        &mut f.metrics,
        &mut f.metrics_header,
        MetricsColumns::from_header,
        MetricsColumns::parse,
    );
    if !rows.is_empty() {
        events.push(RunEvent::Epochs { key: f.key.clone(), rows });
    }
    for text in problems {
        problem(dir, f, text, events);
    }
}

fn follow_steps(dir: &Path, f: &mut Followed, events: &mut Vec<RunEvent>) {
    let path = dir.join(STEPS_FILE);
    let (rows, problems) =
        follow_csv(&path, &mut f.steps, &mut f.steps_header, StepsColumns::from_header, StepsColumns::parse);
    if !rows.is_empty() {
        events.push(RunEvent::Steps { key: f.key.clone(), rows });
    }
    for text in problems {
        problem(dir, f, text, events);
    }
}

/// The rows appended to one CSV file since the last look, and what was wrong with the others
/// (each naming the file and line).
fn follow_csv<C, R>(
    path: &Path,
    tail: &mut Tail,
    header: &mut Header<C>,
    read_header: fn(&str) -> Result<C, RowError>,
    parse: fn(&C, &str) -> Result<R, RowError>,
) -> (Vec<R>, Vec<String>) {
    let (lines, restarted) = match tail.read_new(path) {
        Ok(read) => read,
        Err(e) => return (Vec::new(), vec![format!("{}: {e}", path.display())]),
    };
    if restarted {
        *header = Header::Unread;
    }
    let mut rows = Vec::new();
    let mut problems = Vec::new();
    for (n, line) in lines {
        if line.cut {
            problems.push(format!("{} line {n}: longer than {CSV_LINE_MAX} bytes; skipped", path.display()));
            if matches!(header, Header::Unread) {
                *header = Header::Foreign;
            }
            continue;
        }
        let line = line.text();
        match header {
            Header::Unread => match read_header(&line) {
                Ok(c) => *header = Header::Known(c),
                Err(e) => {
                    problems.push(format!("{}: {e}", path.display()));
                    *header = Header::Foreign;
                }
            },
            Header::Known(columns) => match parse(columns, &line) {
                Ok(row) => rows.push(row),
                Err(e) => problems.push(format!("{} line {n}: {e}", path.display())),
            },
            Header::Foreign => {}
        }
    }
    (rows, problems)
}

/// Why the watcher thread wakes.
enum Wake {
    /// A file event under a followed folder.
    Files,
    /// The handle was dropped.
    Stop,
}

/// The watcher thread of [`spawn_watcher`]; dropping it stops the thread and joins it.
pub struct WatcherHandle {
    wake: Sender<Wake>,
    thread: Option<JoinHandle<()>>,
    _watcher: Option<notify::RecommendedWatcher>,
}

impl Drop for WatcherHandle {
    fn drop(&mut self) {
        let _ = self.wake.send(Wake::Stop);
        if let Some(thread) = self.thread.take() {
            if !std::thread::panicking() {
                let _ = thread.join();
            }
        }
    }
}

/// Follow `dirs` on a thread named `runs-watcher`: it polls every `interval` (shared network
/// folders send no file events) and also wakes on file events, and hands each non-empty batch of
/// events to `sink`. It stops when `sink` returns false or the handle is dropped.
pub fn spawn_watcher(
    dirs: Vec<PathBuf>,
    interval: Duration,
    sink: impl FnMut(Vec<RunEvent>) -> bool + Send + 'static,
) -> std::io::Result<WatcherHandle> {
    // The panic hook has logged a panic already; nobody else waits on this follower.
    spawn_watcher_reporting(dirs, interval, sink, |_| {})
}

/// [`spawn_watcher`], handing the message of a panic in the thread to `on_panic` (the TUI shows
/// it), so a follower that died is not mistaken for a quiet runs folder.
pub fn spawn_watcher_reporting(
    dirs: Vec<PathBuf>,
    interval: Duration,
    mut sink: impl FnMut(Vec<RunEvent>) -> bool + Send + 'static,
    on_panic: impl FnOnce(String) + Send + 'static,
) -> std::io::Result<WatcherHandle> {
    let (tx, rx) = mpsc::channel::<Wake>();
    let watcher = file_watcher(&dirs, tx.clone());
    let thread = crate::threads::spawn_reporting(
        "runs-watcher",
        move || {
            let mut follower = RunsFollower::new(dirs);
            loop {
                let polled_at = Instant::now();
                let events = follower.poll();
                if !events.is_empty() && !sink(events) {
                    return;
                }
                match rx.recv_timeout(interval) {
                    Ok(Wake::Stop) | Err(RecvTimeoutError::Disconnected) => return,
                    Err(RecvTimeoutError::Timeout) => {}
                    Ok(Wake::Files) => {
                        // Let a burst of writes settle, listening for Stop meanwhile.
                        let until = polled_at + MIN_GAP;
                        loop {
                            let left = until.saturating_duration_since(Instant::now());
                            match rx.recv_timeout(left) {
                                Ok(Wake::Stop) | Err(RecvTimeoutError::Disconnected) => return,
                                Ok(Wake::Files) if !left.is_zero() => {}
                                Ok(Wake::Files) | Err(RecvTimeoutError::Timeout) => break,
                            }
                        }
                        while let Ok(wake) = rx.try_recv() {
                            if matches!(wake, Wake::Stop) {
                                return;
                            }
                        }
                    }
                }
            }
        },
        on_panic,
    )?;
    Ok(WatcherHandle { wake: tx, thread: Some(thread), _watcher: watcher })
}

/// File events for the runs folders, filtered at the source to the files the follower reads;
/// `None` (polling only) when the platform can't watch them.
fn file_watcher(dirs: &[PathBuf], tx: Sender<Wake>) -> Option<notify::RecommendedWatcher> {
    let roots = dirs.to_vec();
    let watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        let Ok(event) = res else { return };
        if matches!(event.kind, EventKind::Access(_) | EventKind::Other) {
            return;
        }
        let relevant = event.paths.iter().any(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            [RUN_FILE, METRICS_FILE, STEPS_FILE, LIVE_FILE].contains(&name)
                || p.parent().is_some_and(|parent| roots.iter().any(|r| r == parent))
        });
        if relevant {
            let _ = tx.send(Wake::Files);
        }
    });
    let mut watcher = match watcher {
        Ok(w) => w,
        Err(e) => {
            tracing::warn!("no file events for the runs folders ({e}); polling only");
            return None;
        }
    };
    for dir in dirs {
        if let Err(e) = watcher.watch(dir, RecursiveMode::Recursive) {
            tracing::info!("no file events for {} ({e}); polling it", dir.display());
        }
    }
    Some(watcher)
}
