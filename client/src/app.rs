//! The app model and its `update` (The Elm Architecture).
//!
//! [`App::update`] takes one [`Msg`] (a key, a network event, a clock tick)
//! and returns the [`Effect`]s to carry out. It does no I/O and reads no
//! clock of its own — time arrives in [`Msg::Tick`] — so every behaviour is a
//! plain unit test.

mod chat_keys;
mod command;
mod held_view;
mod input;
mod login;
mod net_events;
mod room;
mod server_events;

pub use command::{Command, HELP, Parsed, parse};
pub use input::Input;
pub use login::{Field, LoginForm, Mode};
pub use room::{MemberView, Notice, Pending, RoomView};

use crate::config::Session;
use crate::net::{Auth, ConnState, NetCmd, NetEvent};
use crossterm::event::{KeyEvent, MouseEvent};
use heartlink_protocol::{ClientMsg, RoomId, Secret, User};
use tokio::time::{Duration, Instant};

/// Typing indicators: resend `active:true` this often while the user types,
/// and send `active:false` after this long without a keystroke. The server
/// expires an indicator that is not repeated within 8 s.
const TYPING_REPEAT: Duration = Duration::from_secs(3);
const TYPING_IDLE: Duration = Duration::from_secs(5);
/// How long a received typing indicator is shown without a repeat.
const TYPING_SHOWN: Duration = Duration::from_secs(10);

/// Everything that can happen to the app.
#[derive(Debug, Clone)]
pub enum Msg {
    Key(KeyEvent),
    Mouse(MouseEvent),
    Paste(String),
    Resize { width: u16, height: u16 },
    Net(NetEvent),
    /// The clock: `now` for timers, `wall_ms` (Unix ms) for the status bar.
    Tick { now: Instant },
}

/// What the app asks the outside world to do.
#[derive(Debug, Clone)]
pub enum Effect {
    Net(NetCmd),
    SaveSession(Session),
    Quit,
}

/// Which screen is showing.
#[derive(Debug, Clone)]
pub enum Screen {
    Login(LoginForm),
    Chat,
}

/// The whole client state. `ui::render` draws it.
#[derive(Debug, Clone)]
pub struct App {
    pub screen: Screen,
    pub conn: ConnState,
    pub server: String,
    /// The username shown in the status bar (known before the server confirms it).
    pub username: String,
    pub me: Option<User>,
    token: Option<String>,
    pub rooms: Vec<RoomView>,
    pub active: Option<usize>,
    /// Notices shown when no room is open.
    pub home: Vec<Notice>,
    pub input: Input,
    pub now: Instant,
    /// Seconds east of UTC for showing message times (0 in tests).
    pub utc_offset_secs: i64,
    pub size: (u16, u16),
    /// When we last told the server we are typing, and in which room.
    typing_sent: Option<(RoomId, Instant)>,
    last_keystroke: Instant,
    /// Between a reconnect and `Resynced`: count what the re-joins bring.
    catching_up: bool,
    /// A `/rooms` listing was asked for (the quiet unread refresh is not shown).
    listing_rooms: bool,
    pub quitting: bool,
}

impl App {
    fn blank(server: String, username: String, screen: Screen, now: Instant) -> Self {
        Self {
            screen,
            conn: ConnState::Offline,
            server,
            username,
            me: None,
            token: None,
            rooms: Vec::new(),
            active: None,
            home: Vec::new(),
            input: Input::default(),
            now,
            utc_offset_secs: 0,
            size: (80, 24),
            typing_sent: None,
            last_keystroke: now,
            catching_up: false,
            listing_rooms: false,
            quitting: false,
        }
    }

    /// Resumes a saved session: the chat screen opens at once, back in the
    /// rooms that were open, while the network connects.
    pub fn resume(session: Session, now: Instant) -> (Self, Vec<Effect>) {
        let mut app = Self::blank(session.server.clone(), session.username.clone(), Screen::Chat, now);
        app.token = Some(session.token.clone());
        let auth = Auth::Resume { token: Secret::new(session.token) };
        let mut effects = vec![Effect::Net(NetCmd::Authenticate { server: session.server, auth })];
        effects.extend(app.open_rooms(&session.rooms));
        app.active = (!app.rooms.is_empty()).then_some(0);
        (app, effects)
    }

    /// The login (or register) screen. `rooms` are re-opened after logging in.
    pub fn login(form: LoginForm, rooms: &[RoomId], now: Instant) -> (Self, Vec<Effect>) {
        let server = form.server.clone();
        let username = form.username.clone();
        let mut app = Self::blank(server, username, Screen::Login(form), now);
        let effects = app.open_rooms(rooms);
        app.active = (!app.rooms.is_empty()).then_some(0);
        (app, effects)
    }

    fn open_rooms(&mut self, rooms: &[RoomId]) -> Vec<Effect> {
        let mut effects = Vec::new();
        for id in rooms {
            if self.room_index(*id).is_none() {
                self.rooms.push(RoomView::placeholder(*id));
                effects.push(Effect::Net(NetCmd::Join(*id)));
            }
        }
        effects
    }

    pub fn update(&mut self, msg: Msg) -> Vec<Effect> {
        match msg {
            Msg::Key(key) => match &mut self.screen {
                Screen::Login(_) => self.login_key(key),
                Screen::Chat => self.chat_key(key),
            },
            Msg::Mouse(mouse) => self.mouse(mouse),
            Msg::Paste(text) => self.paste(&text),
            Msg::Resize { width, height } => {
                self.size = (width, height);
                Vec::new()
            }
            Msg::Net(event) => {
                // What arrives from the network must not move a scrolled-up view.
                let held = self.hold_views();
                let effects = self.net_event(event);
                self.restore_views(held);
                effects
            }
            Msg::Tick { now } => self.tick(now),
        }
    }

    pub fn room_index(&self, id: RoomId) -> Option<usize> {
        self.rooms.iter().position(|room| room.id() == id)
    }

    pub fn room_mut(&mut self, id: RoomId) -> Option<&mut RoomView> {
        self.rooms.iter_mut().find(|room| room.id() == id)
    }

    pub fn active_room(&self) -> Option<&RoomView> {
        self.active.and_then(|index| self.rooms.get(index))
    }

    fn active_room_mut(&mut self) -> Option<&mut RoomView> {
        self.active.and_then(|index| self.rooms.get_mut(index))
    }

    /// A notice where the user is looking: the open room, or the home view.
    pub fn notify(&mut self, text: impl Into<String>, alert: bool) {
        let text = text.into();
        match self.active_room_mut() {
            Some(room) if alert => room.alert(text),
            Some(room) => room.notice(text),
            None => self.home.push(Notice { after_seq: 0, text, alert }),
        }
    }

    /// The session to save: the token and the open rooms, never the password.
    fn session(&self) -> Option<Session> {
        let token = self.token.clone()?;
        let username = self.me.as_ref().map_or_else(|| self.username.clone(), |me| me.username.clone());
        let rooms = self.rooms.iter().map(RoomView::id).collect();
        Some(Session { server: self.server.clone(), username, token, rooms })
    }

    fn save_session(&self) -> Vec<Effect> {
        self.session().map(Effect::SaveSession).into_iter().collect()
    }

    fn request(msg: ClientMsg) -> Effect {
        Effect::Net(NetCmd::Request(msg))
    }

    /// Timers: stop our typing indicator after idling, expire others',
    /// and move our read marker in the room being looked at.
    fn tick(&mut self, now: Instant) -> Vec<Effect> {
        self.now = now;
        let mut effects = Vec::new();
        if let Some((room_id, _)) = self.typing_sent {
            if now.duration_since(self.last_keystroke) >= TYPING_IDLE {
                self.typing_sent = None;
                effects.push(Self::request(ClientMsg::Typing { room_id, active: false }));
            }
        }
        for room in &mut self.rooms {
            room.expire_typing(now);
        }
        effects.extend(self.mark_read());
        effects
    }

    /// Sends `read` for the open room when it shows newer messages than the
    /// marker we sent (at most once per tick, so not once per message).
    fn mark_read(&mut self) -> Option<Effect> {
        if self.conn != ConnState::Connected {
            return None;
        }
        let room = self.active_room_mut()?;
        room.unread = 0;
        let newest = room.newest_seq();
        if room.scroll > 0 || newest <= room.read_sent {
            return None;
        }
        room.read_sent = newest;
        Some(Self::request(ClientMsg::Read { room_id: room.id(), seq: newest }))
    }

    /// Called on every edit of the input: tell the room we are typing.
    fn typed(&mut self) -> Option<Effect> {
        self.last_keystroke = self.now;
        let room_id = self.active_room()?.id();
        if self.input.text().starts_with('/') || self.input.is_empty() {
            return None;
        }
        let fresh = matches!(self.typing_sent, Some((id, at)) if id == room_id && self.now.duration_since(at) < TYPING_REPEAT);
        if fresh {
            return None;
        }
        self.typing_sent = Some((room_id, self.now));
        Some(Self::request(ClientMsg::Typing { room_id, active: true }))
    }

    /// Stops our typing indicator (message sent, room switched).
    fn stop_typing(&mut self) -> Option<Effect> {
        let (room_id, _) = self.typing_sent.take()?;
        Some(Self::request(ClientMsg::Typing { room_id, active: false }))
    }
}

#[cfg(test)]
mod tests;
/// The app tests' fixtures, shared with the screen snapshots.
#[cfg(test)]
pub(crate) use tests::fixtures as tests_support;
