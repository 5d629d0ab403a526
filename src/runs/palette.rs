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

/// Lighter and darker shades of one hue, in order of use: a sweep's runs differ within it.
const SHADES: [f32; 8] = [0.0, -0.4, 0.4, -0.2, 0.6, -0.55, 0.2, 0.75];

/// The colour of the `member`th run of the `family`th sweep: the sweep's hue (the palette's
/// `family`th colour), lighter or darker by member, so a sweep's runs read as one family in an
/// overlay and apart from another sweep's.
pub fn family_colour(family: usize, member: usize) -> (u8, u8, u8) {
    let (r, g, b) = run_colour(family);
    let shade = SHADES[member % SHADES.len()];
    let mix = |c: u8| {
        let c = f32::from(c);
        let out = if shade < 0.0 { c * (1.0 + shade) } else { c + (255.0 - c) * shade };
        out.round().clamp(0.0, 255.0) as u8
    };
    (mix(r), mix(g), mix(b))
}

/// The colours of runs drawn together (an exported chart), given each run's sweep: a run outside
/// a sweep takes the next palette colour, a sweep takes the next one for its family, and its runs
/// take shades of it in turn.
pub fn colours_of(sweeps: &[Option<&str>]) -> Vec<(u8, u8, u8)> {
    let mut next = 0;
    let mut families: Vec<(&str, usize, usize)> = Vec::new();
    sweeps
        .iter()
        .map(|sweep| match sweep {
            None => {
                next += 1;
                run_colour(next - 1)
            }
            Some(name) => {
                let slot = match families.iter().position(|(n, _, _)| n == name) {
                    Some(slot) => slot,
                    None => {
                        families.push((name, next, 0));
                        next += 1;
                        families.len() - 1
                    }
                };
                let (_, family, member) = &mut families[slot];
                *member += 1;
                family_colour(*family, *member - 1)
            }
        })
        .collect()
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

    #[test]
    fn a_sweeps_runs_take_shades_of_one_colour_among_the_others() {
        let colours = colours_of(&[None, Some("s"), Some("s"), None, Some("t")]);
        assert_eq!(colours[0], run_colour(0));
        assert_eq!((colours[1], colours[2]), (family_colour(1, 0), family_colour(1, 1)));
        assert_eq!(colours[3], run_colour(2));
        assert_eq!(colours[4], family_colour(3, 0));
    }

    #[test]
    fn a_family_is_shades_of_its_hue() {
        assert_eq!(family_colour(1, 0), run_colour(1));
        let shades: Vec<_> = (0..8).map(|m| family_colour(1, m)).collect();
        let mut unique = shades.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), 8, "{shades:?}");
        // Darker and lighter shades keep the hue's order of channels (orange: red > green > blue).
        for (r, g, b) in shades {
            assert!(r >= g && g >= b, "({r}, {g}, {b})");
        }
    }
}
