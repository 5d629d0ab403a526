//! A seed group's runs as one band: at each epoch (or step), the mean of the runs that reached
//! it, and their min and max. Drawn instead of n lines in the board and in its exported chart.
use std::collections::BTreeMap;

/// The band at one x.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BandPoint {
    pub x: f64,
    pub mean: f64,
    pub min: f64,
    pub max: f64,
    /// How many runs have a value here.
    pub n: usize,
}

/// The band of `series` (each a run's `(x, y)` points, x whole epochs or steps): one point per
/// x any run has, over the runs with a finite value there.
pub fn band(series: &[Vec<(f64, f64)>]) -> Vec<BandPoint> {
    let mut at: BTreeMap<i64, Vec<f64>> = BTreeMap::new();
    for run in series {
        for &(x, y) in run.iter().filter(|(x, y)| x.is_finite() && y.is_finite()) {
            at.entry(x.round() as i64).or_default().push(y);
        }
    }
    at.into_iter()
        .map(|(x, ys)| {
            let n = ys.len();
            let mean = ys.iter().sum::<f64>() / n as f64;
            let min = ys.iter().copied().fold(f64::INFINITY, f64::min);
            let max = ys.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            BandPoint { x: x as f64, mean, min, max, n }
        })
        .collect()
}

/// The band's min and max at `x`, linearly between its points (for shading between them).
pub fn spread_at(band: &[BandPoint], x: f64) -> Option<(f64, f64)> {
    let after = band.iter().position(|p| p.x >= x)?;
    let b = band[after];
    if after == 0 || b.x == x {
        return Some((b.min, b.max));
    }
    let a = band[after - 1];
    let t = (x - a.x) / (b.x - a.x);
    Some((a.min + (b.min - a.min) * t, a.max + (b.max - a.max) * t))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_band_is_the_mean_and_range_of_the_runs_at_each_x() {
        let runs = vec![
            vec![(1.0, 0.5), (2.0, 0.7), (3.0, 0.9)],
            vec![(1.0, 0.7), (2.0, 0.9)],
            vec![(1.0, 0.6), (2.0, f64::NAN)],
        ];
        let b = band(&runs);
        assert_eq!(b.len(), 3);
        assert_eq!((b[0].n, b[0].min, b[0].max), (3, 0.5, 0.7));
        assert!((b[0].mean - 0.6).abs() < 1e-12);
        assert_eq!((b[1].n, b[1].min, b[1].max), (2, 0.7, 0.9), "a NaN is left out");
        assert_eq!((b[2].n, b[2].mean), (1, 0.9));
        let (lo, hi) = spread_at(&b, 1.5).unwrap();
        assert!((lo - 0.6).abs() < 1e-12 && (hi - 0.8).abs() < 1e-12, "{lo} {hi}");
        assert_eq!(spread_at(&b, 9.0), None);
    }
}
