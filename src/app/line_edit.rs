//! Typing one line of text (a filter, a form field): the keys every such line takes alike.
use crossterm::event::{KeyCode, KeyEvent};

/// What a key did to the line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineKey {
    /// Enter: the line is done.
    Enter,
    /// Esc: the line is given up.
    Esc,
    /// A character was added or the last one removed.
    Changed,
    /// Any other key: the line is as it was.
    Other,
}

/// Apply `key` to `text`, which holds at most `max_chars` characters.
pub fn edit_line(text: &mut String, key: &KeyEvent, max_chars: usize) -> LineKey {
    match key.code {
        KeyCode::Enter => LineKey::Enter,
        KeyCode::Esc => LineKey::Esc,
        KeyCode::Backspace => {
            text.pop();
            LineKey::Changed
        }
        KeyCode::Char(c) if !c.is_control() && text.chars().count() < max_chars => {
            text.push(c);
            LineKey::Changed
        }
        _ => LineKey::Other,
    }
}
