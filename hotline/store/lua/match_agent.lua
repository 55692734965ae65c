--! use families
-- Offer a freed agent the waiting call with the earliest effective arrival across the
-- agent's skills (and the overflow lines those skills serve), or change nothing.
-- Same all-or-nothing reservation as match_call.lua.
--
-- KEYS[1] agent:{id} (hash)   KEYS[2] reservations (zset)   KEYS[3] events
-- (shift status is read from the agent's `pool` field, which mirrors onshift/oncall)
-- F: the key families (store/scripts.py writes them in): waiting:{skill}, call:{sid}, the
--    agent's idle pools and reservation:{sid} depend on the data and are built
--    from them (with a hash-tagged prefix like "{hotline}:" they share one cluster slot)
-- ARGV[1] agent id   ARGV[2] now   ARGV[3] offer expiry (now + timeout, formatted by the caller)
-- ARGV[4] window: most waiting calls examined in all (bounds the cost)
-- Returns {call_sid, skill, expires_at} or {}.
--
-- This script is the whole cost of an assignment (benchmarks/routing.py), so it is
-- written for the Redis Lua VM: every redis.call costs about as much as a few dozen Lua
-- operations, replies with more elements cost more, and tables and strings are
-- allocations. Hence one pass over the skills that keeps each line's key for the later
-- ZREM, parallel arrays instead of a table per head, and no helper closures.

local id, now_s, exp_s = ARGV[1], ARGV[2], ARGV[3]
local window = tonumber(ARGV[4])

-- `pool` says which idle pools hold the agent (kept by agent_state.lua at every
-- availability and shift change): idle = on shift, idlecall = on call only.
local a = redis.call('HMGET', KEYS[1], 'state', 'pool', 'skills', 'languages', 'retired')
local pool = a[2]
if a[1] ~= 'available' or a[5] or (pool ~= 'idle' and pool ~= 'idlecall') then return {} end
local on_shift = pool == 'idle'

-- The head of the waiting line of each skill: parallel arrays, n lines.
local wpre = F.waiting
local names, levels, lkeys, hsid, hraw, hscore, hpos = {}, {}, {}, {}, {}, {}, {}
local n = 0
for name, lvl in string.gmatch(a[3] or '', '([^,]+):(%d+)') do
  n = n + 1
  local lkey = wpre .. name
  names[n], levels[n], lkeys[n] = name, tonumber(lvl), lkey
  local got = redis.call('ZRANGE', lkey, 0, 0, 'WITHSCORES')
  if got[1] then hsid[n], hraw[n], hscore[n], hpos[n] = got[1], got[2], tonumber(got[2]), 0 end
end

local langs, nl, speaks = {}, 0, {}
for l in string.gmatch(a[4] or '', '[^,]+') do nl = nl + 1; langs[nl] = l; speaks[l] = true end

-- A k-way merge over the heads: look at the earliest head, take it if this agent may,
-- else advance that line. At most `window` calls looked at.
local cpre = F.call
local best, c
local looked = 0
while looked < window do
  local h, hs
  for i = 1, n do
    local s = hscore[i]
    if s and (not hs or s < hs) then h, hs = i, s end
  end
  if not h then break end
  looked = looked + 1
  local sid = hsid[h]
  c = redis.call('HMGET', cpre .. sid, 'state', 'lang', 'lang_any', 'min_level', 'ovf_oncall', 'lines', 'enqueued_at')
  local st, lang = c[1], c[2]
  if (st == 'waiting' or st == 'callback_requested')
      and (on_shift or c[5] == '1')
      and (not lang or lang == '' or c[3] == '1' or speaks[lang])
      and (tonumber(c[4]) or 1) <= levels[h] then
    best = h
    break
  end
  local pos = hpos[h] + 1
  hpos[h] = pos
  local got = redis.call('ZRANGE', lkeys[h], pos, pos, 'WITHSCORES')
  if got[1] then hsid[h], hraw[h], hscore[h] = got[1], got[2], tonumber(got[2]) else hscore[h] = nil end
end
if not best then return {} end

local sid, skill = hsid[best], names[best]

-- The agent leaves every pool of its kind: {pool}:{skill} and {pool}:{skill}:{lang}.
local ppre = F[pool]
for i = 1, n do
  local pkey = ppre .. names[i]
  redis.call('ZREM', pkey, id)
  for j = 1, nl do redis.call('ZREM', pkey .. ':' .. langs[j], id) end
end
redis.call('HSET', KEYS[1], 'state', 'reserved', 'since', now_s, 'reason', '', 'call_sid', sid, 'pool', '')

-- The call leaves every line it is in (usually just the one it was found in); a call
-- found in a line its `lines` field forgot is still taken out of it.
local lines = c[6]
if not lines or lines == '' then lines = skill end
if lines == skill then
  redis.call('ZREM', lkeys[best], sid)
else
  local in_lines = false
  for line in string.gmatch(lines, '[^,]+') do
    redis.call('ZREM', wpre .. line, sid)
    if line == skill then in_lines = true end
  end
  if not in_lines then redis.call('ZREM', lkeys[best], sid) end
end

redis.call('HSET', cpre .. sid, 'state', 'reserved', 'agent', id, 'lines', '', 'reserved_at', now_s)
redis.call('HSET', F.reservation .. sid, 'agent', id, 'offered_at', now_s, 'expires_at', exp_s,
           'lines', lines, 'score', hraw[best], 'prev_state', c[1], 'skill', skill)
redis.call('ZADD', KEYS[2], exp_s, sid)
local now = tonumber(now_s)
redis.call('XADD', KEYS[3], '*', 'type', 'reserved', 'ts', now_s, 'call_sid', sid, 'agent_id', id,
           'skill', skill, 'wait_s', string.format('%.3f', now - (tonumber(c[7]) or now)), 'via', 'agent')
return {sid, skill, exp_s}
