//! B7 TUI: the real `heartlink-tui` in a detached tmux pane (160×50),
//! resumed from a session file the bench writes, showing a room that
//! receives 200 messages/s from another user. The room's timeline grows by
//! live delivery (a full run publishes for 50 s before measuring, so the
//! TUI holds 10,000 lines). Measured: the TUI process's CPU share from
//! /proc, and the display lag — how old the newest message visible in
//! `tmux capture-pane` is, sampled every 200 ms (send → on screen,
//! including tmux). The TUI also records how long each redraw takes
//! (`HEARTLINK_TUI_FRAME_STATS`, one line per frame): reported are the
//! redraws in the window and their p50/p99/max duration.

use super::{Bed, Figures, Size};
use crate::latency::{Recorder, now_ns};
use crate::proc_stat::CpuMeter;
use crate::servers::Peer;
use crate::tally::Tally;
use crate::toolbox::{Toolbox, say, which};
use crate::wire::Target;
use anyhow::{Context, Result, anyhow, bail};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

pub const CPU: &str = "b7_cpu_pct";
pub const TERMINAL_CPU: &str = "b7_terminal_cpu_pct";
pub const SCROLLBACK: &str = "b7_scrollback";
pub const LAG_P50: &str = "b7_lag_p50_ms";
pub const LAG_P99: &str = "b7_lag_p99_ms";
pub const REDRAWS: &str = "b7_redraws";
pub const REDRAW_P50: &str = "b7_redraw_p50_ms";
pub const REDRAW_P99: &str = "b7_redraw_p99_ms";
pub const REDRAW_MAX: &str = "b7_redraw_max_ms";

pub(super) const RATE: f64 = 200.0;
/// The variable that makes heartlink-tui log its frame times (see docs/CLIENT.md).
const FRAME_STATS_ENV: &str = "HEARTLINK_TUI_FRAME_STATS";

pub async fn run(peer: Peer, tools: &Toolbox, size: Size) -> Result<Vec<Figures>> {
    // InspIRCd's column is weechat, the terminal client it is compared with.
    if peer == Peer::Inspircd {
        return super::weechat::run(tools, size).await;
    }
    let tui = tools.heartlink_tui.clone().map_err(|why| anyhow!(why))?;
    if which("tmux").is_none() {
        bail!("tmux is not installed (apt-get install -y tmux)");
    }
    let mut runs = Vec::new();
    for round in 0..size.runs {
        let bed = Bed::start(Peer::Heartlink, tools, 2).await?;
        let outcome = one_run(&bed, &tui, tools, size, round).await;
        bed.finish().await?;
        runs.push(outcome?);
    }
    Ok(runs)
}

async fn one_run(bed: &Bed, tui: &Path, tools: &Toolbox, size: Size, round: usize) -> Result<Figures> {
    let room = bed.rooms(1).await?.remove(0);
    let config = bed.server.dir.path().join("tui");
    write_session(&config, bed, &room)?;
    let pane = format!("hlbench-{}-{round}", std::process::id());
    let frames = config.join("frames.txt");
    let script = format!(
        "exec env {}={} taskset -c {} {} --config-dir {} --log-file {}",
        FRAME_STATS_ENV,
        frames.display(),
        tools.generator_cpu,
        tui.display(),
        config.display(),
        config.join("tui.log").display()
    );
    tmux(&["new-session", "-d", "-s", &pane, "-x", "160", "-y", "50", &script])?;
    let result = measure(bed, &room, &pane, &frames, size).await;
    let _ = tmux(&["kill-session", "-t", &pane]);
    result
}

async fn measure(bed: &Bed, room: &str, pane: &str, frames: &Path, size: Size) -> Result<Figures> {
    let pid: u32 = tmux(&["display-message", "-p", "-t", pane, "#{pane_pid}"])?.trim().parse().context("pane pid")?;
    wait_for_screen(pane, "bench room 0").await.context("the TUI never showed the room")?;
    let sender = Target { tokens: vec![bed.target.tokens[1].clone()], ..bed.target.clone() };
    let mut client = sender.connect(1).await?;
    client.join(room, None).await?;
    let tally = Tally::default();
    let (publisher, reader) = client.split(tally.clone());
    let warmup = Duration::from_secs(size.pick(1, 50));
    let window = Duration::from_secs(size.pick(3, 10));
    let publishing = tokio::spawn(super::fanout::publish(publisher, room.to_owned(), RATE, warmup + window));
    tokio::time::sleep(warmup).await;
    let window_from = unix_ms();
    let Watched { client_cpu: share, terminal_cpu, lag } = watch_pane(pane, pid, window).await.context("heartlink-tui")?;
    let redraws = FrameTimes::read(frames, window_from, unix_ms())?;
    publishing.await.context("publisher")??;
    reader.abort();
    let sent = tally.snapshot().acked as f64;
    let summary = lag.summary();
    if summary.count == 0 {
        bail!("no published message ever appeared on the TUI's screen");
    }
    say(format!(
        "B7 heartlink-tui: CPU {share:.2}% of a core (tmux {terminal_cpu:.2}%), {sent:.0} messages received, display lag p50 {:.0} ms, \
         p99 {:.0} ms, {} redraws taking p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
        summary.p50_ms, summary.p99_ms, redraws.count, redraws.p50_ms, redraws.p99_ms, redraws.max_ms
    ));
    Ok(vec![
        (CPU, share),
        (TERMINAL_CPU, terminal_cpu),
        (SCROLLBACK, sent),
        (LAG_P50, summary.p50_ms),
        (LAG_P99, summary.p99_ms),
        (REDRAWS, redraws.count as f64),
        (REDRAW_P50, redraws.p50_ms),
        (REDRAW_P99, redraws.p99_ms),
        (REDRAW_MAX, redraws.max_ms),
    ])
}

/// What [`watch_pane`] saw.
pub(super) struct Watched {
    /// The client process's CPU share, in % of one core.
    pub client_cpu: f64,
    /// The tmux server's CPU share over the same window (the terminal the
    /// client draws into: parsing its output, keeping the pane's grid, and
    /// answering the bench's captures), in % of one core.
    pub terminal_cpu: f64,
    pub lag: Recorder,
}

/// Over `window`: the CPU share of the client process `pid` and of the tmux
/// server, and the display lag of the pane, sampled every 200 ms (the
/// newest send stamp visible in `tmux capture-pane`).
pub(super) async fn watch_pane(pane: &str, pid: u32, window: Duration) -> Result<Watched> {
    let tmux_pid: u32 = tmux(&["display-message", "-p", "-t", pane, "#{pid}"])?.trim().parse().context("tmux server pid")?;
    let terminal = CpuMeter::start(tmux_pid).context("the tmux server is not running")?;
    let cpu = CpuMeter::start(pid).context("the client is not running")?;
    let lag = Recorder::new();
    let started = Instant::now();
    while started.elapsed() < window {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let screen = tmux(&["capture-pane", "-p", "-t", pane])?;
        if let Some(newest) = newest_stamp(&screen) {
            lag.record_since(newest);
        }
    }
    let client_cpu = cpu.share().context("the client exited during the run")? * 100.0;
    let terminal_cpu = terminal.share().context("the tmux server exited during the run")? * 100.0;
    Ok(Watched { client_cpu, terminal_cpu, lag })
}

fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| u64::try_from(since.as_millis()).unwrap_or(u64::MAX))
}

/// The redraws the TUI logged during the window: lines of
/// `<unix ms at the end of the frame> <microseconds>`.
#[derive(Debug, Default, PartialEq)]
struct FrameTimes {
    count: usize,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
}

impl FrameTimes {
    fn read(path: &Path, from_ms: u64, to_ms: u64) -> Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        Ok(Self::parse(&text, from_ms, to_ms))
    }

    fn parse(text: &str, from_ms: u64, to_ms: u64) -> Self {
        let mut micros: Vec<u64> = text
            .lines()
            .filter_map(|line| line.split_once(' '))
            .filter_map(|(at, took)| Some((at.parse::<u64>().ok()?, took.trim().parse::<u64>().ok()?)))
            .filter(|(at, _)| (from_ms..=to_ms).contains(at))
            .map(|(_, took)| took)
            .collect();
        micros.sort_unstable();
        let ms = |q: f64| {
            let index = ((micros.len() as f64 * q).ceil() as usize).saturating_sub(1);
            micros.get(index).map_or(f64::NAN, |us| *us as f64 / 1000.0)
        };
        Self { count: micros.len(), p50_ms: ms(0.5), p99_ms: ms(0.99), max_ms: ms(1.0) }
    }
}

/// The session file the TUI resumes from (mode 0600, like its own).
fn write_session(config: &Path, bed: &Bed, room: &str) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(config)?;
    let session = serde_json::json!({
        "server": format!("ws://{}/ws", bed.target.addr),
        "username": "bench0",
        "token": bed.target.tokens[0],
        "rooms": [room],
    });
    let path = config.join("session.json");
    std::fs::write(&path, session.to_string())?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    Ok(())
}

pub(super) fn tmux(args: &[&str]) -> Result<String> {
    let out = Command::new("tmux").args(args).output().context("running tmux")?;
    if !out.status.success() {
        bail!("tmux {}: {}", args.first().unwrap_or(&""), String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

pub(super) async fn wait_for_screen(pane: &str, text: &str) -> Result<()> {
    for _ in 0..100 {
        if tmux(&["capture-pane", "-p", "-t", pane])?.contains(text) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("{text:?} not on screen after 10 s")
}

/// The largest send stamp visible: bodies start with the generator's clock
/// in nanoseconds, followed by a space and padding.
fn newest_stamp(screen: &str) -> Option<u64> {
    let now = now_ns();
    screen
        .split(|c: char| !c.is_ascii_digit())
        .filter(|digits| digits.len() >= 10)
        .filter_map(|digits| digits.parse::<u64>().ok())
        .filter(|stamp| *stamp <= now)
        .max()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_times_count_only_the_window() {
        let log = "999 5000\n1000 100\n1500 300\nbroken\n1700 200\n2001 9000\n";
        let times = FrameTimes::parse(log, 1000, 2000);
        assert_eq!(times, FrameTimes { count: 3, p50_ms: 0.2, p99_ms: 0.3, max_ms: 0.3 });
        assert_eq!(FrameTimes::parse("", 0, 10).count, 0);
    }
}
