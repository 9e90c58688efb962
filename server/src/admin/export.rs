//! The export format: the whole store as JSON Lines, one record per line,
//! in an order an import can check as it reads (everything a line refers
//! to comes before it):
//!
//! ```text
//! {"kind":"header","format":2,"exported_at":…,"server_version":"…","tokens":false}
//! {"kind":"user","user":{…}}             every account, password hash included
//! {"kind":"last_seen","user_id":…,"at":…}     when an account was last online (ms)
//! {"kind":"ban","ban":{…}}               standing account bans
//! {"kind":"token","hash":"<hex>","token":{…}}   only with --tokens
//! {"kind":"block","blocker":…,"block":{…}}      who blocked whom (and under which name)
//! {"kind":"room","room":{…}}             then that room's
//! {"kind":"pair","pair":{…}}             a pair room's aliases, reveals and end
//! {"kind":"room_ban","room_id":…,"ban":{…}}
//! {"kind":"member","room_id":…,"user_id":…,"joined_at":…}
//! {"kind":"read","room_id":…,"user_id":…,"seq":…}
//! {"kind":"message","room_id":…,"seq":…,"message":{…}}   from seq 1 up
//! {"kind":"call","room_id":…,"call":{…}}        each call's state, declines, whether it rings
//! {"kind":"report","report":{…}}         reports to the operator, open or closed
//! {"kind":"upload","upload":{…}}         completed uploads' metadata
//! {"kind":"end","lines":N}               N lines came before it
//! ```
//!
//! Records are the store's own (`store/records.rs`), so the file holds what
//! the store holds. The `end` line lets an import tell a complete file from
//! a cut one. The media bytes themselves are files (`media/blobs/`), copied
//! beside the export, not in it.
//!
//! From a running server an export is read while the server writes: each
//! record is whole, but the file is not one instant. Accounts made after
//! the accounts were written are left out, and so are their tokens,
//! memberships, read markers, blocks, room bans, reports and pair records
//! (their messages are kept).

use super::operator::Operator;
use crate::clock::now_ms;
use crate::media::catalog::UploadRecord;
use crate::store::{
    BanRecord, BlockRecord, MemberPosition, MessageRecord, PageBudget, PairRecord, ReportRecord, RoomBanRecord, RoomRecord, StoreError,
    StoredCall, TokenRecord, UserRecord,
};
use heartlink_protocol::{RoomId, UserId};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use tokio::io::{AsyncWrite, AsyncWriteExt};

/// The export format's version: 2 added stranger chats, moderation, calls
/// and last-seen times (a format-1 file is still read; it holds none of them).
pub const FORMAT: u32 = 2;
/// The oldest format an import reads.
pub const OLDEST_FORMAT: u32 = 1;
/// Records read from the store per call.
const PAGE: usize = 500;

/// One line of an export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ExportLine {
    Header { format: u32, exported_at: u64, server_version: String, tokens: bool },
    User { user: UserRecord },
    LastSeen { user_id: UserId, at: u64 },
    Ban { ban: BanRecord },
    /// `hash` is the SHA-256 of the token, in hex (tokens are never stored).
    Token { hash: String, token: TokenRecord },
    Block { blocker: UserId, block: BlockRecord },
    Room { room: RoomRecord },
    Pair { pair: PairRecord },
    RoomBan { room_id: RoomId, ban: RoomBanRecord },
    Member { room_id: RoomId, user_id: UserId, joined_at: u64 },
    Read { room_id: RoomId, user_id: UserId, seq: u64 },
    Message { room_id: RoomId, seq: u64, message: MessageRecord },
    Call { room_id: RoomId, call: StoredCall },
    Report { report: ReportRecord },
    Upload { upload: UploadRecord },
    End { lines: u64 },
}

/// Why an export stopped.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("reading the store failed")]
    Store(#[from] StoreError),
    #[error("writing the export failed")]
    Write(#[from] std::io::Error),
    #[error("a record could not be encoded")]
    Encode(#[from] serde_json::Error),
    #[error("the media catalog task failed")]
    Task(#[from] tokio::task::JoinError),
}

/// Writes lines, counting them.
struct Lines<'a, W> {
    out: &'a mut W,
    written: u64,
}

impl<W: AsyncWrite + Unpin> Lines<'_, W> {
    async fn put(&mut self, line: &ExportLine) -> Result<(), ExportError> {
        let mut bytes = serde_json::to_vec(line)?;
        bytes.push(b'\n');
        self.out.write_all(&bytes).await?;
        self.written += 1;
        Ok(())
    }
}

/// Writes the whole store to `out`; returns the number of lines (the `end` line included).
pub async fn export<W: AsyncWrite + Unpin>(operator: &Operator, tokens: bool, out: &mut W) -> Result<u64, ExportError> {
    let store = operator.store.as_ref();
    let mut lines = Lines { out, written: 0 };
    let header = ExportLine::Header { format: FORMAT, exported_at: now_ms(), server_version: env!("CARGO_PKG_VERSION").to_owned(), tokens };
    lines.put(&header).await?;

    let mut users = HashSet::new();
    let mut after = None;
    loop {
        let page = store.users_after(after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        let ids: Vec<UserId> = page.iter().map(|user| user.id).collect();
        for user in page {
            users.insert(user.id);
            lines.put(&ExportLine::User { user }).await?;
        }
        for (user_id, seen) in ids.iter().zip(store.last_seen(&ids).await?) {
            if let Some(at) = seen {
                lines.put(&ExportLine::LastSeen { user_id: *user_id, at }).await?;
            }
        }
    }
    let mut after = None;
    loop {
        let page = store.bans_after(after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.user_id);
        for ban in page.into_iter().filter(|ban| users.contains(&ban.user_id)) {
            lines.put(&ExportLine::Ban { ban }).await?;
        }
    }
    if tokens {
        let mut after = None;
        loop {
            let page = store.tokens_after(after, PAGE).await?;
            let Some((last, _)) = page.last() else { break };
            after = Some(*last);
            for (hash, token) in page.into_iter().filter(|(_, token)| users.contains(&token.user_id)) {
                lines.put(&ExportLine::Token { hash: hex::encode(hash), token }).await?;
            }
        }
    }
    let mut after = None;
    loop {
        let page = store.blocks_after(after, PAGE).await?;
        let Some((blocker, last)) = page.last() else { break };
        after = Some((*blocker, last.user.id));
        for (blocker, block) in page.into_iter().filter(|(blocker, block)| users.contains(blocker) && users.contains(&block.user.id)) {
            lines.put(&ExportLine::Block { blocker, block }).await?;
        }
    }
    let mut rooms = HashSet::new();
    let mut after = None;
    loop {
        let page = store.rooms_after(after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        for room in page {
            rooms.insert(room.id);
            export_room(operator, room, &users, &mut lines).await?;
        }
    }
    let mut after = None;
    loop {
        let page = store.reports_after(after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        for report in page.into_iter().filter(|report| users.contains(&report.reporter.id) && rooms.contains(&report.room)) {
            lines.put(&ExportLine::Report { report }).await?;
        }
    }
    let catalog = std::sync::Arc::clone(&operator.media);
    let uploads = tokio::task::spawn_blocking(move || catalog.uploads()).await??;
    for upload in uploads.into_iter().filter(|upload| upload.completed.is_some()) {
        lines.put(&ExportLine::Upload { upload }).await?;
    }
    let count = lines.written;
    lines.put(&ExportLine::End { lines: count }).await?;
    lines.out.flush().await?;
    Ok(lines.written)
}

/// A room, its members and read markers (of exported accounts) and its messages.
async fn export_room<W: AsyncWrite + Unpin>(
    operator: &Operator,
    room: RoomRecord,
    users: &HashSet<UserId>,
    lines: &mut Lines<'_, W>,
) -> Result<(), ExportError> {
    let store = operator.store.as_ref();
    let room_id = room.id;
    lines.put(&ExportLine::Room { room }).await?;
    // A pair room's aliases: without them its members would see each other's real names.
    if let Some(pair) = store.pair(room_id).await?.filter(|pair| pair.members.iter().all(|member| users.contains(&member.user.id))) {
        lines.put(&ExportLine::Pair { pair }).await?;
    }
    let mut after = None;
    loop {
        let page = store.room_bans_after(room_id, after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.user.id);
        for ban in page.into_iter().filter(|ban| users.contains(&ban.user.id)) {
            lines.put(&ExportLine::RoomBan { room_id, ban }).await?;
        }
    }
    let mut after: Option<MemberPosition> = None;
    loop {
        let page = store.member_page(room_id, after, PAGE).await?;
        for member in page.members.into_iter().filter(|member| users.contains(&member.user.id)) {
            lines.put(&ExportLine::Member { room_id, user_id: member.user.id, joined_at: member.joined_at }).await?;
        }
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    let mut after = None;
    loop {
        let page = store.reads_after(room_id, after, PAGE).await?;
        let Some((last, _)) = page.last() else { break };
        after = Some(*last);
        for (user_id, seq) in page.into_iter().filter(|(user, _)| users.contains(user)) {
            lines.put(&ExportLine::Read { room_id, user_id, seq }).await?;
        }
    }
    let upto = store.last_seq(room_id).await?;
    let mut since = 0;
    while since < upto {
        let page = store.page_after(room_id, since, upto, PageBudget::count(PAGE as u32)).await?;
        let Some(last) = page.messages.last() else { break };
        since = last.seq;
        for message in page.messages {
            lines.put(&ExportLine::Message { room_id, seq: message.seq, message: message.record }).await?;
        }
    }
    let mut after = None;
    loop {
        let page = store.calls_after(room_id, after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.call_id);
        for call in page {
            lines.put(&ExportLine::Call { room_id, call }).await?;
        }
    }
    Ok(())
}
