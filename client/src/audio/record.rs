//! The microphone behind `/voice`: the default input device through cpal
//! (ALSA), or — where there is none, as on servers and CI — an external
//! recorder command that writes raw mono 16-bit little-endian PCM at
//! 16 kHz to standard output (`arecord`, `sox`, `ffmpeg`, found on PATH, or
//! the one set in config.toml). Either way the samples arrive at 16 kHz
//! mono, a level is reported ten times a second, and recording stops at
//! the cap. Runs on its own thread (a cpal stream cannot move between threads).

use super::RECORD_RATE;
use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How often the level meter moves.
const LEVEL_EVERY: Duration = Duration::from_millis(100);
/// An external recorder that dies within this long did not work.
const STARTUP_GRACE: Duration = Duration::from_millis(400);

/// The recorders tried when none is configured, in order, after the microphone.
pub const RECORDERS: &[&[&str]] = &[
    &["arecord", "-q", "-t", "raw", "-f", "S16_LE", "-c", "1", "-r", "16000", "-"],
    &["sox", "-q", "-d", "-t", "raw", "-b", "16", "-e", "signed-integer", "-c", "1", "-r", "16000", "-"],
    &["ffmpeg", "-loglevel", "error", "-f", "alsa", "-i", "default", "-f", "s16le", "-ac", "1", "-ar", "16000", "-"],
];

/// What the recording thread reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Recording from `source` (the device's or the command's name).
    Started { source: String },
    /// The loudest sample of the last tenth of a second (0–255), and the time recorded.
    Level { peak: u8, elapsed_ms: u32 },
    /// The cap was reached: recording stopped, the samples are kept.
    Capped,
    /// Nothing could record; the text says what was tried and why it failed.
    Failed(String),
}

/// A recording under way.
#[derive(Debug)]
pub struct Recording {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<Vec<i16>>,
}

impl Recording {
    /// Stops (if still recording) and returns the samples: 16 kHz mono. Blocks briefly.
    pub fn finish(self) -> Vec<i16> {
        self.stop.store(true, Ordering::SeqCst);
        self.thread.join().unwrap_or_default()
    }
}

/// Starts recording: from `command` if given, else the microphone, else
/// the first recorder on PATH that works. Stops by itself after `limit`.
pub fn start(command: Option<Vec<String>>, limit: Duration, report: Box<dyn Fn(Event) + Send>) -> Recording {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let thread = std::thread::spawn(move || record(command, limit, &flag, report.as_ref()));
    Recording { stop, thread }
}

fn record(command: Option<Vec<String>>, limit: Duration, stop: &AtomicBool, report: &dyn Fn(Event)) -> Vec<i16> {
    let mut tried = Vec::new();
    let mut source = match command {
        Some(argv) => match Source::command(&argv) {
            Ok(source) => Some(source),
            Err(why) => {
                tried.push(why);
                None
            }
        },
        None => Source::microphone().or_else(|why| {
            tried.push(format!("microphone: {why}"));
            RECORDERS.iter().find_map(|argv| {
                let argv: Vec<String> = argv.iter().map(|word| (*word).to_owned()).collect();
                Source::command(&argv).map_err(|why| tried.push(why)).ok()
            }).ok_or(())
        }).ok(),
    };
    let Some(mut source) = source.take() else {
        report(Event::Failed(format!("nothing can record here — {}", tried.join("; "))));
        return Vec::new();
    };
    report(Event::Started { source: source.name.clone() });
    let started = Instant::now();
    let mut reported = 0;
    loop {
        std::thread::sleep(LEVEL_EVERY / 2);
        let (len, peak) = source.peak_since(reported);
        let elapsed = started.elapsed();
        if len >= reported + (RECORD_RATE as usize / 10) || stop.load(Ordering::SeqCst) {
            reported = len;
            let elapsed_ms = (len as u64 * 1000 / u64::from(RECORD_RATE)) as u32;
            report(Event::Level { peak: (u32::from(peak) * 255 / 32768) as u8, elapsed_ms });
        }
        if stop.load(Ordering::SeqCst) {
            break;
        }
        if len as u64 >= u64::from(RECORD_RATE) * limit.as_secs() || elapsed > limit + Duration::from_secs(5) {
            report(Event::Capped);
            break;
        }
        if source.ended() {
            break;
        }
    }
    let mut samples = source.finish();
    samples.truncate((u64::from(RECORD_RATE) * limit.as_secs()) as usize);
    samples
}

/// Where samples come from: a cpal stream or a child process.
struct Source {
    name: String,
    buffer: Arc<Mutex<Vec<i16>>>,
    stream: Option<cpal::Stream>,
    child: Option<Child>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Source {
    /// How many samples there are, and the loudest after the first `from`.
    fn peak_since(&self, from: usize) -> (usize, u16) {
        let Ok(buffer) = self.buffer.lock() else { return (from, 0) };
        let peak = buffer.get(from..).unwrap_or_default().iter().map(|s| s.unsigned_abs()).max().unwrap_or(0);
        (buffer.len(), peak)
    }

    fn samples(&self) -> Vec<i16> {
        self.buffer.lock().map(|buffer| buffer.clone()).unwrap_or_default()
    }

    /// Whether an external recorder stopped by itself.
    fn ended(&mut self) -> bool {
        self.child.as_mut().is_some_and(|child| child.try_wait().ok().flatten().is_some())
    }

    fn finish(mut self) -> Vec<i16> {
        drop(self.stream.take());
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        self.samples()
    }

    fn microphone() -> Result<Self, String> {
        let host = cpal::default_host();
        let device = host.default_input_device().ok_or("no input device")?;
        let config = device.default_input_config().map_err(|err| err.to_string())?;
        let channels = usize::from(config.channels()).max(1);
        let rate = config.sample_rate().0;
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let stream_config: cpal::StreamConfig = config.clone().into();
        let stream = match config.sample_format() {
            cpal::SampleFormat::F32 => build::<f32>(&device, &stream_config, channels, rate, buffer.clone()),
            cpal::SampleFormat::I16 => build::<i16>(&device, &stream_config, channels, rate, buffer.clone()),
            cpal::SampleFormat::U16 => build::<u16>(&device, &stream_config, channels, rate, buffer.clone()),
            other => return Err(format!("the input's sample format {other} is not supported")),
        }
        .map_err(|err| err.to_string())?;
        stream.play().map_err(|err| err.to_string())?;
        let name = device.name().unwrap_or_else(|_| "the microphone".to_owned());
        Ok(Self { name, buffer, stream: Some(stream), child: None, reader: None })
    }

    fn command(argv: &[String]) -> Result<Self, String> {
        let (program, args) = argv.split_first().ok_or("an empty recorder command")?;
        let spawned = Command::new(program).args(args).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn();
        let mut child = spawned.map_err(|err| format!("{program}: {}", if err.kind() == std::io::ErrorKind::NotFound { "not installed".to_owned() } else { err.to_string() }))?;
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let mut stdout = child.stdout.take().ok_or("no output")?;
        let sink = buffer.clone();
        let reader = std::thread::spawn(move || {
            let mut bytes = [0u8; 3200];
            let mut odd: Option<u8> = None;
            while let Ok(read) = stdout.read(&mut bytes) {
                if read == 0 {
                    break;
                }
                let mut data: Vec<u8> = odd.take().into_iter().collect();
                data.extend_from_slice(&bytes[..read]);
                if data.len() % 2 == 1 {
                    odd = data.pop();
                }
                if let Ok(mut buffer) = sink.lock() {
                    buffer.extend(data.chunks_exact(2).map(|pair| i16::from_le_bytes([pair[0], pair[1]])));
                }
            }
        });
        // A recorder that cannot open its device dies at once, saying why.
        let deadline = Instant::now() + STARTUP_GRACE;
        let mut reader = Some(reader);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = child.try_wait() {
                if let Some(reader) = reader.take() {
                    let _ = reader.join();
                }
                let has_sound = buffer.lock().map(|buffer| !buffer.is_empty()).unwrap_or(false);
                if has_sound && status.success() {
                    break;
                }
                let mut error = String::new();
                if let Some(mut stderr) = child.stderr.take() {
                    let _ = stderr.read_to_string(&mut error);
                }
                let why = error.lines().rev().find(|line| !line.trim().is_empty()).unwrap_or("it stopped at once").trim().to_owned();
                return Err(format!("{program}: {}", crate::sanitize::sanitize_line(&why)));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        drop(child.stderr.take());
        Ok(Self { name: program.clone(), buffer, stream: None, child: Some(child), reader })
    }
}

/// A cpal input stream that mixes to mono and brings the rate to 16 kHz.
fn build<T>(device: &cpal::Device, config: &cpal::StreamConfig, channels: usize, rate: u32, buffer: Arc<Mutex<Vec<i16>>>) -> Result<cpal::Stream, cpal::BuildStreamError>
where
    T: cpal::SizedSample,
    f32: cpal::FromSample<T>,
{
    let mut resampler = Resampler::new(rate, RECORD_RATE);
    device.build_input_stream(
        config,
        move |data: &[T], _: &cpal::InputCallbackInfo| {
            let mut out = Vec::with_capacity(data.len() / channels);
            for frame in data.chunks(channels) {
                let mono = frame.iter().map(|sample| <f32 as cpal::FromSample<T>>::from_sample_(*sample)).sum::<f32>() / channels as f32;
                resampler.push(mono, &mut out);
            }
            if let Ok(mut buffer) = buffer.lock() {
                buffer.extend(out.into_iter().map(super::to_i16));
            }
        },
        |err| tracing::warn!(cause = %err, "the microphone reported an error"),
        None,
    )
}

/// Averages input samples over each output sample's span (a box filter,
/// enough for speech) — or repeats them when the input rate is lower.
struct Resampler {
    step: f64,
    edge: f64,
    position: f64,
    sum: f32,
    count: u32,
}

impl Resampler {
    fn new(from: u32, to: u32) -> Self {
        let step = f64::from(from.max(1)) / f64::from(to.max(1));
        Self { step, edge: step, position: 0.0, sum: 0.0, count: 0 }
    }

    fn push(&mut self, sample: f32, out: &mut Vec<f32>) {
        self.sum += sample;
        self.count += 1;
        self.position += 1.0;
        while self.position >= self.edge {
            out.push(self.sum / self.count.max(1) as f32);
            self.edge += self.step;
            if self.position >= self.edge {
                continue;
            }
            self.sum = 0.0;
            self.count = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resampling_keeps_the_duration() {
        for from in [8_000, 16_000, 44_100, 48_000] {
            let mut resampler = Resampler::new(from, RECORD_RATE);
            let mut out = Vec::new();
            for _ in 0..from {
                resampler.push(0.5, &mut out);
            }
            assert!((out.len() as i64 - i64::from(RECORD_RATE)).abs() <= 1, "{from}: {}", out.len());
            assert!(out.iter().all(|s| (s - 0.5).abs() < 1e-4));
        }
    }

    /// A fake recorder: a command that writes a known stretch of PCM and then waits to be stopped.
    #[test]
    fn an_external_recorder_command_is_read_with_levels_until_stopped() {
        let dir = tempfile::tempdir().unwrap();
        let raw = dir.path().join("sound.raw");
        let samples: Vec<i16> = (0..RECORD_RATE).map(|i| if i < RECORD_RATE / 2 { 0 } else { 16_000 }).collect();
        std::fs::write(&raw, samples.iter().flat_map(|s| s.to_le_bytes()).collect::<Vec<u8>>()).unwrap();
        let script = format!("cat '{}'; sleep 30", raw.display());
        let events = Arc::new(Mutex::new(Vec::new()));
        let seen = events.clone();
        let command = vec!["sh".to_owned(), "-c".to_owned(), script];
        let recording = start(Some(command), Duration::from_secs(300), Box::new(move |event| seen.lock().unwrap().push(event)));
        let deadline = Instant::now() + Duration::from_secs(10);
        while !events.lock().unwrap().iter().any(|e| matches!(e, Event::Level { elapsed_ms: 1000, .. })) {
            assert!(Instant::now() < deadline, "{:?}", events.lock().unwrap());
            std::thread::sleep(Duration::from_millis(20));
        }
        let recorded = recording.finish();
        assert_eq!(recorded, samples);
        let events = events.lock().unwrap();
        assert_eq!(events[0], Event::Started { source: "sh".into() });
        assert!(events.iter().any(|e| matches!(e, Event::Level { peak, .. } if *peak > 100)), "{events:?}");
    }

    #[test]
    fn a_recorder_that_cannot_record_says_why_in_one_line() {
        let events = Arc::new(Mutex::new(Vec::new()));
        let seen = events.clone();
        let command = vec!["sh".to_owned(), "-c".to_owned(), "echo 'audio open error: No such device' >&2; exit 1".to_owned()];
        let samples = start(Some(command), Duration::from_secs(300), Box::new(move |event| seen.lock().unwrap().push(event))).finish();
        assert!(samples.is_empty());
        assert_eq!(*events.lock().unwrap(), [Event::Failed("nothing can record here — sh: audio open error: No such device".into())]);
        let missing = vec!["no-such-recorder-here".to_owned()];
        let events = Arc::new(Mutex::new(Vec::new()));
        let seen = events.clone();
        start(Some(missing), Duration::from_secs(1), Box::new(move |event| seen.lock().unwrap().push(event))).finish();
        assert_eq!(*events.lock().unwrap(), [Event::Failed("nothing can record here — no-such-recorder-here: not installed".into())]);
    }
}
