//! The run's telemetry under its loss chart: one small sparkline per figure (CPU %, resident
//! memory, and each GPU's memory, load, temperature and power), laid on the chart's wall-time
//! range and labelled with the latest value. Without GPU figures, one dim line says why (the
//! reason was found once at start-up, never here).
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style};
use ratatui::symbols::bar;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Sparkline, SparklineBar};
use ratatui::Frame;

use super::theme;
use crate::app::compare::XAxis;
use crate::app::run_view::RunView;
use crate::app::App;
use crate::telemetry::{buckets, sparkline_columns};

/// The charts area must be at least this tall for the sparklines (80×24 screens keep their charts).
const MIN_AREA_HEIGHT: u16 = 22;
/// Rows the loss and metric charts keep whatever the sparklines want.
const CHARTS_KEEP: u16 = 16;
/// Columns for `GPU0 power W 310.2`.
const LABEL_WIDTH: u16 = 20;

/// Bars made of ASCII characters, for `--ascii`.
const ASCII_BARS: bar::Set<'static> = bar::Set {
    full: "#",
    seven_eighths: "#",
    three_quarters: "=",
    five_eighths: "=",
    half: "-",
    three_eighths: "-",
    one_quarter: ".",
    one_eighth: ".",
    empty: " ",
};

/// What the block under the loss chart holds: each sparkline's (column, label), and the reason
/// line when there are no GPU figures.
fn rows(app: &App, run: &RunView) -> (Vec<(String, String)>, Option<String>) {
    let lines = sparkline_columns(&run.telemetry.columns);
    let has_gpu = lines.iter().any(|(c, _)| c.starts_with("gpu"));
    let reason = (!has_gpu).then(|| {
        let why = app.gpu_telemetry.as_ref().and_then(|s| s.reason.clone());
        format!("no GPU figures: {}", why.unwrap_or_else(|| "none were recorded for this run".into()))
    });
    (lines, reason)
}

/// Rows the telemetry block takes in a charts area `area_height` tall: 0 when the run has no
/// telemetry or the area is too short.
pub(super) fn height(app: &App, run: &RunView, area_height: u16) -> u16 {
    if run.telemetry.rows.is_empty() || area_height < MIN_AREA_HEIGHT {
        return 0;
    }
    let (lines, reason) = rows(app, run);
    let wanted = (lines.len() + usize::from(reason.is_some())) as u16;
    wanted.min(area_height.saturating_sub(CHARTS_KEEP))
}

/// The wall-time range the sparklines cover: the chart's own when it counts seconds, else the
/// run's seconds so far (the chart's epochs or steps have no exact time).
fn wall_range(app: &App, run: &RunView, chart_x: [f64; 2]) -> [f64; 2] {
    if app.chart.x_axis == XAxis::Wall {
        return chart_x;
    }
    let last = run.telemetry.rows.iter().filter_map(|r| r.first().copied().flatten()).fold(0.0, f64::max);
    [0.0, run.elapsed_s().max(last).max(1.0)]
}

/// `97.5`, `1234`: short enough for the label.
fn short(v: f64) -> String {
    if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

/// Draw the block into `area` (as tall as [`height`] said), aligned on `chart_x`.
pub(super) fn render(app: &App, run: &RunView, chart_x: [f64; 2], area: Rect, frame: &mut Frame) {
    let (lines, reason) = rows(app, run);
    let [t0, t1] = wall_range(app, run, chart_x);
    let colors = [Color::Magenta, Color::Green, Color::Cyan, Color::Yellow, Color::Blue, Color::Red];
    let mut y = area.y;
    for (i, (column, label)) in lines.iter().enumerate() {
        if y >= area.bottom() {
            return;
        }
        let row = Rect { y, height: 1, ..area };
        y += 1;
        let [label_area, spark_area] =
            Layout::horizontal([Constraint::Length(LABEL_WIDTH), Constraint::Min(1)]).areas(row);
        let series = run.telemetry.series(column);
        let latest = series.last().map_or("-".to_string(), |p| short(p.1));
        let color = colors[i % colors.len()];
        let text = Line::from(vec![
            Span::styled(format!("{label} "), theme::dim()),
            Span::styled(latest, Style::new().fg(color)),
        ]);
        frame.render_widget(Paragraph::new(text), label_area);
        let cells = buckets(&series, t0, t1, spark_area.width as usize);
        let top = cells.iter().flatten().fold(0.0_f64, |a, &b| a.max(b));
        // Scaled to the largest value in view, so a flat 300 MB line isn't a full block.
        let bars: Vec<SparklineBar> = cells
            .iter()
            .map(|c| {
                SparklineBar::from(c.map(|v| if top > 0.0 { (v / top * 100.0).round() as u64 } else { 0 }))
            })
            .collect();
        let mut spark = Sparkline::default().data(bars).max(100).style(Style::new().fg(color));
        if app.ascii {
            spark = spark.bar_set(ASCII_BARS);
        }
        frame.render_widget(spark, spark_area);
    }
    if let (Some(text), true) = (reason, y < area.bottom()) {
        let row = Rect { y, height: 1, ..area };
        frame.render_widget(Paragraph::new(Span::styled(text, theme::dim())), row);
    }
}
