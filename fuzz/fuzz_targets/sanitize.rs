//! Fuzzes the TUI's terminal sanitizer, the last line of defence between a
//! stranger's text and the user's terminal. Properties: the output of
//! `sanitize` (bodies) and `sanitize_line` (names, one-line text) contains no
//! ESC, no C0 control but newline (and none at all for `sanitize_line`), no
//! C1 control, no DEL, no bidi control and no other format character (Cf)
//! except a joiner between two emoji and the tags of the three subdivision
//! flags; sanitizing twice changes nothing.

#![no_main]

use heartlink_client::sanitize::{sanitize, sanitize_line};
use libfuzzer_sys::fuzz_target;
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

/// What must never reach the terminal. Written out from the list
/// rather than taken from the sanitizer, so the two cannot drift together.
fn forbidden(c: char, newline_allowed: bool) -> bool {
    match c {
        '\n' => !newline_allowed,
        '\u{0}'..='\u{1f}' | '\u{7f}' | '\u{80}'..='\u{9f}' => true,
        '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{061c}' => true,
        // Joiners and tags are checked in context by `stray_format`.
        '\u{200d}' | '\u{e0020}'..='\u{e007f}' => false,
        c => c.general_category() == GeneralCategory::Format,
    }
}

/// A joiner not between two non-ASCII, non-format characters (emoji), or a
/// run of tags that is not one of the three subdivision flags after 🏴.
fn stray_format(clean: &str) -> Option<char> {
    let chars: Vec<char> = clean.chars().collect();
    let emoji_like = |c: Option<&char>| c.is_some_and(|c| u32::from(*c) >= 0x2000 && c.general_category() != GeneralCategory::Format);
    for (at, c) in chars.iter().enumerate() {
        let before = chars[..at].iter().rev().find(|c| **c != '\u{fe0f}' && !('\u{1f3fb}'..='\u{1f3ff}').contains(*c));
        if *c == '\u{200d}' && !(emoji_like(before) && emoji_like(chars.get(at + 1))) {
            return Some(*c);
        }
    }
    let tags: Vec<(usize, char)> = chars.iter().copied().enumerate().filter(|(_, c)| ('\u{e0020}'..='\u{e007f}').contains(c)).collect();
    for run in tags.chunk_by(|a, b| a.0 + 1 == b.0) {
        let spelled: String = run.iter().filter_map(|(_, c)| char::from_u32(u32::from(*c) - 0xe0000)).collect();
        let flag = run.first().is_some_and(|(at, _)| *at > 0 && chars[at - 1] == '\u{1f3f4}');
        if !flag || !["gbeng\u{7f}", "gbsct\u{7f}", "gbwls\u{7f}"].contains(&spelled.as_str()) {
            return run.first().map(|(_, c)| *c);
        }
    }
    None
}

fn check(name: &str, clean: &str, again: &str, input: &str, newline_allowed: bool) {
    if let Some(bad) = clean.chars().find(|c| forbidden(*c, newline_allowed)).or_else(|| stray_format(clean)) {
        panic!("{name} let {bad:?} through: {input:?} -> {clean:?}");
    }
    assert_eq!(again, clean, "{name} is not idempotent on {input:?}");
}

fuzz_target!(|data: &[u8]| {
    // Network text arrives as JSON strings, hence valid UTF-8; lossy decoding
    // still lets the fuzzer reach every character.
    let input = String::from_utf8_lossy(data);
    let body = sanitize(&input);
    check("sanitize", &body, &sanitize(&body), &input, true);
    let line = sanitize_line(&input);
    check("sanitize_line", &line, &sanitize_line(&line), &input, false);
});
