//! `heartlink-server`: parses flags, sets up logging and signals, binds the
//! listener and hands over to the library.

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use heartlink_server::store::{PostgresStore, SchemaMode};
use heartlink_server::{AllowedOrigins, Config, Registration, Server, TlsFiles};
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// heartlink chat server: rooms over WebSocket, durable on disk.
#[derive(Debug, Parser)]
#[command(name = "heartlink-server", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

// Parsed once at startup and matched at once: the size of the larger variant costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
enum Command {
    /// Start the server (ctrl-c or SIGTERM stops it cleanly).
    Start(StartArgs),
    /// Operator commands on a data dir: users, rooms, bans, deleting a message, export and import.
    Admin(heartlink_server::admin::cli::AdminArgs),
    /// Bring a PostgreSQL store's schema up to this version (nodes also do it when they start).
    Migrate(MigrateArgs),
}

#[derive(Debug, clap::Args)]
struct MigrateArgs {
    /// The PostgreSQL store, e.g. postgres://heartlink@db.internal/heartlink.
    #[arg(long, env = "HEARTLINK_STORE")]
    store: String,
}

#[derive(Debug, clap::Args)]
struct StartArgs {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, env = "HEARTLINK_LISTEN", default_value = "127.0.0.1:7878")]
    listen: String,
    /// Where the database lives [default: the platform data dir, e.g. ~/.local/share/heartlink].
    #[arg(long, env = "HEARTLINK_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Keep the durable state in PostgreSQL (postgres://user:password@host/db) instead of the embedded
    /// store in the data dir; several nodes may share it (docs/SCALING.md).
    #[arg(long, env = "HEARTLINK_STORE")]
    store: Option<String>,
    /// Seconds between WebSocket pings; a peer silent for twice this is disconnected.
    #[arg(long, env = "HEARTLINK_HEARTBEAT_SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    heartbeat_secs: u64,
    /// Seconds a user's last connection must be gone before others see them offline (a reconnect within it does not flap).
    #[arg(long, env = "HEARTLINK_PRESENCE_GRACE_SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(0..=3600))]
    presence_grace_secs: u64,
    /// Whether new accounts may register.
    #[arg(long, env = "HEARTLINK_REGISTRATION", value_enum, default_value_t = RegistrationArg::Open)]
    registration: RegistrationArg,
    /// Messages per second each user may send (burst twice that); 0 = unlimited, for load tests.
    #[arg(long, env = "HEARTLINK_SEND_RATE", default_value_t = 10)]
    send_rate: u32,
    /// Seconds a new connection has for the handshake and its first (login) frame.
    #[arg(long, env = "HEARTLINK_AUTH_TIMEOUT_SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=600))]
    auth_timeout_secs: u64,
    /// PEM certificate chain (leaf first): serve wss:// instead of ws://. Needs --tls-key.
    #[arg(long, env = "HEARTLINK_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// PEM private key for --tls-cert.
    #[arg(long, env = "HEARTLINK_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// A browser origin allowed to connect, e.g. https://chat.example.org (repeat for more; '*' = any).
    /// Clients that send no Origin header (terminals, scripts) are always allowed.
    #[arg(long = "allowed-origin", env = "HEARTLINK_ALLOWED_ORIGINS", value_delimiter = ',')]
    allowed_origins: Vec<String>,
    /// The largest attachment upload, in bytes (a bigger Upload-Length is refused with 413).
    #[arg(long, env = "HEARTLINK_MAX_UPLOAD_BYTES", default_value_t = 50 * 1024 * 1024, value_parser = clap::value_parser!(u64).range(1..))]
    max_upload_bytes: u64,
    /// Bytes each user may store in uploads, all together (each counted at its size).
    #[arg(long, env = "HEARTLINK_USER_QUOTA_BYTES", default_value_t = 1024 * 1024 * 1024, value_parser = clap::value_parser!(u64).range(1..))]
    user_quota_bytes: u64,
    /// Seconds after which an upload not completed, or completed and never attached, is deleted.
    #[arg(long, env = "HEARTLINK_UPLOAD_EXPIRY_SECS", default_value_t = 24 * 3600, value_parser = clap::value_parser!(u64).range(1..))]
    upload_expiry_secs: u64,
    /// Signed-in sessions (tokens) each user may hold; a login beyond it signs out the oldest; 0 = unlimited.
    #[arg(long, env = "HEARTLINK_TOKENS_PER_USER", default_value_t = 20)]
    tokens_per_user: usize,
    /// Group rooms each user may create per rolling hour; 0 = unlimited (load tests).
    #[arg(long, env = "HEARTLINK_ROOMS_PER_HOUR", default_value_t = 30)]
    rooms_per_hour: u32,
    /// Stranger chats (pair rooms) each user may start per rolling hour; 0 = unlimited.
    #[arg(long, env = "HEARTLINK_PAIR_ROOMS_PER_HOUR", default_value_t = 30)]
    pair_rooms_per_hour: u32,
    /// `match` requests each user may make per second (burst twice that); 0 = unlimited.
    #[arg(long, env = "HEARTLINK_MATCH_RATE", default_value_t = 1)]
    match_rate: u32,
    /// Seconds a `match` waits for a partner before `match_expired`.
    #[arg(long, env = "HEARTLINK_MATCH_WAIT_SECS", default_value_t = 600, value_parser = clap::value_parser!(u64).range(1..))]
    match_wait_secs: u64,
    /// Rooms each user may be a member of at once; 0 = unlimited.
    #[arg(long, env = "HEARTLINK_MEMBERSHIPS_PER_USER", default_value_t = 1000)]
    memberships_per_user: usize,
    /// Seconds a message's idempotency record is kept: a resend within it gets the original ack [default: 30 days].
    #[arg(long, env = "HEARTLINK_DEDUP_WINDOW_SECS", default_value_t = 30 * 24 * 3600, value_parser = clap::value_parser!(u64).range(1..))]
    dedup_window_secs: u64,
    /// Seconds between sweeps of expired tokens and old idempotency records.
    #[arg(long, env = "HEARTLINK_SWEEP_INTERVAL_SECS", default_value_t = 600, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    sweep_interval_secs: u64,
    /// Open connections in all; more are refused (rate_limited, close 1013). Lowered to fit the open-file limit.
    #[arg(long, env = "HEARTLINK_MAX_CONNECTIONS", default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..))]
    max_connections: u64,
    /// Open connections from one address (an IPv6 /64); more are refused (rate_limited, close 1013).
    #[arg(long, env = "HEARTLINK_MAX_CONNECTIONS_PER_ADDRESS", default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..))]
    max_connections_per_address: u64,
    /// register/login/resume frames one connection may send before it is closed (1008).
    #[arg(long, env = "HEARTLINK_AUTH_ATTEMPTS", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..))]
    auth_attempts: u32,
    /// Password checks (logins and registrations) per address per minute, all at once at most; 0 = unlimited.
    #[arg(long, env = "HEARTLINK_AUTH_PER_MINUTE", default_value_t = 30)]
    auth_per_minute: u32,
    /// Registration attempts per address per hour, all at once at most; 0 = unlimited.
    #[arg(long, env = "HEARTLINK_REGISTRATIONS_PER_HOUR", default_value_t = 10)]
    registrations_per_hour: u32,
    /// The link of each call invitation: an http(s) URL in which {call_id} is
    /// replaced by the call's id (the server refuses to start without it).
    #[arg(long, env = "HEARTLINK_CALL_URL_TEMPLATE", default_value = heartlink_server::calls::template::DEFAULT,
        value_parser = heartlink_server::calls::CallUrlTemplate::parse)]
    call_url_template: heartlink_server::calls::CallUrlTemplate,
    /// How long a call invitation rings before the server records it as missed.
    #[arg(long, env = "HEARTLINK_CALL_RING_SECS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=3600))]
    call_ring_secs: u64,
    /// Share rooms with other nodes through Redis (`redis://[user:password@]host:port[/db]`);
    /// without it, this one process holds the live state.
    #[arg(long, env = "HEARTLINK_BUS")]
    bus: Option<String>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum RegistrationArg {
    Open,
    Closed,
}

fn main() -> anyhow::Result<()> {
    // Everything the server creates (data dir, database, lock) is for its user only.
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o077));
    let args = match Cli::parse().command {
        Command::Start(args) => args,
        Command::Admin(args) => return admin(args),
        Command::Migrate(args) => return migrate(args),
    };
    // Kept to the end: dropping it flushes the log (after the runtime is gone).
    let log = heartlink_server::logging::init();
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let outcome = runtime.block_on(start(args));
    drop(runtime);
    drop(log);
    // An error is printed by the return from main, after the log is flushed;
    // that print ignores a closed stderr.
    outcome
}

/// `admin …`: no server log (the command reports on stderr), exits with the command's code.
fn admin(args: heartlink_server::admin::cli::AdminArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().context("starting the async runtime")?;
    let code = runtime.block_on(heartlink_server::admin::cli::run(args));
    drop(runtime);
    std::process::exit(i32::from(code));
}

/// `migrate --store URL`: applies the migrations the database lacks.
fn migrate(args: MigrateArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().context("starting the async runtime")?;
    runtime.block_on(async {
        let store = open_postgres(&args.store, SchemaMode::Migrate, "cannot migrate").await?;
        let version = heartlink_server::store::postgres_store::schema::current_version();
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "{} is at schema version {version}", store.shown_url()).context("writing to stdout")?;
        Ok(())
    })
}

/// The PostgreSQL store, or one line saying why not (the password never shows).
async fn open_postgres(url: &str, mode: SchemaMode, doing: &str) -> anyhow::Result<PostgresStore> {
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        anyhow::bail!(
            "{doing}: --store must be a postgres:// URL (leave it out for the embedded store), not {}",
            heartlink_server::store::postgres_store::redact_url(url)
        );
    }
    PostgresStore::open(url, mode).await.map_err(|err| anyhow::anyhow!("{doing}: {}", heartlink_server::report::Chain(&err)))
}

async fn start(args: StartArgs) -> anyhow::Result<()> {
    let data_dir = match args.data_dir {
        Some(dir) => dir,
        None => heartlink_server::config::default_data_dir().context("no home directory to put the data in; pass --data-dir")?,
    };
    let mut config = Config::new(data_dir.clone());
    config.heartbeat = Duration::from_secs(args.heartbeat_secs);
    config.presence_grace = Duration::from_secs(args.presence_grace_secs);
    config.registration = match args.registration {
        RegistrationArg::Open => Registration::Open,
        RegistrationArg::Closed => Registration::Closed,
    };
    config.send_rate = args.send_rate;
    config.auth_timeout = Duration::from_secs(args.auth_timeout_secs);
    config.allowed_origins = AllowedOrigins::from_flags(args.allowed_origins);
    config.media.max_upload_bytes = args.max_upload_bytes;
    config.media.user_quota_bytes = args.user_quota_bytes;
    config.media.expiry = Duration::from_secs(args.upload_expiry_secs);
    config.tokens_per_user = args.tokens_per_user;
    config.rooms_per_hour = args.rooms_per_hour;
    config.pair_rooms_per_hour = args.pair_rooms_per_hour;
    config.memberships_per_user = args.memberships_per_user;
    config.match_rate = args.match_rate;
    config.match_wait = Duration::from_secs(args.match_wait_secs);
    config.dedup_window = Duration::from_secs(args.dedup_window_secs);
    config.sweep_interval = Duration::from_secs(args.sweep_interval_secs);
    config.max_connections = fit_open_file_limit(usize::try_from(args.max_connections).unwrap_or(usize::MAX));
    config.max_connections_per_address = usize::try_from(args.max_connections_per_address).unwrap_or(usize::MAX);
    config.auth_attempts = args.auth_attempts;
    config.auth_per_minute = args.auth_per_minute;
    config.registrations_per_hour = args.registrations_per_hour;
    config.call_url_template = args.call_url_template;
    config.call_ring = Duration::from_secs(args.call_ring_secs);
    config.bus = args.bus;
    if let (Some(cert), Some(key)) = (args.tls_cert, args.tls_key) {
        config.tls = Some(TlsFiles { cert, key });
    }

    let mut data_dir_lock = None;
    let server = match &args.store {
        None => Server::open(config)
            .with_context(|| format!("refusing to start: cannot use the database in {}", data_dir.display()))?,
        Some(url) => {
            // Held until the process ends: one node per data dir (its admin socket, its media files).
            let lock = heartlink_server::store::lock_data_dir(&data_dir)
                .with_context(|| format!("refusing to start: cannot use the data dir {}", data_dir.display()))?;
            data_dir_lock = Some(lock);
            let store = Arc::new(open_postgres(url, SchemaMode::Migrate, "refusing to start").await?);
            tracing::info!(store = %store.shown_url(), "durable state in PostgreSQL");
            Server::with_stores(config, store.clone(), store).context("refusing to start")?
        }
    };
    // The first line names Redis's URL (password masked) and why.
    let server = match server.connect_bus().await {
        Ok(server) => server,
        Err(err) => {
            let line = format!("refusing to start: {err}");
            return Err(anyhow::Error::new(err).context(line));
        }
    };
    let listener = heartlink_server::listen::bind(&args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let addr = listener.local_addr().context("reading the bound address")?;
    tracing::info!(%addr, data_dir = %data_dir.display(), "heartlink-server started");
    // The one stdout line: scripts and tests read the real address (port 0) from it.
    // A closed stdout (`| head`) must not stop the server: the line is only lost.
    let scheme = server.scheme();
    let mut stdout = std::io::stdout().lock();
    let announced = writeln!(stdout, "heartlink-server listening on {scheme}://{addr}/ws").and_then(|()| stdout.flush());
    drop(stdout);
    if let Err(err) = announced {
        tracing::warn!(cause = %err, "could not print the address to stdout; serving anyway");
    }

    let shutdown = CancellationToken::new();
    tokio::spawn(cancel_on_signal(shutdown.clone()));
    server.run(listener, shutdown).await.context("server stopped with an error")?;
    drop(data_dir_lock);
    Ok(())
}

/// Raises the open-file limit as far as the system allows and returns the
/// connection cap that fits in it: each connection is a file descriptor,
/// and refusals, the database and the listener need some too. Beyond the
/// limit `accept` would fail with EMFILE and nobody would learn why.
fn fit_open_file_limit(wanted: usize) -> usize {
    const RESERVE: usize = heartlink_server::admission::MAX_REFUSING + 128;
    let limit = match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => usize::try_from(limit).unwrap_or(usize::MAX),
        Err(err) => {
            tracing::warn!(cause = %err, "cannot read the open-file limit; keeping --max-connections as given");
            return wanted;
        }
    };
    let fits = limit.saturating_sub(RESERVE).max(1);
    if wanted > fits {
        tracing::warn!(wanted, open_file_limit = limit, max_connections = fits, "--max-connections lowered to fit the open-file limit");
        fits
    } else {
        wanted
    }
}

async fn cancel_on_signal(shutdown: CancellationToken) {
    let mut terminate = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(signal) => signal,
        Err(err) => {
            tracing::error!(cause = %err, "cannot listen for SIGTERM; only ctrl-c stops the server");
            let _ = tokio::signal::ctrl_c().await;
            shutdown.cancel();
            return;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT received"),
        _ = terminate.recv() => tracing::info!("SIGTERM received"),
    }
    shutdown.cancel();
}
