//! The dataset preview: what will be trained on, before pressing start. The inferred schema (which
//! column is the target, which are features, the task, the count per class), the first rows, or
//! for image datasets a few images drawn with half-block characters.
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table, Wrap};
use ratatui::Frame;

use super::{pane_block, theme};
use crate::app::App;
use crate::data::{ColumnRole, DatasetEntry, ImageThumb, Preview, Task};

pub fn render(app: &App, area: Rect, frame: &mut Frame) {
    let Some(entry) = app.selected_entry() else {
        let block = pane_block("Preview", false);
        frame.render_widget(Paragraph::new("select a dataset").block(block), area);
        return;
    };
    let block = pane_block(&format!("Preview: {}", entry.name), false);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let summary = match &entry.summary {
        Ok(s) => s,
        Err(e) => {
            // Paths are shown relative to the datasets folder: shorter, and the same everywhere.
            let mut message = e.to_string();
            if let Some(dir) = app.catalog.as_ref().map(|c| format!("{}/", c.dir.display())) {
                message = message.replace(&dir, "");
            }
            let lines = vec![
                Line::from(Span::styled(
                    "This dataset can't be used:",
                    theme::error().add_modifier(Modifier::BOLD),
                )),
                Line::from(Span::styled(message, theme::error())),
                Line::from(""),
                Line::from(Span::styled(
                    "Fix the file and it reloads by itself; the other datasets stay usable.",
                    theme::dim(),
                )),
            ];
            frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: true }), inner);
            return;
        }
    };
    let mut lines = vec![
        Line::from(vec![Span::styled("source   ", theme::dim()), Span::raw(source_text(entry))]),
        Line::from(vec![
            Span::styled("target   ", theme::dim()),
            Span::styled(summary.target.clone(), Style::new().fg(theme::VAL).add_modifier(Modifier::BOLD)),
            Span::raw(format!(" -> {}", task_text(&summary.task))),
        ]),
    ];
    if matches!(summary.task, Task::Classification { .. }) {
        let labels = summary.class_labels().join(", ");
        lines.push(Line::from(vec![Span::styled("classes  ", theme::dim()), Span::raw(labels)]));
    }
    let shape = match summary.sample_shape.as_slice() {
        [c, h, w] => format!("{w}x{h} pixels, {c} channel{}", if *c == 1 { "" } else { "s" }),
        _ => format!("{} numeric features", summary.features),
    };
    lines.push(Line::from(vec![
        Span::styled("inputs   ", theme::dim()),
        Span::raw(format!("{} rows, {shape}", summary.rows)),
    ]));
    match summary.staged {
        Some(true) => lines.push(Line::from(vec![
            Span::styled("staged   ", theme::dim()),
            Span::raw("yes: runs load it from the local cache"),
        ])),
        Some(false) => lines.push(Line::from(vec![
            Span::styled("staged   ", theme::dim()),
            Span::raw(format!("no: the first run stages it (or `workbench stage {}`)", entry.name)),
        ])),
        None => {}
    }
    for note in &summary.notes {
        lines.push(Line::from(Span::styled(format!("note     {note}"), theme::dim())));
    }
    let head = lines.len() as u16;
    let [top, rest] = Layout::vertical([Constraint::Length(head), Constraint::Min(0)]).areas(inner);
    frame.render_widget(Paragraph::new(lines), top);
    match &summary.preview {
        Preview::Table { columns, roles, rows } => table(columns, roles, rows, rest, frame),
        Preview::Images(thumbs) => images(thumbs, app.ascii, rest, frame),
    }
}

fn source_text(entry: &DatasetEntry) -> String {
    let name = entry.source.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    format!("{name} ({})", entry.format.label())
}

fn task_text(task: &Task) -> String {
    match task {
        Task::Classification { classes } => format!("classification, {} classes", classes.len()),
        Task::Regression => "regression".into(),
    }
}

/// The first rows, with the target column highlighted and unused columns dimmed.
fn table(columns: &[String], roles: &[ColumnRole], rows: &[Vec<String>], area: Rect, frame: &mut Frame) {
    let style_for = |i: usize| match roles.get(i) {
        Some(ColumnRole::Target) => Style::new().fg(theme::VAL),
        Some(ColumnRole::Ignored(_)) => theme::dim(),
        _ => Style::new(),
    };
    let header = Row::new(columns.iter().enumerate().map(|(i, c)| {
        let mark = match roles.get(i) {
            Some(ColumnRole::Target) => " (target)",
            Some(ColumnRole::Ignored(_)) => " (unused)",
            _ => "",
        };
        Cell::from(format!("{c}{mark}")).style(style_for(i).add_modifier(Modifier::BOLD))
    }));
    let body = rows
        .iter()
        .map(|r| Row::new(r.iter().enumerate().map(|(i, v)| Cell::from(v.clone()).style(style_for(i)))));
    // Each column as wide as its header or its widest value.
    let widths: Vec<Constraint> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let header = c.chars().count()
                + if matches!(roles.get(i), Some(ColumnRole::Feature) | None) { 0 } else { 9 };
            let cells = rows.iter().filter_map(|r| r.get(i)).map(|v| v.chars().count()).max().unwrap_or(0);
            Constraint::Length(header.max(cells) as u16)
        })
        .collect();
    frame.render_widget(Table::new(body, widths).header(header).column_spacing(1), area);
}

/// Up to as many images as fit side by side, two pixels per cell (upper half block: foreground
/// is the upper pixel, background the lower), in 256-colour grays so it works over any SSH
/// terminal; in ASCII mode, a character ramp.
fn images(thumbs: &[ImageThumb], ascii: bool, area: Rect, frame: &mut Frame) {
    if thumbs.is_empty() || area.height < 3 {
        return;
    }
    // One line for labels; at most 8 rows an image, so several fit side by side.
    let rows = ((area.height - 1) as usize).min(8);
    let mut x = area.x;
    for thumb in thumbs {
        let scale = ((thumb.height as usize).div_ceil(rows * 2)).max(1);
        let cols = (thumb.width as usize).div_ceil(scale) as u16;
        if x + cols > area.x + area.width {
            break;
        }
        let buf = frame.buffer_mut();
        // Each drawn pixel is the average of a scale x scale block, so thin strokes survive.
        let pixel = |px: usize, py: usize| -> Option<(u8, u8, u8)> {
            let (sx, sy) = (px * scale, py * scale);
            let (w, h, ch) = (thumb.width as usize, thumb.height as usize, thumb.channels as usize);
            if sx >= w || sy >= h {
                return None;
            }
            let (mut sum, mut n) = ([0u32; 3], 0u32);
            for y in sy..(sy + scale).min(h) {
                for x in sx..(sx + scale).min(w) {
                    let i = (y * w + x) * ch;
                    let p = &thumb.pixels;
                    let rgb = if ch >= 3 { [p[i], p[i + 1], p[i + 2]] } else { [p[i]; 3] };
                    for k in 0..3 {
                        sum[k] += rgb[k] as u32;
                    }
                    n += 1;
                }
            }
            Some(((sum[0] / n) as u8, (sum[1] / n) as u8, (sum[2] / n) as u8))
        };
        for cy in 0..rows {
            for cx in 0..cols as usize {
                let top = pixel(cx, cy * 2);
                let bottom = pixel(cx, cy * 2 + 1);
                let Some(cell) = buf.cell_mut((x + cx as u16, area.y + cy as u16)) else { continue };
                if ascii {
                    let level = top.map(luma).unwrap_or(0) / 2 + bottom.map(luma).unwrap_or(0) / 2;
                    const RAMP: &[u8] = b" .:-=+*#%@";
                    let c = RAMP[(level as usize * (RAMP.len() - 1)) / 255] as char;
                    cell.set_char(c);
                } else {
                    cell.set_char('▀');
                    cell.set_fg(top.map(color256).unwrap_or(Color::Reset));
                    cell.set_bg(bottom.map(color256).unwrap_or(Color::Reset));
                }
            }
        }
        let label: String = thumb.label.chars().take(cols as usize).collect();
        buf.set_string(x, area.y + rows as u16, label, theme::dim());
        x += cols + 2;
    }
}

fn luma((r, g, b): (u8, u8, u8)) -> u8 {
    ((r as u32 * 30 + g as u32 * 59 + b as u32 * 11) / 100) as u8
}

/// The nearest colour of the 256-colour palette: the gray ramp for grays, else the 6x6x6 cube.
fn color256((r, g, b): (u8, u8, u8)) -> Color {
    if r == g && g == b {
        return match r {
            0..=3 => Color::Indexed(16),
            247..=255 => Color::Indexed(231),
            v => Color::Indexed(232 + ((v as u16 - 4) * 24 / 244) as u8),
        };
    }
    let q = |v: u8| ((v as u16 * 5 + 127) / 255) as u8;
    Color::Indexed(16 + 36 * q(r) + 6 * q(g) + q(b))
}
