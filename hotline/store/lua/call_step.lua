-- call_step.lua: one step of a call that already exists: set fields and append its
-- events together, or change nothing (unknown call, or a state the step does not apply to).
--
-- KEYS[1] call:{sid}   hash
-- KEYS[2] events       stream
-- ARGV[1] sid   ARGV[2] now (epoch s)
-- ARGV[3] JSON object: fields to set (string values)
-- ARGV[4] JSON array of events: [{"type": "...", "field": "value", ...}] (string values)
-- ARGV[5] JSON array of the states the call must be in ("[]": any state)
-- Returns {code, field1, value1, ...}: code 1 changed, 0 unknown call (no fields),
--   -1 state not allowed (nothing changed; the current hash follows)
local call, events = KEYS[1], KEYS[2]
local sid, now = ARGV[1], ARGV[2]
if redis.call('EXISTS', call) == 0 then return {0} end

local allowed = cjson.decode(ARGV[5])
if #allowed > 0 then
  local state = redis.call('HGET', call, 'state')
  local ok = false
  for _, s in ipairs(allowed) do if s == state then ok = true end end
  if not ok then
    local out = {-1}
    for _, v in ipairs(redis.call('HGETALL', call)) do out[#out + 1] = v end
    return out
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

local out = {1}
for _, v in ipairs(redis.call('HGETALL', call)) do out[#out + 1] = v end
return out
