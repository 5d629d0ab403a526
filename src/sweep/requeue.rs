//! Putting a sweep's failed and stopped cells back in the queue (`R` on the board): each becomes
//! a new queued run with the same values; the earlier run stays on disk and in the record.
use super::grid::Cell;
use super::queue_cells::{queue_cells, QueueAsk, Template};
use super::record::SweepRecord;
use crate::config::Settings;
use crate::data::Catalog;
use crate::device::DeviceReport;

/// Requeue the cells of sweep `name` whose runs are `runs`; how many went back.
pub fn requeue_cells(
    settings: &Settings,
    catalog: &Catalog,
    report: &DeviceReport,
    name: &str,
    runs: &[String],
) -> anyhow::Result<usize> {
    let mut record = SweepRecord::load(&settings.runs_dir, name)?;
    let at: Vec<usize> = (0..record.cells.len()).filter(|&i| runs.contains(&record.cells[i].run)).collect();
    if at.is_empty() {
        anyhow::bail!("none of those runs is a cell of sweep {name} now (requeued already?)");
    }
    let cells: Vec<Cell> = at.iter().map(|&i| record.cells[i].values.clone().into_iter().collect()).collect();
    let mut fixed = record.fixed.clone();
    let queue = QueueAsk {
        device: fixed.remove("device").or_else(|| record.command.as_ref().map(|_| "auto".into())),
        ..QueueAsk::default()
    };
    let made = queue_cells(
        settings,
        catalog,
        report,
        name,
        Template::of(record.command.as_ref()),
        &fixed,
        &cells,
        &queue,
    )?;
    for (&i, new) in at.iter().zip(made) {
        let cell = &mut record.cells[i];
        let old = std::mem::replace(&mut cell.run, new.run);
        cell.earlier.push(old);
    }
    record.save(&settings.runs_dir)?;
    Ok(at.len())
}
