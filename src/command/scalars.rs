//! `scalars.csv` in a command run's folder: `step,epoch,wall_s,tag,value`, one row per point taken
//! from the command's output. Written by the run process, read back by every viewer as the same
//! scalar series a TensorBoard run has.
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use super::metrics::MetricLine;
use crate::runs::events::ScalarPoint;

/// The file's name in the run folder.
pub const SCALARS_FILE: &str = "scalars.csv";
/// Its header.
pub const SCALARS_HEADER: &str = "step,epoch,wall_s,tag,value";

/// Appends points to `scalars.csv`; buffered, flushed by [`ScalarsWriter::flush`].
pub struct ScalarsWriter {
    out: BufWriter<File>,
    /// Points written, for the heartbeat.
    pub points: u64,
    /// The last step written.
    pub last_step: i64,
}

impl ScalarsWriter {
    /// Create `DIR/scalars.csv` with its header.
    pub fn create(dir: &Path) -> std::io::Result<ScalarsWriter> {
        let mut out = BufWriter::with_capacity(256 * 1024, File::create(dir.join(SCALARS_FILE))?);
        writeln!(out, "{SCALARS_HEADER}")?;
        out.flush()?;
        Ok(ScalarsWriter { out, points: 0, last_step: 0 })
    }

    /// Append one line's points: at its step, else at `line_number`; `wall_s` seconds since the
    /// command started.
    pub fn append(&mut self, line: &MetricLine, line_number: u64, wall_s: f64) -> std::io::Result<()> {
        let step = line.step.unwrap_or_else(|| match line.epoch {
            Some(e) if e.fract() == 0.0 && (0.0..1.0e9).contains(&e) => e as i64,
            _ => i64::try_from(line_number).unwrap_or(i64::MAX),
        });
        let epoch = line.epoch.map(|e| e.to_string()).unwrap_or_default();
        for (tag, value) in &line.values {
            writeln!(self.out, "{step},{epoch},{wall_s:.3},{tag},{value}")?;
        }
        self.points += line.values.len() as u64;
        self.last_step = step;
        Ok(())
    }

    pub fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

/// Every complete row of `DIR/scalars.csv` as series by tag; `start_unix_s` turns `wall_s` into
/// the wall time a TensorBoard point carries. A missing file is no series; bad rows are skipped.
pub fn read_scalars(dir: &Path, start_unix_s: f64) -> BTreeMap<String, Vec<ScalarPoint>> {
    let mut follower = ScalarsTail::default();
    follower.read_new(dir, start_unix_s)
}

/// Follows `scalars.csv` from the last complete row it read.
#[derive(Debug, Default)]
pub struct ScalarsTail {
    offset: u64,
}

impl ScalarsTail {
    /// The rows appended since the last call, as series by tag.
    pub fn read_new(&mut self, dir: &Path, start_unix_s: f64) -> BTreeMap<String, Vec<ScalarPoint>> {
        use std::io::{Read, Seek, SeekFrom};
        let mut series: BTreeMap<String, Vec<ScalarPoint>> = BTreeMap::new();
        let Ok(mut file) = File::open(dir.join(SCALARS_FILE)) else { return series };
        let len = file.metadata().map(|m| m.len()).unwrap_or(0);
        if len < self.offset {
            self.offset = 0; // rewritten: read it again from the start
        }
        let mut bytes = Vec::new();
        if file.seek(SeekFrom::Start(self.offset)).and_then(|_| file.read_to_end(&mut bytes)).is_err() {
            return series;
        }
        let Some(last_newline) = bytes.iter().rposition(|&b| b == b'\n') else { return series };
        self.offset += last_newline as u64 + 1;
        let text = String::from_utf8_lossy(&bytes[..=last_newline]);
        for row in text.lines() {
            if let Some((tag, point)) = parse_row(row, start_unix_s) {
                series.entry(tag).or_default().push(point);
            }
        }
        series
    }
}

/// One row: `step,epoch,wall_s,tag,value` (the header and bad rows are `None`).
fn parse_row(row: &str, start_unix_s: f64) -> Option<(String, ScalarPoint)> {
    let mut fields = row.splitn(5, ',');
    let step = fields.next()?.parse::<i64>().ok()?;
    let epoch = fields.next()?;
    let wall_s = fields.next()?.parse::<f64>().ok()?;
    let tag = fields.next()?;
    let value = fields.next()?.parse::<f64>().ok()?;
    let epoch = epoch.parse::<f64>().ok().filter(|e| *e >= 0.0 && *e < u32::MAX as f64).map(|e| e as u32);
    Some((tag.to_string(), ScalarPoint { step, wall_time: start_unix_s + wall_s, value, epoch }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::metrics::parse_line;

    #[test]
    fn points_round_trip_at_their_step_or_line() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = ScalarsWriter::create(dir.path()).unwrap();
        w.append(&parse_line(b"step=7 loss=0.5").unwrap(), 1, 0.25).unwrap();
        w.append(&parse_line(b"loss=0.25 acc=0.9").unwrap(), 2, 0.5).unwrap();
        w.append(&parse_line(b"{'loss': 0.2, 'epoch': 3}").unwrap(), 3, 0.75).unwrap();
        w.flush().unwrap();
        let series = read_scalars(dir.path(), 1000.0);
        let steps: Vec<i64> = series["loss"].iter().map(|p| p.step).collect();
        assert_eq!(steps, [7, 2, 3], "its step, else the line number, else an integral epoch");
        assert_eq!(series["loss"][2].epoch, Some(3));
        assert_eq!(series["acc"][0].wall_time, 1000.5);
    }

    #[test]
    fn the_tail_reads_only_complete_new_rows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(SCALARS_FILE);
        std::fs::write(&path, format!("{SCALARS_HEADER}\n1,,0.1,loss,0.5\n2,,0.2,lo")).unwrap();
        let mut tail = ScalarsTail::default();
        assert_eq!(tail.read_new(dir.path(), 0.0)["loss"].len(), 1);
        std::fs::write(&path, format!("{SCALARS_HEADER}\n1,,0.1,loss,0.5\n2,,0.2,loss,0.4\n")).unwrap();
        let fresh = tail.read_new(dir.path(), 0.0);
        assert_eq!(fresh["loss"].iter().map(|p| p.step).collect::<Vec<_>>(), [2]);
    }
}
