//! What the app does with the network task's reports: connection state,
//! authentication results, the resync after a reconnect, refusals.

use super::{App, Effect, Screen};
use crate::net::{ConnState, NetEvent, RequestKind};
use crate::sanitize::sanitize_line;
use heartlink_protocol::{ClientMsg, ErrorCode};

impl App {
    pub(super) fn net_event(&mut self, event: NetEvent) -> Vec<Effect> {
        match event {
            NetEvent::State(state) => self.conn_state(state),
            NetEvent::Authenticated { user, token, server, reconnect } => {
                self.me = Some(user.clone());
                self.username = user.username;
                self.token = Some(token);
                self.server = server;
                if !reconnect {
                    self.screen = Screen::Chat;
                }
                self.save_session()
            }
            NetEvent::AuthFailed { reason, .. } => {
                self.show_login(sanitize_line(&reason));
                Vec::new()
            }
            NetEvent::Resynced => self.resynced(),
            NetEvent::Server(msg) => self.server_msg(msg),
            NetEvent::Refused { request, code, message } => {
                self.refused(request, code, &sanitize_line(&message));
                Vec::new()
            }
            NetEvent::NotSent { what } => {
                self.notify(format!("offline — {what} needs a connection; try again once connected"), true);
                Vec::new()
            }
        }
    }

    fn conn_state(&mut self, state: ConnState) -> Vec<Effect> {
        let was_connected = self.conn == ConnState::Connected;
        match state {
            ConnState::Reconnecting { .. } if was_connected => {
                self.notify("connection lost — reconnecting…", true);
            }
            ConnState::Connected if matches!(self.conn, ConnState::Reconnecting { .. }) => {
                self.catching_up = true;
                for room in &mut self.rooms {
                    room.missed = 0;
                }
            }
            _ => {}
        }
        self.conn = state;
        Vec::new()
    }

    /// Every open room is re-joined: report what the reconnect brought, and
    /// refresh the unread counts quietly.
    fn resynced(&mut self) -> Vec<Effect> {
        if std::mem::take(&mut self.catching_up) {
            for room in &mut self.rooms {
                let missed = std::mem::take(&mut room.missed);
                let noun = if missed == 1 { "message" } else { "messages" };
                room.notice(format!("reconnected — {missed} missed {noun} loaded"));
            }
            if self.rooms.is_empty() {
                self.notify("reconnected", false);
            }
        }
        let mut effects = vec![Self::request(ClientMsg::ListRooms { cursor: None, limit: None })];
        effects.extend(self.mark_read());
        effects
    }

    fn refused(&mut self, request: RequestKind, code: ErrorCode, message: &str) {
        match request {
            RequestKind::Join(room_id) => {
                let why = match code {
                    ErrorCode::NotFound => format!("there is no room with id {room_id}"),
                    ErrorCode::Forbidden => format!("room {room_id} is a private pair room: you cannot join it"),
                    _ => format!("could not join {room_id}: {message}"),
                };
                if let Some(index) = self.room_index(room_id) {
                    self.rooms.remove(index);
                    self.active = match self.active {
                        _ if self.rooms.is_empty() => None,
                        Some(active) if active >= index => Some(active.saturating_sub(1)),
                        other => other,
                    };
                }
                self.notify(why, true);
            }
            RequestKind::Send { room_id, client_msg_id } => {
                let why = match code {
                    ErrorCode::TooLarge => "not sent: the message is too long".to_owned(),
                    ErrorCode::Forbidden => "not sent: you are no longer a member of this room".to_owned(),
                    _ => format!("not sent: {message}"),
                };
                if let Some(room) = self.room_mut(room_id) {
                    room.fail(&client_msg_id, why);
                }
            }
            RequestKind::Other { kind, room_id } => {
                if kind == "history" {
                    if let Some(room) = room_id.and_then(|id| self.room_mut(id)) {
                        room.loading_older = false;
                    }
                }
                let why = match code {
                    ErrorCode::RateLimited => "slow down — the server is rate limiting you".to_owned(),
                    _ => message.to_owned(),
                };
                self.notify(format!("{kind} refused: {why}"), true);
            }
        }
    }
}
