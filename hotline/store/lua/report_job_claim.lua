-- Claim the right to compute one console report in a child process (wfm/report_store.py):
-- at most one child per report, and at most MAX children at once across every console
-- process, so that reports never take more of the machine's cores than that from the
-- webhooks and the routing workers that share them.
--
-- KEYS[1] report:jobs (zset: report id -> expiry, clock time)
-- KEYS[2] report:jobs:owner (hash: report id -> "token started_at")
-- ARGV[1] report id   ARGV[2] token   ARGV[3] now (epoch s)   ARGV[4] ttl (s)   ARGV[5] max
-- Returns {status, owner}: status 1 = claimed (owner is ours), 0 = a child is already
-- computing this report (owner is theirs), -1 = MAX children are running (owner empty).
-- Expired claims (a child killed without releasing) are dropped first.

local id, token, now = ARGV[1], ARGV[2], tonumber(ARGV[3])
local ttl, max = tonumber(ARGV[4]), tonumber(ARGV[5])

local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
for _, d in ipairs(dead) do
  redis.call('ZREM', KEYS[1], d)
  redis.call('HDEL', KEYS[2], d)
end

if redis.call('ZSCORE', KEYS[1], id) then
  return {0, redis.call('HGET', KEYS[2], id) or ''}
end
if redis.call('ZCARD', KEYS[1]) >= max then
  return {-1, ''}
end
local owner = token .. ' ' .. ARGV[3]
redis.call('ZADD', KEYS[1], now + ttl, id)
redis.call('HSET', KEYS[2], id, owner)
return {1, owner}
