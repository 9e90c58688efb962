//! The user's settings: `config.toml` in the config directory, every key
//! optional, with documented defaults. Parsing and printing only (the file
//! is read by `config`); a mistake names the key and what it accepts, and
//! the client refuses to start rather than silently ignore it.

mod keys;
mod media;

pub use keys::{Action, KeyBinding, Keys};
pub use media::{Images, MediaSettings};

use crate::theme::{ColorMode, Palette, Theme};
use ratatui::style::Color;
use serde::Deserialize;
use std::str::FromStr;

/// When to ring the terminal bell for a new message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bell {
    Off,
    /// A message that names you (`@you`) or arrives in a pair room.
    Mentions,
    /// Every message from someone else that is not on screen.
    All,
}

/// How a desktop notification reaches the desktop: through the terminal,
/// with one of the two escape sequences terminals understand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Desktop {
    Off,
    /// `OSC 9 ; text` (iTerm2, kitty, WezTerm, foot, Ghostty).
    Osc9,
    /// `OSC 777 ; notify ; title ; text` (urxvt, foot, WezTerm, VTE with the notify patch).
    Osc777,
}

/// Everything the config file sets, resolved and checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// strftime-style format of message times (chrono's syntax).
    pub time_format: String,
    /// `auto`, or a mode forced by the file.
    pub color_mode: Option<ColorMode>,
    pub palette: Palette,
    pub keys: Keys,
    pub bell: Bell,
    /// Whether (and how) the messages that ring the bell also notify the desktop.
    pub desktop: Desktop,
    /// The program (and leading arguments) that opens a link; the URL is
    /// added as the last argument. No shell is involved.
    pub open_command: Vec<String>,
    /// Images, downloads, recording and playing.
    pub media: MediaSettings,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            time_format: "%H:%M".to_owned(),
            color_mode: None,
            palette: Palette::default(),
            keys: Keys::default(),
            bell: Bell::Mentions,
            desktop: Desktop::Osc9,
            open_command: vec![if cfg!(target_os = "macos") { "open" } else { "xdg-open" }.to_owned()],
            media: MediaSettings::default(),
        }
    }
}

/// A config file that cannot be used, with the key at fault.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// Not TOML, or an unknown key / a value of the wrong type.
    #[error("{0}")]
    Syntax(#[from] toml::de::Error),
    /// A value of the right type that means nothing.
    #[error("{key} = {value:?}: {expected}")]
    Value { key: String, value: String, expected: &'static str },
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    time_format: Option<String>,
    #[serde(default)]
    colors: ColorsFile,
    #[serde(default)]
    keys: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    notifications: NotificationsFile,
    #[serde(default)]
    commands: CommandsFile,
    #[serde(default)]
    media: media::MediaFile,
    #[serde(default)]
    audio: media::AudioFile,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ColorsFile {
    mode: Option<String>,
    title: Option<String>,
    dim: Option<String>,
    alert: Option<String>,
    highlight: Option<String>,
    ok: Option<String>,
    warn: Option<String>,
    link: Option<String>,
    users: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct NotificationsFile {
    bell: Option<String>,
    desktop: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct CommandsFile {
    open: Option<String>,
}

pub(crate) fn bad(key: &str, value: &str, expected: &'static str) -> SettingsError {
    SettingsError::Value { key: key.to_owned(), value: value.to_owned(), expected }
}

fn color(key: &str, value: &str) -> Result<Color, SettingsError> {
    Color::from_str(value).map_err(|_| bad(key, value, "a colour name (red, light-blue, dark-gray…), 0-255 or #rrggbb"))
}

impl Settings {
    /// Parses a config file's text; missing keys keep their defaults.
    pub fn parse(text: &str) -> Result<Self, SettingsError> {
        let file: File = toml::from_str(text)?;
        let mut settings = Self::default();
        if let Some(format) = file.time_format {
            check_time_format(&format)?;
            settings.time_format = format;
        }
        settings.color_mode = match file.colors.mode.as_deref() {
            None | Some("auto") => None,
            Some("truecolor") => Some(ColorMode::TrueColor),
            Some("256") => Some(ColorMode::Palette256),
            Some("16") => Some(ColorMode::Ansi16),
            Some("none") => Some(ColorMode::None),
            Some(other) => return Err(bad("colors.mode", other, "auto, truecolor, 256, 16 or none")),
        };
        let palette = &mut settings.palette;
        let slots = [
            ("title", &file.colors.title, &mut palette.title),
            ("dim", &file.colors.dim, &mut palette.dim),
            ("alert", &file.colors.alert, &mut palette.alert),
            ("highlight", &file.colors.highlight, &mut palette.highlight),
            ("ok", &file.colors.ok, &mut palette.ok),
            ("warn", &file.colors.warn, &mut palette.warn),
            ("link", &file.colors.link, &mut palette.link),
        ];
        for (name, value, slot) in slots {
            if let Some(value) = value {
                *slot = color(&format!("colors.{name}"), value)?;
            }
        }
        if let Some(users) = &file.colors.users {
            let parsed: Result<Vec<Color>, _> = users.iter().map(|value| color("colors.users", value)).collect();
            palette.users = parsed?;
            if palette.users.is_empty() {
                return Err(bad("colors.users", "[]", "at least one colour"));
            }
        }
        for (action, key) in &file.keys {
            settings.keys.set(action, key)?;
        }
        settings.bell = match file.notifications.bell.as_deref() {
            None | Some("mentions") => Bell::Mentions,
            Some("all") => Bell::All,
            Some("off") => Bell::Off,
            Some(other) => return Err(bad("notifications.bell", other, "mentions, all or off")),
        };
        settings.desktop = match file.notifications.desktop.as_deref() {
            None | Some("osc9") => Desktop::Osc9,
            Some("osc777") => Desktop::Osc777,
            Some("off") => Desktop::Off,
            Some(other) => return Err(bad("notifications.desktop", other, "osc9, osc777 or off")),
        };
        if let Some(open) = file.commands.open {
            let words: Vec<String> = open.split_whitespace().map(str::to_owned).collect();
            if words.is_empty() {
                return Err(bad("commands.open", &open, "a program, e.g. xdg-open"));
            }
            settings.open_command = words;
        }
        settings.media = MediaSettings::parse(file.media, file.audio)?;
        Ok(settings)
    }

    /// The theme for a terminal whose environment suggests `detected`.
    pub fn theme(&self, detected: ColorMode) -> Theme {
        // NO_COLOR is the user's standing wish: it beats the file's mode.
        let mode = if detected == ColorMode::None { detected } else { self.color_mode.unwrap_or(detected) };
        Theme { palette: self.palette.clone(), mode }
    }

    /// The settings as a commented config file (`heartlink-tui config --print`):
    /// every key with its value and what it accepts.
    pub fn to_toml(&self) -> String {
        let q = |s: &str| toml_string(s);
        let c = |color: Color| toml_string(&color_name(color));
        let mode = match self.color_mode {
            None => "auto",
            Some(ColorMode::TrueColor) => "truecolor",
            Some(ColorMode::Palette256) => "256",
            Some(ColorMode::Ansi16) => "16",
            Some(ColorMode::None) => "none",
        };
        let p = &self.palette;
        let users: Vec<String> = p.users.iter().map(|color| c(*color)).collect();
        let bell = match self.bell {
            Bell::Off => "off",
            Bell::Mentions => "mentions",
            Bell::All => "all",
        };
        let desktop = match self.desktop {
            Desktop::Off => "off",
            Desktop::Osc9 => "osc9",
            Desktop::Osc777 => "osc777",
        };
        let mut out = String::new();
        out.push_str("# heartlink-tui settings. Every key is optional; a missing one keeps its default.\n\n");
        out.push_str("# Message times, in strftime syntax: \"%H:%M\", \"%H:%M:%S\", \"%I:%M %p\".\n");
        out.push_str(&format!("time_format = {}\n\n", q(&self.time_format)));
        out.push_str("[colors]\n");
        out.push_str("# auto (NO_COLOR, then COLORTERM and TERM decide), truecolor, 256, 16 or none.\n");
        out.push_str("# On a 16-colour terminal every colour is shown as the nearest of the 16.\n");
        out.push_str(&format!("mode = {}\n", q(mode)));
        out.push_str("# A colour: a name (red, light-blue, dark-gray, …), a palette index 0-255 or \"#rrggbb\".\n");
        for (name, color) in [
            ("title", p.title),
            ("dim", p.dim),
            ("alert", p.alert),
            ("highlight", p.highlight),
            ("ok", p.ok),
            ("warn", p.warn),
            ("link", p.link),
        ] {
            out.push_str(&format!("{name} = {}\n", c(color)));
        }
        out.push_str(&format!("users = [{}]\n\n", users.join(", ")));
        out.push_str("[keys]\n");
        out.push_str("# A key: ctrl-x, alt-x, ctrl-alt-x, f1…f12, enter, esc, tab, pageup, up, … (alt-enter, ctrl-n)\n");
        for (action, binding) in self.keys.iter() {
            out.push_str(&format!("{} = {}\n", action.name(), q(&binding.to_string())));
        }
        out.push_str("\n[notifications]\n");
        out.push_str("# Ring the terminal bell for: mentions (@you, or a pair room), all (every message not on screen), off.\n");
        out.push_str("# /mute silences one room.\n");
        out.push_str(&format!("bell = {}\n", q(bell)));
        out.push_str("# The same messages as a desktop notification, through the terminal: osc9, osc777 or off.\n");
        out.push_str(&format!("desktop = {}\n\n", q(desktop)));
        out.push_str("[commands]\n");
        out.push_str("# Opens a link or a downloaded file (/open): the program and its arguments; the URL or file is added last.\n");
        out.push_str("# No shell. Only http(s) links and files the client downloaded are ever opened.\n");
        out.push_str(&format!("open = {}\n", q(&self.open_command.join(" "))));
        out.push_str(&self.media.to_toml());
        out
    }
}

/// Checks a time format by formatting a time with it: chrono reports an
/// unknown `%` item only then.
fn check_time_format(format: &str) -> Result<(), SettingsError> {
    use chrono::format::{Item, StrftimeItems};
    let broken = StrftimeItems::new(format).any(|item| matches!(item, Item::Error));
    if broken || format.chars().any(char::is_control) {
        return Err(bad("time_format", format, "a strftime format such as \"%H:%M\""));
    }
    Ok(())
}

pub(crate) fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

/// A colour as the config file spells it: `dark-gray`, `244`, `#ff8800`.
fn color_name(color: Color) -> String {
    let text = color.to_string();
    if text.starts_with('#') || text.chars().all(|c| c.is_ascii_digit()) {
        return text.to_lowercase();
    }
    let mut out = String::new();
    for (index, c) in text.chars().enumerate() {
        if c.is_uppercase() && index > 0 {
            out.push('-');
        }
        out.extend(c.to_lowercase());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_file_means_the_defaults_and_the_printed_defaults_parse_back() {
        assert_eq!(Settings::parse("").unwrap(), Settings::default());
        let printed = Settings::default().to_toml();
        assert_eq!(Settings::parse(&printed).unwrap(), Settings::default(), "{printed}");
        assert!(printed.contains("time_format = \"%H:%M\"") && printed.contains("dim = \"244\""), "{printed}");
        assert!(printed.contains("quit = \"ctrl-c\"") && printed.contains("bell = \"mentions\""), "{printed}");
    }

    #[test]
    fn every_key_can_be_set_and_is_printed_back() {
        let text = r##"
            time_format = "%H:%M:%S"
            [colors]
            mode = "16"
            dim = "dark-gray"
            alert = "#ff8800"
            users = ["cyan", "201"]
            [keys]
            quit = "ctrl-q"
            next_room = "alt-down"
            [notifications]
            bell = "off"
            desktop = "osc777"
            [commands]
            open = "firefox --new-tab"
            [media]
            images = "halfblocks"
            download_dir = "/tmp/dl"
            [audio]
            recorder = "arecord -q -t raw -f S16_LE -c 1 -r 16000 -"
            player = "aplay -q"
        "##;
        let settings = Settings::parse(text).unwrap();
        assert_eq!(settings.time_format, "%H:%M:%S");
        assert_eq!(settings.color_mode, Some(ColorMode::Ansi16));
        assert_eq!(settings.palette.alert, Color::Rgb(0xff, 0x88, 0));
        assert_eq!(settings.palette.users, [Color::Cyan, Color::Indexed(201)]);
        assert_eq!(settings.keys.get(Action::Quit).to_string(), "ctrl-q");
        assert_eq!(settings.bell, Bell::Off);
        assert_eq!(settings.desktop, Desktop::Osc777);
        assert_eq!(settings.open_command, ["firefox", "--new-tab"]);
        assert_eq!(settings.media.images, Images::Halfblocks);
        assert_eq!(settings.media.download_dir.as_deref(), Some(std::path::Path::new("/tmp/dl")));
        assert_eq!(settings.media.player.as_deref(), Some(&["aplay".to_owned(), "-q".to_owned()][..]));
        assert_eq!(settings.media.recorder.as_ref().map(Vec::len), Some(11));
        assert_eq!(Settings::parse(&settings.to_toml()).unwrap(), settings);
    }

    #[test]
    fn mistakes_name_the_key_and_what_it_accepts() {
        let cases = [
            ("time_format = \"%Q\"", "time_format"),
            ("[colors]\nmode = \"loud\"", "colors.mode"),
            ("[colors]\ndim = \"sparkly\"", "colors.dim"),
            ("[keys]\nquit = \"ctrl-\"", "keys.quit"),
            ("[keys]\nfly = \"f2\"", "keys.fly"),
            ("[notifications]\nbell = \"sometimes\"", "notifications.bell"),
            ("[notifications]\ndesktop = \"dbus\"", "notifications.desktop"),
            ("[media]\nimages = \"ascii\"", "media.images"),
            ("[audio]\nplayer = \" \"", "audio.player"),
            ("colour = 1", "colour"),
        ];
        for (text, key) in cases {
            let err = Settings::parse(text).unwrap_err().to_string();
            assert!(err.contains(key), "{text:?}: {err}");
        }
    }

    #[test]
    fn no_color_beats_the_file_and_the_file_beats_detection() {
        let settings = Settings::parse("[colors]\nmode = \"256\"").unwrap();
        assert_eq!(settings.theme(ColorMode::None).mode, ColorMode::None);
        assert_eq!(settings.theme(ColorMode::Ansi16).mode, ColorMode::Palette256);
        assert_eq!(Settings::default().theme(ColorMode::TrueColor).mode, ColorMode::TrueColor);
    }
}
