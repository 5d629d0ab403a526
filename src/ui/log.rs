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
    let height = block.inner(area).height as usize;
    let end = app.log.len().saturating_sub(app.log_scroll);
    let start = end.saturating_sub(height);
    let lines: Vec<Line> = app
        .log
        .range(start..end)
        .map(|l| {
            let (tag, style) = match l.level {
                Level::ERROR => ("ERROR", theme::error()),
                Level::WARN => ("WARN ", Style::new().fg(theme::WARN)),
                _ => ("info ", theme::dim()),
            };
            Line::from(vec![Span::styled(tag, style), Span::raw(" "), Span::raw(l.message.clone())])
        })
        .collect();
    frame.render_widget(Paragraph::new(lines).block(block), area);
}
