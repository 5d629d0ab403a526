//! What listing shows of a large CSV, cheaply: its layout and preview from the first 64 KiB, its
//! rows from the staged copy when there is a current one (exact, with class counts), else from a
//! count of line breaks (cached by size and time), or for very large files an estimate from the
//! head's line lengths. Listing never parses the whole file.
use std::path::Path;

use super::table::{self, TableSpec, HEAD_BYTES};
use crate::config::DatasetConfig;
use crate::data::csv_table;
use crate::data::error::{DataError, DataErrorKind};
use crate::data::listing::rows;
use crate::data::types::{ColumnRole, DatasetSummary, Preview};
use crate::util::format_bytes;

/// Files up to this size have their line breaks counted at listing (about 30 ms warm); larger
/// ones get an estimate until they are staged, so a listing stays quick whatever the folder holds.
pub const COUNT_LIMIT: u64 = 64 << 20;

/// Whether a CSV is large enough to be listed from its head and staged to load; smaller ones are
/// parsed whole, as they always were.
pub fn is_large(source: &Path) -> bool {
    std::fs::metadata(source).map(|m| m.len() > HEAD_BYTES as u64).unwrap_or(false)
}

/// The listing's summary of a large CSV.
pub fn summarize(
    name: &str,
    source: &Path,
    config: &DatasetConfig,
    cache_dir: &Path,
) -> Result<DatasetSummary, DataError> {
    let unreadable = |e: std::io::Error| DataError::new(source, DataErrorKind::Unreadable(e.to_string()));
    let size = std::fs::metadata(source).map_err(unreadable)?.len();
    let (head, _) = table::read_head(source).map_err(unreadable)?;
    let look = csv_table::look_at_head(source, &head, config)?;
    let mut notes = Vec::new();
    for (i, role) in look.roles.iter().enumerate() {
        if let ColumnRole::Ignored(why) = role {
            notes.push(format!("column {:?} not used: {why}", look.columns[i]));
        }
    }
    let spec = TableSpec { name, source, config, cache_dir };
    let (rows, task, class_counts, staged) = match spec.current() {
        Some(m) => {
            if m.dropped_rows > 0 {
                notes.push(format!("{} rows left out (missing values or classes not kept)", m.dropped_rows));
            }
            (m.rows, m.task(), m.class_counts.clone(), true)
        }
        None => {
            let header = u64::from(look.has_header);
            let rows = if size <= COUNT_LIMIT {
                let (lines, _) = rows::line_count(source, cache_dir).map_err(unreadable)?;
                if look.quoted {
                    notes.push(
                        "about this many rows: line breaks were counted, and quoted fields may hold some"
                            .into(),
                    );
                }
                lines.saturating_sub(header)
            } else {
                let per_row = head.len() as f64 / (look.rows as u64 + header).max(1) as f64;
                notes.push(format!(
                    "about this many rows, estimated from the first {} of {}; staging (`workbench stage {name}`, or \
                     the first training run) counts them",
                    format_bytes(head.len() as u64),
                    format_bytes(size)
                ));
                (size as f64 / per_row.max(1.0)).round() as u64
            };
            if look.task.is_classification() {
                notes.push(format!(
                    "classes as seen in the first {}; staging counts them all",
                    format_bytes(head.len() as u64)
                ));
            }
            (rows as usize, look.task.clone(), Vec::new(), false)
        }
    };
    Ok(DatasetSummary {
        rows,
        features: look.features.len(),
        sample_shape: vec![look.features.len()],
        target: look.columns[look.target].clone(),
        task,
        class_counts,
        notes,
        staged: Some(staged),
        preview: Preview::Table { columns: look.columns, roles: look.roles, rows: look.preview },
    })
}
