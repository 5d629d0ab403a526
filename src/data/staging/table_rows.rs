//! The rows of a large CSV: every row checked as [`csv_table`] checks a small file (width,
//! missing values, numbers, decimal commas), its features appended as `f32`, its target gathered
//! until the task can be decided. One [`RowParser`] reads either the whole file or one piece of it
//! (see [`super::table_chunks`]); pieces' [`Rows`] are appended in file order.
use std::collections::{BTreeSet, HashMap};
use std::io::{self, Read};
use std::path::Path;

use crate::config::{DatasetConfig, TaskOverride};
use crate::data::csv_lines::Recent;
use crate::data::csv_table::{self, HeadLook, MAX_INTEGER_CLASSES};
use crate::data::error::{DataError, DataErrorKind, StageError};
use crate::data::types::Task;

use super::decimal::{cell_end, fast_f32, plain_decimal, scan_cell, Decimal};

/// Distinct target values tracked as labels; past this a target can only be a regression value.
const MAX_LABELS: usize = 65_536;

/// Where a piece of the file starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Start {
    /// Lines before the piece that its rows' line numbers count on from (0 for a piece parsed
    /// apart from those before it: its numbers are moved on by [`Rows::count_on_from`]).
    pub lines_before: u64,
    /// The header row is still to come (the first non-blank row of the piece).
    pub header_pending: bool,
}

/// Rows parsed from the file or a piece of it.
#[derive(Default)]
pub struct Rows {
    /// Features, row-major.
    pub x: Vec<f32>,
    pub target: TargetStats,
    /// Rows left out by `drop_missing`.
    pub dropped_rows: usize,
    /// Line breaks in the bytes parsed (set by [`RowParser::parse_plain`]): where the next piece's
    /// line numbers go on from.
    pub line_breaks: u64,
}

impl Rows {
    /// Append the rows of the next piece of the file.
    pub fn append(&mut self, next: Rows) {
        self.x.extend_from_slice(&next.x);
        self.target.append(next.target);
        self.dropped_rows += next.dropped_rows;
        self.line_breaks += next.line_breaks;
    }

    /// Number the rows of a piece parsed from line 0 as the file's lines, `lines_before` on.
    pub fn count_on_from(&mut self, lines_before: u64) {
        if let Some((line, _)) = &mut self.target.first_text {
            *line += lines_before;
        }
    }
}

/// A table parsed whole, its task decided.
pub struct Parsed {
    pub x: Vec<f32>,
    pub y: ParsedTargets,
    pub task: Task,
    pub rows: usize,
    pub dropped_rows: usize,
}

/// A parsed table's targets, as they are staged.
#[derive(Debug)]
pub enum ParsedTargets {
    /// Each row's label id and each label's class index: the rows' class indices are made from
    /// these as they are written, never held whole (8 bytes a row, fresh memory faulted in page by
    /// page after every row is parsed, while nothing else can go on).
    Classes { ids: Vec<u32>, class_of: Vec<i64>, label_rows: Vec<usize> },
    /// Values to regress on.
    Values(Vec<f32>),
}

impl ParsedTargets {
    /// How many rows.
    pub fn len(&self) -> usize {
        match self {
            ParsedTargets::Classes { ids, .. } => ids.len(),
            ParsedTargets::Values(values) => values.len(),
        }
    }

    /// Rows per class, for `classes` classes (none for values).
    pub fn class_counts(&self, classes: usize) -> Vec<usize> {
        let ParsedTargets::Classes { class_of, label_rows, .. } = self else { return Vec::new() };
        let mut counts = vec![0; classes];
        for (&class, &n) in class_of.iter().zip(label_rows) {
            if let Some(count) = usize::try_from(class).ok().and_then(|c| counts.get_mut(c)) {
                *count += n;
            }
        }
        counts
    }

    /// Each row's class index, handed to `write` up to `rows` at a time.
    pub fn each_class_piece(
        ids: &[u32],
        class_of: &[i64],
        rows: usize,
        mut write: impl FnMut(&[i64]) -> io::Result<()>,
    ) -> io::Result<()> {
        let mut piece = Vec::with_capacity(rows.min(ids.len()));
        for chunk in ids.chunks(rows.max(1)) {
            piece.clear();
            piece.extend(chunk.iter().map(|&id| class_of[id as usize]));
            write(&piece)?;
        }
        Ok(())
    }
}

/// Reads rows with the layout the file's head showed.
pub struct RowParser<'a> {
    pub path: &'a Path,
    look: &'a HeadLook,
    config: &'a DatasetConfig,
    /// What each column is, for [`RowParser::parse_plain`]; `None` when a column is a feature
    /// twice (then every piece goes through the CSV reader).
    slots: Option<Vec<Slot>>,
    /// The features are the file's columns in order: each row's are pushed as they are read.
    features_in_order: bool,
}

/// A column's part in a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    /// The k-th feature.
    Feature(usize),
    Target,
    Ignored,
}

impl<'a> RowParser<'a> {
    pub fn new(path: &'a Path, look: &'a HeadLook, config: &'a DatasetConfig) -> RowParser<'a> {
        let mut slots = vec![Slot::Ignored; look.columns.len()];
        slots[look.target] = Slot::Target;
        let mut usable = true;
        for (k, &c) in look.features.iter().enumerate() {
            usable &= slots[c] == Slot::Ignored;
            slots[c] = Slot::Feature(k);
        }
        let features_in_order = look.features.windows(2).all(|pair| pair[0] < pair[1]);
        RowParser { path, look, config, slots: usable.then_some(slots), features_in_order }
    }
    /// Where the file starts.
    pub fn top(&self) -> Start {
        Start { lines_before: 0, header_pending: self.look.has_header }
    }

    /// Parse a piece that holds no quote character. Row by row in one pass over the bytes,
    /// without the CSV reader, as long as every row is plain: the right width, a number in every
    /// feature, a target, `\n` or `\r\n` at the end. From the first row that isn't (a missing
    /// value, a bad cell, a blank line with spaces), the rest of the piece goes through
    /// [`RowParser::parse`], which decides and words it as for any file.
    /// `x` is a buffer to put the features in (emptied first; its capacity is reused).
    pub fn parse_plain(&self, bytes: &[u8], start: Start, mut x: Vec<f32>) -> Result<Rows, StageError> {
        let Some(slots) = &self.slots else { return self.parse(bytes, start) };
        x.clear();
        let mut rows = Rows { x, ..Rows::default() };
        let mut header_pending = start.header_pending;
        let mut lines_before = start.lines_before;
        let mut at = 0;
        while at < bytes.len() {
            let next = match bytes[at..] {
                [b'\n', ..] => Some(at + 1), // an empty line, which the CSV reader skips
                [b'\r', b'\n', ..] => Some(at + 2),
                _ if header_pending => {
                    let end = memchr::memchr(b'\n', &bytes[at..]).map_or(bytes.len(), |i| at + i + 1);
                    let line = &bytes[at..end];
                    let inner = line.strip_suffix(b"\n").unwrap_or(line);
                    let inner = inner.strip_suffix(b"\r").unwrap_or(inner);
                    let blank = inner.trim_ascii().is_empty();
                    // A lone \r ends a record for the CSV reader; a blank line isn't the header.
                    (!blank && memchr::memchr(b'\r', inner).is_none()).then(|| {
                        header_pending = false;
                        end
                    })
                }
                _ => self.plain_row(slots, bytes, at, lines_before + 1, &mut rows),
            };
            let Some(next) = next else {
                let rest = self.parse(&bytes[at..], Start { lines_before, header_pending })?;
                rows.append(rest);
                rows.line_breaks = lines_before - start.lines_before
                    + memchr::memchr_iter(b'\n', &bytes[at..]).count() as u64;
                return Ok(rows);
            };
            lines_before += 1;
            at = next;
        }
        // Each line taken ended with a line break, but the last one where the bytes don't.
        rows.line_breaks =
            lines_before - start.lines_before - u64::from(bytes.last().is_some_and(|&b| b != b'\n'));
        Ok(rows)
    }

    /// Take the plain row at `bytes[at..]` into `rows` and return where the next one starts;
    /// `None` (and `rows` unchanged) when it isn't plain.
    fn plain_row(
        &self,
        slots: &[Slot],
        bytes: &[u8],
        at: usize,
        line_no: u64,
        rows: &mut Rows,
    ) -> Option<usize> {
        let delimiter = self.look.delimiter;
        let mark = rows.x.len();
        if !self.features_in_order {
            rows.x.resize(mark + self.look.features.len(), 0.0);
        }
        let mut label = (0, 0);
        let mut i = at;
        let last = slots.len() - 1;
        let row = (|| {
            for (column, slot) in slots.iter().enumerate() {
                let end = match *slot {
                    Slot::Feature(k) => {
                        let (v, end) = match fast_f32(bytes, i, delimiter) {
                            Some(read) => read,
                            None => {
                                let (value, end) = scan_cell(bytes, i, delimiter);
                                match value.and_then(Decimal::to_f32) {
                                    Some(v) => (v, end),
                                    None => (self.cell_number(&bytes[i..end])?, end),
                                }
                            }
                        };
                        if self.features_in_order {
                            rows.x.push(v);
                        } else {
                            *rows.x.get_mut(mark + k)? = v;
                        }
                        end
                    }
                    Slot::Target => {
                        let end = cell_end(bytes, i, delimiter);
                        label = (i, end);
                        end
                    }
                    Slot::Ignored => cell_end(bytes, i, delimiter),
                };
                // A delimiter after every cell but the last; a line end after the last.
                i = match (bytes.get(end), column == last) {
                    (Some(&b), false) if b == delimiter => end + 1,
                    (None, true) => end,
                    (Some(b'\n'), true) => end + 1,
                    (Some(b'\r'), true) if bytes.get(end + 1) == Some(&b'\n') => end + 2,
                    _ => return None,
                };
            }
            Some(i)
        })();
        let cell = &bytes[label.0..label.1];
        let Some(next) = row else {
            rows.x.truncate(mark);
            return None;
        };
        // Most rows repeat a label seen before: its id and value are known.
        if rows.target.push_known(cell) {
            return Some(next);
        }
        match std::str::from_utf8(cell) {
            Ok(text) if !is_missing(cell) => {
                rows.target.push_cell(delimiter, text, plain_decimal(cell), line_no);
                Some(next)
            }
            _ => {
                rows.x.truncate(mark);
                None
            }
        }
    }

    /// A feature cell's number, as [`RowParser::parse`] reads it.
    fn cell_number(&self, cell: &[u8]) -> Option<f32> {
        // The usual cell that isn't plain (17 significant digits, as pandas writes a double): one
        // correctly rounded `parse`, the value the slower way below would give.
        if let Some(v) =
            std::str::from_utf8(cell).ok().and_then(|t| t.parse::<f64>().ok()).filter(|v| v.is_finite())
        {
            return Some(v as f32);
        }
        if let Some(v) = plain_decimal(cell.trim_ascii()) {
            return Some(v as f32);
        }
        let text = std::str::from_utf8(cell).ok()?;
        csv_table::parse_number_in(self.look.delimiter, text).map(|v| v as f32)
    }

    /// Parse every row `input` holds. An `Interrupted` read (a stop asked for while reading)
    /// ends it as [`StageError::Stopped`].
    pub fn parse(&self, input: impl Read, start: Start) -> Result<Rows, StageError> {
        let (path, look, config) = (self.path, self.look, self.config);
        let width = look.columns.len();
        let mut rows = Rows::default();
        let mut header_pending = start.header_pending;
        let mut record = csv::ByteRecord::new();
        let column = |c: usize| (c + 1, look.columns[c].as_str());
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(look.delimiter)
            .buffer_capacity(1 << 20)
            .from_reader(Recent::new(input));
        loop {
            let more = match reader.read_byte_record(&mut record) {
                Ok(more) => more,
                Err(e) => {
                    if let csv::ErrorKind::Io(io) = e.kind() {
                        if io.kind() == io::ErrorKind::Interrupted {
                            return Err(StageError::Stopped);
                        }
                    }
                    let line = start.lines_before + e.position().map_or(0, |p| reader.get_ref().line(p));
                    return Err(at(path, DataErrorKind::NotCsv(e.to_string()), line).into());
                }
            };
            if !more {
                return Ok(rows);
            }
            let line = start.lines_before + record.position().map_or(0, |p| reader.get_ref().line(p));
            if record.len() == 1 && record[0].trim_ascii().is_empty() {
                continue; // a blank line
            }
            if header_pending {
                header_pending = false;
                continue;
            }
            if record.len() != width {
                let fields: Vec<String> =
                    record.iter().map(|f| String::from_utf8_lossy(f).into_owned()).collect();
                return Err(csv_table::ragged(path, look.delimiter, config, width, &fields, line).into());
            }
            let text = |c: usize| -> Result<&str, DataError> {
                std::str::from_utf8(&record[c]).map_err(|_| {
                    let value = String::from_utf8_lossy(&record[c]).trim().to_string();
                    let (i, name) = column(c);
                    at(path, DataErrorKind::NotNumeric { value }, line).at_column(i, name)
                })
            };
            let missing =
                look.features.iter().chain(std::iter::once(&look.target)).find(|&&c| is_missing(&record[c]));
            match missing {
                Some(&c) if !config.drop_missing => {
                    let value = String::from_utf8_lossy(&record[c]).trim().to_string();
                    let (i, name) = column(c);
                    return Err(at(path, DataErrorKind::Missing { value }, line).at_column(i, name).into());
                }
                Some(_) => {
                    rows.dropped_rows += 1;
                    continue;
                }
                None => {}
            }
            for &c in &look.features {
                let Some(v) = self.cell_number(&record[c]) else {
                    let cell = text(c)?; // not UTF-8 is named as such
                    let (i, name) = column(c);
                    let value = cell.trim().to_string();
                    return Err(at(path, DataErrorKind::NotNumeric { value }, line)
                        .at_column(i, name)
                        .into());
                };
                rows.x.push(v);
            }
            rows.target.push_cell(look.delimiter, text(look.target)?, None, line);
        }
    }

    /// Decide the task over all rows (or take the configured one) and turn the targets into
    /// class indices or values, as [`csv_table`] does for small files.
    pub fn finish(&self, rows: Rows) -> Result<Parsed, DataError> {
        let Rows { mut x, mut target, mut dropped_rows, .. } = rows;
        let (path, look, config) = (self.path, self.look, self.config);
        let nf = look.features.len();
        let kind = config.task.unwrap_or_else(|| target.infer());
        let (tcol, tname) = (look.target + 1, look.columns[look.target].as_str());
        let (task, y, filtered) = match kind {
            TaskOverride::Regression => {
                if let Some((line, value)) = target.first_text.take() {
                    let kind = DataErrorKind::Schema(format!(
                        "{value:?} is not a number, but the task is regression; set `task = \"classification\"` \
                         under [datasets.NAME] or fix the value"
                    ));
                    return Err(at(path, kind, line).at_column(tcol, tname));
                }
                (Task::Regression, ParsedTargets::Values(target.take_values()), 0)
            }
            TaskOverride::Classification => classify(path, config, &mut target, &mut x, nf, (tcol, tname))?,
        };
        dropped_rows += filtered;
        let rows = y.len();
        if rows < 2 {
            return Err(DataError::new(path, DataErrorKind::TooFewRows { rows }));
        }
        Ok(Parsed { x, y, task, rows, dropped_rows })
    }
}

/// What the target column held, gathered while streaming; the task is decided at the end, as
/// [`csv_table`] decides it over all rows.
#[derive(Default)]
pub struct TargetStats {
    /// Each kept row's value (NaN for text), past `MAX_LABELS` only: until then a row's value is
    /// its label's, so one id a row is all that is kept (and pushed).
    values: Vec<f32>,
    /// Each kept row's label id (index into `names`); emptied past `MAX_LABELS`.
    ids: Vec<u32>,
    /// Rows per label id, counted as they are parsed (on all cores), not after.
    label_rows: Vec<usize>,
    names: Vec<Box<str>>,
    /// Each name's value (NaN for text), what `values` gets for a row with that label.
    name_values: Vec<f32>,
    /// The short names' ids, found without hashing the text.
    short: ShortLabels,
    index: HashMap<Box<str>, u32>,
    overflow: bool,
    /// The first text cell: its line and value.
    first_text: Option<(u64, String)>,
    has_fraction: bool,
    integers: BTreeSet<i64>,
}

impl TargetStats {
    fn push(&mut self, cell: &str, line: u64) {
        let label = cell.trim();
        let value = plain_decimal(label.as_bytes()).or_else(|| csv_table::parse_number(label));
        self.push_value(label, value, line);
    }

    /// A target cell as written: a decimal comma made a point (in a `;` file, as
    /// [`csv_table`] reads it); `plain`, its number when the scan already read it as a plain
    /// decimal (so it has no spaces to trim).
    fn push_cell(&mut self, delimiter: u8, cell: &str, plain: Option<f64>, line: u64) {
        match (csv_table::decimal_comma_cell(delimiter, cell), plain) {
            (Some(dotted), _) => self.push(&dotted, line),
            (None, Some(v)) => self.push_value(cell, Some(v), line),
            (None, None) => self.push(cell, line),
        }
    }

    fn push_value(&mut self, label: &str, value: Option<f64>, line: u64) {
        let value32 = value.map_or(f32::NAN, |v| v as f32);
        if self.overflow {
            self.values.push(value32);
            self.note(value, label, line);
            return;
        }
        let (id, new) = self.id_of(label, value32);
        // What a label says of the task is the same on every row it is on: noted once.
        if new {
            self.note(value, label, line);
        }
        if self.overflow {
            self.values.push(value32);
        } else {
            self.push_id(id);
        }
    }

    fn push_id(&mut self, id: u32) {
        self.ids.push(id);
        if let Some(n) = self.label_rows.get_mut(id as usize) {
            *n += 1;
        }
    }

    /// How many rows.
    fn rows(&self) -> usize {
        if self.overflow {
            self.values.len()
        } else {
            self.ids.len()
        }
    }

    /// Every row's value, in order.
    fn take_values(&mut self) -> Vec<f32> {
        if self.overflow {
            return std::mem::take(&mut self.values);
        }
        let ids = std::mem::take(&mut self.ids);
        ids.iter().map(|&id| self.name_values[id as usize]).collect()
    }

    /// Past [`MAX_LABELS`]: from now on each row keeps its value, not a label id.
    fn stop_labels(&mut self) {
        if !self.overflow {
            self.values = self.take_values();
            self.overflow = true;
            self.index = HashMap::new();
        }
    }

    /// Take a row's target cell, exactly as written, when it is a label already seen (which
    /// says nothing new of the task): its id and value, without reading it again. `false` for
    /// a new label (or past [`MAX_LABELS`]), which goes the full way.
    fn push_known(&mut self, cell: &[u8]) -> bool {
        if self.overflow {
            return false;
        }
        let Some(id) = self.known_id(cell) else {
            return false;
        };
        self.push_id(id);
        true
    }

    /// The id of a label seen before. Short labels are found faster by their packed bytes than by
    /// hashing the text. Inlined into the row loop (it runs once a row); the hashed lookup isn't.
    #[inline(always)]
    fn known_id(&self, label: &[u8]) -> Option<u32> {
        match pack(label).map(|key| self.short.get(key)) {
            Some(Lookup::Found(id)) => Some(id),
            Some(Lookup::New) => None,
            Some(Lookup::Unknown) | None => self.hashed_id(label),
        }
    }

    #[inline(never)]
    fn hashed_id(&self, label: &[u8]) -> Option<u32> {
        std::str::from_utf8(label).ok().and_then(|text| self.index.get(text).copied())
    }

    /// What one value says of the task: text, a fraction, or an integer.
    fn note(&mut self, value: Option<f64>, label: &str, line: u64) {
        match value {
            Some(v) if v.fract() == 0.0 && v.abs() < 1e9 => self.note_integer(v as i64),
            Some(_) => self.has_fraction = true,
            None if self.first_text.is_none() => self.first_text = Some((line, label.to_string())),
            None => {}
        }
    }

    /// Integer targets are counted up to one past the most a classification can have.
    fn note_integer(&mut self, v: i64) {
        if self.integers.len() <= MAX_INTEGER_CLASSES {
            self.integers.insert(v);
        }
    }

    /// The label's id, and whether it is new; labels are numbered in the order first seen.
    /// `value` is the label's value (NaN for text), kept for a new one.
    fn id_of(&mut self, label: &str, value: f32) -> (u32, bool) {
        if let Some(id) = self.known_id(label.as_bytes()) {
            return (id, false);
        }
        let id = self.names.len() as u32;
        if let Some(key) = pack(label.as_bytes()) {
            self.short.insert(key, id);
        }
        self.names.push(label.into());
        self.name_values.push(value);
        self.label_rows.push(0);
        self.index.insert(label.into(), id);
        if self.names.len() > MAX_LABELS {
            self.stop_labels();
        }
        (id, true)
    }

    /// Append the next piece's targets: its label ids renumbered into this one's.
    fn append(&mut self, mut next: TargetStats) {
        if self.rows() == 0 {
            *self = next; // no rows yet: take the piece's as they are
            return;
        }
        if self.first_text.is_none() {
            self.first_text = next.first_text.take();
        }
        self.has_fraction |= next.has_fraction;
        for v in std::mem::take(&mut next.integers) {
            self.note_integer(v);
        }
        if !self.overflow && !next.overflow {
            let renumber: Vec<u32> = next
                .names
                .iter()
                .zip(&next.name_values)
                .map(|(name, &value)| self.id_of(name, value).0)
                .collect();
            if !self.overflow {
                self.ids.extend(next.ids.iter().map(|&id| renumber[id as usize]));
                for (&id, &n) in renumber.iter().zip(&next.label_rows) {
                    self.label_rows[id as usize] += n;
                }
                return;
            }
        }
        // Past `MAX_LABELS` on one side or the other (or now, with both sides' labels): values.
        self.stop_labels();
        self.values.extend(next.take_values());
    }

    /// Classification for text or small-integer targets, regression otherwise.
    fn infer(&self) -> TaskOverride {
        if self.first_text.is_some() {
            TaskOverride::Classification
        } else if self.has_fraction || self.integers.len() > MAX_INTEGER_CLASSES {
            TaskOverride::Regression
        } else {
            TaskOverride::Classification
        }
    }
}

/// The ids of up to [`ShortLabels::MOST`] short labels, by their [`pack`]ed bytes: an
/// open-addressed table, so a row's label is found in one or two probes whichever it is (a
/// search through a list would stop at a different place each row, and be mispredicted).
#[derive(Clone)]
struct ShortLabels {
    slots: Box<[(u64, u32)]>,
    len: usize,
    /// A short label was refused for want of room: a miss no longer means a new label.
    full: bool,
}

/// What [`ShortLabels::get`] knows of a key.
enum Lookup {
    Found(u32),
    /// Certainly not seen before.
    New,
    /// Not in the table, which is full: look elsewhere.
    Unknown,
}

impl ShortLabels {
    const SLOTS: usize = 256;
    const MOST: usize = Self::SLOTS / 2;
    /// No packed key is this (a 7-byte key's top byte is its length, 7).
    const EMPTY: u64 = u64::MAX;

    fn slot(key: u64) -> usize {
        (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 56) as usize
    }

    fn get(&self, key: u64) -> Lookup {
        let mut at = Self::slot(key);
        while let Some(&(k, id)) = self.slots.get(at) {
            if k == key {
                return Lookup::Found(id);
            }
            if k == Self::EMPTY {
                break;
            }
            at = (at + 1) % Self::SLOTS;
        }
        if self.full {
            Lookup::Unknown
        } else {
            Lookup::New
        }
    }

    fn insert(&mut self, key: u64, id: u32) {
        if self.len == Self::MOST {
            self.full = true;
            return;
        }
        let mut at = Self::slot(key);
        while let Some(slot) = self.slots.get_mut(at) {
            if slot.0 == Self::EMPTY {
                *slot = (key, id);
                self.len += 1;
                return;
            }
            at = (at + 1) % Self::SLOTS;
        }
    }
}

impl Default for ShortLabels {
    fn default() -> Self {
        ShortLabels { slots: vec![(Self::EMPTY, 0); Self::SLOTS].into_boxed_slice(), len: 0, full: false }
    }
}

/// Up to 7 bytes and their length in one integer (`None` for longer ones): equal keys, equal bytes.
fn pack(bytes: &[u8]) -> Option<u64> {
    (bytes.len() <= 7).then(|| bytes.iter().fold(bytes.len() as u64, |key, &b| key << 8 | u64::from(b)))
}

/// As [`csv_table::is_missing`], without an allocation for the usual (long or numeric) cell.
fn is_missing(cell: &[u8]) -> bool {
    let t = cell.trim_ascii();
    // No missing-value token is longer than 4 bytes or starts with a digit.
    t.len() <= 4
        && !t.first().is_some_and(u8::is_ascii_digit)
        && csv_table::is_missing(&String::from_utf8_lossy(t))
}

fn at(path: &Path, kind: DataErrorKind, line: u64) -> DataError {
    DataError::new(path, kind).at_line(line)
}

/// Class indices for the label ids, in [`csv_table::sorted_classes`] order, with the `classes`
/// filter applied (its rows removed from `x` in place).
fn classify(
    path: &Path,
    config: &DatasetConfig,
    target: &mut TargetStats,
    x: &mut Vec<f32>,
    nf: usize,
    (tcol, tname): (usize, &str),
) -> Result<(Task, ParsedTargets, usize), DataError> {
    let err = |kind| DataError::new(path, kind).at_column(tcol, tname);
    if target.overflow {
        return Err(err(DataErrorKind::Schema(format!(
            "the target has more than {MAX_LABELS} distinct values, too many for classes; set `task = \
             \"regression\"` under [datasets.NAME] or choose another `target`"
        ))));
    }
    let present = csv_table::sorted_classes(target.names.iter().map(|n| n.to_string()).collect());
    let classes = match &config.classes {
        Some(wanted) => {
            if let Some(w) = wanted.iter().find(|w| !present.contains(w)) {
                return Err(err(DataErrorKind::UnknownClass { name: w.clone(), available: present }));
            }
            wanted.clone()
        }
        None => present,
    };
    if classes.len() < 2 {
        let class = classes.first().cloned().unwrap_or_default();
        return Err(err(DataErrorKind::SingleClass { class }));
    }
    let position: HashMap<&str, i64> =
        classes.iter().enumerate().map(|(i, c)| (c.as_str(), i as i64)).collect();
    // A label left out by the `classes` filter gets -1: its rows are removed.
    let class_of: Vec<i64> = target.names.iter().map(|n| position.get(&**n).copied().unwrap_or(-1)).collect();
    let mut ids = std::mem::take(&mut target.ids);
    let rows = ids.len();
    let mut kept = 0;
    if class_of.iter().any(|&k| k < 0) {
        for row in 0..rows {
            let id = ids[row];
            if class_of[id as usize] < 0 {
                continue;
            }
            if kept != row {
                x.copy_within(row * nf..(row + 1) * nf, kept * nf);
                ids[kept] = id;
            }
            kept += 1;
        }
        ids.truncate(kept);
        x.truncate(kept * nf);
    } else {
        kept = rows;
    }
    let label_rows = std::mem::take(&mut target.label_rows);
    Ok((Task::Classification { classes }, ParsedTargets::Classes { ids, class_of, label_rows }, rows - kept))
}
