//! The terminal loop: sets the terminal up (and always restores it), turns
//! terminal events, network events and clock ticks into [`Msg`]s, runs
//! [`App::update`], carries out the effects and redraws — at most once per
//! [`FRAME`], so a flood of messages costs a bounded number of redraws.

use crate::app::{App, Effect, Msg};
use crate::config::ConfigDir;
use crate::error::ClientError;
use crate::frame_stats::FrameStats;
use crate::net::{self, NetHandle};
use crossterm::event::{DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste, EnableMouseCapture, Event, EventStream, KeyEventKind};
use futures_util::StreamExt;
use ratatui::DefaultTerminal;
use tokio::time::{Duration, Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Clock tick: drives the reconnect countdown, typing timeouts and read markers.
const TICK: Duration = Duration::from_millis(500);
/// The least time between two redraws (about 30 frames/s): a key press
/// after a quiet spell is drawn at once, but a room receiving hundreds of
/// messages a second is redrawn at this pace rather than once per message.
const FRAME: Duration = Duration::from_millis(33);

/// Raw mode, alternate screen, mouse and bracketed paste, undone on drop
/// (ratatui's init also restores the terminal if anything panics).
struct TerminalGuard {
    terminal: DefaultTerminal,
}

impl TerminalGuard {
    fn enter() -> Result<Self, ClientError> {
        let terminal = ratatui::try_init()?;
        crossterm::execute!(std::io::stdout(), EnableMouseCapture, EnableBracketedPaste)?;
        Ok(Self { terminal })
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        let _ = crossterm::execute!(std::io::stdout(), DisableMouseCapture, DisableBracketedPaste);
        ratatui::restore();
    }
}

/// Runs the chat client until the user quits.
pub async fn run(mut app: App, initial: Vec<Effect>, config: ConfigDir) -> Result<(), ClientError> {
    let mut guard = TerminalGuard::enter()?;
    let tracker = TaskTracker::new();
    let cancel = CancellationToken::new();
    let mut net = net::spawn(&tracker, cancel.clone());
    let size = guard.terminal.size()?;
    app.update(Msg::Resize { width: size.width, height: size.height });
    let result = event_loop(&mut guard.terminal, &mut app, initial, &config, &mut net).await;
    cancel.cancel();
    tracker.close();
    // Give the net task a moment to send its close frame.
    let _ = tokio::time::timeout(Duration::from_secs(2), tracker.wait()).await;
    result
}

async fn event_loop(
    terminal: &mut DefaultTerminal,
    app: &mut App,
    initial: Vec<Effect>,
    config: &ConfigDir,
    net: &mut NetHandle,
) -> Result<(), ClientError> {
    let mut events = EventStream::new();
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    apply(app, initial, config, net).await;
    let mut stats = FrameStats::from_env();
    let mut dirty = true;
    let mut next_frame = Instant::now();
    while !app.quitting {
        if dirty && Instant::now() >= next_frame {
            let started = Instant::now();
            terminal.draw(|frame| crate::ui::render(app, frame))?;
            stats.record(started.elapsed());
            dirty = false;
            next_frame = started + FRAME;
        }
        let msg = tokio::select! {
            event = events.next() => match event {
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
            _ = tick.tick() => Msg::Tick { now: Instant::now() },
            // A change is waiting for the frame interval to pass.
            () = tokio::time::sleep_until(next_frame), if dirty => continue,
        };
        let effects = app.update(msg);
        apply(app, effects, config, net).await;
        // Apply whatever else the network already delivered before drawing
        // again, so a burst of messages is one change, not one each.
        while let Ok(event) = net.events.try_recv() {
            let effects = app.update(Msg::Net(event));
            apply(app, effects, config, net).await;
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
        _ => None,
    }
}

async fn apply(app: &mut App, effects: Vec<Effect>, config: &ConfigDir, net: &NetHandle) {
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
            Effect::Quit => app.quitting = true,
        }
    }
}
