-- call_step.lua: one step of a call that already exists: set fields and append its
-- events together, or change nothing (unknown call, or a state the step does not apply to).
--
-- Arguments are flat counted lists rather than JSON: encoding and decoding JSON cost
-- more CPU than the rest of a webhook's Redis work.
--
-- KEYS[1] call:{sid}   hash
-- KEYS[2] events       stream
-- ARGV[1] sid   ARGV[2] now (epoch s)
-- ARGV[3] the turn the request was made for ('' = any): when given, the step applies only
--   if the call is at that turn, and moves it to the next one (`turn` + 1). Every Gather
--   action URL carries the turn, so a repeated or replayed request changes nothing.
-- then  F, followed by F (field, value) pairs to set
-- then  E, followed by E events, each: P, followed by P (field, value) pairs (one is "type")
-- then  S, followed by the S states the call must be in (S = 0: any state)
-- then  the names of the fields to return (after the change)
-- Returns {code, value, value, ...}: code 1 changed, 0 unknown call (no values),
--   -1 state not allowed, -2 an earlier turn (nothing changed; the current values follow)
local call, events = KEYS[1], KEYS[2]
local sid, now, expect = ARGV[1], ARGV[2], ARGV[3]

local i = 4
local set = {}
for _ = 1, tonumber(ARGV[i]) do
  set[#set + 1] = ARGV[i + 1]; set[#set + 1] = ARGV[i + 2]; i = i + 2
end
i = i + 1
local entries = {}
for _ = 1, tonumber(ARGV[i]) do
  i = i + 1
  local entry = {'ts', now, 'call_sid', sid}
  for _ = 1, tonumber(ARGV[i]) do
    entry[#entry + 1] = ARGV[i + 1]; entry[#entry + 1] = ARGV[i + 2]; i = i + 2
  end
  entries[#entries + 1] = entry
end
i = i + 1
local nstates = tonumber(ARGV[i])
local allowed = {}
for _ = 1, nstates do i = i + 1; allowed[ARGV[i]] = true end
local want = {}
for j = i + 1, #ARGV do want[#want + 1] = ARGV[j] end
local nwant = #want

-- One read serves the existence check, the state check and the reply: every call hash
-- has a `state`, and the values after the change are the ones read with the step's
-- own fields laid over them (each redis.call costs more than this Lua).
local got = redis.call('HMGET', call, 'state', 'turn', unpack(want))
if not got[1] then return {0} end
local turn = got[2]
table.remove(got, 2)
if nstates > 0 and not allowed[got[1]] then
  got[1] = -1
  return got
end
if expect ~= '' then
  if (turn or '') ~= expect then
    got[1] = -2
    return got
  end
  set[#set + 1] = 'turn'; set[#set + 1] = tostring((tonumber(turn) or 0) + 1)
end
-- The last sign of life of the call from the carrier (the sweep reconciles calls that go quiet).
set[#set + 1] = 'seen_at'; set[#set + 1] = now
redis.call('HSET', call, unpack(set))
for _, entry in ipairs(entries) do redis.call('XADD', events, '*', unpack(entry)) end
if #set > 0 and nwant > 0 then
  local at = {}
  for j = 1, nwant do at[want[j]] = j + 1 end
  for j = 1, #set, 2 do
    local p = at[set[j]]
    if p then got[p] = set[j + 1] end
  end
end
got[1] = 1
return got
