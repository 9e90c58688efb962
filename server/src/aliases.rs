//! Aliases for strangers: `quiet-otter`, drawn at random for each user of a
//! pair room, with an id of their own that names no account.

use heartlink_protocol::UserId;

const ADJECTIVES: [&str; 32] = [
    "quiet", "brave", "gentle", "bright", "calm", "clever", "curious", "eager", "fuzzy", "happy", "jolly", "kind",
    "lively", "lucky", "mellow", "merry", "nimble", "plucky", "proud", "quick", "shy", "silly", "sleepy", "smart",
    "snug", "sunny", "swift", "tidy", "warm", "wise", "witty", "zesty",
];

const ANIMALS: [&str; 32] = [
    "otter", "fox", "badger", "heron", "lynx", "panda", "koala", "gecko", "owl", "robin", "seal", "hare", "moth",
    "newt", "finch", "crane", "bison", "llama", "mole", "wren", "yak", "stoat", "tapir", "ibis", "lemur", "marten",
    "puffin", "quokka", "raven", "sloth", "toucan", "wombat",
];

/// A fresh alias: a random id and an adjective-animal name.
pub fn fresh() -> (UserId, String) {
    let id = UserId::random();
    // The id's random bytes pick the words too: v4 UUIDs carry 122 random bits.
    let bytes = UserId::random();
    let [a, b, ..] = *bytes.as_bytes();
    let name = format!("{}-{}", ADJECTIVES[usize::from(a) % ADJECTIVES.len()], ANIMALS[usize::from(b) % ANIMALS.len()]);
    (id, name)
}

/// Two different aliases, one for each user of a pair room.
pub fn pair() -> [(UserId, String); 2] {
    let first = fresh();
    let mut second = fresh();
    while second.1 == first.1 {
        second = fresh();
    }
    [first, second]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_are_valid_names_and_differ_within_a_pair() {
        for _ in 0..200 {
            let [(first_id, first), (second_id, second)] = pair();
            assert_ne!(first, second);
            assert_ne!(first_id, second_id);
            assert!(first.len() <= 32 && first.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'), "{first}");
        }
    }
}
