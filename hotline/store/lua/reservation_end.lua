--! use families pools
-- End a reservation: accepted, released, missed (the agent's leg said no answer /
-- declined: at once) or expired (nobody answered in time). Idempotent:
-- a reservation already ended (or never made) changes nothing.
-- On release/expiry the call goes back into every line it was in with the score it
-- had (its place), unless it has ended meanwhile (the caller hung up).
--
-- KEYS[1] reservation:{sid} (hash)  KEYS[2] reservations (zset)  KEYS[3] call:{sid} (hash)
-- KEYS[4] events  KEYS[5] onshift  KEYS[6] oncall
-- KEYS[7] leg:{agent leg sid} (accept: the leg that pressed 1; otherwise unused)
-- F: the key families (store/scripts.py writes them in): agent:{id}, waiting:{skill}, idle pools
-- ARGV[1] call sid  ARGV[2] now  ARGV[3] mode: accept | release | miss | expire
-- ARGV[4] strategy (idle pool scores)  ARGV[5] reason (release, miss)  ARGV[6] agent id the caller expects ('' = any)
-- ARGV[7] accept: the agent leg's sid ('' = no leg to record)  ARGV[8] accept: leg TTL (s)
-- Returns {status, agent_id, call_held, call_state}: status accepted | released | missed |
--   expired | none | not_due | wrong_agent | call_gone | leg_done (accept: that leg was
--   already decided otherwise -- missed, void: nothing changed); call_held '1' when the
--   call was reserved for this agent before the step, call_state its state before it --
--   so that the caller decides from what the step saw, not from an earlier read.

local sid, now, mode, strategy = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4]

local c = redis.call('HMGET', KEYS[3], 'state', 'agent', 'leg_kind', 'enqueued_at')
local r = redis.call('HMGET', KEYS[1], 'agent', 'expires_at', 'lines', 'score', 'prev_state')
local agent = r[1]
local function reply(status)
  return {status, agent or '', (c[1] == 'reserved' and c[2] == agent) and '1' or '0', c[1] or ''}
end
if not agent then
  redis.call('ZREM', KEYS[2], sid)
  return reply('none')
end
if ARGV[6] ~= '' and ARGV[6] ~= agent then return reply('wrong_agent') end
if mode == 'expire' and tonumber(r[2]) > now then return reply('not_due') end
if mode == 'accept' and ARGV[7] ~= '' then
  local ls = redis.call('HGET', KEYS[7], 'state')
  if ls and ls ~= 'placed' and ls ~= 'answered' then return reply('leg_done') end
end

local akey = F.agent .. agent
local a = redis.call('HMGET', akey, 'state', 'call_sid')
local holds = a[1] == 'reserved' and a[2] == sid
local call_held = c[1] == 'reserved' and c[2] == agent

local function agent_event(from, to, reason)
  local ev = {'type', 'agent_state', 'ts', ARGV[2], 'agent_id', agent, 'from', from, 'to', to, 'call_sid', sid}
  if reason ~= '' then ev[#ev + 1] = 'reason'; ev[#ev + 1] = reason end
  redis.call('XADD', KEYS[4], '*', unpack(ev))
end

local function make_available(reason)
  pools_make_available(F, akey, agent, ARGV[2], strategy, KEYS[5], KEYS[6], KEYS[4], 'reserved', reason, '', sid)
end

local function put_call_back()
  if not call_held then return end
  local lines = pools_split(r[3])
  for _, skill in ipairs(lines) do
    redis.call('ZADD', F.waiting .. skill, r[4], sid)
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
    if holds then make_available('call_gone') end
    finish()
    return reply('call_gone')
  end
  redis.call('HSET', akey, 'state', 'busy', 'since', ARGV[2], 'reason', '')
  redis.call('HSET', KEYS[3], 'state', 'bridged', 'answered_at', ARGV[2])
  agent_event('reserved', 'busy', '')
  redis.call('XADD', KEYS[4], '*', 'type', 'reservation_accepted', 'ts', ARGV[2], 'call_sid', sid, 'agent_id', agent,
             'wait_s', string.format('%.3f', now - (tonumber(c[4]) or now)))
  if ARGV[7] ~= '' then
    -- The leg that pressed 1 is the call's agent leg from this instant: the end signals
    -- that follow read it from here.
    redis.call('HSET', KEYS[3], 'agent_leg', ARGV[7])
    redis.call('HSET', KEYS[7], 'state', 'accepted', 'accepted_at', ARGV[2], 'call_sid', sid, 'agent_id', agent)
    redis.call('EXPIRE', KEYS[7], ARGV[8])
    redis.call('XADD', KEYS[4], '*', 'type', 'offer_accepted', 'ts', ARGV[2], 'call_sid', sid, 'leg_sid', ARGV[7],
               'agent_id', agent, 'kind', c[3] or 'offer')
  end
  finish()
  return reply('accepted')
end

put_call_back()
if mode == 'expire' or mode == 'miss' then
  if holds and call_held then
    redis.call('HSET', akey, 'state', 'away', 'since', ARGV[2], 'reason', 'missed', 'call_sid', '')
    agent_event('reserved', 'away', 'missed')
  elseif holds then
    -- The caller hung up during the offer: the agent missed nothing.
    make_available('call_gone')
  end
  if mode == 'miss' then
    redis.call('XADD', KEYS[4], '*', 'type', 'reservation_missed', 'ts', ARGV[2], 'call_sid', sid, 'agent_id', agent,
               'reason', ARGV[5], 'requeued', call_held and '1' or '0')
    finish()
    return reply('missed')
  end
  redis.call('XADD', KEYS[4], '*', 'type', 'reservation_expired', 'ts', ARGV[2], 'call_sid', sid, 'agent_id', agent,
             'lines', r[3] or '', 'requeued', call_held and '1' or '0')
  finish()
  return reply('expired')
end

-- release
if holds then make_available(ARGV[5]) end
redis.call('XADD', KEYS[4], '*', 'type', 'reservation_released', 'ts', ARGV[2], 'call_sid', sid, 'agent_id', agent,
           'reason', ARGV[5], 'requeued', call_held and '1' or '0')
finish()
return reply('released')
