//! Command-line arguments (clap derive). The doc comments are the help text;
//! every flag can also be set through an `HEARTLINK_*` environment variable.

use clap::{Args, Parser, Subcommand};
use heartlink_protocol::RoomId;
use std::path::PathBuf;

/// The server used when neither a flag nor a saved session names one.
pub const DEFAULT_SERVER: &str = "ws://127.0.0.1:7878/ws";

/// heartlink-tui: a terminal chat client for heartlink-server.
///
/// With no command it resumes the saved session and opens the chat screen.
#[derive(Debug, Parser)]
#[command(name = "heartlink-tui", version, about)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Flags shared by every command.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Directory for the session file (default: ~/.config/heartlink).
    #[arg(long, global = true, env = "HEARTLINK_CONFIG_DIR")]
    pub config_dir: Option<PathBuf>,
    /// Log file (default: heartlink-tui.log in the config directory). Logs never go to the screen.
    #[arg(long, global = true, env = "HEARTLINK_LOG_FILE")]
    pub log_file: Option<PathBuf>,
    /// Also trust the CA certificate(s) in this PEM file for wss:// servers
    /// (a private or self-signed certificate); public CAs are trusted anyway.
    #[arg(long, global = true, env = "HEARTLINK_CA_FILE")]
    pub ca_file: Option<PathBuf>,
    /// Log filter, in tracing's EnvFilter syntax.
    #[arg(long, global = true, env = "HEARTLINK_LOG", default_value = "heartlink_client=info,warn")]
    pub log: String,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Log in (asking for whatever is missing) and open the chat screen.
    Login(AccountArgs),
    /// Create an account, log in and open the chat screen.
    Register(AccountArgs),
    /// Revoke the saved session's token and delete the session file.
    Logout,
    /// Send a message to a room with the saved session, then exit.
    ///
    /// `send --room ID -` reads the message from standard input (all of it
    /// as one message, or one message per line with --lines).
    Send {
        /// The room's id (`/id` in the chat screen shows and copies it).
        #[arg(long, env = "HEARTLINK_ROOM", value_parser = parse_room_id)]
        room: RoomId,
        /// Give up after this many seconds without an acknowledgement (after the upload).
        #[arg(long, env = "HEARTLINK_TIMEOUT", default_value_t = 30)]
        timeout: u64,
        /// Attach this file (uploaded first, resuming by itself if the connection drops); TEXT is then the caption.
        #[arg(long, conflicts_with = "voice")]
        file: Option<PathBuf>,
        /// Send this sound file as a voice message (its duration and waveform are worked out here);
        /// a file that is not sound goes as a plain file.
        #[arg(long)]
        voice: Option<PathBuf>,
        /// With `-`: send each line of standard input as its own message.
        #[arg(long)]
        lines: bool,
        /// The message (several words are joined with spaces), or `-` for standard input.
        #[arg(required_unless_present_any = ["file", "voice"], allow_hyphen_values = true)]
        text: Vec<String>,
    },
    /// Download an attachment (by its media id) that the saved session's user may see.
    Download {
        /// The media id (from `tail --json`: attachment.media_id).
        media_id: heartlink_protocol::MediaId,
        /// Where to write it: a file, or a directory for the sender's file name [default: the current directory].
        /// An existing file of that name is never overwritten: name-1.ext, name-2.ext, … is used.
        #[arg(short = 'o', long)]
        output: Option<PathBuf>,
    },
    /// Print a room's messages as they arrive, one per line, until interrupted.
    Tail {
        /// The room's id.
        #[arg(long, env = "HEARTLINK_ROOM", value_parser = parse_room_id)]
        room: RoomId,
        /// Print JSON lines (the protocol's chat_message objects) instead of text.
        #[arg(long, env = "HEARTLINK_JSON")]
        json: bool,
    },
    /// Show the settings (config.toml in the config directory).
    Config {
        /// Print every setting with its value and what it accepts, as a
        /// config file (redirect it to config.toml to start one).
        #[arg(long)]
        print: bool,
    },
}

/// A room id, or a message saying what one looks like.
fn parse_room_id(text: &str) -> Result<RoomId, String> {
    text.trim().parse::<RoomId>().map_err(|_| {
        format!("{text:?} is not a room id: an id looks like 1b4e28ba-2fa1-11d2-883f-0016d3cca427 (/id in the chat screen shows it)")
    })
}

/// `login` / `register` flags: anything missing is asked for on the login screen.
#[derive(Debug, Args)]
pub struct AccountArgs {
    /// Server URL, e.g. ws://127.0.0.1:7878/ws (or wss://… for a TLS server);
    /// several, comma-separated, to move to the next when one fails.
    #[arg(long, env = "HEARTLINK_SERVER")]
    pub server: Option<String>,
    /// Username (3-32 characters of a-z, 0-9, '_', '-', '.').
    #[arg(long, env = "HEARTLINK_USERNAME")]
    pub username: Option<String>,
    /// Read the password from standard input (its first line) and log in
    /// without the chat screen: for scripts and bots. Needs --username.
    #[arg(long, requires = "username")]
    pub password_stdin: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed_and_parses_the_documented_commands() {
        Cli::command().debug_assert();
        let cli = Cli::try_parse_from(["heartlink-tui", "login", "--server", "ws://h:1/ws", "--username", "bob"]).unwrap();
        assert!(matches!(cli.command, Some(Command::Login(AccountArgs { username: Some(ref u), .. })) if u == "bob"));
        let room = RoomId::random().to_string();
        let cli = Cli::try_parse_from(["heartlink-tui", "send", "--room", &room, "hello", "there"]).unwrap();
        assert!(matches!(cli.command, Some(Command::Send { ref text, .. }) if text.join(" ") == "hello there"));
        let cli = Cli::try_parse_from(["heartlink-tui", "tail", "--room", &room, "--json"]).unwrap();
        assert!(matches!(cli.command, Some(Command::Tail { json: true, .. })));
        assert!(Cli::try_parse_from(["heartlink-tui"]).unwrap().command.is_none());
        let err = Cli::try_parse_from(["heartlink-tui", "send", "--room", "garbage", "x"]).unwrap_err().to_string();
        assert!(err.contains("\"garbage\" is not a room id") && err.contains("/id"), "{err}");
        let cli = Cli::try_parse_from(["heartlink-tui", "send", "--room", &room, "--lines", "-"]).unwrap();
        assert!(matches!(cli.command, Some(Command::Send { ref text, lines: true, .. }) if text == &["-"]));
        let cli = Cli::try_parse_from(["heartlink-tui", "login", "--username", "bot", "--password-stdin"]).unwrap();
        assert!(matches!(cli.command, Some(Command::Login(AccountArgs { password_stdin: true, .. }))));
        assert!(Cli::try_parse_from(["heartlink-tui", "login", "--password-stdin"]).is_err(), "needs --username");
        assert!(matches!(Cli::try_parse_from(["heartlink-tui", "config", "--print"]).unwrap().command, Some(Command::Config { print: true })));
        assert!(Cli::try_parse_from(["heartlink-tui", "send", "--room", &room]).is_err(), "text or a file");
        let cli = Cli::try_parse_from(["heartlink-tui", "send", "--room", &room, "--file", "a.png"]).unwrap();
        assert!(matches!(cli.command, Some(Command::Send { file: Some(_), ref text, .. }) if text.is_empty()));
        let cli = Cli::try_parse_from(["heartlink-tui", "send", "--room", &room, "--voice", "hello.wav"]).unwrap();
        assert!(matches!(cli.command, Some(Command::Send { voice: Some(_), file: None, .. })));
        assert!(Cli::try_parse_from(["heartlink-tui", "send", "--room", &room, "--voice", "a.wav", "--file", "b"]).is_err());
        let media = heartlink_protocol::MediaId::random().to_string();
        let cli = Cli::try_parse_from(["heartlink-tui", "download", &media, "-o", "out.bin"]).unwrap();
        assert!(matches!(cli.command, Some(Command::Download { output: Some(_), .. })));
    }
}
