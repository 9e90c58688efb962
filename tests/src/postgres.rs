//! A real, throwaway PostgreSQL for the tests: one server per test binary,
//! a fresh database per test (or per server data dir).
//!
//! With `HEARTLINK_TEST_POSTGRES` set (the URL of a server where the user
//! may `CREATE DATABASE`), that server is used. Otherwise the machine's own
//! binaries (`initdb` and `postgres`, on PATH or under
//! `/usr/lib/postgresql/*/bin`) run a cluster in a temp dir, on a free
//! loopback port and a unix socket in that dir, with `fsync=on` (the
//! durability tests count on it). PostgreSQL refuses to run as root, so as
//! root it runs as `nobody` (through `setpriv`), the temp dir chowned to it.
//! The postmaster gets SIGKILL from the kernel when this test binary ends
//! (`setpriv --pdeathsig`, spawned from a thread that lives as long as the
//! process), and a later run removes the dirs of dead runs.
//!
//! When neither works the test fails, saying what to install: never a skip.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The environment variable naming an existing PostgreSQL to use.
pub const EXTERNAL_ENV: &str = "HEARTLINK_TEST_POSTGRES";
/// Dirs of throwaway clusters start with this.
const DIR_PREFIX: &str = "heartlink-test-pg-";
/// How long a fresh cluster may take to accept connections.
const START_WAIT: Duration = Duration::from_secs(60);

/// A PostgreSQL the tests may create databases on.
#[derive(Debug)]
pub struct TestPostgres {
    /// URL of the server's `postgres` database (for `CREATE DATABASE`).
    admin_url: String,
    /// URL with the database name left out: `{base}/{db}`.
    base_url: String,
    /// The cluster's dir when this binary started it.
    pub dir: Option<PathBuf>,
}

static SHARED: OnceLock<Result<TestPostgres, String>> = OnceLock::new();

/// The test binary's PostgreSQL, started on first use. Panics (fails the
/// test) with what to install when there is none.
pub fn shared() -> &'static TestPostgres {
    match SHARED.get_or_init(|| match std::env::var(EXTERNAL_ENV) {
        Ok(url) if !url.is_empty() => external(&url),
        _ => start_local(),
    }) {
        Ok(postgres) => postgres,
        Err(why) => panic!(
            "no PostgreSQL for the tests: {why}\nInstall the server binaries (Debian: `apt-get install postgresql`, which puts initdb and postgres \
             under /usr/lib/postgresql/*/bin), or set {EXTERNAL_ENV} to the URL of a server where the user may CREATE DATABASE"
        ),
    }
}

impl TestPostgres {
    /// Creates a new, empty database and returns its URL.
    pub fn fresh_database(&self) -> String {
        let name = format!("hl_{}", uuid::Uuid::new_v4().simple());
        let admin = self.admin_url.clone();
        let statement = format!("CREATE DATABASE {name}");
        run_sql(&admin, &statement).unwrap_or_else(|err| panic!("{statement}: {err}"));
        format!("{}/{name}", self.base_url)
    }

    /// Ends every session on the database of `db_url` (what a database
    /// restart or a network cut does to a node's pooled connections).
    pub fn terminate_connections(&self, db_url: &str) {
        let name = db_url.rsplit('/').next().unwrap_or_default().split('?').next().unwrap_or_default();
        let statement =
            format!("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}' AND pid <> pg_backend_pid()");
        run_sql(&self.admin_url, &statement).unwrap_or_else(|err| panic!("{statement}: {err}"));
    }
}

/// Runs one statement on a thread of its own (callers may be inside a runtime).
pub fn run_sql(url: &str, statement: &str) -> Result<(), String> {
    let (url, statement) = (url.to_owned(), statement.to_owned());
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|err| err.to_string())?;
        runtime.block_on(async {
            let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.map_err(|err| err.to_string())?;
            tokio::spawn(connection);
            client.batch_execute(&statement).await.map_err(|err| err.to_string())
        })
    })
    .join()
    .map_err(|_| "the SQL thread panicked".to_owned())?
}

/// Every row of every table of the database at `url`, as text (bytea as
/// hex): what the database would hand anyone who reads it, for the tests
/// that check which text is stored. Rows deleted but not yet vacuumed are
/// not in it (see docs/SCALING.md).
pub fn table_rows(url: &str) -> Result<Vec<(String, String)>, String> {
    let url = url.to_owned();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|err| err.to_string())?;
        runtime.block_on(async {
            let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.map_err(|err| err.to_string())?;
            tokio::spawn(connection);
            let tables = client
                .query("SELECT quote_ident(table_name) FROM information_schema.tables WHERE table_schema = 'public'", &[])
                .await
                .map_err(|err| err.to_string())?;
            let mut rows = Vec::new();
            for table in tables {
                let table: String = table.get(0);
                let statement = format!("SELECT t::text FROM {table} t");
                for row in client.query(&statement, &[]).await.map_err(|err| format!("{statement}: {err}"))? {
                    rows.push((table.clone(), row.get(0)));
                }
            }
            Ok(rows)
        })
    })
    .join()
    .map_err(|_| "the SQL thread panicked".to_owned())?
}

fn external(url: &str) -> Result<TestPostgres, String> {
    run_sql(url, "SELECT 1").map_err(|err| format!("{EXTERNAL_ENV} is set but its server does not answer: {err}"))?;
    let parsed = url::Url::parse(url).map_err(|err| format!("{EXTERNAL_ENV} is not a URL: {err}"))?;
    let mut base = parsed.clone();
    base.set_path("");
    base.set_query(None);
    Ok(TestPostgres { admin_url: url.to_owned(), base_url: base.to_string().trim_end_matches('/').to_owned(), dir: None })
}

/// Where `name` (initdb, postgres) is: PATH first, then Debian's versioned dirs.
fn binary(name: &str) -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH").into_iter().flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>());
    let mut debian: Vec<PathBuf> =
        std::fs::read_dir("/usr/lib/postgresql").into_iter().flatten().flatten().map(|entry| entry.path().join("bin")).collect();
    debian.sort();
    debian.reverse();
    on_path.chain(debian).map(|dir| dir.join(name)).find(|path| path.is_file())
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

/// A command run as the cluster's user (nobody when we are root), killed
/// when the thread that spawned it ends.
fn as_cluster_user(program: &Path, root: bool) -> Command {
    let mut command = Command::new("setpriv");
    if root {
        command.args(["--reuid=nobody", "--regid=nogroup", "--clear-groups"]);
    }
    command.args(["--pdeathsig=SIGKILL", "--"]).arg(program);
    command
}

/// Removes the clusters of test binaries that are gone.
fn remove_stale_dirs(parent: &Path) {
    for entry in std::fs::read_dir(parent).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name.strip_prefix(DIR_PREFIX).and_then(|rest| rest.split('-').next()) else { continue };
        if !Path::new("/proc").join(pid).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

fn start_local() -> Result<TestPostgres, String> {
    let initdb = binary("initdb").ok_or("`initdb` was found neither on PATH nor under /usr/lib/postgresql/*/bin")?;
    let postgres = binary("postgres").ok_or("`postgres` was found neither on PATH nor under /usr/lib/postgresql/*/bin")?;
    let root = is_root();
    let parent = std::env::temp_dir();
    remove_stale_dirs(&parent);
    let dir = parent.join(format!("{DIR_PREFIX}{}-{}", std::process::id(), uuid::Uuid::new_v4().simple()));
    let data = dir.join("data");
    std::fs::create_dir_all(&dir).map_err(|err| format!("cannot create {}: {err}", dir.display()))?;
    if root {
        let chowned = Command::new("chown").args(["nobody:nogroup"]).arg(&dir).status().map_err(|err| format!("chown: {err}"))?;
        if !chowned.success() {
            return Err(format!("cannot hand {} to nobody", dir.display()));
        }
    }
    let init = as_cluster_user(&initdb, root)
        .arg("-D")
        .arg(&data)
        .args(["-U", "heartlink", "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync"])
        .env("HOME", &dir)
        .current_dir(&dir)
        .output()
        .map_err(|err| format!("cannot run {}: {err}", initdb.display()))?;
    if !init.status.success() {
        return Err(format!("initdb failed: {}", String::from_utf8_lossy(&init.stderr)));
    }
    let port = TcpListener::bind("127.0.0.1:0").and_then(|listener| listener.local_addr()).map_err(|err| err.to_string())?.port();
    let log = std::fs::File::create(dir.join("postgres.log")).map_err(|err| err.to_string())?;
    let mut command = as_cluster_user(&postgres, root);
    command
        .arg("-D")
        .arg(&data)
        .args(["-p", &port.to_string(), "-c", "listen_addresses=127.0.0.1", "-c", "fsync=on", "-c", "synchronous_commit=on"])
        .args(["-c", "max_connections=400", "-c", "shared_buffers=32MB"])
        .arg("-k")
        .arg(&dir)
        .env("HOME", &dir)
        .current_dir(&dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(log));
    let mut child = spawn_from_keeper(command)?;
    let base_url = format!("postgres://heartlink@127.0.0.1:{port}");
    let admin_url = format!("{base_url}/postgres");
    let deadline = Instant::now() + START_WAIT;
    loop {
        if run_sql(&admin_url, "SELECT 1").is_ok() {
            break;
        }
        if let Ok(Some(status)) = child.try_wait() {
            let log = std::fs::read_to_string(dir.join("postgres.log")).unwrap_or_default();
            return Err(format!("postgres exited ({status}) at start:\n{log}"));
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            return Err(format!("postgres did not accept connections within {START_WAIT:?}"));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    // The child stays running until the test binary exits (the kernel then
    // kills it); its handle is not waited for.
    std::mem::forget(child);
    Ok(TestPostgres { admin_url, base_url, dir: Some(dir) })
}

/// Spawns `command` from a thread that never ends: the parent-death signal
/// fires when the spawning thread ends, and this one ends with the process.
fn spawn_from_keeper(mut command: Command) -> Result<Child, String> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("postgres-keeper".into())
        .spawn(move || {
            let _ = tx.send(command.spawn().map_err(|err| format!("cannot start postgres: {err}")));
            loop {
                std::thread::park();
            }
        })
        .map_err(|err| err.to_string())?;
    rx.recv().map_err(|err| err.to_string())?
}
