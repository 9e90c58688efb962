//! `:shortcode:` → emoji, applied to what the user types before it is sent.
//!
//! A small table of the shortcodes people actually type in chat; an unknown
//! `:word:` is left as written, so a time like `10:30:00` or a smiley `:)`
//! survives.

/// (shortcode without colons, emoji). Sorted by shortcode for binary search.
const SHORTCODES: &[(&str, &str)] = &[
    ("+1", "👍"),
    ("-1", "👎"),
    ("100", "💯"),
    ("blush", "😊"),
    ("broken_heart", "💔"),
    ("clap", "👏"),
    ("coffee", "☕"),
    ("cry", "😢"),
    ("eyes", "👀"),
    ("fire", "🔥"),
    ("grin", "😁"),
    ("heart", "❤️"),
    ("heart_eyes", "😍"),
    ("hug", "🤗"),
    ("joy", "😂"),
    ("kiss", "😘"),
    ("laughing", "😆"),
    ("ok_hand", "👌"),
    ("party", "🥳"),
    ("pray", "🙏"),
    ("rocket", "🚀"),
    ("rose", "🌹"),
    ("sad", "😞"),
    ("smile", "😄"),
    ("sparkles", "✨"),
    ("star", "⭐"),
    ("sunglasses", "😎"),
    ("tada", "🎉"),
    ("thinking", "🤔"),
    ("thumbsdown", "👎"),
    ("thumbsup", "👍"),
    ("two_hearts", "💕"),
    ("wave", "👋"),
    ("wink", "😉"),
];

/// The emoji for a shortcode written without colons, if known.
pub fn lookup(code: &str) -> Option<&'static str> {
    SHORTCODES
        .binary_search_by(|(name, _)| name.cmp(&code))
        .ok()
        .and_then(|index| SHORTCODES.get(index))
        .map(|(_, emoji)| *emoji)
}

/// Replaces every known `:shortcode:` in `text`.
pub fn expand(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(':') {
        let (before, from_colon) = rest.split_at(start);
        out.push_str(before);
        let after_colon = &from_colon[1..];
        let replaced = after_colon.find(':').and_then(|end| {
            let code = &after_colon[..end];
            lookup(code).map(|emoji| (emoji, &after_colon[end + 1..]))
        });
        match replaced {
            Some((emoji, remaining)) => {
                out.push_str(emoji);
                rest = remaining;
            }
            None => {
                out.push(':');
                rest = after_colon;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use unicode_width::UnicodeWidthStr;

    #[test]
    fn table_is_sorted_for_binary_search() {
        assert!(SHORTCODES.windows(2).all(|pair| pair[0].0 < pair[1].0));
    }

    #[test]
    fn known_codes_expand_and_others_stay() {
        assert_eq!(expand("i :heart: you"), "i ❤️ you");
        assert_eq!(expand(":tada::tada:"), "🎉🎉");
        assert_eq!(expand("at 10:30:00 :nope: :)"), "at 10:30:00 :nope: :)");
        assert_eq!(expand("a:b:heart:"), "a:b❤️");
        assert_eq!(expand("::"), "::");
    }

    #[test]
    fn emoji_are_two_columns_wide() {
        assert_eq!(expand(":heart:").width(), 2);
        assert_eq!(expand(":thumbsup:").width(), 2);
    }
}
