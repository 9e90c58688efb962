//! Validating newtypes for every string a client sends. A value of one of these
//! types has passed the rules of PROTOCOL.md ("Limits"); the error says which
//! `error.code` the violation earns.

use crate::limits;
use crate::server::ErrorCode;
use serde::{Deserialize, Serialize};

/// Why a field was refused, and the error code the server answers with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct FieldError {
    /// The `error.code` for this violation.
    pub code: ErrorCode,
    /// Human-readable reason, safe to show to the client.
    pub message: &'static str,
}

impl FieldError {
    const fn new(code: ErrorCode, message: &'static str) -> Self {
        Self { code, message }
    }
}

fn has_control(s: &str, allowed: &[char]) -> bool {
    s.chars().any(|c| c.is_control() && !allowed.contains(&c))
}

macro_rules! validated_string {
    ($(#[$doc:meta])* $name:ident, $check:path) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl TryFrom<String> for $name {
            type Error = FieldError;
            fn try_from(value: String) -> Result<Self, FieldError> {
                $check(&value)?;
                Ok(Self(value))
            }
        }

        impl TryFrom<&str> for $name {
            type Error = FieldError;
            fn try_from(value: &str) -> Result<Self, FieldError> {
                Self::try_from(value.to_owned())
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }

        impl $name {
            /// The validated text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
    };
}

macro_rules! display_debug {
    ($name:ident) => {
        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{}({:?})", stringify!($name), self.0)
            }
        }
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

macro_rules! redacted_debug {
    ($name:ident) => {
        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{}(<redacted>)", stringify!($name))
            }
        }
    };
}

validated_string!(
    /// 3–32 characters of `a-z 0-9 _ - .` (upper case accepted and kept for
    /// display; uniqueness compares [`Username::canonical`]).
    Username,
    check_username
);
display_debug!(Username);

impl Username {
    /// The lower-case form under which usernames are unique.
    pub fn canonical(&self) -> String {
        self.0.to_ascii_lowercase()
    }
}

fn check_username(s: &str) -> Result<(), FieldError> {
    let len = s.chars().count();
    let charset = s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if !limits::USERNAME_CHARS.contains(&len) || !charset {
        return Err(FieldError::new(
            ErrorCode::InvalidUsername,
            "username must be 3-32 characters of a-z, 0-9, '_', '-' and '.'",
        ));
    }
    Ok(())
}

validated_string!(
    /// A new account's password: 8–1024 bytes. Never printed by `Debug`.
    Password,
    check_password
);
redacted_debug!(Password);

fn check_password(s: &str) -> Result<(), FieldError> {
    if !limits::PASSWORD_BYTES.contains(&s.len()) {
        return Err(FieldError::new(ErrorCode::WeakPassword, "password must be 8-1024 bytes"));
    }
    Ok(())
}

validated_string!(
    /// A room's name: 1–64 characters, not blank, no control characters.
    RoomName,
    check_room_name
);
display_debug!(RoomName);

fn check_room_name(s: &str) -> Result<(), FieldError> {
    let len = s.chars().count();
    if !limits::ROOM_NAME_CHARS.contains(&len) || s.trim().is_empty() || has_control(s, &[]) {
        return Err(FieldError::new(
            ErrorCode::BadRequest,
            "room name must be 1-64 characters, not blank, without control characters",
        ));
    }
    Ok(())
}

validated_string!(
    /// A message body: 1–4000 characters; no control characters but `\n` and `\t`.
    Body,
    check_body
);
display_debug!(Body);

fn check_body(s: &str) -> Result<(), FieldError> {
    let len = s.chars().count();
    if len > *limits::BODY_CHARS.end() {
        return Err(FieldError::new(ErrorCode::TooLarge, "message body is over 4000 characters"));
    }
    if len < *limits::BODY_CHARS.start() {
        return Err(FieldError::new(ErrorCode::BadRequest, "message body is empty"));
    }
    if has_control(s, &['\n', '\t']) {
        return Err(FieldError::new(
            ErrorCode::BadRequest,
            "message body contains control characters (only newline and tab are allowed)",
        ));
    }
    Ok(())
}

validated_string!(
    /// The sender's idempotency key for a `send`: 1–64 characters, no control characters.
    ClientMsgId,
    check_client_msg_id
);
display_debug!(ClientMsgId);

fn check_client_msg_id(s: &str) -> Result<(), FieldError> {
    let len = s.chars().count();
    if !limits::CLIENT_MSG_ID_CHARS.contains(&len) || has_control(s, &[]) {
        return Err(FieldError::new(
            ErrorCode::BadRequest,
            "client_msg_id must be 1-64 characters without control characters",
        ));
    }
    Ok(())
}

validated_string!(
    /// A request's `ref`: at most 64 characters, echoed in the direct reply.
    RequestRef,
    check_ref
);
display_debug!(RequestRef);

fn check_ref(s: &str) -> Result<(), FieldError> {
    if s.chars().count() > limits::REF_MAX_CHARS {
        return Err(FieldError::new(ErrorCode::BadRequest, "ref must be at most 64 characters"));
    }
    Ok(())
}

/// A credential checked only by the server (a login password, a session
/// token): any string, never printed by `Debug`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);
redacted_debug!(Secret);

impl Secret {
    /// Wraps a credential.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The credential itself; call sites that read it are where secrets flow.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// `history.limit`: 1–100.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct PageLimit(u32);

impl TryFrom<u32> for PageLimit {
    type Error = FieldError;
    fn try_from(value: u32) -> Result<Self, FieldError> {
        if !limits::HISTORY_LIMIT.contains(&value) {
            return Err(FieldError::new(ErrorCode::BadRequest, "limit must be 1-100"));
        }
        Ok(Self(value))
    }
}

impl From<PageLimit> for u32 {
    fn from(value: PageLimit) -> u32 {
        value.0
    }
}

impl Default for PageLimit {
    fn default() -> Self {
        Self(limits::HISTORY_DEFAULT_LIMIT)
    }
}

impl PageLimit {
    /// The number of messages asked for.
    pub fn get(self) -> u32 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames() {
        assert!(Username::try_from("bob").is_ok());
        assert!(Username::try_from("Bob_the.Builder-2").is_ok());
        assert_eq!(Username::try_from("Bob").unwrap().canonical(), "bob");
        for bad in ["ab", "a b c", "bob!", "héllo", &"x".repeat(33)] {
            assert_eq!(Username::try_from(bad).unwrap_err().code, ErrorCode::InvalidUsername, "{bad}");
        }
    }

    #[test]
    fn passwords_count_bytes_and_hide_in_debug() {
        assert_eq!(Password::try_from("1234567").unwrap_err().code, ErrorCode::WeakPassword);
        assert!(Password::try_from("12345678").is_ok());
        assert!(Password::try_from("x".repeat(1024)).is_ok());
        assert_eq!(Password::try_from("x".repeat(1025)).unwrap_err().code, ErrorCode::WeakPassword);
        let shown = format!("{:?}", Password::try_from("hunter22").unwrap());
        assert!(!shown.contains("hunter22"), "{shown}");
        assert!(!format!("{:?}", Secret::new("tok")).contains("tok"));
    }

    #[test]
    fn bodies() {
        assert!(Body::try_from("hi\n\tthere ❤️").is_ok());
        assert_eq!(Body::try_from("").unwrap_err().code, ErrorCode::BadRequest);
        assert_eq!(Body::try_from("\u{1b}[2J").unwrap_err().code, ErrorCode::BadRequest);
        assert_eq!(Body::try_from("a\u{7f}").unwrap_err().code, ErrorCode::BadRequest);
        assert_eq!(Body::try_from("a\u{9b}").unwrap_err().code, ErrorCode::BadRequest);
        assert!(Body::try_from("é".repeat(4000)).is_ok());
        assert_eq!(Body::try_from("é".repeat(4001)).unwrap_err().code, ErrorCode::TooLarge);
    }

    #[test]
    fn room_names_client_ids_refs_limits() {
        assert!(RoomName::try_from("general").is_ok());
        for bad in ["", "   ", "a\nb", &"x".repeat(65)] {
            assert_eq!(RoomName::try_from(bad).unwrap_err().code, ErrorCode::BadRequest, "{bad:?}");
        }
        assert!(ClientMsgId::try_from("c-1").is_ok());
        assert!(ClientMsgId::try_from("").is_err());
        assert!(ClientMsgId::try_from("x".repeat(65)).is_err());
        assert!(RequestRef::try_from("x".repeat(64)).is_ok());
        assert!(RequestRef::try_from("x".repeat(65)).is_err());
        assert!(PageLimit::try_from(0).is_err());
        assert!(PageLimit::try_from(101).is_err());
        assert_eq!(PageLimit::default().get(), 50);
    }
}
