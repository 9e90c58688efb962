//! Makes text from the network safe to put on a terminal, or into the log.
//!
//! Everything a server or another user wrote passes through here before it
//! reaches a `Span` or standard output: usernames, room names, bodies,
//! error messages. Control and formatting characters that could move the
//! cursor, change the title, clear the screen, write the clipboard (OSC 52)
//! or reorder text (bidi overrides) become visible placeholders instead of
//! being emitted — and so does every invisible format character (Unicode
//! category Cf: zero-width spaces and joiners, the BOM, the soft hyphen,
//! tag characters…) that could hide text or make two names look alike. The
//! one use of those that is shown as is: the joiners and tags inside an
//! emoji (👩‍👩‍👧, 🏴󠁧󠁢󠁳󠁣󠁴󠁿), which draw one picture. The placeholders are
//! themselves plain printable text, so sanitizing twice changes nothing.

use unicode_properties::{GeneralCategory, UnicodeEmoji, UnicodeGeneralCategory};
use unicode_segmentation::UnicodeSegmentation;

/// Spaces a tab becomes: a tab's width depends on the cursor column, which
/// ratatui's cell buffer cannot know, so it is expanded to a fixed width.
const TAB: &str = "    ";
const ZWJ: char = '\u{200d}';
/// The subdivision flags of Unicode's emoji list (England, Scotland,
/// Wales): 🏴 + these tag letters + CANCEL TAG. Any other tag run could
/// spell hidden text, so it is shown as placeholders.
const TAG_FLAGS: [&str; 3] = ["gbeng", "gbsct", "gbwls"];

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

/// Text for the log file: every character [`sanitize_line`] would replace
/// is written as a `\u{…}` escape (and a backslash as `\\`), so the log
/// keeps exactly what the server sent while holding no control or format
/// character itself.
pub fn for_log(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c == '\\' {
            out.push_str("\\\\");
        } else if c.is_control() || needs_code_placeholder(c) {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out
}

fn sanitize_with(text: &str, keep_newlines: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for grapheme in text.graphemes(true) {
        let emoji = is_emoji_sequence(grapheme);
        for c in grapheme.chars() {
            match c {
                '\n' if keep_newlines => out.push('\n'),
                '\t' => out.push_str(TAB),
                // C0 controls (ESC, BEL, CR, …) have a "control picture" each at U+2400 + code.
                '\u{0}'..='\u{1f}' => out.push(char::from_u32(0x2400 + u32::from(c)).unwrap_or('\u{fffd}')),
                '\u{7f}' => out.push('\u{2421}'),
                c if emoji && (c == ZWJ || is_tag(c)) => out.push(c),
                c if needs_code_placeholder(c) => out.push_str(&format!("⟨U+{:04X}⟩", u32::from(c))),
                c => out.push(c),
            }
        }
    }
    out
}

/// C1 controls (a lone 0x9B is a CSI on some terminals); every format
/// character (Cf: bidi overrides, embeddings, isolates and marks — the
/// "Trojan Source" trick — zero-width spaces, joiners, the BOM, the soft
/// hyphen, tag characters, invisible operators…); the Unicode
/// line/paragraph separators (they break lines where the layout does not
/// expect it); and the blank "filler" letters used to make empty names.
pub fn needs_code_placeholder(c: char) -> bool {
    matches!(c, '\u{80}'..='\u{9f}' | '\u{2028}' | '\u{2029}' | '\u{115f}' | '\u{1160}' | '\u{3164}' | '\u{ffa0}' | '\u{034f}')
        || c.general_category() == GeneralCategory::Format
}

fn is_tag(c: char) -> bool {
    ('\u{e0020}'..='\u{e007f}').contains(&c)
}

/// Whether a grapheme is one emoji drawn from several characters: a ZWJ
/// sequence whose every joiner stands between two emoji, or one of the
/// subdivision flags.
fn is_emoji_sequence(grapheme: &str) -> bool {
    let chars: Vec<char> = grapheme.chars().collect();
    let pictographic = |c: char| u32::from(c) >= 0x2000 && c.is_emoji_char() && !needs_code_placeholder(c);
    if chars.first() == Some(&'\u{1f3f4}') && chars.iter().skip(1).any(|c| is_tag(*c)) {
        let tags: String = chars[1..].iter().filter_map(|c| char::from_u32(u32::from(*c) - 0xe0000)).collect();
        return TAG_FLAGS.iter().any(|flag| tags == format!("{flag}\u{7f}"));
    }
    if !chars.contains(&ZWJ) || !chars.first().is_some_and(|c| pictographic(*c)) {
        return false;
    }
    // Each joiner follows an emoji (possibly with its modifier or VS16)
    // and precedes one.
    chars.iter().enumerate().filter(|(_, c)| **c == ZWJ).all(|(at, _)| {
        let modifier = |c: char| c == '\u{fe0f}' || ('\u{1f3fb}'..='\u{1f3ff}').contains(&c);
        let before = chars[..at].iter().rev().find(|c| !modifier(**c));
        let after = chars.get(at + 1);
        before.is_some_and(|c| pictographic(*c)) && after.is_some_and(|c| pictographic(*c))
    })
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
    fn invisible_format_characters_become_visible() {
        let cases = [
            ("a\u{200b}lice", "a⟨U+200B⟩lice"),   // zero-width space
            ("\u{feff}bob", "⟨U+FEFF⟩bob"),        // BOM
            ("soft\u{ad}hyphen", "soft⟨U+00AD⟩hyphen"),
            ("al\u{200d}ice", "al⟨U+200D⟩ice"),    // a joiner between letters
            ("x\u{2060}y", "x⟨U+2060⟩y"),          // word joiner
            ("hi\u{e0041}\u{e0042}", "hi⟨U+E0041⟩⟨U+E0042⟩"), // tag characters spelling hidden text
            ("\u{3164}", "⟨U+3164⟩"),              // Hangul filler: an "empty" name
        ];
        for (input, shown) in cases {
            assert_eq!(sanitize_line(input), shown, "{input:?}");
        }
        // Every Cf character of the whole range is replaced.
        for c in (0..=0x10ffff).filter_map(char::from_u32).filter(|c| c.general_category() == GeneralCategory::Format) {
            assert!(!sanitize_line(&format!("a{c}b")).contains(c), "{:04X}", u32::from(c));
        }
    }

    #[test]
    fn emoji_built_from_joiners_and_tags_stay_whole() {
        for emoji in ["👩\u{200d}👩\u{200d}👧", "👨🏽\u{200d}💻", "🏳️\u{200d}🌈", "🏴\u{e0067}\u{e0062}\u{e0073}\u{e0063}\u{e0074}\u{e007f}"] {
            assert_eq!(sanitize_line(emoji), emoji);
        }
        // A black flag carrying any other tag text shows the tags.
        let smuggled = "🏴\u{e0068}\u{e0069}\u{e007f}";
        assert!(sanitize_line(smuggled).contains("⟨U+E0068⟩"), "{}", sanitize_line(smuggled));
        assert!(sanitize_line("👩\u{200d}").contains("⟨U+200D⟩"), "a joiner leading nowhere");
    }

    #[test]
    fn sanitizing_twice_changes_nothing() {
        for text in [HOSTILE, "plain", "a\tb\nc", "❤️ 👩‍👩‍👧 émoji", "a\u{200b}b\u{feff}"] {
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

    #[test]
    fn the_log_gets_escapes_not_raw_bytes() {
        let logged = for_log("mal\u{1b}[31mlory\u{9b}\u{202e}\u{200b}\\ok");
        assert_eq!(logged, "mal\\u{1b}[31mlory\\u{9b}\\u{202e}\\u{200b}\\\\ok");
        assert!(!logged.chars().any(|c| c.is_control() || needs_code_placeholder(c)));
    }
}
