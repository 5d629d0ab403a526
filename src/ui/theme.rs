//! Colours and styles in one place. Colours are the 16 ANSI ones, so they read well in any terminal
//! theme and over plain `xterm`.
use ratatui::style::{Color, Modifier, Style};

pub const ACCENT: Color = Color::Cyan;
pub const TRAIN: Color = Color::Cyan;
pub const VAL: Color = Color::Yellow;
pub const STEP: Color = Color::Blue;
pub const METRIC: Color = Color::Green;
pub const ERROR: Color = Color::Red;
pub const WARN: Color = Color::Yellow;

pub fn border(focused: bool) -> Style {
    if focused {
        Style::new().fg(ACCENT)
    } else {
        Style::new().fg(Color::DarkGray)
    }
}

pub fn title(focused: bool) -> Style {
    let s = Style::new().add_modifier(Modifier::BOLD);
    if focused {
        s.fg(ACCENT)
    } else {
        s
    }
}

pub fn dim() -> Style {
    Style::new().fg(Color::DarkGray)
}

pub fn error() -> Style {
    Style::new().fg(ERROR)
}

pub fn selected() -> Style {
    Style::new().add_modifier(Modifier::REVERSED)
}

pub fn key() -> Style {
    Style::new().fg(ACCENT).add_modifier(Modifier::BOLD)
}

/// The colours runs take, in turn: a run keeps its colour wherever it appears (the runs list,
/// the overlay and its legend, the diff table).
const RUN_COLORS: [Color; 12] = [
    Color::Cyan,
    Color::Yellow,
    Color::Magenta,
    Color::Green,
    Color::LightRed,
    Color::LightBlue,
    Color::LightCyan,
    Color::LightYellow,
    Color::LightMagenta,
    Color::LightGreen,
    Color::Red,
    Color::Blue,
];

/// The colour of the run with this palette index (its order of first appearance).
pub fn run_color(index: usize) -> Color {
    RUN_COLORS[index % RUN_COLORS.len()]
}

/// A run's colour: its sweep's family shade, else its own palette colour.
pub fn color_of(run: &crate::app::run_view::RunView) -> Color {
    match run.family {
        Some((family, member)) => {
            let (r, g, b) = crate::runs::palette::family_colour(family, member);
            Color::Rgb(r, g, b)
        }
        None => run_color(run.color),
    }
}
