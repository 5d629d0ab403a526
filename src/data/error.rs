//! The errors of `data/`, written for the user: the file, the line, the column, what is wrong,
//! what to do. A leaf: it imports nothing else of `data/`.
//!
//! - [`DataError`]: a dataset can't be read or listed (a file and where in it, and a
//!   [`DataErrorKind`]).
//! - [`EntryError`]: a problem inside an image dataset, named by the entry it concerns; the
//!   readers return it, and it becomes a [`DataError`] once the source's path is known.
//! - [`ReadError`]: how reading a source for staging ended early: a stop, an entry, or I/O.
//! - [`StageError`]: staging (or loading for training) failed: stopped, the dataset, or the cache.
//! - [`UnknownDataset`]: a name the catalog doesn't have.
use std::io;
use std::path::PathBuf;

/// A column named in an error: its 1-based position and its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnRef {
    pub index: usize,
    pub name: String,
}

/// What is wrong with a dataset. Its `Display` is the message without the location.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DataErrorKind {
    /// The file or folder could not be read (permissions, vanished, I/O error).
    #[error("cannot be read: {0}")]
    Unreadable(String),
    /// The file has no bytes, or only blank lines.
    #[error("the file is empty; a CSV needs a header row and data rows")]
    Empty,
    /// A header row and nothing else.
    #[error("has a header row but no data rows")]
    HeaderOnly,
    /// The content is not CSV at all (binary data, or no delimiter splits it into columns).
    #[error("is not a CSV file: {0}")]
    NotCsv(String),
    /// Bytes that are not valid UTF-8, at this byte offset of the file.
    #[error(
        "holds bytes that are not UTF-8 (byte offset {byte_offset}); save the file as UTF-8 and try again"
    )]
    NotUtf8 { byte_offset: usize },
    /// A row with a different number of fields than the first row.
    #[error(
        "has {found} fields where the first row has {expected}; fix the row or quote fields that contain the \
         delimiter"
    )]
    Ragged { expected: usize, found: usize },
    /// Text where a feature column holds numbers.
    #[error(
        "{value:?} is not a number in a numeric feature column; fix the value, or leave the column out with \
         `features = [..]` under [datasets.NAME] in config.toml"
    )]
    NotNumeric { value: String },
    /// An empty or NA cell.
    #[error(
        "missing value ({}); fill it in, or set `drop_missing = true` under [datasets.NAME] in config.toml to \
         skip such rows",
        shown_cell(.value)
    )]
    Missing { value: String },
    /// After filtering, the target has only one class.
    #[error("the target has a single class ({class:?}); classification needs at least two classes")]
    SingleClass { class: String },
    /// No numeric column is left to learn from.
    #[error("has no numeric feature columns to learn from")]
    NoFeatures,
    /// A column named in config.toml does not exist.
    #[error("has no column {name:?}; its columns are: {}", .available.join(", "))]
    UnknownColumn { name: String, available: Vec<String> },
    /// A class named in config.toml does not occur in the target column.
    #[error("class {name:?} does not occur in the target; its classes are: {}", .available.join(", "))]
    UnknownClass { name: String, available: Vec<String> },
    /// Too few rows to split into training and validation.
    #[error("has only {rows} usable rows; at least 2 are needed to train and validate")]
    TooFewRows { rows: usize },
    /// A schema problem worded in full (for example a column that is both target and feature).
    #[error("{0}")]
    Schema(String),
    /// A problem with an image dataset (archive entry, image or IDX file), already worded.
    #[error("{0}")]
    Image(String),
}

/// An empty cell is named as such; any other value is quoted.
fn shown_cell(value: &str) -> String {
    if value.is_empty() {
        "an empty cell".to_string()
    } else {
        format!("{value:?}")
    }
}

/// A dataset error: where (file, line, column), and what.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}{}{}: {kind}", .file.display(), line_part(.line), column_part(.column))]
pub struct DataError {
    pub file: PathBuf,
    pub line: Option<u64>,
    pub column: Option<ColumnRef>,
    pub kind: DataErrorKind,
}

fn line_part(line: &Option<u64>) -> String {
    line.map(|l| format!(", line {l}")).unwrap_or_default()
}

fn column_part(column: &Option<ColumnRef>) -> String {
    column.as_ref().map(|c| format!(", column {} ({})", c.index, c.name)).unwrap_or_default()
}

impl DataError {
    /// An error about `file` as a whole.
    pub fn new(file: impl Into<PathBuf>, kind: DataErrorKind) -> DataError {
        DataError { file: file.into(), line: None, column: None, kind }
    }

    /// The same error, at this 1-based line.
    pub fn at_line(mut self, line: u64) -> DataError {
        self.line = Some(line);
        self
    }

    /// The same error, in this 1-based column.
    pub fn at_column(mut self, index: usize, name: &str) -> DataError {
        self.column = Some(ColumnRef { index, name: name.to_string() });
        self
    }

    /// The message without the location prefix.
    pub fn message(&self) -> String {
        self.kind.to_string()
    }
}

/// A dataset name the datasets folder (and config.toml) doesn't define.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no dataset named {name:?} in {}; datasets found: {}", .dir.display(), names_part(.found))]
pub struct UnknownDataset {
    /// The name asked for.
    pub name: String,
    /// The datasets folder.
    pub dir: PathBuf,
    /// The names there are, in order.
    pub found: Vec<String>,
}

fn names_part(found: &[String]) -> String {
    if found.is_empty() {
        "none".to_string()
    } else {
        found.join(", ")
    }
}

/// A problem inside an image dataset: the entry it concerns, if one, and what is wrong. Its
/// `Display` names the entry as a zip's entries are named.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{message}", entry_part(.entry))]
pub struct EntryError {
    /// The entry's name inside the source (`train/circle/003.png`), or `None` for the whole.
    pub entry: Option<String>,
    pub message: String,
}

fn entry_part(entry: &Option<String>) -> String {
    entry.as_ref().map(|e| format!("entry {e}: ")).unwrap_or_default()
}

impl EntryError {
    /// A problem of one entry.
    pub fn at(entry: &str, message: String) -> EntryError {
        EntryError { entry: Some(entry.to_string()), message }
    }

    /// A problem of the whole source.
    pub fn general(message: String) -> EntryError {
        EntryError { entry: None, message }
    }

    /// A class named in config.toml's `classes` that the dataset doesn't have.
    pub fn unknown_class(name: &str, available: &[String]) -> EntryError {
        EntryError::general(format!(
            "has no class {name:?} (named in `classes` in config.toml); its classes are: {}",
            available.join(", ")
        ))
    }
}

/// The words for a stopped staging, in [`StageError::Stopped`] and [`ReadError::Stopped`].
const STOPPED: &str =
    "staging was stopped before it finished; nothing was kept, and the next use stages it again";

/// How reading a source for staging ended before it finished.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The progress callback asked to stop (a run stopped while staging).
    #[error("{}", STOPPED)]
    Stopped,
    /// An entry, or the source as a whole, is at fault.
    #[error(transparent)]
    Entry(#[from] EntryError),
    /// The source's files could not be read, or the local copy of a large zip not written.
    #[error("cannot be read: {0}")]
    Io(#[from] io::Error),
}

/// Why staging a dataset (or loading it for training, which stages first when needed) failed.
#[derive(Debug, thiserror::Error)]
pub enum StageError {
    /// The progress callback asked to stop (a run stopped while staging): nothing was kept.
    #[error("{}", STOPPED)]
    Stopped,
    /// The dataset itself is at fault (an entry, an image, an IDX file, a CSV row), or can't be read.
    #[error(transparent)]
    Data(#[from] DataError),
    /// The staging cache could not be written (for example a full disk).
    #[error(
        "{}: could not be staged: cannot write the staging cache in {} ({error}); free some disk space, or move \
         the cache with `cache_dir` under [paths] in config.toml (or --cache-dir)",
        .dataset.display(),
        .dir.display()
    )]
    Cache {
        /// The dataset's source.
        dataset: PathBuf,
        /// The cache folder.
        dir: PathBuf,
        /// What the file system said.
        error: io::Error,
    },
}
