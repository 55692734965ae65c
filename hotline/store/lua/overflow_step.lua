--! use families
-- Apply one overflow step to a waiting call, once: step N applies only when the call
-- has applied exactly N-1 steps and is still waiting, or is a callback request
-- (idempotent under retries and the sweep).
-- Lines added get the call with the score it has in its own line (its place).
--
-- KEYS[1] call:{sid}   KEYS[2] events   KEYS[3] skills (set of skills with a line)
-- KEYS[4..] waiting:{skill} for each line the step adds (same order as ARGV[7])
-- ARGV[1] call sid  ARGV[2] now  ARGV[3] step number (1-based)
-- ARGV[4] on_call 0|1  ARGV[5] any_language 0|1  ARGV[6] callback 0|1
-- ARGV[7] added skills "a,b"
-- F: the key families (store/scripts.py writes them in): the call's current lines, to read its score
-- Returns {status, lines}: applied | not_waiting | already | out_of_order

local c = redis.call('HMGET', KEYS[1], 'state', 'lines', 'ovf_step', 'effective_at')
-- A callback request waits too (for cover to return), and widens the same way.
if c[1] ~= 'waiting' and c[1] ~= 'callback_requested' then return {'not_waiting', c[2] or ''} end
local done = tonumber(c[3]) or 0
local step = tonumber(ARGV[3])
if done >= step then return {'already', c[2] or ''} end
if done ~= step - 1 then return {'out_of_order', c[2] or ''} end

local lines, have = {}, {}
for l in string.gmatch(c[2] or '', '[^,]+') do lines[#lines + 1] = l; have[l] = true end
local score = nil
for _, l in ipairs(lines) do
  score = redis.call('ZSCORE', F.waiting .. l, ARGV[1])
  if score then break end
end
score = score or c[4]

local i = 0
for skill in string.gmatch(ARGV[7], '[^,]+') do
  i = i + 1
  if not have[skill] and score then
    redis.call('ZADD', KEYS[3 + i], score, ARGV[1])
    redis.call('SADD', KEYS[3], skill)
    lines[#lines + 1] = skill
    have[skill] = true
  end
end
local joined = table.concat(lines, ',')
redis.call('HSET', KEYS[1], 'lines', joined, 'ovf_step', ARGV[3])
if ARGV[4] == '1' then redis.call('HSET', KEYS[1], 'ovf_oncall', '1') end
if ARGV[5] == '1' then redis.call('HSET', KEYS[1], 'lang_any', '1') end
redis.call('XADD', KEYS[2], '*', 'type', 'overflowed', 'ts', ARGV[2], 'call_sid', ARGV[1], 'step', ARGV[3],
           'lines', joined, 'on_call', ARGV[4], 'any_language', ARGV[5])
if ARGV[6] == '1' and c[1] == 'waiting' then
  redis.call('HSET', KEYS[1], 'callback_offered', '1')
  redis.call('XADD', KEYS[2], '*', 'type', 'callback_offered', 'ts', ARGV[2], 'call_sid', ARGV[1])
end
return {'applied', joined}
