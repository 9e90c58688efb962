//! B7's terminal-client peer: weechat (Debian package `weechat-curses`) in
//! a detached tmux pane of the same size as heartlink-tui's, connected to
//! the InspIRCd bed, showing one channel that receives the same 200
//! messages/s with scrollback kept unlimited (a full run publishes for 50 s
//! before measuring, so the buffer holds 10,000 lines). Measured the same
//! way as heartlink-tui: the client process's CPU share from /proc and the
//! display lag from `tmux capture-pane`. weechat logs no redraw times, so
//! its redraw rows stay empty.

use super::tui::{RATE, Watched, tmux, wait_for_screen, watch_pane};
use super::{Bed, Figures, Size};
use crate::servers::Peer;
use crate::tally::Tally;
use crate::toolbox::{Toolbox, say};
use anyhow::{Context, Result, anyhow, bail};
use std::path::Path;
use std::time::Duration;

pub async fn run(tools: &Toolbox, size: Size) -> Result<Vec<Figures>> {
    let weechat = tools.weechat.clone().ok_or_else(|| anyhow!("weechat is not installed (apt-get install -y weechat-curses)"))?;
    let mut runs = Vec::new();
    for round in 0..size.runs {
        let bed = Bed::start(Peer::Inspircd, tools, 0).await?;
        let outcome = one_run(&bed, &weechat, tools, size, round).await;
        bed.finish().await?;
        runs.push(outcome?);
    }
    Ok(runs)
}

async fn one_run(bed: &Bed, weechat: &Path, tools: &Toolbox, size: Size, round: usize) -> Result<Figures> {
    let channel = bed.rooms(1).await?.remove(0);
    let home = bed.server.dir.path().join("weechat");
    std::fs::create_dir_all(&home)?;
    let pane = format!("hlbench-weechat-{}-{round}", std::process::id());
    let script = format!(
        "exec taskset -c {} {} --dir {} --run-command '{}'",
        tools.generator_cpu,
        weechat.display(),
        home.display(),
        startup_commands(bed.target.addr.port(), &channel)
    );
    tmux(&["new-session", "-d", "-s", &pane, "-x", "160", "-y", "50", &script])?;
    let result = measure(bed, &channel, &pane, size).await;
    let _ = tmux(&["kill-session", "-t", &pane]);
    result
}

/// weechat's own commands, run at start: no line limit on the buffer (the
/// scrollback is what is measured), the bed's server without TLS, joined
/// to the channel, which becomes the visible buffer.
fn startup_commands(port: u16, channel: &str) -> String {
    [
        "/set weechat.history.max_buffer_lines_number 0".to_owned(),
        "/set weechat.history.max_buffer_lines_minutes 0".to_owned(),
        "/set weechat.startup.display_logo off".to_owned(),
        format!("/server add bed 127.0.0.1/{port} -notls -nicks=watcher -autojoin={channel}"),
        "/connect bed".to_owned(),
    ]
    .join(";")
}

async fn measure(bed: &Bed, channel: &str, pane: &str, size: Size) -> Result<Figures> {
    let pid: u32 = tmux(&["display-message", "-p", "-t", pane, "#{pane_pid}"])?.trim().parse().context("pane pid")?;
    // The status bar names the channel's buffer once weechat has joined it.
    wait_for_screen(pane, &format!(":{channel}")).await.context("weechat never showed the channel")?;
    // A second listener in the channel counts what the server delivered:
    // IRC has no acks, and weechat's scrollback is the same stream.
    let counted = Tally::default();
    let mut listener = bed.target.connect(2).await?;
    listener.join(channel, None).await?;
    let (_listener_sender, listener_reader) = listener.split(counted.clone());
    let mut publisher = bed.target.connect(1).await?;
    publisher.join(channel, None).await?;
    let (sender, reader) = publisher.split(Tally::default());
    let warmup = Duration::from_secs(size.pick(1, 50));
    let window = Duration::from_secs(size.pick(3, 10));
    let publishing = tokio::spawn(super::fanout::publish(sender, channel.to_owned(), RATE, warmup + window));
    tokio::time::sleep(warmup).await;
    let Watched { client_cpu: share, terminal_cpu, lag } = watch_pane(pane, pid, window).await.context("weechat")?;
    publishing.await.context("publisher")??;
    reader.abort();
    listener_reader.abort();
    let received = counted.snapshot().delivered as f64;
    let summary = lag.summary();
    if summary.count == 0 {
        bail!("no published message ever appeared on weechat's screen");
    }
    say(format!(
        "B7 weechat: CPU {share:.2}% of a core (tmux {terminal_cpu:.2}%), {received:.0} messages in the channel, display lag p50 {:.0} ms, p99 {:.0} ms",
        summary.p50_ms, summary.p99_ms
    ));
    Ok(vec![
        (super::tui::CPU, share),
        (super::tui::TERMINAL_CPU, terminal_cpu),
        (super::tui::SCROLLBACK, received),
        (super::tui::LAG_P50, summary.p50_ms),
        (super::tui::LAG_P99, summary.p99_ms),
    ])
}
