//! Progress: epoch x of y, a gauge, samples/s, elapsed and ETA; the final figures once it ends.
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Gauge, Paragraph, Wrap};
use ratatui::Frame;

use super::{pane_block, theme};
use crate::app::run_view::RunState;
use crate::app::App;
use crate::data::staging_text;
use crate::util::{format_duration, format_rate};

pub fn render(app: &App, area: Rect, frame: &mut Frame) {
    let Some(run) = &app.run else { return };
    let block = pane_block(&format!("Run: {} / {} on {}", run.dataset, run.model, run.device_label), false);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let [gauge_area, text_area] = Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(inner);

    let (ratio, label) = match &run.state {
        RunState::Loading { phase, done, total } if *total > 0 => {
            let elapsed = run.loading_started.map(|t| t.elapsed().as_secs_f64()).unwrap_or(0.0);
            (
                *done as f64 / *total as f64,
                format!("staging: {}", staging_text(*phase, *done, *total, elapsed)),
            )
        }
        RunState::Starting | RunState::Loading { .. } => (0.0, "loading data...".to_string()),
        _ => {
            let done = run.epochs_done();
            let ratio = if run.epochs == 0 { 1.0 } else { done as f64 / run.epochs as f64 };
            (ratio, format!("epoch {done} of {} ({:.0}%)", run.epochs, ratio * 100.0))
        }
    };
    let gauge_style = match run.state {
        RunState::Failed(_) => theme::error(),
        RunState::Paused => Style::new().fg(theme::WARN),
        _ => Style::new().fg(theme::ACCENT),
    };
    frame.render_widget(
        Gauge::default().ratio(ratio.clamp(0.0, 1.0)).label(label).gauge_style(gauge_style),
        gauge_area,
    );

    let (elapsed, eta) = run.elapsed_and_eta();
    let rate =
        run.last.as_ref().map(|m| format!("{} samples/s", format_rate(m.samples_per_s))).unwrap_or_default();
    let mut lines = vec![];
    match &run.state {
        RunState::Failed(error) => {
            lines.push(Line::from(Span::styled(format!("failed: {error}"), theme::error())))
        }
        state => {
            let mut spans = vec![
                Span::styled(state.label(), Style::new().add_modifier(Modifier::BOLD)),
                Span::raw(format!("  {rate}  elapsed {}", format_duration(elapsed))),
            ];
            if let Some(eta) = eta {
                spans.push(Span::raw(format!("  ETA {}", format_duration(eta))));
            }
            lines.push(Line::from(spans));
            if let (false, Some(m)) = (state.is_active(), &run.last) {
                let val = match (m.val_loss, m.val_metric) {
                    (Some(l), Some(v)) => format!("  val_loss {l:.4}  {} {v:.4}", m.metric.short()),
                    _ => String::new(),
                };
                let bold = Style::new().add_modifier(Modifier::BOLD);
                lines.push(Line::from(Span::styled(
                    format!("final: train_loss {:.4}{val}", m.train_loss),
                    bold,
                )));
            }
        }
    }
    if let Some(dir) = &run.run_dir {
        lines.push(Line::from(Span::styled(format!("run folder {}", dir.display()), theme::dim())));
    }
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: true }), text_area);
}
