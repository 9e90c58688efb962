//! The hub's background task: publishes typing changes through the bus,
//! switches off expired typing indicators, fills delivery gaps from the
//! store, catches up rooms the bus may have lost messages of, and sends
//! the `room_activity` held back for its second.

use super::Hub;
use super::delivery::GAP_WAIT;
use crate::bus::{Bus, RoomEvent};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;

/// How often expired typing indicators are switched off.
const TYPING_SWEEP: Duration = Duration::from_secs(1);
/// How often held-back `room_activity` is looked at: a notice goes out at
/// most this long after its second is up.
const ACTIVITY_CHECK: Duration = Duration::from_millis(100);

/// Runs until `shutdown`.
pub async fn run(hub: Arc<Hub>, bus: Arc<dyn Bus>, shutdown: CancellationToken) {
    let mut typing_sweep = tokio::time::interval(TYPING_SWEEP);
    let mut gap_check = tokio::time::interval(GAP_WAIT);
    let mut activity_check = tokio::time::interval(ACTIVITY_CHECK);
    activity_check.set_missed_tick_behavior(MissedTickBehavior::Delay);
    typing_sweep.set_missed_tick_behavior(MissedTickBehavior::Delay);
    gap_check.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = hub.typing_changed() => {}
            _ = typing_sweep.tick() => hub.expire_typing(std::time::Instant::now()),
            _ = gap_check.tick() => {
                hub.fill_gaps().await;
                hub.catch_up().await;
            }
            _ = activity_check.tick() => hub.flush_activity(std::time::Instant::now()),
        }
        for change in hub.take_typing_changes() {
            let event = RoomEvent::Typing { user: change.user, active: change.active };
            if let Err(err) = bus.publish_room(change.room, event).await {
                tracing::warn!(room = %change.room, cause = %crate::report::Chain(&err), "typing change not published");
            }
        }
    }
}
