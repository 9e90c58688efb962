//! What this node registered in Redis about its live connections, kept in
//! its own memory too, so that it can register it all again: a Redis that
//! restarted empty (it needs no persistence) forgot every node's presence
//! counts, and a node whose beat was late may have been reaped by another
//! node. Without this, users with open connections would be listed offline
//! (and never announced offline later) until they reconnect.
//!
//! Each presence step changes Redis and this copy under a shared gate; a
//! restore holds the gate alone, so it writes counts no step is halfway
//! through changing. A step that fails (Redis down) still changes the copy,
//! and marks it for a restore once Redis answers.
//!
//! Typing indicators are not in Redis (they live with the connection on its
//! node), and liveness keys are renewed every second: neither needs this.
//! The match queue is not restored: see docs/SCALING.md.

use super::{RedisLive, failed, scripts, status};
use crate::live::LiveError;
use heartlink_protocol::{PresenceStatus, UserId};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

/// Users per restore script: one script blocks Redis while it runs.
const CHUNK: usize = 256;

/// One user's connections on this node, as registered in Redis, or the
/// grace period this node is waiting out for them after their last one.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Counted {
    conns: u32,
    away: u32,
    /// With no connection: the grace period's id.
    leaving: Option<u64>,
}

/// This node's copy of what it registered.
#[derive(Debug, Default)]
pub(super) struct Registered {
    users: Mutex<HashMap<UserId, Counted>>,
    /// Shared by every presence step, held alone by a restore.
    pub gate: tokio::sync::RwLock<()>,
    /// A step failed since the last restore: Redis may not hold what the copy does.
    stale: AtomicBool,
}

impl Registered {
    fn users(&self) -> MutexGuard<'_, HashMap<UserId, Counted>> {
        self.users.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A step on Redis failed: restore once it answers.
    pub fn failed(&self) {
        self.stale.store(true, Ordering::Relaxed);
    }

    pub fn opened(&self, user: UserId) {
        let mut users = self.users();
        let counted = users.entry(user).or_default();
        counted.conns += 1;
        counted.leaving = None;
    }

    /// A connection closed; `leaving` when it was the user's last anywhere.
    pub fn closed(&self, user: UserId, away: bool, leaving: Option<u64>) {
        let mut users = self.users();
        let Some(counted) = users.get_mut(&user) else { return };
        counted.conns = counted.conns.saturating_sub(1);
        if away {
            counted.away = counted.away.saturating_sub(1);
        }
        counted.away = counted.away.min(counted.conns);
        if counted.conns == 0 {
            match leaving {
                Some(leaving) => counted.leaving = Some(leaving),
                None => {
                    users.remove(&user);
                }
            }
        }
    }

    /// The grace period `leaving` of `user` ended (offline or not).
    pub fn grace_ended(&self, user: UserId, leaving: u64) {
        let mut users = self.users();
        if users.get(&user).is_some_and(|counted| counted.conns == 0 && counted.leaving == Some(leaving)) {
            users.remove(&user);
        }
    }

    /// After a restore: `user`'s grace period is `leaving` now, or (`None`) they have connections elsewhere.
    fn regrace(&self, user: UserId, leaving: Option<u64>) {
        let mut users = self.users();
        match leaving {
            Some(leaving) => {
                let counted = users.entry(user).or_default();
                if counted.conns == 0 {
                    counted.leaving = Some(leaving);
                }
            }
            None => {
                if users.get(&user).is_some_and(|counted| counted.conns == 0) {
                    users.remove(&user);
                }
            }
        }
    }

    /// As `SET_AWAY` does: the away count moves within 0..=connections.
    pub fn set_away(&self, user: UserId, away: bool) {
        let mut users = self.users();
        let Some(counted) = users.get_mut(&user) else { return };
        counted.away = if away { (counted.away + 1).min(counted.conns) } else { counted.away.saturating_sub(1) };
    }

    fn snapshot(&self) -> Vec<(UserId, Counted)> {
        self.users().iter().map(|(user, counted)| (*user, *counted)).collect()
    }
}

/// What a restore changed for the other nodes' viewers.
#[derive(Debug, Default)]
pub struct Restored {
    /// Users whose shown status is new (online or away again): to announce.
    pub shown: Vec<(UserId, PresenceStatus)>,
    /// Users with no connection left anywhere whose grace period started, with its id.
    pub leaving: Vec<(UserId, u64)>,
}

impl RedisLive {
    /// Whether a presence step failed since the last restore.
    pub(crate) fn needs_restore(&self) -> bool {
        self.registered.stale.load(Ordering::Relaxed)
    }

    /// Registers this node's connections in Redis again (after the node is
    /// registered again: its liveness key exists). Users Redis counts here
    /// who have no connection here any more are taken off.
    pub async fn restore(&self) -> Result<Restored, LiveError> {
        let _alone = self.registered.gate.write().await;
        self.registered.stale.store(false, Ordering::Relaxed);
        let outcome = self.restore_counts().await;
        if outcome.is_err() {
            self.registered.failed();
        }
        outcome
    }

    async fn restore_counts(&self) -> Result<Restored, LiveError> {
        let node = self.node().to_string();
        let counted = self.registered.snapshot();
        let mut conn = self.conn().await?.0;
        let mut members = redis::cmd("SMEMBERS");
        members.arg(format!("hl:node_users:{node}"));
        let listed = match tokio::time::timeout(super::TIMEOUT, members.query_async::<Vec<String>>(&mut conn)).await {
            Ok(outcome) => outcome.map_err(failed)?,
            Err(_) => return Err(failed(super::TimedOut)),
        };
        let mut rows: Vec<(String, u32, u32)> =
            counted.iter().map(|(user, counted)| (user.0.to_string(), counted.conns, counted.away)).collect();
        let here: std::collections::HashSet<&str> = rows.iter().map(|(user, _, _)| user.as_str()).collect();
        let gone: Vec<String> = listed.into_iter().filter(|user| !here.contains(user.as_str())).collect();
        rows.extend(gone.into_iter().map(|user| (user, 0, 0)));
        let mut restored = Restored::default();
        let mut waiting: std::collections::HashSet<UserId> =
            rows.iter().filter(|(_, conns, _)| *conns == 0).filter_map(|(user, _, _)| user.parse().ok().map(UserId)).collect();
        for chunk in rows.chunks(CHUNK) {
            let mut invocation = scripts::RESTORE.prepare_invoke();
            invocation.arg(&node);
            for (user, conns, away) in chunk {
                invocation.arg(user).arg(conns).arg(away);
            }
            let reply: Vec<String> = self.run(&invocation).await?;
            for change in reply.chunks_exact(3) {
                let Ok(user) = change[0].parse().map(UserId) else { continue };
                match change[1].as_str() {
                    "s" => restored.shown.extend(status(&change[2]).map(|status| (user, status))),
                    _ => {
                        let Ok(leaving) = change[2].parse() else { continue };
                        self.registered.regrace(user, Some(leaving));
                        waiting.remove(&user);
                        restored.leaving.push((user, leaving));
                    }
                }
            }
        }
        // Gone from here but connected elsewhere: no grace to wait out here.
        for user in waiting {
            self.registered.regrace(user, None);
        }
        tracing::info!(users = rows.len(), "this node's connections registered in Redis again");
        Ok(restored)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_copy_counts_as_the_scripts_do() {
        let registered = Registered::default();
        let (ann, bob) = (UserId::random(), UserId::random());
        registered.opened(ann);
        registered.opened(ann);
        registered.set_away(ann, true);
        registered.set_away(ann, true);
        registered.set_away(ann, true);
        registered.opened(bob);
        assert_eq!(registered.users()[&ann], Counted { conns: 2, away: 2, leaving: None }, "away never exceeds the connections");
        registered.closed(ann, true, None);
        assert_eq!(registered.users()[&ann], Counted { conns: 1, away: 1, leaving: None });
        registered.set_away(ann, false);
        registered.closed(ann, false, None);
        assert!(!registered.users().contains_key(&ann), "connected elsewhere: nothing to register here");
        registered.closed(ann, false, None);
        assert_eq!(registered.snapshot(), [(bob, Counted { conns: 1, away: 0, leaving: None })]);

        // bob's last connection: his grace period is kept until it ends, and only that one ends it.
        registered.closed(bob, false, Some(7));
        assert_eq!(registered.snapshot(), [(bob, Counted { conns: 0, away: 0, leaving: Some(7) })]);
        registered.grace_ended(bob, 6);
        assert_eq!(registered.snapshot().len(), 1, "an older grace period ends nothing");
        registered.grace_ended(bob, 7);
        assert!(registered.snapshot().is_empty());
        registered.closed(bob, false, Some(8));
        registered.opened(bob);
        assert_eq!(registered.snapshot(), [(bob, Counted { conns: 1, away: 0, leaving: None })], "back within the grace");
    }
}
