//! What the app does with the network task's reports: connection state,
//! authentication results, the resync after a reconnect, refusals.

use super::{App, Effect, Screen};
use crate::events::{ConnState, NetEvent, RequestKind};
use crate::sanitize::sanitize_line;
use heartlink_protocol::ErrorCode;

impl App {
    pub(super) fn net_event(&mut self, event: NetEvent) -> Vec<Effect> {
        match event {
            NetEvent::State(state) => self.conn_state(state),
            NetEvent::Authenticated { user, token, server, servers, reconnect, blocked } => {
                self.blocked = blocked.into_iter().map(|user| (user.id, user)).collect();
                self.me = Some(user.clone());
                self.username = user.username;
                self.token = Some(token);
                if reconnect && server != self.on_server {
                    let place = crate::server_url::host_port(&server);
                    self.notify(format!("reconnected to another server: {}", sanitize_line(&place)), false);
                }
                self.server = servers;
                self.on_server = server;
                if !reconnect {
                    self.screen = Screen::Chat;
                }
                let mut effects = self.save_session();
                effects.extend(self.release_restored());
                effects
            }
            NetEvent::AuthFailed { reason, .. } => {
                self.show_login(sanitize_line(&reason));
                Vec::new()
            }
            NetEvent::Resynced => self.resynced(),
            NetEvent::Server(msg) => self.server_frame(msg),
            NetEvent::Refused { request, code, message } => self.refused(request, code, &sanitize_line(&message)),
            NetEvent::NotSent { what } => {
                let why = self.needs_connection(what);
                self.notify(why, true);
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
        let mut effects = self.list_rooms(false);
        if !self.transfers.is_empty() {
            effects.push(Effect::Media(crate::events::media::MediaCmd::Reconnected));
        }
        effects.extend(self.mark_read());
        effects.extend(self.resend_status());
        effects
    }

    /// "/create needs a connection — reconnecting in 4s": what could not be
    /// done, and when it can be.
    fn needs_connection(&self, what: &str) -> String {
        let command = match what {
            "create_room" => "/create",
            "list_rooms" => "/rooms",
            "match" => "/match",
            "cancel_match" => "/cancel",
            "end_match" => "/end",
            "reveal" => "/reveal",
            "block" => "/block",
            "unblock" => "/unblock",
            "report" => "/report",
            "kick" => "/kick",
            "ban" => "/ban",
            "unban" => "/unban",
            "history" => "loading older messages",
            "leave" => "/leave",
            other => other,
        };
        let when = match self.conn {
            ConnState::Reconnecting { retry_at: Some(at), .. } => {
                let secs = at.saturating_duration_since(self.now).as_millis().div_ceil(1000);
                format!("reconnecting in {secs}s (Ctrl+R: now)")
            }
            ConnState::Reconnecting { retry_at: None, .. } | ConnState::Connecting => "connecting now".to_owned(),
            ConnState::Offline => "log in first".to_owned(),
            ConnState::Connected => "try again".to_owned(),
        };
        format!("{command} needs a connection — {when}")
    }

    fn refused(&mut self, request: RequestKind, code: ErrorCode, message: &str) -> Vec<Effect> {
        match request {
            RequestKind::Join(room_id) => {
                let why = match code {
                    ErrorCode::NotFound => format!("there is no room with id {room_id}"),
                    ErrorCode::Forbidden => format!("room {room_id} is a private pair room: you cannot join it"),
                    _ => format!("could not join {room_id}: {message}"),
                };
                // The room that was open before `/join` opens again: a
                // failed command does not change the open room.
                let was_open = self.active == Some(room_id);
                if let Some(room) = self.remove_room(room_id) {
                    if let Some(back) = room.return_to.filter(|_| was_open) {
                        self.open(back);
                    }
                }
                self.notify(why, true);
                return self.save_session();
            }
            RequestKind::Send { room_id, client_msg_id } => {
                let pair = self.room_mut(room_id).is_some_and(|room| room.is_pair());
                let why = match code {
                    ErrorCode::TooLarge => "not sent: the message is too long".to_owned(),
                    // PROTOCOL.md: a send to an ended pair room is `forbidden`, "this chat has ended".
                    ErrorCode::Forbidden if pair => format!("not sent: {message}"),
                    ErrorCode::Forbidden => "not sent: you are no longer a member of this room".to_owned(),
                    ErrorCode::NotFound => "not sent: the message it answers is gone".to_owned(),
                    _ => format!("not sent: {message}"),
                };
                if let Some(room) = self.room_mut(room_id) {
                    room.fail(&client_msg_id, why);
                    room.ended |= pair && code == ErrorCode::Forbidden;
                }
                return self.save_outbox();
            }
            RequestKind::Other { kind, room_id } => {
                if kind == "history" {
                    if let Some(room) = room_id.and_then(|id| self.room_mut(id)) {
                        room.loading_older = false;
                    }
                }
                if kind == "match" {
                    self.matching = None;
                }
                if kind == "list_rooms" {
                    self.rooms_paging = None;
                }
                let why = match code {
                    ErrorCode::RateLimited => "slow down — the server is rate limiting you".to_owned(),
                    _ => message.to_owned(),
                };
                self.notify(format!("{kind} refused: {why}"), true);
            }
        }
        Vec::new()
    }
}
