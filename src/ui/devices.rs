//! The devices pane: the CPU and each GPU, or why CUDA is not usable. A long reason wraps; when
//! it doesn't fit, its last line says that Enter shows it whole, so the advice at its end is
//! never cut off unseen.
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

use super::{pane_block, theme};
use crate::app::{App, Pane};
use crate::util::format_bytes;

pub fn render(app: &App, area: Rect, frame: &mut Frame) {
    let block = pane_block("Devices (r: runtime)", app.focus == Pane::Devices);
    let inner = block.inner(area);
    let lines: Vec<Line> = match &app.devices {
        None => match &app.probe_error {
            Some(error) => {
                super::fitted_lines(error, inner.width as usize, inner.height as usize, theme::error())
            }
            None => vec![Line::from("probing...")],
        },
        Some(report) => {
            let mut lines =
                vec![Line::from(format!("CPU  {} threads, {}", report.cpu.torch_threads, report.cpu.model))];
            for d in &report.cuda {
                lines.push(Line::from(format!(
                    "GPU{}  {}, {}",
                    d.index,
                    d.name,
                    format_bytes(d.total_memory_bytes)
                )));
            }
            // While the queue has runs: each device's room for them.
            let queue_lines = app.queue.as_ref().filter(|q| q.is_active()).map(|q| q.device_lines());
            let queue_lines =
                queue_lines.unwrap_or_default().into_iter().map(|l| Line::styled(l, theme::dim()));
            if let Some(why) = &report.cuda_unavailable {
                // The short reason always fits; the whole one follows, wrapped, in the rows left;
                // Enter (or the runtime menu, r) shows it in full when it doesn't fit.
                let short = report.cuda_unavailable_short.as_deref().unwrap_or("see r");
                lines.push(Line::from(vec![
                    Span::raw("GPU  "),
                    Span::styled(format!("not usable: {short}"), theme::error()),
                ]));
                lines.extend(queue_lines);
                let rows = (inner.height as usize).saturating_sub(lines.len());
                lines.extend(super::fitted_lines(why, inner.width as usize, rows, theme::dim()));
            } else {
                lines.extend(queue_lines);
            }
            lines
        }
    };
    // Lines are wrapped here, so that the count of rows is known; a GPU line too long for the
    // pane wraps as well.
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }).block(block), area);
}
