//! Reading the numbers of a CSV's cells fast, and exactly as `str::parse::<f64>` reads them.
//!
//! Most cells of a numeric table are plain decimals (`-12.3456`, `7`, `4.123457e-05`). Their
//! digits are read eight bytes at a time (SWAR: a few integer operations find where the digits
//! end and add them up, with no branch per byte to mispredict) into an integer and a power of ten.
//! The value is then that integer divided or multiplied by the power: exact, because both are held
//! exactly by a double (the integer at most 2^53, the power at most 10^22), so the one operation
//! rounds correctly, as `parse` does (Clinger's fast path). A wider integer (pandas writes 17
//! digits) gives the float32 the staged table holds, as [`Decimal::to_f32`] says; anything else
//! (over 19 digits, a far exponent, text) is left to `parse`.

/// A plain decimal's digits as an integer, a power of ten and the sign: the value is
/// `±mantissa × 10^power`, with `mantissa` below 10^19 and `power` within ±22.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decimal {
    mantissa: u64,
    power: i32,
    negative: bool,
}

impl Decimal {
    /// The double `parse::<f64>` gives, when one operation gets it exactly: a mantissa at most
    /// 2^53 divided or multiplied by an exact power of ten rounds once, correctly (Clinger's fast
    /// path). `None` for a wider mantissa, which is left to `parse`.
    pub fn to_f64(self) -> Option<f64> {
        (self.mantissa <= 1 << 53).then(|| self.approximate())
    }

    /// The float32 of the double `parse::<f64>` gives (what pandas' float32 values are), also for
    /// a mantissa of up to 19 digits (pandas writes 17). Its double is then within 3 units in the
    /// last place of the correctly rounded one; the two round to the same float32 unless a
    /// float32 rounding boundary (a midpoint between two of them, held exactly by a double) lies
    /// within a few units of it, and for those rare cells `None` leaves them to `parse`.
    pub fn to_f32(self) -> Option<f32> {
        if let Some(v) = self.to_f64() {
            return Some(v as f32);
        }
        f32_clear_of_midpoints(self.approximate())
    }

    /// The mantissa as a double (rounded when over 2^53), then one division or multiplication.
    fn approximate(self) -> f64 {
        let power = EXACT_POWERS_OF_TEN[self.power.unsigned_abs() as usize];
        let magnitude =
            if self.power < 0 { self.mantissa as f64 / power } else { self.mantissa as f64 * power };
        f64::from_bits(magnitude.to_bits() | u64::from(self.negative) << 63)
    }
}

/// `v` as a float32, when `v` is within a few units in the last place of a double whose float32
/// is wanted: `None` when a float32 rounding boundary (a midpoint between two of them, held
/// exactly by a double) lies within 16 units of `v`, where the two could round apart.
#[inline(always)]
fn f32_clear_of_midpoints(v: f64) -> Option<f32> {
    clear_of_midpoints(v).then_some(v as f32)
}

/// Whether no float32 rounding boundary lies within 16 units in the last place of `v`.
#[inline(always)]
fn clear_of_midpoints(v: f64) -> bool {
    // The low 29 bits of a double's significand are what a float32 drops; a midpoint is 1 << 28.
    // (Zero drops nothing: it passes.) Within 16 of it, the dropped bits less (1 << 28) - 16 are
    // 0 to 32; wrapped in 29 bits, anything else is more: one subtraction, one mask, one compare.
    const LOW_29: u64 = (1 << 29) - 1;
    (v.to_bits().wrapping_sub((1 << 28) - 16) & LOW_29) > 32
}

/// Whether `b` ends a cell: the delimiter or a line end.
#[inline(always)]
fn ends_cell(b: u8, delimiter: u8) -> bool {
    b == delimiter || b == b'\n' || b == b'\r'
}

/// The eight bytes at `bytes[i..]` as one integer (the first byte lowest); `None` where fewer remain.
#[inline(always)]
fn eight_at(bytes: &[u8], i: usize) -> Option<u64> {
    bytes.get(i..i + 8).and_then(|b| b.try_into().ok()).map(u64::from_le_bytes)
}

/// `magnitude` with the sign bit set when `negative`.
#[inline(always)]
fn with_sign(magnitude: f32, negative: bool) -> f32 {
    f32::from_bits(magnitude.to_bits() | u32::from(negative) << 31)
}

/// The ASCII digits that begin these eight bytes (the first byte lowest): their value and how
/// many there are (8 when all are digits).
#[inline(always)]
fn leading_digits(chunk: u64) -> (u64, usize) {
    let count = digit_count(chunk);
    (digits_value(chunk, count), count)
}

/// How many ASCII digits begin these eight bytes.
#[inline(always)]
fn digit_count(chunk: u64) -> usize {
    // A digit byte stays below 0x80 both plus 0x46 (at most 0x7F) and minus 0x30 (at least 0,
    // no borrow); every other byte sets the high bit in one of the two. A carry or borrow out of
    // a non-digit only reaches later bytes, past the first non-digit, which is all that counts.
    let non_digits =
        (chunk.wrapping_add(0x4646_4646_4646_4646) | chunk.wrapping_sub(ZERO_BYTES)) & 0x8080_8080_8080_8080;
    (non_digits.trailing_zeros() / 8) as usize
}

/// The value of the `count` digits that begin these eight bytes.
#[inline(always)]
fn digits_value(chunk: u64, count: usize) -> u64 {
    if count == 0 {
        return 0;
    }
    // The digits' values at the top, zeros (leading zeros of the number) below; a borrow from a
    // non-digit only reaches bytes after it, which the shift drops.
    let v = chunk.wrapping_sub(ZERO_BYTES) << (8 * (8 - count));
    // Pairs, then fours, then all eight (the multiply-and-shift combination fast_float uses).
    let v = v.wrapping_mul(10).wrapping_add(v >> 8);
    let v = ((v & 0x0000_00FF_0000_00FF)
        .wrapping_mul(100 + (1_000_000 << 32))
        .wrapping_add(((v >> 16) & 0x0000_00FF_0000_00FF).wrapping_mul(1 + (10_000 << 32))))
        >> 32;
    v & 0xFFFF_FFFF
}

/// 10^k for up to eight digits read at once.
const POWERS_OF_TEN_U64: [u64; 9] = [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000];

/// Scan the cell at `bytes[at..]` to its end (a delimiter, a line end, the end of the piece),
/// reading it on the way when it is a plain decimal (the usual short one in one go, eight bytes
/// at a time; any other with its digits eight at a time where eight bytes remain): the number (`None` when the cell isn't plain: text, an empty
/// cell, over 19 digits, an exponent too far for an exact power) and where the cell ends.
pub fn scan_cell(bytes: &[u8], at: usize, delimiter: u8) -> (Option<Decimal>, usize) {
    scan_cell_by_eights(bytes, at, delimiter).unwrap_or_else(|| scan_any_cell(bytes, at, delimiter))
}

/// [`scan_cell`] for the usual cell, eight bytes at a time: an optional sign, up to 7 digits, an
/// optional point and up to 7 digits. `None` for anything else, and near the end of the piece.
fn scan_cell_by_eights(bytes: &[u8], at: usize, delimiter: u8) -> Option<(Option<Decimal>, usize)> {
    let eight = |i: usize| eight_at(bytes, i);
    let first = *bytes.get(at)?;
    let negative = first == b'-';
    let mut i = at + usize::from(negative || first == b'+');
    let (whole, whole_digits) = leading_digits(eight(i)?);
    if whole_digits == 8 {
        return None;
    }
    i += whole_digits;
    let (mut mantissa, mut digits, mut power) = (whole, whole_digits, 0);
    if bytes.get(i) == Some(&b'.') {
        i += 1;
        let (fraction, fraction_digits) = leading_digits(eight(i)?);
        if fraction_digits == 8 {
            return None;
        }
        mantissa = mantissa * POWERS_OF_TEN_U64[fraction_digits] + fraction;
        digits += fraction_digits;
        power = -(fraction_digits as i32);
        i += fraction_digits;
    }
    let ended = bytes.get(i).is_none_or(|&b| ends_cell(b, delimiter));
    if !ended || digits == 0 {
        return None;
    }
    // At most 14 digits: below 2^53, and the power at least -7.
    Some((Some(Decimal { mantissa, power, negative }), i))
}

/// [`scan_cell`] for any cell: any length, any position in the piece.
fn scan_any_cell(bytes: &[u8], at: usize, delimiter: u8) -> (Option<Decimal>, usize) {
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
    let mut digits = Digits::default();
    i = digits.take(bytes, i);
    let mut scale = 0;
    if bytes.get(i) == Some(&b'.') {
        let whole = digits.count;
        i = digits.take(bytes, i + 1);
        scale = digits.count - whole;
    }
    let (mantissa, count, significant) = (digits.mantissa, digits.count, digits.significant);
    let mut power = -(scale.min(1000) as i32);
    if count > 0 && matches!(bytes.get(i), Some(b'e' | b'E')) {
        match exponent(bytes, i + 1) {
            Some((exponent, end)) => {
                power += exponent;
                i = end;
            }
            // `1e`, `1e+`, `1ex`: not a number; the cell's end is found below.
            None => return (None, cell_end(bytes, i + 1, delimiter)),
        }
    }
    let ended = bytes.get(i).is_none_or(|&b| ends_cell(b, delimiter));
    let exact_power = (power.unsigned_abs() as usize) < EXACT_POWERS_OF_TEN.len();
    if ended && count > 0 && significant <= 19 && exact_power {
        return (Some(Decimal { mantissa, power, negative }), i);
    }
    (None, cell_end(bytes, i, delimiter))
}

/// Where the cell that goes on at `bytes[i]` ends.
pub fn cell_end(bytes: &[u8], i: usize, delimiter: u8) -> usize {
    bytes[i..].iter().position(|&b| ends_cell(b, delimiter)).map_or(bytes.len(), |n| i + n)
}

/// A run of digits read so far: their value while they number at most 19 (a u64 holds it), and
/// how many there are.
#[derive(Default)]
struct Digits {
    mantissa: u64,
    count: usize,
    /// Digits from the first non-zero one: `0.000239...` (pandas' repr below 1e-4 is
    /// `2.39...e-04`, above it leading zeros) holds 17 in 21.
    significant: usize,
}

impl Digits {
    /// Take the digits that begin at `bytes[at]`, eight at a time while eight bytes remain, and
    /// return where they end. Past 19 significant digits only the counts go on (the value is
    /// then left to `parse`).
    fn take(&mut self, bytes: &[u8], mut at: usize) -> usize {
        while let Some(chunk) = eight_at(bytes, at) {
            let (value, n) = leading_digits(chunk);
            self.push(value, n);
            at += n;
            if n < 8 {
                return at;
            }
        }
        while let Some(digit) = bytes.get(at).map(|b| b.wrapping_sub(b'0')).filter(|&d| d < 10) {
            self.push(u64::from(digit), 1);
            at += 1;
        }
        at
    }

    fn push(&mut self, value: u64, n: usize) {
        let significant =
            if self.mantissa == 0 { value.checked_ilog10().map_or(0, |l| l as usize + 1) } else { n };
        if self.significant + significant <= 19 {
            self.mantissa = self.mantissa * POWERS_OF_TEN_U64[n] + value;
        }
        self.significant += significant;
        self.count += n;
    }
}

/// The exponent that begins at `bytes[at]` (after the `e`): an optional sign and 1 to 4 digits
/// (more can't make an exact power, and a long run of them is left to `parse`), and its end.
fn exponent(bytes: &[u8], at: usize) -> Option<(i32, usize)> {
    let (negative, mut i) = match bytes.get(at) {
        Some(b'-') => (true, at + 1),
        Some(b'+') => (false, at + 1),
        _ => (false, at),
    };
    let first = i;
    let mut value = 0i32;
    while let Some(&b) = bytes.get(i) {
        let digit = b.wrapping_sub(b'0');
        if digit >= 10 || i - first == 4 {
            break;
        }
        value = value * 10 + i32::from(digit);
        i += 1;
    }
    (i > first).then_some((if negative { -value } else { value }, i))
}

/// Powers of ten a double holds exactly.
const EXACT_POWERS_OF_TEN: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18,
    1e19, 1e20, 1e21, 1e22,
];

/// The float32 of a feature cell at `bytes[at..]` and where the cell ends, in one pass, for
/// the cells CSVs usually hold: an optional sign, digits with an optional point (leading zeros
/// after `0.` aren't counted), up to 19 significant digits, an optional exponent of up to three
/// digits. `None` for anything else, and where fewer than eight bytes remain after a part of
/// it, so that [`scan_cell`] reads it the complete way.
///
/// The value is the digits as an integer times one correctly rounded power of ten: one
/// multiplication instead of a division, so within a few units in the last place of the double
/// `parse::<f64>` gives. That double and this one round to the same float32 unless a float32
/// midpoint lies within a few units of it; such a cell (one in tens of millions) gets `None`
/// too, as does a value outside float32's normal range.
#[inline(always)]
pub fn fast_f32(bytes: &[u8], at: usize, delimiter: u8) -> Option<(f32, usize)> {
    let eight = |i: usize| eight_at(bytes, i);
    let first = *bytes.get(at)?;
    let negative = first == b'-';
    // `|`, not `||`: the sign is as likely as not, so a branch on it would be guessed wrong half the time.
    let start = at + usize::from(negative | (first == b'+'));
    let chunk = eight(start)?;
    let whole_digits = digit_count(chunk);
    if whole_digits < 8 && (chunk >> (8 * whole_digits)) as u8 == b'.' {
        // The usual short decimal (`-45.1234`, `.5`, `7.312715e-03`): the bytes around the point
        // made one run of digits, read in one go.
        let low = (1u64 << (8 * whole_digits)) - 1;
        let joined = (chunk & low) | (eight(start + 1)? & !low);
        let digits = digit_count(joined);
        if digits < 8 {
            let rest = (joined >> (8 * digits)) as u8;
            let end = start + digits + 1;
            return finish_f32(
                bytes,
                end,
                rest,
                digits_value(joined, digits),
                whole_digits as i32 - digits as i32,
                negative,
                delimiter,
                digits > 0,
            );
        }
        // Eight digits around the point (pandas writes up to 17): the fraction goes on from there.
        let leading_zeros = ((joined ^ ZERO_BYTES).trailing_zeros() / 8) as usize;
        let mut run = DigitRun {
            mantissa: digits_value(joined, 8),
            significant: 8 - leading_zeros,
            power: whole_digits as i32 - 8,
            end: start + 9,
        };
        let next = run.read_on(bytes, true)?;
        return finish_f32(bytes, run.end, next, run.mantissa, run.power, negative, delimiter, true);
    }
    let after = (chunk >> (8 * whole_digits.min(7))) as u8;
    if whole_digits > 0 && whole_digits < 8 && ends_cell(after, delimiter) {
        // An integer of up to seven digits: below 2^24, a float32 exactly.
        let value = digits_value(chunk, whole_digits) as f32;
        return Some((with_sign(value, negative), start + whole_digits));
    }
    let mantissa = digits_value(chunk, whole_digits);
    // Significant digits so far: a zero whole part has none.
    let significant = if mantissa == 0 { 0 } else { whole_digits };
    let mut run = DigitRun { mantissa, significant, power: 0, end: start + whole_digits };
    // The byte after the digits, from the eight already read unless all eight were digits.
    let mut next = if whole_digits == 8 { run.read_on(bytes, false)? } else { after };
    let point = next == b'.';
    if point {
        run.end += 1;
        if run.mantissa == 0 {
            // `0.000239...`: the zeros only move the point.
            let zeros = ((eight(run.end)? ^ ZERO_BYTES).trailing_zeros() / 8) as usize;
            if zeros == 8 {
                return None;
            }
            run.end += zeros;
            run.power -= zeros as i32;
        }
        next = run.read_on(bytes, true)?;
    }
    let DigitRun { mantissa, power, end: i, .. } = run;
    // A digit somewhere: more than the sign and the point was read.
    let any_digit = i > start + usize::from(point);
    finish_f32(bytes, i, next, mantissa, power, negative, delimiter, any_digit)
}

/// Digits read so far in [`fast_f32`]: their value, how many of them are significant, the power
/// of ten they are scaled by, and where they end.
struct DigitRun {
    mantissa: u64,
    significant: usize,
    power: i32,
    end: usize,
}

impl DigitRun {
    /// Read on from `bytes[end]` eight bytes at a time while digits follow (each lowering the power
    /// in a `fraction`); the byte after the last one. `None` past 19 significant digits, and where
    /// fewer than eight bytes remain.
    #[inline(always)]
    fn read_on(&mut self, bytes: &[u8], fraction: bool) -> Option<u8> {
        loop {
            let chunk = eight_at(bytes, self.end)?;
            let (value, digits) = leading_digits(chunk);
            self.significant += digits;
            if self.significant > 19 {
                return None;
            }
            self.mantissa = self.mantissa * POWERS_OF_TEN_U64[digits] + value;
            if fraction {
                self.power -= digits as i32;
            }
            self.end += digits;
            if digits < 8 {
                return Some((chunk >> (8 * digits)) as u8);
            }
        }
    }
}

/// The rest of [`fast_f32`] once the digits are read (`mantissa`, `power`; `next` is the byte at
/// `bytes[i]`): an optional exponent, the cell's end, and the float32.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn finish_f32(
    bytes: &[u8],
    mut i: usize,
    mut next: u8,
    mantissa: u64,
    mut power: i32,
    negative: bool,
    delimiter: u8,
    any_digit: bool,
) -> Option<(f32, usize)> {
    if !any_digit {
        return None;
    }
    if next | 0x20 == b'e' {
        // `e`, an optional sign and up to three digits, all in the eight bytes from the `e`.
        let chunk = eight_at(bytes, i)?;
        let sign = (chunk >> 8) as u8;
        let exponent_negative = sign == b'-';
        let signed = usize::from(exponent_negative | (sign == b'+'));
        let chunk = chunk >> (8 * (1 + signed));
        let digits = digit_count(chunk);
        let digit = |k: usize| i32::from((chunk >> (8 * k)) as u8) - i32::from(b'0');
        let exponent = match digits {
            1 => digit(0),
            2 => digit(0) * 10 + digit(1),
            3 => digit(0) * 100 + digit(1) * 10 + digit(2),
            _ => return None,
        };
        i += 1 + signed + digits;
        next = (chunk >> (8 * digits)) as u8;
        let exponent_sign = -i32::from(exponent_negative);
        power += (exponent ^ exponent_sign) - exponent_sign;
    }
    if !ends_cell(next, delimiter) {
        return None;
    }
    // The table's range keeps a non-zero value within float32's normal range: at least
    // 1 × 10^-37, below 10^19 × 10^18.
    // One bounds check: a power below -37 wraps to an index past the table's end.
    let scale = *POWERS_OF_TEN_FOR_F32.get(power.wrapping_add(37) as u32 as usize)?;
    // Below 10^19 < 2^63: a signed conversion, one instruction where an unsigned one takes several.
    // The product is within 8 units in the last place of the exact value.
    let product = mantissa as i64 as f64 * scale;
    // With a power of 0 or more the product is exact while below 2^53 (an integer times a power
    // held exactly): `parse`'s double itself, whose float32 is wanted even on a float32 midpoint,
    // where a whole number past 2^24 often lies (`5.861341E+07`, one cell in sixty of a `%E` file).
    // The midpoint test first: it passes for all but a few cells, so the branch is foreseen.
    let exact = || power >= 0 && product < TWO_TO_53;
    if !(clear_of_midpoints(product) || exact()) {
        return None;
    }
    Some((with_sign(product as f32, negative), i))
}

/// 2^53: integers below it are all held exactly by a double.
const TWO_TO_53: f64 = 9_007_199_254_740_992.0;

/// Eight `0` bytes.
const ZERO_BYTES: u64 = 0x3030_3030_3030_3030;

/// 10^-37 ..= 10^18, each the double nearest to it (as Rust reads the literal).
const POWERS_OF_TEN_FOR_F32: [f64; 56] = [
    1e-37, 1e-36, 1e-35, 1e-34, 1e-33, 1e-32, 1e-31, 1e-30, 1e-29, 1e-28, 1e-27, 1e-26, 1e-25, 1e-24, 1e-23,
    1e-22, 1e-21, 1e-20, 1e-19, 1e-18, 1e-17, 1e-16, 1e-15, 1e-14, 1e-13, 1e-12, 1e-11, 1e-10, 1e-9, 1e-8,
    1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18,
];

/// A plain decimal (`-12.5`, `3`, `.25`, `+7.`) read exactly as `str::parse::<f64>` reads it,
/// several times faster; `None` for anything else (an exponent, over 19 digits, text), which the
/// caller then gives to `parse`. Exact: the digits make an integer below 2^53 and the divisor is
/// a power of ten up to 10^22, both held exactly by a double, so the one division rounds
/// correctly, as `parse` does (Clinger's fast path).
pub fn plain_decimal(s: &[u8]) -> Option<f64> {
    match scan_cell(s, 0, b'\n') {
        (Some(decimal), end) if end == s.len() => decimal.to_f64(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Zeros with every sign, and points with nothing on one side.
    const SIGNS_AND_POINTS: [&str; 8] = ["0", "-0", "+0", "-0.0", "5.", ".5", "-.5", "+7."];

    /// When `plain_decimal` reads a cell, it gives `parse::<f64>`'s value bit for bit.
    fn agrees(s: &str) {
        let by_std = s.parse::<f64>().ok();
        if let Some(v) = plain_decimal(s.as_bytes()) {
            assert_eq!(Some(v.to_bits()), by_std.map(f64::to_bits), "{s:?}");
        }
    }

    #[test]
    fn plain_decimals_read_exactly_as_parse_reads_them() {
        for s in SIGNS_AND_POINTS.into_iter().chain([
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
        ]) {
            agrees(s);
        }
        for s in [".", "-", "", "1.2.3", "1,5", " 1", "nan", "9007199254740993", "12345678901234567890", "1e"]
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

    /// Exponents (`e-05`, `E+12`) within an exact power of ten are read; the rest is left to
    /// `parse`, and nothing `parse` refuses is read.
    #[test]
    fn exponents_read_exactly_as_parse_reads_them() {
        let read = [
            "1e5",
            "1E5",
            "1e+5",
            "1e-5",
            "4.123457e-05",
            "-3.25E+12",
            "+2.5e3",
            ".5e1",
            "5.e2",
            "1e22",
            "1e-22",
            "123.456e-19",
            "9007199254740992e22",
            "0e0",
            "1e0022",
        ];
        for s in read {
            agrees(s);
            assert!(plain_decimal(s.as_bytes()).is_some(), "{s:?} is read");
        }
        let left = [
            "1e23",
            "123.456e-20",
            "1e-23",
            "1.5e-22",
            "1e",
            "1e+",
            "1e-",
            "e5",
            ".e5",
            "1e5.0",
            "1e5e5",
            "1ee5",
            "1e00001",
            "1e 5",
        ];
        for s in left {
            agrees(s);
            assert_eq!(plain_decimal(s.as_bytes()), None, "{s:?} is left to parse");
        }
        // Random mantissas and exponents (a fixed LCG: the same cases every run).
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..200_000 {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let digits = 1 + (state >> 33) as usize % 17;
            let mut s: String =
                (0..digits).map(|k| char::from(b'0' + ((state >> (k * 3 % 60)) % 10) as u8)).collect();
            s.insert((state >> 20) as usize % (digits + 1), '.');
            let e = (state >> 45) as i64 % 60 - 30;
            s.push_str(&format!("{}{e:+03}", if state >> 62 == 0 { 'E' } else { 'e' }));
            agrees(&s);
            let line = format!("{s},next\n");
            let (value, end) = scan_cell(line.as_bytes(), 0, b',');
            assert_eq!(end, s.len(), "{line:?}: the cell's end");
            if let Some(v) = value {
                let by_parse = s.parse::<f64>().unwrap();
                if let Some(v) = v.to_f64() {
                    assert_eq!(v.to_bits(), by_parse.to_bits(), "{s:?}");
                }
                if let Some(v) = v.to_f32() {
                    assert_eq!(v.to_bits(), (by_parse as f32).to_bits(), "{s:?}: the float32");
                }
            }
        }
    }

    /// pandas writes a double with up to 17 significant digits: read into a float32 exactly as
    /// the correctly rounded double's float32, and left to `parse` next to a float32 midpoint.
    #[test]
    fn full_precision_cells_give_the_float32_of_the_correctly_rounded_double() {
        let mut state: u64 = 0x0123_4567_89ab_cdef;
        let (mut read, mut total) = (0, 0);
        for _ in 0..300_000 {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            // Any 53 bits times 10^-6..10^6, written at full precision as Python's repr writes
            // it (an exponent below 1e-4), and also always with an exponent.
            let unit = (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
            let v = unit * 10f64.powi((state % 13) as i32 - 6);
            let repr = if v.abs() < 1e-4 { format!("{v:e}") } else { format!("{v}") };
            for cell in [repr, format!("{v:e}"), format!("{v:E}")] {
                let line = format!("{cell},x\n");
                let (value, end) = scan_cell(line.as_bytes(), 0, b',');
                assert_eq!(end, cell.len(), "{cell}");
                let expected = (cell.parse::<f64>().unwrap() as f32).to_bits();
                total += 1;
                if let Some(f) = value.and_then(Decimal::to_f32) {
                    assert_eq!(f.to_bits(), expected, "{cell}");
                    read += 1;
                }
            }
        }
        assert!(read * 10 > total * 9, "{read} of {total} read without parse");
        // 16777217 is the midpoint between the float32s 16777216 and 16777218.
        for cell in ["16777217.00000000001", "16777216.99999999999", "-16777217.0000000000"] {
            let (value, _) = scan_cell(cell.as_bytes(), 0, b',');
            let expected = (cell.parse::<f64>().unwrap() as f32).to_bits();
            if let Some(f) = value.and_then(Decimal::to_f32) {
                assert_eq!(f.to_bits(), expected, "{cell}");
            }
        }
        // Leading zeros aren't significant: 17 digits after them are still read.
        let (small, _) = scan_cell(b"0.00023962465575428485", 0, b',');
        let expected = "0.00023962465575428485".parse::<f64>().unwrap() as f32;
        assert_eq!(small.and_then(Decimal::to_f32).map(f32::to_bits), Some(expected.to_bits()));
        let (near, _) = scan_cell(b"16777217.00000000001", 0, b',');
        assert_eq!(near.and_then(Decimal::to_f32), None, "next to a midpoint: left to parse");
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
                let value = value.and_then(Decimal::to_f64);
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

    /// `fast_f32` gives the float32 of `parse::<f64>`'s value and the cell's end, or leaves the
    /// cell to the complete way; the usual cells (pandas' full precision, short decimals,
    /// exponents, signs) are all read by it.
    #[test]
    fn fast_f32_agrees_with_parse_or_declines() {
        let check = |cell: &str, must_read: bool| {
            for line in [
                format!("{cell},next,row\n"),
                format!("{cell}\r\nnext,row\n"),
                format!("{cell}\n1,2,3,4,5,6\n"),
            ] {
                let read = fast_f32(line.as_bytes(), 0, b',');
                if let Some((v, end)) = read {
                    let by_parse =
                        cell.parse::<f64>().unwrap_or_else(|e| panic!("{cell:?} read, parse says {e}"));
                    assert_eq!(v.to_bits(), (by_parse as f32).to_bits(), "{cell:?}");
                    assert_eq!(end, cell.len(), "{cell:?}: the cell's end");
                } else {
                    assert!(!must_read, "{cell:?} is usual: read, not declined");
                }
            }
        };
        for cell in SIGNS_AND_POINTS.into_iter().chain([
            "3.14159",
            "-12.3456",
            "1e5",
            "1E-5",
            "-4.123457e-05",
            "+2.5E+12",
            "0.00023962465575428485",
            "-5.6837357020106044e-06",
            // Whole numbers on a float32 midpoint: exact products, rounded to the even one.
            "16777217",
            "33554434",
            "5.861341E+07",
            "-8.300536e+08",
        ]) {
            check(cell, true);
        }
        for cell in [
            "",
            "-",
            "+",
            ".",
            "e5",
            ".e5",
            "1e",
            "1e+",
            "1e5.0",
            "12a",
            "1.2.3",
            " 1",
            "1 ",
            "nan",
            "inf",
            "-inf",
            "1e0001",
            "123456789012345678901",
            "0.000000001234",
            "1e-50",
            "3e40",
            "\u{e9}1",
        ] {
            check(cell, false);
        }
        // Random cells of every usual form (a fixed LCG: the same cases every run).
        let mut state: u64 = 0x5851_f42d_4c95_7f2d;
        let mut next = || {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            state >> 11
        };
        let mut declined = 0;
        for n in 0..360_000 {
            let unit = next() as f64 / (1u64 << 53) as f64 - 0.5;
            // Plain forms within pandas' range for them (1e-4 up), exponents from 1e-20 to 1e6.
            let (near, far) =
                (unit * 10f64.powi((next() % 10) as i32 - 3), unit * 10f64.powi((next() % 27) as i32 - 20));
            let cell = match n % 6 {
                0 => format!("{near}"),
                1 => format!("{far:e}"),
                2 => format!("{near:.4}"),
                3 => format!("{far:+.6E}"),
                // Whole numbers past 2^24, many of them on a float32 midpoint.
                4 => format!("{:.6E}", unit * 10f64.powi(7 + (next() % 6) as i32)),
                _ => format!("{}", (unit * 3e9) as i64),
            };
            let line = format!("{cell},x,and the rest of the row\n");
            match fast_f32(line.as_bytes(), 0, b',') {
                Some((f, end)) => {
                    assert_eq!(f.to_bits(), (cell.parse::<f64>().unwrap() as f32).to_bits(), "{cell}");
                    assert_eq!(end, cell.len(), "{cell}");
                }
                None => declined += 1,
            }
        }
        // Declined: inexact products next to a float32 midpoint, and 17 digits times 10^-37 or
        // less (a `unit` near zero).
        assert!(declined < 300, "{declined} of 360000 usual cells declined");
    }

    #[test]
    fn the_midpoint_test_is_the_distance_of_the_dropped_bits_to_the_midpoint() {
        for high in [0u64, 1 << 29, 0x3ff0_0000_0000_0000, 0xc1e0_0000_2000_0000] {
            for dropped in (0..80).map(|k| (1u64 << 28) - 40 + k).chain([0, 1, (1 << 29) - 1, 1 << 27]) {
                let v = f64::from_bits(high | dropped);
                assert_eq!(clear_of_midpoints(v), dropped.abs_diff(1 << 28) > 16, "{high:x} {dropped:x}");
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
