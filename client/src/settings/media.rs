//! The `[media]` and `[audio]` sections of config.toml: how images are
//! shown, where `/save` puts files, and what records and plays sound.

use super::{SettingsError, bad, toml_string};
use serde::Deserialize;
use std::path::PathBuf;

/// How inline images are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Images {
    /// The terminal's graphics protocol (kitty, sixel, iTerm2) when it has one, else half-blocks.
    Auto,
    /// Unicode half-blocks everywhere (two pixels a cell).
    Halfblocks,
    /// No inline images: the card only.
    Off,
}

/// Attachments and sound.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaSettings {
    pub images: Images,
    /// Where `/save` writes (default: the XDG download directory).
    pub download_dir: Option<PathBuf>,
    /// A recorder command writing raw 16 kHz mono s16le to standard output;
    /// `None`: the microphone, else arecord, sox or ffmpeg from PATH.
    pub recorder: Option<Vec<String>>,
    /// A player command given a WAV file as its last argument; `None`: the
    /// speaker, else paplay, aplay, ffplay or play from PATH.
    pub player: Option<Vec<String>>,
}

impl Default for MediaSettings {
    fn default() -> Self {
        Self { images: Images::Auto, download_dir: None, recorder: None, player: None }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct MediaFile {
    images: Option<String>,
    download_dir: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AudioFile {
    recorder: Option<String>,
    player: Option<String>,
}

/// A command as words (no shell); `auto` (or nothing) is `None`.
fn command(key: &str, value: Option<String>) -> Result<Option<Vec<String>>, SettingsError> {
    match value {
        None => Ok(None),
        Some(text) if text.trim() == "auto" => Ok(None),
        Some(text) => {
            let words: Vec<String> = text.split_whitespace().map(str::to_owned).collect();
            if words.is_empty() {
                return Err(bad(key, &text, "auto, or a program and its arguments"));
            }
            Ok(Some(words))
        }
    }
}

impl MediaSettings {
    pub(super) fn parse(media: MediaFile, audio: AudioFile) -> Result<Self, SettingsError> {
        let images = match media.images.as_deref() {
            None | Some("auto") => Images::Auto,
            Some("halfblocks") => Images::Halfblocks,
            Some("off") => Images::Off,
            Some(other) => return Err(bad("media.images", other, "auto, halfblocks or off")),
        };
        let download_dir = match media.download_dir {
            Some(dir) if dir.trim().is_empty() => return Err(bad("media.download_dir", &dir, "a directory")),
            other => other.map(PathBuf::from),
        };
        Ok(Self { images, download_dir, recorder: command("audio.recorder", audio.recorder)?, player: command("audio.player", audio.player)? })
    }

    pub(super) fn to_toml(&self) -> String {
        let images = match self.images {
            Images::Auto => "auto",
            Images::Halfblocks => "halfblocks",
            Images::Off => "off",
        };
        let words = |command: &Option<Vec<String>>| toml_string(&command.as_ref().map_or_else(|| "auto".to_owned(), |argv| argv.join(" ")));
        let mut out = String::from("\n[media]\n");
        out.push_str("# Inline images: auto (kitty, sixel or iTerm2 graphics where the terminal has them, else half-blocks),\n");
        out.push_str("# halfblocks (everywhere, also in tmux), off (the card only).\n");
        out.push_str(&format!("images = {}\n", toml_string(images)));
        out.push_str("# Where /save writes files; unset: the XDG download directory (~/Downloads).\n");
        match &self.download_dir {
            Some(dir) => out.push_str(&format!("download_dir = {}\n", toml_string(&dir.display().to_string()))),
            None => out.push_str("# download_dir = \"~/Downloads\"\n"),
        }
        out.push_str("\n[audio]\n");
        out.push_str("# Records /voice: auto (the microphone, else arecord, sox or ffmpeg from PATH), or a command that\n");
        out.push_str("# writes raw signed 16-bit little-endian mono PCM at 16000 Hz to standard output until stopped.\n");
        out.push_str(&format!("recorder = {}\n", words(&self.recorder)));
        out.push_str("# Plays /play: auto (the speaker, else paplay, aplay, ffplay or play from PATH), or a command\n");
        out.push_str("# given a WAV file as its last argument.\n");
        out.push_str(&format!("player = {}\n", words(&self.player)));
        out
    }
}
