//! Sweeps: a grid or a random search of runs queued in one line, and the seed-grouped comparison
//! of their results.
//!
//! - [`grid`]: the values (lists, ranges), the cells, a seeded random draw
//! - [`groups`]: cells that differ only by seed folded into n, mean, spread, min and max
//! - [`band`]: a seed group's curves as a mean with its min-to-max band
//! - [`ask`]: the flags or `--grid` values asked for, as a grid and fixed values
//! - [`create`]: a sweep's cells and name, then its record and queued runs
//! - [`queue_cells`]: each cell planned, then made into a queued run marked with the sweep
//! - [`requeue`]: failed and stopped cells back in the queue as new runs
//! - [`export`]: the cells as CSV, a group's band chart as SVG and PNG
//! - [`record`]: the sweep's record, `runs/sweeps/NAME/sweep.toml`
//! - [`results`]: the cells' outcomes from their run folders, and the seed groups
pub mod ask;
pub mod band;
pub mod create;
pub mod export;
pub mod grid;
pub mod groups;
pub mod queue_cells;
pub mod record;
pub mod requeue;
pub mod results;
