-- Revoke one wallboard TV token by its id: the lookup of its digest and both deletions in
-- one step, so the screen's next request is refused and two revokes log one event.
--
-- KEYS[1] tvtokens (hash: id -> JSON)   KEYS[2] tvtokens:digest (hash: digest -> id)
-- KEYS[3] events (stream)
-- ARGV[1] now (epoch s)   ARGV[2] token id   ARGV[3] by
-- Returns 1 when revoked, 0 when there was no such token (already revoked, or never).

local doc = redis.call('HGET', KEYS[1], ARGV[2])
if not doc then return 0 end
local token = cjson.decode(doc)
redis.call('HDEL', KEYS[1], ARGV[2])
redis.call('HDEL', KEYS[2], token['digest'])
redis.call('XADD', KEYS[3], '*', 'type', 'tv_token_revoked', 'ts', ARGV[1],
  'token_id', ARGV[2], 'label', token['label'] or '', 'by', ARGV[3])
return 1
