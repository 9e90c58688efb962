//! Stored text made safe for the operator's terminal. Usernames, room names,
//! ban reasons and bodies came from the network: a control character could
//! move the cursor, retitle the window or write the clipboard, and a format
//! character (bidi overrides, zero-width joiners) could reorder or hide what
//! is shown. Each such character is printed as a `\u{…}` escape instead
//! (and a backslash as `\\`), so the operator sees exactly what is stored.

use heartlink_protocol::is_format_char;

/// `text` on one line, every control and format character escaped.
pub fn safe(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c == '\\' {
            out.push_str("\\\\");
        } else if c.is_control() || is_format_char(c) || matches!(c, '\u{2028}' | '\u{2029}') {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_what_a_terminal_would_obey() {
        assert_eq!(safe("plain ünïcode 👍"), "plain ünïcode 👍");
        assert_eq!(safe("\u{1b}]52;c;aGk=\u{7}"), "\\u{1b}]52;c;aGk=\\u{7}");
        assert_eq!(safe("a\nb\r"), "a\\u{a}b\\u{d}");
        assert_eq!(safe("evil\u{202e}txt.exe"), "evil\\u{202e}txt.exe");
        assert_eq!(safe("zero\u{200b}width"), "zero\\u{200b}width");
        assert_eq!(safe("back\\slash"), "back\\\\slash");
        assert_eq!(safe("\u{9b}2J"), "\\u{9b}2J", "C1 controls (CSI) too");
    }
}
