// Test support shared by the decoder's unit tests (src/data/readers/decode.rs includes this file)
// and the integration tests: a PNG whose compressed stream is broken behind valid chunk CRCs.

/// `png` with its (single) IDAT chunk's data edited and the chunk's CRC made valid again, so only
/// the zlib stream inside (deflate data, Adler-32) is wrong.
pub fn with_idat(png: &[u8], edit: impl Fn(&mut Vec<u8>)) -> Vec<u8> {
    let at = png.windows(4).position(|w| w == b"IDAT").expect("an IDAT chunk") - 4;
    let len = u32::from_be_bytes(png[at..at + 4].try_into().expect("four bytes")) as usize;
    let mut data = png[at + 8..at + 8 + len].to_vec();
    edit(&mut data);
    let mut crc = flate2::Crc::new();
    crc.update(b"IDAT");
    crc.update(&data);
    let mut out = png[..at].to_vec();
    out.extend((data.len() as u32).to_be_bytes());
    out.extend(b"IDAT");
    out.extend(&data);
    out.extend(crc.sum().to_be_bytes());
    out.extend(&png[at + 12 + len..]);
    out
}
