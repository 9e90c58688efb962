//! The protocol's default limits (PROTOCOL.md, "Limits"). The server may be
//! configured otherwise; these are what a client can rely on by default.

/// Largest WebSocket frame or message the server reads, in bytes (close 1009 above).
pub const MAX_FRAME_BYTES: usize = 64 * 1024;
/// Username length in characters.
pub const USERNAME_CHARS: std::ops::RangeInclusive<usize> = 3..=32;
/// Password length in bytes.
pub const PASSWORD_BYTES: std::ops::RangeInclusive<usize> = 8..=1024;
/// Message body length in characters.
pub const BODY_CHARS: std::ops::RangeInclusive<usize> = 1..=4000;
/// Room name length in characters.
pub const ROOM_NAME_CHARS: std::ops::RangeInclusive<usize> = 1..=64;
/// `client_msg_id` length in characters.
pub const CLIENT_MSG_ID_CHARS: std::ops::RangeInclusive<usize> = 1..=64;
/// `ref` length in characters.
pub const REF_MAX_CHARS: usize = 64;
/// `history.limit` range and default.
pub const HISTORY_LIMIT: std::ops::RangeInclusive<u32> = 1..=100;
/// `history.limit` when the request has none.
pub const HISTORY_DEFAULT_LIMIT: u32 = 50;
/// Most messages a `join{since}` returns before `has_more`.
pub const JOIN_SINCE_MAX: u32 = 500;
/// Messages a `join` without `since` returns (the latest ones).
pub const JOIN_LATEST: u32 = 50;
/// Seconds a connection has to send its first frame (the handshake included).
pub const FIRST_FRAME_SECS: u64 = 10;
/// `list_rooms.limit` and `members.limit` range (extension).
pub const LIST_LIMIT: std::ops::RangeInclusive<u32> = 1..=200;
/// Rows a `list_rooms` or `members` page holds when the request has no `limit`.
pub const LIST_DEFAULT_LIMIT: u32 = 100;
/// Members listed in a `joined` reply before `members_cursor` (extension).
pub const JOIN_MEMBERS_MAX: u32 = 100;
/// Largest encoded reply (history, joined, rooms, members) in bytes: a page
/// is cut short (with `has_more`) rather than exceed it, so no reply can be
/// too large for a connection's write buffer (extension).
pub const REPLY_BYTES: usize = 256 * 1024;
/// Digits of a stranger-matching code (wave 2).
pub const MATCH_CODE_DIGITS: std::ops::RangeInclusive<usize> = 4..=8;
/// Characters of a report's reason (wave 2).
pub const REPORT_REASON_CHARS: std::ops::RangeInclusive<usize> = 1..=1000;
/// Peak levels in a voice message's waveform (wave 2).
pub const WAVEFORM_LEVELS: std::ops::RangeInclusive<usize> = 1..=128;
/// A voice message's duration in milliseconds (wave 2).
pub const VOICE_DURATION_MS: std::ops::RangeInclusive<u32> = 1..=600_000;
/// Bytes of a reaction's emoji (wave 2).
pub const REACTION_BYTES: usize = 32;
