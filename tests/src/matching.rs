//! Helpers for the stranger-matching tests: pairing two clients, and the
//! names tests give users so that a leak of one is easy to find in a frame.

use crate::WsClient;
use serde_json::{Value, json};

/// A username no alias, id or server text contains by chance: `zz` and
/// letters outside the hex digits, plus a tag.
pub fn unique_name(tag: &str) -> String {
    let random = uuid::Uuid::new_v4().simple().to_string();
    let letters: String = random.bytes().take(8).map(|b| char::from(b'g' + b % 20)).collect();
    format!("zz{tag}{letters}")
}

/// `first` waits (with `code`, if any), then `second` asks and is matched
/// with it. Returns the `matched` frames, as `first` and `second` got them.
pub async fn pair(first: &mut WsClient, second: &mut WsClient, code: Option<&str>) -> (Value, Value) {
    let request = match code {
        Some(code) => json!({"type": "match", "code": code}),
        None => json!({"type": "match"}),
    };
    first.request(request.clone(), "match_waiting").await;
    let seconds = second.request(request, "matched").await;
    let firsts = first.recv_type("matched").await;
    assert_eq!(firsts["room"]["id"], seconds["room"]["id"], "one room for both");
    (firsts, seconds)
}

/// The user id of a `connection_established` frame.
pub fn user_id(established: &Value) -> String {
    established["user"]["id"].as_str().expect("user id").to_owned()
}
