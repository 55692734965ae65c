-- enqueue.lua: put a call in the waiting line of its skill, atomically with its state.
--
-- The score is the effective arrival: now - boost (priority), to the millisecond, plus a
-- sub-millisecond sequence (1e-6 s steps, from a counter) so that equal effective arrivals
-- keep strict FIFO order; a zset would otherwise order equal scores by member (the sid).
-- The score is formatted with %.17g: Lua's default number formatting keeps 14 digits,
-- which is not enough for epoch seconds with microseconds.
--
-- KEYS[1] call:{sid}        hash
-- KEYS[2] waiting:{skill}   zset sid -> effective arrival
-- KEYS[3] skills            set
-- KEYS[4] events            stream
-- KEYS[5] enqueue sequence  string counter
-- ARGV[1] sid   ARGV[2] skill   ARGV[3] now (epoch s)
-- ARGV[4] boost per priority level (s); the priority is the call's own `priority` field
-- ARGV[5] category to record ("" keeps the call's)
-- Returns {code, score or state, priority, repeat, turn}: code 1 enqueued; 2 already waiting
--   (a retried webhook: no change); 0 not enqueued: unknown call (state "") or a state
--   that cannot wait (the state is returned instead of the score)
local call, line, skills, events, seqkey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local sid, skill, now = ARGV[1], ARGV[2], ARGV[3]

local h = redis.call('HMGET', call, 'state', 'priority', 'repeat', 'effective_at', 'category', 'turn')
local state, priority, repeat_, turn = h[1], h[2] or '0', h[3] or '0', h[6] or ''
if not state then return {0, '', '0', '0', ''} end
if state == 'waiting' or state == 'reserved' then return {2, h[4] or '', priority, repeat_, turn} end
if state ~= 'ivr' and state ~= 'selfhelp' then return {0, state, priority, repeat_, turn} end
local category = ARGV[5]
if category == '' then category = h[5] or skill end
local boost = (tonumber(priority) or 0) * tonumber(ARGV[4])

local seq = redis.call('INCR', seqkey)
local ms = math.floor((tonumber(now) - boost) * 1000)
local score = string.format('%.17g', ms / 1000 + (seq % 1000) / 1e6)

redis.call('ZADD', line, score, sid)
redis.call('SADD', skills, skill)
redis.call('HSET', call, 'state', 'waiting', 'skill', skill, 'category', category,
           'lines', skill, 'enqueued_at', now, 'effective_at', score)
redis.call('XADD', events, '*', 'type', 'enqueued', 'ts', now, 'call_sid', sid,
           'skill', skill, 'priority', priority, 'repeat', repeat_, 'effective_at', score)
return {1, score, priority, repeat_, turn}
