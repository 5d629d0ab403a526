//! The chart of the tags chosen in the picker (`t`): one curve per run and tag, against the
//! chosen x axis (steps; epochs where the logger records them, else steps; or seconds since the
//! run's first point), with smoothing, log scale and the recent window like the loss chart, and
//! a legend naming each curve. The workbench's own runs offer their series under the names
//! `workbench export` gives them (`step_loss`, `train_loss`, `val_loss`, `val_accuracy`).
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Dataset, Paragraph};
use ratatui::Frame;

use super::charts::{
    chart, epoch_points, line, mode_text, nice_bounds, step_points, transform, Y_LABEL_WIDTH,
};
use super::theme;
use crate::app::compare::XAxis;
use crate::app::run_view::RunView;
use crate::app::tags::TagSeries;
use crate::app::{App, ChartOptions};
use crate::runs::EpochRow;

/// One curve: whose, which tag, its points.
pub struct TagCurve {
    pub run: String,
    pub tag: String,
    pub points: Vec<(f64, f64)>,
}

/// Whether the charts draw chosen tags: some are chosen and a run in the charts has one.
pub fn draws(app: &App) -> bool {
    !app.chart_tags.is_empty()
        && app.chart_runs().iter().any(|r| r.tag_list().iter().any(|(t, _)| app.chart_tags.contains(t)))
}

/// Every (run, chosen tag) curve with points, for a chart `columns` wide. Pure, so it can be tested.
pub fn tag_curves(app: &App, options: ChartOptions, columns: usize) -> Vec<TagCurve> {
    let mut curves = Vec::new();
    for run in app.chart_runs() {
        let tags = run.tag_list();
        for tag in app.chart_tags.iter().filter(|t| tags.iter().any(|(have, _)| have == *t)) {
            let points = run_tag_points(run, tag, options, columns);
            curves.push(TagCurve { run: run.key.clone(), tag: tag.clone(), points });
        }
    }
    curves
}

/// One run's series `tag` as chart points.
pub(super) fn run_tag_points(
    run: &RunView,
    tag: &str,
    options: ChartOptions,
    columns: usize,
) -> Vec<(f64, f64)> {
    if let Some(series) = run.tags.get(tag) {
        return series_points(series, options, columns);
    }
    let all = [f64::MIN, f64::MAX];
    let get: fn(&EpochRow) -> Option<f64> = match tag {
        "step_loss" => return step_points(run, options, columns),
        "train_loss" => |r| Some(r.train_loss),
        "val_loss" => |r| r.val_loss,
        _ => |r| r.val_metric,
    };
    epoch_points(run, options, get, options.log_y, all, columns)
}

/// A tag's values (its min/max summary when more than fit) at their step, epoch or wall time.
fn series_points(series: &TagSeries, options: ChartOptions, columns: usize) -> Vec<(f64, f64)> {
    let values = if options.smooth { &series.smooth } else { &series.values };
    let len = values.len();
    let (start, end) = if options.recent { (len.saturating_sub(columns * 2), len) } else { (0, len) };
    let x_of = |i: f64| -> Option<f64> {
        let i = (i.round().max(0.0) as usize).min(len.checked_sub(1)?);
        let step = *series.steps.get(i)? as f64;
        match options.x_axis {
            XAxis::Step => Some(step),
            XAxis::Epoch => Some(series.epochs.get(i).copied().flatten().map_or(step, f64::from)),
            XAxis::Wall => series.wall.get(i).filter(|w| w.is_finite()).map(|w| *w as f64),
        }
    };
    values
        .envelope(start, end, columns)
        .into_iter()
        .filter_map(|(i, y)| Some((x_of(i)?, transform(y, options.log_y))))
        .filter(|p| p.1.is_finite())
        .collect()
}

pub fn render(app: &App, focused: bool, area: Rect, frame: &mut Frame) {
    let options = app.chart_options();
    let columns = area.width.saturating_sub(Y_LABEL_WIDTH).max(1) as usize;
    let curves = tag_curves(app, options, columns);
    let runs = app.chart_runs();
    // Over several runs, each curve is named by its run's legend name (what differs) and its tag.
    let run_names: Option<Vec<(String, String)>> = (runs.len() > 1).then(|| {
        let names = super::charts::legend_names(&runs);
        runs.iter().map(|r| r.key.clone()).zip(names).collect()
    });
    let legend = legend_lines(&curves, run_names.as_deref(), area.width.saturating_sub(2) as usize);
    let legend_height = (legend.len() as u16).min(3);
    let [chart_area, legend_area] =
        Layout::vertical([Constraint::Min(3), Constraint::Length(legend_height)]).areas(area);
    let xs = curves.iter().flat_map(|c| &c.points).map(|p| p.0);
    let (lo, hi) = xs.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| (lo.min(x), hi.max(x)));
    let x_bounds = match (lo.is_finite(), hi > lo) {
        (true, true) => [if options.recent { lo } else { lo.min(0.0) }, hi],
        (true, false) => [lo, lo + 1.0],
        _ => [0.0, 1.0],
    };
    let y_bounds = nice_bounds(curves.iter().flat_map(|c| &c.points).map(|p| p.1), options.log_y);
    let marker = if app.ascii { Marker::Dot } else { Marker::Braille };
    let datasets: Vec<Dataset> =
        curves.iter().enumerate().map(|(i, c)| line(marker, theme::run_color(i), &c.points)).collect();
    let title = vec![
        Span::styled(format!(" Tags: {} ", app.chart_tags.len()), theme::title(focused)),
        Span::styled(mode_text(options, true), theme::dim()),
        Span::styled("(t: tags) ", theme::dim()),
    ];
    let block = super::pane_frame(focused).title(Line::from(title));
    frame.render_widget(chart(datasets, block, x_bounds, y_bounds, options, chart_area), chart_area);
    let legend_area =
        Rect { x: legend_area.x + 1, width: legend_area.width.saturating_sub(2), ..legend_area };
    frame.render_widget(Paragraph::new(legend), legend_area);
}

/// `■ tag` (or `■ run tag` over several runs) for each curve in its colour, as many to a line as fit.
fn legend_lines(
    curves: &[TagCurve],
    run_names: Option<&[(String, String)]>,
    width: usize,
) -> Vec<Line<'static>> {
    let mut lines: Vec<Line> = Vec::new();
    let mut current: Vec<Span> = Vec::new();
    let mut used = 0;
    for (i, c) in curves.iter().enumerate() {
        let run_name = |key: &str| {
            let found = run_names?.iter().find(|(k, _)| k == key).map(|(_, n)| n.clone());
            Some(found.unwrap_or_else(|| super::runs::short_name(key).to_string()))
        };
        let name = match run_name(&c.run) {
            Some(run) => format!("{run} {}", c.tag),
            None => c.tag.clone(),
        };
        let cost = name.chars().count() + 4;
        if used > 0 && used + cost > width {
            lines.push(Line::from(std::mem::take(&mut current)));
            used = 0;
        }
        current.push(Span::styled("\u{25a0} ", Style::new().fg(theme::run_color(i))));
        current.push(Span::raw(format!("{name}  ")));
        used += cost;
    }
    if !current.is_empty() {
        lines.push(Line::from(current));
    }
    lines
}
