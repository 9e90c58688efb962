//! When two usernames look alike: the keys under which the store refuses a
//! second account (UTS #39 confusable skeletons, via `unicode-security`).
//!
//! Usernames are `A-Z a-z 0-9 _ - .` and unique case-insensitively; the
//! name is shown as typed. On that alphabet the UTS #39 skeleton maps
//! `0`→`O`, `1`→`l`, `I`→`l` and `m`→`rn`, and leaves everything else
//! alone. A key is built in three steps:
//!
//! 1. `.`, `-` and `_` are removed: `alice.`, `.alice`, `al.ice`, `a_lice`
//!    and `alice-` all look like `alice` in a member list or after an `@`.
//! 2. The skeleton is taken, lower-cased, and taken again, so case does not
//!    matter (`B0B`, `b0b` and `bob` meet as `bob`) and `rn` meets `m`.
//! 3. Because a capital `I` is ambiguous once case is ignored (`ALICE` is
//!    the same account as `alice`, but its skeleton reads `allce`), a name
//!    has a second key made from its lower-case form. A name is refused
//!    when any of its keys belongs to another account.
//!
//! So `aIice`, `a1ice`, `AIice`, `alice.` and `al_ice` cannot be registered
//! beside `alice`, nor `rnary` beside `mary`. This is stricter than needed
//! in a few cases (`allce` cannot register beside `ALICE`), never weaker.
//! What it does not catch: look-alikes UTS #39 does not list for ASCII
//! (`cl` and `d`, `vv` and `w`, `nn` and `m`), and names that differ by a
//! character a reader overlooks without it being confusable (`alice` and
//! `alicee`).

use heartlink_protocol::Username;
use unicode_security::confusable_detection::skeleton;

/// The keys of `name` (one or two, distinct).
pub fn lookalike_keys(name: &Username) -> Vec<String> {
    let bare: String = name.as_str().chars().filter(|c| !matches!(c, '.' | '-' | '_')).collect();
    let as_typed = fold(&bare);
    let lower = fold(&bare.to_lowercase());
    if as_typed == lower { vec![as_typed] } else { vec![as_typed, lower] }
}

fn fold(text: &str) -> String {
    let once: String = skeleton(text).collect();
    skeleton(&once.to_lowercase()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(name: &str) -> Vec<String> {
        lookalike_keys(&Username::try_from(name).unwrap())
    }

    fn look_alike(a: &str, b: &str) -> bool {
        let theirs = keys(b);
        keys(a).iter().any(|key| theirs.contains(key))
    }

    #[test]
    fn the_usual_impersonations_meet_the_original() {
        for fake in ["aIice", "a1ice", "AIice", "ALICE", "alice.", ".alice", "al.ice", "a_lice", "alice-", "A1ICE"] {
            assert!(look_alike(fake, "alice"), "{fake} should look like alice: {:?} vs {:?}", keys(fake), keys("alice"));
            assert!(look_alike("alice", fake), "the relation is symmetric for {fake}");
        }
        assert!(look_alike("b0b", "Bob") && look_alike("B0B", "bob"));
        assert!(look_alike("rnary", "mary") && look_alike("Mary", "rnary"));
        assert!(look_alike("AIice", "ALICE"), "AIice reads as Alice, the same account as ALICE");
    }

    #[test]
    fn different_names_stay_different() {
        for (a, b) in [("alice", "alicia"), ("bob", "rob"), ("carol", "carl"), ("dave", "david"), ("eve", "eva")] {
            assert!(!look_alike(a, b), "{a} and {b}");
        }
        assert_eq!(keys("alice"), ["alice"], "a plain lower-case name has one key");
    }
}
