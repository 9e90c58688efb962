//! What this connection's user may see of a stranger, for the replies the
//! session writes itself (the hub does the same for what it delivers): a
//! reply naming a pair room goes through [`crate::disguise`] with that
//! room's view for this user.

use super::Session;
use super::requests::Fail;
use crate::disguise::{self, PairMask, PairView};
use heartlink_protocol::ServerMsg;

impl Session {
    /// `msg` as this user sees it, when it names a pair room; `None` when it
    /// needs no change.
    pub(super) async fn seen(&self, msg: &ServerMsg) -> Result<Option<ServerMsg>, Fail> {
        let rooms = disguise::rooms_in(msg);
        if rooms.is_empty() {
            return Ok(None);
        }
        let me = self.handle.user.id;
        let shared = &self.conn.shared;
        let mut views: Vec<PairView> = Vec::new();
        for room in rooms {
            let view = match shared.hub.live_mask(room) {
                Some(mask) => mask.and_then(|mask| mask.view(me).cloned()),
                None => shared.store.pair(room).await?.and_then(|pair| PairMask::new(&pair).view(me).cloned()),
            };
            views.extend(view);
        }
        if views.is_empty() {
            return Ok(None);
        }
        let mut seen = msg.clone();
        disguise::apply(&mut seen, |room| views.iter().find(|view| view.room == room));
        Ok(Some(seen))
    }
}
