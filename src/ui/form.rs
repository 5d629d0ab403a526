//! The model pane: the model and its hyperparameters; a refused value shows why in place.
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::{pane_block, theme};
use crate::app::form::Field;
use crate::app::{App, Pane};

pub fn render(app: &App, area: Rect, frame: &mut Frame) {
    let focused = app.focus == Pane::Model;
    let block = pane_block("Model (Enter: edit)", focused);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let form = &app.form;
    let fields = form.fields();
    let selected = form.selected.min(fields.len() - 1);

    // A line under the fields for a refusal, or for a model that doesn't fit the dataset.
    let fit = app
        .selected_entry()
        .and_then(|e| e.summary.as_ref().ok())
        .and_then(|s| form.pick_fits(&form.current_pick(), Some(s)).err())
        .map(|unfit| unfit.to_string());
    let message = form.error.clone().or(fit);
    // One line: the footer shows the whole message.
    let message_height = u16::from(message.is_some());
    let rows = inner.height.saturating_sub(message_height).max(1) as usize;
    // Scroll so the selected field is always visible.
    let first = selected.saturating_sub(rows.saturating_sub(1));
    let mut lines = Vec::new();
    for (i, field) in fields.iter().enumerate().skip(first).take(rows) {
        let is_selected = focused && i == selected;
        let value = match (&form.editing, is_selected) {
            (Some(text), true) => format!("{text}_"),
            _ => form.display(*field),
        };
        let hint = if is_selected && form.editing.is_none() {
            match field {
                Field::Model => "  (Enter: choose)",
                Field::Optimizer | Field::Standardize => "  (Enter: change)",
                _ => "",
            }
        } else {
            ""
        };
        let style = if is_selected { theme::selected() } else { Style::new() };
        lines.push(Line::from(vec![
            Span::styled(format!("{:<14}", form.label(*field)), style),
            Span::styled(value, style.add_modifier(Modifier::BOLD)),
            Span::styled(hint, theme::dim()),
        ]));
    }
    if let Some(m) = message {
        lines.push(Line::from(Span::styled(format!("x {m}"), theme::error())));
    }
    // The model's summary below the fields, as far as the pane has room.
    let room = (inner.height as usize).saturating_sub(lines.len() + 1);
    let width = usize::from(inner.width.max(8));
    let command = form.command_lines().map(|lines| lines.iter().flat_map(|l| wrap_words(l, width)).collect());
    let summary = command.or_else(|| {
        app.selected_entry().and_then(|e| e.summary.as_ref().ok()).and_then(|s| form.summary_lines(s))
    });
    if let (Some(summary), true) = (summary, room > 0) {
        // The total and the memory come first, so a short pane shows them before the layers.
        lines.push(Line::from(""));
        lines.extend(summary.into_iter().take(room).map(|l| Line::from(Span::styled(l, theme::dim()))));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

/// `text` in lines of at most `width` characters, broken at spaces where it can be.
fn wrap_words(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        let fits = line.chars().count() + 1 + word.chars().count() <= width;
        if !line.is_empty() && !fits {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
        while line.chars().count() > width {
            let head: String = line.chars().take(width).collect();
            line = line.chars().skip(width).collect();
            lines.push(head);
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::wrap_words;

    #[test]
    fn long_command_lines_wrap_at_spaces_and_long_words_are_cut() {
        assert_eq!(wrap_words("runs: python3 a.py --lr 0.1", 14), ["runs: python3", "a.py --lr 0.1"]);
        assert_eq!(wrap_words("abcdefghij", 4), ["abcd", "efgh", "ij"]);
        assert_eq!(wrap_words("short", 40), ["short"]);
    }
}
