//! The app model and its `update` (The Elm Architecture).
//!
//! [`App::update`] takes one [`Msg`] (a key, a network event, a clock tick,
//! the size of the pane the view drew) and returns the [`Effect`]s to carry
//! out. It does no I/O, reads no clock of its own — time arrives in
//! [`Msg::Tick`] — and asks nothing of the view, so every behaviour is a
//! plain unit test.

mod activity;
mod attachments;
mod calls;
mod chat_keys;
mod command;
mod compose;
mod held_view;
mod input;
mod login;
mod matching;
mod media;
mod moderation;
mod net_events;
mod outbox;
mod picker;
mod presence;
mod prompt;
mod room;
mod rooms;
mod run_command;
mod selection;
mod server_events;
mod timers;
mod voice;

pub use attachments::{pasted_path, size_text};
pub use calls::Ringing;
pub use command::{Command, HELP, Parsed, parse};
pub use media::{ImageState, MAX_IMAGE_PIXELS, METER_LEVELS, MediaView, Playing, Recording, Transfer, TransferKind};
pub use compose::Compose;
pub use input::Input;
pub use login::{Field, LoginForm, Mode};
pub use matching::MatchWait;
pub use picker::Picker;
pub use prompt::{Prompt, split_long};
pub use room::{Annotations, CallOutcome, CallStory, MemberView, Notice, Pending, Reaction, RoomView, shows_as_message};
pub use voice::RECORDING_CAP_SECS;

use crate::events::media::{JobId, MediaCmd, MediaEvent};
use crate::events::{Auth, ConnState, NetCmd, NetEvent};
use crate::session::{Account, Outbox, Session, UnsentMessage};
use crate::settings::Settings;
use crate::timeline::Appearance;
use crossterm::event::{KeyEvent, MouseEvent};
use heartlink_protocol::{ClientMsg, PresenceStatus, RoomId, RoomSummary, Secret, User, UserId};
use std::collections::{BTreeMap, BTreeSet};
use tokio::time::Instant;

/// Everything that can happen to the app.
#[derive(Debug, Clone)]
pub enum Msg {
    Key(KeyEvent),
    Mouse(MouseEvent),
    Paste(String),
    Resize { width: u16, height: u16 },
    /// The size of the message pane as the view last drew it (columns, rows).
    PaneSize { width: usize, height: usize },
    /// The terminal gained (true) or lost the focus.
    Focus(bool),
    Net(NetEvent),
    /// The clock: `now` for timers.
    Tick { now: Instant },
    /// The wall clock (Unix ms), sent with every tick: calls ring until a wall-clock time.
    WallClock(u64),
    /// What the media worker reports (transfers, images, recording, playing).
    Media(MediaEvent),
}

/// What the app asks the outside world to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    Net(NetCmd),
    SaveSession(Session),
    /// Write the account's unsent messages to disk (replacing the old list).
    SaveOutbox(Outbox),
    /// Put text on the clipboard (OSC 52).
    Copy(String),
    /// Ring the terminal bell.
    Bell,
    /// A desktop notification (OSC 9 or OSC 777, as configured); the text is sanitized.
    Notify { title: String, body: String },
    /// Run `argv` (the configured opener and a URL), detached.
    Open(Vec<String>),
    /// Uploads, downloads, images, recording and playing (the media worker).
    Media(MediaCmd),
    Quit,
}

/// Which screen is showing.
#[derive(Debug, Clone)]
pub enum Screen {
    Login(LoginForm),
    Chat,
}

/// A window over the chat screen, closed with Esc.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Overlay {
    Help,
    /// The emoji picker, reacting to a message.
    Emoji(Picker),
}

/// The whole client state. `ui::render` draws it.
#[derive(Debug, Clone)]
pub struct App {
    pub screen: Screen,
    pub conn: ConnState,
    /// The server(s) as given: one URL, or several (`URL1,URL2`) to move between.
    pub server: String,
    /// The one it is on (or will try first); the status bar shows it and HTTP goes there.
    pub on_server: String,
    /// The username shown in the status bar (known before the server confirms it).
    pub username: String,
    pub me: Option<User>,
    token: Option<String>,
    /// Open rooms in the room list's order (by name, so Alt+1…9 stay put).
    pub rooms: Vec<RoomView>,
    active: Option<RoomId>,
    /// Notices shown when no room is open.
    pub home: Vec<Notice>,
    pub input: Input,
    pub overlay: Option<Overlay>,
    /// A question waiting for y/n, shown above the input.
    pub prompt: Option<Prompt>,
    pub now: Instant,
    /// Seconds east of UTC for showing message times (0 in tests).
    pub utc_offset_secs: i64,
    pub size: (u16, u16),
    /// The message pane (columns, rows), from [`Msg::PaneSize`].
    pub pane: (usize, usize),
    pub settings: Settings,
    pub look: Appearance,
    /// Whether the terminal has the focus (a bell is for when it has not).
    pub focused: bool,
    /// Every room the server says we are a member of (for `/join NAME`).
    pub member_rooms: Vec<RoomSummary>,
    /// `list_rooms` pages gathered so far, while paging.
    rooms_paging: Option<Vec<RoomSummary>>,
    /// Users this account blocked: their messages in group rooms fold away.
    pub blocked: BTreeMap<UserId, User>,
    /// Rooms that ring no bell and send no notification (`/mute`).
    pub muted: BTreeSet<RoomId>,
    /// Replying to or editing a message: Enter sends it as that relation.
    pub compose: Option<Compose>,
    /// Waiting for a stranger (`/match`).
    pub matching: Option<MatchWait>,
    /// The code of the last `/match`, for `/next`.
    last_match_code: Option<heartlink_protocol::MatchCode>,
    /// Pair rooms this client asked to end (so `match_ended` says "you").
    ending: BTreeSet<RoomId>,
    /// My own presence as last sent: `away` after idling or `/away`.
    pub status: PresenceStatus,
    /// `/away` holds until `/back`; idling ends with the next key.
    away_by_hand: bool,
    /// The last key, click or paste (for going away after idling).
    last_activity: Instant,
    /// `@` + Tab: the names offered and which one is in the input now.
    completion: Option<compose::Completion>,
    /// Unsent messages from the last run, sent once their account is in.
    restored: Option<Outbox>,
    /// When we last told the server we are typing, and in which room.
    typing_sent: Option<(RoomId, Instant)>,
    last_keystroke: Instant,
    /// When a key press or the focus last cut a reconnect wait short.
    last_nudge: Option<Instant>,
    /// Between a reconnect and `Resynced`: count what the re-joins bring.
    catching_up: bool,
    /// A `/rooms` listing was asked for (the quiet unread refresh is not shown).
    listing_rooms: bool,
    /// Images, the voice message playing, the wall clock.
    pub media: MediaView,
    /// Uploads and downloads under way.
    pub transfers: Vec<Transfer>,
    /// `/voice` recording.
    pub recording: Option<Recording>,
    next_job: JobId,
    /// When a ringing call last rang the bell.
    last_ring: Option<Instant>,
    pub quitting: bool,
}

impl App {
    fn blank(server: String, username: String, screen: Screen, now: Instant) -> Self {
        Self {
            screen,
            conn: ConnState::Offline,
            on_server: crate::server_url::first(&server),
            server,
            username,
            me: None,
            token: None,
            rooms: Vec::new(),
            active: None,
            home: Vec::new(),
            input: Input::default(),
            overlay: None,
            prompt: None,
            now,
            utc_offset_secs: 0,
            size: (80, 24),
            pane: (42, 18),
            settings: Settings::default(),
            look: Appearance::default(),
            focused: true,
            member_rooms: Vec::new(),
            rooms_paging: None,
            blocked: BTreeMap::new(),
            muted: BTreeSet::new(),
            compose: None,
            matching: None,
            last_match_code: None,
            ending: BTreeSet::new(),
            status: PresenceStatus::Online,
            away_by_hand: false,
            last_activity: now,
            completion: None,
            restored: None,
            typing_sent: None,
            last_keystroke: now,
            last_nudge: None,
            catching_up: false,
            listing_rooms: false,
            media: MediaView::default(),
            transfers: Vec::new(),
            recording: None,
            next_job: 0,
            last_ring: None,
            quitting: false,
        }
    }

    /// Resumes a saved session: the chat screen opens at once, back in the
    /// rooms that were open (the one on screen too), while the network
    /// connects; messages left unsent last time are queued again.
    pub fn resume(session: Session, unsent: Vec<UnsentMessage>, now: Instant) -> (Self, Vec<Effect>) {
        let mut app = Self::blank(session.server.clone(), session.username.clone(), Screen::Chat, now);
        app.token = Some(session.token.clone());
        app.muted = session.muted.iter().copied().collect();
        let auth = Auth::Resume { token: Secret::new(session.token), presence: true };
        let mut effects = vec![Effect::Net(NetCmd::Authenticate { server: session.server, auth })];
        effects.extend(app.open_rooms(&session.rooms));
        app.active = session.active.filter(|id| app.room_index(*id).is_some()).or_else(|| app.rooms.first().map(RoomView::id));
        effects.extend(app.queue_unsent(unsent));
        (app, effects)
    }

    /// The login (or register) screen. `rooms` are re-opened after logging
    /// in (`active` on screen), and `unsent` sent, if the same account logs in.
    pub fn login(form: LoginForm, rooms: &[RoomId], unsent: Vec<UnsentMessage>, now: Instant) -> (Self, Vec<Effect>) {
        Self::login_into(form, rooms, None, unsent, now)
    }

    /// [`App::login`] back in the room that was on screen last time.
    pub fn login_into(
        form: LoginForm,
        rooms: &[RoomId],
        active: Option<RoomId>,
        unsent: Vec<UnsentMessage>,
        now: Instant,
    ) -> (Self, Vec<Effect>) {
        let server = form.server.clone();
        let username = form.username.clone();
        let mut app = Self::blank(server, username, Screen::Login(form), now);
        let effects = app.open_rooms(rooms);
        app.active = active.filter(|id| app.room_index(*id).is_some()).or_else(|| app.rooms.first().map(RoomView::id));
        let account = Account { server: app.server.clone(), username: app.username.clone() };
        app.restored = Some(Outbox { account, messages: unsent });
        (app, effects)
    }

    /// Applies the user's settings and how this terminal shows emoji.
    pub fn configure(&mut self, settings: Settings, look: Appearance) {
        self.media.images_off = settings.media.images == crate::settings::Images::Off;
        self.settings = settings;
        self.look = look;
    }

    fn open_rooms(&mut self, rooms: &[RoomId]) -> Vec<Effect> {
        let mut effects = Vec::new();
        for id in rooms {
            if self.room_index(*id).is_none() {
                let mut room = RoomView::placeholder(*id);
                room.subscribed = true;
                self.add_room(room);
                effects.push(Effect::Net(NetCmd::Join(*id)));
            }
        }
        effects
    }

    pub fn update(&mut self, msg: Msg) -> Vec<Effect> {
        match msg {
            Msg::Key(key) => match &mut self.screen {
                Screen::Login(_) => self.login_key(key),
                Screen::Chat => {
                    let mut effects = self.user_is_here();
                    effects.extend(self.chat_key(key));
                    effects
                }
            },
            Msg::Mouse(mouse) => {
                let mut effects = self.user_is_here();
                effects.extend(self.mouse(mouse));
                effects
            }
            Msg::Paste(text) => {
                let mut effects = self.user_is_here();
                effects.extend(self.paste(&text));
                effects
            }
            Msg::Resize { width, height } => {
                self.size = (width, height);
                Vec::new()
            }
            Msg::PaneSize { width, height } => {
                self.pane = (width, height);
                Vec::new()
            }
            Msg::Focus(focused) => {
                self.focused = focused;
                if focused { self.nudge_reconnect() } else { Vec::new() }
            }
            Msg::Net(event) => {
                // What arrives from the network must not move a scrolled-up view.
                let held = self.hold_views();
                let effects = self.net_event(event);
                self.restore_views(held);
                effects
            }
            Msg::Tick { now } => self.tick(now),
            Msg::WallClock(ms) => {
                self.media.wall_ms = ms;
                Vec::new()
            }
            Msg::Media(event) => self.media_event(event),
        }
    }

    pub fn room_index(&self, id: RoomId) -> Option<usize> {
        self.rooms.iter().position(|room| room.id() == id)
    }

    pub fn room_mut(&mut self, id: RoomId) -> Option<&mut RoomView> {
        self.rooms.iter_mut().find(|room| room.id() == id)
    }

    /// The open room's id.
    pub fn active_id(&self) -> Option<RoomId> {
        self.active
    }

    /// The open room's place in the room list.
    pub fn active_index(&self) -> Option<usize> {
        self.active.and_then(|id| self.room_index(id))
    }

    pub fn active_room(&self) -> Option<&RoomView> {
        self.active.and_then(|id| self.rooms.iter().find(|room| room.id() == id))
    }

    fn active_room_mut(&mut self) -> Option<&mut RoomView> {
        let id = self.active?;
        self.room_mut(id)
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

    /// Whose client this is, once known.
    fn account(&self) -> Account {
        let username = self.me.as_ref().map_or_else(|| self.username.clone(), |me| me.username.clone());
        Account { server: self.server.clone(), username }
    }

    /// The session to save: the token, the rooms joined here and the one
    /// on screen, the muted rooms, never the password.
    fn session(&self) -> Option<Session> {
        let token = self.token.clone()?;
        let Account { server, username } = self.account();
        let rooms = self.rooms.iter().filter(|room| room.subscribed).map(RoomView::id).collect();
        let muted = self.muted.iter().copied().collect();
        Some(Session { server, username, token, rooms, active: self.active, muted })
    }

    fn save_session(&self) -> Vec<Effect> {
        self.session().map(Effect::SaveSession).into_iter().collect()
    }

    fn request(msg: ClientMsg) -> Effect {
        Effect::Net(NetCmd::Request(msg))
    }
}

#[cfg(test)]
mod tests;
/// The app tests' fixtures, shared with the screen snapshots.
#[cfg(test)]
pub(crate) use tests::fixtures as tests_support;
