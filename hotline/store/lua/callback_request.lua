--! use families
-- Turn a call into a callback request (voicemail left after hours, or a callback the
-- wait loop offered), routed like a waiting call: it (re)enters the waiting line of
-- each of its lines at its effective arrival -- its place -- and stays there after the
-- caller hangs up, until an agent is reserved for it.
--
-- KEYS[1] call:{sid}  KEYS[2] events  KEYS[3] skills (set)
-- ARGV[1] call sid  ARGV[2] now  ARGV[3] recording url  ARGV[4] recording duration (s)
-- ARGV[5] fallback skill   F: the key families (store/scripts.py writes them in): waiting:{skill}
--    for the call's lines
-- Returns {status, lines}: requested | updated | not_found | too_late

local c = redis.call('HMGET', KEYS[1], 'state', 'lines', 'effective_at', 'skill', 'from_number', 'enqueued_at')
if not c[1] then return {'not_found', ''} end
if c[1] == 'callback_requested' then
  if ARGV[3] ~= '' then redis.call('HSET', KEYS[1], 'recording_url', ARGV[3], 'recording_s', ARGV[4]) end
  return {'updated', c[2] or ''}
end
-- Only a caller still in the IVR or waiting asks for a callback: a call offered to or
-- handled by an agent needs none, and a finished one (failed, abandoned...) is not
-- brought back by a late or replayed request.
if c[1] ~= 'ivr' and c[1] ~= 'selfhelp' and c[1] ~= 'waiting' then
  return {'too_late', c[2] or ''}
end
local lines = c[2]
local skill = c[4]
if not skill or skill == '' then skill = ARGV[5] end
if not lines or lines == '' then lines = skill end
if not lines or lines == '' then return {'not_found', ''} end
local eff = c[3]
if not eff or eff == '' then eff = ARGV[2] end
for l in string.gmatch(lines, '[^,]+') do
  redis.call('ZADD', F.waiting .. l, 'NX', eff, ARGV[1])
  redis.call('SADD', KEYS[3], l)
end
redis.call('HSET', KEYS[1], 'state', 'callback_requested', 'lines', lines, 'effective_at', eff,
           'callback_number', c[5] or '', 'callback_at', ARGV[2], 'recording_url', ARGV[3], 'recording_s', ARGV[4])
if not c[6] or c[6] == '' then redis.call('HSET', KEYS[1], 'enqueued_at', ARGV[2]) end
redis.call('XADD', KEYS[2], '*', 'type', 'callback_requested', 'ts', ARGV[2], 'call_sid', ARGV[1],
           'skill', skill, 'lines', lines, 'recording_url', ARGV[3], 'from_state', c[1])
return {'requested', lines}
