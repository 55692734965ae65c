-- A calendar app's poll: whose feed the token opens, and since when the feed has shown the
-- roster version in force (its LAST-MODIFIED), recorded the first time a version is served
-- so the value changes only when the roster does.
--
-- KEYS[1] caltokens:digest (hash: digest -> agent id)   KEYS[2] caltokens:seen (hash: agent
-- id -> "version|ts")
-- ARGV[1] now (epoch s)   ARGV[2] the token's SHA-256   ARGV[3] the roster version served
-- Returns {agent id, first served at (epoch s, as text)}, or false for an unknown token.

local agent = redis.call('HGET', KEYS[1], ARGV[2])
if not agent then return false end
local seen = redis.call('HGET', KEYS[2], agent)
if seen then
  local bar = string.find(seen, '|', 1, true)
  if string.sub(seen, 1, bar - 1) == ARGV[3] then
    return {agent, string.sub(seen, bar + 1)}
  end
end
redis.call('HSET', KEYS[2], agent, ARGV[3] .. '|' .. ARGV[1])
return {agent, ARGV[1]}
