//! The one door for untrusted text on its way to a terminal.
//!
//! Run folders, datasets (names, class labels, CSV headers), job files and event files (tags) can
//! be written by anyone who shares the folder. Printed raw, an escape sequence in a run's
//! `reason` retitles the terminal, clears the screen or worse. Everything read from those files
//! passes through [`clean`] before it is printed or drawn: control characters become visible
//! caret notation (`ESC` → `^[`, `BEL` → `^G`, `DEL` → `^?`), C1 controls and the bidirectional
//! overrides that reorder what is shown become `U+FFFD`.
use std::borrow::Cow;

/// What the character is shown as, if it may not reach a terminal as it is.
fn replacement(c: char) -> Option<Replacement> {
    match c {
        '\u{0}'..='\u{1f}' => Some(Replacement::Caret(char::from(c as u8 ^ 0x40))),
        '\u{7f}' => Some(Replacement::Caret('?')),
        '\u{80}'..='\u{9f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => {
            Some(Replacement::Char(char::REPLACEMENT_CHARACTER))
        }
        _ => None,
    }
}

enum Replacement {
    /// `^` then this character.
    Caret(char),
    Char(char),
}

/// `text` with every control character replaced by a visible stand-in; borrowed when there was
/// none (the common case costs no copy).
pub fn clean(text: &str) -> Cow<'_, str> {
    if !text.chars().any(|c| replacement(c).is_some()) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match replacement(c) {
            None => out.push(c),
            Some(Replacement::Caret(shown)) => {
                out.push('^');
                out.push(shown);
            }
            Some(Replacement::Char(shown)) => out.push(shown),
        }
    }
    Cow::Owned(out)
}

/// `println!` for a line that holds text from files: printed through [`clean`]. The headless
/// commands' listings (runs, datasets, models, export) print through this.
#[macro_export]
macro_rules! println_clean {
    ($($arg:tt)*) => {
        println!("{}", $crate::text::clean(&format!($($arg)*)))
    };
}

/// `eprintln!` through [`clean`]: warnings and errors that quote a file's text.
#[macro_export]
macro_rules! eprintln_clean {
    ($($arg:tt)*) => {
        eprintln!("{}", $crate::text::clean(&format!($($arg)*)))
    };
}

/// Whether `text` holds anything [`clean`] would replace.
pub fn has_controls(text: &str) -> bool {
    text.chars().any(|c| replacement(c).is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_become_visible() {
        let hostile = "\u{1b}]0;pwned\u{7}\u{1b}[2J";
        let shown = clean(hostile);
        assert_eq!(shown, "^[]0;pwned^G^[[2J");
        assert!(!shown.chars().any(char::is_control));
        assert_eq!(clean("a\tb\nc\r\u{7f}"), "a^Ib^Jc^M^?");
        assert_eq!(clean("x\u{9b}31m\u{202e}y"), "x\u{fffd}31m\u{fffd}y");
    }

    #[test]
    fn plain_text_is_borrowed_untouched() {
        for plain in ["", "iris", "Größe 1.5 µm", "数据集", "run 20261128-133000"] {
            assert!(matches!(clean(plain), Cow::Borrowed(s) if s == plain));
            assert!(!has_controls(plain));
        }
    }
}
