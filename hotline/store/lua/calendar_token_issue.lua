-- Issue an agent's calendar-feed token, replacing the one they had: the old digest's
-- removal, the new token's two entries and the event in one step, so the old link stops
-- working the moment the new one exists, and two agents' tokens never mix.
--
-- KEYS[1] caltokens (hash: agent id -> JSON)   KEYS[2] caltokens:digest (hash: digest -> agent id)
-- KEYS[3] events (stream)
-- ARGV[1] now (epoch s)   ARGV[2] agent id   ARGV[3] the new token's SHA-256   ARGV[4] its id
-- ARGV[5] by
-- Returns the id of the token it replaced, or '' when the agent had none.

local old = redis.call('HGET', KEYS[1], ARGV[2])
local replaced = ''
if old then
  local t = cjson.decode(old)
  redis.call('HDEL', KEYS[2], t['digest'])
  replaced = t['token_id']
end
redis.call('HSET', KEYS[1], ARGV[2], cjson.encode({
  digest = ARGV[3], token_id = ARGV[4], created_at = tonumber(ARGV[1]), by = ARGV[5]}))
redis.call('HSET', KEYS[2], ARGV[3], ARGV[2])
redis.call('XADD', KEYS[3], '*', 'type', 'calendar_token_issued', 'ts', ARGV[1],
  'agent_id', ARGV[2], 'token_id', ARGV[4], 'replaced', replaced, 'by', ARGV[5])
return replaced
