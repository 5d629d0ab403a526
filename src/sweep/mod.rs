//! Sweeps: a grid or a random search of runs queued in one line, and the seed-grouped comparison
//! of their results.
//!
//! - [`grid`]: the values (lists, ranges), the cells, a seeded random draw
//! - [`groups`]: cells that differ only by seed folded into n, mean, spread, min and max
pub mod grid;
pub mod groups;
