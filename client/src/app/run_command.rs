//! What each slash command does (`command` says what they mean).

use super::command::Command;
use super::selection::Act;
use super::{App, Effect, RoomView};
use crate::events::NetCmd;
use crate::sanitize::sanitize_line;
use heartlink_protocol::{ClientMsg, PresenceStatus, RoomId};

impl App {
    pub(super) fn command(&mut self, command: Command) -> Vec<Effect> {
        match command {
            Command::Join(id) => self.join_id(id),
            Command::JoinName(name) => self.join_by_name(&name),
            Command::Create(name) => vec![Self::request(ClientMsg::CreateRoom { name })],
            Command::Leave => self.leave_active(),
            Command::Rooms => self.list_rooms(true),
            Command::Match(code) => self.start_match(code),
            Command::CancelMatch => self.cancel_match(),
            Command::Next(code) => self.next_match(code),
            Command::End => self.end_match(),
            Command::Reveal => self.reveal(),
            Command::Block(name) => self.block(name),
            Command::Unblock(name) => self.unblock(&name),
            Command::Report(reason) => self.report(reason),
            Command::Kick(name) => self.remove_member(&name, false),
            Command::Ban(name) => self.remove_member(&name, true),
            Command::Unban(name) => self.unban(&name),
            Command::Reply { nth, text } => self.act_on_nth(nth, Act::Reply(text)),
            Command::Edit(nth) => self.act_on_nth(nth, Act::Edit),
            Command::Delete(nth) => self.act_on_nth(nth, Act::Delete),
            Command::React { nth, emoji } => self.act_on_nth(nth, Act::React(Some(emoji))),
            Command::Mute => self.toggle_mute(),
            Command::Away => self.set_status(PresenceStatus::Away, true),
            Command::Back => self.set_status(PresenceStatus::Online, true),
            Command::Help => self.help(),
            Command::Quit => self.quit(),
            Command::Id => self.show_id(),
            Command::Open(nth) => self.open_nth(nth),
            Command::Upload(path) => self.upload(&path),
            Command::Save { nth, target } => self.save(nth, target),
            Command::Voice(None) => self.start_recording(),
            Command::Voice(Some(path)) => {
                let name = path.rsplit('/').next().unwrap_or(&path).to_owned();
                let source = crate::events::media::UploadSource::File(std::path::PathBuf::from(&path));
                self.start_upload(source, name, crate::events::media::AsVoice::Analyse)
            }
            Command::Play(nth) => self.play(nth),
            Command::Call => self.call(),
            Command::Accept => self.answer_call(heartlink_protocol::CallRequestAction::Accept),
            Command::Decline => self.answer_call(heartlink_protocol::CallRequestAction::Decline),
            Command::Hangup => self.hang_up(),
        }
    }

    /// Joins (or opens) a room by id. The room opens at once, showing
    /// "joining…"; should the server refuse, the room that was open before
    /// opens again (see `net_events`).
    pub(super) fn join_id(&mut self, id: RoomId) -> Vec<Effect> {
        if self.room_index(id).is_some() {
            return self.select_room_id(id);
        }
        let mut room = RoomView::placeholder(id);
        room.return_to = self.active;
        room.subscribed = true;
        self.add_room(room);
        self.open(id);
        self.notify(format!("joining {id}…"), false);
        let mut effects = vec![Effect::Net(NetCmd::Join(id))];
        effects.extend(self.save_session());
        effects
    }

    fn leave_active(&mut self) -> Vec<Effect> {
        let Some(id) = self.active else {
            self.notify("no room is open", true);
            return Vec::new();
        };
        let Some(room) = self.remove_room(id) else { return Vec::new() };
        self.notify(format!("left {}", sanitize_line(&room.room.name)), false);
        let mut effects = vec![Effect::Net(NetCmd::Leave(id))];
        effects.extend(self.save_outbox());
        effects.extend(self.save_session());
        effects
    }

    fn show_id(&mut self) -> Vec<Effect> {
        let Some(room) = self.active_room() else {
            self.notify("no room is open: /id shows the open room's id", true);
            return Vec::new();
        };
        let id = room.id().to_string();
        self.notify(format!("room id (sent to the clipboard): {id}"), false);
        vec![Effect::Copy(id)]
    }
}

/// The http(s) links of a text, in order.
pub(super) fn links(text: &str) -> Vec<String> {
    let mut finder = linkify::LinkFinder::new();
    finder.kinds(&[linkify::LinkKind::Url]);
    finder
        .links(text)
        .map(|link| link.as_str().to_owned())
        .filter(|url| url.starts_with("https://") || url.starts_with("http://"))
        .collect()
}
