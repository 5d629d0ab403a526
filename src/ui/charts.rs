//! The charts: loss (per-step train loss, and train and validation loss per epoch) and the
//! validation metric, against epochs, steps or seconds of training. With several runs selected,
//! the overlay draws one curve per run, each in the run's own colour, with a legend. Data is kept
//! whole; drawing reads at most a few points per column (see app/series.rs). The y axis snaps to
//! round numbers so it doesn't jitter, which also keeps redraws small over SSH.
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style};
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Chart, Dataset, GraphType, Paragraph, Wrap};
use ratatui::Frame;

use super::{pane_block, theme};
use crate::app::compare::XAxis;
use crate::app::run_view::RunView;
use crate::app::{App, ChartOptions, Pane};
use crate::train::MetricKind;

/// Columns taken by the y-axis labels and the borders.
pub(super) const Y_LABEL_WIDTH: u16 = 9;

pub fn render(app: &App, area: Rect, frame: &mut Frame) {
    let focused = app.focus == Pane::Charts;
    // Tags chosen in the picker (`t`) replace the default loss and metric charts.
    if super::tag_chart::draws(app) {
        super::tag_chart::render(app, focused, area, frame);
        return;
    }
    let selected = app.runs.selected_runs();
    let options = app.chart_options();
    if selected.len() >= 2 {
        overlay(&selected, options, app.ascii, focused, area, frame);
        return;
    }
    let Some(run) = app.focused_run().or(selected.first().copied()) else {
        let text = "press s to start a run, or pick one in the runs pane (Tab to it)";
        frame.render_widget(
            Paragraph::new(text).wrap(Wrap { trim: true }).block(pane_block("Charts", focused)),
            area,
        );
        return;
    };
    // The run's telemetry sparklines go between the loss and metric charts when there is room.
    let spark_height = super::sparklines::height(app, run, area.height);
    let charts = Rect { height: area.height - spark_height, ..area };
    let [loss_area, metric_area] =
        Layout::vertical([Constraint::Percentage(62), Constraint::Percentage(38)]).areas(charts);
    let x_bounds = loss_chart(run, options, app.ascii, focused, loss_area, frame);
    if spark_height > 0 {
        let spark_area = Rect {
            x: area.x + 1,
            y: loss_area.bottom(),
            width: area.width.saturating_sub(2),
            height: spark_height,
        };
        super::sparklines::render(app, run, x_bounds, spark_area, frame);
    }
    let metric_area = Rect { y: metric_area.y + spark_height, ..metric_area };
    // A script's own run (a command, another tool's log) has no epoch rows: its accuracy tag, if
    // it printed one, takes the metric chart's place.
    let own_metric =
        run.epochs.is_empty().then(|| OWN_METRIC_TAGS.iter().find(|t| run.tags.contains_key(**t))).flatten();
    match own_metric {
        Some(tag) => tag_metric_chart(run, tag, x_bounds, options, app.ascii, focused, metric_area, frame),
        None => metric_chart(&[run], x_bounds, options, app.ascii, focused, metric_area, frame),
    }
}

/// The tags a script's accuracy goes by, in order of preference.
const OWN_METRIC_TAGS: [&str; 5] = ["val_acc", "val_accuracy", "eval_accuracy", "accuracy", "acc"];

/// One tag of a run in the metric chart's place, over the loss chart's x range.
#[allow(clippy::too_many_arguments)]
fn tag_metric_chart(
    run: &RunView,
    tag: &str,
    x_bounds: [f64; 2],
    options: ChartOptions,
    ascii: bool,
    focused: bool,
    area: Rect,
    frame: &mut Frame,
) {
    let columns = area.width.saturating_sub(Y_LABEL_WIDTH).max(1) as usize;
    let options = ChartOptions { log_y: false, ..options };
    let points = super::tag_chart::run_tag_points(run, tag, options, columns);
    let within_unit = points.iter().all(|p| (0.0..=1.0).contains(&p.1));
    let y_bounds = if within_unit { [0.0, 1.0] } else { nice_bounds(points.iter().map(|p| p.1), false) };
    let last =
        run.tags.get(tag).and_then(|s| s.values.last()).map(|v| format!(": {v:.4}")).unwrap_or_default();
    let marker = if ascii { Marker::Dot } else { Marker::Braille };
    let datasets = vec![line(marker, theme::METRIC, &points)];
    let title = format!("{tag}{last} (its own tag)");
    frame
        .render_widget(chart(datasets, pane_block(&title, focused), x_bounds, y_bounds, options, area), area);
}

/// The points of a chart in chart coordinates, ready for `Dataset::data`.
pub struct LossPoints {
    pub steps: Vec<(f64, f64)>,
    pub train: Vec<(f64, f64)>,
    pub val: Vec<(f64, f64)>,
    pub x_bounds: [f64; 2],
    pub y_bounds: [f64; 2],
}

/// Where step `index` (0-based, fractional from the summaries) falls on the x axis.
fn step_x(run: &RunView, index: f64, axis: XAxis) -> Option<f64> {
    match axis {
        XAxis::Epoch => Some(run.step_to_epoch(index)),
        XAxis::Step => Some(run.step_number(index)),
        XAxis::Wall => run.step_to_wall(index),
    }
}

/// Where the end of an epoch falls on the x axis.
fn epoch_x(run: &RunView, row: &crate::runs::EpochRow, axis: XAxis) -> f64 {
    match axis {
        XAxis::Epoch => row.epoch as f64,
        XAxis::Step => row.step.unwrap_or(row.epoch as u64 * run.steps_per_epoch()) as f64,
        XAxis::Wall => row.elapsed_s,
    }
}

/// How far the axis goes for a whole run: its planned epochs (or steps) while it is still going,
/// or what it has so far (a stopped run's curve fills the width instead of a tenth of it).
fn x_end(run: &RunView, axis: XAxis) -> f64 {
    let still_going = run.is_active();
    let planned = match axis {
        XAxis::Epoch if still_going => run.epochs_total() as f64,
        XAxis::Step if still_going => (run.epochs_total() as u64 * run.steps_per_epoch()) as f64,
        XAxis::Epoch | XAxis::Step => 0.0,
        XAxis::Wall => run.elapsed_s(),
    };
    let last_row = run.epochs.last().map_or(0.0, |r| epoch_x(run, r, axis));
    let last_step =
        run.step_loss.len().checked_sub(1).and_then(|i| step_x(run, i as f64, axis)).unwrap_or(0.0);
    let end = planned.max(last_row).max(last_step);
    if end > 0.0 {
        end
    } else {
        1.0
    }
}

/// A run's step losses as chart points (the min/max summary when there are more than fit).
pub(super) fn step_points(run: &RunView, options: ChartOptions, columns: usize) -> Vec<(f64, f64)> {
    let series = if options.smooth { &run.step_loss_smooth } else { &run.step_loss };
    let len = series.len();
    let (start, end) = if options.recent { (len.saturating_sub(columns * 2), len) } else { (0, len) };
    series
        .envelope(start, end, columns)
        .into_iter()
        .filter_map(|(i, y)| Some((step_x(run, i, options.x_axis)?, transform(y, options.log_y))))
        .filter(|p| p.1.is_finite())
        .collect()
}

/// One value per epoch row, as chart points within `x_bounds`.
pub(super) fn epoch_points(
    run: &RunView,
    options: ChartOptions,
    get: impl Fn(&crate::runs::EpochRow) -> Option<f64>,
    log_y: bool,
    x_bounds: [f64; 2],
    columns: usize,
) -> Vec<(f64, f64)> {
    let pts: Vec<(f64, f64)> = run
        .epochs
        .iter()
        .filter_map(|r| Some((epoch_x(run, r, options.x_axis), transform(get(r)?, log_y))))
        .filter(|p| p.1.is_finite() && p.0 >= x_bounds[0] && p.0 <= x_bounds[1])
        .collect();
    thin(pts, columns * 2)
}

/// The x range in view: the recent steps' range, or the whole run.
fn x_bounds_of(runs: &[&RunView], steps: &[&[(f64, f64)]], options: ChartOptions) -> [f64; 2] {
    let first = steps.iter().filter_map(|s| s.first()).map(|p| p.0).reduce(f64::min);
    let last = steps.iter().filter_map(|s| s.last()).map(|p| p.0).reduce(f64::max);
    if let (true, Some(lo), Some(hi)) = (options.recent, first, last) {
        return [lo, if hi > lo { hi } else { lo + 1.0 }];
    }
    let end = runs.iter().map(|r| x_end(r, options.x_axis)).fold(0.0, f64::max);
    [0.0, if end > 0.0 { end } else { 1.0 }]
}

/// Everything the loss chart draws for one run, for a chart `columns` wide. Pure, so it can be
/// measured.
pub fn loss_points(run: &RunView, options: ChartOptions, columns: usize) -> LossPoints {
    let steps = step_points(run, options, columns);
    let x_bounds = x_bounds_of(&[run], &[&steps], options);
    let train = epoch_points(run, options, |r| Some(r.train_loss), options.log_y, x_bounds, columns);
    let val = epoch_points(run, options, |r| r.val_loss, options.log_y, x_bounds, columns);
    let ys = steps.iter().chain(&train).chain(&val).map(|p| p.1);
    let y_bounds = nice_bounds(ys, options.log_y);
    LossPoints { steps, train, val, x_bounds, y_bounds }
}

/// What the chart shows beyond the default (full history, linear y): `recent, log y, smooth`.
/// The x axis says its own unit (`ep`, `steps`, `s`) under its last label.
pub(super) fn mode_text(options: ChartOptions, smooth: bool) -> String {
    let mut parts = Vec::new();
    if options.recent {
        parts.push("recent");
    }
    if options.log_y {
        parts.push("log y");
    }
    if smooth && options.smooth {
        parts.push("smooth");
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!(" {} ", parts.join(", "))
    }
}

/// Draw the loss chart of one run; returns its x range, which the metric chart below shares.
fn loss_chart(
    run: &RunView,
    options: ChartOptions,
    ascii: bool,
    focused: bool,
    area: Rect,
    frame: &mut Frame,
) -> [f64; 2] {
    let columns = area.width.saturating_sub(Y_LABEL_WIDTH).max(1) as usize;
    let pts = loss_points(run, options, columns);
    let marker = if ascii { Marker::Dot } else { Marker::Braille };
    let step_name = if options.smooth { "step (smooth)" } else { "step" };
    let switches = switch_lines(run, options.x_axis, pts.y_bounds);
    let mut datasets = vec![
        line(marker, theme::STEP, &pts.steps).name(step_name),
        line(marker, theme::TRAIN, &pts.train).name("train/epoch"),
        line(marker, theme::VAL, &pts.val).name("val"),
    ];
    datasets.extend(switches.iter().map(|(_, pts)| line(marker, SWITCH, pts)));
    // The legend lives in the title: it never covers the curves and always fits.
    let title = vec![
        Span::styled(" Loss ", theme::title(focused)),
        Span::styled(format!("\u{2500}{step_name} "), Style::new().fg(theme::STEP)),
        Span::styled("\u{2500}train ", Style::new().fg(theme::TRAIN)),
        Span::styled("\u{2500}val ", Style::new().fg(theme::VAL)),
        Span::styled(mode_text(options, false), theme::dim()),
    ];
    let mut title = title;
    title.extend(
        switches.iter().map(|(label, _)| Span::styled(format!("\u{2502}{label} "), Style::new().fg(SWITCH))),
    );
    let block = super::pane_frame(focused).title(Line::from(title));
    frame.render_widget(chart(datasets, block, pts.x_bounds, pts.y_bounds, options, area), area);
    pts.x_bounds
}

/// For two selected runs of one race (run.toml's `[race]`): each side's samples/s and ETA (from
/// its heartbeat) and the challenger's speed-up, e.g. ` race: cpu 1.2k/s ETA 0:40 · cuda:0 9.8k/s
/// ETA 0:05 · 8.17× `.
pub fn race_text(runs: &[&RunView]) -> Option<String> {
    let [a, b] = runs else { return None };
    let (ma, mb) = (a.meta.as_ref()?, b.meta.as_ref()?);
    let (ra, rb) = (ma.race.as_ref()?, mb.race.as_ref()?);
    if ra.id != rb.id {
        return None;
    }
    let (cpu, other) = if ra.side == crate::train::race::SIDE_CPU { (a, b) } else { (b, a) };
    let rate = |r: &RunView| {
        r.live.as_ref().and_then(|l| l.samples_per_s).or_else(|| {
            let e = &r.epochs;
            (!e.is_empty()).then(|| e.iter().map(|x| x.samples_per_s).sum::<f64>() / e.len() as f64)
        })
    };
    let side = |r: &RunView| {
        let name = r.meta.as_ref().map_or("?", |m| m.device.as_str()).to_string();
        let eta = match (r.is_active(), r.live.as_ref().and_then(|l| l.eta_s)) {
            (true, Some(s)) => format!(" ETA {}", crate::util::format_duration(s)),
            (true, None) => " ETA --".to_string(),
            (false, _) => String::new(),
        };
        format!("{name} {}/s{eta}", rate(r).map_or("--".into(), crate::util::format_rate))
    };
    let speed_up = match (rate(cpu), rate(other)) {
        (Some(c), Some(o)) if c > 0.0 => format!("{:.2}\u{d7}", o / c),
        _ => "--".to_string(),
    };
    Some(format!(" race: {} \u{b7} {} \u{b7} speed-up {speed_up} ", side(cpu), side(other)))
}

/// The colour of a device switch's marker.
const SWITCH: ratatui::style::Color = ratatui::style::Color::Yellow;

/// Each move of the run to another device (run.toml's `device_switches`): its label (`→cuda:0`)
/// and a vertical line across the chart where it happened.
fn switch_lines(run: &RunView, axis: XAxis, y: [f64; 2]) -> Vec<(String, [(f64, f64); 2])> {
    let Some(meta) = run.meta.as_ref() else { return Vec::new() };
    meta.device_switches
        .iter()
        .filter_map(|sw| {
            let x = match axis {
                XAxis::Wall => Some(sw.wall_s),
                _ => step_x(run, sw.step as f64 - 0.5, axis),
            }?;
            Some((format!("\u{2192}{}", sw.to), [(x, y[0]), (x, y[1])]))
        })
        .collect()
}

pub(super) fn chart<'a>(
    datasets: Vec<Dataset<'a>>,
    block: ratatui::widgets::Block<'a>,
    x_bounds: [f64; 2],
    y_bounds: [f64; 2],
    options: ChartOptions,
    area: Rect,
) -> Chart<'a> {
    Chart::new(datasets)
        .block(block)
        .legend_position(None)
        .x_axis(
            Axis::default().style(theme::dim()).bounds(x_bounds).labels(x_labels(x_bounds, options.x_axis)),
        )
        .y_axis(Axis::default().style(theme::dim()).bounds(y_bounds).labels(y_labels(
            y_bounds,
            options.log_y,
            area.height,
        )))
}

/// The selected runs overlaid: each run's step loss (its train loss per epoch when it has no
/// steps) in its own colour, a legend naming each run, and the validation metric below.
fn overlay(
    runs: &[&RunView],
    options: ChartOptions,
    ascii: bool,
    focused: bool,
    area: Rect,
    frame: &mut Frame,
) {
    let legend = legend_lines(runs, area.width.saturating_sub(2) as usize);
    let legend_height = (legend.len() as u16).min(3);
    let [loss_area, legend_area, metric_area] = Layout::vertical([
        Constraint::Percentage(62),
        Constraint::Length(legend_height),
        Constraint::Percentage(38),
    ])
    .areas(area);
    let columns = loss_area.width.saturating_sub(Y_LABEL_WIDTH).max(1) as usize;
    let steps: Vec<Vec<(f64, f64)>> = runs.iter().map(|r| step_points(r, options, columns)).collect();
    let step_refs: Vec<&[(f64, f64)]> = steps.iter().map(|s| s.as_slice()).collect();
    let x_bounds = x_bounds_of(runs, &step_refs, options);
    let curves: Vec<Vec<(f64, f64)>> = runs
        .iter()
        .zip(steps)
        .map(|(r, s)| {
            if s.is_empty() {
                epoch_points(r, options, |row| Some(row.train_loss), options.log_y, x_bounds, columns)
            } else {
                s
            }
        })
        .collect();
    let y_bounds = nice_bounds(curves.iter().flatten().map(|p| p.1), options.log_y);
    let marker = if ascii { Marker::Dot } else { Marker::Braille };
    let datasets: Vec<Dataset> =
        runs.iter().zip(&curves).map(|(r, pts)| line(marker, theme::color_of(r), pts)).collect();
    let mut title = vec![
        Span::styled(format!(" Loss: {} runs ", runs.len()), theme::title(focused)),
        Span::styled(mode_text(options, true), theme::dim()),
    ];
    if let Some(race) = race_text(runs) {
        title.push(Span::styled(race, Style::new().fg(SWITCH)));
    }
    let block = super::pane_frame(focused).title(Line::from(title));
    frame.render_widget(chart(datasets, block, x_bounds, y_bounds, options, loss_area), loss_area);
    let legend_area =
        Rect { x: legend_area.x + 1, width: legend_area.width.saturating_sub(2), ..legend_area };
    frame.render_widget(Paragraph::new(legend), legend_area);
    metric_chart(runs, x_bounds, options, ascii, focused, metric_area, frame);
}

/// Each run's name in a legend: what differs among the runs drawn (`lr=0.1 seed=2`), else its
/// id without the date.
pub fn legend_names(runs: &[&RunView]) -> Vec<String> {
    let metas: Vec<Option<&crate::runs::RunMeta>> = runs.iter().map(|r| r.meta.as_deref()).collect();
    crate::runs::labels::differing_labels(&metas)
        .unwrap_or_else(|| runs.iter().map(|r| super::runs::short_name(&r.key).to_string()).collect())
}

/// `■ name` for each run in its colour, as many to a line as fit.
pub fn legend_lines(runs: &[&RunView], width: usize) -> Vec<Line<'static>> {
    let mut lines: Vec<Line> = Vec::new();
    let mut current: Vec<Span> = Vec::new();
    let mut used = 0;
    for (run, name) in runs.iter().zip(legend_names(runs)) {
        let cost = name.chars().count() + 4;
        if used > 0 && used + cost > width {
            lines.push(Line::from(std::mem::take(&mut current)));
            used = 0;
        }
        current.push(Span::styled("\u{25a0} ", Style::new().fg(theme::color_of(run))));
        current.push(Span::raw(format!("{name}  ")));
        used += cost;
    }
    if !current.is_empty() {
        lines.push(Line::from(current));
    }
    lines
}

/// The validation metric of one run, or of each run in the overlay in its colour, over the same
/// x range as the loss chart above it.
fn metric_chart(
    runs: &[&RunView],
    x_bounds: [f64; 2],
    options: ChartOptions,
    ascii: bool,
    focused: bool,
    area: Rect,
    frame: &mut Frame,
) {
    let Some(first) = runs.first() else { return };
    let metric = first.metric();
    let log_y = options.log_y && metric == MetricKind::Mse;
    let columns = area.width.saturating_sub(Y_LABEL_WIDTH).max(1) as usize;
    let curves: Vec<Vec<(f64, f64)>> = runs
        .iter()
        .map(|r| epoch_points(r, options, |row| row.val_metric, log_y, x_bounds, columns))
        .collect();
    let y_bounds = match metric {
        MetricKind::Accuracy => [0.0, 1.0],
        MetricKind::Mse => nice_bounds(curves.iter().flatten().map(|p| p.1), log_y),
    };
    let marker = if ascii { Marker::Dot } else { Marker::Braille };
    let title = if runs.len() == 1 {
        let last = first.epochs.iter().rev().find_map(|r| r.val_metric).map(|v| format!(": {v:.4}"));
        format!("{}{}", capitalise(metric.label()), last.unwrap_or_default())
    } else {
        capitalise(metric.label())
    };
    let datasets: Vec<Dataset> = runs
        .iter()
        .zip(&curves)
        .map(|(r, pts)| {
            let color = if runs.len() == 1 { theme::METRIC } else { theme::color_of(r) };
            line(marker, color, pts)
        })
        .collect();
    let options = ChartOptions { log_y, ..options };
    frame
        .render_widget(chart(datasets, pane_block(&title, focused), x_bounds, y_bounds, options, area), area);
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}

pub(super) fn transform(y: f64, log_y: bool) -> f64 {
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
pub(super) fn line(marker: Marker, color: Color, points: &[(f64, f64)]) -> Dataset<'_> {
    Dataset::default().marker(marker).graph_type(GraphType::Line).style(Style::new().fg(color)).data(points)
}

pub(super) fn x_labels(b: [f64; 2], axis: XAxis) -> Vec<Span<'static>> {
    let mid = (b[0] + b[1]) / 2.0;
    let unit = match axis {
        XAxis::Epoch => "ep",
        XAxis::Step => "steps",
        XAxis::Wall => "s",
    };
    vec![Span::raw(short(b[0])), Span::raw(short(mid)), Span::raw(format!("{} {unit}", short(b[1])))]
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

pub use crate::app::compare::short;

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
