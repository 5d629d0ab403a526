//! Keys of the sweeps list and the sweep board (see board.rs for what they show).
use crossterm::event::{KeyCode, KeyEvent};

use super::board::{self, Board, BoardView};
use super::line_edit::{edit_line, LineKey};
use super::{App, Effect, Popup};

impl App {
    /// `b`: the focused run's sweep board, else the list of sweeps.
    pub(super) fn open_board(&mut self) {
        if let Some(name) = self.focused_run().and_then(board::sweep_of) {
            self.popup = Some(Popup::Board(Box::new(Board::new(name, &self.runs))));
            return;
        }
        if board::sweep_names(&self.runs).is_empty() {
            self.notify_error(
                "no sweeps yet: type a list into a form field (learning rate 0.1, 0.01) and press s, or run `workbench sweep`",
            );
            return;
        }
        self.popup = Some(Popup::Sweeps { selected: 0 });
    }

    pub(super) fn on_sweeps_key(&mut self, selected: usize, key: KeyEvent) {
        let names = board::sweep_names(&self.runs);
        match key.code {
            KeyCode::Esc | KeyCode::Char('q') | KeyCode::Char('b') => self.popup = None,
            KeyCode::Enter => {
                if let Some((name, _)) = names.get(selected) {
                    self.popup = Some(Popup::Board(Box::new(Board::new(name, &self.runs))));
                }
            }
            KeyCode::Up | KeyCode::Char('k') => {
                self.popup = Some(Popup::Sweeps { selected: selected.saturating_sub(1) })
            }
            KeyCode::Down | KeyCode::Char('j') => {
                let last = names.len().saturating_sub(1);
                self.popup = Some(Popup::Sweeps { selected: (selected + 1).min(last) });
            }
            _ => {}
        }
    }

    pub(super) fn on_board_key(&mut self, mut b: Board, key: KeyEvent) -> Vec<Effect> {
        let mut effects = Vec::new();
        if b.typing {
            match edit_line(&mut b.filter, &key, 40) {
                LineKey::Enter => b.typing = false,
                LineKey::Esc => {
                    b.typing = false;
                    b.filter.clear();
                }
                LineKey::Changed | LineKey::Other => {}
            }
            b.selected = 0;
            b.refresh(&self.runs);
            self.popup = Some(Popup::Board(Box::new(b)));
            return effects;
        }
        // The table as built (moved out, not copied: 1,000 cells), put back below.
        let table = match b.shown.take() {
            Some(table) => *table,
            None => b.table(&self.runs),
        };
        match key.code {
            KeyCode::Esc | KeyCode::Char('q') if b.view != BoardView::Table => b.view = BoardView::Table,
            KeyCode::Esc | KeyCode::Char('q') | KeyCode::Char('b') => {
                self.popup = None;
                return effects;
            }
            KeyCode::Up | KeyCode::Char('k') => {
                b.selected = b.selected.min(table.rows.len()).saturating_sub(1)
            }
            KeyCode::Down | KeyCode::Char('j') => {
                b.selected = (b.selected + 1).min(table.rows.len().saturating_sub(1));
            }
            KeyCode::Char('o') => {
                b.sort = b.sort.next(table.names.len());
                b.selected = 0;
                self.notify(format!("sorted {}", b.sort.label(&table.names)));
            }
            KeyCode::Char('/') => b.typing = true,
            KeyCode::Enter => match b.selected_row(&table) {
                Some(_) => {
                    b.view = if b.view == BoardView::Band { BoardView::Table } else { BoardView::Band }
                }
                None => {
                    self.notify_error("no group to chart: the filter hides every row (/ then Esc clears it)")
                }
            },
            KeyCode::Char('v') => {
                if table.names.is_empty() {
                    self.notify_error("nothing but the seed varies: the value chart needs a varying value");
                } else {
                    b.view = if b.view == BoardView::Values { BoardView::Table } else { BoardView::Values };
                }
            }
            KeyCode::Left | KeyCode::Right | KeyCode::Char('h') | KeyCode::Char('l')
                if !table.names.is_empty() =>
            {
                let n = table.names.len();
                let step = if matches!(key.code, KeyCode::Left | KeyCode::Char('h')) { n - 1 } else { 1 };
                b.axis = (b.axis + step) % n;
            }
            KeyCode::Char('R') => {
                let runs: Vec<String> = table
                    .cells
                    .iter()
                    .filter(|c| self.runs.get(&c.run).is_some_and(|r| r.can_resume()))
                    .map(|c| c.run.clone())
                    .collect();
                if runs.is_empty() {
                    self.notify("no failed or stopped cells to requeue");
                } else {
                    self.notify(format!("requeueing {} cell(s) of {}", runs.len(), b.sweep));
                    effects.push(Effect::RequeueSweep { sweep: b.sweep.clone(), runs });
                }
            }
            KeyCode::Char('e') => {
                let band = b.selected_row(&table).map(|row| {
                    let (band, x_name) = board::group_band(&self.runs, row, &table.judged);
                    Box::new(board::BandExport {
                        label: row.group.label(),
                        metric: table.judged.metric.clone(),
                        x_name: x_name.into(),
                        band,
                        colour: board::row_colour(&self.runs, row),
                    })
                });
                self.notify(format!("exporting the board of {}", b.sweep));
                effects.push(Effect::ExportSweep { sweep: b.sweep.clone(), band });
            }
            _ => {}
        }
        if key.code == KeyCode::Char('o') {
            b.refresh(&self.runs);
        } else {
            b.shown = Some(Box::new(table));
        }
        self.popup = Some(Popup::Board(Box::new(b)));
        effects
    }

    /// The runner put `count` cells of `sweep` back in the queue.
    pub fn sweep_requeued(&mut self, sweep: &str, count: usize) {
        self.notify(format!("requeued {count} cell(s) of {sweep}: the queue starts them as devices free up"));
    }
}
