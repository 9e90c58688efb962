//! The operator's commands, `heartlink-server admin …`: list users and
//! rooms, ban and unban accounts, delete a message, export the whole store
//! as JSON Lines and import such an export into an empty data dir.
//!
//! Two ways to reach the data: with a server running, `admin` talks to it
//! through a Unix socket in the data dir (`admin.sock`, mode 0600; the line
//! protocol is in `request.rs` and docs/OPERATOR.md), and the server does
//! the work through its seams, so a ban closes the user's connections on
//! every node. With none running, `admin` takes the data dir's lock itself
//! and opens the store. A data dir whose lock is held but which has no
//! socket to answer is refused, never opened beside its holder.
//!
//! Where the operator's view of reports will go (listing the open reports
//! and showing one with its messages) is marked in `cli.rs` and
//! `request.rs`: the store keeps no reports in this build.

pub mod bans;
pub mod cli;
mod client;
pub mod export;
mod export_file;
pub mod import;
pub mod listener;
mod local;
pub mod operator;
mod reports;
pub mod request;
pub mod text;

/// The WebSocket close code of a banned account's connections (PROTOCOL.md).
pub const BANNED_CLOSE: u16 = 4003;
/// The Unix socket's file name in the data dir.
pub const SOCKET_FILE: &str = "admin.sock";
/// The longest ban reason, in characters: it travels in a close frame
/// (at most 123 bytes) after `banned: `.
pub const BAN_REASON_CHARS: usize = 100;

/// The text a banned user is shown: the `error` message of a refused login
/// or resume.
pub fn ban_message(reason: &str) -> String {
    if reason.is_empty() { "this account is banned".to_owned() } else { format!("this account is banned: {reason}") }
}
