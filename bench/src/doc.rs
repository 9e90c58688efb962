//! docs/BENCHMARKS.md: the machine, the run, the targets (issues 5 and 17) with
//! met/missed, and the tables. Everything in it comes from the run that
//! wrote it; the hand-written analysis lives in a marked block that a new
//! run keeps.

use crate::report::{Outcome, SECTIONS, table};
use crate::servers::Peer;
use std::fmt::Write as _;

/// Everything a run produced, by scenario id.
pub type Results = Vec<(&'static str, Vec<(Peer, Outcome)>)>;

/// Where the hand-written analysis starts and ends; kept across runs.
pub const NOTES_BEGIN: &str = "<!-- analysis: kept by heartlink-bench across runs -->";
pub const NOTES_END: &str = "<!-- end of analysis -->";

/// The heading the per-scenario tables start under.
pub const TABLES_HEADING: &str = "## Tables";

/// The run's context, printed at the top.
#[derive(Debug)]
pub struct RunInfo {
    pub command: String,
    pub quick: bool,
    pub runs: usize,
    pub started: String,
    pub minutes: f64,
    pub commit: String,
    pub loadavg_before: String,
    pub loadavg_after: String,
    pub server_cpu: usize,
    pub generator_cpu: usize,
}

/// The whole document; `notes` is the kept analysis block (with its
/// markers), `cluster` the cluster group's block (this run's or the kept one).
pub fn render(info: &RunInfo, results: &Results, notes: &str, cluster: Option<&str>) -> String {
    let mut doc = String::from("# Benchmarks: heartlink beside its peers\n\n");
    let _ = writeln!(
        doc,
        "Written by `heartlink-bench` (issue 5). Regenerate with the command below; every figure in the tables \
         comes from the run described here.\n"
    );
    let _ = writeln!(doc, "```sh\n{}\n```\n", info.command);
    let _ = writeln!(doc, "## This run\n");
    let _ = writeln!(doc, "- date: {} (took {:.1} minutes); commit `{}`", info.started, info.minutes, info.commit);
    let mode = if info.quick { "quick (short, CI-sized)" } else { "full" };
    let _ = writeln!(doc, "- mode: {mode}; each figure is the median of {} run(s)", info.runs);
    let _ = writeln!(doc, "- machine: {}", machine());
    let _ = writeln!(
        doc,
        "- servers pinned to CPU {} and the generator (and the TUI) to CPU {} with `taskset`; loopback only",
        info.server_cpu, info.generator_cpu
    );
    let _ = writeln!(
        doc,
        "- load average before / after: {} / {} (other work on the machine shows here)\n",
        info.loadavg_before, info.loadavg_after
    );
    doc.push_str(&crate::targets::render(results));
    doc.push('\n');
    doc.push_str(notes);
    if let Some(block) = cluster {
        doc.push_str("\n\n");
        doc.push_str(block);
    }
    doc.push_str("\n\n");
    doc.push_str(TABLES_HEADING);
    doc.push_str("\n\nRatios are heartlink ÷ peer (for latencies and memory, below 1 is better for heartlink).\n");
    for section in SECTIONS {
        if let Some((_, outcomes)) = results.iter().find(|(id, _)| *id == section.id) {
            let _ = write!(doc, "\n### {}\n\n{}", section.title, table(section, outcomes));
            if section.id == "B3" {
                doc.push_str(&crate::scenarios::storage_floor::table(results).unwrap_or_default());
            }
        }
    }
    doc
}

/// nproc, the CPU model and the memory, from /proc.
pub fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|line| line.starts_with("model name"))
        .and_then(|line| line.split_once(':'))
        .map_or("unknown CPU", |(_, model)| model.trim())
        .to_owned();
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_kib: f64 = meminfo
        .lines()
        .find(|line| line.starts_with("MemTotal:"))
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|kib| kib.parse().ok())
        .unwrap_or(0.0);
    // Counted from /proc/cpuinfo: after pinning, this process sees one CPU.
    let cpus = cpuinfo.lines().filter(|line| line.starts_with("processor")).count();
    format!("{cpus} CPUs (nproc), {model}, {:.1} GiB RAM, Linux {}", mem_kib / 1024.0 / 1024.0, kernel())
}

fn kernel() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease").map(|s| s.trim().to_owned()).unwrap_or_default()
}

/// The analysis block of an existing document, or a placeholder.
pub fn kept_notes(existing: &str) -> String {
    match (existing.find(NOTES_BEGIN), existing.find(NOTES_END)) {
        (Some(begin), Some(end)) if end > begin => existing[begin..end + NOTES_END.len()].to_owned(),
        _ => format!("{NOTES_BEGIN}\n## Analysis\n\n(none yet)\n{NOTES_END}"),
    }
}
