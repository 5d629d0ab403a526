//! Dataset errors written for the user: the file, the line, the column, what is wrong, what to do.
use std::fmt;
use std::path::PathBuf;

/// A column named in an error: its 1-based position and its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnRef {
    pub index: usize,
    pub name: String,
}

/// What is wrong with a dataset.
#[derive(Debug, Clone, PartialEq)]
pub enum DataErrorKind {
    /// The file or folder could not be read (permissions, vanished, I/O error).
    Unreadable(String),
    /// The file has no bytes, or only blank lines.
    Empty,
    /// A header row and nothing else.
    HeaderOnly,
    /// The content is not CSV at all (binary data, or no delimiter splits it into columns).
    NotCsv(String),
    /// Bytes that are not valid UTF-8, at this byte offset of the file.
    NotUtf8 { byte_offset: usize },
    /// A row with a different number of fields than the first row.
    Ragged { expected: usize, found: usize },
    /// Text where a feature column holds numbers.
    NotNumeric { value: String },
    /// An empty or NA cell.
    Missing { value: String },
    /// After filtering, the target has only one class.
    SingleClass { class: String },
    /// No numeric column is left to learn from.
    NoFeatures,
    /// A column named in config.toml does not exist.
    UnknownColumn { name: String, available: Vec<String> },
    /// A class named in config.toml does not occur in the target column.
    UnknownClass { name: String, available: Vec<String> },
    /// Too few rows to split into training and validation.
    TooFewRows { rows: usize },
    /// A schema problem worded in full (for example a column that is both target and feature).
    Schema(String),
    /// A problem with an image dataset (archive entry, image or IDX file), already worded.
    Image(String),
    /// The staging cache could not be written (for example a full disk).
    Cache(String),
}

/// A dataset error: where, and what.
#[derive(Debug, Clone, PartialEq)]
pub struct DataError {
    pub file: PathBuf,
    pub line: Option<u64>,
    pub column: Option<ColumnRef>,
    pub kind: DataErrorKind,
}

impl DataError {
    pub fn new(file: impl Into<PathBuf>, kind: DataErrorKind) -> DataError {
        DataError { file: file.into(), line: None, column: None, kind }
    }

    pub fn at_line(mut self, line: u64) -> DataError {
        self.line = Some(line);
        self
    }

    pub fn at_column(mut self, index: usize, name: &str) -> DataError {
        self.column = Some(ColumnRef { index, name: name.to_string() });
        self
    }

    /// The message without the location prefix.
    pub fn message(&self) -> String {
        use DataErrorKind::*;
        match &self.kind {
            Unreadable(why) => format!("cannot be read: {why}"),
            Empty => "the file is empty; a CSV needs a header row and data rows".into(),
            HeaderOnly => "has a header row but no data rows".into(),
            NotCsv(why) => format!("is not a CSV file: {why}"),
            NotUtf8 { byte_offset } => format!(
                "holds bytes that are not UTF-8 (byte offset {byte_offset}); save the file as UTF-8 and try again"
            ),
            Ragged { expected, found } => format!(
                "has {found} fields where the first row has {expected}; fix the row or quote fields that contain the delimiter"
            ),
            NotNumeric { value } => format!(
                "{value:?} is not a number in a numeric feature column; fix the value, or leave the column out with `features = [..]` under [datasets.NAME] in config.toml"
            ),
            Missing { value } => {
                let shown = if value.is_empty() { "an empty cell".to_string() } else { format!("{value:?}") };
                format!(
                    "missing value ({shown}); fill it in, or set `drop_missing = true` under [datasets.NAME] in config.toml to skip such rows"
                )
            }
            SingleClass { class } => format!(
                "the target has a single class ({class:?}); classification needs at least two classes"
            ),
            NoFeatures => "has no numeric feature columns to learn from".into(),
            UnknownColumn { name, available } => {
                format!("has no column {name:?}; its columns are: {}", available.join(", "))
            }
            UnknownClass { name, available } => {
                format!("class {name:?} does not occur in the target; its classes are: {}", available.join(", "))
            }
            TooFewRows { rows } => {
                format!("has only {rows} usable rows; at least 2 are needed to train and validate")
            }
            Schema(why) | Image(why) => why.clone(),
            Cache(why) => format!("could not be staged: {why}"),
        }
    }
}

impl fmt::Display for DataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ", line {line}")?;
        }
        if let Some(col) = &self.column {
            write!(f, ", column {} ({})", col.index, col.name)?;
        }
        write!(f, ": {}", self.message())
    }
}

impl std::error::Error for DataError {}
