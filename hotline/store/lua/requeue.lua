-- Repair: put a waiting call back into one of its lines if it went missing (a crashed
-- worker between steps, a manual edit). Only while the call is still waiting and the
-- line is one its `lines` field names; the score is its effective arrival (its place).
--
-- KEYS[1] call:{sid}  KEYS[2] waiting:{skill}  KEYS[3] events
-- ARGV[1] call sid  ARGV[2] skill  ARGV[3] now
-- Returns 1 if re-added, else 0.

local c = redis.call('HMGET', KEYS[1], 'state', 'lines', 'effective_at')
if c[1] ~= 'waiting' and c[1] ~= 'callback_requested' then return 0 end
if not string.find(',' .. (c[2] or '') .. ',', ',' .. ARGV[2] .. ',', 1, true) then return 0 end
if not c[3] or c[3] == '' then return 0 end
if redis.call('ZADD', KEYS[2], 'NX', c[3], ARGV[1]) == 0 then return 0 end
redis.call('XADD', KEYS[3], '*', 'type', 'call_requeued', 'ts', ARGV[3], 'call_sid', ARGV[1], 'line', ARGV[2])
return 1
