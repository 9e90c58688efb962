//! Finding `@username` in a message's text: whole names only (`@bobby`
//! does not name bob), case-insensitive, as the server matches them for
//! `mentions`. Used to highlight my name and as the fallback for a server
//! that does not send `mentions` yet.

/// Characters a username may hold (PROTOCOL.md: `a-z 0-9 _ - .`), so a
/// name followed by one of them is a longer name.
fn continues_name(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '-' || c == '.'
}

/// The byte ranges of each `@username` in `text`.
pub fn spots(text: &str, username: &str) -> Vec<(usize, usize)> {
    if username.is_empty() {
        return Vec::new();
    }
    let wanted: Vec<char> = username.chars().flat_map(char::to_lowercase).collect();
    let mut found = Vec::new();
    for (at, _) in text.match_indices('@') {
        let before = text[..at].chars().next_back();
        if before.is_some_and(continues_name) {
            continue; // an e-mail address, not a mention
        }
        let mut rest = text[at + 1..].char_indices();
        let mut matched = 0;
        let mut end = at + 1;
        for (offset, c) in rest.by_ref() {
            let lower: Vec<char> = c.to_lowercase().collect();
            if matched + lower.len() > wanted.len() || wanted[matched..matched + lower.len()] != lower[..] {
                break;
            }
            matched += lower.len();
            end = at + 1 + offset + c.len_utf8();
            if matched == wanted.len() {
                break;
            }
        }
        let whole = matched == wanted.len() && !text[end..].chars().next().is_some_and(continues_name);
        // A trailing dot ends a sentence ("hi @bob."), it is not part of the name.
        let sentence_end = matched == wanted.len()
            && text[end..].starts_with('.')
            && !text[end + 1..].chars().next().is_some_and(continues_name);
        if whole || sentence_end {
            found.push((at, end));
        }
    }
    found
}

/// Whether `text` names `username`.
pub fn names(text: &str, username: &str) -> bool {
    !spots(text, username).is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_names_case_insensitive_not_longer_names_or_addresses() {
        assert!(names("hi @bob", "bob"));
        assert!(names("@BOB: look", "bob"));
        assert!(names("hi @bob.", "bob"), "the sentence's full stop");
        assert!(!names("hi @bobby", "bob"));
        assert!(!names("mail bob@bob.org", "bob"));
        assert!(!names("hi bob", "bob"));
        assert!(!names("hi @bo", "bob"));
        assert!(names("@a.b-c_d!", "a.b-c_d"));
        assert_eq!(spots("@bob and @Bob", "bob"), [(0, 4), (9, 13)]);
        assert_eq!(spots("日本 @bob", "bob"), [(7, 11)]);
    }
}
