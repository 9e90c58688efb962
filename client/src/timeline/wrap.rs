//! Wrapping styled text into screen rows by display width (wide characters
//! and emoji take two columns and are never cut), with a hanging indent and
//! the links each row carries.

use ratatui::style::Style;
use ratatui::text::{Line, Span};
use std::sync::Arc;
use unicode_segmentation::UnicodeSegmentation;
use unicode_width::UnicodeWidthStr;

/// A run of styled text, part of a link when `link` is set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece {
    pub span: Span<'static>,
    pub link: Option<Arc<str>>,
}

impl Piece {
    pub fn new(span: Span<'static>) -> Self {
        Self { span, link: None }
    }
}

/// One logical (unwrapped) line: its pieces, and the column its wrapped
/// continuation rows start at.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Logical {
    pub pieces: Vec<Piece>,
    pub hang: usize,
    /// A row an inline image is drawn over (such a line is one row).
    pub image: Option<ImageRow>,
}

impl Logical {
    pub fn from_spans(spans: Vec<Span<'static>>, hang: usize) -> Self {
        Self { pieces: spans.into_iter().map(Piece::new).collect(), hang, image: None }
    }
}

/// Row `index` of the `rows` an image takes, starting at column `x`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageRow {
    pub media_id: heartlink_protocol::MediaId,
    pub index: u16,
    pub rows: u16,
    pub x: u16,
}

/// A stretch of a row that is (part of) a link: columns `x .. x + width`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub x: usize,
    pub width: usize,
    pub url: Arc<str>,
}

/// One screen row.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Row {
    pub line: Line<'static>,
    pub links: Vec<Link>,
    pub image: Option<ImageRow>,
}

impl Row {
    pub fn styled(text: impl Into<String>, style: Style) -> Self {
        Self { line: Line::styled(text.into(), style), links: Vec::new(), image: None }
    }
}

/// `text` cut to at most `width` columns (whole graphemes, by display
/// width), ending in `…` if it was cut.
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

/// Breaks a logical line into rows of at most `width` columns by display
/// width: at spaces when a word fits on the next row (so an id stays whole
/// and can be copied), inside the word when it is longer than a row, and
/// never through a wide character or an emoji. Continuation rows start
/// `hang` columns in (at most half the width, so a narrow pane still has
/// room for text).
pub fn wrap(logical: Logical, width: usize) -> Vec<Row> {
    let width = width.max(2);
    let hang = logical.hang.min(width / 2);
    if let Some(image) = logical.image {
        // An image's row is never wrapped: its text is cut instead.
        let text: String = logical.pieces.iter().map(|piece| piece.span.content.as_ref()).collect();
        let style = logical.pieces.last().map(|piece| piece.span.style).unwrap_or_default();
        return vec![Row { line: Line::styled(fit(&text, width), style), links: Vec::new(), image: Some(image) }];
    }
    let graphemes: Vec<(&str, Style, Option<&Arc<str>>)> = logical
        .pieces
        .iter()
        .flat_map(|piece| piece.span.content.graphemes(true).map(move |g| (g, piece.span.style, piece.link.as_ref())))
        .collect();
    let mut rows = RowBuilder { hang, ..RowBuilder::default() };
    for word in graphemes.chunk_by(|a, b| a.0.trim().is_empty() == b.0.trim().is_empty()) {
        let word_width: usize = word.iter().map(|(g, ..)| g.width()).sum();
        let blank = word.iter().all(|(g, ..)| g.trim().is_empty());
        if rows.used + word_width > width && rows.used > rows.start() && word_width <= width - hang {
            rows.break_row();
            if blank {
                continue;
            }
        }
        for (grapheme, style, link) in word {
            if rows.used + grapheme.width() > width && rows.used > rows.start() {
                rows.break_row();
                if grapheme.trim().is_empty() {
                    continue;
                }
            }
            rows.push(grapheme, *style, *link);
        }
    }
    rows.finish()
}

/// Accumulates graphemes into styled spans, links and rows.
#[derive(Default)]
struct RowBuilder {
    rows: Vec<Row>,
    row: Vec<Span<'static>>,
    links: Vec<Link>,
    piece: String,
    style: Style,
    used: usize,
    hang: usize,
}

impl RowBuilder {
    /// Where text starts on the current row.
    fn start(&self) -> usize {
        if self.rows.is_empty() { 0 } else { self.hang }
    }

    fn push(&mut self, grapheme: &str, style: Style, link: Option<&Arc<str>>) {
        if style != self.style && !self.piece.is_empty() {
            self.row.push(Span::styled(std::mem::take(&mut self.piece), self.style));
        }
        if let Some(url) = link {
            match self.links.last_mut() {
                Some(last) if last.x + last.width == self.used && Arc::ptr_eq(&last.url, url) => {
                    last.width += grapheme.width();
                }
                _ => self.links.push(Link { x: self.used, width: grapheme.width(), url: Arc::clone(url) }),
            }
        }
        self.style = style;
        self.piece.push_str(grapheme);
        self.used += grapheme.width();
    }

    fn break_row(&mut self) {
        if !self.piece.is_empty() {
            self.row.push(Span::styled(std::mem::take(&mut self.piece), self.style));
        }
        let line = Line::from(std::mem::take(&mut self.row));
        self.rows.push(Row { line, links: std::mem::take(&mut self.links), image: None });
        self.used = self.hang;
        if self.hang > 0 {
            self.row.push(Span::raw(" ".repeat(self.hang)));
        }
    }

    fn finish(mut self) -> Vec<Row> {
        self.break_row();
        self.rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(rows: &[Row]) -> Vec<String> {
        rows.iter().map(|row| row.line.to_string().trim_end().to_owned()).collect()
    }

    #[test]
    fn wrapping_respects_display_width_of_wide_characters() {
        let rows = wrap(Logical::from_spans(vec![Span::raw("ab❤️😀cd")], 0), 4);
        assert_eq!(texts(&rows), ["ab❤️", "😀cd"]);
        assert!(rows.iter().all(|row| row.line.width() <= 4));
        let rows = wrap(Logical::from_spans(vec![Span::raw("id: "), Span::raw("0123456789")], 0), 12);
        assert_eq!(texts(&rows), ["id:", "0123456789"], "a word that fits a row is not split");
        assert_eq!(wrap(Logical::default(), 10).len(), 1, "an empty line still takes a row");
    }

    #[test]
    fn continuation_rows_hang_under_the_text() {
        let line = Logical::from_spans(vec![Span::raw("09:41 bob: "), Span::raw("one two three four five six")], 11);
        let rows = wrap(line, 22);
        assert_eq!(texts(&rows), ["09:41 bob: one two", "           three four", "           five six"]);
        assert!(rows.iter().all(|row| row.line.width() <= 22));
        // A narrow pane keeps at least half its width for text.
        let rows = wrap(Logical::from_spans(vec![Span::raw("09:41 bob: aaaa bbbb")], 11), 10);
        assert!(rows[1..].iter().all(|row| row.line.to_string().starts_with("     ") && row.line.width() <= 10), "{:?}", texts(&rows));
    }

    #[test]
    fn a_long_link_is_split_and_every_piece_carries_the_whole_url() {
        let url: Arc<str> = Arc::from("https://example.com/a/very/long/path/that/cannot/fit");
        let pieces = vec![Piece::new(Span::raw("see ")), Piece { span: Span::raw(url.to_string()), link: Some(Arc::clone(&url)) }];
        let rows = wrap(Logical { pieces, hang: 4, image: None }, 20);
        assert!(rows.len() >= 3, "{:?}", texts(&rows));
        let mut rebuilt = String::new();
        for row in &rows {
            let text = row.line.to_string();
            for link in &row.links {
                assert_eq!(&*link.url, &*url);
                rebuilt.push_str(&text[link.x..link.x + link.width]);
            }
        }
        assert_eq!(rebuilt, &*url, "the link pieces cover the URL exactly");
    }
}
