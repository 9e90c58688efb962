//! `heartlink-bench`: runs scenarios B1–B7 against heartlink-server and its
//! peers (a storage-less tokio-tungstenite ceiling, a Node `ws` chat-room
//! server, InspIRCd) on loopback, then the cluster group (heartlink on
//! sled, on PostgreSQL + Redis, and as three nodes: `cluster`), and writes
//! docs/BENCHMARKS.md.
//!
//! The generator pins itself to one CPU before any thread exists and runs
//! on a single-threaded runtime there; every server runs pinned to the
//! other CPU. It exits non-zero when a server crashes or a scenario hits an
//! error, never because of a timing.

mod ceiling;
mod cluster;
mod doc;
mod latency;
mod proc_stat;
mod report;
mod targets;
mod scenarios;
mod servers;
mod tally;
mod toolbox;
mod wire;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use report::Outcome;
use scenarios::{Figures, Size};
use servers::Peer;
use std::io::Write;
use std::path::PathBuf;
use toolbox::{Toolbox, say};

/// Benchmarks heartlink-server side by side with its peers (issue 5).
#[derive(Debug, Parser)]
#[command(name = "heartlink-bench", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// A short version of every scenario (CI): one run each, small sizes.
    #[arg(long, env = "HEARTLINK_BENCH_QUICK")]
    quick: bool,
    /// Runs per figure (the median is reported) [default: 3, or 1 with --quick].
    #[arg(long, env = "HEARTLINK_BENCH_RUNS")]
    runs: Option<usize>,
    /// Only these scenarios, e.g. `B1,B3`; `C` is the cluster group (B2 and B3
    /// on one node on sled, one on PostgreSQL + Redis, and three nodes).
    #[arg(long, value_delimiter = ',', env = "HEARTLINK_BENCH_ONLY")]
    only: Vec<String>,
    /// Only these servers: heartlink, ceiling, node, inspircd [default: all].
    #[arg(long, value_delimiter = ',', env = "HEARTLINK_BENCH_PEERS")]
    peers: Vec<String>,
    /// Install missing peers (apt-get inspircd, npm install) [default: yes, no with --quick or `--only C`].
    #[arg(long, env = "HEARTLINK_BENCH_INSTALL_PEERS")]
    install_peers: Option<bool>,
    /// Where to write the report [default: docs/BENCHMARKS.md, or
    /// target/BENCHMARKS-quick.md with --quick].
    #[arg(long, env = "HEARTLINK_BENCH_OUT")]
    out: Option<PathBuf>,
    /// Run this heartlink-server binary instead of building one, e.g. to
    /// compare two builds in alternating rounds.
    #[arg(long, env = "HEARTLINK_BENCH_SERVER")]
    server_binary: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the storage-less ceiling server (the bench starts it itself).
    Ceiling {
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: String,
    },
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    if let Some(Command::Ceiling { listen }) = &cli.command {
        return ceiling::run(listen);
    }
    say("heartlink-bench starting");
    let size = Size { quick: cli.quick, runs: cli.runs.unwrap_or(if cli.quick { 1 } else { 3 }).max(1) };
    let started = std::time::Instant::now();
    // The cluster group runs heartlink only: a run of it alone installs no peer.
    let cluster_only = !cli.only.is_empty() && cli.only.iter().all(|id| id.eq_ignore_ascii_case(cluster::ID));
    let install = cli.install_peers.unwrap_or(!cli.quick && !cluster_only);
    // The TUI is built only when B7 (its scenario) runs.
    let wants_tui = cli.only.is_empty() || cli.only.iter().any(|id| id.eq_ignore_ascii_case("B7"));
    // B3's storage floor (heartlink-append-load) only when B3 runs on heartlink.
    let wants_floor = (cli.only.is_empty() || cli.only.iter().any(|id| id.eq_ignore_ascii_case("B3"))) && heartlink_selected(&cli.peers);
    let tools = Toolbox::prepare(install, cli.server_binary.clone(), wants_tui, wants_floor)?;
    // Before the runtime exists, so every generator thread inherits the pin.
    toolbox::pin_self(tools.generator_cpu)?;
    let fds = toolbox::raise_fd_limit()?;
    say(format!("file-descriptor limit {fds}; servers on CPU {}, generator on CPU {}", tools.server_cpu, tools.generator_cpu));
    let loadavg_before = loadavg();
    let commit = git_commit(&tools);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let (results, cluster) = runtime.block_on(run_all(&tools, size, &cli.only, &cli.peers));
    let mut failed: Vec<String> = results
        .iter()
        .flat_map(|(id, outcomes)| {
            outcomes.iter().filter_map(move |(peer, outcome)| match outcome {
                Outcome::Failed(why) => Some(format!("{id} {}: {why}", peer.name())),
                _ => None,
            })
        })
        .collect();
    let mut not_run = Vec::new();
    for (deployment, outcome) in cluster.iter().flat_map(|cluster| &cluster.outcomes) {
        match outcome {
            Outcome::Failed(why) => failed.push(format!("cluster {}: {why}", deployment.name())),
            Outcome::NotApplicable(why) => {
                not_run.push(format!("cluster {}: {}", deployment.name(), why.trim_start_matches("not run: ")));
            }
            Outcome::Ran(_) => {}
        }
    }
    let out = cli.out.clone().unwrap_or_else(|| {
        if cli.quick { tools.workspace.join("target/BENCHMARKS-quick.md") } else { tools.workspace.join("docs/BENCHMARKS.md") }
    });
    let info = doc::RunInfo {
        command: command_line(&cli),
        quick: cli.quick,
        runs: size.runs,
        started: chrono::Local::now().format("%Y-%m-%d %H:%M %Z").to_string(),
        minutes: started.elapsed().as_secs_f64() / 60.0,
        commit,
        loadavg_before,
        loadavg_after: loadavg(),
        server_cpu: tools.server_cpu,
        generator_cpu: tools.generator_cpu,
    };
    let existing = std::fs::read_to_string(&out).unwrap_or_default();
    let notes = doc::kept_notes(&existing);
    let cluster_block = match &cluster {
        Some(cluster) => Some(cluster::table::render(&info, cluster)),
        None => cluster::table::kept(&existing),
    };
    let text = match &cluster_block {
        // The cluster group alone replaces its block and nothing else.
        Some(block) if results.is_empty() && !existing.is_empty() => cluster::table::splice(&existing, block),
        _ => doc::render(&info, &results, &notes, cluster_block.as_deref()),
    };
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&out, text).with_context(|| format!("writing {}", out.display()))?;
    let mut stdout = std::io::stdout();
    writeln!(stdout, "heartlink-bench: wrote {} in {:.1} s", out.display(), started.elapsed().as_secs_f64())?;
    for line in &not_run {
        writeln!(std::io::stderr(), "NOT RUN {line}")?;
    }
    if !failed.is_empty() {
        for failure in &failed {
            writeln!(std::io::stderr(), "FAILED {failure}")?;
        }
        anyhow::bail!("{} scenario run(s) failed", failed.len());
    }
    Ok(())
}

/// Every selected scenario for every peer, in order, then the cluster group if selected.
async fn run_all(tools: &Toolbox, size: Size, only: &[String], peers: &[String]) -> (doc::Results, Option<cluster::ClusterResults>) {
    let mut results = Vec::new();
    // Where the time went, said once more at the end (quick mode has a budget).
    let mut timings = Vec::new();
    for section in report::SECTIONS {
        if !only.is_empty() && !only.iter().any(|id| id.eq_ignore_ascii_case(section.id)) {
            continue;
        }
        let mut outcomes = Vec::new();
        for peer in Peer::ALL {
            if !peers.is_empty() && !peers.iter().any(|name| peer.name().to_lowercase().starts_with(&name.to_lowercase())) {
                continue;
            }
            let missing = not_applicable(section.id, peer).or_else(|| tools.missing(peer)).or_else(|| tools.missing_client(section.id, peer));
            let outcome = match missing {
                Some(why) => Outcome::NotApplicable(why),
                None => {
                    say(format!("{} on {}", section.id, peer.name()));
                    let started = std::time::Instant::now();
                    let outcome = run_one(section.id, peer, tools, size).await;
                    let seconds = started.elapsed().as_secs_f64();
                    timings.push(format!("{} {} {seconds:.1} s", section.id, peer.name()));
                    match outcome {
                        Ok(runs) => {
                            say(format!("{} on {} done in {seconds:.1} s", section.id, peer.name()));
                            Outcome::Ran(runs)
                        }
                        Err(err) => {
                            say(format!("{} on {} FAILED after {seconds:.1} s: {err:#}", section.id, peer.name()));
                            Outcome::Failed(format!("{err:#}").replace('|', "/").replace('\n', " "))
                        }
                    }
                }
            };
            outcomes.push((peer, outcome));
        }
        results.push((section.id, outcomes));
        // The storage below heartlink, beside B3 and in the same run.
        if section.id == "B3" && heartlink_selected(peers) {
            say("B3 floor: the storage below heartlink (heartlink-append-load)");
            let started = std::time::Instant::now();
            let outcome = match scenarios::storage_floor::run(tools, size).await {
                Ok(runs) => Outcome::Ran(runs),
                Err(err) => {
                    say(format!("B3 floor FAILED: {err:#}"));
                    Outcome::Failed(format!("{err:#}").replace('|', "/").replace('\n', " "))
                }
            };
            timings.push(format!("{} {:.1} s", scenarios::storage_floor::ID, started.elapsed().as_secs_f64()));
            results.push((scenarios::storage_floor::ID, vec![(Peer::Heartlink, outcome)]));
        }
    }
    let mut cluster = None;
    // heartlink only: a run narrowed to other peers leaves the group out.
    let selected = only.is_empty() || only.iter().any(|id| id.eq_ignore_ascii_case(cluster::ID));
    if selected && heartlink_selected(peers) {
        let started = std::time::Instant::now();
        cluster = Some(cluster::run(tools, size).await);
        timings.push(format!("{} (cluster) {:.1} s", cluster::ID, started.elapsed().as_secs_f64()));
    }
    say(format!("time per scenario: {}", timings.join(", ")));
    (results, cluster)
}

async fn run_one(id: &str, peer: Peer, tools: &Toolbox, size: Size) -> Result<Vec<Figures>> {
    match id {
        "B1" => scenarios::idle::run(peer, tools, size).await,
        "B2" => Box::pin(scenarios::fanout::run(peer, tools, size)).await,
        "B3" => scenarios::durable::run(peer, tools, size).await,
        "B4" => scenarios::catchup::run(peer, tools, size).await,
        "B5" => scenarios::history::run(peer, tools, size).await,
        "B6" => scenarios::churn::run(peer, tools, size).await,
        "B8" => scenarios::media::run(peer, tools, size).await,
        _ => scenarios::tui::run(peer, tools, size).await,
    }
}

/// Whether `--peers` (empty: all) includes heartlink.
fn heartlink_selected(peers: &[String]) -> bool {
    peers.is_empty() || peers.iter().any(|name| "heartlink".starts_with(&name.to_lowercase()))
}

/// Why a peer cannot do a scenario at all.
fn not_applicable(id: &str, peer: Peer) -> Option<String> {
    let why = match (id, peer) {
        (_, Peer::Heartlink) => return None,
        ("B1" | "B2" | "B6", _) => return None,
        ("B3", Peer::Inspircd) => "IRC has no acknowledgement of a PRIVMSG",
        ("B3", _) => return None,
        ("B4" | "B5", Peer::Inspircd) => "no message store: IRC keeps no backlog to rejoin from or page through",
        ("B4" | "B5", _) => "no message store: nothing to catch up from or page through",
        ("B7", Peer::Inspircd) => return None,
        ("B8", _) => "no attachments: the machine's own limits (dd, python3 -m http.server) are the comparison",
        _ => "no terminal client of its own in this comparison",
    };
    Some(why.to_owned())
}

/// The command that reproduces this run.
fn command_line(cli: &Cli) -> String {
    let mut line = String::new();
    if cli.quick {
        line.push_str(" --quick");
    }
    if let Some(runs) = cli.runs {
        line.push_str(&format!(" --runs {runs}"));
    }
    if !cli.only.is_empty() {
        line.push_str(&format!(" --only {}", cli.only.join(",")));
    }
    if !cli.peers.is_empty() {
        line.push_str(&format!(" --peers {}", cli.peers.join(",")));
    }
    if let Some(server) = &cli.server_binary {
        line.push_str(&format!(" --server-binary {}", server.display()));
    }
    if line.is_empty() { "cargo run --release -p heartlink-bench".to_owned() } else { format!("cargo run --release -p heartlink-bench --{line}") }
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| text.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn git_commit(tools: &Toolbox) -> String {
    std::process::Command::new("git")
        .current_dir(&tools.workspace)
        .args(["rev-parse", "--short", "HEAD"])
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .map(|s| s.trim().to_owned())
        .unwrap_or_default()
}
