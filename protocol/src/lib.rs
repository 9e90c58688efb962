//! The heartlink wire protocol, version 1, as typed Rust.
//!
//! `docs/PROTOCOL.md` is the contract; this crate is its single Rust
//! implementation, shared by the server, the TUI, the tests and the benchmark.
//! It does no I/O: it turns text frames into [`Request`]s and [`ServerMsg`]s
//! back into text.
//!
//! Strings that come *in* (usernames, room names, bodies, client message ids)
//! are validating newtypes, so the server cannot hold an invalid one. Strings
//! that go *out* are plain `String`s: a client must treat everything from the
//! network as untrusted anyway, and refusing to decode a frame from a buggy or
//! hostile server would lose the message instead of showing it safely.

mod client;
mod codec;
mod fields;
mod ids;
pub mod limits;
mod objects;
mod server;

pub use client::{AttachmentRef, CallRequest, CallRequestAction, ClientMsg};
pub use codec::{DecodeError, Request, ServerFrame, decode_request, decode_server, encode_request, encode_server};
pub use fields::{
    Body, ClientMsgId, EMPTY_BODY, FieldError, ListLimit, MatchCode, PageLimit, Password, ReportReason, RequestRef,
    RoomName, Secret, Username, is_format_char,
};
pub use ids::{CallId, MediaId, RoomId, SessionId, UserId};
pub use objects::{
    Attachment, AttachmentKind, CallAction, CallInfo, ChatMessage, LeaveReason, Member, PresenceStatus, ReadMarker,
    RelKind, RelatesTo, Room, RoomKind, RoomSummary, User,
};
pub use server::{ErrorCode, ServerMsg};

/// The protocol version this crate speaks, sent as `protocol` in
/// `connection_established`. Additions that old clients can ignore (new
/// optional fields, new message types) do not change it.
pub const PROTOCOL_VERSION: u32 = 1;
