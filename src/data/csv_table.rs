//! CSV loading with schema inference: delimiter, header, feature columns, target and task.
//!
//! Every problem is reported with the file, the line and the column, and the file is never written.
use std::collections::BTreeMap;
use std::path::Path;

use super::error::{DataError, DataErrorKind};
use super::types::{ColumnRole, Targets, Task};
use crate::config::{DatasetConfig, TaskOverride};

/// Column names that mark the target, in order of preference.
const TARGET_NAMES: [&str; 5] = ["target", "label", "class", "species", "y"];
/// Delimiters tried when sniffing, in order of preference on a tie.
const DELIMITERS: [u8; 4] = [b',', b';', b'\t', b'|'];
/// Cells that mean "no value".
const MISSING_TOKENS: [&str; 9] = ["", "na", "n/a", "nan", "null", "none", "?", "-", "#n/a"];
/// An integer target with at most this many distinct values is taken as class labels.
pub const MAX_INTEGER_CLASSES: usize = 20;
/// Rows kept for the preview.
const PREVIEW_ROWS: usize = 8;

/// The inferred (or configured) layout of a CSV file.
#[derive(Debug, Clone, PartialEq)]
pub struct CsvSchema {
    pub delimiter: char,
    pub has_header: bool,
    pub columns: Vec<String>,
    pub roles: Vec<ColumnRole>,
    pub target: usize,
    pub features: Vec<usize>,
    pub task: Task,
    /// Rows left out by `drop_missing` or by a `classes` filter.
    pub dropped_rows: usize,
}

impl CsvSchema {
    pub fn target_name(&self) -> &str {
        &self.columns[self.target]
    }

    pub fn feature_names(&self) -> Vec<String> {
        self.features.iter().map(|&i| self.columns[i].clone()).collect()
    }
}

/// A parsed CSV dataset, ready to become tensors.
#[derive(Debug, Clone)]
pub struct CsvDataset {
    pub schema: CsvSchema,
    /// Features, row-major: `rows × features.len()`.
    pub x: Vec<f32>,
    pub y: Targets,
    pub rows: usize,
    /// The first rows as they appear in the file, for the preview.
    pub preview: Vec<Vec<String>>,
}

/// What the first bytes of a (large) CSV say: its layout, the columns' roles, the task those rows
/// suggest and the preview. [`crate::data::staging::table`] streams the rest with this layout.
#[derive(Debug, Clone, PartialEq)]
pub struct HeadLook {
    /// The sniffed (single-byte) delimiter.
    pub delimiter: u8,
    pub has_header: bool,
    pub columns: Vec<String>,
    pub roles: Vec<ColumnRole>,
    pub target: usize,
    pub features: Vec<usize>,
    /// The task the head's rows suggest (or the configured one), with the classes seen there.
    pub task: Task,
    /// Data rows in the head.
    pub rows: usize,
    /// The first rows as they appear in the file, for the preview.
    pub preview: Vec<Vec<String>>,
    /// Whether the head holds a double quote: a quoted field may then hold a line break, so a
    /// count of line breaks is only approximately a count of rows.
    pub quoted: bool,
}

/// Read the layout from `head`, the first bytes of the file cut after a line break (or the whole
/// file). Only the rows in `head` are looked at; nothing here fails for want of later rows (a
/// head holding a single class is fine).
pub fn look_at_head(path: &Path, head: &[u8], overrides: &DatasetConfig) -> Result<HeadLook, DataError> {
    let Table { delimiter, rows, has_header, columns } = read_table(path, head, overrides)?;
    let data: &[RawRow] = if has_header { &rows[1..] } else { &rows[..] };
    let target = choose_target(path, &columns, overrides)?;
    let task_kind = overrides.task.unwrap_or_else(|| infer_task(data, target));
    let (features, mut roles) = choose_features(path, &columns, data, target, overrides)
        .map_err(|e| explain_no_features(e, delimiter, &columns, data))?;
    roles[target] = ColumnRole::Target;
    let task = match task_kind {
        TaskOverride::Regression => Task::Regression,
        TaskOverride::Classification => {
            let labels = data.iter().map(|r| r.fields[target].trim()).filter(|l| !is_missing(l));
            Task::Classification { classes: sorted_classes(labels.map(str::to_string).collect()) }
        }
    };
    Ok(HeadLook {
        delimiter,
        has_header,
        columns,
        roles,
        target,
        features,
        task,
        rows: data.len(),
        preview: data.iter().take(PREVIEW_ROWS).map(|r| r.fields.clone()).collect(),
        quoted: head.contains(&b'"'),
    })
}

/// Class names in their order: numerically when all are integers, else by name; each once.
pub fn sorted_classes(names: std::collections::BTreeSet<String>) -> Vec<String> {
    let mut present: Vec<String> = names.into_iter().collect();
    if present.iter().all(|c| c.parse::<i64>().is_ok()) {
        present.sort_by_key(|c| c.parse::<i64>().unwrap_or(0));
    }
    present
}

/// One row as read: its line in the file and its fields.
struct RawRow {
    line: u64,
    fields: Vec<String>,
}

/// Read and interpret a CSV file.
pub fn load_csv(path: &Path, overrides: &DatasetConfig) -> Result<CsvDataset, DataError> {
    let bytes =
        std::fs::read(path).map_err(|e| DataError::new(path, DataErrorKind::Unreadable(e.to_string())))?;
    parse_csv(path, &bytes, overrides)
}

/// Interpret CSV bytes; `path` is only used in messages.
pub fn parse_csv(path: &Path, bytes: &[u8], overrides: &DatasetConfig) -> Result<CsvDataset, DataError> {
    let err = |kind| DataError::new(path, kind);
    let Table { delimiter, rows, has_header, columns } = read_table(path, bytes, overrides)?;
    let data: &[RawRow] = if has_header { &rows[1..] } else { &rows[..] };

    let target = choose_target(path, &columns, overrides)?;
    let task_kind = match overrides.task {
        Some(t) => t,
        None => infer_task(data, target),
    };
    let (features, mut roles) = choose_features(path, &columns, data, target, overrides)
        .map_err(|e| explain_no_features(e, delimiter, &columns, data))?;
    roles[target] = ColumnRole::Target;

    // Missing values: refuse (naming the cell) unless the user asked to drop such rows.
    let mut kept: Vec<&RawRow> = Vec::with_capacity(data.len());
    let mut dropped_rows = 0;
    for row in data {
        let missing = features.iter().chain(std::iter::once(&target)).find(|&&c| is_missing(&row.fields[c]));
        match missing {
            Some(&c) if !overrides.drop_missing => {
                return Err(err(DataErrorKind::Missing { value: row.fields[c].trim().to_string() })
                    .at_line(row.line)
                    .at_column(c + 1, &columns[c]));
            }
            Some(_) => dropped_rows += 1,
            None => kept.push(row),
        }
    }

    // Features must be numbers: the first text cell is reported.
    let mut x = Vec::with_capacity(kept.len() * features.len());
    for row in &kept {
        for &c in &features {
            let value = parse_number(&row.fields[c]).ok_or_else(|| {
                err(DataErrorKind::NotNumeric { value: row.fields[c].trim().to_string() })
                    .at_line(row.line)
                    .at_column(c + 1, &columns[c])
            })?;
            x.push(value as f32);
        }
    }

    let (task, y, filtered) =
        build_targets(path, &columns, &kept, target, task_kind, overrides, &mut x, &features)?;
    dropped_rows += filtered;
    let rows = y.len();
    if rows < 2 {
        return Err(err(DataErrorKind::TooFewRows { rows }));
    }
    let preview = data.iter().take(PREVIEW_ROWS).map(|r| r.fields.clone()).collect();
    Ok(CsvDataset {
        schema: CsvSchema {
            delimiter: delimiter as char,
            has_header,
            columns,
            roles,
            target,
            features,
            task,
            dropped_rows,
        },
        x,
        y,
        rows,
        preview,
    })
}

/// The rows of a CSV text, split and checked: the delimiter, every row as wide as the first, the
/// header (or `colN` names), at least one data row. What both the whole-file parse and the
/// listing's look at a file's head start from.
struct Table {
    delimiter: u8,
    rows: Vec<RawRow>,
    has_header: bool,
    columns: Vec<String>,
}

fn read_table(path: &Path, bytes: &[u8], overrides: &DatasetConfig) -> Result<Table, DataError> {
    let err = |kind| DataError::new(path, kind);
    let text = decode_text(path, bytes)?;
    if text.trim().is_empty() {
        return Err(err(DataErrorKind::Empty));
    }
    let delimiter = choose_delimiter(path, text, overrides)?;
    let mut rows = read_rows(path, text, delimiter)?;
    decimal_commas(delimiter, &mut rows);
    let first = rows.first().ok_or_else(|| err(DataErrorKind::Empty))?;
    let width = first.fields.len();
    if let Some(bad) = rows.iter().find(|r| r.fields.len() != width) {
        return Err(ragged(path, delimiter, overrides, width, &bad.fields, bad.line));
    }
    let has_header = detect_header(&rows);
    let columns: Vec<String> = if has_header {
        first.fields.iter().enumerate().map(|(i, f)| name_or_default(f, i)).collect()
    } else {
        (0..width).map(|i| format!("col{}", i + 1)).collect()
    };
    if rows.len() == usize::from(has_header) {
        return Err(err(DataErrorKind::HeaderOnly));
    }
    Ok(Table { delimiter, rows, has_header, columns })
}

/// Check the bytes are text, and UTF-8; say where they are not.
fn decode_text<'a>(path: &Path, bytes: &'a [u8]) -> Result<&'a str, DataError> {
    if let Some(kind) = binary_signature(bytes) {
        return Err(DataError::new(path, DataErrorKind::NotCsv(kind)));
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    std::str::from_utf8(bytes).map_err(|e| {
        let offset = e.valid_up_to();
        let before = &bytes[..offset];
        let line = before.iter().filter(|&&b| b == b'\n').count() as u64 + 1;
        let line_start = before.iter().rposition(|&b| b == b'\n').map(|p| p + 1).unwrap_or(0);
        // Column in characters, so it matches what an editor shows.
        let column = String::from_utf8_lossy(&before[line_start..]).chars().count() + 1;
        let mut e = DataError::new(path, DataErrorKind::NotUtf8 { byte_offset: offset }).at_line(line);
        e.column = Some(super::error::ColumnRef { index: column, name: "character".into() });
        e
    })
}

/// Recognise files that are clearly not text, so they get "not CSV" rather than "not UTF-8".
fn binary_signature(bytes: &[u8]) -> Option<String> {
    const MAGIC: [(&[u8], &str); 6] = [
        (b"\x89PNG", "it is a PNG image"),
        (b"\xFF\xD8\xFF", "it is a JPEG image"),
        (b"PK\x03\x04", "it is a zip archive"),
        (b"\x1F\x8B", "it is gzip-compressed"),
        (b"%PDF", "it is a PDF document"),
        (b"\x7FELF", "it is a program"),
    ];
    for (magic, what) in MAGIC {
        if bytes.starts_with(magic) {
            return Some(what.to_string());
        }
    }
    let head = &bytes[..bytes.len().min(8192)];
    head.contains(&0).then(|| "it holds binary data (NUL bytes)".to_string())
}

/// The delimiter that splits the first lines into the same number (two or more) of fields.
fn sniff_delimiter(text: &str) -> Option<u8> {
    let sample: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).take(50).collect();
    let mut best: Option<(u8, usize, bool)> = None;
    for &d in &DELIMITERS {
        let joined = sample.join("\n");
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(d)
            .from_reader(joined.as_bytes());
        let counts: Vec<usize> = reader.records().map_while(Result::ok).map(|r| r.len()).collect();
        let Some(&first) = counts.first() else { continue };
        if first < 2 {
            continue;
        }
        let consistent = counts.iter().all(|&c| c == first);
        let better = match best {
            None => true,
            Some((_, n, cons)) => (consistent && !cons) || (consistent == cons && first > n),
        };
        if better {
            best = Some((d, first, consistent));
        }
    }
    best.map(|(d, _, _)| d)
}

fn read_rows(path: &Path, text: &str, delimiter: u8) -> Result<Vec<RawRow>, DataError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(text.as_bytes());
    let mut rows = Vec::new();
    for record in reader.records() {
        let line_of =
            |p: Option<&csv::Position>| p.map_or(0, |p| super::csv_lines::line_in(text.as_bytes(), p));
        let record = record.map_err(|e| {
            DataError::new(path, DataErrorKind::NotCsv(e.to_string())).at_line(line_of(e.position()))
        })?;
        let line = line_of(record.position());
        if record.len() == 1 && record.get(0).is_some_and(|f| f.trim().is_empty()) {
            continue; // a blank line
        }
        rows.push(RawRow { line, fields: record.iter().map(str::to_string).collect() });
    }
    Ok(rows)
}

/// The first row is a header when it has no numbers, or when it has text above a numeric column.
fn detect_header(rows: &[RawRow]) -> bool {
    let first = &rows[0].fields;
    if first.iter().all(|f| parse_number(f).is_none()) {
        return rows.len() == 1
            || rows[1..].iter().any(|r| r.fields.iter().any(|f| parse_number(f).is_some()));
    }
    let rest = &rows[1..];
    (0..first.len()).any(|c| {
        let numeric = rest.iter().filter(|r| parse_number(&r.fields[c]).is_some()).count();
        parse_number(&first[c]).is_none()
            && !is_missing(&first[c])
            && !rest.is_empty()
            && numeric * 10 >= rest.len() * 9
    })
}

fn name_or_default(field: &str, index: usize) -> String {
    let name = field.trim();
    if name.is_empty() {
        format!("col{}", index + 1)
    } else {
        name.to_string()
    }
}

fn choose_target(path: &Path, columns: &[String], overrides: &DatasetConfig) -> Result<usize, DataError> {
    if let Some(name) = &overrides.target {
        return find_column(columns, name).ok_or_else(|| unknown_column(path, columns, name));
    }
    for wanted in TARGET_NAMES {
        if let Some(i) = columns.iter().position(|c| c.eq_ignore_ascii_case(wanted)) {
            return Ok(i);
        }
    }
    Ok(columns.len() - 1)
}

fn find_column(columns: &[String], name: &str) -> Option<usize> {
    columns
        .iter()
        .position(|c| c == name)
        .or_else(|| columns.iter().position(|c| c.eq_ignore_ascii_case(name)))
}

fn unknown_column(path: &Path, columns: &[String], name: &str) -> DataError {
    DataError::new(path, DataErrorKind::UnknownColumn { name: name.to_string(), available: columns.to_vec() })
}

/// Classification for text or small-integer targets, regression otherwise.
fn infer_task(data: &[RawRow], target: usize) -> TaskOverride {
    let mut distinct = std::collections::BTreeSet::new();
    for row in data {
        let cell = &row.fields[target];
        if is_missing(cell) {
            continue;
        }
        match parse_number(cell) {
            None => return TaskOverride::Classification,
            Some(v) if v.fract() == 0.0 && v.abs() < 1e9 => {
                distinct.insert(v as i64);
            }
            Some(_) => return TaskOverride::Regression,
        }
    }
    if distinct.len() <= MAX_INTEGER_CLASSES {
        TaskOverride::Classification
    } else {
        TaskOverride::Regression
    }
}

/// Features: the configured list, or every column but the target that holds numbers.
/// Columns that hold no numbers at all are left out, with the reason shown in the schema.
fn choose_features(
    path: &Path,
    columns: &[String],
    data: &[RawRow],
    target: usize,
    overrides: &DatasetConfig,
) -> Result<(Vec<usize>, Vec<ColumnRole>), DataError> {
    let mut roles = vec![ColumnRole::Ignored("not listed in `features`".into()); columns.len()];
    let mut features = Vec::new();
    if let Some(names) = &overrides.features {
        for name in names {
            let i = find_column(columns, name).ok_or_else(|| unknown_column(path, columns, name))?;
            if i == target {
                return Err(DataError::new(
                    path,
                    DataErrorKind::Schema(format!(
                        "column {name:?} is the target and cannot also be a feature; remove it from `features`"
                    )),
                ));
            }
            features.push(i);
            roles[i] = ColumnRole::Feature;
        }
    } else {
        for (i, role) in roles.iter_mut().enumerate() {
            if i == target {
                continue;
            }
            let any_number = data.iter().any(|r| parse_number(&r.fields[i]).is_some());
            if any_number {
                features.push(i);
                *role = ColumnRole::Feature;
            } else {
                *role = ColumnRole::Ignored("text column (not a number)".into());
            }
        }
    }
    if features.is_empty() {
        return Err(DataError::new(path, DataErrorKind::NoFeatures));
    }
    Ok((features, roles))
}

/// Targets as class indices (sorted class names, numerically for integers) or as values.
/// Applies the `classes` filter, removing the matching feature rows too.
#[allow(clippy::too_many_arguments)]
fn build_targets(
    path: &Path,
    columns: &[String],
    rows: &[&RawRow],
    target: usize,
    task: TaskOverride,
    overrides: &DatasetConfig,
    x: &mut Vec<f32>,
    features: &[usize],
) -> Result<(Task, Targets, usize), DataError> {
    let err = |kind| DataError::new(path, kind);
    if task == TaskOverride::Regression {
        let mut values = Vec::with_capacity(rows.len());
        for row in rows {
            let cell = &row.fields[target];
            let v = parse_number(cell).ok_or_else(|| {
                err(DataErrorKind::Schema(format!(
                    "{:?} is not a number, but the task is regression; set `task = \"classification\"` under [datasets.NAME] or fix the value",
                    cell.trim()
                )))
                .at_line(row.line)
                .at_column(target + 1, &columns[target])
            })?;
            values.push(v as f32);
        }
        return Ok((Task::Regression, Targets::Values(values), 0));
    }

    let labels: Vec<String> = rows.iter().map(|r| r.fields[target].trim().to_string()).collect();
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for l in &labels {
        *counts.entry(l.clone()).or_default() += 1;
    }
    let mut present: Vec<String> = counts.keys().cloned().collect();
    if present.iter().all(|c| c.parse::<i64>().is_ok()) {
        present.sort_by_key(|c| c.parse::<i64>().unwrap_or(0));
    }
    let classes = match &overrides.classes {
        Some(wanted) => {
            for w in wanted {
                if !counts.contains_key(w) {
                    return Err(err(DataErrorKind::UnknownClass {
                        name: w.clone(),
                        available: present.clone(),
                    })
                    .at_column(target + 1, &columns[target]));
                }
            }
            wanted.clone()
        }
        None => present,
    };
    if classes.len() < 2 {
        let class = classes.first().cloned().unwrap_or_default();
        return Err(err(DataErrorKind::SingleClass { class }).at_column(target + 1, &columns[target]));
    }
    let index: BTreeMap<&str, i64> =
        classes.iter().enumerate().map(|(i, c)| (c.as_str(), i as i64)).collect();
    let width = features.len();
    let mut y = Vec::with_capacity(labels.len());
    let mut kept_x = Vec::with_capacity(x.len());
    let mut filtered = 0;
    for (row, label) in labels.iter().enumerate() {
        match index.get(label.as_str()) {
            Some(&k) => {
                y.push(k);
                kept_x.extend_from_slice(&x[row * width..(row + 1) * width]);
            }
            None => filtered += 1,
        }
    }
    *x = kept_x;
    Ok((Task::Classification { classes }, Targets::Classes(y), filtered))
}

/// "No numeric feature columns" says why: the delimiter found, the columns it gave, a sample row.
fn explain_no_features(e: DataError, delimiter: u8, columns: &[String], data: &[RawRow]) -> DataError {
    if e.kind != DataErrorKind::NoFeatures {
        return e;
    }
    let shown = match delimiter {
        b'\t' => "tab".to_string(),
        d => format!("{:?}", d as char),
    };
    let sample =
        data.first().map(|r| format!("line {}: {:?}", r.line, r.fields.join(" | "))).unwrap_or_default();
    let hint = if delimiter == b',' && data.iter().any(|r| r.fields.iter().any(|f| f.contains(';'))) {
        "; the cells hold `;`: is the file `;`-delimited with decimal commas? Save it with `;` between every field"
    } else {
        ""
    };
    DataError::new(
        e.file,
        DataErrorKind::Schema(format!(
            "has no numeric feature columns to learn from: split by {shown} into {} columns ({}), none besides the \
             target holds numbers (sample {sample}){hint}; check the delimiter and the number format (`1.5`, or \
             `1,5` in a `;`-delimited file)",
            columns.len(),
            columns.join(", ")
        )),
    )
}

/// Spreadsheets in many locales export `;`-delimited files with decimal commas (`5,1;3,5`): in
/// such a file, every cell written with a decimal comma becomes its dotted form (see
/// [`decimal_comma_cell`]), labels included, so both loading paths see the same numbers.
fn decimal_commas(delimiter: u8, rows: &mut [RawRow]) {
    for cell in rows.iter_mut().flat_map(|r| r.fields.iter_mut()) {
        if let Some(dotted) = decimal_comma_cell(delimiter, cell) {
            *cell = dotted;
        }
    }
}

/// A cell written with a decimal comma (`5,1`, `-0,25`, `1,5e3`) in a `;`-delimited file, with its
/// one comma made a point; `None` for every other cell, and always for other delimiters (where a
/// comma is a field separator or a thousands separator). Shared by the small and the streaming path.
pub fn decimal_comma_cell(delimiter: u8, cell: &str) -> Option<String> {
    if delimiter != b';' || cell.matches(',').count() != 1 || parse_number(cell).is_some() {
        return None;
    }
    let digits_both_sides = cell.trim().split(',').all(|p| p.chars().any(|c| c.is_ascii_digit()));
    let dotted = cell.replace(',', ".");
    (digits_both_sides && parse_number(&dotted).is_some()).then_some(dotted)
}

/// [`parse_number`] for a cell of a file with this delimiter: decimal commas count in a
/// `;`-delimited file.
pub fn parse_number_in(delimiter: u8, cell: &str) -> Option<f64> {
    parse_number(cell).or_else(|| decimal_comma_cell(delimiter, cell).and_then(|d| parse_number(&d)))
}

/// The configured delimiter (`delimiter = ";"` under [datasets.NAME]), else the sniffed one.
fn choose_delimiter(path: &Path, text: &str, overrides: &DatasetConfig) -> Result<u8, DataError> {
    let err = |kind| DataError::new(path, kind);
    match overrides.delimiter {
        Some(c) if c.is_ascii() && !matches!(c, '"' | '\n' | '\r') => Ok(c as u8),
        Some(c) => Err(err(DataErrorKind::Schema(format!(
            "`delimiter = {c:?}` under [datasets.NAME] can't separate fields: use one ASCII character such as \
             \",\", \";\", \"\\t\" or \"|\""
        )))),
        None => sniff_delimiter(text).ok_or_else(|| {
            err(DataErrorKind::NotCsv(
                "no delimiter (comma, semicolon, tab or |) splits its lines into two or more columns".into(),
            ))
        }),
    }
}

/// The error for a row of `fields` (at `line`) whose width differs from the first row's. When
/// the sniffed delimiter is `,` and the row is wider in a way decimal commas explain (each extra
/// field can be the fraction of a number cut in two: an integer cell followed by a digits-only
/// cell), the message says so and what to do; otherwise it is the usual [`DataErrorKind::Ragged`].
pub fn ragged(
    path: &Path,
    delimiter: u8,
    overrides: &DatasetConfig,
    expected: usize,
    fields: &[String],
    line: u64,
) -> DataError {
    let found = fields.len();
    let extra = found.saturating_sub(expected);
    let cut_numbers = if delimiter == b',' && overrides.delimiter.is_none() && extra > 0 {
        possible_cut_numbers(fields)
    } else {
        0
    };
    if extra == 0 || cut_numbers < extra {
        return DataError::new(path, DataErrorKind::Ragged { expected, found }).at_line(line);
    }
    let sample: String = fields.join(",").chars().take(120).collect();
    DataError::new(
        path,
        DataErrorKind::Schema(format!(
            "looks like numbers with decimal commas in a file split by ',': the first row has {expected} columns, \
             but line {line} has {found} ({sample:?}), as if each of {extra} numbers like `5,1` were cut in two; \
             if the fields are separated by `;`, set `delimiter = \";\"` under [datasets.NAME] in config.toml, \
             otherwise export the file with `.` as the decimal separator (or, if the row just has extra fields, \
             fix it)"
        )),
    )
    .at_line(line)
}

/// Adjacent cell pairs (not overlapping) that read as a number cut at a decimal comma: an
/// integer (`5`, `-0`) followed by digits only (`1`, `25`).
fn possible_cut_numbers(fields: &[String]) -> usize {
    let integer = |s: &str| {
        let t = s.trim().strip_prefix('-').unwrap_or(s.trim());
        !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit())
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    // A row that writes decimals with points is not from a decimal-comma locale.
    if fields.iter().any(|f| f.contains('.') && parse_number(f).is_some()) {
        return 0;
    }
    let (mut pairs, mut i) = (0, 0);
    while i + 1 < fields.len() {
        if integer(&fields[i]) && digits(fields[i + 1].trim_end()) {
            pairs += 1;
            i += 2;
        } else {
            i += 1;
        }
    }
    pairs
}

/// A finite number, or None. "nan" and "inf" are not accepted as data.
pub fn parse_number(cell: &str) -> Option<f64> {
    let t = cell.trim();
    if t.is_empty() {
        return None;
    }
    t.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// Whether a cell means "no value" (empty, `NA`, `?` and the like).
pub fn is_missing(cell: &str) -> bool {
    // Without a lower-cased copy: this runs once a row for a table's target.
    let t = cell.trim();
    MISSING_TOKENS.iter().any(|token| t.eq_ignore_ascii_case(token))
}
