//! The live state in Redis, shared by every node of a cluster: presence
//! counted over all nodes' connections (those of a node whose heartbeat
//! stopped stop counting within [`NODE_TTL`]), the match queue, per-user
//! rate buckets, login throttles and hourly quotas. Every step that reads
//! and changes is one Lua script (`redis/scripts.rs`,
//! `redis/match_scripts.rs`), so two nodes never interleave inside one.
//!
//! The connection is made on first use and re-made by itself after Redis
//! comes back. While Redis is down the limits fall back to this node's
//! memory (the same limits, counted per node until Redis answers: a node
//! keeps serving its members and still bounds them). A connection opened
//! meanwhile is served without being counted for presence (and its close
//! changes nothing); member lists show everyone offline; the match queue
//! fails with [`LiveError`] (an `internal` error with a retry).

mod match_scripts;
pub mod nodes;
mod scripts;

use super::{Admission, Closed, LiveError, LiveState, MatchOutcome, MatchTicket, Quota, REMATCH_AFTER, Rate};
use crate::address::AddressKey;
use crate::bus::redis::RedisConn;
use crate::config::Config;
use crate::live::local::LocalLive;
use crate::node::{ConnId, NodeId};
use async_trait::async_trait;
use heartlink_protocol::{PresenceStatus, UserId};
use redis::aio::ConnectionManagerConfig;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::OnceCell;

/// A node whose heartbeat is older than this is dead: its connections stop counting.
pub const NODE_TTL: Duration = Duration::from_secs(3);
/// Failed logins count for this long (as in memory).
const LOGIN_WINDOW: Duration = Duration::from_secs(60);
/// The per-username login bound is this many times the per-source one (as in memory).
const PER_USER_FACTOR: usize = 10;
const HOUR: Duration = Duration::from_secs(3600);
/// How long one call may wait for Redis.
const TIMEOUT: Duration = Duration::from_secs(2);

/// Redis did not answer in time.
#[derive(Debug, thiserror::Error)]
#[error("Redis did not answer within {TIMEOUT:?}")]
struct TimedOut;

/// A reply of a script that does not have the expected shape.
#[derive(Debug, thiserror::Error)]
#[error("unexpected reply from a live-state script: {0}")]
struct BadReply(String);

fn failed(err: impl std::error::Error + Send + Sync + 'static) -> LiveError {
    LiveError(Box::new(err))
}

/// The [`LiveState`] in Redis.
#[derive(Debug)]
pub struct RedisLive {
    client: redis::Client,
    conn: OnceCell<RedisConn>,
    node: NodeId,
    rates: [u32; 4],
    logins_per_source: usize,
    logins_per_user: usize,
    quotas: [u32; 3],
    /// The limits while Redis does not answer.
    fallback: LocalLive,
    /// Whether the limits are on the fallback now (logged once per outage).
    degraded: AtomicBool,
    /// Connections per user opened while Redis did not answer: not counted
    /// there, so their closing must not be either.
    uncounted: std::sync::Mutex<std::collections::HashMap<UserId, usize>>,
}

impl RedisLive {
    /// The live state of node `node` in the Redis at `url` (connected on first use).
    pub fn new(url: &str, node: NodeId, config: &Config) -> Result<Self, redis::RedisError> {
        Ok(Self {
            client: redis::Client::open(url)?,
            conn: OnceCell::new(),
            node,
            rates: [config.send_rate, config.media.creations_per_sec, config.media.requests_per_sec, config.match_rate],
            logins_per_source: config.login_failures_per_minute.max(1),
            logins_per_user: config.login_failures_per_minute.saturating_mul(PER_USER_FACTOR).max(1),
            quotas: [config.rooms_per_hour, config.pair_rooms_per_hour, config.reports_per_hour],
            fallback: LocalLive::new(config),
            degraded: AtomicBool::new(false),
            uncounted: std::sync::Mutex::default(),
        })
    }

    fn uncounted(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<UserId, usize>> {
        self.uncounted.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn node(&self) -> NodeId {
        self.node
    }

    pub(crate) async fn conn(&self) -> Result<RedisConn, LiveError> {
        let made = self.conn.get_or_try_init(|| async {
            let config = ConnectionManagerConfig::new()
                .set_connection_timeout(TIMEOUT)
                .set_response_timeout(TIMEOUT)
                .set_number_of_retries(1)
                .set_max_delay(1000);
            match tokio::time::timeout(TIMEOUT * 2, self.client.get_connection_manager_with_config(config)).await {
                Ok(Ok(conn)) => Ok(RedisConn(conn)),
                Ok(Err(err)) => Err(failed(err)),
                Err(_) => Err(failed(TimedOut)),
            }
        });
        made.await.cloned()
    }

    /// Runs `invocation` of a script with a deadline.
    pub(crate) async fn run<T: redis::FromRedisValue>(&self, invocation: &redis::ScriptInvocation<'_>) -> Result<T, LiveError> {
        let mut conn = self.conn().await?.0;
        match tokio::time::timeout(TIMEOUT, invocation.invoke_async(&mut conn)).await {
            Ok(outcome) => outcome.map_err(failed),
            Err(_) => Err(failed(TimedOut)),
        }
    }

    async fn presence(&self, script: &redis::Script, user: UserId, args: &[&str]) -> Result<redis::Value, LiveError> {
        let mut invocation = script.prepare_invoke();
        invocation.key(format!("hl:conns:{}", user.0)).key(format!("hl:away:{}", user.0));
        invocation.key(format!("hl:shown:{}", user.0)).key(format!("hl:leaving:{}", user.0));
        for arg in args {
            invocation.arg(*arg);
        }
        self.run(&invocation).await
    }

    async fn window(&self, key: String, limit: usize, window: Duration, mode: &str) -> Result<Admission, LiveError> {
        let mut invocation = scripts::WINDOW.prepare_invoke();
        invocation.key(key).arg(limit).arg(window.as_millis() as u64).arg(mode);
        let wait: i64 = self.run(&invocation).await?;
        Ok(verdict(wait))
    }

    /// What each of `users` shows as, from Redis.
    async fn shown(&self, users: &[UserId]) -> Result<Vec<PresenceStatus>, LiveError> {
        if users.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<String> = users.iter().map(|user| format!("hl:shown:{}", user.0)).collect();
        let mut conn = self.conn().await?.0;
        let shown: Vec<Option<String>> = match tokio::time::timeout(TIMEOUT, redis::cmd("MGET").arg(&keys).query_async(&mut conn)).await {
            Ok(outcome) => outcome.map_err(failed)?,
            Err(_) => return Err(failed(TimedOut)),
        };
        Ok(shown.into_iter().map(|text| text.as_deref().and_then(status).unwrap_or(PresenceStatus::Offline)).collect())
    }

    fn quota_limit(&self, quota: Quota) -> (u32, &'static str) {
        match quota {
            Quota::Rooms => (self.quotas[0], "rooms"),
            Quota::PairRooms => (self.quotas[1], "pair_rooms"),
            Quota::Reports => (self.quotas[2], "reports"),
        }
    }

    async fn quota(&self, quota: Quota, user: UserId, mode: &str) -> Result<Admission, LiveError> {
        let (limit, name) = self.quota_limit(quota);
        if limit == 0 {
            return Ok(Admission::Allowed);
        }
        self.window(format!("hl:quota:{name}:{}", user.0), limit as usize, HOUR, mode).await
    }
}

impl RedisLive {
    /// `shared` (a limit counted in Redis) when Redis answers, else `local`
    /// (the same limit in this node's memory).
    async fn limit<T>(
        &self,
        shared: impl Future<Output = Result<T, LiveError>>,
        local: impl Future<Output = Result<T, LiveError>>,
    ) -> Result<T, LiveError> {
        match shared.await {
            Ok(outcome) => {
                if self.degraded.swap(false, Ordering::Relaxed) {
                    tracing::info!("Redis answers again: limits are shared by the nodes again");
                }
                Ok(outcome)
            }
            Err(err) => {
                if !self.degraded.swap(true, Ordering::Relaxed) {
                    tracing::error!(cause = %crate::report::Chain(&err), "Redis does not answer: limits are counted on this node alone meanwhile");
                }
                local.await
            }
        }
    }
}

fn verdict(wait_ms: i64) -> Admission {
    if wait_ms < 0 { Admission::Allowed } else { Admission::RetryAfter(Duration::from_millis(wait_ms.unsigned_abs())) }
}

fn status(text: &str) -> Option<PresenceStatus> {
    match text {
        "online" => Some(PresenceStatus::Online),
        "away" => Some(PresenceStatus::Away),
        _ => None,
    }
}

fn status_of(value: &redis::Value) -> Result<Option<PresenceStatus>, LiveError> {
    let text: String = redis::from_redis_value(value).map_err(failed)?;
    Ok(status(&text))
}

fn login_keys(source: AddressKey, name: &str) -> (String, String) {
    (format!("hl:login:{source}:{name}"), format!("hl:login:*:{name}"))
}

#[async_trait]
impl LiveState for RedisLive {
    async fn connection_opened(&self, user: UserId) -> Result<Option<PresenceStatus>, LiveError> {
        let (node, id) = (self.node.to_string(), user.0.to_string());
        match self.presence(&scripts::OPENED, user, &[&node, &id]).await {
            Ok(reply) => status_of(&reply),
            Err(err) => {
                tracing::warn!(cause = %crate::report::Chain(&err), "Redis does not answer: a connection is served without counting for presence");
                *self.uncounted().entry(user).or_default() += 1;
                Ok(None)
            }
        }
    }

    async fn connection_closed(&self, user: UserId, away: bool) -> Result<Closed, LiveError> {
        {
            let mut uncounted = self.uncounted();
            if let Some(count) = uncounted.get_mut(&user) {
                *count -= 1;
                if *count == 0 {
                    uncounted.remove(&user);
                }
                return Ok(Closed::Stays(None));
            }
        }
        let (node, id) = (self.node.to_string(), user.0.to_string());
        let reply = self.presence(&scripts::CLOSED, user, &[&node, &id, if away { "1" } else { "0" }]).await?;
        let (last, value): (u8, redis::Value) = redis::from_redis_value(&reply).map_err(failed)?;
        if last == 1 {
            Ok(Closed::Last { leaving: redis::from_redis_value(&value).map_err(failed)? })
        } else {
            Ok(Closed::Stays(status_of(&value)?))
        }
    }

    async fn set_away(&self, user: UserId, away: bool) -> Result<Option<PresenceStatus>, LiveError> {
        let node = self.node.to_string();
        status_of(&self.presence(&scripts::SET_AWAY, user, &[&node, if away { "1" } else { "0" }]).await?)
    }

    async fn offline_due(&self, user: UserId, leaving: u64) -> Result<bool, LiveError> {
        let (node, id) = (self.node.to_string(), user.0.to_string());
        let reply = self.presence(&scripts::OFFLINE_DUE, user, &[&leaving.to_string(), &node, &id]).await?;
        redis::from_redis_value::<u8>(&reply).map(|gone| gone == 1).map_err(failed)
    }

    async fn online(&self, users: &[UserId]) -> Result<Vec<bool>, LiveError> {
        Ok(self.statuses(users).await?.into_iter().map(|status| status != PresenceStatus::Offline).collect())
    }

    async fn statuses(&self, users: &[UserId]) -> Result<Vec<PresenceStatus>, LiveError> {
        match self.shown(users).await {
            Ok(statuses) => Ok(statuses),
            Err(err) => {
                tracing::warn!(cause = %crate::report::Chain(&err), "Redis does not answer: members listed as offline");
                Ok(vec![PresenceStatus::Offline; users.len()])
            }
        }
    }

    async fn request_match(&self, me: MatchTicket) -> Result<MatchOutcome, LiveError> {
        let ticket = serde_json::to_string(&me).map_err(failed)?;
        let queue = format!("hl:mq:{}", me.code.as_deref().unwrap_or("*"));
        let mut invocation = match_scripts::REQUEST.prepare_invoke();
        invocation.arg(me.user.id.0.to_string()).arg(queue).arg(ticket).arg(me.conn.to_string());
        invocation.arg(REMATCH_AFTER.as_millis() as u64);
        for blocked in &me.avoid {
            invocation.arg(blocked.0.to_string());
        }
        let reply: Vec<redis::Value> = self.run(&invocation).await?;
        match reply.as_slice() {
            [flag] if redis::from_redis_value::<u8>(flag).ok() == Some(0) => Ok(MatchOutcome::Waiting),
            [_, partner] => {
                let json: String = redis::from_redis_value(partner).map_err(failed)?;
                Ok(MatchOutcome::Matched(serde_json::from_str(&json).map_err(failed)?))
            }
            other => Err(failed(BadReply(format!("{other:?}")))),
        }
    }

    async fn cancel_match(&self, user: UserId) -> Result<(), LiveError> {
        let mut invocation = match_scripts::CANCEL.prepare_invoke();
        invocation.arg(user.0.to_string());
        self.run::<i64>(&invocation).await.map(drop)
    }

    async fn note_partners(&self, a: UserId, b: UserId) -> Result<(), LiveError> {
        let mut conn = self.conn().await?.0;
        let rematch = REMATCH_AFTER.as_millis() as u64;
        let mut pipe = redis::pipe();
        pipe.atomic();
        pipe.cmd("SET").arg(format!("hl:mlast:{}", a.0)).arg(b.0.to_string()).arg("PX").arg(rematch).ignore();
        pipe.cmd("SET").arg(format!("hl:mlast:{}", b.0)).arg(a.0.to_string()).arg("PX").arg(rematch).ignore();
        match tokio::time::timeout(TIMEOUT, pipe.query_async::<()>(&mut conn)).await {
            Ok(outcome) => outcome.map_err(failed),
            Err(_) => Err(failed(TimedOut)),
        }
    }

    async fn expire_matches(&self, max_wait: Duration) -> Result<Vec<MatchTicket>, LiveError> {
        let mut invocation = match_scripts::EXPIRE.prepare_invoke();
        invocation.arg(max_wait.as_millis() as u64);
        let tickets: Vec<String> = self.run(&invocation).await?;
        tickets.iter().map(|json| serde_json::from_str(json).map_err(failed)).collect()
    }

    async fn forget_connection(&self, conn: ConnId) -> Result<(), LiveError> {
        let mut invocation = match_scripts::FORGET_CONN.prepare_invoke();
        invocation.arg(conn.to_string());
        self.run::<i64>(&invocation).await.map(drop)
    }

    async fn admit(&self, rate: Rate, user: UserId) -> Result<Admission, LiveError> {
        let (per_second, name) = match rate {
            Rate::Sends => (self.rates[0], "sends"),
            Rate::UploadCreations => (self.rates[1], "uploads"),
            Rate::MediaRequests => (self.rates[2], "media"),
            Rate::Matches => (self.rates[3], "matches"),
        };
        if per_second == 0 {
            return Ok(Admission::Allowed);
        }
        let mut invocation = scripts::BUCKET.prepare_invoke();
        invocation.key(format!("hl:rate:{name}:{}", user.0)).arg(per_second).arg(per_second.saturating_mul(2));
        let shared = async { Ok(verdict(self.run(&invocation).await?)) };
        self.limit(shared, self.fallback.admit(rate, user)).await
    }

    async fn admit_login(&self, source: AddressKey, name: &str) -> Result<Admission, LiveError> {
        let (per_source, per_user) = login_keys(source, name);
        let shared = async {
            match self.window(per_source, self.logins_per_source, LOGIN_WINDOW, "check").await? {
                Admission::Allowed => self.window(per_user, self.logins_per_user, LOGIN_WINDOW, "check").await,
                refused => Ok(refused),
            }
        };
        self.limit(shared, self.fallback.admit_login(source, name)).await
    }

    async fn login_failed(&self, source: AddressKey, name: &str) -> Result<(), LiveError> {
        let (per_source, per_user) = login_keys(source, name);
        let shared = async {
            self.window(per_source, self.logins_per_source, LOGIN_WINDOW, "record").await?;
            self.window(per_user, self.logins_per_user, LOGIN_WINDOW, "record").await.map(drop)
        };
        self.limit(shared, self.fallback.login_failed(source, name)).await
    }

    async fn login_succeeded(&self, source: AddressKey, name: &str) -> Result<(), LiveError> {
        let shared = async {
            let mut conn = self.conn().await?.0;
            match tokio::time::timeout(TIMEOUT, redis::cmd("DEL").arg(login_keys(source, name).0).query_async::<()>(&mut conn)).await {
                Ok(outcome) => outcome.map_err(failed),
                Err(_) => Err(failed(TimedOut)),
            }
        };
        self.limit(shared, self.fallback.login_succeeded(source, name)).await
    }

    async fn quota_check(&self, quota: Quota, user: UserId) -> Result<Admission, LiveError> {
        self.limit(self.quota(quota, user, "check"), self.fallback.quota_check(quota, user)).await
    }

    async fn quota_record(&self, quota: Quota, user: UserId) -> Result<(), LiveError> {
        self.limit(async { self.quota(quota, user, "record").await.map(drop) }, self.fallback.quota_record(quota, user)).await
    }

    async fn quota_take(&self, quota: Quota, user: UserId) -> Result<Admission, LiveError> {
        self.limit(self.quota(quota, user, "take"), self.fallback.quota_take(quota, user)).await
    }

    async fn sweep(&self) -> Result<(), LiveError> {
        // Every entry in Redis carries its own expiry; the fallback's are swept here.
        self.fallback.sweep().await
    }
}
