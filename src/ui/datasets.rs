//! The datasets pane: one line per dataset, problems shown in place rather than hidden.
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{List, ListItem, ListState};
use ratatui::Frame;

use super::{pane_block, theme};
use crate::app::{App, Pane};
use crate::data::{DatasetEntry, Task};

pub fn render(app: &App, area: Rect, frame: &mut Frame) {
    let focused = app.focus == Pane::Datasets;
    let block = pane_block("Datasets", focused);
    let Some(catalog) = &app.catalog else {
        frame.render_widget(ratatui::widgets::Paragraph::new("scanning...").block(block), area);
        return;
    };
    if let Some(problem) = &catalog.problem {
        let p = ratatui::widgets::Paragraph::new(Span::styled(problem.clone(), theme::error()))
            .wrap(ratatui::widgets::Wrap { trim: true })
            .block(block);
        frame.render_widget(p, area);
        return;
    }
    if catalog.entries.is_empty() {
        let text = format!("no datasets in {}", catalog.dir.display());
        frame.render_widget(
            ratatui::widgets::Paragraph::new(text).wrap(ratatui::widgets::Wrap { trim: true }).block(block),
            area,
        );
        return;
    }
    let items: Vec<ListItem> = catalog.entries.iter().map(|e| ListItem::new(entry_line(e))).collect();
    let mut state = ListState::default().with_selected(Some(app.selected_dataset));
    let list = List::new(items).block(block).highlight_style(theme::selected()).highlight_symbol("> ");
    frame.render_stateful_widget(list, area, &mut state);
}

/// `iris  150x4  3 classes`, `shapes  400 28x28x1  4 classes  staged`, or `broken  problem: ...`.
pub fn entry_line(e: &DatasetEntry) -> Line<'static> {
    let name = Span::styled(format!("{:<12}", e.name), Style::new());
    match &e.summary {
        Ok(s) => {
            let shape = match s.sample_shape.as_slice() {
                [1, h, w] => format!("{} {w}x{h}", s.rows),
                [c, h, w] => format!("{} {w}x{h}x{c}", s.rows),
                _ => format!("{}x{}", s.rows, s.features),
            };
            let task = match &s.task {
                Task::Classification { classes } => format!("{} classes", classes.len()),
                Task::Regression => "regression".into(),
            };
            let mut spans = vec![name, Span::raw(format!(" {shape} {task}"))];
            // Only "staged" is marked; the preview says either way.
            if s.staged == Some(true) {
                spans.push(Span::styled(" staged", theme::dim()));
            }
            Line::from(spans)
        }
        Err(_) => Line::from(vec![name, Span::styled(" x problem", theme::error())]),
    }
}
