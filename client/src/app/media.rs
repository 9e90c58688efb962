//! What the app knows of attachments besides the messages: transfers under
//! way (with their progress and speed), inline images (loading, ready,
//! refused), the voice message playing and the recording being made, and
//! what the media worker reports about each.

use super::{App, Effect};
use crate::events::media::{Access, JobId, MediaCmd, MediaEvent, Picture, VoiceInfo};
use crate::sanitize::sanitize_line;
use heartlink_protocol::{AttachmentKind, ChatMessage, MediaId, RoomId, ServerMsg};
use std::collections::{BTreeMap, VecDeque};
use tokio::time::Instant;

/// Images are not decoded past this many pixels (a decompression bomb
/// announces itself in its header; the worker checks the decoded size too).
pub const MAX_IMAGE_PIXELS: u64 = 40_000_000;
/// Inline images held (decoded) in one session; later ones show their card only.
const MAX_IMAGES: usize = 200;
/// How many recent level readings the recording meter shows.
pub const METER_LEVELS: usize = 16;

/// An inline image's state.
#[derive(Debug, Clone)]
pub enum ImageState {
    Loading,
    Ready(Picture),
    /// Not shown, and why (over the pixel cap, not decodable, …).
    Failed(String),
}

/// A voice message being played.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Playing {
    pub media_id: MediaId,
    pub duration_ms: u32,
    /// When sound started (`None` while it is being fetched and decoded).
    pub started: Option<Instant>,
    pub position_ms: u32,
}

/// What the timeline needs to draw attachments: images, the voice message
/// playing, and the wall clock (calls ring until a wall-clock time).
#[derive(Debug, Clone, Default)]
pub struct MediaView {
    pub images: BTreeMap<MediaId, ImageState>,
    pub playing: Option<Playing>,
    /// Unix ms, from [`super::Msg::WallClock`].
    pub wall_ms: u64,
    /// Inline images are drawn (`images = "off"` in the settings turns them off).
    pub images_off: bool,
}

/// What a transfer is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransferKind {
    /// An upload to send into `room` with `caption` once complete.
    Upload { room: RoomId, caption: String, voice: bool },
    Save,
    Open,
}

/// An upload or download under way, for the progress bar.
#[derive(Debug, Clone, PartialEq)]
pub struct Transfer {
    pub job: JobId,
    pub kind: TransferKind,
    pub name: String,
    pub done: u64,
    pub total: u64,
    pub started: Instant,
    /// Bytes per second since the start.
    pub speed: f64,
}

/// `/voice` under way: the meter and the elapsed time in the input area.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recording {
    pub room: RoomId,
    /// What records (known once it started).
    pub source: Option<String>,
    pub elapsed_ms: u32,
    /// The last readings, newest last (0–255).
    pub levels: VecDeque<u8>,
    /// The five-minute cap was reached: recording stopped.
    pub capped: bool,
    /// Enter was pressed: the recording is being encoded and sent.
    pub sending: bool,
}

impl App {
    /// The server and token HTTP requests need, or a notice saying why there are none.
    pub(super) fn access(&mut self) -> Option<Access> {
        match &self.token {
            Some(token) => Some(Access { server: self.on_server.clone(), token: token.clone() }),
            None => {
                self.notify("log in first: files go to the server with your session", true);
                None
            }
        }
    }

    pub(super) fn next_job(&mut self) -> JobId {
        self.next_job += 1;
        self.next_job
    }

    pub(super) fn media(command: MediaCmd) -> Effect {
        Effect::Media(command)
    }

    /// A frame from the server: its images start loading, then it is applied.
    pub(super) fn server_frame(&mut self, msg: ServerMsg) -> Vec<Effect> {
        let images: Vec<(MediaId, u32, u32)> = match &msg {
            ServerMsg::ChatMessage(message) => images_of(std::slice::from_ref(message)),
            ServerMsg::Joined { messages, .. } | ServerMsg::History { messages, .. } => images_of(messages),
            _ => Vec::new(),
        };
        let mut effects = self.server_msg(msg);
        effects.extend(self.load_images(images));
        effects
    }

    /// Asks for the images not yet held, within the caps.
    fn load_images(&mut self, images: Vec<(MediaId, u32, u32)>) -> Vec<Effect> {
        if self.media.images_off || self.token.is_none() {
            return Vec::new();
        }
        let mut effects = Vec::new();
        for (media_id, width, height) in images {
            if self.media.images.contains_key(&media_id) {
                continue;
            }
            if u64::from(width) * u64::from(height) > MAX_IMAGE_PIXELS {
                let why = format!("not shown: {width}×{height} is over the {}-megapixel limit", MAX_IMAGE_PIXELS / 1_000_000);
                self.media.images.insert(media_id, ImageState::Failed(why));
                continue;
            }
            if self.media.images.len() >= MAX_IMAGES {
                self.media.images.insert(media_id, ImageState::Failed("not loaded: /open shows it".to_owned()));
                continue;
            }
            let Some(access) = self.access() else { return effects };
            let (cols, rows) = crate::timeline::image_cells(width, height);
            self.media.images.insert(media_id, ImageState::Loading);
            effects.push(Self::media(MediaCmd::LoadImage { access, media_id, cols, rows }));
        }
        effects
    }

    pub(super) fn media_event(&mut self, event: MediaEvent) -> Vec<Effect> {
        match event {
            MediaEvent::Progress { job, done, total, at } => {
                if let Some(transfer) = self.transfers.iter_mut().find(|t| t.job == job) {
                    transfer.done = done;
                    transfer.total = total;
                    let secs = at.saturating_duration_since(transfer.started).as_secs_f64();
                    transfer.speed = if secs > 0.0 { done as f64 / secs } else { 0.0 };
                }
                Vec::new()
            }
            MediaEvent::Uploaded { job, media_id, name, size, voice, note } => self.uploaded(job, media_id, name, size, voice, note),
            MediaEvent::Saved { job, path, bytes } => {
                self.end_transfer(job);
                let path = sanitize_line(&path.display().to_string());
                self.notify(format!("saved {} to {path}", super::attachments::size_text(bytes)), false);
                Vec::new()
            }
            MediaEvent::Opened { job, path } => {
                self.end_transfer(job);
                self.notify(format!("opened {}", sanitize_line(&path.display().to_string())), false);
                Vec::new()
            }
            MediaEvent::Failed { job, reason } => {
                let name = self.end_transfer(job).map(|t| t.name).unwrap_or_default();
                self.notify(format!("{}: {}", sanitize_line(&name), sanitize_line(&reason)), true);
                Vec::new()
            }
            MediaEvent::Image { media_id, result } => {
                let state = match result {
                    Ok(picture) => ImageState::Ready(picture),
                    Err(why) => ImageState::Failed(format!("not shown: {}", sanitize_line(&why))),
                };
                self.media.images.insert(media_id, state);
                Vec::new()
            }
            other => self.voice_event(other),
        }
    }

    fn end_transfer(&mut self, job: JobId) -> Option<Transfer> {
        let index = self.transfers.iter().position(|t| t.job == job)?;
        Some(self.transfers.remove(index))
    }

    /// An upload finished: its message goes out (it waits in the outbox like any other).
    fn uploaded(&mut self, job: JobId, media_id: MediaId, name: String, size: u64, voice: Option<VoiceInfo>, note: Option<String>) -> Vec<Effect> {
        let Some(transfer) = self.end_transfer(job) else { return Vec::new() };
        let TransferKind::Upload { room, caption, .. } = transfer.kind else { return Vec::new() };
        if let Some(note) = note {
            self.notify(sanitize_line(&note), true);
        }
        let reference = heartlink_protocol::AttachmentRef {
            media_id,
            duration_ms: voice.as_ref().map(|voice| voice.duration_ms),
            waveform: voice.map(|voice| voice.waveform).filter(|levels| !levels.is_empty()),
        };
        let attachment = crate::session::SentAttachment { reference, name, size };
        self.queue_send(room, &caption, None, Some(attachment), None)
    }

    /// Moves the playing position (the clock's tick).
    pub(super) fn media_tick(&mut self) {
        let now = self.now;
        if let Some(playing) = &mut self.media.playing {
            if let Some(started) = playing.started {
                let position = now.saturating_duration_since(started).as_millis();
                playing.position_ms = u32::try_from(position).unwrap_or(u32::MAX).min(playing.duration_ms);
            }
        }
    }
}

/// The images among messages (with their dimensions from the server).
fn images_of(messages: &[ChatMessage]) -> Vec<(MediaId, u32, u32)> {
    messages
        .iter()
        .filter_map(|message| message.attachment.as_deref())
        .filter(|attachment| attachment.kind == AttachmentKind::Image)
        .filter_map(|attachment| Some((attachment.media_id, attachment.width?, attachment.height?)))
        .collect()
}
