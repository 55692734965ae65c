-- Offer a freed agent the waiting call with the earliest effective arrival across the
-- agent's skills (and the overflow lines those skills serve), or change nothing.
-- Same all-or-nothing reservation as match_call.lua.
--
-- KEYS[1] agent:{id} (hash)   KEYS[2] reservations (zset)   KEYS[3] events
-- (shift status is read from the agent's `pool` field, which mirrors onshift/oncall)
-- ARGV[1] key prefix (waiting:{skill}, call:{sid}, idle pools, reservation:{sid} are built from it)
-- ARGV[2] agent id   ARGV[3] now   ARGV[4] offer timeout (s)
-- ARGV[5] window: most waiting calls examined in all (bounds the cost)
-- Returns {call_sid, skill, expires_at} or {}.

local prefix, id, now, timeout = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local window = tonumber(ARGV[5])

local function split(s)
  local out = {}
  if s then for part in string.gmatch(s, '[^,]+') do out[#out + 1] = part end end
  return out
end

-- `pool` says which idle pools hold the agent (kept by agent_state.lua at every
-- availability and shift change): idle = on shift, idlecall = on call only.
local a = redis.call('HMGET', KEYS[1], 'state', 'skills', 'languages', 'retired', 'pool')
if a[1] ~= 'available' or a[4] then return {} end
if a[5] ~= 'idle' and a[5] ~= 'idlecall' then return {} end
local on_shift = a[5] == 'idle'

local langs = {}
for _, l in ipairs(split(a[3])) do langs[l] = true end

local skills = {}
for part in string.gmatch(a[2] or '', '[^,]+') do
  local name, lvl = string.match(part, '^(.-):(%d+)$')
  if name then skills[#skills + 1] = {name, tonumber(lvl)} end
end

-- A k-way merge over the heads of the agent's lines: look at the earliest head, take
-- it if this agent may, else advance that line. At most `window` calls looked at.
local heads = {}
for i, sk in ipairs(skills) do
  local got = redis.call('ZRANGE', prefix .. 'waiting:' .. sk[1], 0, 0, 'WITHSCORES')
  if #got > 0 then heads[#heads + 1] = {i = i, pos = 0, sid = got[1], score = tonumber(got[2]), raw = got[2]} end
end
local best, best_score, best_skill, best_call
local looked = 0
while #heads > 0 and looked < window do
  local h = 1
  for j = 2, #heads do if heads[j].score < heads[h].score then h = j end end
  local head = heads[h]
  local skill, level = skills[head.i][1], skills[head.i][2]
  looked = looked + 1
  local c = redis.call('HMGET', prefix .. 'call:' .. head.sid, 'state', 'lang', 'lang_any', 'min_level', 'ovf_oncall',
                       'lines', 'enqueued_at')
  if (c[1] == 'waiting' or c[1] == 'callback_requested')
      and (on_shift or c[5] == '1')
      and (c[2] == nil or c[2] == '' or c[3] == '1' or langs[c[2]])
      and (tonumber(c[4]) or 1) <= level then
    best, best_score, best_skill, best_call = head.sid, head.raw, skill, c
    break
  end
  head.pos = head.pos + 1
  local got = redis.call('ZRANGE', prefix .. 'waiting:' .. skill, head.pos, head.pos, 'WITHSCORES')
  if #got > 0 then head.sid, head.score, head.raw = got[1], tonumber(got[2]), got[2] else table.remove(heads, h) end
end
if not best then return {} end

local sid, c = best, best_call
local base = prefix .. a[5] .. ':'
for _, sk in ipairs(skills) do
  redis.call('ZREM', base .. sk[1], id)
  for l, _ in pairs(langs) do redis.call('ZREM', base .. sk[1] .. ':' .. l, id) end
end
redis.call('HSET', KEYS[1], 'state', 'reserved', 'since', ARGV[3], 'reason', '', 'call_sid', sid, 'pool', '')

local in_lines = false
for _, skill in ipairs(split(c[6])) do
  redis.call('ZREM', prefix .. 'waiting:' .. skill, sid)
  in_lines = in_lines or skill == best_skill
end
-- A call found in a line its `lines` field forgot is still taken out of it.
if not in_lines then redis.call('ZREM', prefix .. 'waiting:' .. best_skill, sid) end
local expires = now + timeout
local exp_s = string.format('%.3f', expires)
local ckey = prefix .. 'call:' .. sid
local lines = c[6]
if not lines or lines == '' then lines = best_skill end
redis.call('HSET', ckey, 'state', 'reserved', 'agent', id, 'lines', '', 'reserved_at', ARGV[3])
redis.call('HSET', prefix .. 'reservation:' .. sid, 'agent', id, 'offered_at', ARGV[3], 'expires_at', exp_s,
           'lines', lines, 'score', best_score, 'prev_state', c[1], 'skill', best_skill)
redis.call('ZADD', KEYS[2], exp_s, sid)
local wait = now - (tonumber(c[7]) or now)
redis.call('XADD', KEYS[3], '*', 'type', 'reserved', 'ts', ARGV[3], 'call_sid', sid, 'agent_id', id,
           'skill', best_skill, 'wait_s', string.format('%.3f', wait), 'via', 'agent')
return {sid, best_skill, exp_s}
