//! The speaker behind `/play`: the default output device through rodio,
//! or — where there is none — an external player command given a WAV file
//! (`paplay`, `aplay`, `ffplay`, sox's `play`, found on PATH, or the one
//! set in config.toml). Either way playing can be stopped, and the thread
//! says when it started and when it ended.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// The players tried when none is configured and there is no output device;
/// the WAV file's path is added as the last argument.
pub const PLAYERS: &[&[&str]] = &[
    &["paplay"],
    &["aplay", "-q"],
    &["ffplay", "-nodisp", "-autoexit", "-loglevel", "quiet"],
    &["play", "-q"],
];

/// What the playing thread reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Started { through: String },
    Finished,
    Failed(String),
}

/// Playback under way.
#[derive(Debug)]
pub struct Playback {
    stop: Arc<AtomicBool>,
}

impl Playback {
    pub fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// What to play: the samples (for the device) and the same sound as a WAV
/// file (for a player command).
#[derive(Debug, Clone)]
pub struct Sound {
    pub samples: Vec<f32>,
    pub rate: u32,
    pub wav: std::path::PathBuf,
}

/// Plays `sound` through `command` if given, else the output device, else
/// the first player on PATH that works.
pub fn start(command: Option<Vec<String>>, sound: Sound, report: Box<dyn Fn(Event) + Send>) -> Playback {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    std::thread::spawn(move || {
        let mut tried = Vec::new();
        if command.is_none() {
            match device(&sound, &flag, report.as_ref()) {
                Ok(()) => return,
                Err(why) => tried.push(format!("speaker: {why}")),
            }
        }
        let candidates: Vec<Vec<String>> = match command {
            Some(argv) => vec![argv],
            None => PLAYERS.iter().map(|argv| argv.iter().map(|word| (*word).to_owned()).collect()).collect(),
        };
        for argv in candidates {
            match external(&argv, &sound, &flag, report.as_ref()) {
                Ok(()) => return,
                Err(why) => tried.push(why),
            }
        }
        report(Event::Failed(format!("nothing can play sound here — {}", tried.join("; "))));
    });
    Playback { stop }
}

fn device(sound: &Sound, stop: &AtomicBool, report: &dyn Fn(Event)) -> Result<(), String> {
    let (_stream, handle) = rodio::OutputStream::try_default().map_err(|err| err.to_string())?;
    let sink = rodio::Sink::try_new(&handle).map_err(|err| err.to_string())?;
    sink.append(rodio::buffer::SamplesBuffer::new(1, sound.rate, sound.samples.clone()));
    report(Event::Started { through: "the speaker".to_owned() });
    while !sink.empty() && !stop.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(50));
    }
    sink.stop();
    report(Event::Finished);
    Ok(())
}

fn external(argv: &[String], sound: &Sound, stop: &AtomicBool, report: &dyn Fn(Event)) -> Result<(), String> {
    let (program, args) = argv.split_first().ok_or("an empty player command")?;
    let spawned = Command::new(program).args(args).arg(&sound.wav).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped()).spawn();
    let mut child: Child = spawned.map_err(|err| {
        let why = if err.kind() == std::io::ErrorKind::NotFound { "not installed".to_owned() } else { err.to_string() };
        format!("{program}: {why}")
    })?;
    report(Event::Started { through: program.clone() });
    loop {
        if stop.load(Ordering::SeqCst) {
            let _ = child.kill();
            let _ = child.wait();
            report(Event::Finished);
            return Ok(());
        }
        match child.try_wait() {
            Ok(Some(status)) if status.success() => {
                report(Event::Finished);
                return Ok(());
            }
            Ok(Some(_)) => {
                let mut error = String::new();
                if let Some(mut stderr) = child.stderr.take() {
                    let _ = std::io::Read::read_to_string(&mut stderr, &mut error);
                }
                let why = error.lines().rev().find(|line| !line.trim().is_empty()).unwrap_or("it failed").trim().to_owned();
                return Err(format!("{program}: {}", crate::sanitize::sanitize_line(&why)));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(50)),
            Err(err) => return Err(format!("{program}: {err}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// A fake player: a script that keeps a copy of the file it was given and its arguments.
    #[test]
    fn a_player_command_gets_the_sound_as_a_wav_file_and_can_be_stopped() {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("fake-player");
        let kept = dir.path().join("given.wav");
        std::fs::write(&script, format!("#!/bin/sh\necho \"$@\" > '{0}.args'\ncp \"$2\" '{0}'\nsleep \"$1\"\n", kept.display())).unwrap();
        std::os::unix::fs::PermissionsExt::set_mode(&mut std::fs::metadata(&script).unwrap().permissions(), 0o755);
        std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        let samples = vec![0.25f32; 1600];
        let wav = dir.path().join("voice.wav");
        std::fs::write(&wav, crate::audio::encode_wav(&samples, 16_000).unwrap()).unwrap();
        for (pause, stop) in [("0", false), ("30", true)] {
            let events = Arc::new(Mutex::new(Vec::new()));
            let seen = events.clone();
            let command = vec![script.display().to_string(), pause.to_owned()];
            let sound = Sound { samples: samples.clone(), rate: 16_000, wav: wav.clone() };
            let playback = start(Some(command), sound, Box::new(move |event| seen.lock().unwrap().push(event)));
            let deadline = std::time::Instant::now() + Duration::from_secs(10);
            while events.lock().unwrap().len() < 1 + usize::from(!stop) {
                assert!(std::time::Instant::now() < deadline, "{:?}", events.lock().unwrap());
                std::thread::sleep(Duration::from_millis(20));
            }
            if stop {
                while !kept.exists() {
                    std::thread::sleep(Duration::from_millis(20));
                }
                playback.stop();
                while events.lock().unwrap().len() < 2 {
                    assert!(std::time::Instant::now() < deadline, "stopping did not end it");
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
            let name = script.file_name().unwrap().to_string_lossy().into_owned();
            assert_eq!(*events.lock().unwrap(), [Event::Started { through: script.display().to_string() }, Event::Finished], "{name}");
            assert_eq!(std::fs::read(&kept).unwrap(), std::fs::read(&wav).unwrap(), "the player got the sound");
            let args = std::fs::read_to_string(dir.path().join("given.wav.args")).unwrap();
            assert_eq!(args.trim(), format!("{pause} {}", wav.display()));
        }
        let missing = Arc::new(Mutex::new(Vec::new()));
        let seen = missing.clone();
        let sound = Sound { samples, rate: 16_000, wav };
        start(Some(vec!["no-such-player".into()]), sound, Box::new(move |event| seen.lock().unwrap().push(event)));
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while missing.lock().unwrap().is_empty() {
            assert!(std::time::Instant::now() < deadline);
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(*missing.lock().unwrap(), [Event::Failed("nothing can play sound here — no-such-player: not installed".into())]);
    }
}
