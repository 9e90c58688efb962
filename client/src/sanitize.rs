//! Makes text from the network safe to put on a terminal.
//!
//! Everything a server or another user wrote passes through here before it
//! reaches a `Span`: usernames, room names, bodies, error messages. Control
//! and formatting characters that could move the cursor, change the title,
//! clear the screen, write the clipboard (OSC 52) or reorder text (bidi
//! overrides) become visible placeholders instead of being emitted. The
//! placeholders are themselves plain printable text, so sanitizing twice
//! changes nothing.

/// Spaces a tab becomes: a tab's width depends on the cursor column, which
/// ratatui's cell buffer cannot know, so it is expanded to a fixed width.
const TAB: &str = "    ";

/// Sanitizes a possibly multi-line text (a message body): newlines are kept,
/// everything dangerous is replaced by a visible placeholder.
pub fn sanitize(text: &str) -> String {
    sanitize_with(text, true)
}

/// Sanitizes text that must stay on one line (a username, a room name, an
/// error message): newlines become the visible `␊` as well.
pub fn sanitize_line(text: &str) -> String {
    sanitize_with(text, false)
}

fn sanitize_with(text: &str, keep_newlines: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' if keep_newlines => out.push('\n'),
            '\t' => out.push_str(TAB),
            // C0 controls (ESC, BEL, CR, …) have a "control picture" each at U+2400 + code.
            '\u{0}'..='\u{1f}' => out.push(char::from_u32(0x2400 + u32::from(c)).unwrap_or('\u{fffd}')),
            '\u{7f}' => out.push('\u{2421}'),
            c if needs_code_placeholder(c) => out.push_str(&format!("⟨U+{:04X}⟩", u32::from(c))),
            c => out.push(c),
        }
    }
    out
}

/// C1 controls (a lone 0x9B is a CSI on some terminals), bidi overrides,
/// embeddings, isolates and marks (they reorder what the user reads, the
/// "Trojan Source" trick), and the Unicode line/paragraph separators (they
/// break lines where the layout does not expect it).
fn needs_code_placeholder(c: char) -> bool {
    matches!(c,
        '\u{80}'..='\u{9f}'
        | '\u{200e}' | '\u{200f}' | '\u{061c}'
        | '\u{202a}'..='\u{202e}'
        | '\u{2066}'..='\u{2069}'
        | '\u{2028}' | '\u{2029}')
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOSTILE: &str = "\u{1b}]0;pwned\u{7}\u{1b}[2J\u{1b}]52;c;aGk=\u{7}\r\u{7f}\u{9b}31m\u{202e}txt.exe\u{2066}x\u{2069}\u{200f}\u{61c}\u{2028}";

    fn is_dangerous(c: char) -> bool {
        (c.is_control() && c != '\n') || needs_code_placeholder(c)
    }

    #[test]
    fn nothing_dangerous_survives() {
        let clean = sanitize(HOSTILE);
        assert!(!clean.chars().any(is_dangerous), "{clean:?}");
        assert!(clean.starts_with("␛]0;pwned␇␛[2J"), "{clean}");
        assert!(clean.contains("⟨U+202E⟩txt.exe"), "{clean}");
        assert!(clean.contains("␍␡⟨U+009B⟩31m"), "{clean}");
    }

    #[test]
    fn sanitizing_twice_changes_nothing() {
        for text in [HOSTILE, "plain", "a\tb\nc", "❤️ 👩‍👩‍👧 émoji"] {
            let once = sanitize(text);
            assert_eq!(sanitize(&once), once);
            let line = sanitize_line(text);
            assert_eq!(sanitize_line(&line), line);
        }
    }

    #[test]
    fn ordinary_text_is_untouched_and_lines_are_kept_or_marked() {
        assert_eq!(sanitize("héllo ❤️ 👩‍👩‍👧\nbye"), "héllo ❤️ 👩‍👩‍👧\nbye");
        assert_eq!(sanitize_line("a\nb"), "a␊b");
        assert_eq!(sanitize("a\tb"), "a    b");
    }
}
