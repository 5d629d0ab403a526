//! One colour per run, wherever the run appears (charts in the TUI, exported SVG and PNG).
//! A leaf module: plain RGB triples, no drawing library.

/// Ten colours that stay apart on dark and light backgrounds (Tableau 10), in order of use.
const PALETTE: [(u8, u8, u8); 10] = [
    (78, 121, 167),
    (242, 142, 43),
    (225, 87, 89),
    (118, 183, 178),
    (89, 161, 79),
    (237, 201, 72),
    (176, 122, 161),
    (255, 157, 167),
    (156, 117, 95),
    (186, 176, 172),
];

/// The colour of the `index`th run of a selection, as RGB; it cycles after ten runs.
pub fn run_colour(index: usize) -> (u8, u8, u8) {
    PALETTE[index % PALETTE.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_differ_within_ten_and_cycle_after() {
        let first: Vec<_> = (0..10).map(run_colour).collect();
        let mut unique = first.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), 10);
        assert_eq!(run_colour(10), run_colour(0));
    }
}
