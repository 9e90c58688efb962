//! Slash commands typed in the input line: parsing, and what each does.

use super::{App, Effect, RoomView};
use crate::events::NetCmd;
use crate::sanitize::sanitize_line;
use heartlink_protocol::{ClientMsg, RoomId, RoomName};

/// A parsed command. Anything not starting with `/` is a message; `//text`
/// sends `/text` literally.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Join(RoomId),
    /// `/join NAME`: a room we are a member of, by name.
    JoinName(String),
    Create(RoomName),
    Leave,
    Rooms,
    Match,
    CancelMatch,
    Help,
    Quit,
    /// Show the open room's id whole and copy it to the clipboard.
    Id,
    /// Open the n-th newest link of the open room (1 = the newest).
    Open(usize),
}

/// What the input line meant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    Message(String),
    Command(Command),
    /// A command that could not be understood; the text says why.
    Invalid(String),
}

/// The help overlay's commands (the keys follow from the settings).
pub const HELP: &[(&str, &str)] = &[
    ("/join <room-id>", "join a room by its id (share the id to invite)"),
    ("/join <name>", "open or re-join one of your rooms by name"),
    ("/create <name>", "create a room and show its id"),
    ("/id", "show the open room's id whole and copy it"),
    ("/leave", "leave the open room"),
    ("/rooms", "list your rooms with their ids"),
    ("/match", "pair up with a waiting user (/cancel stops)"),
    ("/open [n]", "open the newest (or n-th newest) link"),
    ("/help  /quit", "this help; quit"),
    ("//text", "send text that starts with /"),
];

pub fn parse(line: &str) -> Parsed {
    if let Some(literal) = line.strip_prefix("//") {
        return Parsed::Message(format!("/{literal}"));
    }
    let Some(rest) = line.strip_prefix('/') else { return Parsed::Message(line.to_owned()) };
    let (name, argument) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    let argument = argument.trim();
    let command = match name {
        "join" | "j" => match argument.parse::<RoomId>() {
            Ok(id) => Command::Join(id),
            Err(_) if !argument.is_empty() => Command::JoinName(argument.to_owned()),
            Err(_) => return Parsed::Invalid("usage: /join <room-id> or /join <name of one of your rooms>".into()),
        },
        "id" => Command::Id,
        "open" => match argument {
            "" => Command::Open(1),
            n => match n.parse::<usize>() {
                Ok(n) if n >= 1 => Command::Open(n),
                _ => return Parsed::Invalid("usage: /open [n] — n = 1 opens the newest link, 2 the one before…".into()),
            },
        },
        "create" => match RoomName::try_from(argument) {
            Ok(name) => Command::Create(name),
            Err(err) => return Parsed::Invalid(format!("usage: /create <name> — {}", err.message)),
        },
        "leave" | "part" => Command::Leave,
        "rooms" | "list" => Command::Rooms,
        "match" => Command::Match,
        "cancel" => Command::CancelMatch,
        "help" | "?" => Command::Help,
        "quit" | "exit" | "q" => Command::Quit,
        other => return Parsed::Invalid(format!("unknown command /{other} — /help lists the commands")),
    };
    Parsed::Command(command)
}

impl App {
    pub(super) fn command(&mut self, command: Command) -> Vec<Effect> {
        match command {
            Command::Join(id) => self.join_id(id),
            Command::JoinName(name) => self.join_by_name(&name),
            Command::Create(name) => vec![Self::request(ClientMsg::CreateRoom { name })],
            Command::Leave => self.leave_active(),
            Command::Rooms => {
                self.listing_rooms = true;
                vec![Self::request(ClientMsg::ListRooms { cursor: None, limit: None })]
            }
            Command::Match => vec![Self::request(ClientMsg::Match { code: None })],
            Command::CancelMatch => vec![Self::request(ClientMsg::CancelMatch)],
            Command::Help => self.help(),
            Command::Quit => self.quit(),
            Command::Id => self.show_id(),
            Command::Open(nth) => self.open_link(nth),
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

    /// `/open n`: the n-th newest link in the open room, with the
    /// configured opener (no shell: the URL is one argument).
    fn open_link(&mut self, nth: usize) -> Vec<Effect> {
        let Some(room) = self.active_room() else { return Vec::new() };
        let mut finder = linkify::LinkFinder::new();
        finder.kinds(&[linkify::LinkKind::Url]);
        let url = room
            .messages
            .values()
            .rev()
            .flat_map(|message| {
                let mut links: Vec<String> = finder.links(&message.body).map(|link| link.as_str().to_owned()).collect();
                links.reverse();
                links
            })
            .filter(|url| url.starts_with("https://") || url.starts_with("http://"))
            .nth(nth - 1);
        let Some(url) = url.map(|url| sanitize_line(&url)) else {
            self.notify(format!("there is no link number {nth} in this room"), true);
            return Vec::new();
        };
        self.notify(format!("opening {url}"), false);
        let mut argv = self.settings.open_command.clone();
        argv.push(url);
        vec![Effect::Open(argv)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_and_messages() {
        let id = RoomId::random();
        assert_eq!(parse(&format!("/join {id}")), Parsed::Command(Command::Join(id)));
        assert_eq!(parse("/join general"), Parsed::Command(Command::JoinName("general".into())));
        assert!(matches!(parse("/join"), Parsed::Invalid(why) if why.contains("usage")));
        assert_eq!(parse("/id"), Parsed::Command(Command::Id));
        assert_eq!(parse("/open"), Parsed::Command(Command::Open(1)));
        assert_eq!(parse("/open 3"), Parsed::Command(Command::Open(3)));
        assert!(matches!(parse("/open 0"), Parsed::Invalid(_)));
        assert!(matches!(parse("/create  my room "), Parsed::Command(Command::Create(name)) if name.as_str() == "my room"));
        assert!(matches!(parse("/create"), Parsed::Invalid(_)));
        assert_eq!(parse("/leave"), Parsed::Command(Command::Leave));
        assert_eq!(parse("/rooms"), Parsed::Command(Command::Rooms));
        assert_eq!(parse("/match"), Parsed::Command(Command::Match));
        assert_eq!(parse("/help"), Parsed::Command(Command::Help));
        assert_eq!(parse("/quit"), Parsed::Command(Command::Quit));
        assert!(matches!(parse("/frobnicate"), Parsed::Invalid(why) if why.contains("/help")));
        assert_eq!(parse("hello /join"), Parsed::Message("hello /join".into()));
        assert_eq!(parse("//shrug"), Parsed::Message("/shrug".into()));
    }
}
