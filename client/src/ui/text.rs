//! Fitting text into a width: whole graphemes, by display width, with an
//! ellipsis where something had to go.

pub use crate::timeline::fit;

#[cfg(test)]
mod tests {
    use super::*;
    use unicode_width::UnicodeWidthStr;

    #[test]
    fn text_is_cut_by_width_with_an_ellipsis() {
        assert_eq!(fit("general", 10), "general");
        assert_eq!(fit("carol & alice", 8), "carol &…");
        assert_eq!(fit("日本語のテキスト", 7), "日本語…");
        assert!(fit("日本語のテキスト", 7).width() <= 7);
        assert_eq!(fit("abc", 0), "");
    }
}
