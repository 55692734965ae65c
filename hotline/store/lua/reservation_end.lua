-- End a reservation: accepted, released, missed (the agent's leg said no answer /
-- declined: at once) or expired (nobody answered in time). Idempotent:
-- a reservation already ended (or never made) changes nothing.
-- On release/expiry the call goes back into every line it was in with the score it
-- had (its place), unless it has ended meanwhile (the caller hung up).
--
-- KEYS[1] reservation:{sid} (hash)  KEYS[2] reservations (zset)  KEYS[3] call:{sid} (hash)
-- KEYS[4] events  KEYS[5] onshift  KEYS[6] oncall
-- ARGV[1] key prefix (agent:{id}, waiting:{skill}, idle pools are built from it)
-- ARGV[2] call sid  ARGV[3] now  ARGV[4] mode: accept | release | miss | expire
-- ARGV[5] strategy (idle pool scores)  ARGV[6] reason (release, miss)  ARGV[7] agent id the caller expects ('' = any)
-- Returns {status, agent_id}: status accepted | released | missed | expired | none | not_due | wrong_agent | call_gone

local prefix, sid, now, mode, strategy = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4], ARGV[5]

local function split(s)
  local out = {}
  if s then for part in string.gmatch(s, '[^,]+') do out[#out + 1] = part end end
  return out
end

local r = redis.call('HMGET', KEYS[1], 'agent', 'expires_at', 'lines', 'score', 'prev_state')
local agent = r[1]
if not agent then
  redis.call('ZREM', KEYS[2], sid)
  return {'none', ''}
end
if ARGV[7] ~= '' and ARGV[7] ~= agent then return {'wrong_agent', agent} end
if mode == 'expire' and tonumber(r[2]) > now then return {'not_due', agent} end

local akey = prefix .. 'agent:' .. agent
local a = redis.call('HMGET', akey, 'state', 'call_sid', 'skills', 'languages', 'retired')
local holds = a[1] == 'reserved' and a[2] == sid
local c = redis.call('HMGET', KEYS[3], 'state', 'agent')
local call_held = c[1] == 'reserved' and c[2] == agent

local function agent_event(from, to, reason)
  local ev = {'type', 'agent_state', 'ts', ARGV[3], 'agent_id', agent, 'from', from, 'to', to, 'call_sid', sid}
  if reason ~= '' then ev[#ev + 1] = 'reason'; ev[#ev + 1] = reason end
  redis.call('XADD', KEYS[4], '*', unpack(ev))
end

local function make_available()
  redis.call('HSET', akey, 'state', 'available', 'since', ARGV[3], 'reason', '', 'call_sid', '', 'idle_since', ARGV[3], 'pool', '')
  if a[5] then return end
  local base
  if redis.call('SISMEMBER', KEYS[5], agent) == 1 then base = 'idle'
  elseif redis.call('SISMEMBER', KEYS[6], agent) == 1 then base = 'idlecall'
  else return end
  redis.call('HSET', akey, 'pool', base)
  base = base .. ':'
  local ms = math.floor(now * 1000)
  for part in string.gmatch(a[3] or '', '[^,]+') do
    local skill, lvl = string.match(part, '^(.-):(%d+)$')
    if skill then
      local level = tonumber(lvl)
      local sc
      if strategy == 'most_skilled_first' then sc = (5 - level) * 1e13 + ms else sc = ms * 8 + (5 - level) end
      sc = string.format('%.0f', sc)
      redis.call('ZADD', prefix .. base .. skill, sc, agent)
      for _, lang in ipairs(split(a[4])) do redis.call('ZADD', prefix .. base .. skill .. ':' .. lang, sc, agent) end
    end
  end
end

local function put_call_back()
  if not call_held then return end
  local lines = split(r[3])
  for _, skill in ipairs(lines) do
    redis.call('ZADD', prefix .. 'waiting:' .. skill, r[4], sid)
  end
  redis.call('HSET', KEYS[3], 'state', r[5] or 'waiting', 'agent', '', 'lines', r[3] or '')
end

local function finish()
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[2], sid)
end

if mode == 'accept' then
  if not call_held then
    -- The caller hung up while the agent's phone rang: the agent is free again.
    if holds then make_available(); agent_event('reserved', 'available', 'call_gone') end
    finish()
    return {'call_gone', agent}
  end
  redis.call('HSET', akey, 'state', 'busy', 'since', ARGV[3], 'reason', '')
  redis.call('HSET', KEYS[3], 'state', 'bridged', 'answered_at', ARGV[3])
  agent_event('reserved', 'busy', '')
  redis.call('XADD', KEYS[4], '*', 'type', 'reservation_accepted', 'ts', ARGV[3], 'call_sid', sid, 'agent_id', agent,
             'wait_s', string.format('%.3f', now - (tonumber(redis.call('HGET', KEYS[3], 'enqueued_at')) or now)))
  finish()
  return {'accepted', agent}
end

put_call_back()
if mode == 'expire' or mode == 'miss' then
  if holds and call_held then
    redis.call('HSET', akey, 'state', 'away', 'since', ARGV[3], 'reason', 'missed', 'call_sid', '')
    agent_event('reserved', 'away', 'missed')
  elseif holds then
    -- The caller hung up during the offer: the agent missed nothing.
    make_available(); agent_event('reserved', 'available', 'call_gone')
  end
  if mode == 'miss' then
    redis.call('XADD', KEYS[4], '*', 'type', 'reservation_missed', 'ts', ARGV[3], 'call_sid', sid, 'agent_id', agent,
               'reason', ARGV[6], 'requeued', call_held and '1' or '0')
    finish()
    return {'missed', agent}
  end
  redis.call('XADD', KEYS[4], '*', 'type', 'reservation_expired', 'ts', ARGV[3], 'call_sid', sid, 'agent_id', agent,
             'lines', r[3] or '', 'requeued', call_held and '1' or '0')
  finish()
  return {'expired', agent}
end

-- release
if holds then make_available(); agent_event('reserved', 'available', ARGV[6]) end
redis.call('XADD', KEYS[4], '*', 'type', 'reservation_released', 'ts', ARGV[3], 'call_sid', sid, 'agent_id', agent,
           'reason', ARGV[6], 'requeued', call_held and '1' or '0')
finish()
return {'released', agent}
