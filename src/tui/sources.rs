//! The threads that feed the one event channel: keyboard, signals, and the file watcher.
//! Each is named, stops when asked (or when the channel is gone), and is joined on the way out.
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crossterm::event::{self as ct, Event as CtEvent, KeyCode, KeyEvent, MouseEventKind};
use notify::{EventKind, RecursiveMode, Watcher};

use crate::app::{Event, Worker};
use crate::threads::catch_reporting;

/// How often the input thread looks up from waiting for a key to see whether it should stop.
const INPUT_POLL: Duration = Duration::from_millis(250);

/// The running sources; dropping it stops and joins them.
pub struct Sources {
    stop: Arc<AtomicBool>,
    input: Option<JoinHandle<()>>,
    signals: Option<(signal_hook::iterator::Handle, JoinHandle<()>)>,
    watcher: Option<notify::RecommendedWatcher>,
    watched: Option<(PathBuf, Option<PathBuf>)>,
}

impl Sources {
    pub fn start(tx: &Sender<Event>) -> std::io::Result<Sources> {
        let stop = Arc::new(AtomicBool::new(false));
        let input = {
            let (input_tx, stop) = (tx.clone(), stop.clone());
            super::workers::spawn(Worker::Input, tx, move || input_loop(&input_tx, &stop))?
        };
        let signals = {
            use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
            let mut signals = signal_hook::iterator::Signals::new([SIGTERM, SIGHUP, SIGINT])?;
            let handle = signals.handle();
            let signal_tx = tx.clone();
            let thread = super::workers::spawn(Worker::Signals, tx, move || {
                for sig in signals.forever() {
                    if signal_tx.send(Event::Signal(sig)).is_err() {
                        break;
                    }
                }
            })?;
            (handle, thread)
        };
        Ok(Sources { stop, input: Some(input), signals: Some(signals), watcher: None, watched: None })
    }

    /// Watch the datasets folder (recursively: image folders have subfolders) and the config
    /// file. Calling it again with other paths moves the watch.
    pub fn watch(&mut self, tx: &Sender<Event>, datasets_dir: &Path, config: Option<&Path>) {
        let wanted = (datasets_dir.to_path_buf(), config.map(Path::to_path_buf));
        if self.watched.as_ref() == Some(&wanted) {
            return;
        }
        self.watcher = None;
        let report = super::workers::reporter(Worker::FileWatcher, tx);
        let tx = tx.clone();
        let (dir, config_file) = wanted.clone();
        let dir_for_events = dir.clone();
        let config_for_events = config_file.clone();
        let watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
            let Ok(event) = res else { return };
            // Filter at the source: reads and metadata-only changes are not news.
            if matches!(event.kind, EventKind::Access(_) | EventKind::Any | EventKind::Other) {
                return;
            }
            // The callback runs on notify's thread: a panic here is caught and reported.
            catch_reporting(
                || {
                    for path in &event.paths {
                        if config_for_events.as_deref() == Some(path.as_path()) {
                            let _ = tx.send(Event::ConfigChanged);
                        } else if path.starts_with(&dir_for_events) && !is_hidden(path) {
                            let _ = tx.send(Event::DatasetsChanged);
                        }
                    }
                },
                report.clone(),
            );
        });
        let mut watcher = match watcher {
            Ok(w) => w,
            Err(e) => {
                tracing::warn!(
                    "cannot watch for file changes ({e}); datasets and config won't reload by themselves"
                );
                return;
            }
        };
        if let Err(e) = watcher.watch(&dir, RecursiveMode::Recursive) {
            tracing::warn!("cannot watch {} ({e}); the datasets list won't update by itself", dir.display());
        }
        if let Some(parent) = config_file.as_deref().and_then(Path::parent) {
            // The folder, not the file: editors save by writing a new file and renaming it.
            if parent != dir.as_path() {
                if let Err(e) = watcher.watch(parent, RecursiveMode::NonRecursive) {
                    tracing::warn!(
                        "cannot watch {} ({e}); config.toml won't reload by itself",
                        parent.display()
                    );
                }
            }
        }
        self.watcher = Some(watcher);
        self.watched = Some(wanted);
    }
}

impl Drop for Sources {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.watcher = None;
        if let Some((handle, thread)) = self.signals.take() {
            handle.close();
            let _ = thread.join();
        }
        if let Some(thread) = self.input.take() {
            // It looks at the stop flag at least every INPUT_POLL. Should a terminal library call
            // ever hang in it, waiting would keep a quitting program alive; the process ends
            // right after this, so an unfinished input thread is left to end with it.
            let deadline = std::time::Instant::now() + 4 * INPUT_POLL;
            while !thread.is_finished() && std::time::Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
            if thread.is_finished() {
                let _ = thread.join();
            } else {
                tracing::warn!("the input thread did not stop in time; leaving it to end with the process");
            }
        }
    }
}

fn is_hidden(path: &Path) -> bool {
    path.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with('.') || n.ends_with('~'))
}

/// What waiting on the terminal found.
enum Ready {
    /// Bytes to read.
    Input,
    /// Nothing within the timeout.
    Timeout,
    /// The terminal is gone (the SSH connection dropped, the tmux pane was killed).
    HungUp,
}

/// Wait up to `timeout` for the terminal (fd 0). We ask the kernel ourselves before letting
/// crossterm read: crossterm 0.29 loops forever reading a terminal that has hung up (read returns
/// 0 bytes and it tries again), so a dropped connection must be noticed here.
fn wait_for_terminal(timeout: Duration) -> Ready {
    let mut fd = libc::pollfd { fd: 0, events: libc::POLLIN, revents: 0 };
    // SAFETY: one pollfd on the stack, valid for the call.
    let n = unsafe { libc::poll(&mut fd, 1, timeout.as_millis() as libc::c_int) };
    if n < 0 {
        return if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
            Ready::Timeout
        } else {
            Ready::HungUp
        };
    }
    if fd.revents & (libc::POLLHUP | libc::POLLERR | libc::POLLNVAL) != 0 {
        Ready::HungUp
    } else if fd.revents & libc::POLLIN != 0 {
        Ready::Input
    } else {
        Ready::Timeout
    }
}

fn input_loop(tx: &Sender<Event>, stop: &AtomicBool) {
    while !stop.load(Ordering::Relaxed) {
        match wait_for_terminal(INPUT_POLL) {
            Ready::Timeout => continue,
            Ready::HungUp => {
                // As if SIGHUP had come: runs are flushed and marked interrupted, then we exit.
                let _ = tx.send(Event::Signal(libc::SIGHUP));
                break;
            }
            Ready::Input => {}
        }
        // Bytes are waiting: crossterm parses them without blocking.
        match ct::poll(Duration::ZERO) {
            Ok(true) => {}
            Ok(false) => continue,
            Err(_) => break,
        }
        let event = match ct::read() {
            Ok(CtEvent::Key(key)) => Event::Key(key),
            Ok(CtEvent::Resize(w, h)) => Event::Resize(w, h),
            // With --mouse, the wheel scrolls like the arrow keys.
            Ok(CtEvent::Mouse(m)) => match m.kind {
                MouseEventKind::ScrollUp => Event::Key(KeyEvent::from(KeyCode::Up)),
                MouseEventKind::ScrollDown => Event::Key(KeyEvent::from(KeyCode::Down)),
                _ => continue,
            },
            Ok(_) => continue,
            Err(_) => break,
        };
        if tx.send(event).is_err() {
            break;
        }
    }
}
