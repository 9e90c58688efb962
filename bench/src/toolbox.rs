//! What the run needs around it: the heartlink binaries (built with cargo
//! into the same target dir as the bench), the peers (found on PATH, and in
//! a full run installed with apt-get / npm when missing), the CPU split and
//! the file-descriptor limit.

use anyhow::{Context, Result, bail};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Paths and settings shared by every scenario.
#[derive(Debug, Clone)]
pub struct Toolbox {
    pub workspace: PathBuf,
    pub bench_exe: PathBuf,
    pub heartlink_server: PathBuf,
    /// `Err(reason)` when the TUI could not be built.
    pub heartlink_tui: Result<PathBuf, String>,
    /// `heartlink-append-load` (B3's storage floor); `Err(reason)` when it
    /// was not built.
    pub append_load: Result<PathBuf, String>,
    pub node: Option<PathBuf>,
    pub node_ws_dir: PathBuf,
    /// Why the Node peer cannot run, if it cannot.
    pub node_missing: Option<String>,
    pub inspircd: Option<PathBuf>,
    /// weechat, B7's terminal-client peer (on the InspIRCd bed).
    pub weechat: Option<PathBuf>,
    pub inspircd_template: PathBuf,
    pub server_cpu: usize,
    pub generator_cpu: usize,
}

/// Writes a progress line to stderr (stdout stays free for the summary),
/// stamped with the seconds since the bench started so a slow step shows.
pub fn say(line: impl std::fmt::Display) {
    static STARTED: std::sync::LazyLock<std::time::Instant> = std::sync::LazyLock::new(std::time::Instant::now);
    let _ = writeln!(std::io::stderr(), "[bench {:6.1}s] {line}", STARTED.elapsed().as_secs_f64());
}

impl Toolbox {
    /// Builds heartlink (the server unless `server` names a binary to run;
    /// the TUI only when `wants_tui`, `heartlink-append-load` only when
    /// `wants_floor`), finds (and optionally installs) the peers.
    pub fn prepare(install_peers: bool, server: Option<PathBuf>, wants_tui: bool, wants_floor: bool) -> Result<Self> {
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().context("no workspace dir")?.to_path_buf();
        let bench_exe = std::env::current_exe()?;
        let bin_dir = bench_exe.parent().context("no bin dir")?.to_path_buf();
        // One cargo call for every binary: built one at a time, each would
        // resolve the shared crates' features on its own and compile them again.
        let mut packages = Vec::new();
        if server.is_none() {
            packages.push("heartlink-server");
        }
        if wants_tui {
            packages.push("heartlink-client");
        }
        if wants_floor {
            packages.push("heartlink-append-load");
        }
        let built = if packages.is_empty() { Ok(()) } else { cargo_build(&workspace, &packages) };
        let append_load = match (wants_floor, &built) {
            (false, _) => Err("not built: B3 on heartlink was not selected".to_owned()),
            (true, Ok(())) => Ok(bin_dir.join("heartlink-append-load")),
            (true, Err(err)) => Err(format!("heartlink-append-load does not build: {err:#}")),
        };
        let heartlink_server = match server {
            Some(path) if path.is_file() => path,
            Some(path) => bail!("no heartlink-server binary at {}", path.display()),
            None => {
                built.as_ref().map_err(|err| anyhow::anyhow!("{err:#}"))?;
                bin_dir.join("heartlink-server")
            }
        };
        let heartlink_tui = match (wants_tui, &built) {
            (false, _) => Err("not built: B7 was not selected".to_owned()),
            (true, Ok(())) => Ok(bin_dir.join("heartlink-tui")),
            (true, Err(err)) => Err(format!("heartlink-tui does not build: {err:#}")),
        };
        let node_ws_dir = workspace.join("bench/peers/node-ws");
        let node = which("node");
        let node_missing = match &node {
            None => Some("not installed (node not on PATH)".to_owned()),
            Some(_) => node_modules(&node_ws_dir, install_peers).err().map(|err| format!("not installed ({err:#})")),
        };
        // Debian starts the packaged service where it can; the bench runs its own.
        let inspircd = which("inspircd").or_else(|| if install_peers { apt_install("inspircd", "inspircd") } else { None });
        // B7's peer client: weechat on the InspIRCd bed.
        let weechat =
            which("weechat").or_else(|| if install_peers && wants_tui { apt_install("weechat-curses", "weechat") } else { None });
        let cpus = std::thread::available_parallelism().map(usize::from).unwrap_or(1);
        let (server_cpu, generator_cpu) = if cpus >= 2 { (0, 1) } else { (0, 0) };
        Ok(Self {
            inspircd_template: workspace.join("bench/peers/inspircd/inspircd.conf.in"),
            bench_exe,
            heartlink_server,
            heartlink_tui,
            append_load,
            node,
            node_ws_dir,
            node_missing,
            inspircd,
            weechat,
            workspace,
            server_cpu,
            generator_cpu,
        })
    }

    /// Why `peer` cannot run on this machine, if it cannot.
    pub fn missing(&self, peer: crate::servers::Peer) -> Option<String> {
        match peer {
            crate::servers::Peer::NodeWs => self.node_missing.clone(),
            crate::servers::Peer::Inspircd if self.inspircd.is_none() => {
                Some("not installed (apt-get install -y inspircd)".to_owned())
            }
            _ => None,
        }
    }

    /// Why scenario `id` cannot run its client against `peer`: B7 drives
    /// weechat on the InspIRCd bed.
    pub fn missing_client(&self, id: &str, peer: crate::servers::Peer) -> Option<String> {
        match (id, peer) {
            ("B7", crate::servers::Peer::Inspircd) if self.weechat.is_none() => {
                Some("weechat not installed (apt-get install -y weechat-curses)".to_owned())
            }
            _ => None,
        }
    }
}

/// `cargo build --release -p PACKAGE…`, into the target dir this bench runs from.
fn cargo_build(workspace: &Path, packages: &[&str]) -> Result<()> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    say(format!("cargo build --release -p {}", packages.join(" -p ")));
    let mut build = Command::new(cargo);
    build.current_dir(workspace).args(["build", "--release", "--quiet"]);
    for package in packages {
        build.args(["-p", package]);
    }
    // `cargo run` gives the bench the variables of its own package; passed
    // on, they differ from a plain cargo's environment, and build scripts
    // that watch them (ring's watches CARGO_MANIFEST_DIR) made every run
    // rebuild ring, rustls and both binaries (7 minutes on 2 busy cores).
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        let per_package = ["CARGO_MANIFEST_", "CARGO_PKG_", "CARGO_CRATE_NAME", "CARGO_PRIMARY_PACKAGE", "CARGO_BIN_NAME"];
        if per_package.iter().any(|prefix| name.starts_with(prefix)) {
            build.env_remove(name.as_ref());
        }
    }
    let out = build.output().context("running cargo")?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let first = stderr.lines().find(|line| line.starts_with("error")).unwrap_or("cargo build failed");
        bail!("{first}");
    }
    Ok(())
}

/// Installs the Debian `package` and returns where its `program` is, if it worked.
fn apt_install(package: &str, program: &str) -> Option<PathBuf> {
    say(format!("installing {package} with apt-get"));
    let script = format!("apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq {package} >/dev/null");
    let ok = Command::new("sh").args(["-c", &script]).status().is_ok_and(|status| status.success());
    if ok { which(program) } else { None }
}

/// Makes sure `ws` is installed for the Node peer (npm install when allowed).
fn node_modules(dir: &Path, install: bool) -> Result<()> {
    if dir.join("node_modules/ws/package.json").exists() {
        return Ok(());
    }
    if !install {
        bail!("run `npm install` in bench/peers/node-ws");
    }
    say("npm install in bench/peers/node-ws");
    let ok = Command::new("npm")
        .current_dir(dir)
        .args(["install", "--no-audit", "--no-fund", "--silent"])
        .status()
        .is_ok_and(|status| status.success());
    if ok { Ok(()) } else { bail!("npm install failed") }
}

/// The path of `program` on PATH, if any.
pub fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).chain([PathBuf::from("/usr/sbin")]).map(|dir| dir.join(program)).find(|p| p.is_file())
}

/// Pins this process (before any thread exists) to `cpu` with taskset.
pub fn pin_self(cpu: usize) -> Result<()> {
    let status = Command::new("taskset")
        .args(["-cp", &cpu.to_string(), &std::process::id().to_string()])
        .stdout(std::process::Stdio::null())
        .status()
        .context("running taskset (util-linux)")?;
    if !status.success() {
        bail!("taskset failed");
    }
    Ok(())
}

/// Raises the soft file-descriptor limit to the hard limit (10,000
/// connections need more than the usual 1,024).
pub fn raise_fd_limit() -> Result<u64> {
    let (_, hard) = rlimit::getrlimit(rlimit::Resource::NOFILE)?;
    rlimit::setrlimit(rlimit::Resource::NOFILE, hard, hard)?;
    Ok(hard)
}
