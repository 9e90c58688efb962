//! Ends match waits that ran out: every second, the waits older than
//! `--match-wait-secs` leave the queue and their connections are told
//! `match_expired` (through the bus: the connection may be on another node).

use crate::bus::UserEvent;
use crate::report::Chain;
use crate::shared::Shared;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How often the queue is looked at: a wait ends at most this late.
const CHECK_EVERY: Duration = Duration::from_secs(1);

/// Runs until `shutdown`.
pub async fn run(shared: Arc<Shared>, shutdown: CancellationToken) {
    let mut ticks = tokio::time::interval(CHECK_EVERY);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = ticks.tick() => {}
        }
        let expired = match shared.live.expire_matches(shared.config.match_wait).await {
            Ok(expired) => expired,
            Err(err) => {
                tracing::error!(cause = %Chain(&err), "could not expire match waits; trying again");
                continue;
            }
        };
        for ticket in expired {
            tracing::info!(conn = %ticket.conn, "match wait expired");
            let event = UserEvent::MatchExpired { conn: ticket.conn };
            if let Err(err) = shared.bus.publish_user(ticket.user.id, event).await {
                tracing::warn!(cause = %Chain(&err), "match_expired not published");
            }
        }
    }
}
