//! Small helpers shared by several modules. A leaf: it imports nothing of the crate.
mod atomic;
pub mod lines;
pub use atomic::{create_exclusive, write_atomic, write_atomic_unsynced, TempFile};

/// Whether the process `pid` of this machine is still running (this process always is). A
/// reused id reads as alive: callers use this only to leave things alone, never to take over.
pub fn process_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else { return false };
    if pid <= 0 {
        return false; // 0 and negatives name process groups, not a process
    }
    // SAFETY: signal 0 only checks that the process exists and may be signalled.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// Drop `value` on a thread of its own, so that freeing it (tens of MiB unmapped page by page)
/// doesn't hold up the caller; dropped here when no thread can be started.
pub fn drop_elsewhere<T: Send + 'static>(value: T) {
    let _ = std::thread::Builder::new().name("drop".into()).spawn(move || drop(value));
}

/// Now, as RFC 3339 in UTC to the second (`2026-11-28T12:54:29Z`).
pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

/// Seconds as a short human duration: `42s`, `3m05s`, `1h02m`.
pub fn format_duration(secs: f64) -> String {
    if !secs.is_finite() || secs < 0.0 {
        return "--".to_string();
    }
    let s = secs.round() as u64;
    if secs < 10.0 {
        format!("{secs:.1}s")
    } else if s < 60 {
        format!("{s}s")
    } else if s < 3600 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
    }
}

/// A byte count with a binary unit: `512 B`, `1.5 KiB`, `80.0 GiB`.
pub fn format_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// A rate with a thousands separator, for samples/s and items/s.
pub fn format_rate(rate: f64) -> String {
    if !rate.is_finite() {
        return "--".to_string();
    }
    let whole = rate.round() as u64;
    let digits = whole.to_string();
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(format_duration(3.25), "3.2s");
        assert_eq!(format_duration(42.0), "42s");
        assert_eq!(format_duration(185.0), "3m05s");
        assert_eq!(format_duration(3720.0), "1h02m");
        assert_eq!(format_duration(f64::NAN), "--");
    }

    #[test]
    fn this_process_is_alive_and_a_free_id_is_not() {
        assert!(process_alive(std::process::id()));
        assert!(!process_alive(u32::MAX), "no process has the largest id");
    }

    #[test]
    fn bytes_and_rates() {
        assert_eq!(format_bytes(512), "512 B");
        assert_eq!(format_bytes(1536), "1.5 KiB");
        assert_eq!(format_rate(1234567.4), "1,234,567");
        assert_eq!(format_rate(999.0), "999");
    }
}
