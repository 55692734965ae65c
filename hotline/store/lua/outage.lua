-- The outage mark (store/outage.py): record one, or take it (read and delete in one step,
-- so that exactly one sweep reconciles for it).
--
-- KEYS[1] store:outage (hash: since, until; real epoch seconds)
-- ARGV[1] mode: record | take   ARGV[2] since   ARGV[3] until
-- Returns record: 1;  take: {since, until} or nil when there is no mark

if ARGV[1] == 'record' then
  local since = tonumber(redis.call('HGET', KEYS[1], 'since'))
  if not since or tonumber(ARGV[2]) < since then redis.call('HSET', KEYS[1], 'since', ARGV[2]) end
  local untl = tonumber(redis.call('HGET', KEYS[1], 'until'))
  if not untl or tonumber(ARGV[3]) > untl then redis.call('HSET', KEYS[1], 'until', ARGV[3]) end
  return 1
end
local m = redis.call('HMGET', KEYS[1], 'since', 'until')
if not m[1] then return nil end
redis.call('DEL', KEYS[1])
return {m[1], m[2] or m[1]}
