//! The PostgreSQL the cluster deployments run on: the server named by
//! `HEARTLINK_TEST_POSTGRES` when it is set (CI exports it from
//! `.ci/services.sh`), otherwise a throwaway cluster from the machine's own
//! binaries (`initdb`, `postgres`: on PATH or under
//! `/usr/lib/postgresql/*/bin`) in a temp dir, on a free loopback port,
//! pinned to the server CPU like every server under test. PostgreSQL
//! refuses to run as root, so as root it runs as `nobody` (`setpriv`). It
//! runs with `fsync=on` and `synchronous_commit=on`, as a node requires.
//!
//! Every bed gets a database of its own (`CREATE DATABASE` with a unique
//! name), dropped when the bed ends. The same approach as the end-to-end
//! tests' harness (tests/src/postgres.rs), written here against the bench's
//! async runtime: the bench does not depend on the tests crate, which
//! would bring the server and the tests' dependencies into its build.

use crate::toolbox::{Toolbox, say, which};
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The environment variable naming an existing PostgreSQL (where the user may `CREATE DATABASE`).
pub const EXTERNAL_ENV: &str = "HEARTLINK_TEST_POSTGRES";
/// How long a fresh cluster may take to accept connections on a busy machine.
const START_WAIT: Duration = Duration::from_secs(60);

/// A PostgreSQL server the bench may create databases on.
#[derive(Debug)]
pub struct Postgres {
    /// URL of the server's maintenance database (for CREATE / DROP DATABASE).
    admin_url: String,
    /// URL without a database: `{base}/{db}`.
    base_url: String,
    /// The throwaway cluster, when the bench started one.
    local: Option<LocalCluster>,
}

/// Whether PostgreSQL can be had, and why not.
#[derive(Debug)]
pub enum Found {
    Ready(Postgres),
    /// Neither `HEARTLINK_TEST_POSTGRES` nor the server binaries: what to install.
    Missing(String),
}

impl Postgres {
    /// The server of `HEARTLINK_TEST_POSTGRES` (an error when it does not
    /// answer), else a throwaway cluster (an error when it will not start),
    /// else `Missing`.
    pub async fn find(tools: &Toolbox) -> Result<Found> {
        if let Ok(url) = std::env::var(EXTERNAL_ENV)
            && !url.is_empty()
        {
            sql(&url, "SELECT 1")
                .await
                .with_context(|| format!("{EXTERNAL_ENV} is set but its server does not answer"))?;
            let mut base = url::Url::parse(&url).with_context(|| format!("{EXTERNAL_ENV} is not a URL"))?;
            base.set_path("");
            base.set_query(None);
            let base_url = base.to_string().trim_end_matches('/').to_owned();
            say(format!("cluster: PostgreSQL from {EXTERNAL_ENV}, a fresh database per bed"));
            return Ok(Found::Ready(Self { admin_url: url, base_url, local: None }));
        }
        let (Some(initdb), Some(postgres)) = (binary("initdb"), binary("postgres")) else {
            return Ok(Found::Missing(format!(
                "no PostgreSQL: `initdb`/`postgres` are neither on PATH nor under /usr/lib/postgresql/*/bin and {EXTERNAL_ENV} \
                 is not set (Debian: apt-get install postgresql)"
            )));
        };
        let local = LocalCluster::start(&initdb, &postgres, tools.server_cpu).await?;
        let base_url = format!("postgres://heartlink@127.0.0.1:{}", local.port);
        Ok(Found::Ready(Self { admin_url: format!("{base_url}/postgres"), base_url, local: Some(local) }))
    }

    /// Creates an empty database; returns its name and URL.
    pub async fn fresh_database(&self) -> Result<(String, String)> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let stamp =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0);
        let name = format!("hl_bench_{stamp}_{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        sql(&self.admin_url, &format!("CREATE DATABASE {name}")).await?;
        Ok((name.clone(), format!("{}/{name}", self.base_url)))
    }

    /// Drops a database made by [`fresh_database`](Self::fresh_database), ending its sessions.
    pub async fn drop_database(&self, name: &str) -> Result<()> {
        sql(&self.admin_url, &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await
    }

    /// The server's WAL position (bytes) and the pids of its processes
    /// (backends and background workers, `pg_stat_activity`), for the
    /// engine meter. The querying session itself is left out.
    pub async fn probe(&self) -> Result<(u64, Vec<u32>)> {
        let client = connect(&self.admin_url).await?;
        let wal: i64 =
            client.query_one("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint", &[]).await?.get(0);
        let rows = client.query("SELECT pid FROM pg_stat_activity WHERE pid <> pg_backend_pid()", &[]).await?;
        let pids = rows.iter().filter_map(|row| u32::try_from(row.get::<_, i32>(0)).ok()).collect();
        Ok((u64::try_from(wal).unwrap_or(0), pids))
    }

    /// The postmaster's pid when the bench started it (its CPU is counted too).
    pub fn postmaster(&self) -> Option<u32> {
        self.local.as_ref().map(|local| local.child.id())
    }

    /// Where it came from, for the report.
    pub fn describe(&self) -> String {
        match &self.local {
            Some(_) => {
                "a throwaway PostgreSQL cluster (the machine's binaries, fsync=on), pinned to the server CPU".to_owned()
            }
            None => format!("the PostgreSQL of {EXTERNAL_ENV} (not pinned by the bench)"),
        }
    }
}

/// Runs one statement.
async fn sql(url: &str, statement: &str) -> Result<()> {
    connect(url).await?.batch_execute(statement).await.with_context(|| statement.to_owned())
}

async fn connect(url: &str) -> Result<tokio_postgres::Client> {
    let (client, connection) =
        tokio_postgres::connect(url, tokio_postgres::NoTls).await.context("connecting to PostgreSQL")?;
    tokio::spawn(connection);
    Ok(client)
}

/// A cluster in a temp dir, stopped and removed on drop.
#[derive(Debug)]
struct LocalCluster {
    child: Child,
    dir: PathBuf,
    port: u16,
}

impl LocalCluster {
    async fn start(initdb: &Path, postgres: &Path, cpu: usize) -> Result<Self> {
        let root =
            Command::new("id").arg("-u").output().is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0");
        let dir = tempfile::Builder::new().prefix("heartlink-bench-pg-").tempdir()?.keep();
        if root {
            let chowned = Command::new("chown").arg("nobody:nogroup").arg(&dir).status().context("chown")?;
            if !chowned.success() {
                bail!("cannot hand {} to nobody", dir.display());
            }
        }
        let started = Instant::now();
        let data = dir.join("data");
        let init = as_cluster_user(initdb, root, cpu)
            .arg("-D")
            .arg(&data)
            .args(["-U", "heartlink", "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync"])
            .env("HOME", &dir)
            .current_dir(&dir)
            .output()
            .with_context(|| format!("running {}", initdb.display()))?;
        if !init.status.success() {
            let _ = std::fs::remove_dir_all(&dir);
            bail!("initdb failed: {}", String::from_utf8_lossy(&init.stderr));
        }
        let port = crate::servers::free_port()?;
        let log = std::fs::File::create(dir.join("postgres.log"))?;
        let child = as_cluster_user(postgres, root, cpu)
            .arg("-D")
            .arg(&data)
            .args([
                "-p",
                &port.to_string(),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "fsync=on",
                "-c",
                "synchronous_commit=on",
            ])
            .args(["-c", "max_connections=200"])
            .arg("-k")
            .arg(&dir)
            .env("HOME", &dir)
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .context("starting postgres")?;
        let mut cluster = Self { child, dir, port };
        let admin = format!("postgres://heartlink@127.0.0.1:{port}/postgres");
        while sql(&admin, "SELECT 1").await.is_err() {
            if let Some(status) = cluster.child.try_wait()? {
                let log = std::fs::read_to_string(cluster.dir.join("postgres.log")).unwrap_or_default();
                bail!("postgres exited at start ({status}): {log}");
            }
            if started.elapsed() > START_WAIT {
                bail!("postgres did not accept connections within {START_WAIT:?}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        say(format!("cluster: throwaway PostgreSQL on port {port}, ready in {:.1} s", started.elapsed().as_secs_f64()));
        Ok(cluster)
    }
}

impl Drop for LocalCluster {
    fn drop(&mut self) {
        // SIGINT is PostgreSQL's fast shutdown; SIGKILL if it takes too long.
        let _ = Command::new("kill").arg("-INT").arg(self.child.id().to_string()).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `program` run as the cluster's user (nobody when we are root), pinned to
/// the server CPU, and killed by the kernel if the bench dies first.
fn as_cluster_user(program: &Path, root: bool, cpu: usize) -> Command {
    let mut command = Command::new("taskset");
    command.args(["-c", &cpu.to_string(), "setpriv"]);
    if root {
        command.args(["--reuid=nobody", "--regid=nogroup", "--clear-groups"]);
    }
    command.args(["--pdeathsig=SIGKILL", "--"]).arg(program);
    command
}

/// Where `name` (initdb, postgres) is: PATH first, then Debian's versioned dirs, newest first.
fn binary(name: &str) -> Option<PathBuf> {
    which(name).or_else(|| {
        let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
            .into_iter()
            .flatten()
            .flatten()
            .map(|entry| entry.path().join("bin"))
            .collect();
        dirs.sort();
        dirs.into_iter().rev().map(|dir| dir.join(name)).find(|path| path.is_file())
    })
}
