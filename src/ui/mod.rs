//! Drawing. Every function here takes the state by shared reference and draws into a frame; none
//! changes anything. One file per view.
mod board;
mod charts;
mod datasets;
mod devices;
mod form;
mod log;
mod popups;
mod preview;
mod progress;
pub mod runs;
mod sparklines;
pub mod submit;
mod tag_chart;
mod tag_picker;
mod theme;

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};
use ratatui::Frame;

use crate::app::{App, Pane, Popup};

/// The smallest terminal the layout is designed for.
pub const MIN_WIDTH: u16 = 80;
pub const MIN_HEIGHT: u16 = 24;

/// Draw the whole screen.
pub fn render(app: &App, frame: &mut Frame) {
    let area = frame.area();
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        too_small(area, frame);
    } else {
        main_screen(app, area, frame);
        match &app.popup {
            Some(Popup::Help) => popups::help(app.help_scroll, area, frame),
            Some(Popup::Runtime { selected }) => popups::runtime(app, *selected, area, frame),
            Some(Popup::ModelPicker { selected }) => popups::model_picker(app, *selected, area, frame),
            Some(Popup::ConfirmQuit { active }) => popups::confirm_quit(*active, area, frame),
            Some(Popup::Details { title, text }) => popups::details(title, text, area, frame),
            Some(Popup::ConfirmSwitch { device }) => popups::confirm_switch(app, *device, area, frame),
            Some(Popup::Tags(picker)) => tag_picker::render(app, picker, area, frame),
            Some(Popup::Submit(form)) => submit::render(form, area, frame),
            Some(Popup::ConfirmFit { warning, .. }) => popups::confirm_fit(warning, area, frame),
            Some(Popup::ConfirmSweep(ask)) => popups::confirm_sweep(ask, area, frame),
            Some(Popup::Sweeps { selected }) => board::sweeps(app, *selected, area, frame),
            Some(Popup::Board(b)) => board::render(app, b, area, frame),
            None => {}
        }
    }
    // The one door for text from files on its way to the screen: whatever any view drew.
    clean_cells(frame);
    if app.ascii {
        to_ascii(frame);
    }
}

/// Replace every cell whose symbol holds a control character or a bidirectional override
/// ([`crate::text`]) by U+FFFD, so nothing read from a run folder, dataset or event file can
/// move the cursor, retitle the terminal or reorder what is shown. (ratatui already drops most
/// C0 controls from spans; this catches the rest and any widget that sets symbols itself.)
fn clean_cells(frame: &mut Frame) {
    for cell in frame.buffer_mut().content.iter_mut() {
        if crate::text::has_controls(cell.symbol()) {
            cell.set_symbol("\u{fffd}");
        }
    }
}

fn main_screen(app: &App, area: Rect, frame: &mut Frame) {
    let log_height = if area.height >= 40 { 8 } else { 5 };
    let [header, body, log_area, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(10),
        Constraint::Length(log_height),
        Constraint::Length(1),
    ])
    .areas(area);
    header_line(app, header, frame);
    if app.focus == Pane::Runs {
        // The runs view takes the whole width: the list needs it to be read at 80 columns.
        runs::render(app, body, frame);
    } else {
        left_and_right(app, body, frame);
    }
    log::render(app, log_area, frame);
    footer_line(app, footer, frame);
}

/// The datasets, model and devices on the left; the preview or the charts on the right.
fn left_and_right(app: &App, body: Rect, frame: &mut Frame) {
    let left_width = (body.width / 3).clamp(36, 48);
    let [left, right] = Layout::horizontal([Constraint::Length(left_width), Constraint::Min(30)]).areas(body);
    let datasets_height = (body.height / 3).max(5);
    let devices_height = if body.height >= 24 { 7 } else { 5 };
    let [datasets, model, devices_area] = Layout::vertical([
        Constraint::Length(datasets_height),
        Constraint::Min(6),
        Constraint::Length(devices_height),
    ])
    .areas(left);
    datasets::render(app, datasets, frame);
    form::render(app, model, frame);
    devices::render(app, devices_area, frame);
    // The preview takes the right side while the datasets pane has the focus (or while no run is
    // focused or selected), so the user sees what will be trained on before pressing s.
    let has_run = app.focused_run().is_some() || !app.runs.selected.is_empty();
    if app.focus == Pane::Datasets || !has_run {
        preview::render(app, right, frame);
    } else if app.runs.selected.len() >= 2 {
        // The overlay needs the height; each run's progress is in the runs pane.
        charts::render(app, right, frame);
    } else {
        let [charts_area, progress_area] =
            Layout::vertical([Constraint::Min(8), Constraint::Length(5)]).areas(right);
        charts::render(app, charts_area, frame);
        if app.focused_run().is_some() {
            progress::render(app, progress_area, frame);
        } else {
            let text = "no run focused: pick one in the runs pane";
            frame.render_widget(Paragraph::new(text).block(pane_block("Run", false)), progress_area);
        }
    }
}

/// The title bar: the current choices, the focused run's state, and how many runs the runs folder
/// holds and how many are going, with the key that opens them. When that is wider than the
/// terminal, the labels (`dataset`, `model`, `runtime`) go first, so the values and the runs stay.
fn header_line(app: &App, area: Rect, frame: &mut Frame) {
    let mut line = Line::from(header_spans(app, true));
    if line.width() > area.width as usize {
        line = Line::from(header_spans(app, false));
    }
    frame.render_widget(Paragraph::new(line), area);
}

fn header_spans(app: &App, labels: bool) -> Vec<Span<'static>> {
    let dataset = app.selected_entry().map(|e| e.name.clone()).unwrap_or_else(|| "-".into());
    let loading = |r: &crate::app::run_view::RunView| {
        r.is_active() && r.live.as_ref().is_some_and(|l| matches!(l.phase.as_str(), "reading" | "decoding"))
    };
    let state = match app.focused_run() {
        Some(run) if loading(run) => "loading data".to_string(),
        Some(run) => run.status_label().to_string(),
        None => "idle".into(),
    };
    let total = app.runs.order.len();
    let running = app.runs.active().len();
    let sep = Span::styled(" | ", theme::dim());
    let bold = Style::new().add_modifier(Modifier::BOLD);
    let label = |text: &'static str| Span::raw(if labels { text } else { "" });
    let mut spans = vec![
        Span::styled(" workbench", bold.fg(theme::ACCENT)),
        sep.clone(),
        label("dataset "),
        Span::styled(dataset, bold),
        sep.clone(),
        label("model "),
        Span::styled(app.form.current_pick().name().to_string(), bold),
        sep.clone(),
        label("runtime "),
        Span::styled(app.runtime_label(), bold),
        sep.clone(),
        Span::styled(state, bold),
    ];
    if total > 0 {
        spans.push(sep.clone());
        spans.push(Span::raw(if total == 1 { "1 run".to_string() } else { format!("{total} runs") }));
        if running > 0 {
            spans.push(Span::raw(", "));
            spans.push(Span::styled(format!("{running} going"), Style::new().fg(theme::ACCENT)));
        }
        if let Some(queue) = app.queue.as_ref().filter(|q| q.waiting > 0) {
            spans.push(Span::raw(", "));
            spans.push(Span::styled(format!("queued {}", queue.waiting), Style::new().fg(theme::WARN)));
        }
        if app.focus != Pane::Runs {
            spans.push(Span::styled(" (o)", theme::key()));
        }
    }
    if app.config_error.is_some() {
        spans.push(sep);
        spans.push(Span::styled("config error (see log)", theme::error()));
    }
    spans
}

fn footer_line(app: &App, area: Rect, frame: &mut Frame) {
    let line = match &app.notice {
        Some(n) => {
            let style = if n.is_error { theme::error() } else { Style::new() };
            Line::from(Span::styled(format!(" {}", n.text), style))
        }
        None => {
            let hints: &[(&str, &str)] = if app.form.editing.is_some() {
                &[("Enter", "keep"), ("Esc", "cancel")]
            } else if app.filter_input.is_some() {
                &[("Enter", "keep filter"), ("Esc", "clear filter")]
            } else if app.focus == Pane::Runs {
                &[
                    ("Space", "select"),
                    ("/", "filter"),
                    ("x", "stop"),
                    ("p", "pause"),
                    ("R", "resume"),
                    ("e", "export"),
                    ("Enter", "details"),
                    ("Tab", "pane"),
                    ("?", "help"),
                    ("q", "quit"),
                ]
            } else {
                &[
                    ("s", "start"),
                    ("x", "stop"),
                    ("p", "pause"),
                    ("r", "runtime"),
                    ("Tab", "pane"),
                    ("a", "x axis"),
                    ("l", "log y"),
                    ("m", "smooth"),
                    ("?", "help"),
                    ("q", "quit"),
                ]
            };
            Line::from(hint_spans(hints, area.width as usize))
        }
    };
    frame.render_widget(Paragraph::new(line), area);
}

/// `key what` pairs that fit in `width`. The last two (help and quit) always stay; the others are
/// dropped from the end of the list first, so a narrow terminal never shows a cut-off word.
fn hint_spans(hints: &[(&str, &str)], width: usize) -> Vec<Span<'static>> {
    let cost = |(k, what): &(&str, &str)| k.chars().count() + 1 + what.chars().count() + 2;
    let kept_last = hints.len().saturating_sub(2);
    let mut budget = width.saturating_sub(1 + hints[kept_last..].iter().map(cost).sum::<usize>());
    let mut shown: Vec<&(&str, &str)> = Vec::new();
    for hint in &hints[..kept_last] {
        if cost(hint) > budget {
            break;
        }
        budget -= cost(hint);
        shown.push(hint);
    }
    shown.extend(&hints[kept_last..]);
    let mut spans = vec![Span::raw(" ")];
    for (k, what) in shown {
        spans.push(Span::styled(k.to_string(), theme::key()));
        spans.push(Span::raw(format!(" {what}  ")));
    }
    spans
}

fn too_small(area: Rect, frame: &mut Frame) {
    let text = format!(
        "The terminal is {}x{}; the workbench needs at least {MIN_WIDTH}x{MIN_HEIGHT}. Enlarge it, or press q to quit.",
        area.width, area.height
    );
    frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }).block(Block::new()), area);
}

/// Cut `text` into rows of at most `width` characters, at spaces where it can.
pub(crate) fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut rows = Vec::new();
    for paragraph in text.split('\n') {
        let mut rest: Vec<char> = paragraph.chars().collect();
        while rest.len() > width {
            let cut = rest[..=width].iter().rposition(|c| *c == ' ').filter(|&i| i > 0).unwrap_or(width);
            rows.push(rest[..cut].iter().collect());
            let skip = usize::from(rest.get(cut) == Some(&' '));
            rest.drain(..cut + skip);
        }
        rows.push(rest.into_iter().collect());
    }
    rows
}

/// `text` wrapped to `width` in at most `rows` lines. When it doesn't fit, the last line says
/// where the whole text is (Enter opens it), so advice at the end of a long reason is never
/// silently lost.
pub(crate) fn fitted_lines(text: &str, width: usize, rows: usize, style: Style) -> Vec<Line<'static>> {
    let wrapped = wrap(text, width);
    if wrapped.len() <= rows {
        return wrapped.into_iter().map(|l| Line::from(Span::styled(l, style))).collect();
    }
    let mut lines: Vec<Line> = wrapped
        .into_iter()
        .take(rows.saturating_sub(1))
        .map(|l| Line::from(Span::styled(l, style)))
        .collect();
    if rows > 0 {
        lines.push(Line::from(vec![
            Span::styled("\u{2026} ", style),
            Span::styled("Enter", theme::key()),
            Span::styled(": the whole text", theme::dim()),
        ]));
    }
    lines
}

/// A bordered block whose colour says whether it has the focus.
pub(crate) fn pane_block(title: &str, focused: bool) -> Block<'static> {
    pane_frame(focused).title(Span::styled(format!(" {title} "), theme::title(focused)))
}

/// The same border, for a pane that writes its own title.
pub(crate) fn pane_frame(focused: bool) -> Block<'static> {
    Block::bordered().border_style(theme::border(focused))
}

/// Replace every non-ASCII symbol with an ASCII look-alike: for terminals and fonts that can't
/// show box drawing, braille or block characters (`--ascii`, or a locale that is not UTF-8).
fn to_ascii(frame: &mut Frame) {
    let buf = frame.buffer_mut();
    for cell in buf.content.iter_mut() {
        let sym = cell.symbol();
        if sym.is_ascii() {
            continue;
        }
        let replacement = ascii_for(sym);
        cell.set_symbol(replacement);
    }
}

fn ascii_for(symbol: &str) -> &'static str {
    let Some(c) = symbol.chars().next() else { return " " };
    match c {
        '─' | '━' | '═' | '╌' => "-",
        '│' | '┃' | '║' | '╎' => "|",
        '┌' | '┐' | '└' | '┘' | '├' | '┤' | '┬' | '┴' | '┼' | '╭' | '╮' | '╰' | '╯' => {
            "+"
        }
        '█' | '▉' | '▊' | '▋' | '▌' | '▀' | '▄' => "#",
        '▍' | '▎' | '▏' => "|",
        '•' | '·' => "*",
        '■' => "#",
        '…' => ".",
        '→' => ">",
        '✗' => "x",
        '✓' => "v",
        '\u{2800}' => " ",
        '\u{2801}'..='\u{28FF}' => ".",
        '░' | '▒' | '▓' => ":",
        _ => "?",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn footer_hints_fit_and_keep_help_and_quit() {
        let hints = [("s", "start"), ("x", "stop"), ("m", "smooth"), ("?", "help"), ("q", "quit")];
        let text = |width: usize| -> String {
            hint_spans(&hints, width)
                .iter()
                .map(|s| s.content.to_string())
                .collect::<String>()
                .trim_end()
                .to_string()
        };
        assert_eq!(text(200), " s start  x stop  m smooth  ? help  q quit");
        let narrow = text(30);
        assert!(narrow.chars().count() <= 30, "{narrow:?}");
        assert_eq!(narrow, " s start  ? help  q quit");
    }

    #[test]
    fn ascii_replacements_cover_what_the_widgets_draw() {
        for s in ["─", "│", "┌", "╯", "█", "▏", "•", "⣿", "…"] {
            assert!(ascii_for(s).is_ascii() && ascii_for(s) != "?", "{s}");
        }
    }
}
