//! Optional per-frame timing, for benchmark B7: with
//! `HEARTLINK_TUI_FRAME_STATS=<file>` set, every redraw appends one line
//! `<unix ms at the end of the frame> <microseconds the draw took>` to the
//! file. Off by default; when on it costs one small write per frame.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The environment variable naming the file.
pub const ENV: &str = "HEARTLINK_TUI_FRAME_STATS";

#[derive(Debug, Default)]
pub struct FrameStats {
    file: Option<File>,
}

impl FrameStats {
    /// Recording if the variable is set and the file opens (a failure is
    /// logged and recording stays off: it must never stop the client).
    pub fn from_env() -> Self {
        let Some(path) = std::env::var_os(ENV) else { return Self::default() };
        match OpenOptions::new().create(true).append(true).open(&path) {
            Ok(file) => Self { file: Some(file) },
            Err(err) => {
                tracing::warn!(cause = %err, path = %path.to_string_lossy(), "cannot open the frame stats file");
                Self::default()
            }
        }
    }

    pub fn record(&mut self, took: Duration) {
        let Some(file) = &mut self.file else { return };
        let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |since| since.as_millis());
        // One write per line, unbuffered, so a reader sees every finished frame.
        if let Err(err) = file.write_all(format!("{now_ms} {}\n", took.as_micros()).as_bytes()) {
            tracing::warn!(cause = %err, "writing frame stats failed; stopped recording them");
            self.file = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_frame_appends_a_timestamped_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("frames");
        let mut stats = FrameStats { file: Some(OpenOptions::new().create(true).append(true).open(&path).unwrap()) };
        stats.record(Duration::from_micros(1234));
        stats.record(Duration::from_millis(2));
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<(u128, u128)> = text
            .lines()
            .map(|line| {
                let (at, took) = line.split_once(' ').unwrap();
                (at.parse().unwrap(), took.parse().unwrap())
            })
            .collect();
        assert_eq!(lines.iter().map(|(_, took)| *took).collect::<Vec<_>>(), [1234, 2000]);
        assert!(lines[0].0 > 1_600_000_000_000, "a Unix time in ms");
        FrameStats::default().record(Duration::from_micros(1)); // off: a no-op
    }
}
