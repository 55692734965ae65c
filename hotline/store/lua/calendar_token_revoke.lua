-- Revoke an agent's calendar-feed token: the lookup of its digest and both deletions in
-- one step, so the calendar app's next poll is refused and two revokes log one event.
--
-- KEYS[1] caltokens (hash: agent id -> JSON)   KEYS[2] caltokens:digest (hash: digest -> agent id)
-- KEYS[3] events (stream)
-- ARGV[1] now (epoch s)   ARGV[2] agent id   ARGV[3] by
-- Returns 1 when revoked, 0 when the agent had no token.

local doc = redis.call('HGET', KEYS[1], ARGV[2])
if not doc then return 0 end
local t = cjson.decode(doc)
redis.call('HDEL', KEYS[1], ARGV[2])
redis.call('HDEL', KEYS[2], t['digest'])
redis.call('XADD', KEYS[3], '*', 'type', 'calendar_token_revoked', 'ts', ARGV[1],
  'agent_id', ARGV[2], 'token_id', t['token_id'], 'by', ARGV[3])
return 1
