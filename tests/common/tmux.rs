//! The real binary in tmux, driven with send-keys and read with capture-pane, as a user over SSH
//! would (tests/tui_e2e.rs, tests/faults.rs).
#![allow(dead_code)]
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// A detached tmux session running one command; killed when dropped.
pub struct Tmux {
    pub session: String,
}

impl Tmux {
    pub fn start(cmd: &str, width: u16, height: u16, dir: &Path) -> Tmux {
        Tmux::start_with_env(cmd, width, height, dir, &[])
    }

    /// [`Tmux::start`] with more `NAME=VALUE` variables in the command's environment.
    pub fn start_with_env(cmd: &str, width: u16, height: u16, dir: &Path, env: &[&str]) -> Tmux {
        // Tests run in parallel in one process: each needs its own session.
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let session = format!("wb-e2e-{}-{n}", std::process::id());
        let mut tmux = Command::new("tmux");
        tmux.args(["new-session", "-d", "-s", &session, "-x", &width.to_string(), "-y", &height.to_string()])
            .args(["-c", dir.to_str().unwrap(), "-e", "LANG=C.UTF-8", "-e", "TERM=xterm-256color"]);
        for var in env {
            tmux.args(["-e", var]);
        }
        let status = tmux.arg(cmd).status().expect("tmux runs");
        assert!(status.success());
        Tmux { session }
    }

    pub fn keys(&self, keys: &[&str]) {
        for k in keys {
            let ok =
                Command::new("tmux").args(["send-keys", "-t", &self.session, k]).status().unwrap().success();
            assert!(ok);
            // Separate keys, so that Esc followed by a letter is not read as Alt+letter.
            std::thread::sleep(Duration::from_millis(150));
        }
    }

    pub fn pane(&self) -> String {
        let out = Command::new("tmux").args(["capture-pane", "-p", "-t", &self.session]).output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn query(&self, format: &str) -> String {
        let out = Command::new("tmux")
            .args(["display-message", "-p", "-t", &self.session, format])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    pub fn wait_for(&self, what: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let pane = self.pane();
            if pane.contains(what) {
                return pane;
            }
            assert!(Instant::now() < deadline, "waited {timeout:?} for {what:?}; the pane shows:\n{pane}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux").args(["kill-session", "-t", &self.session]).status();
    }
}

/// Whether tmux is missing; if so the reason is printed, naming the test file `suite`.
pub fn tmux_missing(suite: &str) -> bool {
    use std::io::Write;
    let found = Command::new("tmux").arg("-V").output().is_ok_and(|o| o.status.success());
    if !found {
        // Past the test harness's capture, so the reason always shows.
        let _ =
            writeln!(std::io::stderr(), "SKIPPED {suite}: tmux is not installed (./dev test installs it)");
    }
    !found
}
