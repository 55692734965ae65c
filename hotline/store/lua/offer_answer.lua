-- The offered agent picked up (the Calls `url` was requested). If the offer still stands,
-- the leg becomes `answered` and the reservation is extended so that its timer does not
-- take the call away while the agent listens to the whisper and presses 1.
-- (This writes expires_at of reservation:{sid} and its score in `reservations`, the
-- matcher's keys, on purpose: only the answer of the leg knows the offer is alive.)
--
-- KEYS[1] leg:{leg sid}  KEYS[2] reservation:{sid}  KEYS[3] reservations (zset)
-- KEYS[4] call:{sid}     KEYS[5] events
-- ARGV[1] call sid  ARGV[2] agent id  ARGV[3] leg sid  ARGV[4] now  ARGV[5] extension (s)
-- ARGV[6] leg TTL (s)
-- The reservation is extended on the first answer only: a replayed answer request
-- changes nothing (it used to push the expiry out each time).
-- Returns {status, expires_at, call_state}:
--   offer     whisper and ask to accept (expires_at: the new expiry, '' if unchanged)
--   accepted  this leg already accepted (a repeated request): back to the conference
--   done      this leg was already decided otherwise (missed, void, ended)
--   gone      the offer is no longer this agent's (call_state says why: a final state =
--             the caller hung up; otherwise the call went back to its place)

local sid, agent, now = ARGV[1], ARGV[2], tonumber(ARGV[4])
local c = redis.call('HMGET', KEYS[4], 'state', 'agent')
local state = redis.call('HGET', KEYS[1], 'state')
if not state then
  if not c[1] then return {'gone', '', ''} end  -- no such call: write nothing
  redis.call('HSET', KEYS[1], 'call_sid', sid, 'agent_id', agent, 'state', 'placed')
  redis.call('EXPIRE', KEYS[1], ARGV[6])
  state = 'placed'
end
if state == 'accepted' then return {'accepted', '', c[1] or ''} end
if state ~= 'placed' and state ~= 'answered' then return {'done', '', c[1] or ''} end

local first = redis.call('HSETNX', KEYS[1], 'answered_at', ARGV[4]) == 1
if first then
  local placed = tonumber(redis.call('HGET', KEYS[1], 'placed_at') or '')
  local ring = ''
  if placed then ring = string.format('%.3f', math.max(0, now - placed)) end
  redis.call('XADD', KEYS[5], '*', 'type', 'agent_answered', 'ts', ARGV[4], 'call_sid', sid, 'agent_id', agent,
             'leg_sid', ARGV[3], 'ring_s', ring)
end

local r = redis.call('HMGET', KEYS[2], 'agent', 'expires_at')
if r[1] ~= agent or c[1] ~= 'reserved' or c[2] ~= agent then
  return {'gone', '', c[1] or ''}
end
if state == 'answered' then return {'offer', '', c[1]} end  -- a repeated answer: extended once
redis.call('HSET', KEYS[1], 'state', 'answered')
local expires = tonumber(r[2]) or now
local want = now + tonumber(ARGV[5])
if want <= expires then return {'offer', '', c[1]} end
local exp_s = string.format('%.3f', want)
redis.call('HSET', KEYS[2], 'expires_at', exp_s)
redis.call('ZADD', KEYS[3], exp_s, sid)
return {'offer', exp_s, c[1]}
