//! Who is writing a staging folder (`.staging-*`), and whether they still are. The cache is often
//! shared between machines (`~/.cache` on a cluster's NFS home), so a process id alone says
//! nothing about a folder another node is writing. Each staging folder holds a small file naming
//! the host and pid that stage it; the stager touches that file every [`TOUCH_EVERY`] while it
//! works (its modification time is the heartbeat). A folder is abandoned, and may be removed,
//! only when its stager is on this host and gone, or its heartbeat is older than [`STALE_AFTER`].
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

/// The file in a staging folder naming its stager; its modification time is the heartbeat.
pub const STAGER_FILE: &str = ".workbench-stager";
/// How often a stager touches its heartbeat.
pub const TOUCH_EVERY: Duration = Duration::from_secs(30);
/// A heartbeat older than this means the stager is gone (killed, or its node went down). Far
/// above [`TOUCH_EVERY`], so clocks a few minutes apart between nodes don't matter.
pub const STALE_AFTER: Duration = Duration::from_secs(10 * 60);

/// What [`STAGER_FILE`] holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stager {
    pub host: String,
    pub pid: u32,
}

impl Stager {
    /// This process, on this host.
    pub fn this_process() -> Stager {
        Stager { host: crate::runs::host_name(), pid: std::process::id() }
    }

    /// A short form for folder names: the host (letters, digits, `.` and `_` kept), then the pid.
    pub fn name_part(&self) -> String {
        let host: String = self
            .host
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || c == '.' || c == '_' { c } else { '_' })
            .take(32)
            .collect();
        format!("{}-{}", if host.is_empty() { "host" } else { &host }, self.pid)
    }
}

/// Whether a staging folder is still being written, with what the listing says about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// Its stager is (or may be) still at work: never removed.
    pub active: bool,
    /// Who and how recent, for `cache list`: `pid 4242 on node12, heartbeat 5s ago`.
    pub note: String,
}

/// Mark `dir` (just created) as staged by this process: write [`STAGER_FILE`] (never through a
/// link) and start its heartbeat, which stops when the returned value is dropped.
pub fn claim(dir: &Path) -> io::Result<Heartbeat> {
    let path = dir.join(STAGER_FILE);
    let text = toml::to_string(&Stager::this_process()).map_err(io::Error::other)?;
    let mut file = crate::util::create_exclusive(&path)?;
    file.write_all(text.as_bytes())?;
    Ok(Heartbeat::start(path))
}

/// Judge the staging folder `dir` at `now` from this host (`here`).
pub fn judge(dir: &Path, now: SystemTime, here: &str) -> Verdict {
    let path = dir.join(STAGER_FILE);
    let age = |t: SystemTime| now.duration_since(t).unwrap_or_default();
    let stager = read_stager(&path);
    let beat = std::fs::metadata(&path).and_then(|m| m.modified()).ok();
    match (stager, beat) {
        (Some(s), Some(beat)) => {
            let ago = age(beat);
            let same_host = s.host == here;
            let who = format!("pid {} on {}", s.pid, if same_host { "this host" } else { s.host.as_str() });
            let ago_text = crate::util::format_duration(ago.as_secs_f64());
            if same_host && !crate::util::process_alive(s.pid) {
                Verdict { active: false, note: format!("{who} is gone") }
            } else if ago > STALE_AFTER {
                Verdict { active: false, note: format!("no heartbeat from {who} for {ago_text}") }
            } else {
                Verdict { active: true, note: format!("{who}, heartbeat {ago_text} ago") }
            }
        }
        _ => {
            // Made by an older workbench (no stager file), or one just created: judged by
            // when anything in it last changed.
            let changed = newest_change(dir).map(age);
            match changed {
                Some(ago) if ago <= STALE_AFTER => Verdict {
                    active: true,
                    note: format!(
                        "no heartbeat file; changed {} ago",
                        crate::util::format_duration(ago.as_secs_f64())
                    ),
                },
                Some(ago) => Verdict {
                    active: false,
                    note: format!(
                        "no heartbeat file; unchanged for {}",
                        crate::util::format_duration(ago.as_secs_f64())
                    ),
                },
                None => Verdict { active: false, note: "unreadable".into() },
            }
        }
    }
}

/// [`STAGER_FILE`] as written by [`claim`]; `None` when missing or not that (never more than 4 KiB
/// is read).
fn read_stager(path: &Path) -> Option<Stager> {
    toml::from_str(&crate::util::lines::read_capped(path, 4096).ok()?).ok()
}

/// The latest modification time of `dir` and the files in it.
fn newest_change(dir: &Path) -> Option<SystemTime> {
    let own = std::fs::metadata(dir).and_then(|m| m.modified()).ok()?;
    let files = std::fs::read_dir(dir).ok()?.filter_map(|e| e.ok()?.metadata().ok()?.modified().ok());
    Some(files.fold(own, SystemTime::max))
}

/// Touches a stager file every [`TOUCH_EVERY`] from its own thread, until dropped.
#[derive(Debug)]
pub struct Heartbeat {
    stop: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Heartbeat {
    fn start(path: std::path::PathBuf) -> Heartbeat {
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("staging-heartbeat".into())
            .spawn(move || loop {
                match stopped.recv_timeout(TOUCH_EVERY) {
                    Err(RecvTimeoutError::Timeout) => touch(&path),
                    Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
                }
            })
            .map_err(|e| tracing::warn!(error = %e, "no staging heartbeat thread; a long staging may be taken for abandoned"))
            .ok();
        Heartbeat { stop: Some(stop), thread }
    }
}

fn touch(path: &Path) {
    let result = std::fs::OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .and_then(|f| f.set_modified(SystemTime::now()));
    if let Err(e) = result {
        tracing::debug!(file = %path.display(), error = %e, "staging heartbeat not written");
    }
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Write a stager file into `dir` as `host`/`pid` would, its heartbeat `age` old.
    pub(crate) fn plant(dir: &Path, host: &str, pid: u32, age: Duration) {
        std::fs::create_dir_all(dir).unwrap();
        let path = dir.join(STAGER_FILE);
        std::fs::write(&path, toml::to_string(&Stager { host: host.into(), pid }).unwrap()).unwrap();
        let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        file.set_modified(SystemTime::now() - age).unwrap();
    }

    #[test]
    fn another_hosts_staging_is_judged_by_its_heartbeat_not_by_a_local_pid() {
        let root = tempfile::tempdir().unwrap();
        let here = crate::runs::host_name();
        let now = SystemTime::now();
        let cases = [
            ("other-fresh", "node-b", 4_999_999, Duration::from_secs(20), true),
            ("other-stale", "node-b", 4_999_999, Duration::from_secs(3_600), false),
            ("here-dead", here.as_str(), 4_999_999, Duration::from_secs(5), false),
            ("here-alive", here.as_str(), std::process::id(), Duration::from_secs(5), true),
            ("here-alive-but-silent", here.as_str(), std::process::id(), Duration::from_secs(3_600), false),
        ];
        for (name, host, pid, age, active) in cases {
            let dir = root.path().join(name);
            plant(&dir, host, pid, age);
            let v = judge(&dir, now, &here);
            assert_eq!(v.active, active, "{name}: {}", v.note);
        }
        let v = judge(&root.path().join("other-fresh"), now, &here);
        assert!(v.note.starts_with("pid 4999999 on node-b, heartbeat 2"), "{}", v.note);
        let v = judge(&root.path().join("here-dead"), now, &here);
        assert_eq!(v.note, "pid 4999999 on this host is gone");
    }

    #[test]
    fn a_folder_without_a_stager_file_is_judged_by_its_age() {
        let dir = tempfile::tempdir().unwrap();
        let now = SystemTime::now();
        assert!(judge(dir.path(), now, "h").active, "just made: still being set up");
        assert!(!judge(dir.path(), now + STALE_AFTER * 2, "h").active, "untouched for long: abandoned");
    }

    #[test]
    fn the_heartbeat_touches_the_stager_file_and_stops_when_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let beat = claim(dir.path()).unwrap();
        let path = dir.path().join(STAGER_FILE);
        let stager: Stager = toml::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(stager, Stager::this_process());
        assert!(claim(dir.path()).is_err(), "a folder has one stager");
        drop(beat); // joins at once: the thread waits on the channel, not a sleep
        touch(&path);
        assert!(judge(dir.path(), SystemTime::now(), &crate::runs::host_name()).active);
    }
}
