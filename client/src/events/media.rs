//! The messages between the app and the media worker (uploads, downloads,
//! inline images, recording and playing voice messages): plain data, no I/O.

use heartlink_protocol::MediaId;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::time::Instant;

/// Numbers each transfer (and recording) the app starts.
pub type JobId = u64;

/// The server and the token an HTTP request goes with.
#[derive(Clone, PartialEq, Eq)]
pub struct Access {
    pub server: String,
    pub token: String,
}

impl std::fmt::Debug for Access {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Access").field("server", &self.server).field("token", &"<redacted>").finish()
    }
}

/// What a voice message carries besides its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VoiceInfo {
    pub duration_ms: u32,
    /// Up to 128 peak levels, 0–255, evenly over the duration.
    pub waveform: Vec<u8>,
}

/// What to upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UploadSource {
    /// A file, as the user named it (`~` already expanded).
    File(PathBuf),
    /// A long paste, sent as a text file of this name.
    Text { name: String, text: String },
}

/// How an upload goes out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AsVoice {
    /// An ordinary attachment (the server decides file or image).
    No,
    /// `/voice FILE`: read the sound for its duration and waveform; a file
    /// that is not sound goes as an ordinary attachment (and says so).
    Analyse,
    /// A recording whose duration and waveform are known.
    Known(VoiceInfo),
}

/// What the app asks of the media worker.
#[derive(Debug, Clone, PartialEq)]
pub enum MediaCmd {
    Upload { job: JobId, access: Access, source: UploadSource, voice: AsVoice },
    /// Download into the download directory (or `target`), never overwriting.
    Save { job: JobId, access: Access, media_id: MediaId, name: String, target: Option<PathBuf> },
    /// Download into the cache and open it with `opener` (the path added last).
    Open { job: JobId, access: Access, media_id: MediaId, name: String, opener: Vec<String> },
    /// Fetch and decode an image to show in at most `cols`×`rows` cells.
    LoadImage { access: Access, media_id: MediaId, cols: u16, rows: u16 },
    /// Start recording (`recorder`: a command, or `None` for the microphone,
    /// then the recorders found on PATH).
    Record { recorder: Option<Vec<String>> },
    /// Stop recording; `keep`: encode it and report [`MediaEvent::Recorded`].
    StopRecording { keep: bool },
    /// Fetch, decode and play a voice message.
    Play { access: Access, media_id: MediaId, player: Option<Vec<String>> },
    StopPlaying,
    /// The connection is back: transfers waiting to retry try now.
    Reconnected,
    /// Tab after `/upload PATH…`: the files whose names start so.
    CompletePath { typed: String },
}

/// A decoded image ready to draw (see `ratatui_image::sliced`).
#[derive(Clone)]
pub struct Picture(pub Arc<ratatui_image::sliced::SlicedProtocol>);

impl std::fmt::Debug for Picture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let size = self.0.size();
        write!(f, "Picture({}×{} cells)", size.width, size.height)
    }
}

/// What the media worker tells the app.
#[derive(Debug, Clone)]
pub enum MediaEvent {
    Progress { job: JobId, done: u64, total: u64, at: Instant },
    /// Every byte is on the server; `voice` is set when it goes as a voice
    /// message, `note` says why a `/voice FILE` goes as a file instead.
    Uploaded { job: JobId, media_id: MediaId, name: String, size: u64, voice: Option<VoiceInfo>, note: Option<String> },
    Saved { job: JobId, path: PathBuf, bytes: u64 },
    Opened { job: JobId, path: PathBuf },
    Failed { job: JobId, reason: String },
    Image { media_id: MediaId, result: Result<Picture, String> },
    RecordingStarted { source: String },
    RecordingLevel { peak: u8, elapsed_ms: u32 },
    /// The cap was reached: recording stopped, Enter still sends it.
    RecordingCapped,
    RecordingFailed { reason: String },
    /// The recording, encoded, waiting in `path`.
    Recorded { path: PathBuf, voice: VoiceInfo },
    /// Too short to send: nothing is sent.
    RecordingEmpty,
    PlayStarted { media_id: MediaId, duration_ms: u32, through: String },
    PlayFinished { media_id: MediaId },
    PlayFailed { media_id: MediaId, reason: String },
    /// What `typed` completes to (the longest common start), and the choices.
    PathCompleted { typed: String, completed: String, choices: Vec<String> },
}
