//! Typed ids. On the wire every id is a UUID in hyphenated lowercase form;
//! distinct Rust types keep a room id from being passed where a user id belongs.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A fresh random (v4) id.
            pub fn random() -> Self {
                Self(Uuid::new_v4())
            }

            /// The 16 bytes of the id, for storage keys.
            pub fn as_bytes(&self) -> &[u8; 16] {
                self.0.as_bytes()
            }

            /// Reads an id back from 16 bytes of a storage key.
            pub fn from_bytes(bytes: [u8; 16]) -> Self {
                Self(Uuid::from_bytes(bytes))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    };
}

uuid_id!(
    /// A user account's id.
    UserId
);
uuid_id!(
    /// A room's id. For a `group` room, knowing it is the invitation.
    RoomId
);
uuid_id!(
    /// One authenticated connection's id (`connection_established.session_id`).
    SessionId
);
uuid_id!(
    /// Since wave 2: a completed upload (`attachment.media_id`); the same
    /// value as the tus upload id it came from.
    MediaId
);
uuid_id!(
    /// Since wave 2: one call invitation and its answers (`call.call_id`).
    CallId
);
