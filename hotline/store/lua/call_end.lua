-- The conversation of a bridged call is over (the agent's leg ended, or the conference
-- did): durations stored on the call and its final event written, once. The agent's own
-- state (wrap-up) is changed afterwards through routing/agents.py.
--
-- KEYS[1] call:{sid}  KEYS[2] leg:{agent leg sid} (may not exist)  KEYS[3] events
-- ARGV[1] call sid  ARGV[2] now  ARGV[3] agent id  ARGV[4] ended_by (conference|agent_leg|caller_leg|customer_leg|bridge_failed)
-- Returns {status, skill, talk_s, kind}:
--   completed    answered and finished: state completed, `call_completed` (or
--                `callback_completed` for a callback) -- FINAL
--   abandoned    accepted, but the caller never reached the conference (hung up first):
--                state abandoned, `abandoned` via=bridge -- FINAL
--   unreached    a callback whose customer was not reached: left to routing/callbacks.py
--   not_bridged  nothing to end (already ended, or never bridged): nothing changed
--   wrong_agent  the call is bridged to someone else: nothing changed

local sid, now = ARGV[1], tonumber(ARGV[2])
local c = redis.call('HMGET', KEYS[1], 'state', 'agent', 'enqueued_at', 'answered_at', 'bridged_at', 'skill',
                     'leg_kind', 'agent_answered_at')
if c[1] ~= 'bridged' then return {'not_bridged', c[6] or '', '0', c[7] or ''} end
if c[2] ~= ARGV[3] then return {'wrong_agent', c[6] or '', '0', c[7] or ''} end
local kind = c[7] or 'offer'
local skill = c[6] or 'general'

local function fmt(x) return string.format('%.3f', math.max(0, x)) end
local leg = redis.call('HMGET', KEYS[2], 'placed_at', 'answered_at')
local ring = ''
if tonumber(leg[1]) and tonumber(leg[2]) then ring = fmt(tonumber(leg[2]) - tonumber(leg[1])) end
local enq = tonumber(c[3]) or now
local bridged = tonumber(c[5])

if not bridged then
  if kind == 'callback' then return {'unreached', skill, '0', kind} end
  local wait = fmt(now - enq)
  redis.call('HSET', KEYS[1], 'state', 'abandoned', 'wait_s', wait, 'ring_s', ring, 'talk_s', '0',
             'ended_at', now, 'abandoned_via', 'bridge', 'ended_by', ARGV[4])
  redis.call('XADD', KEYS[3], '*', 'type', 'abandoned', 'ts', ARGV[2], 'call_sid', sid, 'agent_id', ARGV[3],
             'skill', skill, 'wait_s', wait, 'via', 'bridge', 'state_before', 'bridged')
  return {'abandoned', skill, '0', kind}
end

local talk = fmt(now - bridged)
local wait = fmt(bridged - enq)
redis.call('HSET', KEYS[1], 'state', 'completed', 'completed_at', ARGV[2], 'wait_s', wait, 'ring_s', ring,
           'talk_s', talk, 'ended_by', ARGV[4])
redis.call('HSETNX', KEYS[1], 'ended_at', ARGV[2])
local etype = 'call_completed'
if kind == 'callback' then etype = 'callback_completed' end
redis.call('XADD', KEYS[3], '*', 'type', etype, 'ts', ARGV[2], 'call_sid', sid, 'agent_id', ARGV[3],
           'skill', skill, 'wait_s', wait, 'ring_s', ring, 'talk_s', talk, 'ended_by', ARGV[4])
return {'completed', skill, talk, kind}
