//! Reading the numbers of a CSV's cells fast, and exactly as `str::parse::<f64>` reads them.
//!
//! Most cells of a numeric table are plain decimals (`-12.3456`, `7`). They are read in one pass,
//! eight bytes at a time (SWAR: a few integer operations find where the digits end and add them
//! up, with no branch per byte to mispredict), into an integer and a count of decimals. The value
//! is then that integer divided by a power of ten: exact, because both are held exactly by a
//! double (the integer below 2^53, the power at most 10^22), so the one division rounds
//! correctly, as `parse` does (Clinger's fast path). Anything else (an exponent, many digits,
//! text) is left to `parse`.

/// A plain decimal's digits as an integer, the number of them after the point, and the sign:
/// the value is `±mantissa / 10^scale`, with `mantissa` at most 2^53 and `scale` at most 22.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decimal {
    mantissa: u64,
    scale: usize,
    negative: bool,
}

impl Decimal {
    /// The double `parse::<f64>` gives: one exact division, correctly rounded.
    pub fn to_f64(self) -> f64 {
        let magnitude = self.mantissa as f64 / EXACT_POWERS_OF_TEN[self.scale];
        f64::from_bits(magnitude.to_bits() | u64::from(self.negative) << 63)
    }
}

/// Scan the cell at `bytes[at..]` to its end (a delimiter, a line end, the end of the piece),
/// reading it on the way when it is a plain decimal, as [`plain_decimal`] reads one: the number
/// (`None` when the cell isn't plain) and where the cell ends.
pub fn scan_cell(bytes: &[u8], at: usize, delimiter: u8) -> (Option<Decimal>, usize) {
    scan_cell_by_eights(bytes, at, delimiter).unwrap_or_else(|| scan_cell_bytewise(bytes, at, delimiter))
}

/// [`scan_cell`] for the usual cell, eight bytes at a time: an optional sign, up to 7 digits, an
/// optional point and up to 7 digits. `None` for anything else, and near the end of the piece.
fn scan_cell_by_eights(bytes: &[u8], at: usize, delimiter: u8) -> Option<(Option<Decimal>, usize)> {
    let eight = |i: usize| bytes.get(i..i + 8).and_then(|b| b.try_into().ok()).map(u64::from_le_bytes);
    let first = *bytes.get(at)?;
    let negative = first == b'-';
    let mut i = at + usize::from(negative || first == b'+');
    let (whole, whole_digits) = leading_digits(eight(i)?);
    if whole_digits == 8 {
        return None;
    }
    i += whole_digits;
    let (mut mantissa, mut digits, mut scale) = (whole, whole_digits, 0);
    if bytes.get(i) == Some(&b'.') {
        i += 1;
        let (fraction, fraction_digits) = leading_digits(eight(i)?);
        if fraction_digits == 8 {
            return None;
        }
        mantissa = mantissa * POWERS_OF_TEN_U64[fraction_digits] + fraction;
        digits += fraction_digits;
        scale = fraction_digits;
        i += fraction_digits;
    }
    let ended = bytes.get(i).is_none_or(|&b| b == delimiter || b == b'\n' || b == b'\r');
    if !ended || digits == 0 {
        return None;
    }
    // At most 14 digits: below 2^53, and the scale is at most 7.
    Some((Some(Decimal { mantissa, scale, negative }), i))
}

/// The ASCII digits that begin these eight bytes (the first byte lowest): their value and how
/// many there are (8 when all are digits).
fn leading_digits(chunk: u64) -> (u64, usize) {
    const HIGH_NIBBLES: u64 = 0xF0F0_F0F0_F0F0_F0F0;
    const ZEROS: u64 = 0x3030_3030_3030_3030;
    // A byte is a digit when it and the byte plus 6 both lie in 0x30..=0x3F. A carry out of a
    // byte over 0xF9 only reaches later bytes, past the first non-digit, which is all that counts.
    let off = ((chunk & HIGH_NIBBLES) ^ ZEROS)
        | ((chunk.wrapping_add(0x0606_0606_0606_0606) & HIGH_NIBBLES) ^ ZEROS);
    let non_digits = (off | off << 1 | off << 2 | off << 3) & 0x8080_8080_8080_8080;
    let count = (non_digits.trailing_zeros() / 8) as usize;
    if count == 0 {
        return (0, 0);
    }
    // The digits' values at the top, zeros (leading zeros of the number) below; a borrow from a
    // non-digit only reaches bytes after it, which the shift drops.
    let v = chunk.wrapping_sub(ZEROS) << (8 * (8 - count));
    // Pairs, then fours, then all eight (the multiply-and-shift combination fast_float uses).
    let v = v.wrapping_mul(10).wrapping_add(v >> 8);
    let v = ((v & 0x0000_00FF_0000_00FF)
        .wrapping_mul(100 + (1_000_000 << 32))
        .wrapping_add(((v >> 16) & 0x0000_00FF_0000_00FF).wrapping_mul(1 + (10_000 << 32))))
        >> 32;
    (v & 0xFFFF_FFFF, count)
}

/// 10^k for the digits of a fraction read eight bytes at a time.
const POWERS_OF_TEN_U64: [u64; 8] = [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000];

/// [`scan_cell`] a byte at a time: any length, any position in the piece.
fn scan_cell_bytewise(bytes: &[u8], at: usize, delimiter: u8) -> (Option<Decimal>, usize) {
    let ends_cell = |b: u8| b == delimiter || b == b'\n' || b == b'\r';
    let mut i = at;
    let negative = match bytes.get(i) {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let (mut mantissa, mut count, mut scale, mut point) = (0u64, 0usize, 0usize, false);
    while let Some(&b) = bytes.get(i) {
        let digit = b.wrapping_sub(b'0');
        if digit < 10 {
            mantissa = mantissa.wrapping_mul(10).wrapping_add(u64::from(digit));
            count += 1;
            scale += usize::from(point);
        } else if b == b'.' && !point {
            point = true;
        } else {
            break;
        }
        i += 1;
    }
    let ended = bytes.get(i).is_none_or(|&b| ends_cell(b));
    if ended && count > 0 && count <= 19 && mantissa <= 1 << 53 && scale < EXACT_POWERS_OF_TEN.len() {
        return (Some(Decimal { mantissa, scale, negative }), i);
    }
    let end = bytes[i..].iter().position(|&b| ends_cell(b)).map_or(bytes.len(), |n| i + n);
    (None, end)
}

/// Powers of ten a double holds exactly.
const EXACT_POWERS_OF_TEN: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18,
    1e19, 1e20, 1e21, 1e22,
];

/// A plain decimal (`-12.5`, `3`, `.25`, `+7.`) read exactly as `str::parse::<f64>` reads it,
/// several times faster; `None` for anything else (an exponent, over 19 digits, text), which the
/// caller then gives to `parse`. Exact: the digits make an integer below 2^53 and the divisor is
/// a power of ten up to 10^22, both held exactly by a double, so the one division rounds
/// correctly, as `parse` does (Clinger's fast path).
pub fn plain_decimal(s: &[u8]) -> Option<f64> {
    match scan_cell_bytewise(s, 0, b'\n') {
        (Some(decimal), end) if end == s.len() => Some(decimal.to_f64()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// When `plain_decimal` reads a cell, it gives `parse::<f64>`'s value bit for bit.
    fn agrees(s: &str) {
        let by_std = s.parse::<f64>().ok();
        if let Some(v) = plain_decimal(s.as_bytes()) {
            assert_eq!(Some(v.to_bits()), by_std.map(f64::to_bits), "{s:?}");
        }
    }

    #[test]
    fn plain_decimals_read_exactly_as_parse_reads_them() {
        for s in [
            "0",
            "-0",
            "+0",
            "-0.0",
            "5.",
            ".5",
            "-.5",
            "+7.",
            "3.14159",
            "0.1",
            "0.3",
            "-12.3456",
            "9007199254740992",
            "9007199254740993",
            "1234567890123456789",
            "12345678901234567890",
            "0.0000000000000000000001",
            "0.00000000000000000000001",
            "1e5",
            ".",
            "-",
            "+",
            "",
            "1.2.3",
            "--1",
            "1,5",
            " 1",
            "nan",
            "inf",
        ] {
            agrees(s);
        }
        for s in
            ["1e5", ".", "-", "", "1.2.3", "1,5", " 1", "nan", "9007199254740993", "12345678901234567890"]
        {
            assert_eq!(plain_decimal(s.as_bytes()), None, "{s:?} is left to parse");
        }
        // Random decimals of every length and scale (a fixed LCG: the same cases every run).
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = || {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            state >> 33
        };
        for _ in 0..200_000 {
            let digits = 1 + next() as usize % 19;
            let mut s: String = (0..digits).map(|_| char::from(b'0' + (next() % 10) as u8)).collect();
            let point = next() as usize % (digits + 2);
            if point <= digits {
                s.insert(point, '.');
            }
            if next() % 2 == 0 {
                s.insert(0, '-');
            }
            agrees(&s);
            if digits <= 15 {
                // Below 2^53 whatever the digits: always taken, never left to parse.
                assert!(plain_decimal(s.as_bytes()).is_some(), "{s:?} is plain");
            }
        }
    }

    /// Every way into `scan_cell` (eight at a time, or a byte at a time near the piece's end)
    /// gives `parse`'s value and the cell's end.
    #[test]
    fn scanning_cells_agrees_with_parse_eight_at_a_time_and_bytewise() {
        let mut cases: Vec<String> = [
            "0",
            "-0",
            "+5",
            "5.",
            ".5",
            "-.5",
            "1234567",
            "12345678",
            "123456789",
            "0.1234567",
            "0.12345678",
            "-9999999.9999999",
            "3.14",
            "1e5",
            "12a",
            "",
            "-",
            ".",
            "nan",
            "7.0.1",
            " 1",
            "\u{e9}1",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let mut state: u64 = 7;
        for _ in 0..100_000 {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let digits = 1 + (state >> 33) as usize % 16;
            let mut s: String =
                (0..digits).map(|k| char::from(b'0' + ((state >> (k * 3 % 60)) % 10) as u8)).collect();
            if !(state >> 40).is_multiple_of(3) {
                s.insert((state >> 20) as usize % (digits + 1), '.');
            }
            if (state >> 50).is_multiple_of(2) {
                s.insert(0, '-');
            }
            cases.push(s);
        }
        for cell in &cases {
            let by_parse = if cell.trim() != cell.as_str() {
                None
            } else {
                cell.parse::<f64>().ok().filter(|v| v.is_finite())
            };
            for (line, padded) in [(format!("{cell},rest of the row\n"), true), (format!("{cell}\n"), false)]
            {
                let (value, end) = scan_cell(line.as_bytes(), 0, b',');
                let value = value.map(Decimal::to_f64);
                assert_eq!(end, cell.len(), "{line:?}: the cell's end");
                if let Some(v) = value {
                    assert_eq!(Some(v.to_bits()), by_parse.map(f64::to_bits), "{line:?}");
                }
                let plain = cell.len() <= 15
                    && !cell.is_empty()
                    && cell.bytes().all(|b| b.is_ascii_digit() || b == b'.' || b == b'-' || b == b'+');
                if padded && plain && by_parse.is_some() {
                    assert!(value.is_some(), "{cell:?} is plain: read, not left to parse");
                }
            }
        }
    }

    #[test]
    fn leading_digits_reads_up_to_eight() {
        let of = |s: &[u8; 8]| leading_digits(u64::from_le_bytes(*s));
        assert_eq!(of(b"12345678"), (12_345_678, 8));
        assert_eq!(of(b"0012,xyz"), (12, 4));
        assert_eq!(of(b"9,999999"), (9, 1));
        assert_eq!(of(b",1234567"), (0, 0));
        assert_eq!(of(b"1\xff345678"), (1, 1));
        assert_eq!(of(b"\xfa\xfa345678"), (0, 0));
    }
}
