--! use families pools
-- The conversation of a bridged call is over: the whole end in one step, so that any
-- number of end signals, in any order and at the same instant (the agent's <Dial
-- action>, the agent leg's and the caller leg's status callbacks, the reconciliation)
-- give one end: durations and the final event on the call, the handle time, and the
-- agent's way back -- busy -> wrapup with its end in `wrapups` and `wrapup_started`
-- (or, for a zero wrap-up, straight back to available and into the pools).
--
-- KEYS[1] call:{sid}  KEYS[2] leg:{agent leg sid} (may not exist)  KEYS[3] events
-- KEYS[4] agent:{agent id}  KEYS[5] wrapups (zset agent -> wrap-up end)
-- KEYS[6] onshift  KEYS[7] oncall
-- ARGV[1] call sid  ARGV[2] now  ARGV[3] agent id
-- F: the key families (store/scripts.py writes them in): aht:{skill}, waiting:{skill} and the
--    idle pools depend on the call's data
-- ARGV[4] ended_by: conference | agent_leg | caller_leg | customer_leg | bridge_failed |
--         reconcile_caller | reconcile_agent (the carrier said the caller's / agent's leg is over) |
--         sweep (legs/conversation.free_agent, for a call no longer bridged: `freed`)
-- ARGV[5] routing strategy (pool scores)
-- ARGV[6] wrap-up seconds, JSON {"default": s, "skills": {skill: s}} (legs/wrapup.py)
-- ARGV[7] handle times kept per skill (queue/estimates.py HISTORY)
-- Returns {status, skill, talk_s, kind, wrapup_until}:
--   completed    answered and finished: state completed, `call_completed` (or
--                `callback_completed` for a callback) -- FINAL; wrapup_until is the
--                agent's wrap-up end ('' if the agent had already left `busy` by hand,
--                '0' for a zero wrap-up: the agent is available again)
--   abandoned    accepted, but the caller never reached the conference and their leg is
--                over: state abandoned, `abandoned` via=bridge -- FINAL; agent available
--   requeued     accepted, but the agent left before the caller joined (the caller still
--                waits in the carrier's queue): the call is back in its lines at its
--                place, `call_requeued`; the agent is away (missed), like a missed offer
--   unreached    a callback whose customer was not reached: left to legs/callbacks.py
--   joined       a bridge failure reported after the caller did join: nothing changed
--   freed        the call is no longer bridged (or is gone) but the agent was still busy with it
--                (a callback whose customer never answered): the agent is available
--   not_bridged  nothing to end (already ended, or never bridged): nothing changed
--   wrong_agent  the call is bridged to someone else: nothing changed

local sid, now_s, agent, ended_by, strategy = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local now = tonumber(now_s)
local c = redis.call('HMGET', KEYS[1], 'state', 'agent', 'enqueued_at', 'answered_at', 'bridged_at', 'skill',
                     'leg_kind', 'effective_at', 'offer_lines')
local akey = KEYS[4]
local a = redis.call('HMGET', akey, 'state', 'call_sid')
local holds = a[1] == 'busy' and a[2] == sid
if c[1] ~= 'bridged' then
  if holds then
    -- The call left `bridged` another way (a callback whose customer did not answer, a
    -- failure), or is gone, and this agent is still busy with it: free them, once.
    pools_make_available(F, akey, agent, now_s, strategy, KEYS[6], KEYS[7], KEYS[3], 'busy', '', 'call_end', sid)
    return {'freed', c[6] or '', '0', c[7] or '', ''}
  end
  return {'not_bridged', c[6] or '', '0', c[7] or '', ''}
end
if c[2] ~= agent then return {'wrong_agent', c[6] or '', '0', c[7] or '', ''} end
local kind = c[7] or 'offer'
local skill = c[6] or 'general'

local function fmt(x) return string.format('%.3f', math.max(0, x)) end
local function agent_event(to, reason)
  local ev = {'type', 'agent_state', 'ts', now_s, 'agent_id', agent, 'from', 'busy', 'to', to, 'by', 'call_end',
              'call_sid', sid}
  if reason ~= '' then ev[#ev + 1] = 'reason'; ev[#ev + 1] = reason end
  redis.call('XADD', KEYS[3], '*', unpack(ev))
end

local leg = redis.call('HMGET', KEYS[2], 'placed_at', 'answered_at')
local ring = ''
if tonumber(leg[1]) and tonumber(leg[2]) then ring = fmt(tonumber(leg[2]) - tonumber(leg[1])) end
local enq = tonumber(c[3]) or now
local bridged = tonumber(c[5])

if not bridged then
  if kind == 'callback' then return {'unreached', skill, '0', kind, ''} end
  if ended_by == 'agent_leg' or ended_by == 'conference' or ended_by == 'reconcile_agent' then
    -- The agent hung up before the caller was brought in: the caller is still waiting.
    local lines = c[9]
    if not lines or lines == '' then lines = skill end
    local eff = c[8]
    if not eff or eff == '' then eff = now_s end
    for line in string.gmatch(lines, '[^,]+') do redis.call('ZADD', F.waiting .. line, eff, sid) end
    redis.call('HSET', KEYS[1], 'state', 'waiting', 'agent', '', 'agent_leg', '', 'offer_for', '', 'lines', lines,
               'answered_at', '')
    redis.call('XADD', KEYS[3], '*', 'type', 'call_requeued', 'ts', now_s, 'call_sid', sid, 'agent_id', agent,
               'lines', lines, 'reason', 'agent_left', 'ended_by', ended_by)
    if holds then
      redis.call('HSET', akey, 'state', 'away', 'since', now_s, 'reason', 'missed', 'call_sid', '',
                 'last_call_end', now_s)
      agent_event('away', 'missed')
    end
    return {'requeued', skill, '0', kind, ''}
  end
  local wait = fmt(now - enq)
  redis.call('HSET', KEYS[1], 'state', 'abandoned', 'wait_s', wait, 'ring_s', ring, 'talk_s', '0',
             'ended_at', now_s, 'abandoned_via', 'bridge', 'ended_by', ended_by)
  redis.call('XADD', KEYS[3], '*', 'type', 'abandoned', 'ts', now_s, 'call_sid', sid, 'agent_id', agent,
             'skill', skill, 'wait_s', wait, 'via', 'bridge', 'state_before', 'bridged')
  if holds then
    pools_make_available(F, akey, agent, now_s, strategy, KEYS[6], KEYS[7], KEYS[3], 'busy', 'caller_gone',
                         'call_end', sid)
  end
  return {'abandoned', skill, '0', kind, ''}
end
if ended_by == 'bridge_failed' then return {'joined', skill, '0', kind, ''} end

local talk_n = math.max(0, now - bridged)
local talk = fmt(talk_n)
local wait = fmt(bridged - enq)
redis.call('HSET', KEYS[1], 'state', 'completed', 'completed_at', now_s, 'wait_s', wait, 'ring_s', ring,
           'talk_s', talk, 'ended_by', ended_by)
redis.call('HSETNX', KEYS[1], 'ended_at', now_s)
local etype = 'call_completed'
if kind == 'callback' then etype = 'callback_completed' end
redis.call('XADD', KEYS[3], '*', 'type', etype, 'ts', now_s, 'call_sid', sid, 'agent_id', agent,
           'skill', skill, 'wait_s', wait, 'ring_s', ring, 'talk_s', talk, 'ended_by', ended_by)

local policy = cjson.decode(ARGV[6])
local w = tonumber((policy['skills'] or {})[skill] or policy['default']) or 0
if w < 0 then w = 0 end
local aht = F.aht .. skill
redis.call('LPUSH', aht, string.format('%.17g', talk_n + w))
redis.call('LTRIM', aht, 0, tonumber(ARGV[7]) - 1)

if not holds then return {'completed', skill, talk, kind, ''} end
local until_s = string.format('%.3f', now + w)
redis.call('HSET', KEYS[1], 'wrapup_s', tostring(w), 'wrapup_until', until_s)
if w > 0 then
  redis.call('HSET', akey, 'state', 'wrapup', 'since', now_s, 'reason', '', 'last_call_end', now_s)
  redis.call('ZADD', KEYS[5], until_s, agent)
  agent_event('wrapup', '')
  redis.call('XADD', KEYS[3], '*', 'type', 'wrapup_started', 'ts', now_s, 'call_sid', sid, 'agent_id', agent,
             'wrapup_s', tostring(w), 'until', until_s)
  return {'completed', skill, talk, kind, until_s}
end
redis.call('XADD', KEYS[3], '*', 'type', 'wrapup_started', 'ts', now_s, 'call_sid', sid, 'agent_id', agent,
           'wrapup_s', '0', 'until', now_s)
pools_make_available(F, akey, agent, now_s, strategy, KEYS[6], KEYS[7], KEYS[3], 'busy', '', 'call_end', sid)
redis.call('XADD', KEYS[3], '*', 'type', 'wrapup_ended', 'ts', now_s, 'call_sid', sid, 'agent_id', agent,
           'via', 'zero')
return {'completed', skill, talk, kind, '0'}
