//! What an upload's bytes are: the type sniffed from its first bytes (the
//! `infer` crate; the uploader's `filetype` is never trusted) and, for an
//! image, its dimensions read from the header alone (the `imagesize`
//! crate): the server never decodes an untrusted image, so a
//! decompression bomb costs it a few header reads.

use std::io::{BufReader, Read, Seek};
use std::path::Path;

/// How much of the file the type sniffing looks at.
pub const SNIFF_BYTES: usize = 8 * 1024;
/// The type of bytes nothing recognised.
pub const UNKNOWN_MIME: &str = "application/octet-stream";
/// The type of recognisable text.
pub const TEXT_MIME: &str = "text/plain; charset=utf-8";

/// The sniffed facts about a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sniffed {
    pub mime: String,
    /// For images whose header gave dimensions (each fits in u32).
    pub dimensions: Option<(u32, u32)>,
}

/// Sniffs the file at `path` (blocking).
pub fn sniff_file(path: &Path) -> std::io::Result<Sniffed> {
    let mut file = std::fs::File::open(path)?;
    let mut head = Vec::with_capacity(SNIFF_BYTES);
    (&mut file).take(SNIFF_BYTES as u64).read_to_end(&mut head)?;
    let mime = mime_of(&head);
    let dimensions = if mime.starts_with("image/") {
        file.rewind()?;
        dimensions_of(BufReader::with_capacity(SNIFF_BYTES, file))
    } else {
        None
    };
    Ok(Sniffed { mime, dimensions })
}

/// The type of a file that starts with `head`: what `infer` recognises, else
/// UTF-8 text without NULs is text, else bytes.
pub fn mime_of(head: &[u8]) -> String {
    if let Some(kind) = infer::get(head) {
        return kind.mime_type().to_owned();
    }
    let text = match std::str::from_utf8(head) {
        Ok(_) => true,
        // A character cut by the sniff window is still text.
        Err(err) => err.error_len().is_none() && head.len() >= SNIFF_BYTES,
    };
    if text && !head.is_empty() && !head.contains(&0) { TEXT_MIME.to_owned() } else { UNKNOWN_MIME.to_owned() }
}

/// An image's width and height from its header, if the header gives them.
fn dimensions_of(reader: impl std::io::BufRead + Seek) -> Option<(u32, u32)> {
    let size = imagesize::reader_size(reader).ok()?;
    let (width, height) = (u32::try_from(size.width).ok()?, u32::try_from(size.height).ok()?);
    (width > 0 && height > 0).then_some((width, height))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A PNG header (signature + IHDR) claiming `width` × `height`, with no pixel data at all.
    pub fn png_header(width: u32, height: u32) -> Vec<u8> {
        let mut png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR".to_vec();
        png.extend_from_slice(&width.to_be_bytes());
        png.extend_from_slice(&height.to_be_bytes());
        png.extend_from_slice(&[8, 6, 0, 0, 0, 0, 0, 0, 0]);
        png
    }

    #[test]
    fn types_come_from_the_bytes() {
        assert_eq!(mime_of(&png_header(1, 1)), "image/png");
        let mut elf = b"\x7fELF\x02\x01\x01".to_vec();
        elf.resize(64, 0);
        assert_eq!(mime_of(&elf), "application/x-executable");
        assert_eq!(mime_of("plain words, é".as_bytes()), TEXT_MIME);
        assert_eq!(mime_of(b"a\0b"), UNKNOWN_MIME);
        assert_eq!(mime_of(b"\xff\xfe\xfd"), UNKNOWN_MIME);
    }

    #[test]
    fn a_decompression_bomb_is_measured_not_decoded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bomb.png");
        std::fs::write(&path, png_header(100_000, 100_000)).unwrap();
        let sniffed = sniff_file(&path).unwrap();
        assert_eq!(sniffed, Sniffed { mime: "image/png".into(), dimensions: Some((100_000, 100_000)) });
    }
}
