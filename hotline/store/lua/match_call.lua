--! use families
-- Offer one waiting call to the best eligible idle agent, or change nothing.
-- One decision, one script: the call leaves every waiting line it is in, the agent
-- leaves every idle pool and becomes `reserved`, the reservation is written and the
-- `reserved` event appended -- all or none.
--
-- KEYS[1] call:{sid} (hash)   KEYS[2] reservations (zset sid -> expiry)   KEYS[3] events
-- F: the key families (store/scripts.py writes them in): waiting:{skill}, idle*:{skill}[:{lang}],
--    agent:{id} and reservation:{sid} depend on the call's data and are built
--    from them (with a hash-tagged prefix like "{hotline}:" they share one cluster slot)
-- ARGV[1] call sid   ARGV[2] now   ARGV[3] offer expiry (now + timeout, formatted by the caller)
-- ARGV[4] window: most idle agents examined in all (bounds the cost)
-- Returns {agent_id, skill, expires_at} or {} when nobody eligible is idle.
--
-- Written for the Lua VM's costs like match_agent.lua (see there): parallel arrays, no
-- closures, and the winner's hash is read once for both the check and the reservation.

local sid, now_s, exp_s = ARGV[1], ARGV[2], ARGV[3]
local window = tonumber(ARGV[4])

local c = redis.call('HMGET', KEYS[1], 'state', 'lines', 'lang', 'lang_any', 'min_level', 'ovf_oncall', 'enqueued_at')
local cstate, clines = c[1], c[2]
if cstate ~= 'waiting' and cstate ~= 'callback_requested' then return {} end
if not clines or clines == '' then return {} end
local lang_suffix = ''
if c[3] and c[3] ~= '' and c[4] ~= '1' then lang_suffix = ':' .. c[3] end
local min_level = tonumber(c[5]) or 1
local oncall = c[6] == '1'

-- Lowest score across the pools of every line the call is in: a k-way merge over the
-- pools' heads (parallel arrays, n pools). Pool members are available by construction
-- (agent_state.lua keeps them), so the head is normally taken at once; the level rule
-- may skip a few.
local pkeys, pskill, hid, hscore, hpos = {}, {}, {}, {}, {}
local n = 0
local lines, nlines = {}, 0
for skill in string.gmatch(clines, '[^,]+') do
  nlines = nlines + 1
  lines[nlines] = skill
  for b = 1, (oncall and 2 or 1) do
    local pkey = (b == 1 and F.idle or F.idlecall) .. skill .. lang_suffix
    local got = redis.call('ZRANGE', pkey, 0, 0, 'WITHSCORES')
    if got[1] then
      n = n + 1
      pkeys[n], pskill[n], hid[n], hscore[n], hpos[n] = pkey, skill, got[1], tonumber(got[2]), 0
    end
  end
end

local apre = F.agent
local best, best_skill, a
local looked = 0
while looked < window do
  local h, hs
  for i = 1, n do
    local s = hscore[i]
    if s and (not hs or s < hs) then h, hs = i, s end
  end
  if not h then break end
  looked = looked + 1
  a = redis.call('HMGET', apre .. hid[h], 'state', 'skills', 'languages', 'pool')
  local ok = a[1] == 'available'
  if ok and min_level > 1 then
    local skill = pskill[h]
    local lvl = string.match(',' .. (a[2] or '') .. ',', ',' .. skill:gsub('%p', '%%%0') .. ':(%d+),')
    ok = (tonumber(lvl) or 0) >= min_level
  end
  if ok then best, best_skill = hid[h], pskill[h]; break end
  local pos = hpos[h] + 1
  hpos[h] = pos
  local got = redis.call('ZRANGE', pkeys[h], pos, pos, 'WITHSCORES')
  if got[1] then hid[h], hscore[h] = got[1], tonumber(got[2]) else hscore[h] = nil end
end
if not best then return {} end

-- Reserve: agent out of every pool, call out of every line, reservation written.
local akey = apre .. best
local ppre = F[(a[4] and a[4] ~= '') and a[4] or 'idle']
local alangs, nl = {}, 0
for l in string.gmatch(a[3] or '', '[^,]+') do nl = nl + 1; alangs[nl] = l end
for skill in string.gmatch(a[2] or '', '([^,]+):%d+') do
  local pkey = ppre .. skill
  redis.call('ZREM', pkey, best)
  for j = 1, nl do redis.call('ZREM', pkey .. ':' .. alangs[j], best) end
end
redis.call('HSET', akey, 'state', 'reserved', 'since', now_s, 'reason', '', 'call_sid', sid, 'pool', '')

local score
local wpre = F.waiting
for i = 1, nlines do
  local lkey = wpre .. lines[i]
  if not score then score = redis.call('ZSCORE', lkey, sid) end
  redis.call('ZREM', lkey, sid)
end
redis.call('HSET', KEYS[1], 'state', 'reserved', 'agent', best, 'lines', '', 'reserved_at', now_s)
redis.call('HSET', F.reservation .. sid, 'agent', best, 'offered_at', now_s, 'expires_at', exp_s,
           'lines', clines, 'score', score or '', 'prev_state', cstate, 'skill', best_skill)
redis.call('ZADD', KEYS[2], exp_s, sid)
local now = tonumber(now_s)
redis.call('XADD', KEYS[3], '*', 'type', 'reserved', 'ts', now_s, 'call_sid', sid, 'agent_id', best,
           'skill', best_skill, 'wait_s', string.format('%.3f', now - (tonumber(c[7]) or now)), 'via', 'call')
return {best, best_skill, exp_s}
