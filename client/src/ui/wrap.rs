//! Wrapping styled text into screen rows by display width (wide characters
//! and emoji take two columns and are never cut).

use ratatui::style::Style;
use ratatui::text::{Line, Span};
use unicode_segmentation::UnicodeSegmentation;
use unicode_width::UnicodeWidthStr;

/// Breaks styled spans into rows of at most `width` columns by display
/// width: at spaces when a word fits on the next row (so an id stays whole
/// and can be copied), inside the word when it is longer than a row, and
/// never through a wide character or an emoji.
pub fn wrap(spans: Vec<Span<'static>>, width: usize) -> Vec<Line<'static>> {
    let width = width.max(2);
    let graphemes: Vec<(&str, Style)> =
        spans.iter().flat_map(|span| span.content.graphemes(true).map(move |g| (g, span.style))).collect();
    let mut rows = RowBuilder::default();
    for word in graphemes.chunk_by(|a, b| a.0.trim().is_empty() == b.0.trim().is_empty()) {
        let word_width: usize = word.iter().map(|(g, _)| g.width()).sum();
        let blank = word.iter().all(|(g, _)| g.trim().is_empty());
        if rows.used + word_width > width && rows.used > 0 && word_width <= width {
            rows.break_row();
            if blank {
                continue;
            }
        }
        for (grapheme, style) in word {
            if rows.used + grapheme.width() > width && rows.used > 0 {
                rows.break_row();
            }
            rows.push(grapheme, *style);
        }
    }
    rows.finish()
}

/// Accumulates graphemes into styled spans and rows.
#[derive(Default)]
struct RowBuilder {
    rows: Vec<Line<'static>>,
    row: Vec<Span<'static>>,
    piece: String,
    style: Style,
    used: usize,
}

impl RowBuilder {
    fn push(&mut self, grapheme: &str, style: Style) {
        if style != self.style && !self.piece.is_empty() {
            self.row.push(Span::styled(std::mem::take(&mut self.piece), self.style));
        }
        self.style = style;
        self.piece.push_str(grapheme);
        self.used += grapheme.width();
    }

    fn break_row(&mut self) {
        if !self.piece.is_empty() {
            self.row.push(Span::styled(std::mem::take(&mut self.piece), self.style));
        }
        self.rows.push(Line::from(std::mem::take(&mut self.row)));
        self.used = 0;
    }

    fn finish(mut self) -> Vec<Line<'static>> {
        self.break_row();
        self.rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapping_respects_display_width_of_wide_characters() {
        let rows = wrap(vec![Span::raw("ab❤️😀cd")], 4);
        let texts: Vec<String> = rows.iter().map(|row| row.to_string()).collect();
        assert_eq!(texts, ["ab❤️", "😀cd"]);
        assert!(rows.iter().all(|row| row.width() <= 4));
        let rows = wrap(vec![Span::raw("id: "), Span::styled("0123456789", crate::ui::style::dim())], 12);
        let texts: Vec<String> = rows.iter().map(|row| row.to_string()).collect();
        assert_eq!(texts, ["id: ", "0123456789"], "a word that fits a row is not split");
        assert_eq!(wrap(vec![], 10).len(), 1, "an empty line still takes a row");
    }
}
