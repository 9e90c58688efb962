//! Ordered delivery: each room's messages reach this node's joined
//! connections in seq order, each at most once, whatever order the bus
//! hands them over in.
//!
//! Per room the hub knows the highest seq delivered here. The next seq is
//! delivered at once; an older one is dropped (a duplicate, or already in a
//! `joined` reply); a later one is held back until the seqs below it arrive.
//! A gap that stays open for [`GAP_WAIT`] (or holds back [`MAX_HELD`]
//! messages) is filled from the store, which has every durable message. The
//! in-process bus never opens a gap by itself: one appears when a batch's
//! confirmation from the disk failed although its messages were written (the
//! store may then show them later), or, with a networked bus, when a node
//! dies between its commit and its publish or a publish is lost.
//!
//! Replies (acks) wait with the message they follow, so a sender always
//! sees its own `chat_message` before its `ack`.

use super::masked::Encoded;
use super::{Hub, HubState, RoomEntry};
use crate::bus::{MessageBatch, Reply};
use crate::node::ConnId;
use crate::store::PageBudget;
use crate::wire;
use heartlink_protocol::{RoomId, ServerMsg};
use std::collections::HashMap;
use std::time::Duration;
use tokio::time::Instant;

/// How long a gap may stay open before it is filled from the store.
pub const GAP_WAIT: Duration = Duration::from_millis(200);
/// Held-back messages per room that trigger a fill without waiting.
const MAX_HELD: usize = 4096;
/// Messages read from the store per fill and room.
pub(super) const FILL_PAGE: u32 = 500;

/// What waits at one seq above a gap: the message (unless only replies
/// arrived for it so far) and the replies that follow it.
#[derive(Debug, Default)]
pub(super) struct Held {
    message: Option<Encoded>,
    pub(super) replies: Vec<Reply>,
}

impl Hub {
    /// A commit's messages and this node's replies (see `Deliver`).
    pub(super) fn deliver_batch(&self, batch: MessageBatch) {
        // Encoded before the lock is taken, once for every recipient (once
        // per viewer in a pair room).
        let masks = self.masks(batch.messages.iter().map(|message| message.room_id));
        let mask_of = |room: RoomId| masks.iter().find(|(id, _)| *id == room).map(|(_, mask)| &**mask);
        let frames: Vec<(RoomId, u64, Encoded)> = batch
            .messages
            .into_iter()
            .map(|message| {
                let (room, seq) = (message.room_id, message.seq);
                (room, seq, Encoded::new(&ServerMsg::ChatMessage(message), mask_of(room)))
            })
            .collect();
        let now = Instant::now();
        let mut state = self.lock();
        // A commit lists the replies in the order of its sends and the new
        // messages in the same order: each message goes out just before the
        // reply that acks it, as when every send was delivered on its own.
        let mut frames = frames.into_iter().peekable();
        for reply in batch.replies {
            if let Some((room, seq, frame)) = frames.next_if(|(room, seq, _)| (*room, *seq) == (reply.room, reply.after_seq)) {
                offer(&mut state, room, seq, frame, now);
            }
            offer_reply(&mut state, reply, now);
        }
        for (room, seq, frame) in frames {
            offer(&mut state, room, seq, frame, now);
        }
    }

    /// Fills, from the store, every gap that has been open too long.
    pub async fn fill_gaps(&self) {
        let now = Instant::now();
        let due: Vec<(RoomId, u64, u64)> = self.lock().rooms.iter().filter_map(|(room, entry)| gap_due(*room, entry, now)).collect();
        for (room, since, upto) in due {
            let page = match self.store.page_after(room, since, upto, PageBudget::count(FILL_PAGE)).await {
                Ok(page) => page,
                Err(err) => {
                    tracing::error!(%room, cause = %crate::report::Chain(&err), "reading a gap from the store failed; trying again");
                    continue;
                }
            };
            let mask = self.masks([room]).pop().map(|(_, mask)| mask);
            let frames: Vec<(u64, Encoded)> = page
                .messages
                .into_iter()
                .map(|message| (message.seq, Encoded::new(&ServerMsg::ChatMessage(wire::chat_message(room, message)), mask.as_deref())))
                .collect();
            let mut state = self.lock();
            let state = &mut *state;
            let Some(entry) = state.rooms.get_mut(&room) else { continue };
            if entry.delivered != Some(since) {
                continue; // the gap closed meanwhile
            }
            let first = frames.first().map_or(upto + 1, |(seq, _)| *seq);
            if first > since + 1 {
                // A gapless store cannot lack them; delivery must not stall forever.
                tracing::error!(%room, from = since + 1, to = first - 1, "messages missing from the store; skipping them");
                entry.delivered = Some(first - 1);
                release(entry, &state.conns);
            }
            tracing::warn!(%room, from = since + 1, to = frames.last().map_or(since, |(seq, _)| *seq), "filled a gap from the store");
            for (seq, frame) in frames {
                offer(state, room, seq, frame, now);
            }
        }
    }
}

/// The gap to fill in `room`, as (delivered, last missing seq), if it is due.
fn gap_due(room: RoomId, entry: &RoomEntry, now: Instant) -> Option<(RoomId, u64, u64)> {
    let delivered = entry.delivered?;
    let since = entry.gap_since?;
    if now.duration_since(since) < GAP_WAIT && entry.held.len() < MAX_HELD {
        return None;
    }
    // Up to the first held message; when only replies wait, up to the last of them.
    let upto = match entry.held.iter().find(|(_, held)| held.message.is_some()) {
        Some((seq, _)) => seq - 1,
        None => *entry.held.last_key_value()?.0,
    };
    (upto > delivered).then_some((room, delivered, upto))
}

/// Delivers `seq` of `room` now, later or never (see the file doc).
pub(super) fn offer(state: &mut HubState, room: RoomId, seq: u64, frame: Encoded, now: Instant) {
    let Some(entry) = state.rooms.get_mut(&room) else { return };
    match entry.delivered {
        Some(delivered) if seq <= delivered => {}
        Some(delivered) if seq == delivered + 1 => {
            push_to_joined(entry, &state.conns, seq, &frame);
            entry.delivered = Some(seq);
            release(entry, &state.conns);
        }
        _ => hold(entry, seq, now).message = Some(frame),
    }
}

/// Delivers a reply once its connection has the room up to its seq.
fn offer_reply(state: &mut HubState, reply: Reply, now: Instant) {
    let waits = state.rooms.get(&reply.room).is_some_and(|entry| {
        reply.after_seq > 0
            && entry.conns.contains_key(&reply.conn)
            && entry.delivered.is_none_or(|delivered| reply.after_seq > delivered)
    });
    match state.rooms.get_mut(&reply.room) {
        Some(entry) if waits => hold(entry, reply.after_seq, now).replies.push(reply),
        _ => state.send_to(reply.conn, reply.frame),
    }
}

fn hold(entry: &mut RoomEntry, seq: u64, now: Instant) -> &mut Held {
    if entry.held.is_empty() {
        entry.gap_since = Some(now);
    }
    entry.held.entry(seq).or_default()
}

fn push_to_joined(entry: &RoomEntry, conns: &HashMap<ConnId, super::ConnEntry>, seq: u64, frame: &Encoded) {
    for (conn, from) in &entry.conns {
        if *from <= seq {
            if let Some(conn) = conns.get(conn) {
                if let Some(frame) = frame.for_viewer(conn.handle.user.id) {
                    conn.handle.push(frame.clone());
                }
            }
        }
    }
}

/// Delivers what the held-back queue has next in line (after the delivered
/// seq moved), with the replies waiting for it.
pub(super) fn release(entry: &mut RoomEntry, conns: &HashMap<ConnId, super::ConnEntry>) {
    let Some(mut delivered) = entry.delivered else { return };
    let mut moved = false;
    while let Some(next) = entry.held.first_entry() {
        let seq = *next.key();
        let deliverable = seq == delivered + 1 && next.get().message.is_some();
        if seq > delivered && !deliverable {
            break;
        }
        let held = next.remove();
        if let (true, Some(frame)) = (deliverable, held.message) {
            push_to_joined(entry, conns, seq, &frame);
            delivered = seq;
            moved = true;
        }
        for reply in held.replies {
            if let Some(conn) = conns.get(&reply.conn) {
                conn.handle.push(reply.frame);
            }
        }
    }
    entry.delivered = Some(delivered);
    if entry.held.is_empty() {
        entry.gap_since = None;
    } else if moved {
        // The next gap starts now.
        entry.gap_since = Some(Instant::now());
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixture::{Fixture, ack, message};
    use crate::bus::{Deliver, MessageBatch};
    use heartlink_protocol::RoomId;

    fn batch(room: RoomId, seqs: &[u64]) -> MessageBatch {
        MessageBatch { messages: seqs.iter().map(|seq| message(room, *seq)).collect(), replies: Vec::new() }
    }

    #[tokio::test]
    async fn messages_reach_connections_in_seq_order_once() {
        let fixture = Fixture::new();
        let room = RoomId::random();
        let alice = fixture.connect("alice").await;
        fixture.hub.join(alice.handle.id, room).await.unwrap();
        for seqs in [&[1][..], &[3, 5], &[1], &[2], &[4, 3], &[6]] {
            fixture.hub.deliver_messages(batch(room, seqs));
        }
        let seen = alice.summary();
        assert_eq!(seen, (1..=6).map(|seq| format!("chat_message {seq}")).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn an_ack_follows_its_message_and_waits_with_it() {
        let fixture = Fixture::new();
        let (room, elsewhere) = (RoomId::random(), RoomId::random());
        let alice = fixture.connect("alice").await;
        fixture.hub.join(alice.handle.id, room).await.unwrap();
        // The ack of 2 arrives with a batch that lacks 2 (it was published elsewhere).
        let mut early = batch(room, &[1]);
        early.replies = vec![ack(&alice, room, 2), ack(&alice, room, 1)];
        fixture.hub.deliver_messages(early);
        assert_eq!(alice.summary(), ["chat_message 1", "ack 1"]);
        fixture.hub.deliver_messages(batch(room, &[2]));
        assert_eq!(alice.summary(), ["chat_message 2", "ack 2"]);

        // Not joined to the room, or a refusal (seq 0): nothing to wait for.
        let mut refused = ack(&alice, room, 0);
        refused.after_seq = 0;
        let replies = vec![ack(&alice, elsewhere, 9), refused];
        fixture.hub.deliver_messages(MessageBatch { messages: Vec::new(), replies });
        assert_eq!(alice.summary(), ["ack 9", "ack 0"]);
    }

    #[tokio::test]
    async fn within_a_batch_each_ack_comes_right_after_its_message() {
        let fixture = Fixture::new();
        let room = RoomId::random();
        let alice = fixture.connect("alice").await;
        fixture.hub.join(alice.handle.id, room).await.unwrap();
        let mut three = batch(room, &[1, 2, 3]);
        // The second send was a retry of the first: it has an ack but no message.
        three.replies = vec![ack(&alice, room, 1), ack(&alice, room, 1), ack(&alice, room, 2), ack(&alice, room, 3)];
        fixture.hub.deliver_messages(three);
        let expected = ["chat_message 1", "ack 1", "ack 1", "chat_message 2", "ack 2", "chat_message 3", "ack 3"];
        assert_eq!(alice.summary(), expected);
    }

    #[tokio::test(start_paused = true)]
    async fn a_gap_that_does_not_close_is_filled_from_the_store() {
        let fixture = Fixture::new();
        let room = RoomId::random();
        let alice = fixture.connect("alice").await;
        assert_eq!(fixture.hub.join(alice.handle.id, room).await.unwrap(), 0);
        // Durable, but only 4 and 5 were published (the publisher of 1–3 died).
        fixture.store_messages(room, 5).await;
        let mut late = batch(room, &[4, 5]);
        late.replies = vec![ack(&alice, room, 5)];
        fixture.hub.deliver_messages(late);
        fixture.hub.fill_gaps().await;
        assert!(alice.summary().is_empty(), "a gap gets a moment to close by itself");

        tokio::time::advance(super::GAP_WAIT).await;
        fixture.hub.fill_gaps().await;
        let seen = alice.frames();
        let seqs: Vec<u64> = seen.iter().filter(|f| f["type"] == "chat_message").map(|f| f["seq"].as_u64().unwrap()).collect();
        assert_eq!(seqs, [1, 2, 3, 4, 5]);
        assert_eq!(seen[0]["body"], "m0", "1–3 come from the store");
        assert_eq!(seen.last().unwrap()["type"], "ack", "the held ack follows its message");
    }

    #[tokio::test(start_paused = true)]
    async fn a_gap_the_store_cannot_fill_is_skipped_rather_than_stalling_the_room() {
        let fixture = Fixture::new();
        let room = RoomId::random();
        let alice = fixture.connect("alice").await;
        fixture.hub.join(alice.handle.id, room).await.unwrap();
        fixture.hub.deliver_messages(batch(room, &[3]));
        tokio::time::advance(super::GAP_WAIT).await;
        fixture.hub.fill_gaps().await;
        assert_eq!(alice.summary(), ["chat_message 3"]);
        fixture.hub.deliver_messages(batch(room, &[4]));
        assert_eq!(alice.summary(), ["chat_message 4"]);
    }
}
