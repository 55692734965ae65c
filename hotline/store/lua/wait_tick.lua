-- wait_tick.lua: one turn of a caller's wait loop, in one round trip: where the call
-- stands in its own line, the estimated wait, QueueSid kept on the call, and the
-- `position_announced` event.
--
-- The estimate is queue/estimates.py's estimate_from, repeated here so the turn costs
-- one call (tests check the two agree): no handle times, or nobody staffed -> none;
-- else (ceil(position / staffed) - 1/2) * mean handle time, staffed unknown -> 1.
--
-- KEYS[1] call:{sid}   KEYS[2] waiting:{skill}   KEYS[3] aht:{skill}   KEYS[4] events
-- ARGV[1] sid   ARGV[2] now   ARGV[3] QueueSid from the carrier ("" if none)
-- ARGV[4] agents staffed for the skill ("" unknown)   ARGV[5] skill
-- ARGV[6] the carrier's QueueTime (whole seconds in its queue, "" unknown): a turn whose
--   QueueTime is not later than the last one recorded is a repeat or a replay of that
--   request -- the same answer, nothing written
-- Returns {state or "", position (0: not in the line), size, estimate s or "", callback_offered}
local call, line, aht, events = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local sid, now, qsid, staffed = ARGV[1], ARGV[2], ARGV[3], ARGV[4]

local c = redis.call('HMGET', call, 'state', 'queue_sid', 'callback_offered', 'wait_qt')
local state = c[1]
if not state then return {'', 0, 0, '', ''} end
if state ~= 'waiting' then return {state, 0, 0, '', c[3] or ''} end
local rank = redis.call('ZRANK', line, sid)
if not rank then return {state, 0, 0, '', c[3] or ''} end
local position, size = rank + 1, redis.call('ZCARD', line)

local estimate = ''
local times = redis.call('LRANGE', aht, 0, -1)
local sum, n = 0, 0
for _, v in ipairs(times) do
  local x = tonumber(v)
  if x then sum = sum + x; n = n + 1 end
end
local agents = tonumber(staffed)
if n > 0 and agents ~= 0 then
  agents = agents or 1
  estimate = string.format('%.1f', (math.ceil(position / agents) - 0.5) * sum / n)
end

local qt = tonumber(ARGV[6])
if qt and tonumber(c[4]) and qt <= tonumber(c[4]) then return {state, position, size, estimate, c[3] or ''} end
redis.call('HSET', call, 'seen_at', now)
if qt then redis.call('HSET', call, 'wait_qt', ARGV[6]) end
if qsid ~= '' and qsid ~= c[2] then redis.call('HSET', call, 'queue_sid', qsid) end
local ev = {'type', 'position_announced', 'ts', now, 'call_sid', sid, 'skill', ARGV[5],
            'position', position, 'size', size}
if estimate ~= '' then ev[#ev + 1] = 'estimate_s'; ev[#ev + 1] = estimate end
redis.call('XADD', events, '*', unpack(ev))
return {state, position, size, estimate, c[3] or ''}
