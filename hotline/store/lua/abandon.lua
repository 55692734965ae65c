--! use families
-- abandon.lua: the caller hung up. Idempotent, whichever of the Enqueue action and the
-- status callback comes first: only a call still waiting or reserved becomes abandoned
-- (removed from every line in its `lines` field, wait_s stored, one `abandoned` event);
-- a second call changes nothing. From the status callback (ARGV[4] set) it also records
-- the end of the call once (`call_ended`), and a call that hung up in the IVR becomes
-- `left_ivr`.
--
-- KEYS[1] call:{sid}   hash
-- KEYS[2] events       stream
-- F: the key families (store/scripts.py writes them in): the call's lines, waiting:{skill},
--    are data, not known to the caller of the script
-- ARGV[1] sid   ARGV[2] now (epoch s)   ARGV[3] via ("action" | "status" | ...)
-- ARGV[4] carrier CallStatus when from the status callback, else ""
-- ARGV[5] CallDuration from the carrier, or ""
-- ARGV[6] "failed" when the carrier could not hold the call (queue full, repeated errors):
--   the same removal, but state `failed` and a `call_failed` event (reason = ARGV[3])
-- Returns {abandoned 0|1, state before, ended_now 0|1}; state before is "" for an unknown call
local call, events = KEYS[1], KEYS[2]
local sid, now, via, status = ARGV[1], ARGV[2], ARGV[3], ARGV[4]

local c = redis.call('HMGET', call, 'state', 'lines', 'enqueued_at', 'skill')
local state = c[1]
if not state then
  if status == '' then return {0, '', 0} end
  -- The end of a call we never saw arrive (its status callback overtook /incoming, or
  -- /incoming was lost): a short-lived tombstone, so that a late /incoming finds a
  -- finished call and hangs up instead of starting an IVR nobody hears.
  redis.call('HSET', call, 'sid', sid, 'state', 'left_ivr', 'end_status', status, 'ended_at', now,
             'created_at', now, 'tombstone', '1')
  redis.call('EXPIRE', call, 2 * 86400)
  redis.call('XADD', events, '*', 'type', 'call_ended', 'ts', now, 'call_sid', sid, 'status', status,
             'duration', ARGV[5], 'state', 'left_ivr', 'unknown_call', '1')
  return {0, '', 1}
end

local abandoned = 0
if state == 'waiting' or state == 'reserved' then
  for skill in string.gmatch(c[2] or '', '[^,]+') do
    redis.call('ZREM', F.waiting .. skill, sid)
  end
  local since = tonumber(c[3] or now)
  local wait = string.format('%.3f', math.max(0, tonumber(now) - since))
  local skill = c[4] or ''
  if ARGV[6] == 'failed' then
    redis.call('HSET', call, 'state', 'failed', 'wait_s', wait, 'lines', '', 'failed_reason', via)
    redis.call('XADD', events, '*', 'type', 'call_failed', 'ts', now, 'call_sid', sid,
               'skill', skill, 'wait_s', wait, 'reason', via, 'state_before', state)
  else
    redis.call('HSET', call, 'state', 'abandoned', 'wait_s', wait, 'lines', '',
               'abandoned_via', via)
    redis.call('XADD', events, '*', 'type', 'abandoned', 'ts', now, 'call_sid', sid,
               'skill', skill, 'wait_s', wait, 'via', via, 'state_before', state)
  end
  abandoned = 1
elseif status ~= '' and (state == 'ivr' or state == 'selfhelp') then
  redis.call('HSET', call, 'state', 'left_ivr')
end

local ended = 0
if status ~= '' and redis.call('HSETNX', call, 'end_status', status) == 1 then
  redis.call('HSETNX', call, 'ended_at', now)
  redis.call('XADD', events, '*', 'type', 'call_ended', 'ts', now, 'call_sid', sid,
             'status', status, 'duration', ARGV[5], 'state', redis.call('HGET', call, 'state'))
  ended = 1
elseif abandoned == 1 then
  redis.call('HSETNX', call, 'ended_at', now)
end
return {abandoned, state, ended}
