//! The runs view: every run folder, newest first, with its status, data, model, device, best
//! validation metric, epochs and duration; below it the diff table of the selected runs, or the
//! focused run's progress. Each run is drawn in its own colour (its swatch here, its curve in the
//! overlay, its column in the diff table).
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table, TableState};
use ratatui::Frame;

use super::{pane_block, theme};
use crate::app::compare::{diff_rows, short};
use crate::app::run_view::RunView;
use crate::app::{App, Pane};
use crate::runs::RunStatus;
use crate::util::format_duration;

/// The runs table at the top, the diff table (two runs or more selected) or the focused run's
/// progress below.
pub fn render(app: &App, area: Rect, frame: &mut Frame) {
    let selected = app.runs.selected_runs();
    let bottom_height = if selected.len() >= 2 {
        let rows = diff_rows(&selected).len() as u16 + 3;
        rows.min(area.height * 3 / 5)
    } else if app.focused_run().is_some() {
        (area.height / 3).clamp(5, 7)
    } else {
        0
    };
    let [table_area, bottom] =
        Layout::vertical([Constraint::Min(4), Constraint::Length(bottom_height)]).areas(area);
    runs_table(app, table_area, frame);
    if selected.len() >= 2 {
        diff_table(&selected, bottom, frame);
    } else if bottom.height > 0 {
        super::progress::render(app, bottom, frame);
    }
}

/// A run's name without the date its folder name begins with (`20261126-`): shorter, and the
/// time, dataset, model and device that tell runs apart stay.
pub fn short_name(key: &str) -> &str {
    let bytes = key.as_bytes();
    if key.len() > 9 && bytes[..8].iter().all(u8::is_ascii_digit) && bytes[8] == b'-' {
        &key[9..]
    } else {
        key
    }
}

/// A run's name for the runs list: the id with its date and time made readable and the year
/// dropped (`20261126-120000-iris-mlp-cpu` is `11-26 12:00:00 iris-mlp-cpu`), so runs of two
/// days tell apart; any other name as it is.
pub fn list_name(key: &str) -> String {
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let (Some(date), Some(rest)) = (key.get(..8), key.get(9..)) else {
        return key.to_string();
    };
    if !digits(date) || key.as_bytes()[8] != b'-' || rest.is_empty() {
        return key.to_string();
    }
    let day = format!("{}-{}", &date[4..6], &date[6..8]);
    match (rest.get(..6), rest.get(7..)) {
        (Some(time), Some(name)) if digits(time) && rest.as_bytes()[6] == b'-' && !name.is_empty() => {
            format!("{day} {}:{}:{} {name}", &time[..2], &time[2..4], &time[4..])
        }
        _ => format!("{day} {rest}"),
    }
}

/// `running`, `failed: diverged`, `problem`.
pub fn status_text(run: &RunView) -> String {
    match run.reason_kind() {
        Some(kind) => format!("failed: {kind}"),
        None => run.status_label().to_string(),
    }
}

fn status_style(run: &RunView) -> Style {
    match (run.problem.is_some(), run.status) {
        (true, _) | (_, Some(RunStatus::Failed)) => theme::error(),
        (_, Some(RunStatus::Running)) => Style::new().fg(theme::ACCENT),
        (_, Some(RunStatus::Paused | RunStatus::Queued)) => Style::new().fg(theme::WARN),
        (_, Some(RunStatus::Interrupted | RunStatus::Stopped)) => Style::new().fg(theme::WARN),
        _ => Style::new(),
    }
}

fn title(app: &App) -> Line<'static> {
    let focused = app.focus == Pane::Runs;
    let total = app.runs.order.len();
    let mut spans = vec![Span::styled(format!(" Runs ({total}) "), theme::title(focused))];
    match (&app.filter_input, &app.runs.filter) {
        (Some(text), _) => {
            spans.push(Span::styled(format!("/{text}\u{258f} "), theme::key()));
            spans.push(Span::styled("Enter keep, Esc clear ", theme::dim()));
        }
        (None, Some(filter)) => {
            let kind = if filter.is_regex() { "regex" } else { "text" };
            spans.push(Span::styled(format!("filter {kind} /{}/ ", filter.text), theme::key()));
        }
        (None, None) => {}
    }
    if !app.runs.selected.is_empty() {
        spans.push(Span::styled(format!("{} selected ", app.runs.selected.len()), theme::dim()));
    }
    if let Some(queue) = app.queue.as_ref().filter(|q| q.waiting > 0) {
        spans.push(Span::styled(format!("queued {} ", queue.waiting), Style::new().fg(theme::WARN)));
    }
    Line::from(spans)
}

/// The columns after the marks: (title, width). A problem folder's problem spans all but the
/// status column.
const COLUMNS: [(&str, usize); 7] =
    [("status", 16), ("dataset", 12), ("model", 10), ("device", 7), ("best", 7), ("epochs", 7), ("time", 8)];

/// `text` cut to `width` characters (the last one `…` when cut), padded with spaces.
fn fit(text: &str, width: usize) -> String {
    let count = text.chars().count();
    if count <= width {
        format!("{text:<width$}")
    } else {
        let kept: String = text.chars().take(width.saturating_sub(1)).collect();
        format!("{kept}\u{2026}")
    }
}

fn runs_table(app: &App, area: Rect, frame: &mut Frame) {
    let focused = app.focus == Pane::Runs;
    let block = super::pane_frame(focused).title(title(app));
    let visible = app.runs.visible();
    if visible.is_empty() {
        let text = if app.runs.order.is_empty() {
            format!("no runs yet in {}; press s to start one", app.settings.runs_dir.display())
        } else {
            "no run matches the filter; Esc clears it".to_string()
        };
        let p = Paragraph::new(text).wrap(ratatui::widgets::Wrap { trim: true }).block(block);
        frame.render_widget(p, area);
        return;
    }
    // The run's name takes what is left once the other columns fit, when that is enough to read.
    let fixed: usize = 3 + COLUMNS.iter().map(|(_, w)| w + 1).sum::<usize>();
    let name_width = (area.width as usize).saturating_sub(2 + fixed);
    let name_width = if name_width >= 16 { Some(name_width) } else { None };
    let mut header = String::from("   ");
    for (title, width) in COLUMNS {
        header.push_str(&fit(title, width));
        header.push(' ');
    }
    if name_width.is_some() {
        header.push_str("run");
    }
    // Only the rows on screen are laid out (a runs folder may hold thousands): the window
    // scrolls to keep the focused run in view.
    let height = area.height.saturating_sub(3).max(1) as usize;
    let focused_row = app.runs.focused.as_ref().and_then(|f| visible.iter().position(|r| &r.key == f));
    let offset = focused_row.map_or(0, |i| (i + 1).saturating_sub(height));
    let rows: Vec<Row> = visible[offset..(offset + height).min(visible.len())]
        .iter()
        .map(|run| Row::new([Cell::from(run_line(app, run, name_width))]))
        .collect();
    let mut state = TableState::default().with_selected(focused_row.map(|i| i - offset));
    let table = Table::new(rows, [Constraint::Fill(1)])
        .header(Row::new([Cell::from(header)]).style(theme::dim().add_modifier(Modifier::BOLD)))
        .block(block)
        .row_highlight_style(theme::selected());
    frame.render_stateful_widget(table, area, &mut state);
}

/// One run as a row: selection mark, colour swatch, then the columns, laid out here so that a
/// problem folder's problem can span the columns it has no values for.
fn run_line(app: &App, run: &RunView, name_width: Option<usize>) -> Line<'static> {
    let selected = app.runs.is_selected(&run.key);
    let mut spans = vec![
        Span::styled(if selected { "*" } else { " " }, theme::key()),
        Span::styled("\u{25a0} ", Style::new().fg(theme::color_of(run))),
        Span::styled(format!("{} ", fit(&status_text(run), COLUMNS[0].1)), status_style(run)),
    ];
    if let Some(sweep) = app.runs.folded_sweep(run) {
        // A folded sweep: one row with its runs' states (g unfolds it).
        let members = crate::app::board::sweep_runs(&app.runs, sweep);
        let mut counts: Vec<(&str, usize)> = Vec::new();
        for m in &members {
            match counts.iter_mut().find(|(s, _)| *s == m.status_label()) {
                Some(slot) => slot.1 += 1,
                None => counts.push((m.status_label(), 1)),
            }
        }
        let states: Vec<String> = counts.iter().map(|(s, n)| format!("{s} {n}")).collect();
        let span: usize = COLUMNS[1..].iter().map(|(_, w)| w + 1).sum();
        let text = format!("\u{25b8} sweep {sweep}: {} runs ({})", members.len(), states.join(", "));
        spans.push(Span::styled(format!("{} ", fit(&text, span - 1)), theme::key()));
    } else if let Some(problem) = &run.problem {
        // Enter on it shows the problem whole.
        let span: usize = COLUMNS[1..].iter().map(|(_, w)| w + 1).sum();
        let text = problem.replace('\n', " ");
        spans.push(Span::styled(format!("{} ", fit(&text, span - 1)), theme::error()));
    } else {
        let best = run.best_metric().map(short).unwrap_or_else(|| "-".into());
        let epochs = if run.meta.is_some() && !run.is_command() {
            format!("{}/{}", run.epochs_done(), run.epochs_total())
        } else {
            "-".into()
        };
        let time = if run.epochs.is_empty() && run.step_wall.is_empty() {
            "-".into()
        } else {
            format_duration(run.elapsed_s())
        };
        let dataset = if run.external.is_some() && run.meta.is_none() { "-" } else { run.dataset() };
        let values = [dataset, run.model(), run.device(), &best, &epochs, &time];
        let mut text = String::new();
        let mut columns = &COLUMNS[1..];
        let mut values = &values[..];
        if let Some(command) = run.meta.as_ref().and_then(|m| m.command.as_ref()) {
            // A command run shows its command, shortened, over the dataset and model columns.
            text.push_str(&fit(&format!("$ {}", command.command_line()), COLUMNS[1].1 + 1 + COLUMNS[2].1));
            text.push(' ');
            (columns, values) = (&COLUMNS[3..], &values[2..]);
        }
        for (value, (_, width)) in values.iter().zip(columns) {
            text.push_str(&fit(value, *width));
            text.push(' ');
        }
        spans.push(Span::raw(text));
    }
    if let Some(width) = name_width {
        // A cluster run names its job first: `slurm 1234 11-28 12:00:00 iris-mlp-slurm`.
        let name = match app.cluster_jobs.get(&run.key) {
            Some(job) => format!("{} {} {}", job.scheduler.as_str(), job.job_id, list_name(&run.key)),
            None => list_name(&run.key),
        };
        spans.push(Span::styled(fit(&name, width), theme::dim()));
    }
    Line::from(spans)
}

/// What differs between the selected runs, one column per run in its colour, with each run's
/// final and best metrics.
fn diff_table(runs: &[&RunView], area: Rect, frame: &mut Frame) {
    let rows = diff_rows(runs);
    let label_width = rows.iter().map(|r| r.name.chars().count()).max().unwrap_or(8) as u16 + 1;
    let inner = area.width.saturating_sub(2 + label_width);
    let column = (inner / runs.len().max(1) as u16).clamp(8, 24);
    let mut widths = vec![Constraint::Length(label_width)];
    widths.extend(runs.iter().map(|_| Constraint::Length(column)));
    let header: Vec<Cell> = std::iter::once(Cell::from(""))
        .chain(runs.iter().map(|r| {
            let name: String = short_name(&r.key).chars().take(column.saturating_sub(2) as usize).collect();
            let color = Style::new().fg(theme::color_of(r));
            Cell::from(Line::from(vec![
                Span::styled("\u{25a0} ", color),
                Span::styled(name, color.add_modifier(Modifier::BOLD)),
            ]))
        }))
        .collect();
    let body: Vec<Row> = rows
        .iter()
        .map(|row| {
            let style = if row.metric { Style::new().add_modifier(Modifier::BOLD) } else { Style::new() };
            let cells = std::iter::once(Cell::from(Span::styled(row.name.clone(), theme::dim())))
                .chain(row.values.iter().map(|v| Cell::from(Span::styled(v.clone(), style))));
            Row::new(cells.collect::<Vec<_>>())
        })
        .collect();
    let differing = rows.iter().filter(|r| !r.metric).count();
    let title = match differing {
        0 => " Compare: same hyperparameters ".to_string(),
        n => format!(" Compare: {n} hyperparameter(s) differ "),
    };
    let table =
        Table::new(body, widths).header(Row::new(header)).column_spacing(1).block(pane_block_line(title));
    frame.render_widget(table, area);
}

fn pane_block_line(title: String) -> ratatui::widgets::Block<'static> {
    let title = title.trim().to_string();
    pane_block(&title, false)
}

#[cfg(test)]
mod tests {
    use super::{list_name, short_name};

    #[test]
    fn names_lose_their_date() {
        assert_eq!(short_name("20261126-120000-iris-mlp-cpu"), "120000-iris-mlp-cpu");
        assert_eq!(short_name("my-run"), "my-run");
        assert_eq!(short_name("20261126-"), "20261126-");
    }

    #[test]
    fn the_list_keeps_the_day_so_two_days_tell_apart() {
        assert_eq!(list_name("20261126-120000-iris-mlp-cpu"), "11-26 12:00:00 iris-mlp-cpu");
        assert_ne!(list_name("20261126-120000-iris-mlp-cpu"), list_name("20261127-120000-iris-mlp-cpu"));
        assert_eq!(list_name("20261126-half-written"), "11-26 half-written");
        assert_eq!(list_name("20261126-123456"), "11-26 123456");
        for other in ["my-run", "20261126-", "2026112x-120000-a", "short", "20261126é-x"] {
            assert_eq!(list_name(other), other);
        }
    }
}
