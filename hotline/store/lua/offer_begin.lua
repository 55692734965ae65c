-- May this RQ job ring the agent reserved for this call? Guards against a second job
-- for the same reservation (the sweep and a trigger racing, a job enqueued twice);
-- RQ's own retry of the same job passes (same job token).
--
-- KEYS[1] call:{sid} (hash)   KEYS[2] reservation:{sid} (hash)
-- ARGV[1] call sid   ARGV[2] agent id   ARGV[3] job token (RQ job id)   ARGV[4] now
-- Returns {status, kind, offered_at, expires_at}:
--   go        ring the agent (kind: offer = a caller waiting in the queue,
--             callback = a callback request: the customer is called after the agent)
--   placed    a leg already rings for this reservation: nothing to do
--   duplicate another job owns this reservation's offer
--   stale     the reservation is gone or names someone else (expired, caller hung up)

local res = redis.call('HMGET', KEYS[2], 'agent', 'offered_at', 'expires_at', 'prev_state', 'lines')
if res[1] ~= ARGV[2] then return {'stale', '', '', ''} end
local c = redis.call('HMGET', KEYS[1], 'state', 'agent', 'offer_for', 'offer_job', 'agent_leg')
if c[1] ~= 'reserved' or c[2] ~= ARGV[2] then return {'stale', '', '', ''} end
local kind = 'offer'
if res[4] == 'callback_requested' then kind = 'callback' end
-- One reservation = one agent at one offer time (the reservation hash has no id of its own).
local this = ARGV[2] .. '@' .. res[2]
if c[3] == this then
  if c[5] and c[5] ~= '' then return {'placed', kind, res[2], res[3]} end
  if c[4] ~= ARGV[3] then return {'duplicate', kind, res[2], res[3]} end
end
-- offer_lines: the lines the call waited in, for a callback put back after a failed attempt
-- (the reservation that remembers them is deleted on accept).
redis.call('HSET', KEYS[1], 'offer_for', this, 'offer_job', ARGV[3], 'agent_leg', '', 'leg_kind', kind,
           'offer_lines', res[5] or '')
return {'go', kind, res[2], res[3]}
