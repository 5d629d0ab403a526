//! Datasets: discovery in the datasets folder, schema inference, summaries, and loading as tensors.
//!
//! Nothing here ever writes into the datasets folder.
//!
//! Modules by concern, each importing only those below it (no circles):
//!
//! ```text
//! catalog   ─► csv_table, arrays, staging, listing, spec, types, error
//! arrays    ─► readers, spec, types, error                 (.npz/.npy and CIFAR, into tensors)
//! staging   ─► listing, spec, readers, types, error      (the staging cache)
//! listing   ─► spec, readers, types, error               (what is a dataset; a cheap look)
//! spec      ─► readers, types, error                     (one image dataset and its settings)
//! readers   ─► types, error                              (untrusted input; inside it,
//!                                                          idx_files ─► source ─► idx)
//! csv_table ─► types, error
//! types, error: leaves, importing nothing of data/ (types: crate::config and crate::util only)
//! ```
//!
//! - [`types`]: the shared types (format, split, load options, stage progress, task, summary).
//! - [`error`]: [`DataError`] (reading and listing), [`StageError`] (staging and loading),
//!   and the readers' [`EntryError`](error::EntryError) and [`ReadError`](error::ReadError).
//! - [`readers`]: untrusted input: a source's files, zips, IDX files, PNG/JPEG images.
//! - [`spec`]: one image dataset to read and how ([`ImageSpec`](spec::ImageSpec)).
//! - [`listing`]: which files are datasets, an image dataset's layout and a cheap inspection.
//! - [`staging`]: the staging cache, and decoding a whole image dataset into it.
//! - [`csv_table`]: CSV tables; [`catalog`]: everything in the datasets folder.
pub mod arrays;
pub mod catalog;
pub mod csv_lines;
pub mod csv_table;
pub mod error;
pub mod listing;
pub mod readers;
pub mod spec;
pub mod staging;
pub mod types;

pub use catalog::{Catalog, DatasetEntry};
pub use csv_table::CsvSchema;
pub use error::{DataError, DataErrorKind, StageError, UnknownDataset};
pub use types::{
    class_counts, staging_text, ColumnRole, DatasetFormat, DatasetSummary, ImageThumb, LoadOptions,
    LoadedData, Preview, Split, StagePhase, StageProgress, Targets, Task,
};
