//! Reading `--time` and `--mem` the ways users write them.

use super::ClusterError;

/// `--time`: `2h`, `90m`, `1h30m`, `45s`, `1day`, or Slurm's own `MM`, `MM:SS`, `HH:MM:SS`,
/// `D-HH`, `D-HH:MM`, `D-HH:MM:SS`. Returns seconds.
pub fn parse_time(s: &str) -> Result<u64, ClusterError> {
    let bad = || ClusterError::BadValue {
        flag: "--time",
        value: s.to_string(),
        hint: "use e.g. 2h, 90m, 1h30m, or Slurm's 02:00:00 or 1-12:00:00".into(),
    };
    let t = s.trim();
    if t.is_empty() {
        return Err(bad());
    }
    let secs = if t.chars().all(|c| c.is_ascii_digit() || c == ':' || c == '-') {
        slurm_time(t).ok_or_else(bad)?
    } else {
        humantime::parse_duration(t).map_err(|_| bad())?.as_secs()
    };
    if secs == 0 {
        return Err(bad());
    }
    Ok(secs)
}

fn slurm_time(t: &str) -> Option<u64> {
    let (days, rest) = match t.split_once('-') {
        Some((d, r)) => (d.parse::<u64>().ok()?, r),
        None => (0, t),
    };
    let parts: Vec<u64> = rest.split(':').map(|p| p.parse::<u64>().ok()).collect::<Option<_>>()?;
    let has_days = t.contains('-');
    let (h, m, s) = match (has_days, parts.as_slice()) {
        (false, [m]) => (0, *m, 0),
        (false, [m, s]) => (0, *m, *s),
        (false, [h, m, s]) | (true, [h, m, s]) => (*h, *m, *s),
        (true, [h]) => (*h, 0, 0),
        (true, [h, m]) => (*h, *m, 0),
        _ => return None,
    };
    Some(days * 86_400 + h * 3600 + m * 60 + s)
}

/// Seconds as Slurm's `D-HH:MM:SS` (or `HH:MM:SS` under a day).
pub fn slurm_time_text(secs: u64) -> String {
    let (d, rest) = (secs / 86_400, secs % 86_400);
    let (h, m, s) = (rest / 3600, (rest % 3600) / 60, rest % 60);
    if d > 0 {
        format!("{d}-{h:02}:{m:02}:{s:02}")
    } else {
        format!("{h:02}:{m:02}:{s:02}")
    }
}

/// `--mem`: `16G`, `512M`, `16GB`, `1.5G`, `2T`, or a plain number of MiB. Returns MiB.
pub fn parse_mem_mib(s: &str) -> Result<u64, ClusterError> {
    let bad = || ClusterError::BadValue {
        flag: "--mem",
        value: s.to_string(),
        hint: "use e.g. 16G or 512M".into(),
    };
    let t = s.trim().to_ascii_uppercase();
    let t = t.strip_suffix("IB").or_else(|| t.strip_suffix('B')).unwrap_or(&t);
    let (number, unit) = match t.char_indices().find(|(_, c)| c.is_ascii_alphabetic()) {
        Some((i, _)) => (&t[..i], &t[i..]),
        None => (t, "M"),
    };
    let factor = match unit {
        "K" => 1.0 / 1024.0,
        "M" => 1.0,
        "G" => 1024.0,
        "T" => 1024.0 * 1024.0,
        _ => return Err(bad()),
    };
    let value: f64 = number.trim().parse().map_err(|_| bad())?;
    let mib = (value * factor).ceil();
    if !(mib.is_finite() && mib >= 1.0) {
        return Err(bad());
    }
    Ok(mib as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_in_both_styles() {
        assert_eq!(parse_time("2h").unwrap(), 7200);
        assert_eq!(parse_time("1h30m").unwrap(), 5400);
        assert_eq!(parse_time("90").unwrap(), 5400);
        assert_eq!(parse_time("10:30").unwrap(), 630);
        assert_eq!(parse_time("01:00:05").unwrap(), 3605);
        assert_eq!(parse_time("1-12").unwrap(), 86_400 + 12 * 3600);
        assert_eq!(parse_time("2-00:30:00").unwrap(), 2 * 86_400 + 1800);
        for bad in ["", "0", "soon", "1:2:3:4", "-5"] {
            let e = parse_time(bad).unwrap_err().to_string();
            assert!(e.contains("--time") && e.contains("2h"), "{bad}: {e}");
        }
        assert_eq!(slurm_time_text(7200), "02:00:00");
        assert_eq!(slurm_time_text(86_400 + 61), "1-00:01:01");
    }

    #[test]
    fn memory_sizes() {
        assert_eq!(parse_mem_mib("16G").unwrap(), 16 * 1024);
        assert_eq!(parse_mem_mib("16GB").unwrap(), 16 * 1024);
        assert_eq!(parse_mem_mib("1.5g").unwrap(), 1536);
        assert_eq!(parse_mem_mib("512M").unwrap(), 512);
        assert_eq!(parse_mem_mib("2048").unwrap(), 2048);
        assert_eq!(parse_mem_mib("100K").unwrap(), 1);
        for bad in ["", "lots", "0", "5Q", "-1G"] {
            assert!(parse_mem_mib(bad).unwrap_err().to_string().contains("16G"), "{bad}");
        }
    }
}
