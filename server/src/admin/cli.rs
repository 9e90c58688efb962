//! `heartlink-server admin …`: the subcommands, what they print, and their
//! exit codes. Everything printed that came from the network (names,
//! reasons, bodies) goes through `text::safe`.
//!
//! Exit codes: 0 done; 1 failed inside (the store, the socket); 2 a bad
//! argument; 3 no such user, room or message; 4 the data dir is busy
//! (another admin command, or a server without a socket); 5 no data dir,
//! or a damaged one; 6 an import refused (a bad file, a target not empty);
//! 7 the operator said no at the prompt.

use super::client::{self, AskError};
use super::export_file;
use super::local::{self, Reach, ReachError};
use super::request::{AdminReply, AdminRequest, RoomLine, UserLine};
use super::text::safe;
use heartlink_protocol::{RoomId, UserId};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

/// Operator commands on a data dir (a running server's, through its admin socket).
#[derive(Debug, clap::Args)]
pub struct AdminArgs {
    /// The server's data dir [default: the platform data dir, e.g. ~/.local/share/heartlink].
    #[arg(long, env = "HEARTLINK_DATA_DIR", global = true)]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: AdminCommand,
}

#[derive(Debug, clap::Subcommand)]
enum AdminCommand {
    /// List accounts (a page at a time, in id order).
    Users(PageArgs),
    /// List rooms (a page at a time, in id order).
    Rooms(PageArgs),
    /// Ban an account: its connections are closed (4003) and it cannot log in until unbanned.
    BanUser {
        /// The username (any case).
        name: String,
        /// Shown to the banned user (at most 100 characters).
        #[arg(long, default_value = "")]
        reason: String,
        /// Do not ask for confirmation (never asked when stdin is not a terminal).
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// Lift an account's ban.
    UnbanUser {
        name: String,
    },
    /// Blank a message's body and attachment (its seq, sender and time stay; it shows as deleted).
    DeleteMessage {
        room: RoomId,
        seq: u64,
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// Write the whole store as JSON Lines (holds password hashes: keep it private).
    Export {
        /// Write here (created 0600, in place only once complete) instead of standard output.
        #[arg(long, short = 'o')]
        output: Option<PathBuf>,
        /// Include session tokens (as hashes), so signed-in clients stay signed in after a restore.
        #[arg(long)]
        tokens: bool,
    },
    /// Restore an export into a new or empty data dir (never into one in use), or with --store into an empty PostgreSQL store.
    Import {
        /// The export file.
        file: PathBuf,
        /// Import into this PostgreSQL store (postgres://…) instead of the data dir.
        #[arg(long)]
        store: Option<String>,
    },
    /// Rewrite a stopped data dir's database without superseded data (the old bytes of deleted messages).
    Compact,
    /// List the open reports users made, oldest first.
    Reports,
    /// Show one report with the messages it concerns.
    Report {
        /// The report's id (from `admin reports`).
        id: uuid::Uuid,
    },
}

#[derive(Debug, clap::Args)]
struct PageArgs {
    /// Start after this id (the `next:` of the previous page).
    #[arg(long)]
    after: Option<String>,
    /// Entries per page (1-1000).
    #[arg(long, default_value_t = 100)]
    limit: usize,
}

/// Runs one admin command; returns the process's exit code.
pub async fn run(args: AdminArgs) -> u8 {
    let Some(dir) = args.data_dir.or_else(crate::config::default_data_dir) else {
        return fail(2, "no home directory to find the data dir in; pass --data-dir");
    };
    match args.command {
        AdminCommand::Import { file, store: None } => import(&file, &dir).await,
        AdminCommand::Import { file, store: Some(url) } => import_postgres(&file, &url).await,
        AdminCommand::Export { output, tokens } => export(&dir, output, tokens).await,
        AdminCommand::Users(page) => match page.after.map(|id| id.parse::<UserId>()).transpose() {
            Ok(after) => request(&dir, AdminRequest::Users { after, limit: page.limit }).await,
            Err(_) => fail(2, "--after takes a user id"),
        },
        AdminCommand::Rooms(page) => match page.after.map(|id| id.parse::<RoomId>()).transpose() {
            Ok(after) => request(&dir, AdminRequest::Rooms { after, limit: page.limit }).await,
            Err(_) => fail(2, "--after takes a room id"),
        },
        AdminCommand::BanUser { name, reason, yes } => {
            if !yes && !confirm(&format!("Ban {}? Their connections are closed at once.", safe(&name))) {
                return fail(7, "not banned");
            }
            request(&dir, AdminRequest::BanUser { username: name, reason }).await
        }
        AdminCommand::UnbanUser { name } => request(&dir, AdminRequest::UnbanUser { username: name }).await,
        AdminCommand::Compact => compact(&dir).await,
        AdminCommand::Reports => request(&dir, AdminRequest::Reports).await,
        AdminCommand::Report { id } => request(&dir, AdminRequest::Report { id }).await,
        AdminCommand::DeleteMessage { room, seq, yes } => {
            if !yes && !confirm(&format!("Blank message {seq} of room {room}? This cannot be undone.")) {
                return fail(7, "not deleted");
            }
            request(&dir, AdminRequest::DeleteMessage { room_id: room, seq }).await
        }
    }
}

/// Asks on the terminal; a non-terminal stdin (a script) is never asked.
fn confirm(question: &str) -> bool {
    if !std::io::stdin().is_terminal() {
        return true;
    }
    eprint!("{question} [y/N] ");
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer).is_ok() && matches!(answer.trim(), "y" | "Y" | "yes")
}

async fn reach(dir: &Path) -> Result<Reach, u8> {
    local::reach(dir).await.map_err(|err| {
        let code = match err {
            ReachError::InUse { .. } => 4,
            ReachError::Io { .. } => 1,
            ReachError::Missing(_) | ReachError::NotDataDir(_) | ReachError::Damaged(_) => 5,
        };
        fail(code, &crate::report::Chain(&err).to_string())
    })
}

async fn request(dir: &Path, request: AdminRequest) -> u8 {
    let (operator, store) = match reach(dir).await {
        Ok(Reach::Server(stream)) => {
            return match client::ask(stream, request).await {
                Ok(reply) => print_reply(reply, Compacted::Later),
                Err(err) => fail(1, &crate::report::Chain(&err).to_string()),
            };
        }
        Ok(Reach::Local(operator, store)) => (operator, store),
        Err(code) => return code,
    };
    let reply = operator.answer(request).await;
    drop(operator);
    // sled keeps a blanked body's old bytes in its log until it reclaims
    // them; on a stopped data dir they are rewritten away at once.
    if matches!(reply, AdminReply::MessageDeleted { already_deleted: false, .. }) {
        if let Err(code) = compact_store(store, dir).await {
            print_reply(reply, Compacted::Failed);
            return code;
        }
        return print_reply(reply, Compacted::Done);
    }
    print_reply(reply, Compacted::Done)
}

/// Whether the old bytes of a deleted message are gone from the disk.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Compacted {
    Done,
    Failed,
    /// A running server's data dir: at the next `admin compact` on it stopped.
    Later,
}

async fn compact(dir: &Path) -> u8 {
    match reach(dir).await {
        Ok(Reach::Server(_)) => fail(4, "a server is running on this data dir: stop it, then compact"),
        Ok(Reach::Local(operator, store)) => {
            drop(operator);
            match compact_store(store, dir).await {
                Ok(()) => print(&format!("compacted {}\n", dir.display())),
                Err(code) => code,
            }
        }
        Err(code) => code,
    }
}

async fn compact_store(store: Box<crate::store::SledStore>, dir: &Path) -> Result<(), u8> {
    let owned = dir.to_path_buf();
    match tokio::task::spawn_blocking(move || store.compact(&owned)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(err)) => Err(fail(1, &format!("compacting the database failed: {}", crate::report::Chain(&err)))),
        Err(err) => Err(fail(1, &format!("compacting the database failed: {err}"))),
    }
}

fn print_reply(reply: AdminReply, compacted: Compacted) -> u8 {
    let mut out = String::new();
    match reply {
        AdminReply::Users { users, next } => {
            for user in &users {
                out.push_str(&user_line(user));
                out.push('\n');
            }
            out.push_str(&page_end(users.len(), "user", next.map(|id| id.to_string())));
        }
        AdminReply::Rooms { rooms, next } => {
            for room in &rooms {
                out.push_str(&room_line(room));
                out.push('\n');
            }
            out.push_str(&page_end(rooms.len(), "room", next.map(|id| id.to_string())));
        }
        AdminReply::Banned { user, connections_closed } => {
            out.push_str(&format!("banned {} ({})", safe(&user.username), user.id));
            out.push_str(if connections_closed { "; their connections were closed\n" } else { "; no server is running\n" });
        }
        AdminReply::Unbanned { user, was_banned } => {
            let what = if was_banned { "unbanned" } else { "was not banned:" };
            out.push_str(&format!("{what} {} ({})\n", safe(&user.username), user.id));
        }
        AdminReply::MessageDeleted { room_id, seq, already_deleted } => {
            let what = if already_deleted { "was already deleted" } else { "deleted" };
            let disk = match compacted {
                _ if already_deleted => "",
                Compacted::Done => "; its old bytes are gone from the disk",
                Compacted::Failed => "; its old bytes are still on the disk until `admin compact` succeeds",
                Compacted::Later => "; its old bytes leave the disk at the next `admin compact` on the stopped data dir",
            };
            out.push_str(&format!("message {seq} of room {room_id} {what}{disk}\n"));
        }
        AdminReply::Reports { reports, more } => {
            for report in &reports {
                out.push_str(&super::reports::listing_line(report, time));
                out.push('\n');
            }
            let plural = if reports.len() == 1 { "" } else { "s" };
            out.push_str(&format!("{} open report{plural}", reports.len()));
            out.push_str(&if more > 0 { format!("; {more} more not shown\n") } else { "\n".to_owned() });
        }
        AdminReply::Report { report, messages } => out.push_str(&super::reports::detail(&report, &messages, time)),
        AdminReply::Error { code, message } => return fail(client::exit_code(code), &safe(&message)),
    }
    print(&out)
}

fn user_line(user: &UserLine) -> String {
    let banned = user.banned.as_ref().map_or_else(String::new, |reason| format!("  BANNED: {}", safe(reason)));
    format!("{}  {:<32}  created {}{banned}", user.id, safe(&user.username), time(user.created_at))
}

fn room_line(room: &RoomLine) -> String {
    format!("{}  {:<5}  {:>8} msgs  created {}  {}", room.id, room.kind, room.last_seq, time(room.created_at), safe(&room.name))
}

fn page_end(count: usize, what: &str, next: Option<String>) -> String {
    let plural = if count == 1 { "" } else { "s" };
    match next {
        Some(next) => format!("{count} {what}{plural}; more: --after {next}\n"),
        None => format!("{count} {what}{plural}\n"),
    }
}

fn time(ms: u64) -> String {
    i64::try_from(ms)
        .ok()
        .and_then(chrono::DateTime::from_timestamp_millis)
        .map_or_else(|| ms.to_string(), |at| at.format("%Y-%m-%d %H:%M:%S UTC").to_string())
}

async fn export(dir: &Path, output: Option<PathBuf>, tokens: bool) -> u8 {
    if output.is_none() && std::io::stdout().is_terminal() {
        return fail(2, "an export is not for a terminal: pass --output FILE or redirect standard output");
    }
    let reach = match reach(dir).await {
        Ok(reach) => reach,
        Err(code) => return code,
    };
    let outcome = match &output {
        None => client::export(reach, tokens, &mut tokio::io::stdout()).await,
        Some(path) => {
            let partial = export_file::partial_path(path);
            let mut file = match export_file::create(&partial) {
                Ok(file) => file,
                Err(err) => return fail(1, &format!("cannot create {}: {err}", partial.display())),
            };
            let outcome = client::export(reach, tokens, &mut file).await;
            let complete = matches!(outcome, Ok(Ok(_)));
            if let Err(err) = export_file::finish(file, &partial, path, complete).await {
                return fail(1, &format!("cannot write {}: {err}", path.display()));
            }
            outcome
        }
    };
    match outcome {
        Ok(Ok(lines)) => {
            if let Some(path) = output {
                let _ = writeln!(std::io::stderr(), "exported {lines} lines to {}", path.display());
            }
            0
        }
        Ok(Err(AdminReply::Error { code, message })) => fail(client::exit_code(code), &safe(&message)),
        Ok(Err(other)) => fail(1, &format!("unexpected reply: {other:?}")),
        Err(AskError::Socket(err)) if err.kind() == std::io::ErrorKind::BrokenPipe => fail(1, "the output was closed"),
        Err(err) => fail(1, &crate::report::Chain(&err).to_string()),
    }
}

async fn import(file: &Path, dir: &Path) -> u8 {
    imported(file, &dir.display().to_string(), super::import::import(file, dir).await)
}

async fn import_postgres(file: &Path, url: &str) -> u8 {
    let shown = crate::store::postgres_store::redact_url(url);
    imported(file, &shown, super::import::import_into_postgres(file, url).await)
}

/// What an import says it did, and its exit code.
fn imported(file: &Path, target: &str, outcome: Result<super::import::Checked, super::import::ImportError>) -> u8 {
    match outcome {
        Ok(checked) => {
            let done = format!(
                "imported {} users, {} rooms, {} messages and {} uploads into {}\n",
                checked.users,
                checked.rooms,
                checked.messages,
                checked.uploads,
                target
            );
            print(&done)
        }
        Err(super::import::ImportError::Invalid(checked)) => {
            let mut report = String::new();
            for error in &checked.errors {
                match error.line {
                    0 => report.push_str(&format!("{}: {}\n", file.display(), safe(&error.message))),
                    line => report.push_str(&format!("{}:{line}: {}\n", file.display(), safe(&error.message))),
                }
            }
            let _ = std::io::stderr().write_all(report.as_bytes());
            fail(6, &format!("{} line(s) cannot be imported; nothing was imported", checked.error_count))
        }
        Err(err @ (super::import::ImportError::NotEmpty(_) | super::import::ImportError::DatabaseNotEmpty(_))) => fail(6, &err.to_string()),
        Err(err) => fail(1, &crate::report::Chain(&err).to_string()),
    }
}

fn print(text: &str) -> u8 {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush()) {
        Ok(()) => 0,
        Err(_) => 1,
    }
}

/// Prints `message` on stderr and returns `code`.
fn fail(code: u8, message: &str) -> u8 {
    let _ = writeln!(std::io::stderr(), "heartlink-server admin: {message}");
    code
}
