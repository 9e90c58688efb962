//! Slash commands typed in the input line.

use heartlink_protocol::{RoomId, RoomName};

/// A parsed command. Anything not starting with `/` is a message; `//text`
/// sends `/text` literally.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Join(RoomId),
    Create(RoomName),
    Leave,
    Rooms,
    Match,
    CancelMatch,
    Help,
    Quit,
}

/// What the input line meant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    Message(String),
    Command(Command),
    /// A command that could not be understood; the text says why.
    Invalid(String),
}

pub const HELP: &[&str] = &[
    "/join <room-id>   join a room by its id",
    "/create <name>    create a room and show its id to share",
    "/leave            leave the current room",
    "/rooms            list your rooms with their ids",
    "/match            pair up with another waiting user (/cancel stops)",
    "/help  /quit      this help; quit",
    "keys: Enter send · Alt+Enter new line · Ctrl+N/Ctrl+P or Alt+1..9 rooms",
    "      PageUp/PageDown or wheel scroll · Ctrl+R reconnect now · Ctrl+C quit",
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
            Err(_) => return Parsed::Invalid("usage: /join <room-id>, where the id looks like 1b4e28ba-2fa1-11d2-883f-0016d3cca427".into()),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_and_messages() {
        let id = RoomId::random();
        assert_eq!(parse(&format!("/join {id}")), Parsed::Command(Command::Join(id)));
        assert!(matches!(parse("/join nope"), Parsed::Invalid(why) if why.contains("usage")));
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
