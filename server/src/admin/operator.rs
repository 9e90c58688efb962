//! The operator's requests, answered the same way whether a running server
//! received them on its socket or the CLI opened a stopped data dir: on the
//! store (and, in a running server, the bus).

use super::bans;
use super::request::{AdminReply, AdminRequest, ErrorKind, MAX_PAGE, RoomLine, UserLine};
use crate::bus::Bus;
use crate::clock::now_ms;
use crate::media::catalog::MediaCatalog;
use crate::report::Chain;
use crate::store::{BanRecord, RoomKindRecord, RoomRecord, Store, StoreError, UserRecord};
use heartlink_protocol::{RoomId, Username};
use std::sync::Arc;

/// What the operator's requests work on.
#[derive(Debug, Clone)]
pub struct Operator {
    pub store: Arc<dyn Store>,
    pub media: Arc<dyn MediaCatalog>,
    /// A running server's bus (to close a banned user's connections); `None`
    /// when the CLI opened a stopped data dir.
    pub bus: Option<Arc<dyn Bus>>,
}

/// A request refused or failed, as the reply that says why.
pub(super) type Refused = Box<AdminReply>;

pub(super) fn refuse(code: ErrorKind, message: impl Into<String>) -> Refused {
    Box::new(AdminReply::error(code, message))
}

pub(super) fn internal(err: &StoreError) -> Refused {
    tracing::error!(cause = %Chain(err), "an admin request failed in the store");
    refuse(ErrorKind::Internal, format!("the store failed: {}", Chain(err)))
}

impl Operator {
    /// Answers every request but `export` (which is streamed: export.rs).
    pub async fn answer(&self, request: AdminRequest) -> AdminReply {
        let answered = match request {
            AdminRequest::Users { after, limit } => self.users(after, limit).await,
            AdminRequest::Rooms { after, limit } => self.rooms(after, limit).await,
            AdminRequest::BanUser { username, reason } => self.ban(&username, reason).await,
            AdminRequest::UnbanUser { username } => self.unban(&username).await,
            AdminRequest::DeleteMessage { room_id, seq } => self.delete_message(room_id, seq).await,
            AdminRequest::Reports => self.reports().await,
            AdminRequest::Report { id } => self.report(id).await,
            AdminRequest::Export { .. } => Err(refuse(ErrorKind::BadRequest, "an export is streamed, not answered")),
        };
        answered.unwrap_or_else(|refused| *refused)
    }

    async fn users(&self, after: Option<heartlink_protocol::UserId>, limit: usize) -> Result<AdminReply, Refused> {
        let limit = page_limit(limit)?;
        let mut page = self.store.users_after(after, limit + 1).await.map_err(|err| internal(&err))?;
        let more = page.len() > limit;
        page.truncate(limit);
        let next = if more { page.last().map(|user| user.id) } else { None };
        let mut users = Vec::with_capacity(page.len());
        for user in page {
            users.push(self.user_line(user).await?);
        }
        Ok(AdminReply::Users { users, next })
    }

    async fn rooms(&self, after: Option<RoomId>, limit: usize) -> Result<AdminReply, Refused> {
        let limit = page_limit(limit)?;
        let mut page = self.store.rooms_after(after, limit + 1).await.map_err(|err| internal(&err))?;
        let more = page.len() > limit;
        page.truncate(limit);
        let next = if more { page.last().map(|room| room.id) } else { None };
        let mut rooms = Vec::with_capacity(page.len());
        for room in page {
            let last_seq = self.store.last_seq(room.id).await.map_err(|err| internal(&err))?;
            rooms.push(room_line(room, last_seq));
        }
        Ok(AdminReply::Rooms { rooms, next })
    }

    async fn ban(&self, username: &str, reason: String) -> Result<AdminReply, Refused> {
        let reason = check_reason(reason)?;
        let account = self.account(username).await?;
        let record = BanRecord { user_id: account.id, reason: reason.clone(), banned_at: now_ms() };
        bans::ban(self.store.as_ref(), self.bus.as_deref(), record).await.map_err(|err| internal(&err))?;
        tracing::info!(user = %account.username, %reason, "account banned by the operator");
        let user = UserLine { id: account.id, username: account.username, created_at: account.created_at, banned: Some(reason) };
        Ok(AdminReply::Banned { user, connections_closed: self.bus.is_some() })
    }

    async fn unban(&self, username: &str) -> Result<AdminReply, Refused> {
        let account = self.account(username).await?;
        let was_banned = self.store.unban_user(account.id).await.map_err(|err| internal(&err))?;
        tracing::info!(user = %account.username, was_banned, "account unbanned by the operator");
        let user = UserLine { id: account.id, username: account.username, created_at: account.created_at, banned: None };
        Ok(AdminReply::Unbanned { user, was_banned })
    }

    async fn delete_message(&self, room: RoomId, seq: u64) -> Result<AdminReply, Refused> {
        if self.store.room(room).await.map_err(|err| internal(&err))?.is_none() {
            return Err(refuse(ErrorKind::NotFound, format!("no room with id {room}")));
        }
        let Some(before) = self.store.blank_message(room, seq).await.map_err(|err| internal(&err))? else {
            return Err(refuse(ErrorKind::NotFound, format!("room {room} has no message {seq}")));
        };
        tracing::info!(%room, seq, "message deleted by the operator");
        Ok(AdminReply::MessageDeleted { room_id: room, seq, already_deleted: before.deleted })
    }

    /// The account called `username` (in any case: names are unique by their canonical form).
    async fn account(&self, username: &str) -> Result<UserRecord, Refused> {
        let name = Username::try_from(username)
            .map_err(|_| refuse(ErrorKind::BadRequest, "not a valid username (3-32 characters of a-z, 0-9, '_', '-' and '.')"))?;
        match self.store.user_by_name(&name.canonical()).await.map_err(|err| internal(&err))? {
            Some(account) => Ok(account),
            None => Err(refuse(ErrorKind::NotFound, format!("no user named {username}"))),
        }
    }

    async fn user_line(&self, user: UserRecord) -> Result<UserLine, Refused> {
        let ban = self.store.user_ban(user.id).await.map_err(|err| internal(&err))?;
        Ok(UserLine { id: user.id, username: user.username, created_at: user.created_at, banned: ban.map(|ban| ban.reason) })
    }
}

fn page_limit(limit: usize) -> Result<usize, Refused> {
    if (1..=MAX_PAGE).contains(&limit) {
        Ok(limit)
    } else {
        Err(refuse(ErrorKind::BadRequest, format!("a page holds 1 to {MAX_PAGE} entries")))
    }
}

/// A ban's reason: at most [`super::BAN_REASON_CHARS`] characters, one line, no control characters.
fn check_reason(reason: String) -> Result<String, Refused> {
    let reason = reason.trim().to_owned();
    if reason.chars().count() > super::BAN_REASON_CHARS || reason.chars().any(char::is_control) {
        return Err(refuse(
            ErrorKind::BadRequest,
            format!("a ban reason is at most {} characters on one line, without control characters", super::BAN_REASON_CHARS),
        ));
    }
    Ok(reason)
}

fn room_line(room: RoomRecord, last_seq: u64) -> RoomLine {
    let kind = match room.kind {
        RoomKindRecord::Group => "group",
        RoomKindRecord::Pair => "pair",
    };
    RoomLine { id: room.id, name: room.name, kind: kind.to_owned(), created_by: room.created_by, created_at: room.created_at, last_seq }
}
