//! The results of a run and the markdown they become: one table per
//! scenario with heartlink beside every peer and the ratio, the targets of
//! issue 5 with met/missed, and the machine the figures came from.

use crate::scenarios::Figures;
use crate::servers::Peer;

/// What a scenario produced for one peer.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// One set of figures per run.
    Ran(Vec<Figures>),
    /// The peer cannot do this scenario (or is not installed), and why.
    NotApplicable(String),
    /// The run failed: a crash or an error. Fails the bench.
    Failed(String),
}

/// A reported figure.
#[derive(Debug)]
pub struct Metric {
    pub key: &'static str,
    pub label: &'static str,
    /// Printed after the value; also says which way is better.
    pub unit: &'static str,
    pub decimals: usize,
}

const fn m(key: &'static str, label: &'static str, unit: &'static str, decimals: usize) -> Metric {
    Metric { key, label, unit, decimals }
}

/// A scenario's section in the report.
#[derive(Debug)]
pub struct Section {
    pub id: &'static str,
    pub title: &'static str,
    pub metrics: &'static [Metric],
}

pub const SECTIONS: &[Section] = &[
    Section {
        id: "B1",
        title: "B1 idle memory: authenticated connections joined to rooms",
        metrics: &[
            m("b1_connections", "connections held", "", 0),
            m("b1_rss_per_conn_kib", "server RSS per connection (lower is better)", " KiB", 2),
            m("b1_idle_cpu_pct", "server CPU while idle (lower is better)", " %", 2),
            m("b1_open_rate", "connections opened (connect+auth+join) per second, 200 in parallel", "/s", 0),
        ],
    },
    Section {
        id: "B2",
        title: "B2 fan-out: one publisher per room, paced, load doubled per step (full runs: ¼× to 16× of the fixed load, 12× between 8× and 16×)",
        metrics: &[
            m("b2_2_max50", "rooms of 2: deliveries/s at p99 ≤ 50 ms (higher is better)", "/s", 0),
            m("b2_2_p50", "rooms of 2 at 10k deliveries/s offered: p50", " ms", 2),
            m("b2_2_p99", "rooms of 2 at 10k deliveries/s offered: p99", " ms", 2),
            m("b2_100_max50", "room of 100: deliveries/s at p99 ≤ 50 ms (higher is better)", "/s", 0),
            m("b2_100_max20", "room of 100: deliveries/s at p99 ≤ 20 ms (higher is better)", "/s", 0),
            m("b2_100_p50", "room of 100 at 100k deliveries/s offered: p50", " ms", 2),
            m("b2_100_p99", "room of 100 at 100k deliveries/s offered: p99", " ms", 2),
            m("b2_1000_max50", "room of 1,000: deliveries/s at p99 ≤ 50 ms (higher is better)", "/s", 0),
            m("b2_1000_p50", "room of 1,000 at 100k deliveries/s offered: p50", " ms", 2),
            m("b2_1000_p99", "room of 1,000 at 100k deliveries/s offered: p99", " ms", 2),
        ],
    },
    Section {
        id: "B3",
        title: "B3 durable throughput: closed-loop senders (200, or 100 quick), 4 sends in flight each; then the same senders paced at 20,000 sends/s in total",
        metrics: &[
            m("b3_acked_per_sec", "acked messages/s (higher is better)", "/s", 0),
            m("b3_ack_p50_ms", "ack latency p50", " ms", 2),
            m("b3_ack_p99_ms", "ack latency p99", " ms", 2),
            m("b3_paced_acked_per_sec", "paced senders, 20,000 sends/s offered in total: acked messages/s", "/s", 0),
            m("b3_paced_ack_p50_ms", "paced, 20,000/s offered: ack latency p50", " ms", 2),
            m("b3_paced_ack_p99_ms", "paced, 20,000/s offered: ack latency p99", " ms", 2),
        ],
    },
    Section {
        id: "B4",
        title: "B4 catch-up: 1,000 missed messages, rejoin with since",
        metrics: &[
            m("b4_catchup_ms", "join{since} until all 1,000 held (median of rounds)", " ms", 2),
            m("b4_reconnect_catchup_ms", "the same including reconnect + resume", " ms", 2),
        ],
    },
    Section {
        id: "B5",
        title: "B5 history: random pages of 50 from a filled store",
        metrics: &[
            m("b5_messages_stored", "messages in the store (filled through the socket)", "", 0),
            m("b5_fill_per_sec", "fill rate (acked messages/s, 100 senders)", "/s", 0),
            m("b5_page_p50_ms", "page latency p50", " ms", 3),
            m("b5_page_p99_ms", "page latency p99", " ms", 3),
        ],
    },
    Section {
        id: "B6",
        title: "B6 churn: connect + handshake + auth + join + close, 64 workers",
        metrics: &[
            m("b6_connects_per_sec", "cycles per second (higher is better)", "/s", 0),
            m("b6_cycles", "cycles completed", "", 0),
            m("b6_rss_before_kib", "server RSS before", " KiB", 0),
            m("b6_rss_after_kib", "server RSS after the churn", " KiB", 0),
        ],
    },
    Section {
        id: "B7",
        title: "B7 TUI: the terminal client showing a room that receives 200 messages/s (heartlink-tui; weechat on InspIRCd)",
        metrics: &[
            m("b7_cpu_pct", "client CPU (share of one core, lower is better)", " %", 2),
            m("b7_terminal_cpu_pct", "the terminal under it: tmux server CPU over the same window (incl. the bench's captures every 200 ms)", " %", 2),
            m("b7_scrollback", "messages in the room's timeline (channel's buffer) by the end", "", 0),
            m("b7_lag_p50_ms", "display lag p50 (send → visible in tmux capture)", " ms", 0),
            m("b7_lag_p99_ms", "display lag p99", " ms", 0),
            m("b7_redraws", "redraws during the measurement window", "", 0),
            m("b7_redraw_p50_ms", "redraw time p50 (terminal.draw, logged by the TUI)", " ms", 2),
            m("b7_redraw_p99_ms", "redraw time p99", " ms", 2),
            m("b7_redraw_max_ms", "redraw time max", " ms", 2),
        ],
    },
    Section {
        id: "B8",
        title: "B8 attachments: a large file uploaded (tus) and downloaded over loopback, beside the machine's limits",
        metrics: &[
            m("b8_file_mib", "file size", " MiB", 0),
            m("b8_upload_mib_s", "upload: one PATCH, fsync'd and completed before its answer (higher is better)", " MiB/s", 0),
            m("b8_disk_fsync_mib_s", "same disk: dd bs=1M conv=fsync", " MiB/s", 0),
            m("b8_upload_vs_disk", "upload ÷ dd", "", 2),
            m("b8_download_mib_s", "download, GET /media/<id> (higher is better)", " MiB/s", 0),
            m("b8_static_mib_s", "same file from python3 -m http.server", " MiB/s", 0),
            m("b8_download_vs_static", "download ÷ http.server", "", 2),
            m("b8_rss_growth_small_kib", "server RSS growth during a transfer a tenth the size", " KiB", 0),
            m("b8_rss_growth_large_kib", "server RSS growth during the large transfers (lower is better)", " KiB", 0),
        ],
    },
];

/// The median over runs of `key`, if every run has it.
pub fn median(runs: &[Figures], key: &str) -> Option<f64> {
    let mut values: Vec<f64> = runs.iter().filter_map(|run| run.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)).collect();
    if values.is_empty() {
        return None;
    }
    Some(crate::scenarios::catchup::median(&mut values))
}

/// Formats `value` with thousands separators.
pub fn number(value: f64, decimals: usize) -> String {
    if !value.is_finite() {
        return "–".to_owned();
    }
    let text = format!("{value:.decimals$}");
    let (int, frac) = text.split_once('.').map_or((text.as_str(), None), |(i, f)| (i, Some(f)));
    let (sign, digits) = int.strip_prefix('-').map_or(("", int), |d| ("-", d));
    let mut grouped = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    match frac {
        Some(frac) => format!("{sign}{grouped}.{frac}"),
        None => format!("{sign}{grouped}"),
    }
}

/// One scenario's table.
pub fn table(section: &Section, outcomes: &[(Peer, Outcome)]) -> String {
    let heartlink = outcomes.iter().find(|(p, _)| *p == Peer::Heartlink).map(|(_, o)| o);
    let mut out = String::from("| figure |");
    let mut rule = String::from("|---|");
    for (peer, _) in outcomes {
        out.push_str(&format!(" {} |", peer.name()));
        rule.push_str("---:|");
        if *peer != Peer::Heartlink {
            out.push_str(&format!(" heartlink ÷ {} |", short(*peer)));
            rule.push_str("---:|");
        }
    }
    out.push('\n');
    out.push_str(&rule);
    out.push('\n');
    for metric in section.metrics {
        out.push_str(&format!("| {} |", metric.label));
        let ours = match heartlink {
            Some(Outcome::Ran(runs)) => median(runs, metric.key),
            _ => None,
        };
        for (peer, outcome) in outcomes {
            let value = match outcome {
                Outcome::Ran(runs) => median(runs, metric.key),
                _ => None,
            };
            let cell = match (outcome, value) {
                (Outcome::Ran(_), Some(v)) => format!("{}{}", number(v, metric.decimals), metric.unit),
                (Outcome::Ran(_), None) => "–".to_owned(),
                (Outcome::NotApplicable(why), _) => format!("n/a: {why}"),
                (Outcome::Failed(why), _) => format!("**failed**: {why}"),
            };
            out.push_str(&format!(" {cell} |"));
            if *peer != Peer::Heartlink {
                let ratio = match (ours, value) {
                    (Some(a), Some(b)) if b != 0.0 && !metric.unit.is_empty() => format!("{:.2}×", a / b),
                    _ => "–".to_owned(),
                };
                out.push_str(&format!(" {ratio} |"));
            }
        }
        out.push('\n');
    }
    out
}

fn short(peer: Peer) -> &'static str {
    match peer {
        Peer::Heartlink => "heartlink",
        Peer::Ceiling => "ceiling",
        Peer::NodeWs => "Node",
        Peer::Inspircd => "InspIRCd",
    }
}
