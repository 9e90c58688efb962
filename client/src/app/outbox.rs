//! The outbox as the app keeps it on disk: every own message not yet
//! acknowledged (and not refused for good) is saved whenever that set
//! changes, and the messages left from the last run are queued again —
//! with their original `client_msg_id`, so a message that did reach the
//! server before the crash is deduplicated, not doubled.

use super::{App, Effect, Pending, RoomView};
use crate::events::{NetCmd, Outgoing};
use crate::session::{Outbox, UnsentMessage};
use heartlink_protocol::{Body, ClientMsgId};

impl App {
    /// Every own message still waiting for its ack, oldest first per room.
    pub fn unsent(&self) -> Vec<UnsentMessage> {
        self.rooms
            .iter()
            .flat_map(|room| {
                room.pending.iter().filter(|pending| pending.failed.is_none()).map(|pending| UnsentMessage {
                    room_id: room.id(),
                    client_msg_id: pending.client_msg_id.clone(),
                    body: pending.body.clone(),
                    relates_to: pending.relates_to,
                    attachment: pending.attachment.clone(),
                    call: pending.call,
                })
            })
            .collect()
    }

    /// The effect that writes the outbox as it is now. Nothing to write
    /// before the account is known (the login screen).
    pub(super) fn save_outbox(&self) -> Vec<Effect> {
        if self.token.is_none() && self.me.is_none() {
            return Vec::new();
        }
        vec![Effect::SaveOutbox(Outbox { account: self.account(), messages: self.unsent() })]
    }

    /// Queues messages left unsent by the last run: shown `(sending…)` in
    /// their rooms (opened if need be) and handed to the network task.
    pub(super) fn queue_unsent(&mut self, unsent: Vec<UnsentMessage>) -> Vec<Effect> {
        let mut effects = Vec::new();
        for message in unsent {
            let (Ok(body), Ok(client_msg_id)) =
                (Body::try_from(message.body.clone()), ClientMsgId::try_from(message.client_msg_id.as_str()))
            else {
                self.notify("a saved unsent message could not be restored (damaged in the outbox file)", true);
                continue;
            };
            if self.room_index(message.room_id).is_none() {
                self.add_room(RoomView::placeholder(message.room_id));
                effects.push(Effect::Net(NetCmd::Join(message.room_id)));
            }
            if let Some(room) = self.room_mut(message.room_id) {
                if room.pending.iter().any(|p| p.client_msg_id == message.client_msg_id) {
                    continue;
                }
                room.pending.push(Pending {
                    client_msg_id: message.client_msg_id,
                    body: message.body,
                    relates_to: message.relates_to,
                    attachment: message.attachment.clone(),
                    call: message.call,
                    failed: None,
                });
            }
            let outgoing = Outgoing::new(message.room_id, client_msg_id, body)
                .relating(message.relates_to)
                .attaching(message.attachment.map(|sent| sent.reference))
                .calling(message.call);
            effects.push(Effect::Net(NetCmd::Send(outgoing)));
        }
        if self.active.is_none() {
            self.active = self.rooms.first().map(RoomView::id);
        }
        effects
    }

    /// After a password login: the last run's unsent messages go out only
    /// if this is the account that typed them.
    pub(super) fn release_restored(&mut self) -> Vec<Effect> {
        let Some(restored) = self.restored.take() else { return Vec::new() };
        if !restored.account.same_as(&self.account()) {
            return Vec::new();
        }
        let mut effects = self.queue_unsent(restored.messages);
        effects.extend(self.save_outbox());
        effects
    }
}
