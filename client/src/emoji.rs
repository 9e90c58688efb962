//! Emoji by name: `:shortcode:` → emoji in what the user types, the check
//! that a reaction is one emoji, and the picker's search. The names are
//! GitHub's shortcodes (gemoji) from the `emojis` crate; an unknown `:word:`
//! is left as written, so a time like `10:30:00` or a smiley `:)` survives.

use unicode_segmentation::UnicodeSegmentation;

/// The emoji for a shortcode written without colons, if known.
pub fn lookup(code: &str) -> Option<&'static str> {
    emojis::get_by_shortcode(code).map(emojis::Emoji::as_str)
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

/// A reaction as the server accepts it: one emoji. Given as the emoji
/// itself or its shortcode (`:thumbsup:`, `thumbsup`, `+1`).
pub fn reaction(text: &str) -> Option<String> {
    let text = text.trim();
    let code = text.strip_prefix(':').and_then(|t| t.strip_suffix(':')).unwrap_or(text);
    if let Some(emoji) = lookup(code) {
        return Some(emoji.to_owned());
    }
    let one_grapheme = text.graphemes(true).count() == 1;
    (one_grapheme && emojis::get(text).is_some()).then(|| text.to_owned())
}

/// The emoji whose shortcode contains `filter` (all of them for an empty
/// filter), at most `limit`: the exact name first, then the names starting
/// with it (shortest first), then the rest: the picker's list.
pub fn search(filter: &str, limit: usize) -> Vec<(&'static str, &'static str)> {
    let filter = filter.trim().trim_matches(':').to_lowercase();
    let mut starts = Vec::new();
    let mut contains = Vec::new();
    for emoji in emojis::iter() {
        let Some(code) = emoji.shortcodes().find(|code| code.contains(filter.as_str())) else { continue };
        let entry = (emoji.as_str(), code);
        if code.starts_with(filter.as_str()) {
            starts.push(entry);
        } else if contains.len() < limit {
            contains.push(entry);
        }
    }
    if !filter.is_empty() {
        starts.sort_by_key(|(_, code)| code.len());
    }
    starts.extend(contains);
    starts.truncate(limit);
    starts
}

/// The reactions offered before anything is typed: the ones people use most.
pub const FAVOURITES: &[&str] = &["+1", "heart", "joy", "tada", "open_mouth", "cry", "pray", "fire", "eyes", "-1"];

#[cfg(test)]
mod tests {
    use super::*;
    use unicode_width::UnicodeWidthStr;

    #[test]
    fn known_codes_expand_and_others_stay() {
        assert_eq!(expand("i :heart: you"), "i ❤️ you");
        assert_eq!(expand(":tada::tada:"), "🎉🎉");
        assert_eq!(expand("at 10:30:00 :nope: :)"), "at 10:30:00 :nope: :)");
        assert_eq!(expand("a:zz:heart:"), "a:zz❤️");
        assert_eq!(expand("::"), "::");
        assert_eq!(expand(":thumbsup: :+1: :rocket:"), "👍 👍 🚀");
    }

    #[test]
    fn emoji_are_two_columns_wide() {
        assert_eq!(expand(":heart:").width(), 2);
        assert_eq!(expand(":thumbsup:").width(), 2);
    }

    #[test]
    fn a_reaction_is_one_emoji_given_as_itself_or_by_name() {
        assert_eq!(reaction("👍").as_deref(), Some("👍"));
        assert_eq!(reaction(":heart:").as_deref(), Some("❤️"));
        assert_eq!(reaction("tada").as_deref(), Some("🎉"));
        assert_eq!(reaction("👩‍👩‍👧").as_deref(), Some("👩‍👩‍👧"));
        for bad in ["", "xyzzy", "👍👍", "ok ok", ":nope:", "\u{1b}[31m"] {
            assert_eq!(reaction(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn search_puts_names_that_start_with_the_filter_first() {
        let found = search("heart", 50);
        assert_eq!(found.first().map(|(emoji, _)| *emoji), Some("❤️"));
        assert!(found.iter().any(|(_, code)| code.contains("heart") && !code.starts_with("heart")));
        assert!(search("zzzznothing", 10).is_empty());
        assert_eq!(search("", 5).len(), 5);
        assert!(FAVOURITES.iter().all(|code| lookup(code).is_some()), "every favourite is a shortcode");
    }
}
