//! B3's layer below: how many durable messages/s the storage under
//! heartlink gives on one core, measured in the same run as B3 so the two
//! can be read side by side. `heartlink-append-load` (bench/append-load) writes
//! batches of 400 (200 rooms × 2, as B3's senders fill a group commit)
//! through heartlink's store, into raw sled two ways, and into a plain
//! file; it runs pinned to the server's CPU while no server runs.

use super::{Figures, Size};
use crate::doc::Results;
use crate::report::{Outcome, median, number};
use crate::servers::Peer;
use crate::toolbox::{Toolbox, say};
use anyhow::{Context, Result, ensure};
use std::fmt::Write as _;

/// Its entry in the run's results (not a section of its own: the table
/// follows B3's).
pub const ID: &str = "B3 floor";

/// Rooms and messages per room in a batch.
const ROOMS: usize = 200;
const PER_ROOM: usize = 2;

/// (metric key, `APPEND_LOAD_RAW`, label)
const MODES: &[(&str, Option<&str>, &str)] = &[
    ("b3_floor_store", None, "a) heartlink's store alone: `Store::append_batch` on a fresh sled data dir"),
    (
        "b3_floor_sled",
        Some("sled"),
        "b) raw sled: two transactional inserts per message (~300 and 16 bytes), one transaction and flush per batch",
    ),
    (
        "b3_floor_sled_per_room",
        Some("sled-per-room"),
        "c) raw sled: one ~600-byte value per room per batch (`room ++ first_seq`), one `apply_batch` and flush per batch",
    ),
    ("b3_floor_file", Some("file"), "d) a plain append-only file: one `write` of the batch (400 × 300 bytes) and one `fdatasync` per batch"),
];

/// Each mode for ~2.5 s (0.3 s quick), `size.runs` times.
pub async fn run(tools: &Toolbox, size: Size) -> Result<Vec<Figures>> {
    let example = tools.append_load.as_ref().map_err(|why| anyhow::anyhow!("{why}"))?;
    let seconds = size.pick(0.3, 2.5);
    let mut runs = Vec::new();
    for _ in 0..size.runs {
        let mut figures = Vec::new();
        for (key, mode, _) in MODES {
            let rate = run_mode(tools, example, *mode, seconds).await?;
            say(format!("B3 floor {}: {rate:.0} messages/s", mode.unwrap_or("store")));
            figures.push((*key, rate));
        }
        runs.push(figures);
    }
    Ok(runs)
}

/// One run of `heartlink-append-load` in `mode` on the server's CPU: messages/s.
async fn run_mode(tools: &Toolbox, example: &std::path::Path, mode: Option<&str>, seconds: f64) -> Result<f64> {
    let name = mode.unwrap_or("store");
    let mut command = tokio::process::Command::new("taskset");
    command.arg("-c").arg(tools.server_cpu.to_string()).arg(example);
    // The batch count is only a bound: the time limit ends the run.
    command.args(["1000000", &ROOMS.to_string(), &PER_ROOM.to_string(), "1"]);
    command.env("APPEND_LOAD_SECONDS", seconds.to_string()).env_remove("APPEND_LOAD_RAW");
    if let Some(mode) = mode {
        command.env("APPEND_LOAD_RAW", mode);
    }
    // Its error, not a backtrace, is what the report should say.
    command.env("RUST_LIB_BACKTRACE", "0").env("RUST_BACKTRACE", "0");
    command.stdin(std::process::Stdio::null()).kill_on_drop(true);
    let out = command.output().await.with_context(|| format!("running append_load ({name})"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    ensure!(
        out.status.success(),
        "append_load ({name}) exited with {}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr).trim()
    );
    parse_rate(&stdout, name).with_context(|| format!("append_load ({name}) printed {:?}", stdout.trim()))
}

/// The rate in the line `MODE: N messages in B batches: S s, R messages/s`.
fn parse_rate(stdout: &str, mode: &str) -> Result<f64> {
    let line = stdout.lines().find(|line| line.starts_with(&format!("{mode}: "))).context("no result line")?;
    let rate = line.strip_suffix(" messages/s").and_then(|rest| rest.rsplit(' ').next()).context("no messages/s")?;
    let rate: f64 = rate.parse().context("messages/s is not a number")?;
    ensure!(rate > 0.0, "no messages stored");
    Ok(rate)
}

/// The table under B3's: each floor beside B3's acked messages/s, if the
/// floor ran.
pub fn table(results: &Results) -> Option<String> {
    let (_, outcomes) = results.iter().find(|(id, _)| *id == ID)?;
    let (_, outcome) = outcomes.first()?;
    let mut out = String::from(
        "\nThe layer below, in the same run: `heartlink-append-load` pinned to the server's CPU while no \
         server runs, ~2.5 s per line (0.3 s quick).\n\n",
    );
    out.push_str("| B3 layer below: durable messages/s, one core, batches of 400 (200 rooms × 2) | msgs/s |\n|---|---:|\n");
    for (key, _, label) in MODES {
        let cell = match outcome {
            Outcome::Ran(runs) => median(runs, key).map_or("–".to_owned(), |v| format!("{}/s", number(v, 0))),
            Outcome::NotApplicable(why) => format!("n/a: {why}"),
            Outcome::Failed(why) => format!("**failed**: {why}"),
        };
        let _ = writeln!(out, "| {label} | {cell} |");
    }
    let b3 = results.iter().find(|(id, _)| *id == "B3").and_then(|(_, outcomes)| {
        outcomes.iter().find_map(|(peer, outcome)| match (peer, outcome) {
            (Peer::Heartlink, Outcome::Ran(runs)) => median(runs, super::durable::ACKED),
            _ => None,
        })
    });
    let b3 = b3.map_or("–".to_owned(), |v| format!("{}/s", number(v, 0)));
    let _ = writeln!(out, "| heartlink B3 (above): acked messages/s through the socket, same run | {b3} |");
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::parse_rate;

    #[test]
    fn reads_the_rate_of_its_mode() {
        let out = "sled-per-room: 80000 messages in 200 batches: 0.301 s, 265780 messages/s\n";
        assert_eq!(parse_rate(out, "sled-per-room").unwrap(), 265_780.0);
        assert!(parse_rate(out, "sled").is_err());
        assert!(parse_rate("store: 0 messages in 0 batches: 0.000 s, NaN messages/s", "store").is_err());
    }
}
