//! Who a message mentions: the room's members it names as `@username`
//! (case-insensitive), and the sender of the message it replies to. The
//! sender never mentions themself; a name that is not a member's is plain
//! text (no mention, no error).

use super::requests::Fail;
use crate::shared::Shared;
use heartlink_protocol::limits::USERNAME_CHARS;
use heartlink_protocol::{RoomId, UserId};

/// Names looked up per message at most: every `@name` costs a lookup or two,
/// and a body of 4,000 characters could hold a thousand of them.
pub const MAX_NAMED: usize = 20;

fn name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')
}

/// The distinct canonical names a body writes as `@name`, in order, at most
/// [`MAX_NAMED`]. For `@alice.` (a name at the end of a sentence) both
/// `alice.` and `alice` are candidates: usernames may end in `.`, `-`, `_`.
pub fn named(body: &str) -> Vec<Vec<String>> {
    let mut found: Vec<Vec<String>> = Vec::new();
    let mut previous = ' ';
    for (at, c) in body.char_indices() {
        let starts = c == '@' && !name_char(previous) && previous != '@';
        previous = c;
        if !starts {
            continue;
        }
        let rest = &body[at + 1..];
        let token: &str = rest.split(|c: char| !name_char(c)).next().unwrap_or("");
        let mut candidates = Vec::new();
        for candidate in [token, token.trim_end_matches(['.', '-', '_'])] {
            let canonical = candidate.to_ascii_lowercase();
            if USERNAME_CHARS.contains(&canonical.len()) && !candidates.contains(&canonical) {
                candidates.push(canonical);
            }
        }
        if !candidates.is_empty() && !found.contains(&candidates) {
            found.push(candidates);
            if found.len() >= MAX_NAMED {
                break;
            }
        }
    }
    found
}

/// The members of `room` that `body` names, and `also` (a replied-to
/// sender) when they are a member; never `sender`; in order, without repeats.
pub async fn mentions(shared: &Shared, room: RoomId, sender: UserId, body: &str, also: Option<UserId>) -> Result<Vec<UserId>, Fail> {
    let mut mentioned: Vec<UserId> = Vec::new();
    let consider = |user: UserId, mentioned: &Vec<UserId>| user != sender && !mentioned.contains(&user);
    if let Some(user) = also {
        if consider(user, &mentioned) && shared.store.is_member(room, user).await? {
            mentioned.push(user);
        }
    }
    for candidates in named(body) {
        for name in candidates {
            let Some(account) = shared.store.user_by_name(&name).await? else { continue };
            if consider(account.id, &mentioned) && shared.store.is_member(room, account.id).await? {
                mentioned.push(account.id);
            }
            break;
        }
    }
    Ok(mentioned)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(body: &str) -> Vec<Vec<String>> {
        named(body)
    }

    #[test]
    fn names_are_found_where_a_person_would_see_them() {
        assert_eq!(names("hi @Alice, and @bob."), [vec!["alice".to_owned()], vec!["bob.".to_owned(), "bob".to_owned()]]);
        assert_eq!(names("@carol_ at the start"), [vec!["carol_".to_owned(), "carol".to_owned()]]);
        assert!(names("mail me at dave@example.org").is_empty(), "an address is not a mention");
        assert!(names("@@eve @ab @").is_empty(), "too short or no name");
        assert_eq!(names("@alice @ALICE @alice").len(), 1, "repeats count once");
        let many: String = (0..100).map(|n| format!("@user{n:03} ")).collect();
        assert_eq!(names(&many).len(), MAX_NAMED);
        assert_eq!(names(&format!("@{}", "x".repeat(40))), Vec::<Vec<String>>::new(), "longer than any username");
    }
}
