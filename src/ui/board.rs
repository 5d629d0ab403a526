//! The sweep board (`b`) and the list of sweeps: the seed-grouped table, a group's band chart
//! and the value chart. Reads app::board's table; changes nothing.
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Block, Cell, Chart, Clear, Dataset, GraphType, Paragraph, Row, Table};
use ratatui::Frame;

use super::charts::{nice_bounds, short};
use super::theme;
use crate::app::board::{self, Board, BoardRow, BoardTable, BoardView};
use crate::app::App;

/// The list of sweeps (`b` away from a sweep's run).
pub fn sweeps(app: &App, selected: usize, area: Rect, frame: &mut Frame) {
    let names = board::sweep_names(&app.runs);
    let rect = inset(area);
    frame.render_widget(Clear, rect);
    // Scroll so the highlighted sweep shows (two rows go to the keys).
    let room = usize::from(rect.height.saturating_sub(4)).max(1);
    let first = selected.saturating_sub(room - 1);
    let mut lines: Vec<Line> = names
        .iter()
        .enumerate()
        .skip(first)
        .take(room)
        .map(|(i, (name, runs))| {
            let style = if i == selected { theme::selected() } else { Style::new() };
            Line::styled(format!(" {name}  ({runs} runs)"), style)
        })
        .collect();
    lines.push(Line::from(""));
    lines.push(keys_line(&[("Enter", "its board"), ("↑↓", "choose"), ("Esc", "close")]));
    frame.render_widget(Paragraph::new(lines).block(block("Sweeps, newest first")), rect);
}

/// The board of `b.sweep`.
pub fn render(app: &App, b: &Board, area: Rect, frame: &mut Frame) {
    let rect = inset(area);
    frame.render_widget(Clear, rect);
    let table = b.current(&app.runs);
    let table = table.as_ref();
    let judged = &table.judged;
    let better = if judged.higher_is_better { "higher" } else { "lower" };
    let title = format!("Sweep {} · {} ({better} is better) · {}", b.sweep, judged.metric, table.counts);
    let outer = block(&title);
    let inner = outer.inner(rect);
    frame.render_widget(outer, rect);
    let [body, verdict, keys] =
        Layout::vertical([Constraint::Min(3), Constraint::Length(2), Constraint::Length(1)]).areas(inner);
    match b.view {
        BoardView::Table => draw_table(b, table, body, frame),
        BoardView::Band => draw_band(app, b, table, body, frame),
        BoardView::Values => draw_values(b, table, app.ascii, body, frame),
    }
    frame.render_widget(Paragraph::new(verdict_lines(table)), verdict);
    let line = if b.typing {
        Line::from(vec![
            Span::styled("filter: ", theme::key()),
            Span::raw(format!("{}▏", b.filter)),
            Span::styled("  Enter keep · Esc clear", theme::dim()),
        ])
    } else {
        match b.view {
            BoardView::Table => keys_line(&[
                ("Enter", "band"),
                ("v", "values"),
                ("o", "sort"),
                ("/", "filter"),
                ("R", "requeue failed"),
                ("e", "export"),
                ("Esc", "close"),
            ]),
            BoardView::Band => keys_line(&[("↑↓", "group"), ("e", "export"), ("Enter/Esc", "table")]),
            BoardView::Values => keys_line(&[("←→", "which value"), ("e", "export"), ("Esc", "table")]),
        }
    };
    frame.render_widget(Paragraph::new(line), keys);
}

/// The seed-grouped table: one row per group, the selected one highlighted.
fn draw_table(b: &Board, table: &BoardTable, area: Rect, frame: &mut Frame) {
    let mut header: Vec<String> = vec!["#".into()];
    header.extend(table.names.iter().cloned());
    header.extend(["n", "mean", "± std", "min", "max", "vs next", "state"].map(String::from));
    let selected = b.selected.min(table.rows.len().saturating_sub(1));
    // Scroll so the selected row shows.
    let visible = usize::from(area.height.saturating_sub(1)).max(1);
    let first = selected.saturating_sub(visible - 1);
    let rows: Vec<Row> = table
        .rows
        .iter()
        .enumerate()
        .skip(first)
        .take(visible)
        .map(|(i, r)| {
            let mut cells: Vec<Cell> = vec![Cell::from(r.rank.to_string())];
            cells.extend(
                table.names.iter().map(|n| Cell::from(r.group.values.get(n).cloned().unwrap_or_default())),
            );
            cells.extend(figures(r).into_iter().map(Cell::from));
            cells.push(Cell::from(overlap_text(r)));
            cells.push(Cell::from(Span::styled(r.state.clone(), state_style(&r.state))));
            let row = Row::new(cells);
            if i == selected {
                row.style(theme::selected())
            } else {
                row
            }
        })
        .collect();
    let mut widths: Vec<Constraint> = vec![Constraint::Length(3)];
    widths.extend(table.names.iter().map(|n| {
        let longest =
            table.rows.iter().filter_map(|r| r.group.values.get(n)).map(|v| v.chars().count()).max();
        Constraint::Length(longest.unwrap_or(0).max(n.chars().count()).min(16) as u16)
    }));
    widths.extend([2, 7, 7, 7, 7, 8].map(Constraint::Length));
    widths.push(Constraint::Min(8));
    let header = Row::new(header).style(Style::new().add_modifier(Modifier::BOLD));
    if table.rows.is_empty() {
        let why = if table.groups == 0 { "no runs of this sweep yet" } else { "no group matches the filter" };
        frame.render_widget(Paragraph::new(why).style(theme::dim()), area);
        return;
    }
    frame.render_widget(Table::new(rows, widths).header(header).column_spacing(1), area);
}

/// n, mean, std, min, max as shown.
fn figures(r: &BoardRow) -> [String; 5] {
    let g = &r.group;
    let show = |x: Option<f64>| x.map_or("-".to_string(), |v| format!("{v:.4}"));
    [g.n.to_string(), show(g.mean), show(g.std), show(g.min), show(g.max)]
}

/// Against the next-best group: whether their min-to-max ranges overlap (n >= 2 on both).
fn overlap_text(r: &BoardRow) -> &'static str {
    match r.group.overlaps_next {
        Some(true) => "overlaps",
        Some(false) => "apart",
        None => "",
    }
}

fn state_style(state: &str) -> Style {
    if state.contains("failed") || state.contains("out of memory") || state.contains("diverged") {
        theme::error()
    } else if state.contains("running") {
        Style::new().fg(theme::METRIC)
    } else if state.contains("queued") {
        theme::dim()
    } else {
        Style::new()
    }
}

/// Which group leads and by how much, with n and the spread on both sides: no claim without them.
fn verdict_lines(table: &BoardTable) -> Vec<Line<'static>> {
    let mut ranked: Vec<&BoardRow> = table.rows.iter().filter(|r| r.group.mean.is_some()).collect();
    ranked.sort_by_key(|r| r.rank);
    let describe = |r: &BoardRow| {
        let g = &r.group;
        let spread = match (g.std, g.min, g.max) {
            (Some(s), Some(lo), Some(hi)) => format!(" ± {s:.4} (n={}, {lo:.4} to {hi:.4})", g.n),
            _ => format!(" (n={})", g.n),
        };
        let label = if g.label().is_empty() { "every cell".to_string() } else { g.label() };
        format!("{label} {:.4}{spread}", g.mean.unwrap_or(f64::NAN))
    };
    match ranked.as_slice() {
        [] => vec![Line::styled(
            "no cell has a metric yet: the board fills in as runs finish epochs",
            theme::dim(),
        )],
        [best] => vec![Line::from(format!("best {}", describe(best)))],
        [best, next, ..] => {
            let tied = best.group.mean == next.group.mean;
            let verdict = match best.group.overlaps_next {
                _ if tied => "tied",
                Some(false) => "ranges apart",
                Some(true) => "ranges overlap",
                None => "n < 2: no ranges to compare",
            };
            vec![
                Line::from(format!("best {}", describe(best))),
                Line::from(format!("next {}: {verdict}", describe(next))),
            ]
        }
    }
}

/// The selected group's runs as one band: the mean line over the min-to-max shading.
fn draw_band(app: &App, b: &Board, table: &BoardTable, area: Rect, frame: &mut Frame) {
    let Some(row) = b.selected_row(table) else { return };
    let (band, x_name) = board::group_band(&app.runs, row, &table.judged);
    let label = if row.group.label().is_empty() { "every cell".into() } else { row.group.label() };
    let title = format!(
        " {label}: {} over {} seed(s), mean line, min to max shaded ",
        table.judged.metric,
        row.runs.len()
    );
    if band.is_empty() {
        let text = Paragraph::new("no epoch has a metric yet")
            .style(theme::dim())
            .block(Block::bordered().title(title));
        frame.render_widget(text, area);
        return;
    }
    let (x0, x1) = (band[0].x, band[band.len() - 1].x.max(band[0].x + 1.0));
    let y = nice_bounds(band.iter().flat_map(|p| [p.min, p.max]), false);
    // Shading: at each braille column, dots from the band's min to its max.
    let columns = usize::from(area.width.saturating_sub(super::charts::Y_LABEL_WIDTH)).max(1) * 2;
    let rows = usize::from(area.height.saturating_sub(3)).max(1) * 4;
    let dy = (y[1] - y[0]) / rows as f64;
    let mut fill: Vec<(f64, f64)> = Vec::new();
    for c in 0..=columns {
        let x = x0 + (x1 - x0) * c as f64 / columns as f64;
        let Some((lo, hi)) = crate::sweep::band::spread_at(&band, x) else { continue };
        let mut at = lo;
        while at <= hi {
            fill.push((x, at));
            at += dy;
        }
    }
    let mean: Vec<(f64, f64)> = band.iter().map(|p| (p.x, p.mean)).collect();
    let (r, g, bl) = board::row_colour(&app.runs, row);
    let colour = Color::Rgb(r, g, bl);
    let shade = {
        let (r, g, bl) = crate::runs::palette::family_colour(board::row_family(&app.runs, row), 5);
        Color::Rgb(r, g, bl)
    };
    let marker = if app.ascii { Marker::Dot } else { Marker::Braille };
    let datasets = vec![
        Dataset::default()
            .marker(marker)
            .graph_type(GraphType::Scatter)
            .style(Style::new().fg(shade))
            .data(&fill),
        Dataset::default()
            .marker(marker)
            .graph_type(GraphType::Line)
            .style(Style::new().fg(colour))
            .data(&mean),
    ];
    let chart = Chart::new(datasets)
        .block(Block::bordered().title(title))
        .x_axis(
            Axis::default()
                .bounds([x0, x1])
                .labels(vec![Span::raw(short(x0)), Span::raw(format!("{} {x_name}", short(x1)))]),
        )
        .y_axis(Axis::default().bounds(y).labels(vec![Span::raw(short(y[0])), Span::raw(short(y[1]))]));
    frame.render_widget(chart, area);
}

/// The best metric of each run against one varying value, the mean per value joined.
fn draw_values(b: &Board, table: &BoardTable, ascii: bool, area: Rect, frame: &mut Frame) {
    let Some(name) = table.names.get(b.axis % table.names.len().max(1)) else { return };
    let Some(points) = board::value_points(table, name) else {
        let text = format!("{name}'s values are not numbers: ←/→ picks another value");
        frame.render_widget(Paragraph::new(text).style(theme::dim()).block(Block::bordered()), area);
        return;
    };
    let to_x = |x: f64| if points.log_x { x.log10() } else { x };
    let runs: Vec<(f64, f64)> = points.runs.iter().map(|&(x, y)| (to_x(x), y)).collect();
    let means: Vec<(f64, f64)> = points.means.iter().map(|&(x, y)| (to_x(x), y)).collect();
    let scale = if points.log_x { ", log x" } else { "" };
    let title = format!(
        " best {} against {name}{scale}: one dot per run, the mean per value joined ",
        table.judged.metric
    );
    if runs.is_empty() {
        let text = Paragraph::new("no run has a metric yet")
            .style(theme::dim())
            .block(Block::bordered().title(title));
        frame.render_widget(text, area);
        return;
    }
    let (lo, hi) = runs.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), p| (l.min(p.0), h.max(p.0)));
    let pad = ((hi - lo) * 0.05).max(if points.log_x { 0.1 } else { hi.abs().max(1e-9) * 0.05 });
    let x = [lo - pad, hi + pad];
    let y = nice_bounds(runs.iter().map(|p| p.1), false);
    let marker = if ascii { Marker::Dot } else { Marker::Braille };
    let datasets = vec![
        // The mean line first, so the runs' dots are drawn over it.
        Dataset::default()
            .marker(marker)
            .graph_type(GraphType::Line)
            .style(Style::new().fg(theme::METRIC))
            .data(&means),
        Dataset::default()
            .marker(Marker::Dot)
            .graph_type(GraphType::Scatter)
            .style(Style::new().fg(theme::VAL))
            .data(&runs),
    ];
    let shown = |v: f64| if points.log_x { short(10f64.powf(v)) } else { short(v) };
    let chart = Chart::new(datasets)
        .block(Block::bordered().title(title))
        .x_axis(
            Axis::default()
                .bounds(x)
                .labels(vec![Span::raw(shown(lo)), Span::raw(format!("{} {name}", shown(hi)))]),
        )
        .y_axis(Axis::default().bounds(y).labels(vec![Span::raw(short(y[0])), Span::raw(short(y[1]))]));
    frame.render_widget(chart, area);
}

fn keys_line(keys: &[(&str, &str)]) -> Line<'static> {
    let mut spans = Vec::new();
    for (i, (key, what)) in keys.iter().enumerate() {
        if i > 0 {
            spans.push(Span::styled(" · ", theme::dim()));
        }
        spans.push(Span::styled(key.to_string(), theme::key()));
        spans.push(Span::raw(format!(" {what}")));
    }
    Line::from(spans)
}

fn block(title: &str) -> Block<'static> {
    Block::bordered()
        .border_style(Style::new().fg(theme::ACCENT))
        .title(Span::styled(format!(" {title} "), theme::title(true)))
}

/// The board covers the screen but the header and the footer.
fn inset(area: Rect) -> Rect {
    Rect { y: area.y + 1, height: area.height.saturating_sub(2), ..area }
}
