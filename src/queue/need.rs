//! How much GPU memory a queued run needs, in this order: what the user said (`--gpu-mem`);
//! else the largest peak of finished runs like it (same dataset, model and batch size; or the
//! same command and params), plus 10%; else the workbench's own estimate, plus 20%; else the whole
//! GPU, until a first run of its kind has been measured.
use crate::runs::{RunMeta, RunStatus};

/// The figure and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Need {
    /// MiB; `None`: the whole GPU.
    pub mb: Option<u64>,
    pub source: String,
}

/// Whether two runs are "like" each other for sizing: the same dataset, model and batch size; for
/// command runs the same command line and params.
pub fn alike(a: &RunMeta, b: &RunMeta) -> bool {
    if a.kind != b.kind {
        return false;
    }
    match (&a.command, &b.command) {
        (Some(x), Some(y)) => x.argv == y.argv && x.params == y.params,
        (None, None) => {
            a.dataset == b.dataset
                && a.model == b.model
                && a.hyperparameters.batch_size == b.hyperparameters.batch_size
        }
        _ => false,
    }
}

/// The need of `meta`: `given` (MiB, from `--gpu-mem`), else the past `finished` runs like it,
/// else `estimate` (bytes, the workbench's own), else the whole GPU.
pub fn need_of(meta: &RunMeta, given: Option<u64>, finished: &[RunMeta], estimate: Option<u64>) -> Need {
    if let Some(mb) = given {
        return Need { mb: Some(mb), source: format!("given (--gpu-mem {})", super::format_mb(mb)) };
    }
    let peaks: Vec<u64> = finished
        .iter()
        .filter(|m| m.status == RunStatus::Finished && alike(m, meta))
        .filter_map(|m| m.peak_gpu_mem_mb)
        .collect();
    if let Some(peak) = peaks.iter().max() {
        let mb = (*peak as f64 * 1.1).ceil() as u64;
        let runs = if peaks.len() == 1 {
            "1 finished run".to_string()
        } else {
            format!("{} finished runs", peaks.len())
        };
        return Need {
            mb: Some(mb),
            source: format!("measured: peak {} of {runs} like it, +10%", super::format_mb(*peak)),
        };
    }
    if let Some(bytes) = estimate.filter(|b| *b > 0) {
        let mb = ((bytes as f64 / (1024.0 * 1024.0)) * 1.2).ceil() as u64;
        return Need { mb: Some(mb.max(1)), source: "the workbench's estimate, +20%".into() };
    }
    Need { mb: None, source: "unknown: the whole GPU until a run like it is measured".into() }
}

/// The peak GPU memory (MiB) a run used, over a `telemetry.csv`'s rows: what its own processes
/// held (`run_gpu_mem_mb`, from NVML's process list) where that was recorded, else the whole
/// use of `device`'s GPU (`cuda:N`), which counts other processes too. `None` for the CPU or
/// when nothing was recorded.
pub fn peak_from_telemetry(telemetry: &crate::telemetry::Telemetry, device: &str) -> Option<u64> {
    let index = device.strip_prefix("cuda:").and_then(|n| n.parse::<u32>().ok())?;
    let own = telemetry.series(crate::telemetry::RUN_GPU_MEM_COLUMN);
    let series = if own.is_empty() { telemetry.series(&format!("gpu{index}_mem_used_mb")) } else { own };
    series
        .into_iter()
        .map(|(_, v)| v)
        .filter(|v| v.is_finite() && *v >= 0.0)
        .reduce(f64::max)
        .map(|v| v.ceil() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(dataset: &str, batch: u32, peak: Option<u64>) -> RunMeta {
        let mut spec = crate::params::TrainSpec::from_config(dataset, &crate::config::TrainConfig::default());
        spec.batch_size = batch;
        let mut m = RunMeta::queued(
            crate::command::RunKind::Train,
            dataset.into(),
            "mlp".into(),
            "cuda:0".into(),
            "".into(),
            spec,
        );
        m.status = RunStatus::Finished;
        m.peak_gpu_mem_mb = peak;
        m
    }

    #[test]
    fn the_order_is_given_then_measured_then_estimated_then_whole() {
        let new = meta("iris", 32, None);
        let past = [
            meta("iris", 32, Some(1000)),
            meta("iris", 32, Some(2000)),
            meta("iris", 64, Some(9000)),
            meta("wine", 32, Some(9000)),
        ];
        assert_eq!(need_of(&new, Some(6144), &past, Some(1)).mb, Some(6144));
        let measured = need_of(&new, None, &past, Some(1));
        assert_eq!(measured.mb, Some(2200), "the largest of the two like it, +10%");
        assert!(measured.source.contains("2 finished runs"), "{}", measured.source);
        let estimated = need_of(&new, None, &past[2..], Some(100 * 1024 * 1024));
        assert_eq!((estimated.mb, estimated.source.contains("+20%")), (Some(120), true));
        assert_eq!(need_of(&new, None, &[], None).mb, None);
    }

    #[test]
    fn the_peak_is_read_from_the_runs_gpu_column() {
        let t = crate::telemetry::parse_telemetry(
            "time_s,cpu_percent,rss_mb,gpu0_mem_used_mb,gpu1_mem_used_mb\n1,1,1,100,700\n2,1,1,300,650.2\n",
        );
        assert_eq!(peak_from_telemetry(&t, "cuda:1"), Some(700));
        assert_eq!(peak_from_telemetry(&t, "cuda:0"), Some(300));
        assert_eq!(peak_from_telemetry(&t, "cpu"), None);
        // The run's own processes' memory, where NVML listed them, over the whole GPU's use.
        let own = crate::telemetry::parse_telemetry(
            "time_s,cpu_percent,rss_mb,run_gpu_mem_mb,gpu0_mem_used_mb\n1,1,1,250,9000\n2,1,1,,9500\n3,1,1,410.5,9100\n",
        );
        assert_eq!(peak_from_telemetry(&own, "cuda:0"), Some(411));
    }
}
