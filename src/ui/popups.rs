//! Overlays: help, the runtime menu, the model picker, and the two confirmations.
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};
use ratatui::Frame;

use super::theme;
use crate::app::form::Pick;
use crate::app::App;
use crate::device::DeviceChoice;
use crate::train::ModelChoice;

/// Every key, as the help overlay lists it.
pub const KEYS: &[(&str, &str)] = &[
    ("arrows, j/k", "move"),
    ("Tab / Shift-Tab", "change pane"),
    ("o", "open the runs pane (the title bar counts the runs)"),
    ("Enter", "choose, edit; in Runs and Devices: whole text"),
    ("Esc", "close a popup, cancel an edit"),
    ("r", "runtime menu (CPU / GPU)"),
    ("s", "start a run; with a list in a field (0.1, 0.01): queue a sweep"),
    ("Q", "queue the run: it starts when a device is free"),
    ("S", "submit to a cluster: Slurm or HTCondor"),
    ("c", "race: the same run on the CPU and the GPU"),
    ("x", "stop the selected (or the focused) runs"),
    ("p", "pause / resume the selected (or focused) runs"),
    ("R", "resume a stopped, interrupted or failed run"),
    ("Space", "select the focused run: overlay, diff, export"),
    ("/", "filter the runs (text, or a regex)"),
    ("e", "export the selected runs to CSV and SVG"),
    ("a", "x axis: epoch, step, wall time"),
    ("l", "log scale on the y axis"),
    ("m", "smoothing of the step loss"),
    ("w", "full history / recent steps at full resolution"),
    ("t", "pick the series (tags) to draw; / filters"),
    ("b", "sweep board: groups over seeds, band chart (Enter), values (v)"),
    ("g", "in Runs: fold a sweep's runs into one row, or unfold"),
    ("?", "this help"),
    ("q", "quit (asks whether to stop running runs)"),
    ("Ctrl-C", "quit now, leaving the runs running"),
];

fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let [row] =
        Layout::vertical([Constraint::Length(height.min(area.height))]).flex(Flex::Center).areas(area);
    let [cell] =
        Layout::horizontal([Constraint::Length(width.min(area.width))]).flex(Flex::Center).areas(row);
    cell
}

/// Clear `rect` and draw `lines` there, wrapped, in a popup frame titled `title`.
fn draw_wrapped(title: &str, lines: Vec<Line<'static>>, rect: Rect, frame: &mut Frame) {
    frame.render_widget(Clear, rect);
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }).block(popup_block(title)), rect);
}

fn popup_block(title: &str) -> Block<'static> {
    Block::bordered()
        .border_style(Style::new().fg(theme::ACCENT))
        .title(Span::styled(format!(" {title} "), theme::title(true)))
}

/// The keys, scrolled by `scroll` lines (j/k) when the terminal is too short to show them all.
pub fn help(scroll: u16, area: Rect, frame: &mut Frame) {
    let mut lines: Vec<Line> = KEYS
        .iter()
        .map(|(k, what)| Line::from(vec![Span::styled(format!("{k:<16}"), theme::key()), Span::raw(*what)]))
        .collect();
    lines.push(Line::from(""));
    lines.push(Line::from(Span::styled("Esc or ? closes this help", theme::dim())));
    let wanted = lines.len() as u16 + 2;
    let rect = centered(area, 64, wanted.min(area.height));
    let hidden = wanted.saturating_sub(rect.height);
    let scroll = scroll.min(hidden);
    let title = if hidden > 0 {
        format!(
            "Keys (j/k scroll: {} more {})",
            hidden - scroll,
            if scroll < hidden { "below" } else { "above" }
        )
    } else {
        "Keys".to_string()
    };
    frame.render_widget(Clear, rect);
    frame.render_widget(Paragraph::new(lines).scroll((scroll, 0)).block(popup_block(&title)), rect);
}

pub fn runtime(app: &App, selected: usize, area: Rect, frame: &mut Frame) {
    let options = app.runtime_options();
    let width = area.width.saturating_sub(8).min(90);
    let mut lines = vec![Line::from(Span::styled("Run the next training on:", theme::dim())), Line::from("")];
    for (i, option) in options.iter().enumerate() {
        let marker = if option.choice == Some(app.runtime) { "(*) " } else { "( ) " };
        let style = match (&option.disabled, i == selected) {
            (Some(_), true) => theme::dim().add_modifier(Modifier::REVERSED),
            (Some(_), false) => theme::dim(),
            (None, true) => theme::selected(),
            (None, false) => Style::new(),
        };
        lines.push(Line::from(vec![
            Span::styled(format!("{marker}{:<14}", option.label), style.add_modifier(Modifier::BOLD)),
            Span::styled(option.detail.clone(), style),
        ]));
        if let Some(why) = &option.disabled {
            lines.push(Line::from(Span::styled(format!("    not available: {why}"), theme::dim())));
        }
    }
    lines.push(Line::from(""));
    lines.push(Line::from(Span::styled("Enter choose   Esc close", theme::dim())));
    let height = (lines.len() as u16 + 6).min(area.height.saturating_sub(2));
    let rect = centered(area, width, height);
    draw_wrapped("Runtime type", lines, rect, frame);
}

pub fn model_picker(app: &App, selected: usize, area: Rect, frame: &mut Frame) {
    let summary = app.selected_entry().and_then(|e| e.summary.as_ref().ok());
    let mut lines = Vec::new();
    for (i, pick) in app.form.choices().iter().enumerate() {
        let fits = app.form.pick_fits(pick, summary);
        let describe = match pick {
            Pick::Model(ModelChoice::Builtin(kind)) => kind.describe().to_string(),
            Pick::Model(ModelChoice::Custom(name)) => {
                app.form.user_model(name).map(|m| m.describe()).unwrap_or_default()
            }
            Pick::Command(name) => {
                app.form.commands.iter().find(|c| &c.name == name).map(|c| c.describe()).unwrap_or_default()
            }
        };
        let base = if fits.is_ok() { Style::new() } else { theme::dim() };
        let style = if i == selected { base.add_modifier(Modifier::REVERSED) } else { base };
        lines.push(Line::from(vec![
            Span::styled(format!("{:<17}", pick.name()), style.add_modifier(Modifier::BOLD)),
            Span::styled(describe, style),
        ]));
        if let (Err(why), true) = (&fits, i == selected) {
            lines.push(Line::from(Span::styled(
                match pick {
                    Pick::Command(_) => format!("  can't be used: {why}"),
                    Pick::Model(_) => format!("  doesn't fit: {why}"),
                },
                theme::error(),
            )));
        }
    }
    lines.push(Line::from(""));
    lines.push(Line::from(Span::styled("Enter choose   Esc close", theme::dim())));
    let width = area.width.saturating_sub(8).min(84);
    let rect = centered(area, width, lines.len() as u16 + 6);
    draw_wrapped("Model", lines, rect, frame);
}

pub fn confirm_quit(active: usize, area: Rect, frame: &mut Frame) {
    let going = if active == 1 { "A run is going.".to_string() } else { format!("{active} runs are going.") };
    let lines = vec![
        Line::from(going),
        Line::from(Span::styled("Runs are processes of their own: they can go on without", theme::dim())),
        Line::from(Span::styled("this window, and show again when workbench is opened.", theme::dim())),
        Line::from(""),
        Line::from(vec![
            Span::styled("Enter", theme::key()),
            Span::raw(" or "),
            Span::styled("l", theme::key()),
            Span::raw(" leave them running and quit"),
        ]),
        Line::from(vec![
            Span::styled("s", theme::key()),
            Span::raw(" stop them (kept on disk, marked stopped) and quit"),
        ]),
        Line::from(vec![Span::styled("Esc", theme::key()), Span::raw(" stay")]),
    ];
    let rect = centered(area, 62, lines.len() as u16 + 2);
    draw_wrapped("Quit?", lines, rect, frame);
}

/// A text too long for its pane, whole and wrapped.
pub fn details(title: &str, text: &str, area: Rect, frame: &mut Frame) {
    let width = area.width.saturating_sub(8).min(90);
    let mut lines: Vec<Line> =
        super::wrap(text, width.saturating_sub(2) as usize).into_iter().map(Line::from).collect();
    lines.push(Line::from(""));
    lines.push(Line::from(Span::styled("Esc or Enter closes", theme::dim())));
    let rect = centered(area, width, lines.len() as u16 + 2);
    frame.render_widget(Clear, rect);
    frame.render_widget(Paragraph::new(lines).block(popup_block(title)), rect);
}

/// The run asked for may not fit its device's memory: the warning, then Enter or Esc.
pub fn confirm_fit(warning: &str, area: Rect, frame: &mut Frame) {
    let lines = vec![
        Line::from(warning.to_string()),
        Line::from(""),
        Line::from(vec![
            Span::styled("Enter", theme::key()),
            Span::raw(" start anyway · "),
            Span::styled("Esc", theme::key()),
            Span::raw(" cancel"),
        ]),
    ];
    let width = area.width.saturating_sub(8).min(90);
    let rect = centered(area, width, 10);
    draw_wrapped("Will it fit?", lines, rect, frame);
}

pub fn confirm_sweep(ask: &crate::app::sweeps::SweepAsk, area: Rect, frame: &mut Frame) {
    let mut lines = vec![Line::from(format!("{}, each on {} through the queue", ask.what, ask.device))];
    lines.push(Line::from(""));
    lines.extend(ask.preview.iter().map(|cell| Line::from(format!("  {cell}"))));
    if ask.cells > ask.preview.len() {
        lines.push(Line::from(format!("  ... {} more", ask.cells - ask.preview.len())));
    }
    lines.push(Line::from(""));
    lines.push(Line::from(vec![
        Span::styled("Enter", theme::key()),
        Span::raw(" queue them · "),
        Span::styled("Esc", theme::key()),
        Span::raw(" go back · then "),
        Span::styled("b", theme::key()),
        Span::raw(" shows the sweep's board"),
    ]));
    let width = area.width.saturating_sub(8).min(80);
    let height = (lines.len() as u16 + 2).min(area.height);
    draw_wrapped("Queue a sweep?", lines, centered(area, width, height), frame);
}

pub fn confirm_switch(app: &App, device: DeviceChoice, area: Rect, frame: &mut Frame) {
    let current = app.focused_run().map(|r| r.device_label().to_string()).unwrap_or_default();
    let lines = vec![
        Line::from(format!("A run is going on {current}. Switch the runtime to {device}:")),
        Line::from(""),
        Line::from(vec![
            Span::styled("k", theme::key()),
            Span::raw(" keep the run as it is; the next run uses the new runtime"),
        ]),
        Line::from(vec![
            Span::styled("r", theme::key()),
            Span::raw(" restart it on the new runtime (the current run is kept on disk, marked stopped)"),
        ]),
        Line::from(vec![
            Span::styled("m", theme::key()),
            Span::raw(
                " move the run: checkpointed after its batch in progress, it goes on there, same curve",
            ),
        ]),
        Line::from(vec![Span::styled("Esc", theme::key()), Span::raw(" cancel")]),
    ];
    let width = area.width.saturating_sub(8).min(90);
    let rect = centered(area, width, 11);
    draw_wrapped("Switch runtime", lines, rect, frame);
}
