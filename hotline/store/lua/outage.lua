-- The outage mark (store/outage.py): record one, read it, or clear it once acted on.
--
-- KEYS[1] store:outage (hash: since, until; real epoch seconds)
-- ARGV[1] mode: record | peek | clear   ARGV[2] since (record)
-- ARGV[3] until (record: the end of what was seen; clear: the `until` that was acted on)
-- Returns record: 1;  peek: {since, until} or nil when there is no mark;
-- clear: 1 when cleared, 0 when there was none or a later outage widened it meanwhile.
--
-- The sweep peeks, enqueues a reconciliation for every live call, then clears: a sweep
-- that dies in between (or whose Redis does) leaves the mark for the next one, and an
-- outage recorded meanwhile is never cleared unseen.

if ARGV[1] == 'record' then
  local since = tonumber(redis.call('HGET', KEYS[1], 'since'))
  if not since or tonumber(ARGV[2]) < since then redis.call('HSET', KEYS[1], 'since', ARGV[2]) end
  local untl = tonumber(redis.call('HGET', KEYS[1], 'until'))
  if not untl or tonumber(ARGV[3]) > untl then redis.call('HSET', KEYS[1], 'until', ARGV[3]) end
  return 1
end
local m = redis.call('HMGET', KEYS[1], 'since', 'until')
if ARGV[1] == 'peek' then
  if not m[1] then return nil end
  return {m[1], m[2] or m[1]}
end
if ARGV[1] == 'clear' then
  if not m[1] or tonumber(m[2] or m[1]) > tonumber(ARGV[3]) then return 0 end
  redis.call('DEL', KEYS[1])
  return 1
end
return redis.error_reply('outage: unknown mode ' .. ARGV[1])
