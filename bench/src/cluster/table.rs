//! The cluster group's part of docs/BENCHMARKS.md: a marked block with its
//! own run description and one table, the three deployments side by side.
//! A run that includes the group writes the block; a run without it keeps
//! the block already in the file, and a run of the group alone (`--only C`)
//! replaces only the block, leaving the rest of the file as it was.

use super::ClusterResults;
use crate::doc::RunInfo;
use crate::report::{Metric, Outcome, median, number};
use std::fmt::Write as _;

pub const BEGIN: &str = "<!-- cluster: written by heartlink-bench (the cluster group, `--only C`) -->";
pub const END: &str = "<!-- end of cluster -->";

const fn m(key: &'static str, label: &'static str, unit: &'static str, decimals: usize) -> Metric {
    Metric { key, label, unit, decimals }
}

/// The rows, in order; a heading row has an empty key.
const ROWS: &[Metric] = &[
    m("", "**B3 durable**: closed-loop senders (200, or 100 quick), 4 in flight each, one room each", "", 0),
    m("c3_acked", "acked messages/s (higher is better)", "/s", 0),
    m("c3_ack_p50", "ack latency p50", " ms", 2),
    m("c3_ack_p99", "ack latency p99", " ms", 2),
    m("c3_echo_p99", "delivery p99 (the sender's own copy, which arrives with its ack)", " ms", 2),
    m("c3_node_us", "CPU per acked message: heartlink node(s)", " µs", 1),
    m("c3_pg_us", "CPU per acked message: PostgreSQL", " µs", 1),
    m("c3_redis_us", "CPU per acked message: Redis", " µs", 1),
    m("c3_total_us", "CPU per acked message: all server processes", " µs", 1),
    m("c3_wal", "PostgreSQL WAL per acked message", " B", 0),
    m("c3_publishes", "Redis publishes per acked message", "", 3),
    m("c3_redis_calls", "Redis commands per acked message", "", 3),
    m("", "**B2 fan-out**: rooms of 100 (2, or 1 quick), members spread over the nodes, one publisher per room", "", 0),
    m(
        "c2_max50",
        "deliveries/s at p99 ≤ 50 ms (full runs sweep ¼× to 8× of 100k/s; quick offers 100k/s once)",
        "/s",
        0,
    ),
    m("c2_fixed", "deliveries/s with 100k/s offered", "/s", 0),
    m("c2_p50", "delivery p50 at 100k/s offered", " ms", 2),
    m("c2_p99", "delivery p99 at 100k/s offered", " ms", 2),
    m("c2_cross_p99", "cross-node delivery p99 (sender on node X, receiver on node Y ≠ X)", " ms", 2),
    m("c2_node_us", "CPU per delivery: heartlink node(s)", " µs", 2),
    m("c2_pg_us", "CPU per delivery: PostgreSQL", " µs", 2),
    m("c2_redis_us", "CPU per delivery: Redis", " µs", 2),
    m("c2_total_us", "CPU per delivery: all server processes", " µs", 2),
    m("c2_wal", "PostgreSQL WAL per delivery", " B", 1),
    m("c2_publishes", "Redis publishes per delivery", "", 4),
];

/// The whole block, markers included.
pub fn render(info: &RunInfo, results: &ClusterResults) -> String {
    let mut out = format!("{BEGIN}\n## Cluster: one node on sled, one on PostgreSQL + Redis, three nodes\n\n");
    let _ = writeln!(
        out,
        "```sh\ncargo run --release -p heartlink-bench -- --only C{}\n```\n",
        if info.quick { " --quick" } else { "" }
    );
    let mode = if info.quick { "quick (short, CI-sized)" } else { "full" };
    let _ = writeln!(
        out,
        "- date: {}; commit `{}`; mode: {mode}; each figure is the median of {} run(s), the deployments alternating",
        info.started, info.commit, info.runs
    );
    let _ = writeln!(
        out,
        "- machine: {} (shared with other work: load average before / after {} / {})",
        crate::doc::machine(),
        info.loadavg_before,
        info.loadavg_after
    );
    let _ = writeln!(
        out,
        "- every node, redis-server and PostgreSQL on CPU {}, the generator on CPU {}; PostgreSQL: {}",
        info.server_cpu, info.generator_cpu, results.postgres
    );
    let _ = writeln!(
        out,
        "- CPU per message: /proc utime+stime of the node processes, of every PostgreSQL process (`pg_stat_activity`) and of redis-server over the measurement window, divided by the messages acked (B3) or delivered (B2) in it; WAL from `pg_current_wal_lsn()`, Redis commands from `INFO commandstats`\n"
    );
    out.push_str("| figure |");
    let mut rule = String::from("|---|");
    for (deployment, _) in &results.outcomes {
        let _ = write!(out, " {} |", deployment.name());
        rule.push_str("---:|");
    }
    let _ = writeln!(out, "\n{rule}");
    for row in ROWS {
        let _ = write!(out, "| {} |", row.label);
        for (_, outcome) in &results.outcomes {
            let cell = match (row.key, outcome) {
                ("", _) => String::new(),
                (key, Outcome::Ran(runs)) => match median(runs, key) {
                    Some(v) if v.is_finite() => format!("{}{}", number(v, row.decimals), row.unit),
                    _ => "–".to_owned(),
                },
                (_, Outcome::NotApplicable(why)) => format!("**{why}**"),
                (_, Outcome::Failed(why)) => format!("**failed**: {why}"),
            };
            let _ = write!(out, " {cell} |");
        }
        out.push('\n');
    }
    out.push('\n');
    out.push_str(END);
    out
}

/// The block of an existing document, if it has one.
pub fn kept(existing: &str) -> Option<String> {
    match (existing.find(BEGIN), existing.find(END)) {
        (Some(begin), Some(end)) if end > begin => Some(existing[begin..end + END.len()].to_owned()),
        _ => None,
    }
}

/// `existing` with its block replaced by `block` (or `block` put before
/// the tables, where a full run puts it, when it had none).
pub fn splice(existing: &str, block: &str) -> String {
    match (existing.find(BEGIN), existing.find(END)) {
        (Some(begin), Some(end)) if end > begin => {
            format!("{}{block}{}", &existing[..begin], &existing[end + END.len()..])
        }
        _ => match existing.find(crate::doc::TABLES_HEADING) {
            Some(at) => format!("{}{block}\n\n{}", &existing[..at], &existing[at..]),
            None => format!("{existing}\n{block}\n"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_block_is_replaced_in_place_and_the_rest_is_kept() {
        let old = format!("# Title\n\nnotes\n\n{BEGIN}\nold figures\n{END}\n\n## Tables\n\nrest\n");
        let new_block = format!("{BEGIN}\nnew figures\n{END}");
        let spliced = splice(&old, &new_block);
        assert_eq!(spliced, format!("# Title\n\nnotes\n\n{new_block}\n\n## Tables\n\nrest\n"));
        assert_eq!(kept(&spliced).as_deref(), Some(new_block.as_str()));
        let without = "# Title\n\n## Tables\n\nrest\n";
        assert_eq!(splice(without, &new_block), format!("# Title\n\n{new_block}\n\n## Tables\n\nrest\n"));
        assert_eq!(kept(without), None);
    }
}
