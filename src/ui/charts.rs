//! The live charts: loss (per-step train loss, and train and validation loss per epoch, against
//! epochs) and the validation metric. Data is kept whole; drawing reads at most a few points per
//! column (see app/series.rs). The y axis snaps to round numbers so it doesn't jitter, which also
//! keeps redraws small over SSH.
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style};
use ratatui::symbols::Marker;
use ratatui::text::Span;
use ratatui::widgets::{Axis, Chart, Dataset, GraphType, Paragraph};
use ratatui::Frame;

use super::{pane_block, theme};
use crate::app::run_view::RunView;
use crate::app::{App, ChartOptions, Pane};
use crate::train::MetricKind;

/// Columns taken by the y-axis labels and the borders.
const Y_LABEL_WIDTH: u16 = 9;

pub fn render(app: &App, area: Rect, frame: &mut Frame) {
    let focused = app.focus == Pane::Charts;
    let Some(run) = &app.run else {
        frame.render_widget(
            Paragraph::new("press s to start a run").block(pane_block("Charts", focused)),
            area,
        );
        return;
    };
    let [loss_area, metric_area] =
        Layout::vertical([Constraint::Percentage(62), Constraint::Percentage(38)]).areas(area);
    loss_chart(run, app.chart, app.ascii, focused, loss_area, frame);
    metric_chart(run, app.chart, app.ascii, focused, metric_area, frame);
}

/// The points of a chart in chart coordinates, ready for `Dataset::data`.
pub struct LossPoints {
    pub steps: Vec<(f64, f64)>,
    pub train: Vec<(f64, f64)>,
    pub val: Vec<(f64, f64)>,
    pub x_bounds: [f64; 2],
    pub y_bounds: [f64; 2],
}

/// Everything the loss chart draws, for a chart `columns` wide. Pure, so it can be measured.
pub fn loss_points(run: &RunView, options: ChartOptions, columns: usize) -> LossPoints {
    let series = if options.smooth { &run.step_loss_smooth } else { &run.step_loss };
    let len = series.len();
    let (start, end) = if options.recent { (len.saturating_sub(columns * 2), len) } else { (0, len) };
    let ty = |y: f64| transform(y, options.log_y);
    let steps: Vec<(f64, f64)> = series
        .envelope(start, end, columns)
        .into_iter()
        .map(|(x, y)| (run.step_to_epoch(x), ty(y)))
        .filter(|p| p.1.is_finite())
        .collect();
    let x_bounds = if options.recent && !steps.is_empty() {
        let lo = steps.first().map(|p| p.0).unwrap_or(0.0);
        let hi = steps.last().map(|p| p.0).unwrap_or(1.0);
        [lo, if hi > lo { hi } else { lo + 1.0 }]
    } else {
        [0.0, (run.epochs.max(1) as f64).max(run.epoch_train_loss.last().map(|p| p.0).unwrap_or(0.0))]
    };
    let in_view = |pts: &[(f64, f64)]| -> Vec<(f64, f64)> {
        let visible: Vec<(f64, f64)> = pts
            .iter()
            .filter(|p| p.0 >= x_bounds[0] && p.0 <= x_bounds[1])
            .map(|&(x, y)| (x, ty(y)))
            .filter(|p| p.1.is_finite())
            .collect();
        thin(visible, columns * 2)
    };
    let train = in_view(&run.epoch_train_loss);
    let val = in_view(&run.epoch_val_loss);
    let ys = steps.iter().chain(&train).chain(&val).map(|p| p.1);
    let y_bounds = nice_bounds(ys, options.log_y);
    LossPoints { steps, train, val, x_bounds, y_bounds }
}

fn loss_chart(
    run: &RunView,
    options: ChartOptions,
    ascii: bool,
    focused: bool,
    area: Rect,
    frame: &mut Frame,
) {
    let columns = area.width.saturating_sub(Y_LABEL_WIDTH).max(1) as usize;
    let pts = loss_points(run, options, columns);
    let marker = if ascii { Marker::Dot } else { Marker::Braille };
    let step_name = if options.smooth { "step (smooth)" } else { "step" };
    let datasets = vec![
        line(marker, theme::STEP, &pts.steps).name(step_name),
        line(marker, theme::TRAIN, &pts.train).name("train/epoch"),
        line(marker, theme::VAL, &pts.val).name("val"),
    ];
    // The legend lives in the title: it never covers the curves and always fits.
    let mut title = vec![
        Span::styled(" Loss ", theme::title(focused)),
        Span::styled(format!("\u{2500}{step_name} "), Style::new().fg(theme::STEP)),
        Span::styled("\u{2500}train ", Style::new().fg(theme::TRAIN)),
        Span::styled("\u{2500}val ", Style::new().fg(theme::VAL)),
    ];
    let mut mode = String::from(if options.recent { " recent" } else { " full" });
    if options.log_y {
        mode.push_str(", log y");
    }
    mode.push(' ');
    title.push(Span::styled(mode, theme::dim()));
    let block = super::pane_frame(focused).title(ratatui::text::Line::from(title));
    let chart = Chart::new(datasets)
        .block(block)
        .legend_position(None)
        .x_axis(Axis::default().style(theme::dim()).bounds(pts.x_bounds).labels(x_labels(pts.x_bounds)))
        .y_axis(Axis::default().style(theme::dim()).bounds(pts.y_bounds).labels(y_labels(
            pts.y_bounds,
            options.log_y,
            area.height,
        )));
    frame.render_widget(chart, area);
}

fn metric_chart(
    run: &RunView,
    options: ChartOptions,
    ascii: bool,
    focused: bool,
    area: Rect,
    frame: &mut Frame,
) {
    let log_y = options.log_y && run.metric == MetricKind::Mse;
    let columns = area.width.saturating_sub(Y_LABEL_WIDTH).max(1) as usize;
    let points: Vec<(f64, f64)> = run
        .epoch_val_metric
        .iter()
        .map(|&(x, y)| (x, transform(y, log_y)))
        .filter(|p| p.1.is_finite())
        .collect();
    let points = thin(points, columns * 2);
    let x_bounds = [0.0, (run.epochs.max(1) as f64).max(points.last().map(|p| p.0).unwrap_or(0.0))];
    let y_bounds = match run.metric {
        MetricKind::Accuracy => [0.0, 1.0],
        MetricKind::Mse => nice_bounds(points.iter().map(|p| p.1), log_y),
    };
    let last = run.epoch_val_metric.last().map(|p| format!(": {:.4}", p.1)).unwrap_or_default();
    let title = format!("{}{last}", capitalise(run.metric.label()));
    let marker = if ascii { Marker::Dot } else { Marker::Braille };
    let dataset = line(marker, theme::METRIC, &points);
    let chart = Chart::new(vec![dataset])
        .block(pane_block(&title, focused))
        .x_axis(Axis::default().style(theme::dim()).bounds(x_bounds).labels(x_labels(x_bounds)))
        .y_axis(Axis::default().style(theme::dim()).bounds(y_bounds).labels(y_labels(
            y_bounds,
            log_y,
            area.height,
        )));
    frame.render_widget(chart, area);
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}

fn transform(y: f64, log_y: bool) -> f64 {
    if log_y {
        y.max(1e-12).log10()
    } else {
        y
    }
}

/// Keep at most about `max` points, always keeping the last one.
fn thin(points: Vec<(f64, f64)>, max: usize) -> Vec<(f64, f64)> {
    if points.len() <= max.max(2) {
        return points;
    }
    let stride = points.len().div_ceil(max);
    let last = points[points.len() - 1];
    let mut out: Vec<(f64, f64)> = points.into_iter().step_by(stride).collect();
    if out.last() != Some(&last) {
        out.push(last);
    }
    out
}

/// Bounds on round numbers (1, 2 or 5 × 10^k steps), so they change only when the data crosses
/// a grid line. On a log axis, whole or half decades.
pub fn nice_bounds(ys: impl Iterator<Item = f64>, log_y: bool) -> [f64; 2] {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for y in ys.filter(|y| y.is_finite()) {
        lo = lo.min(y);
        hi = hi.max(y);
    }
    if !lo.is_finite() {
        return [0.0, 1.0];
    }
    if log_y {
        return [(lo * 2.0).floor() / 2.0, ((hi * 2.0).ceil() / 2.0).max((lo * 2.0).floor() / 2.0 + 0.5)];
    }
    if hi - lo < 1e-12 {
        let pad = if lo.abs() > 1e-12 { lo.abs() * 0.1 } else { 1.0 };
        lo -= pad;
        hi += pad;
    }
    let raw = (hi - lo) / 4.0;
    let magnitude = 10f64.powf(raw.log10().floor());
    let step =
        [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * magnitude).find(|s| *s >= raw).unwrap_or(10.0 * magnitude);
    // The slack keeps float error (1.2 / 0.05 = 23.999…) from pushing a bound one step out.
    const SLACK: f64 = 1e-9;
    [(lo / step + SLACK).floor() * step, (hi / step - SLACK).ceil() * step]
}

/// One curve, drawn as connected points.
fn line(marker: Marker, color: Color, points: &[(f64, f64)]) -> Dataset<'_> {
    Dataset::default().marker(marker).graph_type(GraphType::Line).style(Style::new().fg(color)).data(points)
}

fn x_labels(b: [f64; 2]) -> Vec<Span<'static>> {
    let mid = (b[0] + b[1]) / 2.0;
    vec![Span::raw(short(b[0])), Span::raw(short(mid)), Span::raw(format!("{} ep", short(b[1])))]
}

/// Three labels where there is room; two on a short chart, where three would overlap.
fn y_labels(b: [f64; 2], log_y: bool, height: u16) -> Vec<Span<'static>> {
    let show = |v: f64| Span::raw(if log_y { short(10f64.powf(v)) } else { short(v) });
    if height < 7 {
        vec![show(b[0]), show(b[1])]
    } else {
        vec![show(b[0]), show((b[0] + b[1]) / 2.0), show(b[1])]
    }
}

/// A compact number: `0`, `0.25`, `12.5`, `1.2e-5`, `3e4`.
pub fn short(v: f64) -> String {
    let a = v.abs();
    if a == 0.0 {
        "0".into()
    } else if !(0.001..10000.0).contains(&a) {
        format!("{v:.1e}")
    } else {
        let s = format!("{v:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_snap_to_round_numbers() {
        assert_eq!(nice_bounds([0.13, 0.97].into_iter(), false), [0.0, 1.0]);
        let [lo, hi] = nice_bounds([1.2, 1.3].into_iter(), false);
        assert!((lo - 1.2).abs() < 1e-9 && (hi - 1.3).abs() < 1e-9, "got [{lo}, {hi}]");
        let [lo, hi] = nice_bounds([0.4].into_iter(), false);
        assert!(lo < 0.4 && hi > 0.4);
        assert_eq!(nice_bounds(std::iter::empty(), false), [0.0, 1.0]);
        assert_eq!(nice_bounds([-2.3, -0.2].into_iter(), true), [-2.5, 0.0]);
    }

    #[test]
    fn numbers_are_short() {
        assert_eq!(short(0.25), "0.25");
        assert_eq!(short(100.0), "100");
        assert_eq!(short(0.00001234), "1.2e-5");
        assert_eq!(short(0.0), "0");
    }
}
