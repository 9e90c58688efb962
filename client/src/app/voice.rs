//! Voice messages on the chat screen: `/voice` records (the input area
//! shows a level meter and the time; Enter sends, Esc discards; it stops by
//! itself at five minutes), `/voice FILE` sends a sound file, `/play N`
//! plays message N's voice message with a moving position and `/play`
//! again stops it. The sound itself is the media worker's.

use super::media::{METER_LEVELS, Playing, Recording};
use super::{App, Effect};
use crate::events::media::{AsVoice, MediaCmd, MediaEvent, UploadSource};
use crate::sanitize::sanitize_line;
use crossterm::event::{KeyCode, KeyEvent};
use heartlink_protocol::AttachmentKind;
use std::collections::VecDeque;

/// Recordings stop by themselves after this long.
pub const RECORDING_CAP_SECS: u64 = 300;

impl App {
    /// `/voice`: starts recording for the open room.
    pub(super) fn start_recording(&mut self) -> Vec<Effect> {
        let Some(room) = self.active_room().filter(|room| !room.ended).map(super::RoomView::id) else {
            self.notify("no room is open to send a voice message to", true);
            return Vec::new();
        };
        if self.token.is_none() {
            self.notify("log in first: voice messages go to the server with your session", true);
            return Vec::new();
        }
        self.recording =
            Some(Recording { room, source: None, elapsed_ms: 0, levels: VecDeque::new(), capped: false, sending: false });
        vec![Self::media(MediaCmd::Record { recorder: self.settings.media.recorder.clone() })]
    }

    /// Keys while recording: Enter sends, Esc discards, the rest waits.
    pub(super) fn recording_key(&mut self, key: &KeyEvent) -> Vec<Effect> {
        let Some(recording) = &mut self.recording else { return Vec::new() };
        if recording.sending {
            return Vec::new();
        }
        match key.code {
            KeyCode::Enter => {
                recording.sending = true;
                vec![Self::media(MediaCmd::StopRecording { keep: true })]
            }
            KeyCode::Esc => {
                self.recording = None;
                self.notify("recording discarded", false);
                vec![Self::media(MediaCmd::StopRecording { keep: false })]
            }
            _ => Vec::new(),
        }
    }

    /// `/play N` plays message N's voice message; `/play` (or `/play N` of
    /// the one playing) stops; `/play` with nothing playing plays the newest.
    pub(super) fn play(&mut self, nth: Option<usize>) -> Vec<Effect> {
        let voice_of = |app: &Self, seq: u64| {
            let attachment = app.active_room()?.messages.get(&seq)?.attachment.as_deref()?;
            (attachment.kind == AttachmentKind::Voice).then(|| (attachment.media_id, attachment.duration_ms.unwrap_or(0)))
        };
        let chosen = match nth {
            Some(nth) => self.nth_newest(nth).and_then(|seq| voice_of(self, seq)),
            None if self.media.playing.is_some() => None,
            None => self.active_room().and_then(|room| room.messages.keys().rev().find_map(|seq| voice_of(self, *seq))),
        };
        if let Some(playing) = self.media.playing.take() {
            if nth.is_none() || chosen.is_some_and(|(id, _)| id == playing.media_id) {
                return vec![Self::media(MediaCmd::StopPlaying)];
            }
        }
        let Some((media_id, duration_ms)) = chosen else {
            let what = nth.map_or_else(|| "there is no voice message in this room".to_owned(), |n| format!("message {n} is not a voice message"));
            self.notify(what, true);
            return Vec::new();
        };
        let Some(access) = self.access() else { return Vec::new() };
        self.media.playing = Some(Playing { media_id, duration_ms, started: None, position_ms: 0 });
        vec![Self::media(MediaCmd::StopPlaying), Self::media(MediaCmd::Play { access, media_id, player: self.settings.media.player.clone() })]
    }

    pub(super) fn voice_event(&mut self, event: MediaEvent) -> Vec<Effect> {
        match event {
            MediaEvent::RecordingStarted { source } => {
                if let Some(recording) = &mut self.recording {
                    recording.source = Some(sanitize_line(&source));
                }
            }
            MediaEvent::RecordingLevel { peak, elapsed_ms } => {
                if let Some(recording) = &mut self.recording {
                    recording.elapsed_ms = elapsed_ms;
                    recording.levels.push_back(peak);
                    while recording.levels.len() > METER_LEVELS {
                        recording.levels.pop_front();
                    }
                }
            }
            MediaEvent::RecordingCapped => {
                if let Some(recording) = &mut self.recording {
                    recording.capped = true;
                }
            }
            MediaEvent::RecordingFailed { reason } => {
                self.recording = None;
                let hint = "set audio.recorder in config.toml, or /voice FILE sends a sound file";
                self.notify(format!("{} — {hint}", sanitize_line(&reason)), true);
            }
            MediaEvent::RecordingEmpty => {
                self.recording = None;
                self.notify("nothing was recorded (under half a second): nothing sent", true);
            }
            MediaEvent::Recorded { path, voice } => {
                let Some(recording) = self.recording.take() else { return Vec::new() };
                let name = path.file_name().map_or_else(|| "voice.flac".to_owned(), |n| n.to_string_lossy().into_owned());
                return self.upload_into(recording.room, UploadSource::File(path), name, AsVoice::Known(voice));
            }
            MediaEvent::PlayStarted { media_id, duration_ms, .. } => {
                let now = self.now;
                if let Some(playing) = self.media.playing.as_mut().filter(|playing| playing.media_id == media_id) {
                    playing.started = Some(now);
                    playing.duration_ms = duration_ms;
                }
            }
            MediaEvent::PlayFinished { media_id } if self.media.playing.as_ref().is_some_and(|playing| playing.media_id == media_id) => {
                self.media.playing = None;
            }
            MediaEvent::PlayFailed { media_id, reason } => {
                if self.media.playing.as_ref().is_some_and(|playing| playing.media_id == media_id) {
                    self.media.playing = None;
                }
                let hint = "set audio.player in config.toml, or /save it";
                self.notify(format!("{} — {hint}", sanitize_line(&reason)), true);
            }
            MediaEvent::PathCompleted { typed, completed, choices } => self.path_completed(&typed, &completed, &choices),
            _ => {}
        }
        Vec::new()
    }
}
