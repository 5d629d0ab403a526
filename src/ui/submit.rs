//! The submit popup (`S`): the scheduler and resources to ask for, and the job file they make,
//! exactly as `workbench submit --dry-run` prints it.
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};
use ratatui::Frame;

use super::theme;
use crate::app::submit::{SubmitForm, FIELDS};

/// Draw the popup over most of the screen: fields on top, the job file below.
pub fn render(form: &SubmitForm, area: Rect, frame: &mut Frame) {
    let width = area.width.saturating_sub(6).min(110);
    let height = area.height.saturating_sub(2);
    let [row] = Layout::vertical([Constraint::Length(height)]).flex(Flex::Center).areas(area);
    let [rect] = Layout::horizontal([Constraint::Length(width)]).flex(Flex::Center).areas(row);
    frame.render_widget(Clear, rect);
    let block = Block::bordered()
        .border_style(Style::new().fg(theme::ACCENT))
        .title(Span::styled(" Submit to a cluster ", theme::title(true)));
    let inner = block.inner(rect);
    frame.render_widget(block, rect);

    let what = format!(
        "{} on {}, {} epochs, device {}",
        form.spec.model,
        form.spec.dataset,
        form.spec.epochs,
        form.plan.as_ref().map(|p| p.spec.device.as_str()).unwrap_or("-")
    );
    let mut lines = vec![Line::from(Span::styled(what, theme::dim()))];
    let values = [
        form.scheduler.as_str().to_string(),
        form.gpus.clone(),
        form.time.clone(),
        form.mem.clone(),
        form.partition.clone(),
    ];
    let hints = [
        "Left/Right: slurm or condor",
        "",
        "2h, 90m, 02:00:00; empty: the partition's limit",
        "16G, 512M; empty: the cluster's default",
        "empty: the cluster's default",
    ];
    for (i, ((name, value), hint)) in FIELDS.iter().zip(&values).zip(hints).enumerate() {
        let chosen = i == form.selected;
        let style = if chosen { theme::selected() } else { Style::new() };
        let cursor = if chosen && i > 0 { "\u{258f}" } else { "" };
        lines.push(Line::from(vec![
            Span::styled(format!("{name:>10} "), theme::key()),
            Span::styled(format!("{value}{cursor}"), style.add_modifier(Modifier::BOLD)),
            Span::styled(format!("  {hint}"), theme::dim()),
        ]));
    }
    match &form.plan {
        Ok(plan) => {
            if let Some(warning) = &plan.warning {
                // Wrapped here, so the rows below know how many lines it takes.
                for part in super::wrap(&format!("warning: {warning}"), inner.width.max(1) as usize) {
                    lines.push(Line::from(Span::styled(part, Style::new().fg(theme::WARN))));
                }
            }
            lines.push(Line::from(Span::styled(
                format!("{} (PgUp/PgDn scroll):", plan.job.scheduler.job_file_name()),
                theme::dim(),
            )));
        }
        Err(why) => {
            for part in super::wrap(&format!("can't submit: {why}"), inner.width.max(1) as usize) {
                lines.push(Line::from(Span::styled(part, theme::error())));
            }
        }
    }
    let head = lines.len() as u16;
    let [top, body, foot] =
        Layout::vertical([Constraint::Length(head), Constraint::Min(1), Constraint::Length(1)]).areas(inner);
    frame.render_widget(Paragraph::new(lines), top);
    if let Ok(plan) = &form.plan {
        let preview = plan.preview().unwrap_or_else(|e| format!("can't submit: {e}"));
        let text: Vec<Line> = preview.lines().map(|l| Line::from(l.to_string())).collect();
        let scroll = form.scroll.min(text.len().saturating_sub(1) as u16);
        frame.render_widget(
            Paragraph::new(text)
                .style(theme::dim())
                .scroll((scroll, 0))
                .block(Block::new().borders(ratatui::widgets::Borders::TOP)),
            body,
        );
    }
    let keys = Line::from(vec![
        Span::styled("Enter", theme::key()),
        Span::raw(" submit   "),
        Span::styled("Esc", theme::key()),
        Span::raw(" cancel   "),
        Span::styled("Up/Down", theme::key()),
        Span::raw(" field"),
    ]);
    frame.render_widget(Paragraph::new(keys), foot);
}
