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

/// Whether `c` is an invisible format character (Unicode category Cf: zero
/// width space and joiners, BOM, soft hyphen, bidi controls, tag characters…).
/// Names must not contain them: they make two different names look alike
/// and can reorder what a terminal shows.
pub fn is_format_char(c: char) -> bool {
    use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};
    c.general_category() == GeneralCategory::Format
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
    if s.chars().any(is_format_char) {
        return Err(FieldError::new(
            ErrorCode::BadRequest,
            "room name must not contain invisible format characters (zero-width, bidi, BOM, soft hyphen)",
        ));
    }
    Ok(())
}

validated_string!(
    /// A message body: up to 4000 characters; no control characters but `\n`
    /// and `\t`. Since wave 2 it may be empty on the wire (a caption-less
    /// attachment, a call, a deletion); whether empty is allowed depends on
    /// the rest of the `send`, so the server checks that ([`EMPTY_BODY`]).
    Body,
    check_body
);
display_debug!(Body);

/// The refusal of an empty `body` where a text is required (`bad_request`).
pub const EMPTY_BODY: &str = "message body is empty";

// Not derived in the macro: of the validated strings only a body may be empty.
#[allow(clippy::derivable_impls)]
impl Default for Body {
    fn default() -> Self {
        Self(String::new())
    }
}

impl Body {
    /// Whether there is no text (allowed only beside an attachment, a call or a deletion).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

fn check_body(s: &str) -> Result<(), FieldError> {
    let len = s.chars().count();
    if len > *limits::BODY_CHARS.end() {
        return Err(FieldError::new(ErrorCode::TooLarge, "message body is over 4000 characters"));
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

validated_string!(
    /// Since wave 2: a stranger-matching rendezvous code, 4–8 ASCII digits.
    MatchCode,
    check_match_code
);
display_debug!(MatchCode);

fn check_match_code(s: &str) -> Result<(), FieldError> {
    if !limits::MATCH_CODE_DIGITS.contains(&s.len()) || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(FieldError::new(ErrorCode::BadRequest, "a match code is 4-8 digits"));
    }
    Ok(())
}

validated_string!(
    /// Since wave 2: why a user reports a room or message: 1–1000
    /// characters, not blank; no control characters but `\n` and `\t`.
    ReportReason,
    check_report_reason
);
display_debug!(ReportReason);

fn check_report_reason(s: &str) -> Result<(), FieldError> {
    let len = s.chars().count();
    if len > *limits::REPORT_REASON_CHARS.end() {
        return Err(FieldError::new(ErrorCode::TooLarge, "a report reason is at most 1000 characters"));
    }
    if s.trim().is_empty() || has_control(s, &['\n', '\t']) {
        return Err(FieldError::new(
            ErrorCode::BadRequest,
            "a report needs a reason (1-1000 characters, no control characters)",
        ));
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

/// Since v1 (extension): `list_rooms.limit` and `members.limit`: 1–200.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct ListLimit(u32);

impl TryFrom<u32> for ListLimit {
    type Error = FieldError;
    fn try_from(value: u32) -> Result<Self, FieldError> {
        if !limits::LIST_LIMIT.contains(&value) {
            return Err(FieldError::new(ErrorCode::BadRequest, "limit must be 1-200"));
        }
        Ok(Self(value))
    }
}

impl From<ListLimit> for u32 {
    fn from(value: ListLimit) -> u32 {
        value.0
    }
}

impl Default for ListLimit {
    fn default() -> Self {
        Self(limits::LIST_DEFAULT_LIMIT)
    }
}

impl ListLimit {
    /// The number of rows asked for.
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
        assert!(Body::try_from("").unwrap().is_empty(), "empty is decided by the server, per send");
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
        assert!(ListLimit::try_from(0).is_err());
        assert!(ListLimit::try_from(201).is_err());
        assert_eq!(ListLimit::default().get(), 100);
    }

    #[test]
    fn invisible_characters_are_refused_in_room_names() {
        for bad in ["gen\u{200b}eral", "\u{feff}general", "gen\u{ad}eral", "a\u{202e}b", "tag\u{e0041}"] {
            assert_eq!(RoomName::try_from(bad).unwrap_err().code, ErrorCode::BadRequest, "{bad:?}");
        }
        assert!(RoomName::try_from("café ❤️ 日本").is_ok());
    }

    #[test]
    fn match_codes_and_report_reasons() {
        for good in ["1234", "12345678", "0000"] {
            assert!(MatchCode::try_from(good).is_ok(), "{good}");
        }
        for bad in ["123", "123456789", "12a4", "１２３４", ""] {
            assert_eq!(MatchCode::try_from(bad).unwrap_err().code, ErrorCode::BadRequest, "{bad}");
        }
        assert!(ReportReason::try_from("spam\nand insults").is_ok());
        assert_eq!(ReportReason::try_from("  ").unwrap_err().code, ErrorCode::BadRequest);
        assert_eq!(ReportReason::try_from("x".repeat(1001)).unwrap_err().code, ErrorCode::TooLarge);
    }
}
