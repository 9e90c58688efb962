//! Fuzzes the TUI's terminal sanitizer, the last line of defence between a
//! stranger's text and the user's terminal. Properties: the output of
//! `sanitize` (bodies) and `sanitize_line` (names, one-line text) contains no
//! ESC, no C0 control but newline (and none at all for `sanitize_line`), no
//! C1 control, no DEL and no bidi control; sanitizing twice changes nothing.

#![no_main]

use heartlink_client::sanitize::{sanitize, sanitize_line};
use libfuzzer_sys::fuzz_target;

/// What must never reach the terminal. Written out from the list
/// rather than taken from the sanitizer, so the two cannot drift together.
fn forbidden(c: char, newline_allowed: bool) -> bool {
    match c {
        '\n' => !newline_allowed,
        '\u{0}'..='\u{1f}' | '\u{7f}' | '\u{80}'..='\u{9f}' => true,
        '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{061c}' => true,
        _ => false,
    }
}

fn check(name: &str, clean: &str, again: &str, input: &str, newline_allowed: bool) {
    if let Some(bad) = clean.chars().find(|c| forbidden(*c, newline_allowed)) {
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
