//! Entering and leaving the full-screen terminal, on every way out: quit, error, signal, panic.
use std::io::{self, Stdout};
use std::sync::atomic::{AtomicBool, Ordering};

use crossterm::event::{DisableMouseCapture, EnableMouseCapture};
use crossterm::execute;
use crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, Clear, ClearType, EnterAlternateScreen, LeaveAlternateScreen,
};
use ratatui::backend::CrosstermBackend;
use ratatui::Terminal;

/// Whether the screen is ours, so restoring twice (panic hook, then normal exit) is harmless.
static ACTIVE: AtomicBool = AtomicBool::new(false);
static MOUSE: AtomicBool = AtomicBool::new(false);

pub type Term = Terminal<CrosstermBackend<Stdout>>;

/// Raw mode, the alternate screen, a hidden cursor; mouse capture only when asked for, so text
/// can still be selected over SSH.
pub fn enter(mouse: bool) -> io::Result<Term> {
    let entered = take_screen(mouse);
    if entered.is_err() {
        // Half set up (raw mode on, the alternate screen refused): undone before the error shows.
        leave();
    }
    entered
}

fn take_screen(mouse: bool) -> io::Result<Term> {
    enable_raw_mode()?;
    ACTIVE.store(true, Ordering::SeqCst);
    let mut stdout = io::stdout();
    // Cleared with a plain escape sequence: ratatui's `clear()` asks the terminal for the cursor
    // position, and some terminals (and pipes posing as them) never answer.
    execute!(stdout, EnterAlternateScreen, Clear(ClearType::All))?;
    if mouse {
        execute!(stdout, EnableMouseCapture)?;
        MOUSE.store(true, Ordering::SeqCst);
    }
    let mut terminal = Terminal::new(CrosstermBackend::new(stdout))?;
    terminal.hide_cursor()?;
    Ok(terminal)
}

/// Give the screen back. Errors are ignored: after SIGHUP there is no terminal left to restore.
pub fn leave() {
    if !ACTIVE.swap(false, Ordering::SeqCst) {
        return;
    }
    let mut stdout = io::stdout();
    if MOUSE.swap(false, Ordering::SeqCst) {
        let _ = execute!(stdout, DisableMouseCapture);
    }
    let _ = execute!(stdout, LeaveAlternateScreen, crossterm::cursor::Show);
    let _ = disable_raw_mode();
}

/// Gives the screen (and stderr) back when dropped, on every way out of the TUI: a return, an
/// error, or a panic unwinding past it. The panic hook restores first; this then does nothing.
pub struct Restore;

impl Drop for Restore {
    fn drop(&mut self) {
        restore();
    }
}

/// Give the screen and stderr back; the panic hook calls it before its one-line message.
pub fn restore() {
    leave();
    super::stderr::restore();
}
