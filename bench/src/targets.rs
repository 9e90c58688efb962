//! The goals the run is judged against, with met/missed: issue 5's first
//! targets and round 2's (issue 17). A goal reads one of heartlink's figures
//! or heartlink's figure against a peer's from the same run.

use crate::doc::Results;
use crate::report::{Outcome, median, number};
use crate::servers::Peer;
use std::fmt::Write as _;

/// What a goal compares.
#[derive(Debug, Clone, Copy)]
enum Figure {
    /// heartlink's median of this key.
    Ours(&'static str),
    /// heartlink's median ÷ the peer's median of the same key.
    RatioTo(Peer, &'static str),
}

#[derive(Debug, Clone, Copy)]
enum Cmp {
    AtMost,
    AtLeast,
    Below,
}

/// (scenario, figure, description, comparison, threshold)
type Goal = (&'static str, Figure, &'static str, Cmp, f64);

const ISSUE_5: &[Goal] = &[
    ("B1", Figure::Ours("b1_rss_per_conn_kib"), "≤ 5 KiB server memory per idle connection at 10k", Cmp::AtMost, 5.0),
    ("B2", Figure::Ours("b2_100_max20"), "room of 100: ≥ 800,000 deliveries/s with p99 ≤ 20 ms", Cmp::AtLeast, 800_000.0),
    ("B3", Figure::Ours("b3_acked_per_sec"), "≥ 50,000 durable acked messages/s", Cmp::AtLeast, 50_000.0),
    ("B3", Figure::Ours("b3_ack_p99_ms"), "ack p99 ≤ 10 ms", Cmp::AtMost, 10.0),
    ("B4", Figure::Ours("b4_catchup_ms"), "1,000 missed messages caught up in ≤ 20 ms", Cmp::AtMost, 20.0),
    ("B5", Figure::Ours("b5_page_p99_ms"), "history page p99 ≤ 1 ms", Cmp::AtMost, 1.0),
    ("B6", Figure::Ours("b6_connects_per_sec"), "≥ 5,000 connects/s", Cmp::AtLeast, 5_000.0),
    ("B7", Figure::Ours("b7_cpu_pct"), "the TUI under 5% of a core", Cmp::Below, 5.0),
    ("B8", Figure::Ours("b8_upload_vs_disk"), "upload within 80% of the disk's fsync'd write rate", Cmp::AtLeast, 0.8),
    ("B8", Figure::Ours("b8_download_vs_static"), "download within 80% of a static file server's rate", Cmp::AtLeast, 0.8),
];

const ROUND_2: &[Goal] = &[
    ("B1", Figure::Ours("b1_rss_per_conn_kib"), "≤ 2.5 KiB server memory per idle connection at 10k", Cmp::AtMost, 2.5),
    ("B1", Figure::RatioTo(Peer::Inspircd, "b1_rss_per_conn_kib"), "below InspIRCd's memory per idle connection (heartlink ÷ InspIRCd)", Cmp::Below, 1.0),
    (
        "B2",
        Figure::RatioTo(Peer::Ceiling, "b2_100_max50"),
        "room of 100: ≥ 95% of the ceiling's deliveries/s at p99 ≤ 50 ms, sweep to 1.6 M offered (heartlink ÷ ceiling)",
        Cmp::AtLeast,
        0.95,
    ),
    ("B3", Figure::Ours("b3_acked_per_sec"), "≥ 60,000 durable acked messages/s", Cmp::AtLeast, 60_000.0),
    ("B3", Figure::Ours("b3_paced_ack_p99_ms"), "ack p99 ≤ 10 ms at 20,000 sends/s offered", Cmp::AtMost, 10.0),
    ("B7", Figure::Ours("b7_cpu_pct"), "the TUI at ≤ 3% of a core", Cmp::AtMost, 3.0),
    ("B7", Figure::RatioTo(Peer::Inspircd, "b7_cpu_pct"), "the TUI at most weechat's CPU (heartlink-tui ÷ weechat)", Cmp::AtMost, 1.0),
    ("B7", Figure::Ours("b7_redraw_p99_ms"), "redraw p99 ≤ 8 ms", Cmp::AtMost, 8.0),
];

/// Both targets tables.
pub fn render(results: &Results) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "## Targets (issue 5)\n");
    out.push_str(&table(results, ISSUE_5));
    let _ = writeln!(out, "\n## Targets, round 2 (issue 17)\n");
    out.push_str(&table(results, ROUND_2));
    out
}

fn table(results: &Results, goals: &[Goal]) -> String {
    let mut out = String::from("| target | heartlink | met? |\n|---|---:|---|\n");
    for (scenario, figure, text, cmp, threshold) in goals {
        let value = match figure {
            Figure::Ours(key) => value(results, scenario, Peer::Heartlink, key),
            Figure::RatioTo(peer, key) => match (value(results, scenario, Peer::Heartlink, key), value(results, scenario, *peer, key)) {
                (Some(ours), Some(theirs)) if theirs != 0.0 => Some(ours / theirs),
                _ => None,
            },
        };
        let (shown, verdict) = match value {
            Some(v) => {
                let met = match cmp {
                    Cmp::AtMost => v <= *threshold,
                    Cmp::AtLeast => v >= *threshold,
                    Cmp::Below => v < *threshold,
                };
                (number(v, 2), if met { "met" } else { "**missed**" })
            }
            None => ("–".to_owned(), "not measured"),
        };
        let _ = writeln!(out, "| {scenario}: {text} | {shown} | {verdict} |");
    }
    out
}

fn value(results: &Results, scenario: &str, peer: Peer, key: &str) -> Option<f64> {
    let (_, outcomes) = results.iter().find(|(id, _)| *id == scenario)?;
    match &outcomes.iter().find(|(p, _)| *p == peer)?.1 {
        Outcome::Ran(runs) => median(runs, key),
        _ => None,
    }
}
