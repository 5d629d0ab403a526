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
