//! workbench: a terminal workbench for deep-learning experiments on the local CPU or GPU.
//!
//! The library holds everything; `main.rs` only parses arguments and calls in. Tests in `tests/`
//! drive the library headlessly.
//!
//! - [`config`]: layered settings (built-in defaults < config.toml < env < CLI flags)
//! - [`data`]: dataset discovery, CSV schema inference, loading
//! - [`device`]: CPU and CUDA discovery, run-time CUDA loading, device choice
//! - [`train`]: models, the training loop, the background worker and its messages
//! - [`runs`]: run folders on disk (run.toml, metrics.csv, checkpoint)
//! - [`command`]: any command as a run (`workbench run -- python train.py`)
//! - [`queue`]: runs that wait for a free device, and the dispatcher that starts them
//! - [`cluster`]: handing runs to Slurm and HTCondor (`submit`), polling and cancelling their jobs
//! - [`text`]: untrusted text made safe for a terminal (control characters replaced)
//! - [`cli`]: the headless commands (`train`, `devices`, `datasets`, `paths`, `runs`)
//! - [`threads`]: named threads whose panics are reported to whoever waits on them
// Lints (unwrap, expect, panic and todo denied outside tests) live in Cargo.toml's [lints] table;
// `./dev test` runs clippy with -D warnings, so they hold.

pub mod app;
pub mod cli;
pub mod cluster;
pub mod command;
pub mod config;
pub mod data;
pub mod device;
pub mod logging;
pub mod models;
pub mod params;
pub mod paths;
pub mod queue;
pub mod runs;
pub mod sweep;
pub mod telemetry;
pub mod text;
pub mod threads;
pub mod train;
pub mod tui;
pub mod ui;
pub mod util;
