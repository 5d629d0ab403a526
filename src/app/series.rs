//! An append-only series of values with min/max summaries, so a chart of a million points costs
//! about as much to draw as a chart of a few hundred: the data is kept whole, and drawing reads a
//! summary level whose blocks are about one chart column wide.
//!
//! Level `k` holds the (min, max) of each block of `2^(k+1)` consecutive values. Appending is
//! O(1) amortised; [`Series::envelope`] is O(columns).

/// Values at x = 0, 1, 2, ... (for step losses, x is the step index).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Series {
    values: Vec<f32>,
    levels: Vec<Vec<(f32, f32)>>,
}

impl Series {
    pub fn new() -> Series {
        Series::default()
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    pub fn last(&self) -> Option<f32> {
        self.values.last().copied()
    }

    pub fn values(&self) -> &[f32] {
        &self.values
    }

    pub fn push(&mut self, value: f32) {
        self.values.push(value);
        // Complete blocks cascade upwards: two values make a level-0 block, two level-k blocks
        // make a level-(k+1) block.
        if !self.values.len().is_multiple_of(2) {
            return;
        }
        let n = self.values.len();
        let (a, b) = (self.values[n - 2], self.values[n - 1]);
        let mut pair = (a.min(b), a.max(b));
        let mut level = 0;
        loop {
            if self.levels.len() == level {
                self.levels.push(Vec::new());
            }
            self.levels[level].push(pair);
            let blocks = &self.levels[level];
            if !blocks.len().is_multiple_of(2) {
                break;
            }
            let (x, y) = (blocks[blocks.len() - 2], blocks[blocks.len() - 1]);
            pair = (x.0.min(y.0), x.1.max(y.1));
            level += 1;
        }
    }

    /// Points that draw values `start..end` in about `columns` columns: every value when they fit,
    /// otherwise the min and the max of each block, at the block's middle. Spikes stay visible.
    /// Returned as `(index, value)` with a fractional index.
    pub fn envelope(&self, start: usize, end: usize, columns: usize) -> Vec<(f64, f64)> {
        let end = end.min(self.values.len());
        if start >= end {
            return Vec::new();
        }
        let span = end - start;
        let columns = columns.max(1);
        if span <= columns * 2 {
            return (start..end).map(|i| (i as f64, self.values[i] as f64)).collect();
        }
        // The coarsest level whose blocks are no wider than a column.
        let per_column = span / columns;
        let level = (usize::BITS - per_column.leading_zeros()).saturating_sub(2) as usize;
        let level = level.min(self.levels.len().saturating_sub(1));
        let block = 2usize << level;
        let mut out = Vec::with_capacity(columns * 4);
        let raw = |out: &mut Vec<(f64, f64)>, from: usize, to: usize| {
            for i in from..to {
                out.push((i as f64, self.values[i] as f64));
            }
        };
        let first_block = start.div_ceil(block);
        let last_block = end / block; // exclusive
        if first_block >= last_block {
            raw(&mut out, start, end);
            return out;
        }
        raw(&mut out, start, first_block * block);
        for b in first_block..last_block {
            let (lo, hi) = self.levels[level][b];
            let x = (b * block) as f64 + (block as f64 - 1.0) / 2.0;
            out.push((x, lo as f64));
            out.push((x, hi as f64));
        }
        raw(&mut out, last_block * block, end);
        out
    }
}

/// An exponential moving average, for the smoothed loss curve.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ema {
    /// Weight of each new value (0.05: about the last twenty values count).
    pub alpha: f32,
    value: Option<f32>,
}

impl Ema {
    pub fn new(alpha: f32) -> Ema {
        Ema { alpha, value: None }
    }

    pub fn update(&mut self, x: f32) -> f32 {
        let v = match self.value {
            // A non-finite value would poison every later one; it is shown raw instead.
            Some(prev) if x.is_finite() && prev.is_finite() => prev + self.alpha * (x - prev),
            _ => x,
        };
        self.value = Some(v);
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_series_come_back_whole() {
        let mut s = Series::new();
        for i in 0..10 {
            s.push(i as f32);
        }
        let pts = s.envelope(0, 10, 80);
        assert_eq!(pts.len(), 10);
        assert_eq!(pts[3], (3.0, 3.0));
        assert_eq!(s.envelope(4, 6, 80), vec![(4.0, 4.0), (5.0, 5.0)]);
        assert!(s.envelope(6, 4, 80).is_empty());
    }

    #[test]
    fn large_series_keep_their_extremes_in_few_points() {
        let mut s = Series::new();
        for i in 0..1_000_000 {
            s.push(if i == 777_777 { 50.0 } else { (i % 100) as f32 / 100.0 });
        }
        let pts = s.envelope(0, s.len(), 200);
        assert!(pts.len() <= 200 * 4 + 2 * 4096, "{} points", pts.len());
        assert!(pts.len() >= 200, "{} points", pts.len());
        let max = pts.iter().map(|p| p.1).fold(f64::MIN, f64::max);
        let min = pts.iter().map(|p| p.1).fold(f64::MAX, f64::min);
        assert_eq!(max, 50.0, "the spike survives down-sampling");
        assert_eq!(min, 0.0);
        assert!(pts.windows(2).all(|w| w[0].0 <= w[1].0), "x is ordered");
        assert!(pts.last().unwrap().0 < 1_000_000.0);
    }

    #[test]
    fn summaries_match_a_direct_scan() {
        let mut s = Series::new();
        let values: Vec<f32> = (0..5000).map(|i| ((i * 7919) % 1000) as f32).collect();
        for &v in &values {
            s.push(v);
        }
        for (start, end) in [(0, 5000), (123, 4321), (1000, 1999)] {
            let pts = s.envelope(start, end, 50);
            let want_max = values[start..end].iter().cloned().fold(f32::MIN, f32::max) as f64;
            let want_min = values[start..end].iter().cloned().fold(f32::MAX, f32::min) as f64;
            assert_eq!(pts.iter().map(|p| p.1).fold(f64::MIN, f64::max), want_max);
            assert_eq!(pts.iter().map(|p| p.1).fold(f64::MAX, f64::min), want_min);
            assert!(pts.iter().all(|p| p.0 >= start as f64 && p.0 < end as f64));
        }
    }

    #[test]
    fn ema_smooths_and_skips_non_finite_values() {
        let mut e = Ema::new(0.5);
        assert_eq!(e.update(2.0), 2.0);
        assert_eq!(e.update(4.0), 3.0);
        assert!(e.update(f32::NAN).is_nan());
        assert_eq!(e.update(6.0), 6.0, "a finite value restarts the average");
    }
}
