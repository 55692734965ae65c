-- The caller (dequeued by the REST API) or the called-back customer enters the agent's
-- conference. Recorded once: a repeated request changes nothing.
--
-- KEYS[1] call:{sid}  KEYS[2] events
-- ARGV[1] call sid  ARGV[2] now  ARGV[3] the joining leg's CallSid  ARGV[4] who (caller|customer)
-- Returns {status, lang, agent}: joined | again | not_bridged (the call is in no state to join)

local c = redis.call('HMGET', KEYS[1], 'state', 'lang', 'agent', 'bridged_at')
if c[1] ~= 'bridged' then return {'not_bridged', c[2] or '', c[3] or ''} end
if c[4] and c[4] ~= '' then return {'again', c[2] or '', c[3] or ''} end
redis.call('HSET', KEYS[1], 'bridged_at', ARGV[2])
redis.call('XADD', KEYS[2], '*', 'type', 'caller_bridged', 'ts', ARGV[2], 'call_sid', ARGV[1], 'agent_id', c[3] or '',
           'leg_sid', ARGV[3], 'who', ARGV[4])
return {'joined', c[2] or '', c[3] or ''}
