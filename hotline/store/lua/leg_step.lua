-- One transition of an outbound leg (agent offer, callback customer), applied once:
-- only from the listed states, so a repeated or late status callback changes nothing.
-- Creates the leg record if a webhook arrives before the job stored it -- but only for a
-- call we know: a request about a call that does not exist writes nothing.
--
-- KEYS[1] leg:{leg sid}  KEYS[2] events  KEYS[3] call:{call sid}
-- ARGV[1] leg sid  ARGV[2] now  ARGV[3] JSON list of states the step applies from
-- ARGV[4] new state  ARGV[5] JSON object of fields to set  ARGV[6] JSON list of events
--   (each an object with `type` and its fields; ts, call_sid, agent_id and leg_sid are added)
-- ARGV[7] call sid and ARGV[8] agent id (when the leg is not known yet)  ARGV[9] TTL (s)
-- Returns {applied 0|1, previous state}

local state = redis.call('HGET', KEYS[1], 'state')
if not state then
  if redis.call('EXISTS', KEYS[3]) == 0 then return {0, ''} end
  redis.call('HSET', KEYS[1], 'call_sid', ARGV[7], 'agent_id', ARGV[8], 'state', 'placed')
  state = 'placed'
end
redis.call('EXPIRE', KEYS[1], ARGV[9])
local ok = false
for _, s in ipairs(cjson.decode(ARGV[3])) do if s == state then ok = true end end
if not ok then return {0, state} end
redis.call('HSET', KEYS[1], 'state', ARGV[4])
for k, v in pairs(cjson.decode(ARGV[5])) do redis.call('HSET', KEYS[1], k, v) end
local who = redis.call('HMGET', KEYS[1], 'call_sid', 'agent_id')
for _, ev in ipairs(cjson.decode(ARGV[6])) do
  local entry = {'type', ev['type'], 'ts', ARGV[2], 'call_sid', who[1] or ARGV[7], 'leg_sid', ARGV[1]}
  if who[2] and who[2] ~= '' then entry[#entry + 1] = 'agent_id'; entry[#entry + 1] = who[2] end
  for k, v in pairs(ev) do
    if k ~= 'type' then entry[#entry + 1] = k; entry[#entry + 1] = tostring(v) end
  end
  redis.call('XADD', KEYS[2], '*', unpack(entry))
end
return {1, state}
