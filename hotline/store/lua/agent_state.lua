--! use families pools
-- One agent's state, profile or pool membership, changed atomically so that the
-- idle pools (idle:{skill}[:{lang}], idlecall:{skill}[:{lang}]) always hold
-- exactly the available agents who may be offered a call now.
--
-- KEYS[1] agent:{id} (hash)      KEYS[2] agents (set)
-- KEYS[3] onshift (set)          KEYS[4] oncall (set)
-- KEYS[5] events (stream)
-- F: the key families (store/scripts.py writes them in): pool keys depend on the agent's skills
-- ARGV[1] agent id   ARGV[2] mode: set | index | sync | retire | unstick
-- ARGV[3] now (epoch s)   ARGV[4] strategy: longest_idle | most_skilled_first
-- mode set:  ARGV[5] to   ARGV[6] reason   ARGV[7] by
-- mode sync: ARGV[5] skills "skill:level,..."  ARGV[6] languages "fr,en"
--            ARGV[7] name  ARGV[8] phone  ARGV[9] client identity
-- Returns {status, from_state}: status ok | illegal | unknown | reserved.

local id, mode, now, strategy = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]

-- Kept in step with TRANSITIONS in routing/agents.py (a test checks both).
-- `reserved` is entered and left only through the matcher and reservation scripts.
local ALLOWED = {
  offline = {available = true, away = true},
  available = {away = true, offline = true},
  reserved = {},
  busy = {wrapup = true, available = true},
  wrapup = {available = true, away = true, offline = true},
  away = {available = true, offline = true, away = true},
}

local akey = KEYS[1]
local function remove_from_pools(skills_csv, langs_csv, both)
  pools_remove(F, akey, id, skills_csv, langs_csv, both)
end
local function add_to_pools(skills_csv, langs_csv, idle_since)
  pools_add(F, akey, id, skills_csv, langs_csv, idle_since, strategy, KEYS[3], KEYS[4])
end

local cur = redis.call('HMGET', KEYS[1], 'state', 'skills', 'languages', 'idle_since', 'retired')
local state, skills, langs = cur[1], cur[2], cur[3]

if mode == 'sync' then
  local old_skills, old_langs = cur[2], cur[3]
  if state then remove_from_pools(skills, langs, true) end
  if not state or cur[5] then
    state = 'offline'
    redis.call('HSET', KEYS[1], 'state', 'offline', 'since', ARGV[3], 'reason', '')
    redis.call('HDEL', KEYS[1], 'retired')
  end
  redis.call('HSET', KEYS[1], 'id', id, 'skills', ARGV[5], 'languages', ARGV[6],
             'name', ARGV[7], 'phone', ARGV[8], 'client', ARGV[9])
  redis.call('SADD', KEYS[2], id)
  skills, langs = ARGV[5], ARGV[6]
  if state == 'available' then add_to_pools(skills, langs, tonumber(cur[4]) or now) end
  if old_skills ~= ARGV[5] or old_langs ~= ARGV[6] then
    redis.call('XADD', KEYS[5], '*', 'type', 'agent_synced', 'ts', ARGV[3], 'agent_id', id,
               'skills', ARGV[5], 'languages', ARGV[6])
  end
  return {'ok', state}
end

if not state then return {'unknown', ''} end

if mode == 'index' then
  remove_from_pools(skills, langs, true)
  if state == 'available' and not cur[5] then add_to_pools(skills, langs, tonumber(cur[4]) or now) end
  return {'ok', state}
end

if mode == 'unstick' then
  -- Repair: an agent left `reserved` with no reservation naming them is made available.
  if state ~= 'reserved' then return {'ok', state} end
  local csid = redis.call('HGET', KEYS[1], 'call_sid') or ''
  if redis.call('HGET', F.reservation .. csid, 'agent') == id then return {'ok', state} end
  pools_make_available(F, akey, id, ARGV[3], strategy, KEYS[3], KEYS[4], KEYS[5], state, 'repaired', 'sweep', '')
  return {'fixed', state}
end

if mode == 'retire' then
  remove_from_pools(skills, langs, true)
  redis.call('SREM', KEYS[2], id)
  redis.call('HSET', KEYS[1], 'retired', '1')
  if state ~= 'busy' and state ~= 'reserved' and state ~= 'wrapup' then
    redis.call('HSET', KEYS[1], 'state', 'offline', 'since', ARGV[3], 'reason', 'retired')
  end
  redis.call('XADD', KEYS[5], '*', 'type', 'agent_retired', 'ts', ARGV[3], 'agent_id', id, 'from', state)
  return {'ok', state}
end

-- mode set
local to, reason, by = ARGV[5], ARGV[6], ARGV[7]
if state == 'reserved' then return {'reserved', state} end
if not ALLOWED[state] or not ALLOWED[state][to] then return {'illegal', state} end

redis.call('HSET', KEYS[1], 'state', to, 'since', ARGV[3], 'reason', reason)
if state == 'busy' then redis.call('HSET', KEYS[1], 'last_call_end', ARGV[3]) end
if to == 'available' then
  redis.call('HSET', KEYS[1], 'idle_since', ARGV[3], 'call_sid', '')
  remove_from_pools(skills, langs)
  if not cur[5] then add_to_pools(skills, langs, now) end
elseif state == 'available' then
  remove_from_pools(skills, langs)
end
local ev = {'type', 'agent_state', 'ts', ARGV[3], 'agent_id', id, 'from', state, 'to', to}
if reason ~= '' then ev[#ev + 1] = 'reason'; ev[#ev + 1] = reason end
if by ~= '' then ev[#ev + 1] = 'by'; ev[#ev + 1] = by end
redis.call('XADD', KEYS[5], '*', unpack(ev))
return {'ok', state}
