-- events_pack.lua: the event log's older part, kept compressed (hotline/events.py).
-- Streams cannot be compressed in place, so entries old enough (events.PACK_AFTER_S) leave
-- the stream's head for one hash field holding them zlib-compressed: one step, so that an
-- entry is always in exactly one of the two places.
--
-- KEYS[1] events (stream)   KEYS[2] events:packed (hash: segment name -> compressed entries)
-- ARGV[1] 'pack': ARGV[2] segment name, ARGV[3] compressed entries, ARGV[4] first id,
--   ARGV[5] last id, ARGV[6] the id right after the last. Applies only if the stream still
--   begins at the first id and still holds the last one (nobody packed or trimmed them
--   meanwhile): the segment is stored and the stream trimmed to ARGV[6].
-- ARGV[1] 'replace': ARGV[2] old segment name, ARGV[3] new segment name ('' = none),
--   ARGV[4] its compressed entries. Applies only if the old segment is still there (the
--   archive moved the head of a segment to SQL: the rest stays, as a smaller segment).
-- Returns 1 applied, 0 nothing changed.
local mode = ARGV[1]
if mode == 'pack' then
  local head = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)
  if #head == 0 or head[1][1] ~= ARGV[4] then return 0 end
  if #redis.call('XRANGE', KEYS[1], ARGV[5], ARGV[5]) == 0 then return 0 end
  redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
  redis.call('XTRIM', KEYS[1], 'MINID', ARGV[6])
  return 1
elseif mode == 'replace' then
  if redis.call('HDEL', KEYS[2], ARGV[2]) == 0 then return 0 end
  if ARGV[3] ~= '' then redis.call('HSET', KEYS[2], ARGV[3], ARGV[4]) end
  return 1
end
return redis.error_reply('events_pack: unknown mode ' .. tostring(mode))
