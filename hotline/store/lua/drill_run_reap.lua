-- The active console drill's process stopped beating (killed, machine restarted, stalled
-- past the lease): its run is recorded as failed and the claim freed, in one step, so a
-- run is never shown running for ever and the next one may start (hotline/drill/runs.py).
--
-- KEYS[1] drill:active   KEYS[2] drill:lease   KEYS[3] drill:run:{id} (hash)   KEYS[4] events
-- ARGV[1] run id   ARGV[2] now (epoch s)   ARGV[3] reason
-- Returns 1 reaped, 0 nothing to do (another run is active, or this one's lease lives).

local id = ARGV[1]
if redis.call('GET', KEYS[1]) ~= id then return 0 end
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
local state = redis.call('HGET', KEYS[3], 'state')
if state == 'queued' or state == 'running' then
  redis.call('HSET', KEYS[3], 'state', 'failed', 'ended_at', ARGV[2], 'error', ARGV[3])
  redis.call('XADD', KEYS[4], '*', 'type', 'drill_ended', 'ts', ARGV[2], 'run_id', id,
    'state', 'failed', 'reason', ARGV[3])
end
redis.call('DEL', KEYS[1])
return 1
