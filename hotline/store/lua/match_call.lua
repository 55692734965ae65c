-- Offer one waiting call to the best eligible idle agent, or change nothing.
-- One decision, one script: the call leaves every waiting line it is in, the agent
-- leaves every idle pool and becomes `reserved`, the reservation is written and the
-- `reserved` event appended -- all or none.
--
-- KEYS[1] call:{sid} (hash)   KEYS[2] reservations (zset sid -> expiry)   KEYS[3] events
-- ARGV[1] key prefix: waiting:{skill}, idle*:{skill}[:{lang}], agent:{id} and
--         reservation:{sid} depend on the call's data, so they are built from it
--         (with a hash-tagged prefix like "{hotline}:" they share one cluster slot)
-- ARGV[2] call sid   ARGV[3] now   ARGV[4] offer timeout (s)
-- ARGV[5] window: most idle agents examined in all (bounds the cost)
-- Returns {agent_id, skill, expires_at} or {} when nobody eligible is idle.

local prefix, sid, now, timeout = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local window = tonumber(ARGV[5])

local function split(s)
  local out = {}
  if s then for part in string.gmatch(s, '[^,]+') do out[#out + 1] = part end end
  return out
end

local function level_of(skills, skill)
  local lvl = string.match(',' .. (skills or '') .. ',', ',' .. skill:gsub('%p', '%%%0') .. ':(%d+),')
  return tonumber(lvl) or 0
end

local c = redis.call('HMGET', KEYS[1], 'state', 'lines', 'lang', 'lang_any', 'min_level', 'ovf_oncall', 'enqueued_at')
local cstate = c[1]
if cstate ~= 'waiting' and cstate ~= 'callback_requested' then return {} end
local lines = split(c[2])
if #lines == 0 then return {} end
local lang_suffix = ''
if c[3] and c[3] ~= '' and c[4] ~= '1' then lang_suffix = ':' .. c[3] end
local min_level = tonumber(c[5]) or 1
local bases = {'idle:'}
if c[6] == '1' then bases[2] = 'idlecall:' end

-- Lowest score across the pools of every line the call is in: a k-way merge over the
-- pools' heads. Pool members are available by construction (agent_state.lua keeps
-- them), so the head is normally taken at once; the level rule may skip a few.
local heads = {}
for _, skill in ipairs(lines) do
  for _, base in ipairs(bases) do
    local pool = prefix .. base .. skill .. lang_suffix
    local got = redis.call('ZRANGE', pool, 0, 0, 'WITHSCORES')
    if #got > 0 then heads[#heads + 1] = {pool = pool, skill = skill, pos = 0, id = got[1], score = tonumber(got[2])} end
  end
end
local best, best_skill
local looked = 0
while #heads > 0 and looked < window do
  local h = 1
  for j = 2, #heads do if heads[j].score < heads[h].score then h = j end end
  local head = heads[h]
  looked = looked + 1
  local ok
  if min_level <= 1 then
    ok = redis.call('HGET', prefix .. 'agent:' .. head.id, 'state') == 'available'
  else
    local a = redis.call('HMGET', prefix .. 'agent:' .. head.id, 'state', 'skills')
    ok = a[1] == 'available' and level_of(a[2], head.skill) >= min_level
  end
  if ok then best, best_skill = head.id, head.skill; break end
  head.pos = head.pos + 1
  local got = redis.call('ZRANGE', head.pool, head.pos, head.pos, 'WITHSCORES')
  if #got > 0 then head.id, head.score = got[1], tonumber(got[2]) else table.remove(heads, h) end
end
if not best then return {} end

-- Reserve: agent out of every pool, call out of every line, reservation written.
local akey = prefix .. 'agent:' .. best
local a = redis.call('HMGET', akey, 'skills', 'languages', 'pool')
local base = prefix .. (a[3] ~= '' and a[3] or 'idle') .. ':'
local alangs = split(a[2])
for part in string.gmatch(a[1] or '', '[^,]+') do
  local skill = string.match(part, '^(.-):%d+$')
  if skill then
    redis.call('ZREM', base .. skill, best)
    for _, lang in ipairs(alangs) do redis.call('ZREM', base .. skill .. ':' .. lang, best) end
  end
end
redis.call('HSET', akey, 'state', 'reserved', 'since', ARGV[3], 'reason', '', 'call_sid', sid, 'pool', '')

local score
for _, skill in ipairs(lines) do
  local s = redis.call('ZSCORE', prefix .. 'waiting:' .. skill, sid)
  if s then score = score or s; redis.call('ZREM', prefix .. 'waiting:' .. skill, sid) end
end
local expires = now + timeout
local exp_s = string.format('%.3f', expires)
redis.call('HSET', KEYS[1], 'state', 'reserved', 'agent', best, 'lines', '', 'reserved_at', ARGV[3])
redis.call('HSET', prefix .. 'reservation:' .. sid, 'agent', best, 'offered_at', ARGV[3], 'expires_at', exp_s,
           'lines', c[2], 'score', score or '', 'prev_state', cstate, 'skill', best_skill)
redis.call('ZADD', KEYS[2], exp_s, sid)
local wait = now - (tonumber(c[7]) or now)
redis.call('XADD', KEYS[3], '*', 'type', 'reserved', 'ts', ARGV[3], 'call_sid', sid, 'agent_id', best,
           'skill', best_skill, 'wait_s', string.format('%.3f', wait), 'via', 'call')
return {best, best_skill, exp_s}
