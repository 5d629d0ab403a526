//! A sweep's grid: each varying value as a list (`0.1,0.01`) or a range (`1e-4:1e-1:log:4`,
//! `10:50:step:10`), the cells they make, and a seeded random draw of cells (`--random N`).
//! Pure: no files, no runs.
use std::collections::BTreeMap;

use crate::params::NumberKind;

/// A sweep's grid or values that can't be one, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct GridError(pub String);

impl GridError {
    /// The reason without the flag and text it begins with (`--lr "0.1,,0.2": `), for a place
    /// that names the value itself (a form field).
    pub fn reason(&self) -> &str {
        self.0.split_once(": ").map_or(self.0.as_str(), |(_, why)| why)
    }
}

/// How a range spaces its values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Spacing {
    /// `a:b:log:N`: N values evenly spaced on a log scale, a and b included.
    Log(usize),
    /// `a:b:lin:N`: N values evenly spaced, a and b included.
    Lin(usize),
    /// `a:b:step:S`: a, a + S, ... up to b.
    Step(f64),
}

/// The values one name takes.
#[derive(Debug, Clone, PartialEq)]
pub enum Values {
    List(Vec<String>),
    Range { start: f64, end: f64, spacing: Spacing, kind: NumberKind },
}

/// One varying name (`lr`) and its values.
#[derive(Debug, Clone, PartialEq)]
pub struct Axis {
    pub name: String,
    pub values: Values,
}

/// One cell: a value for each axis, in the axes' order.
pub type Cell = Vec<(String, String)>;

impl Axis {
    /// The axis `name` from what was typed: a list separated by `separator` (`,`; `|` where a
    /// single value holds commas) or a range. `None` for a single value: not an axis, a fixed
    /// value. A range needs a numeric flag (`kind`).
    pub fn parse(
        name: &str,
        text: &str,
        kind: NumberKind,
        separator: char,
    ) -> Result<Option<Axis>, GridError> {
        let text = text.trim();
        if text.matches(':').count() >= 2 && !text.contains(separator) {
            return range(name, text, kind).map(|values| Some(Axis { name: name.into(), values }));
        }
        let items: Vec<String> = text.split(separator).map(|v| v.trim().to_string()).collect();
        if items.iter().any(String::is_empty) {
            return Err(GridError(format!("--{} {text:?}: an empty value in the list", flag(name))));
        }
        if items.len() < 2 {
            return Ok(None);
        }
        let mut seen = Vec::new();
        for item in &items {
            if seen.contains(item) {
                return Err(GridError(format!("--{} {text:?}: {item} is listed twice", flag(name))));
            }
            seen.push(item.clone());
        }
        Ok(Some(Axis { name: name.into(), values: Values::List(items) }))
    }

    /// Every value, as text the flag takes.
    pub fn all(&self) -> Vec<String> {
        match &self.values {
            Values::List(items) => items.clone(),
            Values::Range { start, end, spacing, kind } => {
                let raw: Vec<f64> = match *spacing {
                    Spacing::Log(n) => spaced(n, |t| (start.ln() + (end.ln() - start.ln()) * t).exp()),
                    Spacing::Lin(n) => spaced(n, |t| start + (end - start) * t),
                    Spacing::Step(step) => {
                        let count = ((end - start) / step + 1e-9).floor() as usize + 1;
                        (0..count).map(|i| start + step * i as f64).collect()
                    }
                };
                let mut out: Vec<String> = Vec::new();
                for x in raw {
                    let text = number_text(x, *kind);
                    if !out.contains(&text) {
                        out.push(text);
                    }
                }
                out
            }
        }
    }

    /// A value drawn at random: a list's item; a range sampled continuously (log-uniform for
    /// `log`, uniform for `lin`, one of the steps for `step`).
    fn draw(&self, rng: &mut SplitMix) -> String {
        match &self.values {
            Values::List(items) => items[rng.below(items.len())].clone(),
            Values::Range { start, end, spacing, kind } => {
                let u = rng.unit();
                let x = match spacing {
                    Spacing::Log(_) => (start.ln() + (end.ln() - start.ln()) * u).exp(),
                    Spacing::Lin(_) => start + (end - start) * u,
                    Spacing::Step(_) => {
                        let steps = self.all();
                        return steps[rng.below(steps.len())].clone();
                    }
                };
                number_text(x, *kind)
            }
        }
    }
}

/// `--batch-size` for `batch_size`.
pub fn flag(name: &str) -> String {
    name.replace('_', "-")
}

fn spaced(n: usize, at: impl Fn(f64) -> f64) -> Vec<f64> {
    match n {
        1 => vec![at(0.0)],
        n => (0..n).map(|i| at(i as f64 / (n - 1) as f64)).collect(),
    }
}

/// A range's value as the flag takes it: a whole number rounded; a real number with 12
/// significant digits, so 10^-3 reads `0.001`, not `0.0010000000000000002`.
fn number_text(x: f64, kind: NumberKind) -> String {
    match kind {
        NumberKind::Integer => format!("{}", x.round() as i64),
        _ => format!("{:.11e}", x).parse::<f64>().map(|r| r.to_string()).unwrap_or_else(|_| x.to_string()),
    }
}

/// `a:b:log:N`, `a:b:lin:N` or `a:b:step:S`, checked: it must yield at least one value.
fn range(name: &str, text: &str, kind: NumberKind) -> Result<Values, GridError> {
    let bad = |why: &str| GridError(format!("--{} {text}: {why}", flag(name)));
    if kind == NumberKind::No {
        return Err(bad("a range needs a numeric flag; list the values with commas instead"));
    }
    let parts: Vec<&str> = text.split(':').collect();
    let [start, end, how, amount] = parts[..] else {
        return Err(bad("write a range as START:END:log:N, START:END:lin:N or START:END:step:S"));
    };
    let number = |s: &str| s.trim().parse::<f64>().ok().filter(|x| x.is_finite());
    let (Some(start), Some(end)) = (number(start), number(end)) else {
        return Err(bad("its start and end must be numbers"));
    };
    let count = || match amount.trim().parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(bad("the number of values must be a whole number, at least 1")),
    };
    let spacing = match how.trim() {
        "log" => {
            if start <= 0.0 || end <= 0.0 {
                return Err(bad("a log range needs a positive start and end"));
            }
            Spacing::Log(count()?)
        }
        "lin" => Spacing::Lin(count()?),
        "step" => {
            let step = number(amount)
                .filter(|s| *s > 0.0)
                .ok_or_else(|| bad("the step must be a positive number"))?;
            if end < start {
                return Err(bad("it yields nothing: the end is below the start"));
            }
            Spacing::Step(step)
        }
        other => return Err(bad(&format!("{other:?} is not a spacing; use log, lin or step"))),
    };
    Ok(Values::Range { start, end, spacing, kind })
}

/// The axes of a sweep.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Grid {
    pub axes: Vec<Axis>,
}

impl Grid {
    /// How many cells the whole grid has.
    pub fn size(&self) -> usize {
        self.axes.iter().map(|a| a.all().len()).product()
    }

    /// Every cell, the first axis varying slowest.
    pub fn cells(&self) -> Vec<Cell> {
        let values: Vec<Vec<String>> = self.axes.iter().map(Axis::all).collect();
        let mut cells: Vec<Cell> = vec![Vec::new()];
        for (axis, vals) in self.axes.iter().zip(&values) {
            cells = cells
                .into_iter()
                .flat_map(|cell| {
                    vals.iter().map(move |v| {
                        let mut c = cell.clone();
                        c.push((axis.name.clone(), v.clone()));
                        c
                    })
                })
                .collect();
        }
        cells
    }

    /// `n` cells drawn with `seed`: distinct cells of the grid while it has that many and every
    /// axis is a list; ranges are sampled continuously.
    pub fn random(&self, n: usize, seed: u64) -> Vec<Cell> {
        let mut rng = SplitMix(seed);
        let finite = self.axes.iter().all(|a| matches!(a.values, Values::List(_)));
        if finite && n <= self.size() {
            let mut cells = self.cells();
            // A partial Fisher-Yates shuffle: the first n are the draw.
            for i in 0..n {
                let j = i + rng.below(cells.len() - i);
                cells.swap(i, j);
            }
            cells.truncate(n);
            return cells;
        }
        (0..n).map(|_| self.axes.iter().map(|a| (a.name.clone(), a.draw(&mut rng))).collect()).collect()
    }
}

/// A cell as a map, for look-ups.
pub fn cell_map(cell: &Cell) -> BTreeMap<String, String> {
    cell.iter().cloned().collect()
}

/// splitmix64: a small seeded generator, so `--sample-seed` draws the same cells everywhere.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// In [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn axis(name: &str, text: &str, kind: NumberKind) -> Axis {
        Axis::parse(name, text, kind, ',').unwrap().unwrap()
    }

    #[test]
    fn lists_and_ranges_give_their_values() {
        assert_eq!(axis("lr", "0.1, 0.01,0.001", NumberKind::Real).all(), ["0.1", "0.01", "0.001"]);
        assert_eq!(axis("lr", "1e-4:1e-1:log:4", NumberKind::Real).all(), ["0.0001", "0.001", "0.01", "0.1"]);
        assert_eq!(
            axis("epochs", "10:50:step:10", NumberKind::Integer).all(),
            ["10", "20", "30", "40", "50"]
        );
        assert_eq!(
            axis("batch_size", "16:256:log:5", NumberKind::Integer).all(),
            ["16", "32", "64", "128", "256"]
        );
        assert_eq!(axis("momentum", "0:0.9:lin:4", NumberKind::Real).all(), ["0", "0.3", "0.6", "0.9"]);
        assert_eq!(axis("epochs", "10:15:step:10", NumberKind::Integer).all(), ["10"], "the start alone");
        assert_eq!(Axis::parse("lr", "0.1", NumberKind::Real, ',').unwrap(), None, "one value is fixed");
        let hidden = Axis::parse("hidden", "16|32,16", NumberKind::No, '|').unwrap().unwrap();
        assert_eq!(hidden.all(), ["16", "32,16"]);
    }

    #[test]
    fn bad_grids_are_refused_with_the_reason() {
        let err = |name: &str, text: &str, kind| Axis::parse(name, text, kind, ',').unwrap_err().0;
        assert!(err("epochs", "50:10:step:10", NumberKind::Integer).contains("yields nothing"));
        assert!(err("lr", "0:1:log:3", NumberKind::Real).contains("positive start"));
        assert!(err("lr", "1:2:cubic:3", NumberKind::Real).contains("\"cubic\" is not a spacing"));
        assert!(err("lr", "1:2:lin:0", NumberKind::Real).contains("at least 1"));
        assert!(err("model", "a:b:lin:2", NumberKind::No).contains("needs a numeric flag"));
        assert!(err("lr", "0.1,,0.2", NumberKind::Real).contains("empty value"));
        assert!(err("seed", "1,2,1", NumberKind::Integer).contains("1 is listed twice"));
        assert!(err("epochs", "1:x:step:1", NumberKind::Integer).contains("must be numbers"));
    }

    #[test]
    fn the_cells_are_the_product_with_the_first_axis_slowest() {
        let grid = Grid {
            axes: vec![axis("lr", "0.1,0.01", NumberKind::Real), axis("seed", "1,2,3", NumberKind::Integer)],
        };
        assert_eq!(grid.size(), 6);
        let cells = grid.cells();
        assert_eq!(cells.len(), 6);
        assert_eq!(cells[0], [("lr".to_string(), "0.1".to_string()), ("seed".to_string(), "1".to_string())]);
        assert_eq!(cells[3], [("lr".to_string(), "0.01".to_string()), ("seed".to_string(), "1".to_string())]);
        assert_eq!(Grid::default().cells(), [Vec::new()], "no axes: one cell, the fixed values");
    }

    #[test]
    fn a_random_draw_is_seeded_distinct_on_lists_and_inside_ranges() {
        let lists = Grid {
            axes: vec![
                axis("lr", "0.1,0.01,0.001", NumberKind::Real),
                axis("seed", "1,2,3", NumberKind::Integer),
            ],
        };
        let a = lists.random(5, 7);
        assert_eq!(a, lists.random(5, 7), "the same seed draws the same cells");
        assert_ne!(a, lists.random(5, 8));
        let mut distinct = a.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), 5);
        let ranged = Grid { axes: vec![axis("lr", "1e-4:1e-1:log:4", NumberKind::Real)] };
        for cell in ranged.random(50, 1) {
            let lr: f64 = cell[0].1.parse().unwrap();
            assert!((1e-4..=1e-1).contains(&lr), "{lr}");
        }
        let below_1e3 =
            ranged.random(200, 3).iter().filter(|c| c[0].1.parse::<f64>().unwrap() < 1e-3).count();
        assert!(
            (30..=110).contains(&below_1e3),
            "log-uniform: about a third below 1e-3, got {below_1e3}/200"
        );
    }
}
