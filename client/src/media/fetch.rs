//! The transfers of the chat screen: an upload (a file, a long paste as a
//! text file, a voice message with its duration and waveform), `/save`
//! into the download directory without overwriting, `/open` through the
//! cache, and fetching a media into the cache for images and playing.

use super::{Context, paths};
use crate::audio;
use crate::events::media::{Access, AsVoice, JobId, MediaEvent, UploadSource, VoiceInfo};
use crate::transfer::{self, Options};
use heartlink_protocol::MediaId;
use std::path::{Path, PathBuf};
use tokio::time::Instant;

fn reporter(context: &Context, job: JobId) -> impl Fn(u64, u64) + Send + Sync + use<> {
    let events = context.events.clone();
    // Progress that finds the channel full is dropped: the next one will do.
    move |done, total| drop(events.try_send(MediaEvent::Progress { job, done, total, at: Instant::now() }))
}

pub(super) async fn upload(context: &Context, job: JobId, access: Access, source: UploadSource, voice: AsVoice) {
    let event = match upload_inner(context, job, access, source, voice).await {
        Ok(event) => event,
        Err(reason) => MediaEvent::Failed { job, reason },
    };
    context.emit(event).await;
}

async fn upload_inner(context: &Context, job: JobId, access: Access, source: UploadSource, voice: AsVoice) -> Result<MediaEvent, String> {
    let path = match source {
        UploadSource::File(path) => paths::expand_home(&path),
        UploadSource::Text { name, text } => {
            let dir = context.cache.join("outgoing");
            crate::config::create_private_dir(&dir).map_err(|err| format!("creating {}: {err}", dir.display()))?;
            let path = dir.join(format!("{job}-{name}"));
            tokio::fs::write(&path, text).await.map_err(|err| format!("writing {}: {err}", path.display()))?;
            path
        }
    };
    let shown = crate::sanitize::sanitize_line(&path.display().to_string());
    let metadata = tokio::fs::metadata(&path).await.map_err(|err| format!("cannot read {shown}: {err}"))?;
    if metadata.is_dir() {
        return Err(format!("{shown} is a directory: name a file"));
    }
    let name = path.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
    let name = name.split_once('-').filter(|(prefix, _)| *prefix == job.to_string() && path.starts_with(&context.cache)).map_or(name.clone(), |(_, rest)| rest.to_owned());
    let (voice, note) = match voice {
        AsVoice::No => (None, None),
        AsVoice::Known(info) => (Some(info), None),
        AsVoice::Analyse => analyse(path.clone(), &name).await,
    };
    let base = transfer::http_base(&access.server).map_err(|err| err.to_string())?;
    let progress = reporter(context, job);
    let options = Options { progress: &progress, retries: None, wake: Some(&context.wake) };
    let media_id = transfer::upload(context.http()?, &base, &access.token, &path, &name, &options).await.map_err(|err| err.to_string())?;
    Ok(MediaEvent::Uploaded { job, media_id, name, size: metadata.len(), voice, note })
}

/// `/voice FILE`: the sound's duration and waveform, or why it goes as a file.
async fn analyse(path: PathBuf, name: &str) -> (Option<VoiceInfo>, Option<String>) {
    let decoded = tokio::task::spawn_blocking(move || audio::decode_file(&path)).await;
    let why = match decoded {
        Ok(Ok(decoded)) => {
            let info = audio::voice_info(&decoded.samples, decoded.rate);
            if info.duration_ms > 0 {
                return (Some(info), None);
            }
            "it holds no sound".to_owned()
        }
        Ok(Err(err)) => err.to_string(),
        Err(err) => err.to_string(),
    };
    (None, Some(format!("{name} is not sound the client can play ({why}): sent as a file")))
}

pub(super) async fn save(context: &Context, job: JobId, access: Access, media_id: MediaId, name: &str, target: Option<PathBuf>) {
    let event = match save_inner(context, job, &access, media_id, target).await {
        Ok((path, bytes)) => MediaEvent::Saved { job, path, bytes },
        Err(reason) => MediaEvent::Failed { job, reason: format!("not saved: {reason}") },
    };
    let _ = name;
    context.emit(event).await;
}

async fn save_inner(context: &Context, job: JobId, access: &Access, media_id: MediaId, target: Option<PathBuf>) -> Result<(PathBuf, u64), String> {
    let target = match target.map(|target| paths::expand_home(&target)) {
        // An existing file is never replaced: the name gets a number.
        Some(path) if path.is_file() => {
            let parent = path.parent().map_or_else(|| PathBuf::from("."), Path::to_path_buf);
            let file = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            transfer::free_name(&parent, &file)
        }
        Some(path) => path,
        None => {
            let dir = context.download_dir.clone();
            tokio::fs::create_dir_all(&dir).await.map_err(|err| format!("creating {}: {err}", dir.display()))?;
            dir
        }
    };
    let base = transfer::http_base(&access.server).map_err(|err| err.to_string())?;
    let progress = reporter(context, job);
    let options = Options { progress: &progress, retries: Some(5), wake: Some(&context.wake) };
    transfer::download(context.http()?, &base, &access.token, media_id, Some(&target), &options).await.map_err(|err| err.to_string())
}

/// A media in the cache (fetched once): `<cache>/media/<id>/<what>`.
pub(super) async fn cached(context: &Context, access: &Access, media_id: MediaId, what: &str) -> Result<PathBuf, String> {
    let dir = context.cache.join("media").join(media_id.to_string());
    let path = dir.join(what);
    if tokio::fs::metadata(&path).await.is_ok_and(|meta| meta.is_file()) {
        return Ok(path);
    }
    crate::config::create_private_dir(&dir).map_err(|err| format!("creating {}: {err}", dir.display()))?;
    let base = transfer::http_base(&access.server).map_err(|err| err.to_string())?;
    let options = Options { progress: &|_, _| {}, retries: Some(5), wake: Some(&context.wake) };
    transfer::download(context.http()?, &base, &access.token, media_id, Some(&path), &options).await.map_err(|err| err.to_string())?;
    Ok(path)
}

pub(super) async fn open(context: &Context, job: JobId, access: Access, media_id: MediaId, name: &str, opener: Vec<String>) {
    // The file keeps its (made safe) name so the opener knows its type.
    let file = transfer::local_name(Some(name), media_id);
    let event = match cached(context, &access, media_id, &file).await {
        Ok(path) => match run_opener(&opener, &path) {
            Ok(()) => MediaEvent::Opened { job, path },
            Err(reason) => MediaEvent::Failed { job, reason },
        },
        Err(reason) => MediaEvent::Failed { job, reason: format!("not opened: {reason}") },
    };
    context.emit(event).await;
}

/// The opener, detached, with the local file as its last argument (no shell).
fn run_opener(opener: &[String], path: &Path) -> Result<(), String> {
    let (program, args) = opener.split_first().ok_or("no opener is set (commands.open)")?;
    let spawned = std::process::Command::new(program)
        .args(args)
        .arg(path)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    match spawned {
        Ok(mut child) => {
            drop(std::thread::spawn(move || child.wait()));
            Ok(())
        }
        Err(err) => Err(format!("could not run {program}: {err} (commands.open in config.toml)")),
    }
}
