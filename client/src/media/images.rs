//! Inline images: the bytes are fetched into the cache and decoded on a
//! blocking thread, never past the pixel cap (the header is read first,
//! and the decoder is given limits too), then scaled and encoded for this
//! terminal (kitty, sixel, iTerm2 or half-blocks) by ratatui-image.

use super::{Context, fetch};
use crate::app::MAX_IMAGE_PIXELS;
use crate::events::media::{Access, MediaEvent, Picture};
use heartlink_protocol::MediaId;
use std::path::Path;
use std::sync::Arc;

/// The decoder's own memory limit, beside the pixel cap.
const DECODE_ALLOC_BYTES: u64 = 512 * 1024 * 1024;

pub(super) async fn load(context: &Context, access: Access, media_id: MediaId, cols: u16, rows: u16) {
    let result = match fetch::cached(context, &access, media_id, "image").await {
        Ok(path) => {
            let picker = context.picker.clone();
            tokio::task::spawn_blocking(move || decode(&path, &picker, cols, rows)).await.unwrap_or_else(|err| Err(err.to_string()))
        }
        Err(reason) => Err(reason),
    };
    context.emit(MediaEvent::Image { media_id, result }).await;
}

/// Decodes an image file for `cols`×`rows` cells, refusing anything over the pixel cap.
pub fn decode(path: &Path, picker: &ratatui_image::picker::Picker, cols: u16, rows: u16) -> Result<Picture, String> {
    let open = || image::ImageReader::open(path).and_then(image::ImageReader::with_guessed_format).map_err(|err| err.to_string());
    let (width, height) = open()?.into_dimensions().map_err(|err| err.to_string())?;
    if u64::from(width) * u64::from(height) > MAX_IMAGE_PIXELS {
        return Err(format!("{width}×{height} is over the {}-megapixel limit", MAX_IMAGE_PIXELS / 1_000_000));
    }
    let mut reader = open()?;
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(width);
    limits.max_image_height = Some(height);
    limits.max_alloc = Some(DECODE_ALLOC_BYTES);
    reader.limits(limits);
    let image = reader.decode().map_err(|err| err.to_string())?;
    let size = ratatui::layout::Size::new(cols, rows);
    let sliced = ratatui_image::sliced::SlicedProtocol::new(picker, image, Some(size)).map_err(|err| err.to_string())?;
    Ok(Picture(Arc::new(sliced)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_decode_within_the_cap_and_bombs_are_refused_from_their_header() {
        let dir = tempfile::tempdir().unwrap();
        let small = dir.path().join("small.png");
        image::RgbImage::from_fn(64, 48, |x, y| image::Rgb([(x * 4) as u8, (y * 5) as u8, 128])).save(&small).unwrap();
        let picture = decode(&small, &ratatui_image::picker::Picker::halfblocks(), 40, 8).unwrap();
        let size = picture.0.size();
        assert!(size.width <= 40 && size.height <= 8 && size.width > 0, "{size:?}");
        // A PNG whose header claims 30000×30000 pixels: refused before any decoding.
        let bomb = dir.path().join("bomb.png");
        let mut bytes = std::fs::read(&small).unwrap();
        bytes[16..20].copy_from_slice(&30_000u32.to_be_bytes());
        bytes[20..24].copy_from_slice(&30_000u32.to_be_bytes());
        let crc = crc32(&bytes[12..29]);
        bytes[29..33].copy_from_slice(&crc.to_be_bytes());
        std::fs::write(&bomb, bytes).unwrap();
        let refused = decode(&bomb, &ratatui_image::picker::Picker::halfblocks(), 40, 8).unwrap_err();
        assert!(refused.contains("30000×30000 is over the 40-megapixel limit"), "{refused}");
        let not_an_image = dir.path().join("x.png");
        std::fs::write(&not_an_image, b"MZ\x90\x00 an executable").unwrap();
        assert!(decode(&not_an_image, &ratatui_image::picker::Picker::halfblocks(), 40, 8).is_err());
    }

    /// PNG's chunk checksum (CRC-32, IEEE), so the forged header is read as valid.
    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = !0u32;
        for byte in bytes {
            crc ^= u32::from(*byte);
            for _ in 0..8 {
                crc = if crc & 1 == 1 { (crc >> 1) ^ 0xedb8_8320 } else { crc >> 1 };
            }
        }
        !crc
    }
}
