//! Decoding one PNG or JPEG into the dataset's shape: grayscale or RGB, one size, `u8` pixels.
//!
//! The format is judged by the bytes, not the name. Only the header is read to learn an image's
//! size and colour (listing datasets does that for a handful of images, never for all).
use std::io::{Cursor, Read};

use image::imageops::FilterType;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader};
use serde::{Deserialize, Serialize};

use crate::data::types::ImageThumb;

/// `[images] color`: what channels the tensors get.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ColorMode {
    /// The first image decides: one channel if it is grayscale, three if it has colour.
    Auto,
    /// One channel; colour images are converted.
    Gray,
    /// Three channels; grayscale images are repeated into all three.
    Rgb,
}

impl ColorMode {
    /// From the config value (validated there): `auto`, `gray` or `rgb`.
    pub fn parse(value: &str) -> ColorMode {
        match value {
            "gray" => ColorMode::Gray,
            "rgb" => ColorMode::Rgb,
            _ => ColorMode::Auto,
        }
    }
}

/// The shape of one sample: channels × height × width.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shape {
    pub channels: u8,
    pub height: u32,
    pub width: u32,
}

impl Shape {
    /// Bytes of one sample.
    pub fn len(&self) -> usize {
        self.channels as usize * self.height as usize * self.width as usize
    }

    /// Bytes of one sample, checked (`None` when that overflows).
    pub fn bytes(&self) -> Option<u64> {
        u64::from(self.channels).checked_mul(u64::from(self.height))?.checked_mul(u64::from(self.width))
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `[C, H, W]`, as `DatasetSummary::sample_shape` has it.
    pub fn dims(&self) -> Vec<usize> {
        vec![self.channels as usize, self.height as usize, self.width as usize]
    }

    /// `28×28 gray` or `32×32 RGB`.
    pub fn describe(&self) -> String {
        let color = if self.channels == 1 { "gray" } else { "RGB" };
        format!("{}×{} {color}", self.width, self.height)
    }
}

/// What an image's header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub width: u32,
    pub height: u32,
    /// Whether it stores colour channels (grayscale images may still be stored as RGB).
    pub color: bool,
}

/// The image format from the first bytes: PNG or JPEG, else `None`.
pub fn sniff(bytes: &[u8]) -> Option<ImageFormat> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(ImageFormat::Png)
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(ImageFormat::Jpeg)
    } else {
        None
    }
}

/// Why one image can't become a sample. Each message follows the image's name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImageError {
    /// The bytes are neither PNG nor JPEG.
    #[error("is not a PNG or JPEG image (unsupported format); convert it to PNG or JPEG, or remove it")]
    Unsupported,
    /// The decoder failed on it.
    #[error("cannot be decoded as {format} ({why}); the file is truncated or damaged")]
    Broken {
        /// `PNG` or `JPEG`.
        format: &'static str,
        /// What the decoder said.
        why: String,
    },
    /// Another size than the dataset's, and no `resize` set.
    #[error(
        "is {width}×{height} pixels, but the dataset's first image is {want_width}×{want_height}; make all images \
         one size, or set `resize = [{want_width}, {want_height}]` under [images] in config.toml"
    )]
    WrongSize { width: u32, height: u32, want_width: u32, want_height: u32 },
    /// In colour where the dataset (from its first image) is grayscale.
    #[error(
        "is in colour, but the dataset's first image is grayscale; set `color = \"rgb\"` (or \"gray\") under \
         [images] in config.toml"
    )]
    Colour,
}

/// Read only the header.
pub fn probe(bytes: &[u8]) -> Result<Header, ImageError> {
    let format = sniff(bytes).ok_or(ImageError::Unsupported)?;
    let decoder = ImageReader::with_format(Cursor::new(bytes), format)
        .into_decoder()
        .map_err(|e| broken(format, &e.to_string()))?;
    let (width, height) = decoder.dimensions();
    Ok(Header { width, height, color: decoder.color_type().has_color() })
}

/// The shape every image of a dataset becomes, given its first image's header.
pub fn target_shape(first: Header, color: ColorMode, resize: Option<[u32; 2]>) -> Shape {
    let channels = match color {
        ColorMode::Gray => 1,
        ColorMode::Rgb => 3,
        ColorMode::Auto => {
            if first.color {
                3
            } else {
                1
            }
        }
    };
    let (width, height) = match resize {
        Some([w, h]) => (w, h),
        None => (first.width, first.height),
    };
    Shape { channels, height, width }
}

/// Decode `bytes` into `out` (`shape.len()` bytes, channel-first). Without `resize`, the image
/// must already have the shape's size. `max_bytes` bounds what the decoder may allocate.
pub fn decode_into(
    bytes: &[u8],
    shape: Shape,
    color: ColorMode,
    resize: bool,
    max_bytes: u64,
    out: &mut [u8],
) -> Result<(), ImageError> {
    let format = sniff(bytes).ok_or(ImageError::Unsupported)?;
    if format == ImageFormat::Png {
        check_png_stream(bytes, max_bytes).map_err(|why| broken(format, &why))?;
    }
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(max_bytes.max(1 << 20));
    reader.limits(limits);
    let image = reader.decode().map_err(|e| broken(format, &e.to_string()))?;
    if format == ImageFormat::Jpeg {
        check_jpeg_stream(bytes).map_err(|why| broken(format, &why))?;
    }
    if !resize && (image.width(), image.height()) != (shape.width, shape.height) {
        return Err(ImageError::WrongSize {
            width: image.width(),
            height: image.height(),
            want_width: shape.width,
            want_height: shape.height,
        });
    }
    let image = if (image.width(), image.height()) != (shape.width, shape.height) {
        image.resize_exact(shape.width, shape.height, FilterType::Triangle)
    } else {
        image
    };
    if shape.channels == 1 {
        let gray = to_gray(image, color)?;
        out.copy_from_slice(gray.as_raw());
    } else {
        let rgb = image.into_rgb8();
        let plane = shape.height as usize * shape.width as usize;
        for (i, px) in rgb.as_raw().chunks_exact(3).enumerate() {
            out[i] = px[0];
            out[plane + i] = px[1];
            out[2 * plane + i] = px[2];
        }
    }
    Ok(())
}

/// Inflate a PNG's image data (its IDAT chunks, joined) with a zlib decoder that checks the
/// stream's Adler-32 checksum: the PNG decoder skips that check, so a broken deflate stream whose
/// chunk CRCs were made valid would otherwise decode to garbage pixels without a word. At most
/// `max_bytes` are inflated (the image's own bound).
fn check_png_stream(bytes: &[u8], max_bytes: u64) -> Result<(), String> {
    let mut data = Vec::new();
    let mut at = 8usize;
    while at + 8 <= bytes.len() {
        let len = u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]) as usize;
        let kind = &bytes[at + 4..at + 8];
        let end = at.saturating_add(8).saturating_add(len);
        if end > bytes.len() {
            break; // truncated: the decoder reports it
        }
        if kind == b"IDAT" {
            data.extend_from_slice(&bytes[at + 8..end]);
        } else if kind == b"IEND" {
            break;
        }
        at = end.saturating_add(4);
    }
    let mut inflate = flate2::read::ZlibDecoder::new(data.as_slice());
    std::io::copy(&mut (&mut inflate).take(max_bytes.max(1 << 20)), &mut std::io::sink())
        .map(|_| ())
        .map_err(|e| format!("its compressed image data is corrupt: {e}"))
}

/// Decode a JPEG again in zune-jpeg's strict mode, which refuses corrupt entropy-coded data (an
/// invalid Huffman code, a marker inside a scan, a premature end): the default mode, which the
/// `image` crate's decode above uses, fills the rest of the image with gray and carries on, as
/// browsers do. JPEG has no checksum; this is the integrity check it allows. Called after that
/// decode, so the size is already within the image's bounds.
fn check_jpeg_stream(bytes: &[u8]) -> Result<(), String> {
    let options = zune_core::options::DecoderOptions::default().set_strict_mode(true);
    let mut decoder =
        zune_jpeg::JpegDecoder::new_with_options(zune_core::bytestream::ZCursor::new(bytes), options);
    decoder.decode().map(|_| ()).map_err(|e| format!("its compressed image data is corrupt: {e:?}"))
}

/// Convert one grayscale image (`width × height` bytes, as IDX files store them) into `out`,
/// resizing and repeating it into three channels as `shape` asks.
pub fn from_gray(pixels: &[u8], width: u32, height: u32, shape: Shape, out: &mut [u8]) {
    let plane = shape.height as usize * shape.width as usize;
    if (width, height) == (shape.width, shape.height) {
        out[..plane].copy_from_slice(&pixels[..plane]);
    } else if let Some(img) = image::GrayImage::from_raw(width, height, pixels.to_vec()) {
        let small = image::imageops::resize(&img, shape.width, shape.height, FilterType::Triangle);
        out[..plane].copy_from_slice(small.as_raw());
    }
    for c in 1..shape.channels as usize {
        out.copy_within(0..plane, c * plane);
    }
}

/// One channel. With `color = "auto"` and a grayscale first image, a colour image is refused
/// unless its pixels are gray anyway (many gray datasets are saved as RGB).
fn to_gray(image: DynamicImage, color: ColorMode) -> Result<image::GrayImage, ImageError> {
    if color == ColorMode::Auto && image.color().has_color() {
        let rgb = image.to_rgb8();
        if rgb.pixels().any(|p| p[0] != p[1] || p[1] != p[2]) {
            return Err(ImageError::Colour);
        }
    }
    Ok(image.into_luma8())
}

fn broken(format: ImageFormat, why: &str) -> ImageError {
    let format = if format == ImageFormat::Png { "PNG" } else { "JPEG" };
    ImageError::Broken { format, why: why.to_string() }
}

/// A preview image no larger than 32×32, from one decoded sample.
pub fn thumbnail(pixels: &[u8], shape: Shape, label: &str) -> ImageThumb {
    const MAX: u32 = 32;
    let (w, h) = (shape.width, shape.height);
    let plane = (w * h) as usize;
    let interleaved: Vec<u8> = if shape.channels == 1 {
        pixels[..plane].to_vec()
    } else {
        (0..plane).flat_map(|i| [pixels[i], pixels[plane + i], pixels[2 * plane + i]]).collect()
    };
    if w <= MAX && h <= MAX {
        return ImageThumb {
            label: label.to_string(),
            width: w,
            height: h,
            channels: shape.channels,
            pixels: interleaved,
        };
    }
    let scale = (MAX as f64 / w as f64).min(MAX as f64 / h as f64);
    let (tw, th) = (((w as f64 * scale).round() as u32).max(1), ((h as f64 * scale).round() as u32).max(1));
    let small: Vec<u8> = if shape.channels == 1 {
        image::GrayImage::from_raw(w, h, interleaved)
            .map(|img| image::imageops::thumbnail(&img, tw, th).into_raw())
            .unwrap_or_default()
    } else {
        image::RgbImage::from_raw(w, h, interleaved)
            .map(|img| image::imageops::thumbnail(&img, tw, th).into_raw())
            .unwrap_or_default()
    };
    ImageThumb { label: label.to_string(), width: tw, height: th, channels: shape.channels, pixels: small }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(w: u32, h: u32, rgb: bool) -> Vec<u8> {
        let mut bytes = Vec::new();
        let image = if rgb {
            DynamicImage::ImageRgb8(image::RgbImage::from_fn(w, h, |x, y| {
                image::Rgb([x as u8 * 10, y as u8, 7])
            }))
        } else {
            DynamicImage::ImageLuma8(image::GrayImage::from_fn(w, h, |x, y| image::Luma([(x + y) as u8])))
        };
        image.write_to(&mut Cursor::new(&mut bytes), ImageFormat::Png).expect("must work");
        bytes
    }

    #[test]
    fn decodes_gray_and_rgb_channel_first() {
        let shape = Shape { channels: 1, height: 3, width: 4 };
        let mut out = vec![0; shape.len()];
        decode_into(&png(4, 3, false), shape, ColorMode::Auto, false, 1 << 20, &mut out).expect("must work");
        assert_eq!(&out[..5], &[0, 1, 2, 3, 1]);

        let shape = Shape { channels: 3, height: 2, width: 2 };
        let mut out = vec![0; shape.len()];
        decode_into(&png(2, 2, true), shape, ColorMode::Rgb, false, 1 << 20, &mut out).expect("must work");
        assert_eq!(out, [0, 10, 0, 10, 0, 0, 1, 1, 7, 7, 7, 7]);
    }

    #[test]
    fn refuses_other_sizes_unless_resizing() {
        let shape = Shape { channels: 1, height: 4, width: 4 };
        let mut out = vec![0; shape.len()];
        let err = decode_into(&png(5, 4, false), shape, ColorMode::Auto, false, 1 << 20, &mut out)
            .expect_err("must fail");
        assert_eq!(err, ImageError::WrongSize { width: 5, height: 4, want_width: 4, want_height: 4 });
        let text = err.to_string();
        assert!(text.contains("5×4") && text.contains("resize = [4, 4]"), "{text}");
        decode_into(&png(5, 4, false), shape, ColorMode::Auto, true, 1 << 20, &mut out).expect("must work");
    }

    #[test]
    fn headers_and_damage() {
        let bytes = png(6, 5, true);
        assert_eq!(probe(&bytes).expect("must work"), Header { width: 6, height: 5, color: true });
        let err = probe(b"GIF89a....").expect_err("must fail");
        assert!(err == ImageError::Unsupported && err.to_string().contains("unsupported format"), "{err}");
        let shape = Shape { channels: 3, height: 5, width: 6 };
        let mut out = vec![0; shape.len()];
        let err = decode_into(&bytes[..bytes.len() - 20], shape, ColorMode::Rgb, false, 1 << 20, &mut out)
            .expect_err("must fail");
        assert!(matches!(err, ImageError::Broken { format: "PNG", .. }), "{err}");
        assert!(err.to_string().contains("truncated or damaged"), "{err}");
    }

    // The same edit the integration tests use: one copy, in tests/common.
    mod png_edit {
        include!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/common/png_edit.rs"));
    }
    use png_edit::with_idat;

    #[test]
    fn a_corrupt_deflate_stream_with_valid_crcs_is_refused() {
        let shape = Shape { channels: 3, height: 5, width: 6 };
        let mut out = vec![0; shape.len()];
        let good = png(6, 5, true);
        assert_eq!(with_idat(&good, |_| {}), good, "the rewrite alone changes nothing");
        decode_into(&good, shape, ColorMode::Rgb, false, 1 << 20, &mut out).expect("must work");
        // A wrong Adler-32 (the stream's last four bytes): valid deflate, wrong checksum.
        let bad_sum = with_idat(&good, |d| {
            let n = d.len();
            d[n - 1] ^= 0x5a;
        });
        let err =
            decode_into(&bad_sum, shape, ColorMode::Rgb, false, 1 << 20, &mut out).expect_err("must fail");
        assert!(err.to_string().contains("compressed image data is corrupt"), "{err}");
        // Broken deflate data in the middle.
        let broken = with_idat(&good, |d| {
            let mid = d.len() / 2;
            for b in &mut d[mid - 2..mid + 2] {
                *b ^= 0xff;
            }
        });
        let err =
            decode_into(&broken, shape, ColorMode::Rgb, false, 1 << 20, &mut out).expect_err("must fail");
        assert!(matches!(err, ImageError::Broken { format: "PNG", .. }), "{err}");
    }

    #[test]
    fn a_jpeg_with_corrupt_scan_data_is_refused_not_filled_with_gray() {
        let image = DynamicImage::ImageRgb8(image::RgbImage::from_fn(64, 64, |x, y| {
            image::Rgb([(x * 37 % 251) as u8, (y * 91 % 241) as u8, ((x ^ y) * 13) as u8])
        }));
        let mut good = Vec::new();
        image.write_to(&mut Cursor::new(&mut good), ImageFormat::Jpeg).expect("must work");
        let shape = Shape { channels: 3, height: 64, width: 64 };
        let mut out = vec![0; shape.len()];
        decode_into(&good, shape, ColorMode::Rgb, false, 1 << 20, &mut out).expect("must work");
        // A run of 0xFF data bytes (stuffed as FF 00) in the middle of the scan: no Huffman code.
        let scan = good.windows(2).position(|w| w == [0xFF, 0xDA]).expect("a scan");
        let mut bad = good.clone();
        let mid = scan + (good.len() - scan) / 2;
        for (k, b) in bad[mid..mid + 40].iter_mut().enumerate() {
            *b = if k % 2 == 0 { 0xFF } else { 0x00 };
        }
        let lenient = ImageReader::with_format(Cursor::new(&bad), ImageFormat::Jpeg).decode();
        assert!(lenient.is_ok(), "the default decoder fills the rest in and carries on");
        let err = decode_into(&bad, shape, ColorMode::Rgb, false, 1 << 20, &mut out).expect_err("must fail");
        assert!(matches!(err, ImageError::Broken { format: "JPEG", .. }), "{err}");
        assert!(err.to_string().contains("compressed image data is corrupt"), "{err}");
    }

    #[test]
    fn thumbnails_stay_small() {
        let shape = Shape { channels: 3, height: 64, width: 128 };
        let t = thumbnail(&vec![9; shape.len()], shape, "cat");
        assert_eq!((t.width, t.height, t.channels, t.pixels.len()), (32, 16, 3, 32 * 16 * 3));
    }
}
