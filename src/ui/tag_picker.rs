//! The tag picker overlay: every tag of the charts' runs, `[x]` where it is drawn, how many runs
//! log it and how many points; the filter line; scrolls to keep the highlighted row in view.
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};
use ratatui::Frame;

use super::theme;
use crate::app::tags::TagPicker;
use crate::app::App;

/// The first row shown so that `cursor` is in view in `rows` rows, as near the top as the list
/// allows (a pure function of the state: no scroll offset to keep).
pub fn scroll_offset(cursor: usize, len: usize, rows: usize) -> usize {
    if rows == 0 || len <= rows {
        return 0;
    }
    cursor.saturating_sub(rows - 1).min(len - rows)
}

pub fn render(app: &App, picker: &TagPicker, area: Rect, frame: &mut Frame) {
    let entries = app.tag_entries(picker);
    let runs = app.chart_runs().len();
    let width = area.width.saturating_sub(8).min(80);
    let height = area.height.saturating_sub(4).min(entries.len() as u16 + 6).max(8);
    let [row] = Layout::vertical([Constraint::Length(height)]).flex(Flex::Center).areas(area);
    let [rect] = Layout::horizontal([Constraint::Length(width)]).flex(Flex::Center).areas(row);
    let inner_width = width.saturating_sub(2) as usize;
    // Rows: the filter line, the list, a blank and the key hints.
    let list_rows = height.saturating_sub(2 + 3) as usize;
    let offset = scroll_offset(picker.cursor, entries.len(), list_rows);
    let filter = match (picker.typing, picker.filter.is_empty()) {
        (true, _) => Line::from(vec![
            Span::styled("/", theme::key()),
            Span::raw(picker.filter.clone()),
            Span::styled("_", theme::key()),
        ]),
        (false, true) => Line::from(Span::styled("/ filters the tags", theme::dim())),
        (false, false) => {
            Line::from(vec![Span::styled("filter: ", theme::dim()), Span::raw(picker.filter.clone())])
        }
    };
    let mut lines = vec![filter];
    if entries.is_empty() {
        let why = if picker.filter.is_empty() { "these runs log no scalars yet" } else { "no tag matches" };
        lines.push(Line::from(Span::styled(why, theme::dim())));
    }
    let counts_width = 22;
    let tag_width = inner_width.saturating_sub(4 + counts_width).max(8);
    for (i, e) in entries.iter().enumerate().skip(offset).take(list_rows) {
        let mark = if e.chosen { "[x] " } else { "[ ] " };
        let tag: String = if e.tag.chars().count() > tag_width {
            let keep: String = e.tag.chars().take(tag_width.saturating_sub(1)).collect();
            format!("{keep}\u{2026}")
        } else {
            e.tag.clone()
        };
        let counts = if runs > 1 {
            format!("{}/{runs} runs {:>8} pts", e.runs, e.points)
        } else {
            format!("{:>8} points", e.points)
        };
        let style = if i == picker.cursor { theme::selected() } else { Style::new() };
        let mark_style = if e.chosen { style.fg(theme::ACCENT).add_modifier(Modifier::BOLD) } else { style };
        lines.push(Line::from(vec![
            Span::styled(mark, mark_style),
            Span::styled(format!("{tag:<tag_width$}"), style),
            Span::styled(format!("{counts:>counts_width$}"), style.patch(theme::dim())),
        ]));
    }
    lines.push(Line::from(""));
    let hints = if picker.typing {
        "type to filter   Enter keep   Esc clear"
    } else {
        "Space draw/hide   / filter   j/k PgUp/PgDn move   Enter close"
    };
    lines.push(Line::from(Span::styled(hints, theme::dim())));
    let chosen = app.chart_tags.len();
    let shown = if entries.len() > list_rows {
        format!("{}-{} of {}", offset + 1, (offset + list_rows).min(entries.len()), entries.len())
    } else {
        format!("{}", entries.len())
    };
    let title = if chosen == 0 {
        format!(" Tags: {shown} (drawing the default loss and metric) ")
    } else {
        format!(" Tags: {shown}, {chosen} drawn ")
    };
    let block = Block::bordered()
        .border_style(Style::new().fg(theme::ACCENT))
        .title(Span::styled(title, theme::title(true)));
    frame.render_widget(Clear, rect);
    frame.render_widget(Paragraph::new(lines).block(block), rect);
}

#[cfg(test)]
mod tests {
    use super::scroll_offset;

    #[test]
    fn the_cursor_stays_in_view() {
        assert_eq!(scroll_offset(0, 50, 10), 0);
        assert_eq!(scroll_offset(9, 50, 10), 0);
        assert_eq!(scroll_offset(10, 50, 10), 1);
        assert_eq!(scroll_offset(49, 50, 10), 40);
        assert_eq!(scroll_offset(3, 5, 10), 0);
        assert_eq!(scroll_offset(3, 5, 0), 0);
    }
}
