//! Progress of the focused run: epoch x of y, a gauge, samples/s, elapsed and ETA; the final
//! figures once it ends; a failed run's reason or a problem folder's problem, wrapped, with the
//! whole text one key away (Enter in the runs pane) when it doesn't fit.
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Gauge, Paragraph};
use ratatui::Frame;

use super::{pane_block, theme};
use crate::app::run_view::RunView;
use crate::app::App;
use crate::data::{staging_text, StagePhase};
use crate::runs::RunStatus;
use crate::util::{format_duration, format_rate};

pub fn render(app: &App, area: Rect, frame: &mut Frame) {
    let Some(run) = app.focused_run() else { return };
    let command = run.meta.as_ref().and_then(|m| m.command.as_ref());
    let title = if let Some(command) = command {
        format!("Run: $ {} on {}", command.short_line(60), run.device_label())
    } else if run.meta.is_some()
        && run.status == Some(RunStatus::Queued)
        && run.device_label().starts_with("queued")
    {
        // The queue picks its device: "iris / mlp, queued for cpu", not "on queued for cpu".
        format!("Run: {} / {}, {}", run.dataset(), run.model(), run.device_label())
    } else if run.meta.is_some() {
        format!("Run: {} / {} on {}", run.dataset(), run.model(), run.device_label())
    } else {
        format!("Run: {}", run.key)
    };
    let block = pane_block(&title, false);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let [gauge_area, text_area] = Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(inner);
    let (ratio, label) = gauge(run);
    let gauge_style = match (run.status, &run.problem) {
        (_, Some(_)) | (Some(RunStatus::Failed), _) => theme::error(),
        (Some(RunStatus::Paused | RunStatus::Interrupted | RunStatus::Stopped), _) => {
            Style::new().fg(theme::WARN)
        }
        _ => Style::new().fg(theme::ACCENT),
    };
    frame.render_widget(
        Gauge::default().ratio(ratio.clamp(0.0, 1.0)).label(label).gauge_style(gauge_style),
        gauge_area,
    );
    let width = text_area.width as usize;
    let mut lines = Vec::new();
    let queue = app.queue.as_ref().filter(|_| run.status == Some(RunStatus::Queued));
    if let Some(why) = queue.and_then(|q| q.reasons.get(&run.key)) {
        // Why the queue holds it: the first thing a user of a waiting run wants to know.
        let place =
            queue.and_then(|q| q.positions.get(&run.key)).map(|p| format!(" (#{p})")).unwrap_or_default();
        let text = format!("queued{place}: {why}");
        lines.extend(super::fitted_lines(
            &text,
            width,
            text_area.height as usize,
            Style::new().fg(theme::WARN),
        ));
    }
    match run.full_reason() {
        Some(reason) => {
            let head = if run.problem.is_some() { "problem" } else { run.status_label() };
            let text = format!("{head}: {reason}");
            lines.extend(super::fitted_lines(&text, width, text_area.height as usize, theme::error()));
        }
        None => {
            let (elapsed, eta) = run.elapsed_and_eta();
            let rate = run
                .last_epoch()
                .map(|m| format!("  {} samples/s", format_rate(m.samples_per_s)))
                .unwrap_or_default();
            let mut spans = vec![
                Span::styled(run.status_label(), Style::new().add_modifier(Modifier::BOLD)),
                Span::raw(format!("{rate}  elapsed {}", format_duration(elapsed))),
            ];
            if let Some(eta) = eta {
                spans.push(Span::raw(format!("  ETA {}", format_duration(eta))));
            }
            lines.push(Line::from(spans));
            if let (false, Some(m)) = (run.is_active(), run.last_epoch()) {
                let val = match (m.val_loss, m.val_metric) {
                    (Some(l), Some(v)) => format!("  val_loss {l:.4}  {} {v:.4}", run.metric().short()),
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
    if lines.len() < text_area.height as usize {
        lines.push(Line::from(Span::styled(format!("run folder {}", run.dir.display()), theme::dim())));
    }
    frame.render_widget(Paragraph::new(lines), text_area);
}

/// The gauge's fill and label: the staging phase while loading, else the epochs done.
fn gauge(run: &RunView) -> (f64, String) {
    let live = run.live.as_ref().filter(|_| run.is_active());
    if let Some(live) = live {
        let phase = match live.phase.as_str() {
            "reading" => Some(StagePhase::Reading),
            "decoding" => Some(StagePhase::Decoding),
            _ => None,
        };
        match phase {
            Some(phase) if live.total > 0 => {
                let since = run.phase_started_ms.unwrap_or(live.updated_unix_ms);
                let elapsed = live.updated_unix_ms.saturating_sub(since) as f64 / 1000.0;
                let text = staging_text(phase, live.done, live.total, elapsed);
                return (live.done as f64 / live.total as f64, format!("staging: {text}"));
            }
            Some(_) => return (0.0, "loading data...".into()),
            None => {}
        }
    }
    if run.status == Some(RunStatus::Queued) {
        let waits = if run.meta.as_ref().is_some_and(|m| m.queue.is_some()) {
            "queued: the queue starts it when a device can take it"
        } else {
            "queued: waiting for its process to start"
        };
        return (0.0, waits.into());
    }
    if run.external.is_some() || run.is_command() {
        // Another tool's log, or the user's own command: its script sets the pace, and its length is unknown; say what has come.
        let points: usize = run.tags.values().map(|t| t.len()).sum();
        let last_step = run.tags.values().filter_map(|t| t.steps.last()).max();
        let step = last_step.map(|s| format!(", last step {s}")).unwrap_or_default();
        return (0.0, format!("{} tags, {points} points{step} (t: pick tags)", run.tags.len()));
    }
    let (done, total) = (run.epochs_done(), run.epochs_total());
    let ratio = if total == 0 { 1.0 } else { done as f64 / total as f64 };
    (ratio, format!("epoch {done} of {total} ({:.0}%)", ratio * 100.0))
}
