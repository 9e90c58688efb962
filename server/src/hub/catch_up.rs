//! Catching rooms up from the store after the bus may have lost messages
//! (a networked bus reconnected, or another node's publish failed): the
//! hub's gap fill needs a later message to notice a gap, and a message
//! committed while this node was deaf and never followed by another would
//! otherwise never reach the screen.

use super::delivery::{FILL_PAGE, offer};
use super::masked::Encoded;
use super::Hub;
use crate::store::PageBudget;
use crate::wire;
use heartlink_protocol::{RoomId, ServerMsg};
use tokio::time::Instant;

impl Hub {
    /// Marks `rooms` (those live here) to be read from the store by [`Hub::catch_up`].
    pub(super) fn mark_stale(&self, rooms: &[RoomId]) {
        let mut state = self.lock();
        let live: Vec<RoomId> = rooms.iter().copied().filter(|room| state.rooms.contains_key(room)).collect();
        state.stale.extend(live);
    }

    /// Reads every stale room from the store, from the seq delivered here
    /// up to the last committed one, and delivers what this node missed.
    pub async fn catch_up(&self) {
        let due: Vec<(RoomId, u64)> = {
            let mut state = self.lock();
            let stale = std::mem::take(&mut state.stale);
            stale.into_iter().filter_map(|room| Some((room, state.rooms.get(&room)?.delivered?))).collect()
        };
        for (room, since) in due {
            let read = async {
                let last = self.store.last_seq(room).await?;
                if last <= since {
                    return Ok((last, Vec::new()));
                }
                Ok::<_, crate::store::StoreError>((last, self.store.page_after(room, since, last, PageBudget::count(FILL_PAGE)).await?.messages))
            };
            let (last, messages) = match read.await {
                Ok(read) => read,
                Err(err) => {
                    tracing::error!(%room, cause = %crate::report::Chain(&err), "catching a room up from the store failed; trying again");
                    self.lock().stale.insert(room);
                    continue;
                }
            };
            let Some(read_to) = messages.last().map(|message| message.seq) else { continue };
            let mask = self.masks([room]).pop().map(|(_, mask)| mask);
            let frames: Vec<(u64, Encoded)> = messages
                .into_iter()
                .map(|message| (message.seq, Encoded::new(&ServerMsg::ChatMessage(wire::chat_message(room, message)), mask.as_deref())))
                .collect();
            tracing::info!(%room, from = since + 1, to = read_to, "caught a room up from the store");
            let (now, mut state) = (Instant::now(), self.lock());
            for (seq, frame) in frames {
                offer(&mut state, room, seq, frame, now);
            }
            if read_to < last {
                state.stale.insert(room); // the next page on the next round
            }
        }
    }
}
