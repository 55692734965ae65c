-- A console drill's process says it is alive (hotline/drill/runs.py): the lease is renewed
-- and its progress written, only while the run is still the active one and unfinished.
-- A process that was given up on (its lease ran out, the run reaped as failed) learns it
-- here and stops, rather than writing over the failure.
--
-- KEYS[1] drill:active   KEYS[2] drill:lease   KEYS[3] drill:run:{id} (hash)
-- ARGV[1] run id   ARGV[2] lease (ms)   ARGV[3] progress (0..1)   ARGV[4] now (epoch s)
-- ARGV[5..] field, value pairs to record as well (the first beat: pid, host, sandbox...)
-- Returns 1 renewed, 0 this run is no longer the active one (stop).

local id = ARGV[1]
if redis.call('GET', KEYS[1]) ~= id then return 0 end
local state = redis.call('HGET', KEYS[3], 'state')
if state ~= 'queued' and state ~= 'running' then return 0 end
redis.call('SET', KEYS[2], id, 'PX', tonumber(ARGV[2]))
redis.call('HSET', KEYS[3], 'state', 'running', 'progress', ARGV[3], 'beat_at', ARGV[4])
if state == 'queued' then redis.call('HSET', KEYS[3], 'started_at', ARGV[4]) end
for i = 5, #ARGV - 1, 2 do
  redis.call('HSET', KEYS[3], ARGV[i], ARGV[i + 1])
end
return 1
