//! A minimal reader of (gzipped) tar archives: just enough to pull a few named regular files out
//! of the CIFAR archives (`cifar-10-binary.tar.gz`). ustar and old-style headers; long-name
//! records, links and folders are skipped. Sizes are checked against a limit before reading.
use std::io::{self, Read};

use crate::data::error::EntryError;

/// One tar block.
const BLOCK: usize = 512;

/// Read the regular files of a tar stream for which `wanted(name)` is true, as `(name, bytes)`,
/// refusing a file over `limit` bytes or more than `limit` bytes in all.
pub fn read_files(
    reader: &mut dyn Read,
    wanted: &dyn Fn(&str) -> bool,
    limit: u64,
) -> Result<Vec<(String, Vec<u8>)>, EntryError> {
    let damaged = |e: io::Error| EntryError::general(format!("is not a readable tar archive ({e})"));
    let mut out = Vec::new();
    let mut total = 0u64;
    let mut header = [0u8; BLOCK];
    loop {
        match read_block(reader, &mut header).map_err(damaged)? {
            false => return Ok(out), // a clean end without the two zero blocks
            true if header.iter().all(|&b| b == 0) => return Ok(out),
            true => {}
        }
        if !checksum_ok(&header) {
            return Err(EntryError::general(
                "is not a tar archive (a header's checksum does not match)".into(),
            ));
        }
        let name = field(&header[..100]);
        let prefix = if &header[257..262] == b"ustar" { field(&header[345..500]) } else { String::new() };
        let name = if prefix.is_empty() { name } else { format!("{prefix}/{name}") };
        let size =
            octal(&header[124..136]).ok_or_else(|| EntryError::at(&name, "has a malformed size".into()))?;
        let padded = size.div_ceil(BLOCK as u64) * BLOCK as u64;
        let regular = matches!(header[156], b'0' | 0);
        if regular && wanted(&name) {
            total = total.saturating_add(size);
            if total > limit {
                return Err(EntryError::at(
                    &name,
                    format!("takes the archive over {limit} bytes (`max_total_bytes` under [images] in config.toml)"),
                ));
            }
            let mut bytes = Vec::new();
            reader.take(size).read_to_end(&mut bytes).map_err(damaged)?;
            if bytes.len() as u64 != size {
                return Err(EntryError::at(&name, "is truncated (the archive ends inside it)".into()));
            }
            let pad = io::copy(&mut reader.take(padded - size), &mut io::sink()).map_err(damaged)?;
            if pad != padded - size {
                return Err(EntryError::at(&name, "is truncated (the archive ends inside it)".into()));
            }
            out.push((name, bytes));
        } else {
            let skipped = io::copy(&mut reader.take(padded), &mut io::sink()).map_err(damaged)?;
            if skipped != padded {
                return Err(EntryError::at(&name, "is truncated (the archive ends inside it)".into()));
            }
        }
    }
}

/// Fill one block; `false` at a clean end of the stream.
fn read_block(reader: &mut dyn Read, block: &mut [u8; BLOCK]) -> io::Result<bool> {
    let mut filled = 0;
    while filled < BLOCK {
        match reader.read(&mut block[filled..]) {
            Ok(0) if filled == 0 => return Ok(false),
            Ok(0) => {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the archive ends inside a header"))
            }
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}

/// The header's checksum: the sum of its bytes with the checksum field read as spaces.
fn checksum_ok(header: &[u8; BLOCK]) -> bool {
    let sum: u64 =
        header.iter().enumerate().map(|(i, &b)| if (148..156).contains(&i) { 32 } else { b as u64 }).sum();
    octal(&header[148..156]) == Some(sum)
}

fn field(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

fn octal(bytes: &[u8]) -> Option<u64> {
    let text = field(bytes);
    let text = text.trim_matches(|c: char| c == ' ' || c == '\0');
    if text.is_empty() {
        return Some(0);
    }
    u64::from_str_radix(text, 8).ok()
}

/// A tar archive of `(name, bytes)` files (tests and examples).
pub fn write(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, bytes) in files {
        let mut h = [0u8; BLOCK];
        h[..name.len().min(100)].copy_from_slice(&name.as_bytes()[..name.len().min(100)]);
        h[100..107].copy_from_slice(b"0000644");
        h[124..135].copy_from_slice(format!("{:011o}", bytes.len()).as_bytes());
        h[156] = b'0';
        h[257..263].copy_from_slice(b"ustar\0");
        h[263..265].copy_from_slice(b"00");
        h[148..156].copy_from_slice(b"        ");
        let sum: u64 = h.iter().map(|&b| b as u64).sum();
        h[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
        out.extend_from_slice(&h);
        out.extend_from_slice(bytes);
        out.resize(out.len().div_ceil(BLOCK) * BLOCK, 0);
    }
    out.extend_from_slice(&[0u8; 2 * BLOCK]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_back_what_it_writes_and_skips_the_rest() {
        let tar = write(&[("d/a.bin", b"hello"), ("d/skip.txt", &[7; 700]), ("d/b.bin", &[1; 513])]);
        let files = read_files(&mut tar.as_slice(), &|n| n.ends_with(".bin"), 1 << 20).expect("must work");
        assert_eq!(files.len(), 2);
        assert_eq!(files[0], ("d/a.bin".to_string(), b"hello".to_vec()));
        assert_eq!(files[1].1.len(), 513);
        let err = read_files(&mut &tar[..600], &|_| true, 1 << 20).expect_err("must fail");
        assert!(err.message.contains("truncated"), "{err}");
        let err = read_files(&mut tar.as_slice(), &|_| true, 100).expect_err("must fail");
        assert!(err.message.contains("max_total_bytes"), "{err}");
    }
}
