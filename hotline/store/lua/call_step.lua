-- call_step.lua: one step of a call that already exists: set fields and append its
-- events together, or change nothing (unknown call, or a state the step does not apply to).
--
-- KEYS[1] call:{sid}   hash
-- KEYS[2] events       stream
-- ARGV[1] sid   ARGV[2] now (epoch s)
-- ARGV[3] JSON object: fields to set (string values)
-- ARGV[4] JSON array of events: [{"type": "...", "field": "value", ...}] (string values)
-- ARGV[5] JSON array of the states the call must be in ("[]": any state)
-- ARGV[6..] the fields to return (after the change), by name: a short reply keeps the
--   webhook cheap (every reply element is parsed by the client)
-- Returns {code, value of ARGV[6], value of ARGV[7], ...}: code 1 changed, 0 unknown
--   call (no values), -1 state not allowed (nothing changed; current values follow)
local call, events = KEYS[1], KEYS[2]
local sid, now = ARGV[1], ARGV[2]
if redis.call('EXISTS', call) == 0 then return {0} end

local allowed = cjson.decode(ARGV[5])
if #allowed > 0 then
  local state = redis.call('HGET', call, 'state')
  local ok = false
  for _, s in ipairs(allowed) do if s == state then ok = true end end
  if not ok then
    return {-1, unpack(redis.call('HMGET', call, unpack(ARGV, 6)))}
  end
end

local set = {}
for k, v in pairs(cjson.decode(ARGV[3])) do set[#set + 1] = k; set[#set + 1] = v end
if #set > 0 then redis.call('HSET', call, unpack(set)) end

for _, ev in ipairs(cjson.decode(ARGV[4])) do
  local entry = {'type', ev['type'], 'ts', now, 'call_sid', sid}
  for k, v in pairs(ev) do
    if k ~= 'type' then entry[#entry + 1] = k; entry[#entry + 1] = v end
  end
  redis.call('XADD', events, '*', unpack(entry))
end

return {1, unpack(redis.call('HMGET', call, unpack(ARGV, 6)))}
