//! A command run's scalar series, for every viewer: `scalars.csv` (what its stdout printed), and
//! TensorBoard event files or Lightning CSV logs it wrote anywhere inside its folder (read as for
//! `--logdir`). They reach the views as the same `Scalars` events a TensorBoard run sends.
use std::collections::BTreeMap;
use std::path::Path;

use super::scalars::ScalarsTail;
use crate::runs::events::{RunEvent, RunKey, ScalarPoint};
use crate::runs::external::ExternalFollower;
use crate::runs::RunMeta;

/// Follows one command run's series from where it last read.
#[derive(Debug)]
pub struct CommandSeries {
    stdout: ScalarsTail,
    logs: ExternalFollower,
    /// The run's start, in seconds since the Unix epoch: `scalars.csv` counts from it.
    start_unix_s: f64,
    /// The folder's own name: the name the log follower gives logs written at its top.
    top: String,
}

impl CommandSeries {
    pub fn new(dir: &Path, meta: &RunMeta) -> CommandSeries {
        let start_unix_s = humantime::parse_rfc3339(&meta.started_at)
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(f64::NAN, |d| d.as_secs_f64());
        CommandSeries {
            stdout: ScalarsTail::default(),
            logs: ExternalFollower::new(vec![dir.to_path_buf()]),
            start_unix_s,
            top: crate::runs::folder_id(dir),
        }
    }

    /// The points added since the last poll, as `Scalars` events for the run `key`. A log in a
    /// subfolder has its tags prefixed with the subfolder (`lightning_logs/version_0/loss`).
    pub fn poll(&mut self, dir: &Path, key: &RunKey) -> Vec<RunEvent> {
        let mut events: Vec<RunEvent> = self
            .stdout
            .read_new(dir, self.start_unix_s)
            .into_iter()
            .map(|(tag, points)| RunEvent::Scalars { key: key.clone(), tag, points })
            .collect();
        for event in self.logs.poll() {
            if let RunEvent::Scalars { key: sub, tag, points } = event {
                let tag = if sub == self.top { tag } else { format!("{sub}/{tag}") };
                events.push(RunEvent::Scalars { key: key.clone(), tag, points });
            }
        }
        events
    }
}

/// Every series of the command run in `dir`, read whole: for `workbench runs` and `export`.
pub fn read_command_series(dir: &Path, meta: &RunMeta) -> BTreeMap<String, Vec<ScalarPoint>> {
    let mut series: BTreeMap<String, Vec<ScalarPoint>> = BTreeMap::new();
    let key = meta.id.clone();
    for event in CommandSeries::new(dir, meta).poll(dir, &key) {
        if let RunEvent::Scalars { tag, points, .. } = event {
            series.entry(tag).or_default().extend(points);
        }
    }
    series
}
