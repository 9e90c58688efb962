//! File names from uploaders, made safe (PROTOCOL.md): no path components,
//! no control or format characters (escape sequences, bidi overrides), at
//! most 255 bytes; and the `Content-Disposition` that carries them back.

use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

/// The longest name kept, in bytes (a common file-system limit).
pub const MAX_NAME_BYTES: usize = 255;
/// The name of a file whose uploader gave none (or nothing usable).
pub const FALLBACK_NAME: &str = "file";

/// The name kept and shown for an uploader's `filename`.
pub fn safe_name(filename: Option<&str>) -> String {
    let Some(filename) = filename else { return FALLBACK_NAME.to_owned() };
    // Path components: whatever follows the last separator of either kind.
    let last = filename.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = last.chars().filter(|c| !is_control_or_format(*c)).collect();
    let trimmed = cleaned.trim();
    if trimmed.is_empty() || trimmed == "." || trimmed == ".." {
        return FALLBACK_NAME.to_owned();
    }
    truncate_keeping_extension(trimmed, MAX_NAME_BYTES)
}

fn is_control_or_format(c: char) -> bool {
    matches!(
        c.general_category(),
        GeneralCategory::Control
            | GeneralCategory::Format
            | GeneralCategory::LineSeparator
            | GeneralCategory::ParagraphSeparator
    )
}

/// Cuts `name` to at most `max` bytes on a character boundary, keeping a
/// short extension (`….pdf`) so the type stays recognisable.
fn truncate_keeping_extension(name: &str, max: usize) -> String {
    if name.len() <= max {
        return name.to_owned();
    }
    let extension = name.rfind('.').map(|at| &name[at..]).filter(|ext| ext.len() <= 16).unwrap_or("");
    let mut stem_budget = max - extension.len();
    while !name.is_char_boundary(stem_budget) {
        stem_budget -= 1;
    }
    format!("{}{extension}", &name[..stem_budget])
}

/// `Content-Disposition: attachment` with the name twice: an ASCII
/// fallback in `filename` (quotes, backslashes and non-ASCII replaced) and
/// the exact name in RFC 8187 `filename*`.
pub fn content_disposition(name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' { c } else { '_' })
        .collect();
    let mut encoded = String::with_capacity(name.len() * 3);
    for byte in name.bytes() {
        if byte.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_controls_and_bidi_overrides_are_removed() {
        assert_eq!(safe_name(Some("../../etc/passwd")), "passwd");
        assert_eq!(safe_name(Some("C:\\Users\\me\\report.pdf")), "report.pdf");
        assert_eq!(safe_name(Some("evil\u{1b}]0;owned\u{7}.txt")), "evil]0;owned.txt");
        assert_eq!(safe_name(Some("invoice\u{202e}fdp.exe")), "invoicefdp.exe");
        assert_eq!(safe_name(Some("line\nbreak\u{2028}.md")), "linebreak.md");
        assert_eq!(safe_name(Some("..")), FALLBACK_NAME);
        assert_eq!(safe_name(Some("dir/")), FALLBACK_NAME);
        assert_eq!(safe_name(None), FALLBACK_NAME);
        assert_eq!(safe_name(Some("photo 🐱.png")), "photo 🐱.png");
    }

    #[test]
    fn long_names_keep_their_extension_within_255_bytes() {
        let name = safe_name(Some(&format!("{}.pdf", "é".repeat(300))));
        assert!(name.len() <= MAX_NAME_BYTES && name.ends_with(".pdf"), "{name}");
        assert!(name.starts_with("éé"));
    }

    #[test]
    fn the_disposition_cannot_be_broken_out_of() {
        let header = content_disposition("a\"b\\c; x=1 é.txt");
        assert_eq!(header, "attachment; filename=\"a_b_c; x=1 _.txt\"; filename*=UTF-8''a%22b%5Cc%3B%20x%3D1%20%C3%A9.txt");
        assert!(http::HeaderValue::from_str(&content_disposition("😀\u{1}")).is_ok());
    }
}
