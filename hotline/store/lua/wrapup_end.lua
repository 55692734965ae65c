--! use families pools
-- End an agent's wrap-up: back to available and into the pools, `wrapup_ended`, out of
-- `wrapups` -- one step, so the timer, the sweep and the agent's own "Ready" may race.
--
-- KEYS[1] agent:{id}  KEYS[2] wrapups (zset agent -> wrap-up end)  KEYS[3] events
-- KEYS[4] onshift  KEYS[5] oncall
-- F: the key families (store/scripts.py writes them in): the idle pools
-- ARGV[1] agent id  ARGV[2] now  ARGV[3] routing strategy
-- ARGV[4] the call whose wrap-up this is ('' = whichever)  ARGV[5] via: timer | sweep | ...
-- ARGV[6] with via=sweep: tolerance (s) -- a wrap-up due later than now + this is left alone
-- ARGV[7] '1': only if the call of the wrap-up has a disposition (the agent's Ready with
--         HOTLINE_REQUIRE_DISPOSITION; the timer and the sweep never ask)   ARGV[8] by ('' = wrapup)
-- Returns ended | not_due | skipped (not in wrap-up, or the wrap-up of another call) |
--   disposition_required (ARGV[7]: the call has none; nothing changed)

local akey, agent, now_s = KEYS[1], ARGV[1], ARGV[2]
local a = redis.call('HMGET', akey, 'state', 'call_sid')
if a[1] ~= 'wrapup' then
  redis.call('ZREM', KEYS[2], agent)  -- ended by hand, or never started: nothing left to time
  return 'skipped'
end
if ARGV[4] ~= '' and a[2] ~= ARGV[4] then return 'skipped' end  -- a timer from an earlier call
local due = tonumber(redis.call('ZSCORE', KEYS[2], agent))
if ARGV[5] == 'sweep' and due and due > tonumber(now_s) + tonumber(ARGV[6]) then return 'not_due' end
-- The check and the end in one step: a disposition cannot be missing by the time the agent is free.
if ARGV[7] == '1' and a[2] and a[2] ~= '' then
  local disp = redis.call('HGET', F.call .. a[2], 'disposition')
  if not disp or disp == '' then return 'disposition_required' end
end
local by = ARGV[8]
if not by or by == '' then by = 'wrapup' end
pools_make_available(F, akey, agent, now_s, ARGV[3], KEYS[4], KEYS[5], KEYS[3], 'wrapup', '', by, a[2])
redis.call('ZREM', KEYS[2], agent)
local ev = {'type', 'wrapup_ended', 'ts', now_s, 'agent_id', agent, 'via', ARGV[5]}
if ARGV[8] and ARGV[8] ~= '' then ev[#ev + 1] = 'by'; ev[#ev + 1] = ARGV[8] end
if a[2] and a[2] ~= '' then ev[#ev + 1] = 'call_sid'; ev[#ev + 1] = a[2] end
redis.call('XADD', KEYS[3], '*', unpack(ev))
return 'ended'
