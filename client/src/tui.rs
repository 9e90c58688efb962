//! The terminal loop: sets the terminal up (and always restores it), turns
//! terminal events, network events and clock ticks into [`Msg`]s, runs
//! [`App::update`], carries out the effects and redraws — at most once per
//! [`FRAME`] for news and [`INPUT_FRAME`] for the user's own input, so a
//! flood of messages costs a bounded number of redraws.

mod terminal_events;

use crate::app::{App, Effect, Msg};
use crate::config::ConfigDir;
use crate::error::ClientError;
use crate::events::media::MediaEvent;
use crate::frame_stats::FrameStats;
use crate::media::MediaWorker;
use crate::net::{self, NetHandle};
use crossterm::event::{
    DisableBracketedPaste, DisableFocusChange, DisableMouseCapture, EnableBracketedPaste, EnableFocusChange, EnableMouseCapture,
    Event, KeyEventKind,
};
use ratatui::DefaultTerminal;
use tokio::time::{Duration, Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Clock tick: drives the reconnect countdown, typing timeouts and read markers.
const TICK: Duration = Duration::from_millis(500);
/// The least time between two redraws for what arrives from the network
/// (20 frames/s): a room receiving hundreds of messages a second is
/// redrawn at this pace rather than once per message. Nobody reads 200
/// lines a second, and each frame at 160×50 costs ~0.9 ms of CPU: at 30
/// frames/s the redraws alone were ~2.5% of a core (docs/BENCHMARKS.md, B7).
const FRAME: Duration = Duration::from_millis(50);
/// The least time between two redraws when the user typed, clicked, pasted
/// or resized: what they do shows within a 60 Hz refresh even while the
/// room floods. After a quiet spell it is drawn at once.
const INPUT_FRAME: Duration = Duration::from_millis(16);

/// Raw mode, alternate screen, mouse and bracketed paste, undone on drop
/// (ratatui's init also restores the terminal if anything panics).
struct TerminalGuard {
    terminal: DefaultTerminal,
}

impl TerminalGuard {
    fn enter() -> Result<Self, ClientError> {
        let terminal = ratatui::try_init()?;
        crossterm::execute!(std::io::stdout(), EnableMouseCapture, EnableBracketedPaste, EnableFocusChange)?;
        Ok(Self { terminal })
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        let _ = crossterm::execute!(std::io::stdout(), DisableMouseCapture, DisableBracketedPaste, DisableFocusChange);
        ratatui::restore();
    }
}

/// Runs the chat client until the user quits.
pub async fn run(mut app: App, initial: Vec<Effect>, config: ConfigDir) -> Result<(), ClientError> {
    let mut guard = TerminalGuard::enter()?;
    // Before the event stream starts reading the terminal's answers.
    app.look.wide_vs16 = measure_vs16_width(&mut guard.terminal);
    let picker = image_picker(app.settings.media.images);
    let _ = guard.terminal.clear();
    let tracker = TaskTracker::new();
    let cancel = CancellationToken::new();
    let mut net = net::spawn(&tracker, cancel.clone());
    let (media_tx, media_rx) = tokio::sync::mpsc::channel(256);
    let download_dir = crate::media::paths::download_dir(app.settings.media.download_dir.as_deref());
    let mut media = Media { worker: MediaWorker::new(media_tx, config.cache_dir(), download_dir, picker), events: media_rx };
    let size = guard.terminal.size()?;
    app.update(Msg::Resize { width: size.width, height: size.height });
    let result = event_loop(&mut guard.terminal, &mut app, initial, &config, &mut net, &mut media).await;
    media.worker.shut_down();
    cancel.cancel();
    tracker.close();
    // Give the net task a moment to send its close frame.
    let _ = tokio::time::timeout(Duration::from_secs(2), tracker.wait()).await;
    result
}

/// The media worker and what it reports.
struct Media {
    worker: MediaWorker,
    events: tokio::sync::mpsc::Receiver<MediaEvent>,
}

/// How images are drawn: asks the terminal (before the event stream
/// reads it) unless the settings say half-blocks or the terminal sits
/// behind a multiplexer.
fn image_picker(images: crate::settings::Images) -> ratatui_image::picker::Picker {
    match images {
        crate::settings::Images::Auto if behind_multiplexer(|name| std::env::var_os(name)) => {
            tracing::info!("inside tmux or screen: images are drawn with half-blocks");
            ratatui_image::picker::Picker::halfblocks()
        }
        crate::settings::Images::Auto => ratatui_image::picker::Picker::from_query_stdio().unwrap_or_else(|err| {
            tracing::info!(cause = %err, "the terminal did not say how it shows images; using half-blocks");
            ratatui_image::picker::Picker::halfblocks()
        }),
        crate::settings::Images::Halfblocks | crate::settings::Images::Off => ratatui_image::picker::Picker::halfblocks(),
    }
}

/// Whether the terminal is tmux or screen. The image query reads its answer
/// on a thread of its own, and when the answer is late (a multiplexer
/// forwards or drops the graphics queries; a busy machine delays it) that
/// thread is left blocked on standard input after the query gave up: it
/// then swallows the user's first keys and the answers crossterm waits for,
/// and the screen stayed blank. Multiplexers draw no graphics protocol by
/// default anyway, so half-blocks lose nothing there.
fn behind_multiplexer(var: impl Fn(&str) -> Option<std::ffi::OsString>) -> bool {
    let set = |name: &str| var(name).is_some_and(|value| !value.is_empty());
    let term = var("TERM").map(|term| term.to_string_lossy().into_owned()).unwrap_or_default();
    set("TMUX") || set("STY") || term.starts_with("tmux") || term.starts_with("screen")
}

fn wall_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

async fn event_loop(
    terminal: &mut DefaultTerminal,
    app: &mut App,
    initial: Vec<Effect>,
    config: &ConfigDir,
    net: &mut NetHandle,
    media: &mut Media,
) -> Result<(), ClientError> {
    let mut terminal_events = terminal_events::TerminalEvents::start();
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    app.update(Msg::WallClock(wall_ms()));
    apply(app, initial, config, net, &mut media.worker).await;
    let mut stats = FrameStats::from_env();
    let mut dirty = true;
    // The user's own input waiting to be drawn: drawn sooner than news.
    let mut input_waiting = false;
    let mut last_frame: Option<Instant> = None;
    while !app.quitting {
        let gap = if input_waiting { INPUT_FRAME } else { FRAME };
        let next_frame = last_frame.map_or_else(Instant::now, |last| last + gap);
        if dirty && Instant::now() >= next_frame {
            let started = Instant::now();
            let mut pane = app.pane;
            terminal.draw(|frame| pane = crate::ui::render(app, frame))?;
            stats.record(started.elapsed());
            dirty = false;
            input_waiting = false;
            last_frame = Some(started);
            // The app counts rows for scrolling at the width the view drew.
            if pane != app.pane {
                app.update(Msg::PaneSize { width: pane.0, height: pane.1 });
                dirty = true;
            }
        }
        let msg = tokio::select! {
            event = terminal_events.events.recv() => match event {
                Some(Ok(event)) => match terminal_msg(event) {
                    Some(msg) => msg,
                    None => continue,
                },
                Some(Err(err)) => return Err(ClientError::Terminal(err)),
                None => return Ok(()),
            },
            event = net.events.recv() => match event {
                Some(event) => Msg::Net(event),
                None => return Ok(()),
            },
            event = media.events.recv() => match event {
                Some(event) => {
                    // Opening a sound device can make the audio library
                    // write to the terminal: draw everything again after it.
                    if matches!(event, MediaEvent::RecordingStarted { .. } | MediaEvent::RecordingFailed { .. } | MediaEvent::PlayStarted { .. } | MediaEvent::PlayFailed { .. }) {
                        let _ = terminal.clear();
                    }
                    Msg::Media(event)
                }
                None => continue,
            },
            _ = tick.tick() => {
                app.update(Msg::WallClock(wall_ms()));
                Msg::Tick { now: Instant::now() }
            }
            // A change is waiting for the frame interval to pass.
            () = tokio::time::sleep_until(next_frame), if dirty => continue,
        };
        input_waiting |= matches!(msg, Msg::Key(_) | Msg::Mouse(_) | Msg::Paste(_) | Msg::Resize { .. });
        let effects = app.update(msg);
        apply(app, effects, config, net, &mut media.worker).await;
        // Apply whatever else the network already delivered before drawing
        // again, so a burst of messages is one change, not one each.
        while let Ok(event) = net.events.try_recv() {
            let effects = app.update(Msg::Net(event));
            apply(app, effects, config, net, &mut media.worker).await;
        }
        dirty = true;
    }
    Ok(())
}

fn terminal_msg(event: Event) -> Option<Msg> {
    match event {
        Event::Key(key) if key.kind != KeyEventKind::Release => Some(Msg::Key(key)),
        Event::Mouse(mouse) => Some(Msg::Mouse(mouse)),
        Event::Paste(text) => Some(Msg::Paste(text)),
        Event::Resize(width, height) => Some(Msg::Resize { width, height }),
        Event::FocusGained => Some(Msg::Focus(true)),
        Event::FocusLost => Some(Msg::Focus(false)),
        Event::Key(_) => None,
    }
}

async fn apply(app: &mut App, effects: Vec<Effect>, config: &ConfigDir, net: &NetHandle, media: &mut MediaWorker) {
    for effect in effects {
        match effect {
            // The net task drains its commands in every state, so this wait is short.
            Effect::Net(command) => {
                if net.commands.send(command).await.is_err() {
                    tracing::error!("the network task has stopped");
                }
            }
            Effect::SaveSession(session) => {
                if let Err(err) = config.save_session(&session) {
                    tracing::error!(cause = %err, "saving the session failed");
                    app.notify(format!("could not save the session: {err}"), true);
                }
            }
            Effect::SaveOutbox(outbox) => {
                if let Err(err) = config.save_outbox(&outbox) {
                    tracing::error!(cause = %err, "saving the outbox failed");
                    app.notify(format!("could not save the unsent messages: {err}"), true);
                }
            }
            Effect::Copy(text) => write_terminal(&osc52(&text)),
            Effect::Bell => write_terminal("\x07"),
            Effect::Notify { title, body } => write_terminal(&notification(app.settings.desktop, &title, &body)),
            Effect::Open(argv) => open(&argv),
            Effect::Media(command) => media.handle(command),
            Effect::Quit => app.quitting = true,
        }
    }
}

/// Writes control text for the terminal itself (bell, clipboard) between frames.
fn write_terminal(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

/// OSC 52: asks the terminal to put `text` on the clipboard (terminals
/// that do not allow it ignore the request).
pub fn osc52(text: &str) -> String {
    use base64::Engine;
    format!("\x1b]52;c;{}\x07", base64::engine::general_purpose::STANDARD.encode(text))
}

/// A desktop notification as the terminal's escape sequence (OSC 9 or
/// OSC 777). The text is sanitized by the app; the separators of OSC 777
/// and anything that could end the sequence early are taken out here too.
pub fn notification(via: crate::settings::Desktop, title: &str, body: &str) -> String {
    use crate::settings::Desktop;
    let clean = |text: &str| -> String {
        crate::sanitize::sanitize_line(text).chars().map(|c| if c == ';' { ',' } else { c }).collect()
    };
    match via {
        Desktop::Off => String::new(),
        Desktop::Osc9 => format!("\x1b]9;{}: {}\x07", clean(title), clean(body)),
        Desktop::Osc777 => format!("\x1b]777;notify;{};{}\x07", clean(title), clean(body)),
    }
}

/// Runs the configured opener, detached, with no shell and no terminal.
fn open(argv: &[String]) {
    let Some((program, args)) = argv.split_first() else { return };
    let spawned = std::process::Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    match spawned {
        // Reaped in the background so it does not linger as a zombie.
        Ok(mut child) => drop(std::thread::spawn(move || child.wait())),
        Err(err) => tracing::warn!(cause = %err, program = %program, "could not run the link opener"),
    }
}

/// Whether this terminal advances the cursor two columns for `❤️` (an
/// emoji with VS16): prints it at the top left and asks where the cursor
/// went. tmux and VTE say one column; kitty, foot and iTerm2 say two. A
/// terminal that does not answer is taken to follow the Unicode tables.
fn measure_vs16_width(terminal: &mut DefaultTerminal) -> bool {
    use crossterm::{cursor, execute, style::Print};
    let probe = (|| -> std::io::Result<u16> {
        execute!(std::io::stdout(), cursor::MoveTo(0, 0), Print("\u{2764}\u{fe0f}"))?;
        let (column, _) = cursor::position()?;
        Ok(column)
    })();
    let _ = terminal.clear();
    match probe {
        Ok(column) => column != 1,
        Err(err) => {
            tracing::info!(cause = %err, "the terminal did not report the cursor; assuming wide emoji");
            true
        }
    }
}

#[cfg(test)]
mod tests {
    use super::behind_multiplexer;
    use std::ffi::OsString;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<OsString> {
        let pairs: Vec<(String, String)> = pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        move |name| pairs.iter().find(|(key, _)| key == name).map(|(_, value)| OsString::from(value))
    }

    #[test]
    fn tmux_and_screen_are_recognised_and_plain_terminals_are_queried() {
        assert!(behind_multiplexer(env(&[("TMUX", "/tmp/tmux-0/default,1,0"), ("TERM", "xterm-256color")])));
        assert!(behind_multiplexer(env(&[("TERM", "tmux-256color")])));
        assert!(behind_multiplexer(env(&[("STY", "1234.pts-0.host"), ("TERM", "xterm")])));
        assert!(behind_multiplexer(env(&[("TERM", "screen.xterm-256color")])));
        assert!(!behind_multiplexer(env(&[("TERM", "xterm-kitty")])));
        assert!(!behind_multiplexer(env(&[("TMUX", ""), ("TERM", "wezterm")])));
    }
}
