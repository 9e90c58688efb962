//! The shared match queue as Lua scripts: the rules of the in-memory queue
//! (`match_queue.rs`), atomic across nodes.
//!
//! Keys (under `hl:m`): `mq:<code or *>` the FIFO of waiting users per queue,
//! `mwait` (user → queue key), `mticket` (user → the ticket as JSON),
//! `msince` (user → when they started waiting, ms), `mconn` (connection →
//! user), `mavoid:<user>` (whom a waiting user blocked), `mlast:<user>` (the
//! last partner, expiring after `REMATCH_AFTER`).

use redis::Script;
use std::sync::LazyLock;

const QUEUE_LIB: &str = r"
local function remove_user(user)
  local queue = redis.call('HGET', 'hl:mwait', user)
  if not queue then return false end
  redis.call('LREM', queue, 0, user)
  local ticket = redis.call('HGET', 'hl:mticket', user)
  local conn = redis.call('HGET', 'hl:mconnof', user)
  if conn then redis.call('HDEL', 'hl:mconn', conn) end
  redis.call('HDEL', 'hl:mwait', user)
  redis.call('HDEL', 'hl:mticket', user)
  redis.call('HDEL', 'hl:msince', user)
  redis.call('HDEL', 'hl:mconnof', user)
  redis.call('DEL', 'hl:mavoid:' .. user)
  return ticket
end
";

fn script(body: &str) -> Script {
    Script::new(&format!("{QUEUE_LIB}{body}"))
}

/// ARGV user, queue key, ticket JSON, conn, rematch ms, then the users `user` blocked.
/// Returns {0} (waiting) or {1, the partner's ticket JSON}.
pub static REQUEST: LazyLock<Script> = LazyLock::new(|| {
    script(
        r"
local user, queue, ticket, conn, rematch = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local avoid = {}
for i = 6, #ARGV do avoid[ARGV[i]] = true end
local waiting_in = redis.call('HGET', 'hl:mwait', user)
if waiting_in then
  if waiting_in == queue then return {0} end
  remove_user(user)
end
for _, other in ipairs(redis.call('LRANGE', queue, 0, -1)) do
  if other ~= user and not avoid[other]
      and redis.call('SISMEMBER', 'hl:mavoid:' .. other, user) == 0
      and redis.call('GET', 'hl:mlast:' .. user) ~= other
      and redis.call('GET', 'hl:mlast:' .. other) ~= user then
    local partner = remove_user(other)
    redis.call('SET', 'hl:mlast:' .. user, other, 'PX', rematch)
    redis.call('SET', 'hl:mlast:' .. other, user, 'PX', rematch)
    return {1, partner}
  end
end
local t = redis.call('TIME')
redis.call('RPUSH', queue, user)
redis.call('HSET', 'hl:mwait', user, queue)
redis.call('HSET', 'hl:mticket', user, ticket)
redis.call('HSET', 'hl:msince', user, tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000))
redis.call('HSET', 'hl:mconn', conn, user)
redis.call('HSET', 'hl:mconnof', user, conn)
for blocked, _ in pairs(avoid) do redis.call('SADD', 'hl:mavoid:' .. user, blocked) end
return {0}
",
    )
});

/// ARGV user. Ends the user's wait.
pub static CANCEL: LazyLock<Script> = LazyLock::new(|| script("remove_user(ARGV[1])\nreturn 1\n"));

/// ARGV conn. Ends the wait of the user waiting on `conn`, if any.
pub static FORGET_CONN: LazyLock<Script> = LazyLock::new(|| {
    script(
        r"
local user = redis.call('HGET', 'hl:mconn', ARGV[1])
if user then remove_user(user) end
return 1
",
    )
});

/// ARGV max wait ms. Ends the waits at least that old; returns their tickets.
pub static EXPIRE: LazyLock<Script> = LazyLock::new(|| {
    script(
        r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local all = redis.call('HGETALL', 'hl:msince')
local expired = {}
for i = 1, #all, 2 do
  if now - tonumber(all[i + 1]) >= tonumber(ARGV[1]) then
    local ticket = remove_user(all[i])
    if ticket then table.insert(expired, ticket) end
  end
end
return expired
",
    )
});
