//! Cells that differ only by their seed, folded into one group: n, mean, spread, min and max of
//! the best metric. Honest comparisons, no p-values: a group beats another by its mean, with n
//! and the spread shown, and with n >= 2 on both sides whether their ranges overlap.
use std::collections::BTreeMap;

/// The name of the value a group folds over.
pub const SEED: &str = "seed";

/// One cell's outcome, as the groups need it.
#[derive(Debug, Clone, PartialEq)]
pub struct CellResult {
    /// The cell's varying values (`lr = 0.1`, `seed = 2`).
    pub values: BTreeMap<String, String>,
    /// Its best metric, once it has one.
    pub best: Option<f64>,
}

/// The cells with the same values but their seed.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Group {
    /// The shared values (the seed left out).
    pub values: BTreeMap<String, String>,
    /// Cells in the group, with or without a metric yet.
    pub cells: usize,
    /// Cells with a metric: the n of the figures below.
    pub n: usize,
    pub mean: Option<f64>,
    /// The sample standard deviation (n - 1); `None` below two cells.
    pub std: Option<f64>,
    pub min: Option<f64>,
    pub max: Option<f64>,
}

impl Group {
    /// Whether this group's [min, max] meets `other`'s; `None` unless both have n >= 2.
    pub fn overlaps(&self, other: &Group) -> Option<bool> {
        if self.n < 2 || other.n < 2 {
            return None;
        }
        let (a0, a1, b0, b1) = (self.min?, self.max?, other.min?, other.max?);
        Some(a0 <= b1 && b0 <= a1)
    }

    /// `lr=0.1 batch_size=16`: the values that name the group.
    pub fn label(&self) -> String {
        self.values.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(" ")
    }
}

/// Fold `cells` by their values without the seed, in the order groups first appear; the best
/// group first when `higher_is_better` says which way is better (groups without a metric last).
pub fn group_by_seed(cells: &[CellResult], higher_is_better: bool) -> Vec<Group> {
    let mut order: Vec<BTreeMap<String, String>> = Vec::new();
    let mut members: BTreeMap<Vec<(String, String)>, Vec<&CellResult>> = BTreeMap::new();
    for cell in cells {
        let mut key = cell.values.clone();
        key.remove(SEED);
        let k: Vec<(String, String)> = key.clone().into_iter().collect();
        if !members.contains_key(&k) {
            order.push(key);
        }
        members.entry(k).or_default().push(cell);
    }
    let mut groups: Vec<Group> = order
        .into_iter()
        .map(|values| {
            let k: Vec<(String, String)> = values.clone().into_iter().collect();
            let list = &members[&k];
            let figures: Vec<f64> = list.iter().filter_map(|c| c.best).filter(|x| x.is_finite()).collect();
            summary(values, list.len(), &figures)
        })
        .collect();
    groups.sort_by(|a, b| best_first(a.mean, b.mean, higher_is_better));
    groups
}

/// The order of two figures, the better first (`higher_is_better` says which way), a missing
/// one after every figure.
pub fn best_first(a: Option<f64>, b: Option<f64>, higher_is_better: bool) -> std::cmp::Ordering {
    match (a, b) {
        (Some(x), Some(y)) if higher_is_better => y.total_cmp(&x),
        (Some(x), Some(y)) => x.total_cmp(&y),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => std::cmp::Ordering::Equal,
    }
}

fn summary(values: BTreeMap<String, String>, cells: usize, x: &[f64]) -> Group {
    let n = x.len();
    let mean = (n > 0).then(|| x.iter().sum::<f64>() / n as f64);
    let std = mean
        .filter(|_| n >= 2)
        .map(|m| (x.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt());
    let min = x.iter().copied().reduce(f64::min);
    let max = x.iter().copied().reduce(f64::max);
    Group { values, cells, n, mean, std, min, max }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(lr: &str, seed: &str, best: Option<f64>) -> CellResult {
        let values =
            BTreeMap::from([("lr".to_string(), lr.to_string()), (SEED.to_string(), seed.to_string())]);
        CellResult { values, best }
    }

    #[test]
    fn seeds_fold_into_groups_with_their_spread() {
        let cells = [
            cell("0.1", "1", Some(0.90)),
            cell("0.1", "2", Some(0.94)),
            cell("0.1", "3", Some(0.92)),
            cell("0.01", "1", Some(0.80)),
            cell("0.01", "2", Some(0.84)),
            cell("0.01", "3", None),
            cell("0.001", "1", None),
        ];
        let groups = group_by_seed(&cells, true);
        assert_eq!(groups.iter().map(|g| g.label()).collect::<Vec<_>>(), ["lr=0.1", "lr=0.01", "lr=0.001"]);
        let best = &groups[0];
        assert_eq!((best.cells, best.n), (3, 3));
        assert!((best.mean.unwrap() - 0.92).abs() < 1e-12);
        assert!((best.std.unwrap() - 0.02).abs() < 1e-12, "sample std: {:?}", best.std);
        assert_eq!((best.min, best.max), (Some(0.90), Some(0.94)));
        assert_eq!((groups[1].cells, groups[1].n), (3, 2));
        assert_eq!(groups[2].mean, None);
        assert_eq!(best.overlaps(&groups[1]), Some(false));
        assert_eq!(best.overlaps(&groups[2]), None, "n < 2: no claim");
        let lower = group_by_seed(&cells, false);
        assert_eq!(lower[0].label(), "lr=0.01", "a loss: lower is better");
    }

    #[test]
    fn ranges_that_meet_overlap_and_one_cell_has_no_std() {
        let cells = [
            cell("a", "1", Some(1.0)),
            cell("a", "2", Some(3.0)),
            cell("b", "1", Some(2.5)),
            cell("b", "2", Some(4.0)),
        ];
        let groups = group_by_seed(&cells, true);
        assert_eq!(groups[0].overlaps(&groups[1]), Some(true));
        let single = group_by_seed(&[cell("a", "1", Some(1.0))], true);
        assert_eq!((single[0].n, single[0].std), (1, None));
    }
}
