-- A called-back customer did not answer (no-answer, busy, failed, canceled): count the
-- attempt; either the request waits for a retry after spacing (state callback_wait,
-- `callback:retries` holds when), or, attempts exhausted, the call fails -- FINAL.
-- Keyed by the customer leg: a second status callback for the same leg changes nothing.
--
-- KEYS[1] call:{sid}  KEYS[2] events  KEYS[3] callback:retries (zset)
-- ARGV[1] call sid  ARGV[2] now  ARGV[3] customer leg sid  ARGV[4] carrier status
-- ARGV[5] max attempts  ARGV[6] retry at (epoch s)
-- Returns {status, attempt}: retry | failed | ignored

local c = redis.call('HMGET', KEYS[1], 'state', 'customer_leg', 'callback_attempts', 'agent')
if c[1] ~= 'bridged' or c[2] ~= ARGV[3] then return {'ignored', c[3] or '0'} end
local n = tonumber(c[3]) or 1
if n >= tonumber(ARGV[5]) then
  redis.call('HSET', KEYS[1], 'state', 'failed', 'ended_at', ARGV[2], 'fail_reason', 'callback_no_answer')
  redis.call('XADD', KEYS[2], '*', 'type', 'callback_no_answer', 'ts', ARGV[2], 'call_sid', ARGV[1],
             'agent_id', c[4] or '', 'status', ARGV[4], 'attempt', tostring(n), 'leg_sid', ARGV[3])
  redis.call('XADD', KEYS[2], '*', 'type', 'call_failed', 'ts', ARGV[2], 'call_sid', ARGV[1],
             'reason', 'callback_no_answer', 'attempts', tostring(n))
  return {'failed', tostring(n)}
end
redis.call('HSET', KEYS[1], 'state', 'callback_wait', 'retry_at', ARGV[6])
redis.call('ZADD', KEYS[3], ARGV[6], ARGV[1])
redis.call('XADD', KEYS[2], '*', 'type', 'callback_no_answer', 'ts', ARGV[2], 'call_sid', ARGV[1],
           'agent_id', c[4] or '', 'status', ARGV[4], 'attempt', tostring(n), 'leg_sid', ARGV[3],
           'retry_at', ARGV[6])
return {'retry', tostring(n)}
