-- The customer's leg of an accepted callback was placed: remember it, count the attempt.
--
-- KEYS[1] call:{sid}  KEYS[2] events
-- ARGV[1] call sid  ARGV[2] now  ARGV[3] customer leg sid  ARGV[4] number called
-- Returns {status, attempt}: ok | gone (the callback is no longer bridged to an agent)

local c = redis.call('HMGET', KEYS[1], 'state', 'agent')
if c[1] ~= 'bridged' then return {'gone', '0'} end
redis.call('HSET', KEYS[1], 'customer_leg', ARGV[3])
local n = redis.call('HINCRBY', KEYS[1], 'callback_attempts', 1)
redis.call('XADD', KEYS[2], '*', 'type', 'callback_dialing', 'ts', ARGV[2], 'call_sid', ARGV[1], 'agent_id', c[2] or '',
           'leg_sid', ARGV[3], 'attempt', tostring(n), 'to', ARGV[4])
return {'ok', tostring(n)}
