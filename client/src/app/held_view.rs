//! Keeping a scrolled-up view still while the timeline grows below it.
//!
//! The scroll offset counts rows up from the bottom, so anything added at
//! the bottom (a new message, a notice, an own message's echo replacing its
//! pending copy) would push the rows the user is reading up. Around each
//! network event the app measures, per scrolled-up room, the rows below the
//! newest message it held before, and grows the offset by however many rows
//! that region gained. Older history lands above that message, so paging
//! changes nothing here — and needs nothing, counting from the bottom.

use super::App;
use crate::timeline::{Layout, rows_below};
use heartlink_protocol::RoomId;

/// A scrolled-up room's bottom as it was before an event: the newest seq
/// and how many rows were below it.
#[derive(Debug, Clone, Copy)]
pub(super) struct HeldView {
    room: RoomId,
    newest: u64,
    rows_below: usize,
}

impl App {
    /// The bottoms of the rooms the user has scrolled up in; rooms following
    /// the newest message (offset 0) keep following it.
    pub(super) fn hold_views(&self) -> Vec<HeldView> {
        self.rooms
            .iter()
            .filter(|room| room.scroll > 0)
            .map(|room| {
                let newest = room.newest_seq();
                HeldView { room: room.id(), newest, rows_below: self.rows_below(room.id(), newest) }
            })
            .collect()
    }

    /// Moves each held room's offset by the rows added (or removed) below
    /// its old bottom, so the same rows stay on screen.
    pub(super) fn restore_views(&mut self, held: Vec<HeldView>) {
        for view in held {
            let now_below = self.rows_below(view.room, view.newest);
            let Some(room) = self.room_mut(view.room) else { continue };
            room.scroll = if now_below >= view.rows_below {
                room.scroll.saturating_add(now_below - view.rows_below)
            } else {
                room.scroll.saturating_sub(view.rows_below - now_below)
            };
        }
    }

    /// Rows below message `seq` at the width the pane is drawn at (from
    /// `Msg::PaneSize`, which the view sends whenever it changes).
    fn rows_below(&self, room: RoomId, seq: u64) -> usize {
        let Some(room) = self.rooms.iter().find(|view| view.id() == room) else { return 0 };
        let layout = Layout {
            room,
            width: self.pane.0,
            utc_offset: self.utc_offset_secs,
            me: self.me.as_ref(),
            look: &self.look,
            blocked: &self.blocked,
            media: &self.media,
        };
        rows_below(layout, seq)
    }
}
