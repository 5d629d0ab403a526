//! NumPy's `.npy` format (and `.npz`, a zip of them): a magic string, a version, a Python dict
//! literal with `descr`, `fortran_order` and `shape`, then the values in C order.
//!
//! A small parser of our own instead of a crate: the header is three keys, and owning it lets
//! every size be checked against the `[images]` byte limits before anything is allocated (a lying
//! shape can't make us reserve gigabytes). Structured dtypes, objects and Fortran order are
//! refused with a message that says what to do.
use std::io::Read;

use crate::data::error::EntryError;

/// The `.npy` magic string.
const MAGIC: &[u8] = b"\x93NUMPY";
/// Headers larger than this are refused (NumPy's own are a few hundred bytes).
const MAX_HEADER: usize = 1 << 20;

/// Whether a file name is the inputs of an `.npy` pair (`NAME_x.npy`); the dataset's name then.
pub fn pair_name(file_name: &str) -> Option<&str> {
    file_name.strip_suffix("_x.npy").or_else(|| file_name.strip_suffix("_X.npy")).filter(|n| !n.is_empty())
}

/// The element kinds read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `f`: IEEE floats of 2, 4 or 8 bytes.
    Float,
    /// `i`: signed integers of 1, 2, 4 or 8 bytes.
    Int,
    /// `u`: unsigned integers of 1, 2, 4 or 8 bytes.
    Uint,
    /// `b`: booleans, one byte each.
    Bool,
}

/// One element type: kind, bytes per element and byte order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dtype {
    pub kind: Kind,
    pub size: usize,
    pub big_endian: bool,
}

impl Dtype {
    /// NumPy's name for it: `float32`, `uint8`, `int64`, `bool`.
    pub fn name(&self) -> String {
        match self.kind {
            Kind::Float => format!("float{}", self.size * 8),
            Kind::Int => format!("int{}", self.size * 8),
            Kind::Uint => format!("uint{}", self.size * 8),
            Kind::Bool => "bool".into(),
        }
    }

    /// Whether values are whole numbers (integer or bool).
    pub fn is_integer(&self) -> bool {
        self.kind != Kind::Float
    }

    /// Parse a `descr` such as `<f4`, `>i8`, `|u1`.
    fn parse(descr: &str) -> Option<Dtype> {
        let mut chars = descr.chars();
        let big_endian = match chars.next()? {
            '>' => true,
            '<' | '|' | '=' => false,
            _ => return None,
        };
        let kind = match chars.next()? {
            'f' => Kind::Float,
            'i' => Kind::Int,
            'u' => Kind::Uint,
            'b' => Kind::Bool,
            _ => return None,
        };
        let size: usize = chars.as_str().parse().ok()?;
        let ok = match kind {
            Kind::Float => matches!(size, 2 | 4 | 8),
            Kind::Int | Kind::Uint => matches!(size, 1 | 2 | 4 | 8),
            Kind::Bool => size == 1,
        };
        ok.then_some(Dtype { kind, size, big_endian })
    }

    /// One element's value as f64.
    fn value(&self, b: &[u8]) -> f64 {
        let mut le = [0u8; 8];
        le[..self.size].copy_from_slice(&b[..self.size]);
        if self.big_endian {
            le[..self.size].reverse();
        }
        match (self.kind, self.size) {
            (Kind::Float, 2) => f16_to_f64(u16::from_le_bytes([le[0], le[1]])),
            (Kind::Float, 4) => f32::from_le_bytes([le[0], le[1], le[2], le[3]]) as f64,
            (Kind::Float, _) => f64::from_le_bytes(le),
            (Kind::Int, 1) => le[0] as i8 as f64,
            (Kind::Int, 2) => i16::from_le_bytes([le[0], le[1]]) as f64,
            (Kind::Int, 4) => i32::from_le_bytes([le[0], le[1], le[2], le[3]]) as f64,
            (Kind::Int, _) => i64::from_le_bytes(le) as f64,
            (Kind::Uint | Kind::Bool, _) => u64::from_le_bytes(le) as f64,
        }
    }
}

/// Half precision to f64 (NumPy's `float16`).
fn f16_to_f64(h: u16) -> f64 {
    let sign = if h >> 15 == 1 { -1.0 } else { 1.0 };
    let exp = ((h >> 10) & 0x1f) as i32;
    let frac = (h & 0x3ff) as f64;
    match exp {
        0 => sign * frac * 2f64.powi(-24),
        31 if frac == 0.0 => sign * f64::INFINITY,
        31 => f64::NAN,
        e => sign * (1.0 + frac / 1024.0) * 2f64.powi(e - 15),
    }
}

/// An array's header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub dtype: Dtype,
    pub shape: Vec<usize>,
}

impl Header {
    /// How many elements (`None` when the product overflows).
    pub fn count(&self) -> Option<usize> {
        self.shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d))
    }

    /// `float32 [100, 1, 28, 28]`, as the listing shows it.
    pub fn describe(&self) -> String {
        let dims: Vec<String> = self.shape.iter().map(|d| d.to_string()).collect();
        format!("{} [{}]", self.dtype.name(), dims.join(", "))
    }
}

/// Read the header; the reader is then at the first value.
pub fn read_header(reader: &mut dyn Read, name: &str) -> Result<Header, EntryError> {
    let bad = |why: String| EntryError::at(name, why);
    let mut start = [0u8; 8];
    reader
        .read_exact(&mut start)
        .map_err(|_| bad("is not a NumPy .npy array (too short for its header)".into()))?;
    if &start[..6] != MAGIC {
        return Err(bad("is not a NumPy .npy array (no \\x93NUMPY magic at its start)".into()));
    }
    let len = match start[6] {
        1 => {
            let mut b = [0u8; 2];
            reader.read_exact(&mut b).map_err(|_| bad("is truncated in its header".into()))?;
            u16::from_le_bytes(b) as usize
        }
        2 | 3 => {
            let mut b = [0u8; 4];
            reader.read_exact(&mut b).map_err(|_| bad("is truncated in its header".into()))?;
            u32::from_le_bytes(b) as usize
        }
        v => return Err(bad(format!("is .npy version {v}, which this workbench doesn't read (1 to 3 are)"))),
    };
    if len > MAX_HEADER {
        return Err(bad(format!("has a header of {len} bytes, over the {MAX_HEADER} this reader accepts")));
    }
    let mut text = Vec::new();
    reader.take(len as u64).read_to_end(&mut text).map_err(|e| bad(format!("cannot be read ({e})")))?;
    if text.len() != len {
        return Err(bad("is truncated in its header".into()));
    }
    let text = String::from_utf8_lossy(&text);
    parse_dict(&text).map_err(bad)
}

/// The header's dict: `{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }`.
fn parse_dict(text: &str) -> Result<Header, String> {
    let value_after = |key: &str| -> Option<&str> {
        let at = text.find(&format!("'{key}'")).or_else(|| text.find(&format!("\"{key}\"")))?;
        let rest = &text[at + key.len() + 2..];
        Some(rest.trim_start().strip_prefix(':')?.trim_start())
    };
    let descr = value_after("descr").ok_or("has no 'descr' in its header")?;
    let quote = descr.chars().next().filter(|c| *c == '\'' || *c == '"').ok_or_else(|| {
        "has a structured or object dtype; save plain numbers (np.save(f, x.astype('float32')))".to_string()
    })?;
    let descr = descr[1..].split(quote).next().unwrap_or_default();
    let dtype = Dtype::parse(descr).ok_or_else(|| {
        format!("has dtype {descr:?}; only float, integer and bool arrays are read (convert with x.astype('float32'))")
    })?;
    let fortran = value_after("fortran_order").ok_or("has no 'fortran_order' in its header")?;
    if fortran.starts_with("True") {
        return Err(
            "is stored in Fortran (column-major) order; save it in C order (np.save(f, np.ascontiguousarray(x)))"
                .into(),
        );
    }
    let shape = value_after("shape").ok_or("has no 'shape' in its header")?;
    let inner = shape.strip_prefix('(').and_then(|s| s.split(')').next()).ok_or("has a malformed 'shape'")?;
    let shape = inner
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.trim_end_matches('L').parse::<usize>().map_err(|_| format!("has a malformed 'shape' ({s:?})"))
        })
        .collect::<Result<Vec<usize>, String>>()?;
    Ok(Header { dtype, shape })
}

/// Read every value after the header, as f64, refusing more than `limit` bytes of data.
pub fn read_values(
    reader: &mut dyn Read,
    header: &Header,
    name: &str,
    limit: u64,
) -> Result<Vec<f64>, EntryError> {
    let count = header.count().ok_or_else(|| EntryError::at(name, "has a shape too large to hold".into()))?;
    let bytes = count
        .checked_mul(header.dtype.size)
        .filter(|&b| b as u64 <= limit)
        .ok_or_else(|| {
            EntryError::at(
                name,
                format!(
                    "holds {} ({count} values), over the limit of {limit} bytes (`max_total_bytes` under [images] \
                     in config.toml)",
                    header.describe()
                ),
            )
        })?;
    let mut raw = Vec::new();
    reader
        .take(bytes as u64)
        .read_to_end(&mut raw)
        .map_err(|e| EntryError::at(name, format!("cannot be read ({e})")))?;
    if raw.len() != bytes {
        return Err(EntryError::at(
            name,
            format!(
                "is truncated: {} needs {bytes} bytes of data, the file has {}",
                header.describe(),
                raw.len()
            ),
        ));
    }
    Ok(raw.chunks_exact(header.dtype.size).map(|c| header.dtype.value(c)).collect())
}

/// Write an array as `.npy` version 1 (tests and examples): little-endian `<f4` or `<i8`.
pub fn write_f32(shape: &[usize], values: &[f32]) -> Vec<u8> {
    write_raw("<f4", shape, values.iter().flat_map(|v| v.to_le_bytes()).collect())
}

/// Write an array with the given `descr` and raw data bytes as `.npy` version 1.
pub fn write_raw(descr: &str, shape: &[usize], data: Vec<u8>) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let tuple = if dims.len() == 1 { format!("({},)", dims[0]) } else { format!("({})", dims.join(", ")) };
    let mut dict = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {tuple}, }}");
    while !(MAGIC.len() + 4 + dict.len() + 1).is_multiple_of(64) {
        dict.push(' ');
    }
    dict.push('\n');
    let mut out = MAGIC.to_vec();
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&(dict.len() as u16).to_le_bytes());
    out.extend_from_slice(dict.as_bytes());
    out.extend_from_slice(&data);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_numpy_writes() {
        let bytes = write_f32(&[2, 3], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.5]);
        let mut r = bytes.as_slice();
        let h = read_header(&mut r, "x.npy").expect("must work");
        assert_eq!(h.shape, [2, 3]);
        assert_eq!(h.describe(), "float32 [2, 3]");
        assert_eq!(read_values(&mut r, &h, "x.npy", 1 << 20).expect("must work")[5], 6.5);
    }

    #[test]
    fn big_endian_and_integers() {
        let data: Vec<u8> = [-3i32, 7].iter().flat_map(|v| v.to_be_bytes()).collect();
        let bytes = write_raw(">i4", &[2], data);
        let mut r = bytes.as_slice();
        let h = read_header(&mut r, "y.npy").expect("must work");
        assert!(h.dtype.is_integer() && h.dtype.big_endian);
        assert_eq!(read_values(&mut r, &h, "y.npy", 1 << 20).expect("must work"), [-3.0, 7.0]);
        let bytes = write_raw("<f2", &[1], 0x3c00u16.to_le_bytes().to_vec());
        let mut r = bytes.as_slice();
        let h = read_header(&mut r, "h.npy").expect("must work");
        assert_eq!(read_values(&mut r, &h, "h.npy", 1 << 20).expect("must work"), [1.0]);
    }

    #[test]
    fn refuses_fortran_objects_truncation_and_lies() {
        let mut fortran = write_raw("<f4", &[1], vec![0; 4]);
        let at = fortran.windows(5).position(|w| w == b"False").expect("must work");
        fortran[at..at + 5].copy_from_slice(b"True ");
        let err = read_header(&mut fortran.as_slice(), "f.npy").expect_err("must fail");
        assert!(err.message.contains("Fortran") && err.message.contains("ascontiguousarray"), "{err}");
        let err = read_header(&mut write_raw("|O", &[1], vec![]).as_slice(), "o.npy").expect_err("must fail");
        assert!(err.message.contains("dtype \"|O\""), "{err}");
        let bytes = write_raw("<f8", &[4], vec![0; 8]);
        let mut r = bytes.as_slice();
        let h = read_header(&mut r, "t.npy").expect("must work");
        let err = read_values(&mut r, &h, "t.npy", 1 << 20).expect_err("must fail");
        assert!(err.message.contains("truncated"), "{err}");
        let bytes = write_raw("<f8", &[1 << 40, 1 << 30], vec![]);
        let mut r = bytes.as_slice();
        let h = read_header(&mut r, "big.npy").expect("must work");
        let err = read_values(&mut r, &h, "big.npy", 1 << 20).expect_err("must fail");
        assert!(err.message.contains("too large") || err.message.contains("over the limit"), "{err}");
    }
}
