//! Slash commands typed in the input line: what they mean (`run_command`
//! carries them out). A command that cannot be understood says why and
//! how it is written.

use heartlink_protocol::{MatchCode, ReportReason, RoomId, RoomName};

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
    /// `/match [code]`: a stranger, at random or with the same code.
    Match(Option<MatchCode>),
    CancelMatch,
    /// End the open stranger chat and match again.
    Next(Option<MatchCode>),
    /// End the open stranger chat.
    End,
    Reveal,
    /// The open stranger chat's peer, or a member by name.
    Block(Option<String>),
    Unblock(String),
    Report(ReportReason),
    Kick(String),
    Ban(String),
    Unban(String),
    /// The n-th newest message (1 = the newest), with the reply's text or
    /// without (then the input becomes the reply).
    Reply { nth: usize, text: Option<String> },
    Edit(usize),
    Delete(usize),
    React { nth: usize, emoji: String },
    /// Toggle the bell and notifications of the open room.
    Mute,
    Away,
    Back,
    Help,
    Quit,
    /// Show the open room's id whole and copy it to the clipboard.
    Id,
    /// `/open`: the newest link or attachment of the open room; `/open N`:
    /// message N's attachment, else its link.
    Open(Option<usize>),
    /// `/upload PATH` (also `/file`, `/image`): send a file.
    Upload(String),
    /// `/save N [PATH]`: download message N's attachment.
    Save { nth: usize, target: Option<String> },
    /// `/voice`: record; `/voice FILE`: send a sound file as a voice message.
    Voice(Option<String>),
    /// `/play N`: play message N's voice message; `/play`: stop (or play the newest).
    Play(Option<usize>),
    /// `/call`: ring the open room's members.
    Call,
    /// `/accept`, `/decline`: answer the ringing call.
    Accept,
    Decline,
    /// `/hangup`, `/cancel-call`: stop ringing my call.
    Hangup,
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
    ("/join <id|name>", "join a room by id (share it to invite), or one of yours"),
    ("/create <name>", "create a room and show its id"),
    ("/id /rooms", "copy the room's id; list your rooms; /leave leaves the room"),
    ("/match [code]", "chat with a stranger, or with the same 4–8 digits; /cancel"),
    ("/next /end", "next stranger / end the chat; /reveal shows your name"),
    ("/block /report", "block the stranger (or /block <name>; /unblock <name>)"),
    ("/kick /ban NAME", "remove a member of a room you created; /unban NAME"),
    ("/reply /edit N", "the N-th newest message (also /delete N, /react N 👍)"),
    ("/mute /away", "silence this room (again: unmute); away until /back"),
    ("/upload PATH", "send a file or image (also /file, /image; Tab completes)"),
    ("/save N /open N", "download message N's file (or open it; /open: newest link)"),
    ("/voice [FILE]", "record a voice message (Enter sends), or send a sound file"),
    ("/play N", "play message N's voice message; /play again stops"),
    ("/call", "ring this room; /accept /decline a call; /hangup"),
    ("/help /quit", "this help; quit (//text sends text starting with /)"),
];

pub fn parse(line: &str) -> Parsed {
    if let Some(literal) = line.strip_prefix("//") {
        return Parsed::Message(format!("/{literal}"));
    }
    let Some(rest) = line.strip_prefix('/') else { return Parsed::Message(line.to_owned()) };
    let (name, argument) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    match command(name, argument.trim()) {
        Ok(command) => Parsed::Command(command),
        Err(why) => Parsed::Invalid(why),
    }
}

fn command(name: &str, argument: &str) -> Result<Command, String> {
    let named = |usage: &str| if argument.is_empty() { Err(format!("usage: {usage}")) } else { Ok(argument.to_owned()) };
    Ok(match name {
        "join" | "j" => match argument.parse::<RoomId>() {
            Ok(id) => Command::Join(id),
            Err(_) if !argument.is_empty() => Command::JoinName(argument.to_owned()),
            Err(_) => return Err("usage: /join <room-id> or /join <name of one of your rooms>".into()),
        },
        "id" => Command::Id,
        "open" => match argument {
            "" => Command::Open(None),
            n => Command::Open(Some(nth(n, "/open [N] — message N's file or link; /open alone: the newest")?)),
        },
        "upload" | "file" | "image" => Command::Upload(named(&format!("/{name} PATH — Tab completes the path"))?),
        "save" => {
            let (n, target) = argument.split_once(char::is_whitespace).unwrap_or((argument, ""));
            let target = target.trim();
            Command::Save { nth: nth(n, "/save N [PATH]")?, target: (!target.is_empty()).then(|| target.to_owned()) }
        }
        "voice" => Command::Voice((!argument.is_empty()).then(|| argument.to_owned())),
        "play" => match argument {
            "" => Command::Play(None),
            n => Command::Play(Some(nth(n, "/play [N]")?)),
        },
        "call" => Command::Call,
        "accept" | "answer" => Command::Accept,
        "decline" | "reject" => Command::Decline,
        "hangup" | "cancel-call" => Command::Hangup,
        "create" => match RoomName::try_from(argument) {
            Ok(name) => Command::Create(name),
            Err(err) => return Err(format!("usage: /create <name> — {}", err.message)),
        },
        "leave" | "part" => Command::Leave,
        "rooms" | "list" => Command::Rooms,
        "match" => Command::Match(match_code(argument)?),
        "next" => Command::Next(match_code(argument)?),
        "cancel" => Command::CancelMatch,
        "end" => Command::End,
        "reveal" => Command::Reveal,
        "block" => Command::Block((!argument.is_empty()).then(|| argument.to_owned())),
        "unblock" => Command::Unblock(named("/unblock <name>")?),
        "report" => {
            let reason = if argument.is_empty() { "no reason given" } else { argument };
            match ReportReason::try_from(reason) {
                Ok(reason) => Command::Report(reason),
                Err(err) => return Err(format!("usage: /report [reason] — {}", err.message)),
            }
        }
        "kick" => Command::Kick(named("/kick <name>")?),
        "ban" => Command::Ban(named("/ban <name>")?),
        "unban" => Command::Unban(named("/unban <name>")?),
        "reply" | "r" => {
            let (n, text) = argument.split_once(char::is_whitespace).unwrap_or((argument, ""));
            let text = text.trim();
            Command::Reply { nth: nth(n, "/reply N [text]")?, text: (!text.is_empty()).then(|| text.to_owned()) }
        }
        "edit" => Command::Edit(nth(argument, "/edit N")?),
        "delete" | "del" => Command::Delete(nth(argument, "/delete N")?),
        "react" => {
            let usage = "/react N 👍 — one emoji, or its :shortcode:";
            let (n, emoji) = argument.split_once(char::is_whitespace).unwrap_or((argument, ""));
            let emoji = crate::emoji::reaction(emoji.trim()).ok_or_else(|| format!("usage: {usage}"))?;
            Command::React { nth: nth(n, usage)?, emoji }
        }
        "mute" | "unmute" => Command::Mute,
        "away" => Command::Away,
        "back" => Command::Back,
        "help" | "?" => Command::Help,
        "quit" | "exit" | "q" => Command::Quit,
        other => return Err(format!("unknown command /{other} — /help lists the commands")),
    })
}

/// `N` of `/reply N`: 1 is the newest message.
fn nth(text: &str, usage: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!("usage: {usage} — N = 1 is the newest message, 2 the one before… (or select one with ↑)")),
    }
}

fn match_code(text: &str) -> Result<Option<MatchCode>, String> {
    if text.is_empty() {
        return Ok(None);
    }
    MatchCode::try_from(text).map(Some).map_err(|_| format!("a match code is 4 to 8 digits, like /match 4242 — not {:?}", crate::sanitize::sanitize_line(text)))
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
        assert_eq!(parse("/open"), Parsed::Command(Command::Open(None)));
        assert_eq!(parse("/open 3"), Parsed::Command(Command::Open(Some(3))));
        assert_eq!(parse("/image ~/a b.png"), Parsed::Command(Command::Upload("~/a b.png".into())));
        assert!(matches!(parse("/upload"), Parsed::Invalid(why) if why.contains("PATH")));
        assert_eq!(parse("/save 2 /tmp/x"), Parsed::Command(Command::Save { nth: 2, target: Some("/tmp/x".into()) }));
        assert_eq!(parse("/save 1"), Parsed::Command(Command::Save { nth: 1, target: None }));
        assert_eq!(parse("/voice"), Parsed::Command(Command::Voice(None)));
        assert_eq!(parse("/voice a.wav"), Parsed::Command(Command::Voice(Some("a.wav".into()))));
        assert_eq!(parse("/play 2"), Parsed::Command(Command::Play(Some(2))));
        assert_eq!(parse("/cancel-call"), Parsed::Command(Command::Hangup));
        assert_eq!(parse("/call"), Parsed::Command(Command::Call));
        assert!(matches!(parse("/open 0"), Parsed::Invalid(_)));
        assert!(matches!(parse("/create  my room "), Parsed::Command(Command::Create(name)) if name.as_str() == "my room"));
        assert!(matches!(parse("/create"), Parsed::Invalid(_)));
        assert_eq!(parse("/leave"), Parsed::Command(Command::Leave));
        assert_eq!(parse("/rooms"), Parsed::Command(Command::Rooms));
        assert_eq!(parse("/match"), Parsed::Command(Command::Match(None)));
        assert_eq!(parse("/help"), Parsed::Command(Command::Help));
        assert_eq!(parse("/quit"), Parsed::Command(Command::Quit));
        assert!(matches!(parse("/frobnicate"), Parsed::Invalid(why) if why.contains("/help")));
        assert_eq!(parse("hello /join"), Parsed::Message("hello /join".into()));
        assert_eq!(parse("//shrug"), Parsed::Message("/shrug".into()));
    }
}
