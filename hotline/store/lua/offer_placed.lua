-- The agent's leg was created at the carrier: remember it on the call and log the offer,
-- or, when the offer was withdrawn while the REST request ran, void the leg (the job then
-- cancels it). Status callbacks may have created the leg hash first: fields already
-- written by them are kept.
--
-- KEYS[1] call:{sid}   KEYS[2] reservation:{sid}   KEYS[3] leg:{leg sid}   KEYS[4] events
-- ARGV[1] call sid  ARGV[2] agent id  ARGV[3] leg sid  ARGV[4] now  ARGV[5] kind (offer|callback)
-- ARGV[6] to (number or client:identity)  ARGV[7] ring timeout (s)  ARGV[8] leg TTL (s)
-- Returns 'ok' | 'gone'

redis.call('HSET', KEYS[3], 'call_sid', ARGV[1], 'agent_id', ARGV[2], 'kind', ARGV[5], 'to', ARGV[6],
           'placed_at', ARGV[4])
redis.call('HSETNX', KEYS[3], 'state', 'placed')
redis.call('EXPIRE', KEYS[3], ARGV[8])
local res_agent = redis.call('HGET', KEYS[2], 'agent')
local c = redis.call('HMGET', KEYS[1], 'state', 'agent')
if res_agent ~= ARGV[2] or c[1] ~= 'reserved' or c[2] ~= ARGV[2] then
  if redis.call('HGET', KEYS[3], 'state') == 'placed' then redis.call('HSET', KEYS[3], 'state', 'void') end
  return 'gone'
end
redis.call('HSET', KEYS[1], 'agent_leg', ARGV[3])
redis.call('HINCRBY', KEYS[1], 'offers', 1)
redis.call('XADD', KEYS[4], '*', 'type', 'agent_offered', 'ts', ARGV[4], 'call_sid', ARGV[1], 'agent_id', ARGV[2],
           'leg_sid', ARGV[3], 'to', ARGV[6], 'kind', ARGV[5], 'ring_timeout', ARGV[7])
return 'ok'
