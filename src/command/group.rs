//! Signals to a command's process group, never to a pid alone: the command runs as the leader of
//! its own group, so its children and grandchildren get what it gets.

/// Send `signal` to every process of the group `pgid`. A group already empty is no error.
pub fn signal_group(pgid: u32, signal: i32) {
    let Ok(pgid) = libc::pid_t::try_from(pgid) else { return };
    if pgid <= 1 {
        return; // never signal "every process" or init's group
    }
    // SAFETY: kill with a negative id signals a process group; no memory is touched.
    let rc = unsafe { libc::kill(-pgid, signal) };
    if rc != 0 {
        let err = std::io::Error::last_os_error();
        if err.raw_os_error() != Some(libc::ESRCH) {
            tracing::warn!(pgid, signal, error = %err, "cannot signal the command's process group");
        }
    }
}

/// Whether any process of the group `pgid` is left (zombies not yet reaped count).
pub fn group_alive(pgid: u32) -> bool {
    let Ok(pgid) = libc::pid_t::try_from(pgid) else { return false };
    if pgid <= 1 {
        return false;
    }
    // SAFETY: signal 0 only checks that the group has a process that may be signalled.
    let rc = unsafe { libc::kill(-pgid, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// Make this process the reaper of its orphaned descendants, so a grandchild whose parent exited
/// is reaped here (and so leaves its group) instead of lingering as a zombie.
pub fn become_subreaper() {
    // SAFETY: prctl with PR_SET_CHILD_SUBREAPER only sets a flag of this process.
    let rc = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    if rc != 0 {
        tracing::debug!(error = %std::io::Error::last_os_error(), "not a subreaper");
    }
}

/// Reap every child that has exited, without waiting; returns `(pid, raw status)` of each.
pub fn reap_exited() -> Vec<(u32, i32)> {
    let mut reaped = Vec::new();
    loop {
        let mut status = 0;
        // SAFETY: waitpid writes the status into a local.
        let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
        if pid <= 0 {
            return reaped;
        }
        reaped.push((pid as u32, status));
    }
}
