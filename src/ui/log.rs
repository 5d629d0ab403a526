//! The log pane: the engine's tracing events, newest last, so no error hides in a file.
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;
use tracing::Level;

use super::{pane_block, theme};
use crate::app::{App, Pane};

pub fn render(app: &App, area: Rect, frame: &mut Frame) {
    let title =
        if app.log_scroll > 0 { format!("Log (scrolled up {})", app.log_scroll) } else { "Log".into() };
    let block = pane_block(&title, app.focus == Pane::Log);
    let inner = block.inner(area);
    let (height, width) = (inner.height as usize, inner.width as usize);
    let end = app.log.len().saturating_sub(app.log_scroll);
    // Newest entries last; long ones wrap, so an error is read whole rather than cut at the edge.
    let mut lines: Vec<Line> = Vec::new();
    for entry in app.log.range(..end).rev() {
        if lines.len() >= height {
            break;
        }
        let (tag, style) = match entry.level {
            Level::ERROR => ("ERROR", theme::error()),
            Level::WARN => ("WARN ", Style::new().fg(theme::WARN)),
            _ => ("info ", theme::dim()),
        };
        let mut rows = super::wrap(&entry.message, width.saturating_sub(TAG_WIDTH).max(1));
        let first = Line::from(vec![Span::styled(tag, style), Span::raw(" "), Span::raw(rows.remove(0))]);
        let rest = rows.into_iter().map(|r| Line::from(format!("{:TAG_WIDTH$}{r}", "")));
        let entry_lines: Vec<Line> = std::iter::once(first).chain(rest).collect();
        lines.extend(entry_lines.into_iter().rev());
    }
    lines.truncate(height);
    lines.reverse();
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

/// `ERROR ` and `info  `: continuation rows are indented past it.
const TAG_WIDTH: usize = 6;

#[cfg(test)]
mod tests {
    use crate::ui::wrap;

    #[test]
    fn long_messages_wrap_at_spaces_and_keep_every_character() {
        assert_eq!(wrap("short", 10), ["short"]);
        assert_eq!(
            wrap("the learning rate must be positive", 12),
            ["the learning", "rate must be", "positive"]
        );
        assert_eq!(
            wrap("/a/very/long/path/without/spaces", 10),
            ["/a/very/lo", "ng/path/wi", "thout/spac", "es"]
        );
        assert_eq!(wrap("", 5), [""]);
        assert_eq!(wrap("two\nparagraphs", 20), ["two", "paragraphs"]);
    }
}
