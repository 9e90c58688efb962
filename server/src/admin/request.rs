//! The admin socket's line protocol: the client writes one request, a JSON
//! object on one line; the server answers with one reply line (for
//! `export`, with the export's lines, the last one `{"kind":"end",…}`, or
//! an error line) and closes the connection. docs/OPERATOR.md documents it.
//!
//! The local mode (no server running) answers the same requests with the
//! same replies, so the CLI prints both the same way.

use heartlink_protocol::{RoomId, UserId};
use serde::{Deserialize, Serialize};

/// The longest request line the server reads, in bytes.
pub const MAX_REQUEST_BYTES: usize = 4096;
/// The most entries one listing may ask for.
pub const MAX_PAGE: usize = 1000;

/// One operator request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum AdminRequest {
    /// Accounts in id order, after `after`.
    Users { after: Option<UserId>, limit: usize },
    /// Rooms in id order, after `after`.
    Rooms { after: Option<RoomId>, limit: usize },
    BanUser { username: String, reason: String },
    UnbanUser { username: String },
    DeleteMessage { room_id: RoomId, seq: u64 },
    /// The whole store as JSON Lines (export.rs); token hashes only when asked.
    Export { tokens: bool },
    /// The open reports, oldest first (at most [`MAX_PAGE`]).
    Reports,
    /// One report with the messages it concerns.
    Report { id: uuid::Uuid },
}

/// A report as the operator sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportLine {
    pub id: uuid::Uuid,
    pub at: u64,
    pub reporter: String,
    pub room_id: RoomId,
    pub room_name: String,
    /// The reported message, when the report named one.
    pub seq: Option<u64>,
    pub reason: String,
    /// In a pair room, the stranger's real account name (the operator's eyes only).
    pub peer: Option<String>,
    pub open: bool,
}

/// A message kept with a report (copied when it was made).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportedLine {
    pub seq: u64,
    pub sender: String,
    pub at: u64,
    pub body: String,
    pub deleted: bool,
}

/// An account as the operator sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserLine {
    pub id: UserId,
    pub username: String,
    pub created_at: u64,
    /// The ban's reason while one stands.
    pub banned: Option<String>,
}

/// A room as the operator sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomLine {
    pub id: RoomId,
    pub name: String,
    /// `group` or `pair`.
    pub kind: String,
    pub created_by: UserId,
    pub created_at: u64,
    pub last_seq: u64,
}

/// One reply line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reply", rename_all = "snake_case")]
pub enum AdminReply {
    /// A page of accounts; `next` is the cursor for the page after it.
    Users { users: Vec<UserLine>, next: Option<UserId> },
    Rooms { rooms: Vec<RoomLine>, next: Option<RoomId> },
    /// The ban is stored; `connections_closed` when a running server was told to close them.
    Banned { user: UserLine, connections_closed: bool },
    /// `was_banned` is false when there was no ban to lift.
    Unbanned { user: UserLine, was_banned: bool },
    MessageDeleted { room_id: RoomId, seq: u64, already_deleted: bool },
    /// `more` counts the open reports past the first [`MAX_PAGE`].
    Reports { reports: Vec<ReportLine>, more: usize },
    Report { report: ReportLine, messages: Vec<ReportedLine> },
    Error { code: ErrorKind, message: String },
}

/// Why a request failed; each maps to its own exit code in the CLI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// A malformed request or argument.
    BadRequest,
    /// No such user, room or message.
    NotFound,
    /// Another admin command is running.
    Busy,
    /// The store failed.
    Internal,
}

impl AdminReply {
    pub fn error(code: ErrorKind, message: impl Into<String>) -> Self {
        Self::Error { code, message: message.into() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_one_json_line_each() {
        let request = AdminRequest::BanUser { username: "mallory".into(), reason: "spam".into() };
        let line = serde_json::to_string(&request).unwrap();
        assert_eq!(line, r#"{"op":"ban_user","username":"mallory","reason":"spam"}"#);
        assert_eq!(serde_json::from_str::<AdminRequest>(&line).unwrap(), request);
        assert!(serde_json::from_str::<AdminRequest>(r#"{"op":"ban_user","username":"m","reason":"","x":1}"#).is_err());
        assert!(serde_json::from_str::<AdminRequest>(r#"{"op":"drop_tables"}"#).is_err());
    }
}
