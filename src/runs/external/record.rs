//! The record framing of TFRecord files (TensorBoard event files): a little-endian `u64` length,
//! the masked CRC-32C of those 8 bytes, the data, and the masked CRC-32C of the data.
use super::ExternalError;

/// Bytes before a record's data: the length and its CRC.
pub const HEADER_LEN: usize = 12;
/// Bytes after a record's data: its CRC.
pub const FOOTER_LEN: usize = 4;
/// The longest record data read (256 MiB): scalars, hparams, even a large model's graph are far
/// below it; a longer declared length means a damaged or hostile file, and waiting for it would
/// buffer the whole file on every read.
pub const MAX_RECORD_LEN: u64 = 256 << 20;

const MASK_DELTA: u32 = 0xa282_ead8;

/// TFRecord's masked CRC-32C (Castagnoli) of `data`, as written after the length and the data.
pub fn masked_crc32c(data: &[u8]) -> u32 {
    let crc = crc32c::crc32c(data);
    crc.rotate_right(15).wrapping_add(MASK_DELTA)
}

/// One record framed at the start of a buffer.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame<'a> {
    /// A whole record whose CRCs hold: its data, and the bytes it takes with its framing.
    Record { data: &'a [u8], size: usize },
    /// The buffer ends inside the record (a file still being written): read it again later.
    Incomplete,
}

/// Frame the record at the start of `buf`. Errors: the length's CRC fails (nothing after this
/// point can be trusted), the length is over [`MAX_RECORD_LEN`] (likewise), or the data's CRC
/// fails (the record can be skipped by its `size`).
pub fn parse_record(buf: &[u8]) -> Result<Frame<'_>, ExternalError> {
    let Some(header) = buf.get(..HEADER_LEN) else {
        return Ok(Frame::Incomplete);
    };
    let (len_bytes, len_crc) = header.split_at(8);
    if masked_crc32c(len_bytes) != le_u32(len_crc) {
        return Err(ExternalError::LengthCrc);
    }
    let mut len8 = [0u8; 8];
    len8.copy_from_slice(len_bytes);
    let len = u64::from_le_bytes(len8);
    if len > MAX_RECORD_LEN {
        return Err(ExternalError::RecordTooLong { len });
    }
    let Some(size) = usize::try_from(len).ok().and_then(|n| n.checked_add(HEADER_LEN + FOOTER_LEN)) else {
        return Err(ExternalError::RecordTooLong { len });
    };
    let Some(record) = buf.get(..size) else {
        return Ok(Frame::Incomplete);
    };
    let (data, crc) = record[HEADER_LEN..].split_at(size - HEADER_LEN - FOOTER_LEN);
    if masked_crc32c(data) != le_u32(crc) {
        return Err(ExternalError::DataCrc { size });
    }
    Ok(Frame::Record { data, size })
}

/// Append `data` to `out` framed as one record (for tests, the benchmark and fixtures).
pub fn encode_record(data: &[u8], out: &mut Vec<u8>) {
    let len = (data.len() as u64).to_le_bytes();
    out.extend_from_slice(&len);
    out.extend_from_slice(&masked_crc32c(&len).to_le_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(&masked_crc32c(data).to_le_bytes());
}

fn le_u32(b: &[u8]) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[..4]);
    u32::from_le_bytes(a)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masked_crc_matches_tensorflow() {
        // TensorFlow's crc32c_test: Value("", 0) == 0 and Value of 32 zero bytes is 0x8a9136aa.
        assert_eq!(crc32c::crc32c(&[0u8; 32]), 0x8a91_36aa);
        assert_eq!(masked_crc32c(b""), 0u32.rotate_right(15).wrapping_add(MASK_DELTA));
    }

    #[test]
    fn round_trip_and_cuts() {
        let mut buf = Vec::new();
        encode_record(b"hello", &mut buf);
        assert_eq!(parse_record(&buf).unwrap(), Frame::Record { data: b"hello", size: buf.len() });
        for cut in 0..buf.len() {
            assert_eq!(parse_record(&buf[..cut]).unwrap(), Frame::Incomplete, "cut at {cut}");
        }
        let mut bad = buf.clone();
        bad[HEADER_LEN + 1] ^= 0x40;
        assert!(matches!(parse_record(&bad), Err(ExternalError::DataCrc { size }) if size == buf.len()));
        let mut bad = buf;
        bad[0] ^= 1;
        assert!(matches!(parse_record(&bad), Err(ExternalError::LengthCrc)));
    }

    #[test]
    fn a_length_over_the_cap_is_refused_before_any_data_arrives() {
        for len in [MAX_RECORD_LEN + 1, u64::MAX] {
            let mut buf = len.to_le_bytes().to_vec();
            buf.extend_from_slice(&masked_crc32c(&buf).to_le_bytes());
            assert!(matches!(parse_record(&buf), Err(ExternalError::RecordTooLong { len: l }) if l == len));
        }
        let mut buf = MAX_RECORD_LEN.to_le_bytes().to_vec();
        buf.extend_from_slice(&masked_crc32c(&buf).to_le_bytes());
        assert_eq!(parse_record(&buf).unwrap(), Frame::Incomplete, "the cap itself is allowed");
    }
}
