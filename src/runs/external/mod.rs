//! Runs written by other programs: TensorBoard event files (`torch.utils.tensorboard`'s
//! `SummaryWriter`, Lightning's TensorBoard logger) and Lightning `CSVLogger` folders, read as
//! [`RunEvent::External`](crate::runs::events::RunEvent::External) and
//! [`RunEvent::Scalars`](crate::runs::events::RunEvent::Scalars) by an [`ExternalFollower`].
//!
//! Every reader follows its file from the last whole record or line it read, so a run with
//! millions of points stays cheap to follow and a file still being written is read again later.
//! Nothing here writes into the folders it reads (the `write` module is for tests and benchmarks).
//! No tch.
mod event_file;
mod follow;
mod lightning;
pub mod proto;
mod record;
mod snapshot;
mod write;
mod yaml;

use std::path::PathBuf;

pub use event_file::{read_event_file, EventBatch, EventFileReader};
pub use follow::{ExternalFollower, EVENT_FILE_PREFIX, LIGHTNING_HPARAMS, LIGHTNING_METRICS};
pub use lightning::CsvMetricsReader;
pub use record::{encode_record, masked_crc32c, parse_record, Frame, FOOTER_LEN, HEADER_LEN, MAX_RECORD_LEN};
pub use snapshot::{
    find_external, find_external_dir, is_train_loss, kind_label, load_external_runs, ExternalRun,
};
pub use write::{encode_file_version, encode_scalar_event, ScalarStyle};
pub use yaml::read_flat_yaml;

/// What can go wrong reading an external run's files.
#[derive(Debug, thiserror::Error)]
pub enum ExternalError {
    /// A file could not be opened or read.
    #[error("could not read {}: {source}; check that it exists and is readable", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The system's error.
        source: std::io::Error,
    },
    /// A record's length fails its CRC: the framing is lost from there on (not an event file,
    /// or damaged).
    #[error("a record's length fails its CRC check: not an event file, or damaged from here on")]
    LengthCrc,
    /// A record declares more data than [`MAX_RECORD_LEN`]: damaged or hostile from here on.
    #[error("a record declares {len} bytes of data, over the {} this reader accepts", MAX_RECORD_LEN)]
    RecordTooLong {
        /// The declared length.
        len: u64,
    },
    /// A line of a CSV log is longer than [`lightning::MAX_LINE`] without ending: not a metrics file.
    #[error(
        "{}: the line at byte {offset} runs past {} bytes without ending; not a Lightning metrics file, or \
         damaged there",
        path.display(),
        lightning::MAX_LINE
    )]
    LineTooLong {
        /// The file.
        path: PathBuf,
        /// Where the line starts.
        offset: u64,
    },
    /// A record's data fails its CRC: that record is corrupt; the next starts `size` bytes on.
    #[error("a record's data fails its CRC check (corrupt record of {size} bytes)")]
    DataCrc {
        /// Bytes the record takes with its framing.
        size: usize,
    },
}
