//! File names from the network made safe to create here: the name a
//! download offers (`Content-Disposition`), stripped of directories,
//! control and format characters, and never overwriting a file.

use crate::sanitize::sanitize_line;
use heartlink_protocol::MediaId;
use std::path::{Path, PathBuf};

/// The name in `filename*=UTF-8''…` (else `filename="…"`).
pub fn disposition_name(header: &str) -> Option<String> {
    if let Some(encoded) = header.split("filename*=UTF-8''").nth(1) {
        let encoded = encoded.split(';').next().unwrap_or(encoded).trim();
        let mut bytes = Vec::new();
        let mut rest = encoded.as_bytes();
        while let Some((&first, tail)) = rest.split_first() {
            if first == b'%' && tail.len() >= 2 {
                let hex = std::str::from_utf8(&tail[..2]).ok()?;
                bytes.push(u8::from_str_radix(hex, 16).ok()?);
                rest = &tail[2..];
            } else {
                bytes.push(first);
                rest = tail;
            }
        }
        return String::from_utf8(bytes).ok();
    }
    header.split("filename=\"").nth(1)?.split('"').next().map(str::to_owned)
}

/// A name safe to create here: no directories, no control or format
/// characters, never hidden or empty (whatever the server sent).
pub fn local_name(offered: Option<&str>, id: MediaId) -> String {
    let name = offered.unwrap_or_default().rsplit(['/', '\\']).next().unwrap_or_default();
    let clean: String = name.chars().filter(|c| sanitize_line(&c.to_string()) == c.to_string()).collect();
    let clean = clean.trim().trim_start_matches('.').to_owned();
    if clean.is_empty() { format!("media-{id}") } else { clean }
}

/// `dir/name`, or `dir/name-1.ext`, `-2`, … when taken.
pub fn free_name(dir: &Path, name: &str) -> PathBuf {
    let (stem, extension) = match name.rsplit_once('.') {
        Some((stem, extension)) if !stem.is_empty() => (stem, format!(".{extension}")),
        _ => (name, String::new()),
    };
    let mut candidate = dir.join(name);
    let mut n = 1;
    while candidate.exists() {
        candidate = dir.join(format!("{stem}-{n}{extension}"));
        n += 1;
    }
    candidate
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offered_names_cannot_escape_or_overwrite() {
        let id = MediaId::random();
        let header = "attachment; filename=\"a_b.txt\"; filename*=UTF-8''..%2F..%2Fevil%1B%5B2J%E2%80%AE.txt";
        assert_eq!(local_name(disposition_name(header).as_deref(), id), "evil[2J.txt");
        assert_eq!(local_name(Some(".bashrc"), id), "bashrc");
        assert_eq!(local_name(None, id), format!("media-{id}"));
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("report.pdf"), b"x").unwrap();
        assert_eq!(free_name(dir.path(), "report.pdf"), dir.path().join("report-1.pdf"));
        assert_eq!(free_name(dir.path(), "new.pdf"), dir.path().join("new.pdf"));
    }
}
