-- archive_calls.lua: take finished calls out of Redis once the archive holds them
-- (hotline/archive/mover.py copies and verifies each row in SQL first). Per call, in one
-- step: re-check that it is finished -- a call that is live (or was never finished) is
-- never deleted, whatever the caller of this script believed -- then delete its hash, its
-- entry in `calls` and in its caller's caller_calls:{number} (the call card must not list
-- a call Redis no longer has), and make sure the caller's keys expire (a key written
-- before keys had a TTL would stay for ever). A call whose hash is already gone (an earlier run
-- killed after the delete, or an expired tombstone) only loses its index entry.
--
-- KEYS[1] calls (zset sid -> created_at)
-- KEYS[3k-1], KEYS[3k], KEYS[3k+1] (k = 1..n) call:{sid}, caller:{number},
--   caller_calls:{number} of the k-th call
-- ARGV[1] now (epoch s)  ARGV[2] caller key TTL (s, queue/calls.CALLER_TTL_S)
-- ARGV[3] the final states, comma-separated (states.FINAL_STATES)
-- ARGV[3+k] the k-th call's sid
-- Returns {deleted, already_gone, kept_live}

local now, ttl = tonumber(ARGV[1]), tonumber(ARGV[2])
local final = {}
for s in string.gmatch(ARGV[3], '[^,]+') do final[s] = true end
local deleted, gone, live = 0, 0, 0
for k = 1, #ARGV - 3 do
  local sid, call, caller, recent = ARGV[3 + k], KEYS[3 * k - 1], KEYS[3 * k], KEYS[3 * k + 1]
  local state = redis.call('HGET', call, 'state')
  if not state then
    redis.call('ZREM', KEYS[1], sid)
    gone = gone + 1
  elseif not final[state] then
    live = live + 1
  else
    redis.call('DEL', call)
    redis.call('ZREM', KEYS[1], sid)
    redis.call('ZREM', recent, sid)
    deleted = deleted + 1
    -- no expiry: give the one create_call.lua gives, counted from the caller's last call
    local left = math.floor((tonumber(redis.call('HGET', caller, 'last_at')) or 0) + ttl - now)
    for _, key in ipairs({caller, recent}) do
      if redis.call('TTL', key) == -1 then
        if left > 0 then redis.call('EXPIRE', key, left) else redis.call('DEL', key) end
      end
    end
  end
end
return {deleted, gone, live}
