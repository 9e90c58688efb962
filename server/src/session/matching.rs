//! Stranger matching: `match` (random, or by code), `cancel_match`,
//! `reveal`, `end_match` (and `leave` of a pair room, which ends it too).
//! The frames for the other user are built here for that user
//! (`disguise::seen_by`); this connection's replies go through `respond`,
//! which does the same for this user.

use super::Session;
use super::requests::{Fail, Handled};
use crate::bus::{RoomEvent, UserEvent};
use crate::clock::ordered_now_ms;
use crate::disguise::{PairMask, seen_by};
use crate::live::{Admission, MatchOutcome, MatchTicket, Quota, Rate};
use crate::report::Chain;
use crate::store::{PairMemberRecord, PairRecord, RoomKindRecord, RoomRecord, UserSummary};
use crate::wire;
use heartlink_protocol::{ErrorCode, MatchCode, RequestRef, RoomId, ServerMsg, User};
use std::sync::Arc;

/// The stored name of every pair room: never shown (each user sees the other's alias).
const PAIR_ROOM_NAME: &str = "stranger chat";

impl Session {
    pub(super) async fn request_match(&mut self, code: Option<MatchCode>, reference: Option<&RequestRef>) -> Handled {
        let shared = Arc::clone(&self.conn.shared);
        let me = self.handle.user.clone();
        if let Admission::RetryAfter(wait) = shared.live.admit(Rate::Matches, me.id).await? {
            let retry_after_ms = crate::rate_limit::retry_after_ms(wait);
            return Err(Fail::RateLimited { message: "asking for a match too often; wait a moment", retry_after_ms });
        }
        // Checked before the user waits, so both users of a pair room have
        // room for it by the time it is made.
        self.check_membership_cap(me.id).await?;
        if let Admission::RetryAfter(wait) = shared.live.quota_check(Quota::PairRooms, me.id).await? {
            return Err(Fail::RateLimited {
                message: "you started too many stranger chats in the last hour; try again later",
                retry_after_ms: crate::rate_limit::retry_after_ms(wait),
            });
        }
        let avoid = shared.store.blocks_of(me.id).await?.into_iter().map(|block| block.user.id).collect();
        let ticket = MatchTicket { conn: self.handle.id, user: me.clone(), code: code.map(String::from), avoid };
        let other = match shared.live.request_match(ticket).await? {
            MatchOutcome::Waiting => return self.respond(&ServerMsg::MatchWaiting, reference).await,
            MatchOutcome::Matched(other) => other,
        };
        let now = ordered_now_ms();
        let id = RoomId::random();
        let record = RoomRecord {
            id,
            name: PAIR_ROOM_NAME.to_owned(),
            kind: RoomKindRecord::Pair,
            created_by: me.id,
            created_at: now,
            pair: vec![other.user.id, me.id],
        };
        let [first, second] = crate::aliases::pair();
        let member = |user: &User, (alias_id, alias): (heartlink_protocol::UserId, String)| PairMemberRecord {
            user: wire::sender(user),
            alias: UserSummary { id: alias_id, username: alias },
            revealed: false,
        };
        let pair = PairRecord { room: id, members: [member(&other.user, first), member(&me, second)], ended: None };
        if let Err(err) = shared.store.create_pair_room(&record, &pair, now).await {
            self.publish_user(other.user.id, UserEvent::MatchFailed { conn: other.conn }).await;
            return Err(err.into());
        }
        for user in [me.id, other.user.id] {
            if let Err(err) = shared.live.quota_record(Quota::PairRooms, user).await {
                // The room exists; both users still hear of it.
                tracing::warn!(%user, cause = %Chain(&err), "pair room not counted against the quota");
            }
        }
        tracing::info!(room = %id, "pair room created by match");
        let mask = PairMask::new(&pair);
        let matched = ServerMsg::Matched { room: wire::room(&record) };
        if let ServerMsg::Matched { room } = seen_by(matched.clone(), &mask, other.user.id) {
            self.publish_user(other.user.id, UserEvent::Matched { conn: other.conn, room }).await;
        }
        self.respond(&seen_by(matched, &mask, me.id), reference).await
    }

    pub(super) async fn cancel_match(&mut self, reference: Option<&RequestRef>) -> Handled {
        self.conn.shared.live.cancel_match(self.handle.user.id).await?;
        self.respond(&ServerMsg::MatchCancelled, reference).await
    }

    /// The pair record of `room_id` for a request that needs one of this
    /// user's stranger chats: `not_found` for no room, `bad_request` for a
    /// group room, `forbidden` for someone else's.
    pub(super) async fn my_pair(&self, room_id: RoomId, what: &'static str) -> Result<PairRecord, Fail> {
        let shared = &self.conn.shared;
        shared.store.room(room_id).await?.ok_or(Fail::code(ErrorCode::NotFound, "no such room"))?;
        let pair = shared.store.pair(room_id).await?.ok_or(Fail::code(ErrorCode::BadRequest, what))?;
        if pair.sides(self.handle.user.id).is_none() {
            return Err(Fail::code(ErrorCode::Forbidden, "this is not your chat"));
        }
        Ok(pair)
    }

    pub(super) async fn reveal(&mut self, room_id: RoomId, reference: Option<&RequestRef>) -> Handled {
        let me = self.handle.user.clone();
        let pair = self.my_pair(room_id, "reveal works only in a chat with a stranger").await?;
        if pair.ended.is_some() {
            return Err(Fail::code(ErrorCode::Forbidden, "this chat has ended"));
        }
        let shared = Arc::clone(&self.conn.shared);
        let (after, changed) =
            shared.store.reveal_pair(room_id, me.id).await?.ok_or(Fail::code(ErrorCode::Forbidden, "this is not your chat"))?;
        let Some((_, peer)) = after.sides(me.id) else { return Err(Fail::code(ErrorCode::Forbidden, "this is not your chat")) };
        if !after.revealed() {
            return self.respond(&ServerMsg::RevealPending { room_id }, reference).await;
        }
        let peer = wire::user(peer.user.clone());
        if changed {
            tracing::info!(room = %room_id, "both revealed");
            self.publish_room(room_id, RoomEvent::PairChanged { mask: PairMask::new(&after) }).await;
            let to_peer = ServerMsg::Revealed { room_id, peer: me.clone() };
            self.publish_user(peer.id, UserEvent::Frame { msg: Box::new(to_peer), except: None }).await;
            let to_me = ServerMsg::Revealed { room_id, peer: peer.clone() };
            self.publish_user(me.id, UserEvent::Frame { msg: Box::new(to_me), except: Some(self.handle.id) }).await;
        }
        self.respond(&ServerMsg::Revealed { room_id, peer }, reference).await
    }

    pub(super) async fn end_match(&mut self, room_id: RoomId, reference: Option<&RequestRef>) -> Handled {
        let pair = self.my_pair(room_id, "end_match works only in a chat with a stranger").await?;
        let ended = self.end_pair(&pair, Some(self.handle.id)).await?;
        let me = self.handle.user.id;
        let by = match ended.ended {
            Some(end) if end.by != me => ended.sides(me).map(|(_, peer)| wire::user(ended.shown(peer))),
            _ => None,
        };
        let by = by.unwrap_or_else(|| self.handle.user.clone());
        self.respond(&ServerMsg::MatchEnded { room_id, by }, reference).await
    }

    /// Ends this user's pair chat unless it ended already: stored, both
    /// users' connections told (but `except`, which gets a reply), each hub
    /// switched to the ended mask, and the ten minutes before these two may
    /// be matched again start now. Returns the record after.
    pub(super) async fn end_pair(&self, pair: &PairRecord, except: Option<crate::node::ConnId>) -> Result<PairRecord, Fail> {
        let shared = Arc::clone(&self.conn.shared);
        let me = self.handle.user.clone();
        let Some((after, changed)) = shared.store.end_pair(pair.room, me.id, ordered_now_ms()).await? else {
            return Err(Fail::code(ErrorCode::NotFound, "no such room"));
        };
        if !changed {
            return Ok(after);
        }
        tracing::info!(room = %pair.room, "pair chat ended");
        let Some((_, peer)) = after.sides(me.id) else { return Ok(after) };
        if let Err(err) = shared.live.note_partners(me.id, peer.user.id).await {
            tracing::warn!(cause = %Chain(&err), "the end of a pair chat was not noted for matching");
        }
        let mask = PairMask::new(&after);
        self.publish_room(pair.room, RoomEvent::PairChanged { mask: mask.clone() }).await;
        let ended = ServerMsg::MatchEnded { room_id: pair.room, by: me.clone() };
        let to_peer = seen_by(ended.clone(), &mask, peer.user.id);
        self.publish_user(peer.user.id, UserEvent::Frame { msg: Box::new(to_peer), except: None }).await;
        self.publish_user(me.id, UserEvent::Frame { msg: Box::new(ended), except }).await;
        Ok(after)
    }

    /// `forbidden` when `room_id` is a pair room whose chat ended (the store
    /// decides; only pair rooms are asked).
    pub(super) async fn refuse_if_ended(&self, room_id: RoomId) -> Handled {
        let shared = &self.conn.shared;
        if shared.hub.pair_view(room_id, self.handle.user.id).is_none() {
            return Ok(());
        }
        if shared.store.pair(room_id).await?.is_some_and(|pair| pair.ended.is_some()) {
            return Err(Fail::code(ErrorCode::Forbidden, "this chat has ended"));
        }
        Ok(())
    }
}
