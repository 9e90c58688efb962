//! Room activity notices: after a commit, every member of a room with new
//! messages hears of it as a user event (`UserEvent::RoomActivity`),
//! wherever their connections are; each hub passes it to the member's
//! connections that have not joined the room, one a second at most
//! (`hub/activity.rs`).
//!
//! Publishing to every member of a room costs a page of members and a
//! publish per member, so this node publishes at most once a second per
//! room: what a room gets meanwhile folds into one notice (the newest seq,
//! the mentions per user added up). With several nodes each publishes for
//! the sends it committed; the hubs' per-connection second still holds.
//!
//! Best effort, like every event: a notice lost on the way costs a live
//! count until the next one (`list_rooms` always has the stored truth).

use crate::bus::{Bus, UserEvent};
use crate::commit::AfterCommit;
use crate::media::Media;
use crate::report::Chain;
use crate::store::{MemberPosition, Store};
use heartlink_protocol::{ChatMessage, MediaId, RoomId, UserId};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// The least time between two publications for one room.
const EVERY: Duration = Duration::from_secs(1);
/// Members read per page while publishing.
const MEMBER_PAGE: usize = 200;
/// Stored batches waiting for the publisher; beyond, notices are dropped (logged).
const QUEUE: usize = 1024;

/// A new message, as far as activity goes.
#[derive(Debug, Clone)]
struct Stored {
    room: RoomId,
    seq: u64,
    mentions: Vec<UserId>,
}

/// What a room has waiting for its next publication.
#[derive(Debug)]
struct Waiting {
    last_seq: u64,
    mentions: HashMap<UserId, u64>,
    due: Instant,
}

/// The commit's followers on this node: activity notices and the release of
/// deleted media.
#[derive(Debug)]
pub struct Followers {
    activity: mpsc::Sender<Vec<Stored>>,
    media: Media,
}

impl AfterCommit for Followers {
    fn messages_stored(&self, messages: &[ChatMessage]) {
        let stored = messages.iter().map(|m| Stored { room: m.room_id, seq: m.seq, mentions: m.mentions.clone() }).collect();
        match self.activity.try_send(stored) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => tracing::warn!("room activity queue full; notices for a batch dropped"),
            // Shutting down: the flusher drains its queue after the publisher stopped.
            Err(mpsc::error::TrySendError::Closed(_)) => tracing::debug!("room activity publisher stopped"),
        }
    }

    fn media_released(&self, media: Vec<MediaId>) {
        let service = self.media.clone();
        tokio::task::spawn_blocking(move || {
            for id in media {
                match service.release(id) {
                    Ok(()) => tracing::info!(media = %id, "media of a deleted message deleted"),
                    Err(err) => tracing::error!(media = %id, cause = %Chain(&err), "could not delete the media of a deleted message"),
                }
            }
        });
    }
}

/// Starts the activity publisher; returns the followers to give the flusher.
pub fn spawn(store: Arc<dyn Store>, bus: Arc<dyn Bus>, media: Media, shutdown: CancellationToken) -> (Followers, tokio::task::JoinHandle<()>) {
    let (tx, rx) = mpsc::channel(QUEUE);
    let task = tokio::spawn(publish_loop(rx, store, bus, shutdown));
    (Followers { activity: tx, media }, task)
}

async fn publish_loop(mut rx: mpsc::Receiver<Vec<Stored>>, store: Arc<dyn Store>, bus: Arc<dyn Bus>, shutdown: CancellationToken) {
    let mut waiting: HashMap<RoomId, Waiting> = HashMap::new();
    let mut published: HashMap<RoomId, Instant> = HashMap::new();
    loop {
        let next_due = waiting.values().map(|room| room.due).min();
        tokio::select! {
            () = shutdown.cancelled() => return,
            batch = rx.recv() => {
                let Some(batch) = batch else { return };
                let now = Instant::now();
                for message in batch {
                    let due = published.get(&message.room).map_or(now, |at| (*at + EVERY).max(now));
                    let room = waiting.entry(message.room).or_insert_with(|| Waiting { last_seq: 0, mentions: HashMap::new(), due });
                    room.last_seq = room.last_seq.max(message.seq);
                    for user in message.mentions {
                        *room.mentions.entry(user).or_default() += 1;
                    }
                }
            }
            () = sleep_until(next_due) => {
                let now = Instant::now();
                let due: Vec<RoomId> = waiting.iter().filter(|(_, room)| room.due <= now).map(|(id, _)| *id).collect();
                for id in due {
                    if let Some(room) = waiting.remove(&id) {
                        publish(store.as_ref(), bus.as_ref(), id, room).await;
                        published.insert(id, Instant::now());
                    }
                }
                published.retain(|_, at| at.elapsed() < EVERY);
            }
        }
    }
}

async fn sleep_until(due: Option<Instant>) {
    match due {
        Some(due) => tokio::time::sleep_until(due).await,
        None => std::future::pending().await,
    }
}

/// Tells every member of `room` (a page of members at a time).
async fn publish(store: &dyn Store, bus: &dyn Bus, room: RoomId, waiting: Waiting) {
    let mut after: Option<MemberPosition> = None;
    loop {
        let page = match store.member_page(room, after, MEMBER_PAGE).await {
            Ok(page) => page,
            Err(err) => {
                tracing::error!(%room, cause = %Chain(&err), "could not list the room's members for activity notices");
                return;
            }
        };
        for member in &page.members {
            let mentions = waiting.mentions.get(&member.user.id).copied().unwrap_or(0);
            let event = UserEvent::RoomActivity { room, last_seq: waiting.last_seq, mentions };
            if let Err(err) = bus.publish_user(member.user.id, event).await {
                tracing::warn!(%room, cause = %Chain(&err), "activity notice not published");
            }
        }
        match page.next {
            Some(next) => after = Some(next),
            None => return,
        }
    }
}
