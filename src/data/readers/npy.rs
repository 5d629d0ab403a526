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

    /// Bytes of all the values (`None` when that overflows).
    pub fn data_bytes(&self) -> Option<u64> {
        let count = u64::try_from(self.count()?).ok()?;
        count.checked_mul(self.dtype.size as u64)
    }

    /// `float32 [100, 1, 28, 28]`, as the listing shows it.
    pub fn describe(&self) -> String {
        let dims: Vec<String> = self.shape.iter().map(|d| d.to_string()).collect();
        format!("{} [{}]", self.dtype.name(), dims.join(", "))
    }
}

/// What a header's sizes are checked against before anything is allocated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    /// Bytes of the whole file or zip entry, header included (its size on disk, or the size a
    /// zip's directory declares for it).
    pub stored: u64,
    /// Most bytes of values one array may hold (`max_total_bytes` under [images]).
    pub limit: u64,
}

/// Read the header and check the values it declares: their byte count must not overflow, must
/// fit in what follows the header in `bounds.stored`, and must be within `bounds.limit`. The
/// reader is then at the first value.
pub fn read_header(reader: &mut dyn Read, name: &str, bounds: Bounds) -> Result<Header, EntryError> {
    let bad = |why: String| EntryError::at(name, why);
    let mut start = [0u8; 8];
    reader
        .read_exact(&mut start)
        .map_err(|_| bad("is not a NumPy .npy array (too short for its header)".into()))?;
    if &start[..6] != MAGIC {
        return Err(bad("is not a NumPy .npy array (no \\x93NUMPY magic at its start)".into()));
    }
    let (len, prefix) = match start[6] {
        1 => {
            let mut b = [0u8; 2];
            reader.read_exact(&mut b).map_err(|_| bad("is truncated in its header".into()))?;
            (u16::from_le_bytes(b) as usize, 10)
        }
        2 | 3 => {
            let mut b = [0u8; 4];
            reader.read_exact(&mut b).map_err(|_| bad("is truncated in its header".into()))?;
            (u32::from_le_bytes(b) as usize, 12)
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
    let header = parse_dict(&String::from_utf8_lossy(&text)).map_err(bad)?;
    let after_header = bounds.stored.saturating_sub((prefix + len) as u64);
    check_size(&header, after_header, bounds.limit).map_err(bad)?;
    Ok(header)
}

/// The values' bytes as the header declares them, against what follows the header and the limit.
fn check_size(header: &Header, after_header: u64, limit: u64) -> Result<(), String> {
    let bytes = header.data_bytes().ok_or_else(|| {
        format!("declares the shape {}, whose size overflows; the header is damaged", header.describe())
    })?;
    if bytes > after_header {
        return Err(format!(
            "declares {} ({bytes} bytes of values), but only {after_header} bytes follow its header; the \
             file is truncated or its header is damaged. Save it again with np.save",
            header.describe()
        ));
    }
    if bytes > limit {
        return Err(format!(
            "holds {} ({bytes} bytes of values), over the limit of {limit} bytes (`max_total_bytes` under \
             [images] in config.toml); raise the limit if the array really is that large",
            header.describe()
        ));
    }
    Ok(())
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

/// A type values are read as: each is converted on its own, so no wider copy of the whole
/// array is ever made (`f32` for inputs, `f64` for labels that must stay exact).
pub trait Element: Copy {
    fn from_f64(v: f64) -> Self;
}

impl Element for f32 {
    fn from_f64(v: f64) -> f32 {
        v as f32
    }
}

impl Element for f64 {
    fn from_f64(v: f64) -> f64 {
        v
    }
}

/// Bytes read and converted at a time.
const CHUNK: usize = 1 << 16;

/// Read every value after a header that [`read_header`] checked, converting each to `T`.
pub fn read_values<T: Element>(
    reader: &mut dyn Read,
    header: &Header,
    name: &str,
) -> Result<Vec<T>, EntryError> {
    let size = header.dtype.size;
    let (Some(count), Some(bytes)) = (header.count(), header.data_bytes()) else {
        return Err(EntryError::at(name, "has a shape too large to hold".into()));
    };
    let mut out: Vec<T> = Vec::new();
    out.try_reserve_exact(count).map_err(|_| {
        EntryError::at(name, format!("holds {}, more than this machine's memory can hold", header.describe()))
    })?;
    let mut chunk = vec![0u8; CHUNK - CHUNK % size];
    let mut done: u64 = 0;
    while done < bytes {
        let want = (bytes - done).min(chunk.len() as u64) as usize;
        let got = fill(reader, &mut chunk[..want])
            .map_err(|e| EntryError::at(name, format!("cannot be read ({e})")))?;
        if got < want {
            return Err(EntryError::at(
                name,
                format!(
                    "is truncated: {} needs {bytes} bytes of values, it ends after {}",
                    header.describe(),
                    done + got as u64
                ),
            ));
        }
        out.extend(chunk[..want].chunks_exact(size).map(|c| T::from_f64(header.dtype.value(c))));
        done += want as u64;
    }
    Ok(out)
}

/// Read until `buf` is full or the input ends; the bytes read.
fn fill(reader: &mut dyn Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match reader.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
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

    /// Bounds of a whole in-memory file, with a 1 MiB limit.
    fn whole(bytes: &[u8]) -> Bounds {
        Bounds { stored: bytes.len() as u64, limit: 1 << 20 }
    }

    #[test]
    fn reads_what_numpy_writes() {
        let bytes = write_f32(&[2, 3], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.5]);
        let mut r = bytes.as_slice();
        let h = read_header(&mut r, "x.npy", whole(&bytes)).expect("must work");
        assert_eq!(h.shape, [2, 3]);
        assert_eq!(h.describe(), "float32 [2, 3]");
        assert_eq!(read_values::<f32>(&mut r, &h, "x.npy").expect("must work")[5], 6.5);
    }

    #[test]
    fn big_endian_and_integers() {
        let data: Vec<u8> = [-3i32, 7].iter().flat_map(|v| v.to_be_bytes()).collect();
        let bytes = write_raw(">i4", &[2], data);
        let mut r = bytes.as_slice();
        let h = read_header(&mut r, "y.npy", whole(&bytes)).expect("must work");
        assert!(h.dtype.is_integer() && h.dtype.big_endian);
        assert_eq!(read_values::<f64>(&mut r, &h, "y.npy").expect("must work"), [-3.0, 7.0]);
        let bytes = write_raw("<f2", &[1], 0x3c00u16.to_le_bytes().to_vec());
        let mut r = bytes.as_slice();
        let h = read_header(&mut r, "h.npy", whole(&bytes)).expect("must work");
        assert_eq!(read_values::<f32>(&mut r, &h, "h.npy").expect("must work"), [1.0]);
    }

    #[test]
    fn values_longer_than_a_chunk_are_read_whole() {
        let values: Vec<f32> = (0..40_000).map(|i| i as f32).collect();
        let bytes = write_f32(&[values.len()], &values);
        let mut r = bytes.as_slice();
        let h = read_header(&mut r, "x.npy", whole(&bytes)).expect("must work");
        assert_eq!(read_values::<f32>(&mut r, &h, "x.npy").expect("must work"), values);
    }

    #[test]
    fn refuses_fortran_objects_truncation_and_lies() {
        let mut fortran = write_raw("<f4", &[1], vec![0; 4]);
        let at = fortran.windows(5).position(|w| w == b"False").expect("must work");
        fortran[at..at + 5].copy_from_slice(b"True ");
        let err = read_header(&mut fortran.as_slice(), "f.npy", whole(&fortran)).expect_err("must fail");
        assert!(err.message.contains("Fortran") && err.message.contains("ascontiguousarray"), "{err}");
        let object = write_raw("|O", &[1], vec![]);
        let err = read_header(&mut object.as_slice(), "o.npy", whole(&object)).expect_err("must fail");
        assert!(err.message.contains("dtype \"|O\""), "{err}");
        // Four doubles declared, one stored: refused at the header, before any value is read.
        let bytes = write_raw("<f8", &[4], vec![0; 8]);
        let err = read_header(&mut bytes.as_slice(), "t.npy", whole(&bytes)).expect_err("must fail");
        assert!(err.message.contains("32 bytes of values") && err.message.contains("only 8 bytes"), "{err}");
        // A hand-made header past what the reader holds: read_values still stops at the end.
        let mut r: &[u8] = &[0; 8];
        let h = Header { dtype: Dtype { kind: Kind::Float, size: 8, big_endian: false }, shape: vec![4] };
        let err = read_values::<f64>(&mut r, &h, "t.npy").expect_err("must fail");
        assert!(err.message.contains("truncated") && err.message.contains("ends after 8"), "{err}");
    }

    #[test]
    fn sizes_that_overflow_or_pass_the_file_or_the_limit_are_refused() {
        let overflow = write_raw("<f8", &[1 << 40, 1 << 30], vec![]);
        let err = read_header(&mut overflow.as_slice(), "o.npy", whole(&overflow)).expect_err("must fail");
        assert!(err.message.contains("overflows"), "{err}");
        // The 200-byte file of issue 20: 2 × 10^12 floats declared, none stored.
        let huge = write_raw("<f4", &[2, 1_000_000_000_000], vec![]);
        let err = read_header(&mut huge.as_slice(), "huge_x.npy", whole(&huge)).expect_err("must fail");
        assert_eq!(
            err.to_string(),
            "entry huge_x.npy: declares float32 [2, 1000000000000] (8000000000000 bytes of values), but only 0 \
             bytes follow its header; the file is truncated or its header is damaged. Save it again with np.save"
        );
        let big = write_f32(&[1024], &[0.0; 1024]);
        let bounds = Bounds { stored: big.len() as u64, limit: 1000 };
        let err = read_header(&mut big.as_slice(), "big.npy", bounds).expect_err("must fail");
        assert!(err.message.contains("over the limit of 1000 bytes (`max_total_bytes`"), "{err}");
    }
}
