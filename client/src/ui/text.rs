//! Fitting text into a width: whole graphemes, by display width, with an
//! ellipsis where something had to go.

use unicode_segmentation::UnicodeSegmentation;
use unicode_width::UnicodeWidthStr;

/// `text` cut to at most `width` columns, ending in `…` if it was cut.
pub fn fit(text: &str, width: usize) -> String {
    if text.width() <= width {
        return text.to_owned();
    }
    let mut out = String::new();
    let mut used = 0;
    for grapheme in text.graphemes(true) {
        if used + grapheme.width() + 1 > width {
            break;
        }
        used += grapheme.width();
        out.push_str(grapheme);
    }
    if width > 0 {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_cut_by_width_with_an_ellipsis() {
        assert_eq!(fit("general", 10), "general");
        assert_eq!(fit("carol & alice", 8), "carol &…");
        assert_eq!(fit("日本語のテキスト", 7), "日本語…");
        assert!(fit("日本語のテキスト", 7).width() <= 7);
        assert_eq!(fit("abc", 0), "");
    }
}
