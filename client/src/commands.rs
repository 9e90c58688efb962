//! What each `heartlink-tui` command does, between the parsed arguments and
//! the chat screen or the script commands. Everything printed here passes
//! through the sanitizer: a server's words (a username, a refusal) reach
//! the terminal as visible text, never as escape sequences.

use crate::app::{App, LoginForm, Mode};
use crate::cli::{AccountArgs, Command, DEFAULT_SERVER};
use crate::config::ConfigDir;
use crate::error::ClientError;
use crate::sanitize::sanitize_line;
use crate::session::Account;
use std::io::{Read, Write};
use tokio::time::{Duration, Instant};

/// Seconds east of UTC, for showing message times in local time.
pub fn local_utc_offset() -> i64 {
    i64::from(chrono::Local::now().offset().local_minus_utc())
}

/// Prints one line to standard output, sanitized.
pub fn say(text: &str) {
    let _ = writeln!(std::io::stdout(), "{}", sanitize_line(text));
}

/// Runs one command to completion.
pub async fn run(command: Option<Command>, config: ConfigDir) -> Result<(), ClientError> {
    match command {
        None => resume(config).await,
        Some(Command::Login(args)) if args.password_stdin => login_from_stdin(Mode::Login, args, &config).await,
        Some(Command::Register(args)) if args.password_stdin => login_from_stdin(Mode::Register, args, &config).await,
        Some(Command::Login(args)) => account(Mode::Login, args, config).await,
        Some(Command::Register(args)) => account(Mode::Register, args, config).await,
        Some(Command::Logout) => logout(&config).await,
        Some(Command::Send { room, timeout, file, voice, text, .. }) if file.is_some() || voice.is_some() => {
            let session = config.load_session()?.ok_or(ClientError::NotLoggedIn)?;
            let as_voice = voice.is_some();
            let path = voice.or(file).unwrap_or_default();
            let seq = crate::script::send_file(&session, room, &path, &text.join(" "), Duration::from_secs(timeout), as_voice).await?;
            say(&format!("sent (seq {seq})"));
            Ok(())
        }
        Some(Command::Send { room, timeout, lines, text, .. }) => {
            let session = config.load_session()?.ok_or(ClientError::NotLoggedIn)?;
            let messages = messages_to_send(&text, lines)?;
            let seqs = crate::script::send(&session, room, &messages, Duration::from_secs(timeout)).await?;
            for seq in seqs {
                say(&format!("sent (seq {seq})"));
            }
            Ok(())
        }
        Some(Command::Download { media_id, output }) => {
            let session = config.load_session()?.ok_or(ClientError::NotLoggedIn)?;
            let (path, bytes) = crate::script::download(&session, media_id, output.as_deref()).await?;
            say(&format!("saved {bytes} bytes to {}", crate::sanitize::sanitize_line(&path.display().to_string())));
            Ok(())
        }
        Some(Command::Tail { room, json }) => {
            let session = config.load_session()?.ok_or(ClientError::NotLoggedIn)?;
            crate::script::tail(&session, room, json, local_utc_offset()).await
        }
        Some(Command::Config { print: _ }) => {
            // With or without --print: showing is all this command does.
            let settings = config.load_settings()?;
            say(&format!("# {}", config.settings_path().display()));
            for line in settings.to_toml().lines() {
                say(line);
            }
            Ok(())
        }
    }
}

/// The messages `send` was given: its words, or standard input for `-`.
fn messages_to_send(text: &[String], lines: bool) -> Result<Vec<String>, ClientError> {
    if text != ["-"] {
        if lines {
            return Err(ClientError::Usage("--lines reads standard input: give `-` as the message".into()));
        }
        return Ok(vec![text.join(" ")]);
    }
    let mut input = String::new();
    std::io::stdin().read_to_string(&mut input).map_err(ClientError::Terminal)?;
    let messages: Vec<String> = if lines {
        input.lines().filter(|line| !line.trim().is_empty()).map(str::to_owned).collect()
    } else {
        // One message: the trailing newline of `echo` is not part of it.
        vec![input.trim_end_matches(['\n', '\r']).to_owned()]
    };
    if messages.iter().all(|message| message.trim().is_empty()) {
        return Err(ClientError::Usage("standard input was empty: nothing to send".into()));
    }
    Ok(messages)
}

/// The settings and how this terminal shows colours, or why they cannot be used.
fn prepare_app(app: &mut App, config: &ConfigDir) -> Result<(), ClientError> {
    let settings = config.load_settings()?;
    let env = |name: &str| std::env::var(name).ok();
    let detected = crate::theme::ColorMode::detect(env("NO_COLOR").as_deref(), env("COLORTERM").as_deref(), env("TERM").as_deref());
    let look = crate::timeline::Appearance {
        theme: settings.theme(detected),
        time_format: settings.time_format.clone(),
        wide_vs16: true,
    };
    app.configure(settings, look);
    app.utc_offset_secs = local_utc_offset();
    Ok(())
}

/// No arguments: the saved session, or the login screen saying why not.
async fn resume(config: ConfigDir) -> Result<(), ClientError> {
    let (mut app, effects) = match config.load_session() {
        Ok(Some(session)) => {
            let account = Account { server: session.server.clone(), username: session.username.clone() };
            let unsent = config.load_outbox(&account)?;
            App::resume(session, unsent, Instant::now())
        }
        Ok(None) => {
            let reason = "no saved session — log in (F2 creates an account)".to_owned();
            let form = LoginForm::new(Mode::Login, DEFAULT_SERVER.to_owned(), None, Some(reason));
            App::login(form, &[], Vec::new(), Instant::now())
        }
        Err(err) => {
            let form = LoginForm::new(Mode::Login, DEFAULT_SERVER.to_owned(), None, Some(err.to_string()));
            App::login(form, &[], Vec::new(), Instant::now())
        }
    };
    prepare_app(&mut app, &config)?;
    crate::tui::run(app, effects, config).await
}

/// `login` / `register`: the form, filled with the flags and the saved session.
async fn account(mode: Mode, args: AccountArgs, config: ConfigDir) -> Result<(), ClientError> {
    let saved = config.load_session().ok().flatten();
    let server = args
        .server
        .map(|server| crate::server_url::normalize_list(&server).unwrap_or(server))
        .or_else(|| saved.as_ref().map(|s| s.server.clone()))
        .unwrap_or_else(|| DEFAULT_SERVER.to_owned());
    let username = args.username.or_else(|| saved.as_ref().map(|s| s.username.clone()));
    // The rooms (and unsent messages) of a saved session come back when the
    // same user on the same server logs in again.
    let same = saved.filter(|s| username.as_ref().is_some_and(|u| u.eq_ignore_ascii_case(&s.username)) && s.server == server);
    let rooms = same.as_ref().map(|s| s.rooms.clone()).unwrap_or_default();
    let active = same.as_ref().and_then(|s| s.active);
    let unsent = match &username {
        Some(username) => config.load_outbox(&Account { server: server.clone(), username: username.clone() })?,
        None => Vec::new(),
    };
    let form = LoginForm::new(mode, server, username, None);
    let (mut app, effects) = App::login_into(form, &rooms, active, unsent, Instant::now());
    prepare_app(&mut app, &config)?;
    crate::tui::run(app, effects, config).await
}

/// `login --password-stdin`: logs in (or registers) without the chat
/// screen and saves the session, like `docker login --password-stdin`.
async fn login_from_stdin(mode: Mode, args: AccountArgs, config: &ConfigDir) -> Result<(), ClientError> {
    let username = args.username.ok_or_else(|| ClientError::Usage("--password-stdin needs --username".into()))?;
    let server = crate::server_url::normalize_list(args.server.as_deref().unwrap_or(DEFAULT_SERVER)).map_err(ClientError::Usage)?;
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).map_err(ClientError::Terminal)?;
    let password = line.trim_end_matches(['\n', '\r']).to_owned();
    if password.is_empty() {
        return Err(ClientError::Usage("standard input held no password".into()));
    }
    let session = crate::script::login(mode, &server, &username, password).await?;
    config.save_session(&session)?;
    say(&format!("logged in to {} as {}", session.server, session.username));
    Ok(())
}

async fn logout(config: &ConfigDir) -> Result<(), ClientError> {
    let Some(session) = config.load_session()? else {
        say("not logged in");
        return Ok(());
    };
    let revoked = crate::net::revoke_token(&session.server, &session.token).await;
    config.delete_session()?;
    match revoked {
        Ok(()) => say(&format!("logged out of {} as {}", session.server, session.username)),
        Err(err) => say(&format!("removed the local session; the server did not confirm revoking the token: {err}")),
    }
    Ok(())
}
