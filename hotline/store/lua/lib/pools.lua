-- lib/pools.lua: the idle pools of one agent, shared by every script that moves an agent
-- in or out of them. store/scripts.py prepends this file to any script whose first
-- line is `--! use pools`, so there is one definition of the score and of the pools.
--
-- An available agent on shift (in `onshift`) is in idle:{skill} and idle:{skill}:{lang}
-- for each skill and language; one only on call (in `oncall`), in idlecall:...; others
-- in none. The agent hash's `pool` field (idle | idlecall | '') says which kind holds
-- them, so leaving costs one ZREM per pool actually held. Scores: see pools_score.
-- Every key is built from the families the script was given (F, written into the script from store/keys.py).

local function pools_split(s)
  local out = {}
  if s then for part in string.gmatch(s, '[^,]+') do out[#out + 1] = part end end
  return out
end

-- "skill:level,..." -> {skill = level}
local function pools_skills(s)
  local out = {}
  for _, part in ipairs(pools_split(s)) do
    local name, lvl = string.match(part, '^(.-):(%d+)$')
    if name then out[name] = tonumber(lvl) end
  end
  return out
end

-- Lowest is offered first; routing/agents.py pool_score computes the same (a test checks).
-- Integers below 2^53 stay exact in a double; format with %.0f, never tostring.
local function pools_score(strategy, ms, level)
  if strategy == 'most_skilled_first' then return (5 - level) * 1e13 + ms end
  return ms * 8 + (5 - level)
end

-- Take the agent out of the pools it holds (`both`: out of both kinds, for repairs).
local function pools_remove(F, akey, id, skills_csv, langs_csv, both)
  local held = redis.call('HGET', akey, 'pool')
  local langs = pools_split(langs_csv)
  for skill, _ in pairs(pools_skills(skills_csv)) do
    for _, base in ipairs({'idle', 'idlecall'}) do
      if both or held == base then
        redis.call('ZREM', F[base] .. skill, id)
        for _, lang in ipairs(langs) do redis.call('ZREM', F[base] .. skill .. ':' .. lang, id) end
      end
    end
  end
  redis.call('HSET', akey, 'pool', '')
end

-- Put an available agent in the pools their shift allows, idle since `idle_since` (epoch s).
-- Returns the kind of pool ('idle' | 'idlecall') or nil when off shift.
local function pools_add(F, akey, id, skills_csv, langs_csv, idle_since, strategy, onshift, oncall)
  local base
  if redis.call('SISMEMBER', onshift, id) == 1 then base = 'idle'
  elseif redis.call('SISMEMBER', oncall, id) == 1 then base = 'idlecall'
  else return nil end
  redis.call('HSET', akey, 'pool', base)
  local ms = math.floor(idle_since * 1000)
  local langs = pools_split(langs_csv)
  for skill, level in pairs(pools_skills(skills_csv)) do
    local sc = string.format('%.0f', pools_score(strategy, ms, level))
    redis.call('ZADD', F[base] .. skill, sc, id)
    for _, lang in ipairs(langs) do redis.call('ZADD', F[base] .. skill .. ':' .. lang, sc, id) end
  end
  return base
end

-- The agent becomes available now: state, idle since, out of any call; into the pools
-- (unless retired). Appends the `agent_state` event (from -> available).
local function pools_make_available(F, akey, id, now_s, strategy, onshift, oncall, events, from, reason, by, call_sid)
  local a = redis.call('HMGET', akey, 'skills', 'languages', 'retired')
  redis.call('HSET', akey, 'state', 'available', 'since', now_s, 'reason', '', 'call_sid', '', 'idle_since', now_s)
  if from == 'busy' then redis.call('HSET', akey, 'last_call_end', now_s) end
  pools_remove(F, akey, id, a[1], a[2], false)
  if not a[3] then pools_add(F, akey, id, a[1], a[2], tonumber(now_s), strategy, onshift, oncall) end
  local ev = {'type', 'agent_state', 'ts', now_s, 'agent_id', id, 'from', from, 'to', 'available'}
  if reason and reason ~= '' then ev[#ev + 1] = 'reason'; ev[#ev + 1] = reason end
  if by and by ~= '' then ev[#ev + 1] = 'by'; ev[#ev + 1] = by end
  if call_sid and call_sid ~= '' then ev[#ev + 1] = 'call_sid'; ev[#ev + 1] = call_sid end
  redis.call('XADD', events, '*', unpack(ev))
end

-- ---- end of lib/pools.lua ----
