//! Questions the app asks before doing something it cannot undo or that
//! the user may not expect: sending an over-long message as several,
//! deleting a message, and quitting with messages still unsent. A prompt is answered with y/Enter
//! or n/Esc; every other key is ignored while it shows, so a stray key
//! does not answer it. Saying no changes nothing: the input stays.

use super::{App, Effect};
use heartlink_protocol::limits::BODY_CHARS;
use unicode_segmentation::UnicodeSegmentation;

/// A question waiting for y/n.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Prompt {
    /// The input is over the body limit: send it as these numbered parts?
    SplitLong { chars: usize, parts: Vec<String>, text: String },
    /// A pasted (or dropped) file path: upload it, or paste it as text?
    UploadPasted { path: String },
    /// Quit although `unsent` messages wait for the server?
    QuitWithUnsent { unsent: usize },
    /// Delete message `seq` (its text begins with `preview`)?
    Delete { room: heartlink_protocol::RoomId, seq: u64, preview: String },
}

impl Prompt {
    /// The question, in one line.
    pub fn question(&self) -> String {
        match self {
            Self::SplitLong { chars, parts, .. } => format!(
                "{chars} characters is over the {} limit — send as {} messages (1/{})? y: send · t: as a text file · n: keep editing",
                BODY_CHARS.end(),
                parts.len(),
                parts.len()
            ),
            Self::UploadPasted { path } => {
                format!("send the file {}? y: upload it · n: paste the path as text", crate::sanitize::sanitize_line(path))
            }
            Self::QuitWithUnsent { unsent } => {
                let noun = if *unsent == 1 { "message is" } else { "messages are" };
                format!("{unsent} {noun} not sent yet — kept and sent on the next start. Quit? y: quit · n: stay")
            }
            Self::Delete { preview, .. } => format!("delete \"{preview}\" for everyone? y: delete · n: keep it"),
        }
    }
}

/// Splits `text` into numbered parts `(i/n) …` of at most `limit`
/// characters each, at line boundaries where it can; a single line longer
/// than a part is split at spaces, and a single word longer than that
/// between graphemes. Empty parts are never made.
pub fn split_long(text: &str, limit: usize) -> Vec<String> {
    // The prefix's width depends on the number of parts: grow the guess
    // until the numbering fits (it converges within a step or two).
    let mut digits = 1;
    loop {
        let prefix = 2 * digits + 4; // "(" i "/" n ") "
        let room = limit.saturating_sub(prefix).max(1);
        let chunks = chunk(text, room);
        let count = chunks.len();
        if count.to_string().len() <= digits {
            return chunks.iter().enumerate().map(|(i, part)| format!("({}/{count}) {part}", i + 1)).collect();
        }
        digits = count.to_string().len();
    }
}

/// Greedy packing of lines (then words, then graphemes) into chunks of at
/// most `room` characters.
fn chunk(text: &str, room: usize) -> Vec<String> {
    let mut chunks: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut len = 0;
    let flush = |current: &mut String, len: &mut usize, chunks: &mut Vec<String>| {
        let part = current.trim_end_matches('\n');
        if !part.trim().is_empty() {
            chunks.push(part.to_owned());
        }
        current.clear();
        *len = 0;
    };
    for line in text.split_inclusive('\n') {
        let line_len = line.chars().count();
        if len + line_len <= room {
            current.push_str(line);
            len += line_len;
            continue;
        }
        flush(&mut current, &mut len, &mut chunks);
        if line_len <= room {
            current.push_str(line);
            len = line_len;
            continue;
        }
        // One line longer than a part: by words, a too-long word by graphemes.
        for word in line.split_word_bounds() {
            for grapheme in pieces_of(word, room) {
                let grapheme_len = grapheme.chars().count();
                if len + grapheme_len > room {
                    flush(&mut current, &mut len, &mut chunks);
                }
                current.push_str(grapheme);
                len += grapheme_len;
            }
        }
    }
    flush(&mut current, &mut len, &mut chunks);
    chunks
}

/// A word as one piece if it fits a part, else its graphemes.
fn pieces_of(word: &str, room: usize) -> Vec<&str> {
    if word.chars().count() <= room { vec![word] } else { word.graphemes(true).collect() }
}

impl App {
    /// A key while a prompt shows: y/Enter answers yes, n/Esc no, the rest
    /// is ignored.
    pub(super) fn prompt_key(&mut self, key: crossterm::event::KeyEvent) -> Vec<Effect> {
        use crossterm::event::KeyCode;
        let yes = matches!(key.code, KeyCode::Char('y' | 'Y') | KeyCode::Enter);
        let no = matches!(key.code, KeyCode::Char('n' | 'N') | KeyCode::Esc);
        let as_file = matches!(key.code, KeyCode::Char('t' | 'T')) && matches!(self.prompt, Some(Prompt::SplitLong { .. }));
        if as_file {
            let Some(Prompt::SplitLong { text, .. }) = self.prompt.take() else { return Vec::new() };
            self.input.take();
            let mut effects: Vec<Effect> = self.stop_typing().into_iter().collect();
            effects.extend(self.upload_text(text));
            return effects;
        }
        if !yes && !no {
            return Vec::new();
        }
        let Some(prompt) = self.prompt.take() else { return Vec::new() };
        match (prompt, yes) {
            (Prompt::SplitLong { parts, .. }, true) => {
                self.input.take();
                let mut effects: Vec<Effect> = self.stop_typing().into_iter().collect();
                for part in parts {
                    effects.extend(self.send_message(&part));
                }
                effects
            }
            (Prompt::QuitWithUnsent { .. }, true) => vec![Effect::Quit],
            (Prompt::UploadPasted { path }, true) => self.upload(&path),
            (Prompt::UploadPasted { path }, false) => {
                self.input.insert_str(&path);
                Vec::new()
            }
            (Prompt::Delete { room, seq, .. }, true) => self.delete_confirmed(room, seq),
            (_, false) => Vec::new(),
        }
    }

    /// Quit, or first ask if messages are still waiting to be sent.
    pub(super) fn quit(&mut self) -> Vec<Effect> {
        let unsent = self.rooms.iter().flat_map(|room| &room.pending).filter(|p| p.failed.is_none()).count();
        if unsent == 0 {
            return vec![Effect::Quit];
        }
        self.prompt = Some(Prompt::QuitWithUnsent { unsent });
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(part: &str) -> &str {
        part.split_once(") ").map_or(part, |(_, rest)| rest)
    }

    #[test]
    fn a_long_text_splits_at_lines_into_numbered_parts_within_the_limit() {
        let line = "x".repeat(99);
        let text = vec![line.as_str(); 100].join("\n"); // 9,999 characters in 100 lines
        let parts = split_long(&text, 4000);
        assert_eq!(parts.len(), 3);
        assert!(parts[0].starts_with("(1/3) ") && parts[2].starts_with("(3/3) "), "{}", &parts[2][..10]);
        for part in &parts {
            assert!(part.chars().count() <= 4000);
            assert!(body(part).split('\n').all(|l| l == line), "split only at line boundaries");
        }
        let rejoined: Vec<&str> = parts.iter().map(|p| body(p)).collect();
        assert_eq!(rejoined.join("\n"), text, "nothing lost");
    }

    #[test]
    fn one_huge_line_splits_at_words_then_graphemes() {
        let words = "word ".repeat(1000);
        let parts = split_long(&words, 4000);
        assert_eq!(parts.len(), 2);
        assert!(parts.iter().all(|p| p.chars().count() <= 4000));
        let emoji = "👩‍👩‍👧".repeat(1000); // 5 chars per grapheme, no spaces
        let parts = split_long(&emoji, 4000);
        for part in &parts {
            assert!(part.chars().count() <= 4000);
            assert_eq!(body(part).graphemes(true).filter(|g| *g != "👩‍👩‍👧").count(), 0, "no emoji cut in half");
        }
        assert_eq!(parts.iter().map(|p| body(p)).collect::<String>(), emoji);
    }

    #[test]
    fn numbering_with_more_digits_still_fits() {
        let text = "y\n".repeat(30_000);
        let parts = split_long(&text, 4000);
        assert!(parts.len() >= 10 && parts[9].starts_with(&format!("(10/{}) ", parts.len())));
        assert!(parts.iter().all(|p| p.chars().count() <= 4000));
    }
}
