//! What each `heartlink-tui` command does, between the parsed arguments and
//! the chat screen or the script commands.

use crate::app::{App, LoginForm, Mode};
use crate::cli::{AccountArgs, Command, DEFAULT_SERVER};
use crate::config::ConfigDir;
use crate::error::ClientError;
use std::io::Write;
use tokio::time::{Duration, Instant};

/// Seconds east of UTC, for showing message times in local time.
pub fn local_utc_offset() -> i64 {
    i64::from(chrono::Local::now().offset().local_minus_utc())
}

/// Runs one command to completion.
pub async fn run(command: Option<Command>, config: ConfigDir) -> Result<(), ClientError> {
    match command {
        None => resume(config).await,
        Some(Command::Login(args)) => account(Mode::Login, args, config).await,
        Some(Command::Register(args)) => account(Mode::Register, args, config).await,
        Some(Command::Logout) => logout(&config).await,
        Some(Command::Send { room, timeout, file, text }) => {
            let session = config.load_session()?.ok_or(ClientError::NotLoggedIn)?;
            let wait = Duration::from_secs(timeout);
            let seq = match file {
                Some(file) => crate::script::send_file(&session, room, &file, &text.join(" "), wait).await?,
                None => crate::script::send(&session, room, &text.join(" "), wait).await?,
            };
            let _ = writeln!(std::io::stdout(), "sent (seq {seq})");
            Ok(())
        }
        Some(Command::Download { media_id, output }) => {
            let session = config.load_session()?.ok_or(ClientError::NotLoggedIn)?;
            let (path, bytes) = crate::script::download(&session, media_id, output.as_deref()).await?;
            let shown = crate::sanitize::sanitize_line(&path.display().to_string());
            let _ = writeln!(std::io::stdout(), "saved {bytes} bytes to {shown}");
            Ok(())
        }
        Some(Command::Tail { room, json }) => {
            let session = config.load_session()?.ok_or(ClientError::NotLoggedIn)?;
            crate::script::tail(&session, room, json, local_utc_offset()).await
        }
    }
}

/// No arguments: the saved session, or the login screen saying why not.
async fn resume(config: ConfigDir) -> Result<(), ClientError> {
    let (mut app, effects) = match config.load_session() {
        Ok(Some(session)) => App::resume(session, Instant::now()),
        Ok(None) => {
            let reason = "no saved session — log in (F2 creates an account)".to_owned();
            let form = LoginForm::new(Mode::Login, DEFAULT_SERVER.to_owned(), None, Some(reason));
            App::login(form, &[], Instant::now())
        }
        Err(err) => {
            let form = LoginForm::new(Mode::Login, DEFAULT_SERVER.to_owned(), None, Some(err.to_string()));
            App::login(form, &[], Instant::now())
        }
    };
    app.utc_offset_secs = local_utc_offset();
    crate::tui::run(app, effects, config).await
}

/// `login` / `register`: the form, filled with the flags and the saved session.
async fn account(mode: Mode, args: AccountArgs, config: ConfigDir) -> Result<(), ClientError> {
    let saved = config.load_session().ok().flatten();
    let server = args
        .server
        .or_else(|| saved.as_ref().map(|s| s.server.clone()))
        .unwrap_or_else(|| DEFAULT_SERVER.to_owned());
    let username = args.username.or_else(|| saved.as_ref().map(|s| s.username.clone()));
    // The rooms of a saved session re-open when the same user logs in again.
    let rooms = saved
        .filter(|s| Some(&s.username) == username.as_ref() && s.server == server)
        .map(|s| s.rooms)
        .unwrap_or_default();
    let form = LoginForm::new(mode, server, username, None);
    let (mut app, effects) = App::login(form, &rooms, Instant::now());
    app.utc_offset_secs = local_utc_offset();
    crate::tui::run(app, effects, config).await
}

async fn logout(config: &ConfigDir) -> Result<(), ClientError> {
    let Some(session) = config.load_session()? else {
        let _ = writeln!(std::io::stdout(), "not logged in");
        return Ok(());
    };
    let revoked = crate::net::revoke_token(&session.server, &session.token).await;
    config.delete_session()?;
    let mut out = std::io::stdout();
    match revoked {
        Ok(()) => {
            let _ = writeln!(out, "logged out of {} as {}", session.server, session.username);
            Ok(())
        }
        Err(err) => {
            let _ = writeln!(out, "removed the local session; the server did not confirm revoking the token: {err}");
            Ok(())
        }
    }
}
