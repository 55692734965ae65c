-- create_call.lua: the first webhook of a call, idempotent on Twilio's retries.
-- Creates call:{sid} (state "ivr"), indexes it in `calls`, detects a repeat caller
-- from caller:{number} (a call from the same number within the window gets priority 1),
-- appends `call_created`, and returns the current incident announcement in the same trip.
--
-- KEYS[1] call:{sid}            hash
-- KEYS[2] calls                 zset  sid -> created_at
-- KEYS[3] caller:{number}       hash  last_at, last_sid, count
-- KEYS[4] events                stream
-- KEYS[5] announcement:{lang}   hash  text, by, at (read only)
-- KEYS[6] caller_calls:{number} zset  the number's last calls, sid -> created_at (call card)
-- ARGV[1] sid   ARGV[2] from   ARGV[3] to   ARGV[4] lang   ARGV[5] now (epoch s)
-- ARGV[6] repeat window (s)    ARGV[7] "1" to track the caller's number ("0": anonymous)
-- ARGV[8] caller key TTL (s): garbage collection only; the decision uses last_at vs now
--         (caller_calls:{number} lives as long, and keeps the last 10 calls)
-- ARGV[9..] the fields to return, by name (a short reply keeps the webhook cheap)
-- Returns {created 0|1, announcement text or "", value of ARGV[9], value of ARGV[10], ...}
local call, calls, caller, events, ann = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local sid, from, to, lang, now = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local text = redis.call('HGET', ann, 'text') or ''

if redis.call('EXISTS', call) == 1 then
  return {0, text, unpack(redis.call('HMGET', call, unpack(ARGV, 9)))}
end

local repeat_, priority, previous = '0', '0', ''
if ARGV[7] == '1' then
  local last = redis.call('HMGET', caller, 'last_at', 'last_sid', 'count')
  if last[1] and last[2] ~= sid and (tonumber(now) - tonumber(last[1])) < tonumber(ARGV[6]) then
    repeat_, priority, previous = '1', '1', last[1]
  end
  redis.call('HSET', caller, 'last_at', now, 'last_sid', sid, 'count', (tonumber(last[3]) or 0) + 1)
  redis.call('EXPIRE', caller, tonumber(ARGV[8]))
  redis.call('ZADD', KEYS[6], now, sid)
  redis.call('ZREMRANGEBYRANK', KEYS[6], 0, -11)
  redis.call('EXPIRE', KEYS[6], tonumber(ARGV[8]))
end

local fields = {'sid', sid, 'from_number', from, 'to_number', to, 'lang', lang,
                'state', 'ivr', 'priority', priority, 'repeat', repeat_,
                'previous_call_at', previous, 'created_at', now, 'menu_attempts', '0',
                'turn', '1', 'ivr_stage', 'menu'}
redis.call('HSET', call, unpack(fields))
redis.call('ZADD', calls, now, sid)
redis.call('XADD', events, '*', 'type', 'call_created', 'ts', now, 'call_sid', sid,
           'from_number', from, 'to_number', to, 'lang', lang, 'repeat', repeat_, 'priority', priority)
-- The reply from what was just written (a new call has no other fields): no read back.
local value = {}
for j = 1, #fields, 2 do value[fields[j]] = fields[j + 1] end
local out = {1, text}
for j = 9, #ARGV do out[#out + 1] = value[ARGV[j]] or false end
return out
