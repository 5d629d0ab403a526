//! The devices pane: the CPU and each GPU, or why CUDA is not usable.
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

use super::{pane_block, theme};
use crate::app::{App, Pane};
use crate::util::format_bytes;

pub fn render(app: &App, area: Rect, frame: &mut Frame) {
    let block = pane_block("Devices (r: runtime)", app.focus == Pane::Devices);
    let lines: Vec<Line> = match &app.devices {
        None => vec![Line::from("probing...")],
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
            if let Some(why) = &report.cuda_unavailable {
                // The short reason always fits; the whole one follows when there is room,
                // and the runtime menu (r) shows it in full.
                let short = report.cuda_unavailable_short.as_deref().unwrap_or("see r");
                lines.push(Line::from(vec![
                    Span::raw("GPU  "),
                    Span::styled(format!("not usable: {short}"), theme::error()),
                ]));
                lines.push(Line::from(Span::styled(why.clone(), theme::dim())));
            }
            lines
        }
    };
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: true }).block(block), area);
}
