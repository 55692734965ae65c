-- Replace the sets of agents on shift now and on call now, in one step, and log
-- who started and who ended. Two refreshers racing each write a full, consistent
-- pair of sets, and each change is logged once.
--
-- KEYS[1] onshift (set)   KEYS[2] oncall (set)   KEYS[3] events (stream)
-- ARGV[1] now (epoch s)
-- ARGV[2] n, then n pairs (agent id, shift id): agents on shift now
-- then m, then m pairs (agent id, shift id): agents on call now
-- Returns {started, ended}: agent ids (an agent moving from one set to the other is in both).

local now = ARGV[1]

local function read(at)
  local n = tonumber(ARGV[at])
  local ids, shifts = {}, {}
  for i = 1, n do
    local a = ARGV[at + 2 * i - 1]
    ids[#ids + 1] = a
    shifts[a] = ARGV[at + 2 * i]
  end
  return ids, shifts, at + 2 * n + 1
end

local started, ended = {}, {}

local function apply(key, ids, shifts, on_call)
  local want = {}
  for _, a in ipairs(ids) do want[a] = true end
  local current = redis.call('SMEMBERS', key)
  table.sort(current)
  for _, a in ipairs(current) do
    if not want[a] then
      redis.call('SREM', key, a)
      redis.call('XADD', KEYS[3], '*', 'type', 'shift_ended', 'ts', now, 'agent_id', a, 'on_call', on_call)
      ended[#ended + 1] = a
    end
  end
  for _, a in ipairs(ids) do
    if redis.call('SADD', key, a) == 1 then
      redis.call('XADD', KEYS[3], '*', 'type', 'shift_started', 'ts', now, 'agent_id', a,
                 'shift', shifts[a], 'on_call', on_call)
      started[#started + 1] = a
    end
  end
end

local on_ids, on_shifts, nxt = read(2)
local call_ids, call_shifts = read(nxt)
apply(KEYS[1], on_ids, on_shifts, '0')
apply(KEYS[2], call_ids, call_shifts, '1')
return {started, ended}
