//! The Lua scripts of the Redis live state: each is one atomic step over
//! every node's view (Redis runs a script with nothing interleaved).
//!
//! Keys (all under `hl:`): per user `conns:<user>` and `away:<user>` (hashes
//! node → count), `shown:<user>` (`online`/`away`; none = offline),
//! `leaving:<user>` (the grace period's id); per node `node:<node>` (the
//! liveness key, with a TTL the node's heartbeat renews) and
//! `node_users:<node>` (users who had a connection there and have not
//! gone offline since); `nodes` (every registered node). Connections of a
//! node whose liveness key is gone do not count. Scripts reach per-user
//! keys they build themselves: fine for one Redis (or a primary with
//! replicas), not for Redis Cluster (docs/SCALING.md).

use redis::Script;
use std::sync::LazyLock;

/// Counting a user's live connections and updating what others see.
const PRESENCE_LIB: &str = r"
local function live_counts(conns, aways)
  local all = redis.call('HGETALL', conns)
  local total, away = 0, 0
  for i = 1, #all, 2 do
    if redis.call('EXISTS', 'hl:node:' .. all[i]) == 1 then
      total = total + tonumber(all[i + 1])
      away = away + tonumber(redis.call('HGET', aways, all[i]) or '0')
    end
  end
  return total, away
end
local function update(conns, aways, shown)
  local total, away = live_counts(conns, aways)
  local status = 'online'
  if total > 0 and away >= total then status = 'away' end
  if redis.call('GET', shown) ~= status then
    redis.call('SET', shown, status)
    return status
  end
  return ''
end
";

fn presence(body: &str) -> Script {
    Script::new(&format!("{PRESENCE_LIB}{body}"))
}

/// KEYS conns, away, shown, leaving; ARGV node, user. Returns the status to announce or ''.
pub static OPENED: LazyLock<Script> = LazyLock::new(|| {
    presence(
        r"
redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
redis.call('SADD', 'hl:node_users:' .. ARGV[1], ARGV[2])
redis.call('DEL', KEYS[4])
return update(KEYS[1], KEYS[2], KEYS[3])
",
    )
});

/// KEYS conns, away, shown, leaving; ARGV node, user, away (0/1).
/// Returns {0, status or ''} when connections remain, {1, leaving} for the last one.
pub static CLOSED: LazyLock<Script> = LazyLock::new(|| {
    presence(
        r"
local left = redis.call('HINCRBY', KEYS[1], ARGV[1], -1)
if ARGV[3] == '1' then
  if redis.call('HINCRBY', KEYS[2], ARGV[1], -1) <= 0 then redis.call('HDEL', KEYS[2], ARGV[1]) end
end
if left <= 0 then
  redis.call('HDEL', KEYS[1], ARGV[1])
  redis.call('HDEL', KEYS[2], ARGV[1])
end
local total = live_counts(KEYS[1], KEYS[2])
if total > 0 then return {0, update(KEYS[1], KEYS[2], KEYS[3])} end
local leaving = redis.call('INCR', 'hl:leaving_seq')
redis.call('SET', KEYS[4], leaving)
return {1, leaving}
",
    )
});

/// KEYS conns, away, shown; ARGV node, away (0/1). Returns the status to announce or ''.
pub static SET_AWAY: LazyLock<Script> = LazyLock::new(|| {
    presence(
        r"
local conns = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if conns == 0 then return '' end
local away = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
if ARGV[2] == '1' then away = math.min(away + 1, conns) else away = math.max(away - 1, 0) end
redis.call('HSET', KEYS[2], ARGV[1], away)
return update(KEYS[1], KEYS[2], KEYS[3])
",
    )
});

/// KEYS conns, away, shown, leaving; ARGV leaving, node, user. Returns 1 when the user is offline now.
pub static OFFLINE_DUE: LazyLock<Script> = LazyLock::new(|| {
    presence(
        r"
local total = live_counts(KEYS[1], KEYS[2])
if total == 0 and redis.call('GET', KEYS[4]) == ARGV[1] then
  redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4])
  redis.call('SREM', 'hl:node_users:' .. ARGV[2], ARGV[3])
  return 1
end
return 0
",
    )
});

/// ARGV dead node. Unregisters it (once, whichever node sees it first) and
/// returns {user, leaving} for each user who had a connection there and has
/// none left but is still shown (a grace period that node would have ended
/// restarts here: its own ended with it).
pub static REAP_NODE: LazyLock<Script> = LazyLock::new(|| {
    presence(
        r"
local node = ARGV[1]
if redis.call('SREM', 'hl:nodes', node) == 0 then return {} end
local users = redis.call('SMEMBERS', 'hl:node_users:' .. node)
redis.call('DEL', 'hl:node_users:' .. node)
local gone = {}
for _, user in ipairs(users) do
  local conns, aways, shown, leaving = 'hl:conns:' .. user, 'hl:away:' .. user, 'hl:shown:' .. user, 'hl:leaving:' .. user
  redis.call('HDEL', conns, node)
  redis.call('HDEL', aways, node)
  local total = live_counts(conns, aways)
  if total == 0 and redis.call('EXISTS', shown) == 1 then
    local id = redis.call('INCR', 'hl:leaving_seq')
    redis.call('SET', leaving, id)
    table.insert(gone, user)
    table.insert(gone, id)
  elseif total > 0 then
    update(conns, aways, shown)
  end
end
return gone
",
    )
});

/// A sliding window of at most `limit` uses (login failures, hourly quotas).
/// KEYS window; ARGV limit, window ms, mode (check | record | take).
/// Returns -1 when allowed (and counted, for record and take), else the ms to wait.
pub static WINDOW: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local key, limit, window, mode = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
while true do
  local oldest = redis.call('LINDEX', key, 0)
  if oldest and now - tonumber(oldest) >= window then redis.call('LPOP', key) else break end
end
if mode ~= 'record' then
  if redis.call('LLEN', key) >= limit then
    local oldest = tonumber(redis.call('LINDEX', key, 0))
    return math.max(window - (now - oldest), 1)
  end
  if mode == 'check' then return -1 end
end
redis.call('RPUSH', key, now)
while redis.call('LLEN', key) > limit do redis.call('LPOP', key) end
redis.call('PEXPIRE', key, window)
return -1
",
    )
});

/// A token bucket of `rate` per second and `burst` tokens.
/// KEYS bucket; ARGV rate, burst. Returns -1 when a token was taken, else the ms to wait.
pub static BUCKET: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local key, rate, burst = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local state = redis.call('HMGET', key, 'tokens', 'at')
local tokens, at = tonumber(state[1]) or burst, tonumber(state[2]) or now
tokens = math.min(burst, tokens + (now - at) * rate / 1000)
local verdict = -1
if tokens >= 1 then tokens = tokens - 1 else verdict = math.max(math.ceil((1 - tokens) * 1000 / rate), 1) end
redis.call('HSET', key, 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', key, math.ceil(burst * 1000 / rate) + 1000)
return verdict
",
    )
});
