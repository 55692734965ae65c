-- Ask for a console drill run (hotline/drill/runs.py): at most one drill at a time, for the
-- whole hotline, so that drills never take more than one of the cores the webhooks and the
-- routing workers share. The record, the claim, its first lease and the event in one step:
-- two managers pressing "Start" at once get one run and one refusal.
--
-- KEYS[1] drill:runs (zset: run id -> created at)   KEYS[2] drill:active (string: run id)
-- KEYS[3] drill:lease (string: run id, expires when the run's process stops beating)
-- KEYS[4] drill:run:{id} (hash, the new run)   KEYS[5] events (stream)
-- ARGV[1] now (epoch s)   ARGV[2] run id   ARGV[3] lease (ms, until the child's first beat)
-- ARGV[4] by   ARGV[5] scenario name   ARGV[6] source   ARGV[7] hours   ARGV[8] replications
-- Returns {1, id} started; {0, active id} a run holds the claim and is alive;
-- {-1, active id} the active run's lease ran out: reap it (drill_run_reap.lua), ask again.

local active = redis.call('GET', KEYS[2])
if active then
  if redis.call('EXISTS', KEYS[3]) == 1 then return {0, active} end
  return {-1, active}
end
local id, now = ARGV[2], ARGV[1]
redis.call('HSET', KEYS[4], 'id', id, 'state', 'queued', 'progress', '0', 'created_at', now,
  'by', ARGV[4], 'scenario', ARGV[5], 'source', ARGV[6], 'hours', ARGV[7],
  'replications', ARGV[8])
redis.call('ZADD', KEYS[1], tonumber(now), id)
redis.call('SET', KEYS[2], id)
redis.call('SET', KEYS[3], id, 'PX', tonumber(ARGV[3]))
redis.call('XADD', KEYS[5], '*', 'type', 'drill_started', 'ts', now, 'run_id', id,
  'scenario', ARGV[5], 'source', ARGV[6], 'hours', ARGV[7], 'replications', ARGV[8],
  'by', ARGV[4])
return {1, id}
