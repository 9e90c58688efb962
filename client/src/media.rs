//! The media worker: carries out the app's [`MediaCmd`]s off the UI thread
//! and reports [`MediaEvent`]s back — uploads and downloads (tus and HTTP,
//! `transfer`), inline images decoded under a pixel cap (`media/images`),
//! recording and playing voice messages (`audio`). Uploads keep trying
//! while the client runs, and try again at once when the app says the
//! connection is back.

mod fetch;
mod images;
pub mod paths;

use crate::audio::{self, play, record};
use crate::events::media::{MediaCmd, MediaEvent, VoiceInfo};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use tokio::sync::{Notify, mpsc};
use tokio_util::task::TaskTracker;

/// A recording shorter than this is not sent.
const SHORTEST_RECORDING_MS: u32 = 500;

/// What every job needs: where events go, the HTTP client, the directories.
#[derive(Clone)]
pub(crate) struct Context {
    events: mpsc::Sender<MediaEvent>,
    http: Option<reqwest::Client>,
    wake: Arc<Notify>,
    cache: PathBuf,
    download_dir: PathBuf,
    picker: ratatui_image::picker::Picker,
}

impl Context {
    async fn emit(&self, event: MediaEvent) {
        let _ = self.events.send(event).await;
    }

    fn http(&self) -> Result<&reqwest::Client, String> {
        self.http.as_ref().ok_or_else(|| "no HTTP client could be made (TLS setup)".to_owned())
    }
}

/// The worker's state between commands.
pub struct MediaWorker {
    context: Context,
    tracker: TaskTracker,
    recording: Option<record::Recording>,
    playback: Arc<Mutex<Option<play::Playback>>>,
    /// Bumped by every `/play` and stop, so a fetch that finishes late does not start playing.
    play_generation: Arc<std::sync::atomic::AtomicU64>,
}

impl std::fmt::Debug for MediaWorker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MediaWorker").field("cache", &self.context.cache).finish_non_exhaustive()
    }
}

impl MediaWorker {
    /// `cache`: where fetched media and recordings are kept; `download_dir`: where `/save` writes.
    pub fn new(events: mpsc::Sender<MediaEvent>, cache: PathBuf, download_dir: PathBuf, picker: ratatui_image::picker::Picker) -> Self {
        let http = crate::transfer::client().map_err(|err| tracing::error!(cause = %err, "no HTTP client")).ok();
        let context = Context { events, http, wake: Arc::new(Notify::new()), cache, download_dir, picker };
        Self {
            context,
            tracker: TaskTracker::new(),
            recording: None,
            playback: Arc::new(Mutex::new(None)),
            play_generation: Arc::new(std::sync::atomic::AtomicU64::new(0)),
        }
    }

    /// Stops recording and playing (on quit).
    pub fn shut_down(&mut self) {
        if let Some(recording) = self.recording.take() {
            drop(std::thread::spawn(move || recording.finish()));
        }
        self.stop_playing();
        self.tracker.close();
    }

    pub fn handle(&mut self, command: MediaCmd) {
        let context = self.context.clone();
        match command {
            MediaCmd::Upload { job, access, source, voice } => {
                self.tracker.spawn(async move { fetch::upload(&context, job, access, source, voice).await });
            }
            MediaCmd::Save { job, access, media_id, name, target } => {
                self.tracker.spawn(async move { fetch::save(&context, job, access, media_id, &name, target).await });
            }
            MediaCmd::Open { job, access, media_id, name, opener } => {
                self.tracker.spawn(async move { fetch::open(&context, job, access, media_id, &name, opener).await });
            }
            MediaCmd::LoadImage { access, media_id, cols, rows } => {
                self.tracker.spawn(async move { images::load(&context, access, media_id, cols, rows).await });
            }
            MediaCmd::CompletePath { typed } => {
                self.tracker.spawn(async move {
                    let asked = typed.clone();
                    let done = tokio::task::spawn_blocking(move || paths::complete(&asked)).await;
                    let (completed, choices) = done.unwrap_or_else(|_| (typed.clone(), Vec::new()));
                    context.emit(MediaEvent::PathCompleted { typed, completed, choices }).await;
                });
            }
            MediaCmd::Reconnected => self.context.wake.notify_waiters(),
            MediaCmd::Record { recorder } => self.record(recorder),
            MediaCmd::StopRecording { keep } => self.stop_recording(keep),
            MediaCmd::Play { access, media_id, player } => self.play(access, media_id, player),
            MediaCmd::StopPlaying => self.stop_playing(),
        }
    }

    fn record(&mut self, recorder: Option<Vec<String>>) {
        if let Some(old) = self.recording.take() {
            drop(std::thread::spawn(move || old.finish()));
        }
        let events = self.context.events.clone();
        let report = Box::new(move |event: record::Event| {
            let event = match event {
                record::Event::Started { source } => MediaEvent::RecordingStarted { source },
                record::Event::Level { peak, elapsed_ms } => MediaEvent::RecordingLevel { peak, elapsed_ms },
                record::Event::Capped => MediaEvent::RecordingCapped,
                record::Event::Failed(reason) => MediaEvent::RecordingFailed { reason },
            };
            let _ = events.blocking_send(event);
        });
        let cap = std::time::Duration::from_secs(crate::app::RECORDING_CAP_SECS);
        self.recording = Some(record::start(recorder, cap, report));
    }

    fn stop_recording(&mut self, keep: bool) {
        let Some(recording) = self.recording.take() else { return };
        let context = self.context.clone();
        self.tracker.spawn(async move {
            let dir = context.cache.join("recordings");
            let finished = tokio::task::spawn_blocking(move || encode_recording(recording.finish(), keep, &dir)).await;
            let event = match finished {
                Ok(Ok(Some((path, voice)))) => MediaEvent::Recorded { path, voice },
                Ok(Ok(None)) if !keep => return,
                Ok(Ok(None)) => MediaEvent::RecordingEmpty,
                Ok(Err(reason)) => MediaEvent::RecordingFailed { reason },
                Err(err) => MediaEvent::RecordingFailed { reason: err.to_string() },
            };
            context.emit(event).await;
        });
    }

    fn stop_playing(&mut self) {
        self.play_generation.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        if let Some(playback) = self.playback.lock().ok().and_then(|mut slot| slot.take()) {
            playback.stop();
        }
    }

    fn play(&mut self, access: crate::events::media::Access, media_id: heartlink_protocol::MediaId, player: Option<Vec<String>>) {
        self.stop_playing();
        let generation = self.play_generation.load(std::sync::atomic::Ordering::SeqCst);
        let (context, slot, current) = (self.context.clone(), self.playback.clone(), self.play_generation.clone());
        self.tracker.spawn(async move {
            let failed = |reason: String| MediaEvent::PlayFailed { media_id, reason };
            let path = match fetch::cached(&context, &access, media_id, "voice").await {
                Ok(path) => path,
                Err(reason) => return context.emit(failed(reason)).await,
            };
            let wav = path.with_extension("play.wav");
            let decoded = tokio::task::spawn_blocking(move || -> Result<play::Sound, String> {
                let decoded = audio::decode_file(&path).map_err(|err| err.to_string())?;
                let bytes = audio::encode_wav(&decoded.samples, decoded.rate).map_err(|err| err.to_string())?;
                std::fs::write(&wav, bytes).map_err(|err| format!("writing {}: {err}", wav.display()))?;
                Ok(play::Sound { samples: decoded.samples, rate: decoded.rate, wav })
            })
            .await;
            let sound = match decoded {
                Ok(Ok(sound)) => sound,
                Ok(Err(reason)) => return context.emit(failed(reason)).await,
                Err(err) => return context.emit(failed(err.to_string())).await,
            };
            if current.load(std::sync::atomic::Ordering::SeqCst) != generation {
                return;
            }
            let duration_ms = (sound.samples.len() as u64 * 1000 / u64::from(sound.rate.max(1))) as u32;
            let events = context.events.clone();
            let report = Box::new(move |event: play::Event| {
                let event = match event {
                    play::Event::Started { through } => MediaEvent::PlayStarted { media_id, duration_ms, through },
                    play::Event::Finished => MediaEvent::PlayFinished { media_id },
                    play::Event::Failed(reason) => MediaEvent::PlayFailed { media_id, reason },
                };
                let _ = events.blocking_send(event);
            });
            let playback = play::start(player, sound, report);
            if let Ok(mut slot) = slot.lock() {
                *slot = Some(playback);
            }
        });
    }
}

/// A finished recording as a FLAC file with its duration and waveform, or
/// `None` when it is not kept or too short to send.
fn encode_recording(samples: Vec<i16>, keep: bool, dir: &std::path::Path) -> Result<Option<(PathBuf, VoiceInfo)>, String> {
    if !keep {
        return Ok(None);
    }
    let floats: Vec<f32> = samples.iter().map(|sample| audio::to_f32(*sample)).collect();
    let voice = audio::voice_info(&floats, audio::RECORD_RATE);
    if voice.duration_ms < SHORTEST_RECORDING_MS {
        return Ok(None);
    }
    let flac = audio::encode_flac(&samples, audio::RECORD_RATE).map_err(|err| err.to_string())?;
    crate::config::create_private_dir(dir).map_err(|err| format!("creating {}: {err}", dir.display()))?;
    let stamp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis());
    let path = dir.join(format!("voice-{stamp}.flac"));
    std::fs::write(&path, flac).map_err(|err| format!("writing {}: {err}", path.display()))?;
    Ok(Some((path, voice)))
}
