--! use families
-- A callback request whose customer did not answer waits again in its lines, at its
-- place (its effective arrival), once the spacing has passed. Idempotent.
--
-- KEYS[1] call:{sid}  KEYS[2] events  KEYS[3] callback:retries (zset)  KEYS[4] skills (set)
-- ARGV[1] call sid  ARGV[2] now
-- F: the key families (store/scripts.py writes them in): waiting:{skill} of the call's lines
-- Returns 'requeued' | 'not_due' | 'ignored'

local c = redis.call('HMGET', KEYS[1], 'state', 'offer_lines', 'skill', 'effective_at', 'retry_at', 'callback_attempts')
if c[1] ~= 'callback_wait' then
  redis.call('ZREM', KEYS[3], ARGV[1])
  return 'ignored'
end
if tonumber(c[5] or '0') > tonumber(ARGV[2]) then return 'not_due' end
local lines = c[2]
if not lines or lines == '' then lines = c[3] or 'general' end
local eff = c[4]
if not eff or eff == '' then eff = ARGV[2] end
for l in string.gmatch(lines, '[^,]+') do
  redis.call('ZADD', F.waiting .. l, 'NX', eff, ARGV[1])
  redis.call('SADD', KEYS[4], l)
end
redis.call('HSET', KEYS[1], 'state', 'callback_requested', 'lines', lines, 'agent', '', 'agent_leg', '',
           'customer_leg', '', 'bridged_at', '')
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('XADD', KEYS[2], '*', 'type', 'callback_retry', 'ts', ARGV[2], 'call_sid', ARGV[1],
           'lines', lines, 'attempt', tostring((tonumber(c[6]) or 0) + 1))
return 'requeued'
