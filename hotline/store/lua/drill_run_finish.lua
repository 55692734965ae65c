-- A console drill's process records how its run ended (hotline/drill/runs.py) and gives up
-- the claim, in one step. A run already reaped as failed (its process stopped beating for
-- longer than the lease) stays failed: the process learns it from the 0.
--
-- KEYS[1] drill:active   KEYS[2] drill:lease   KEYS[3] drill:run:{id} (hash)   KEYS[4] events
-- ARGV[1] run id   ARGV[2] now (epoch s)   ARGV[3] state: done | failed   ARGV[4] error ('' if none)
-- ARGV[5] result (JSON, zlib, base64; '' if none)   ARGV[6] plot (PNG, base64; '' if none)
-- Returns 1 recorded, 0 the run had already ended.

local id = ARGV[1]
local state = redis.call('HGET', KEYS[3], 'state')
if state ~= 'queued' and state ~= 'running' then return 0 end
redis.call('HSET', KEYS[3], 'state', ARGV[3], 'ended_at', ARGV[2], 'error', ARGV[4],
  'result', ARGV[5], 'plot', ARGV[6])
if ARGV[3] == 'done' then redis.call('HSET', KEYS[3], 'progress', '1') end
if redis.call('GET', KEYS[1]) == id then
  redis.call('DEL', KEYS[1], KEYS[2])
end
redis.call('XADD', KEYS[4], '*', 'type', 'drill_ended', 'ts', ARGV[2], 'run_id', id,
  'state', ARGV[3], 'reason', ARGV[4])
return 1
