-- Create one console user, or refuse: the existence check, the roster check and the write
-- in one step, so two creates of the same email never both succeed.
--
-- KEYS[1] user:{email} (hash)   KEYS[2] users (set of emails)
-- KEYS[3] roster (hash)         KEYS[4] events (stream)
-- ARGV[1] now (epoch s)   ARGV[2] email (normalised)   ARGV[3] role   ARGV[4] name ('' none)
-- ARGV[5] agent id ('' none)   ARGV[6] Argon2 hash of the password   ARGV[7] by
-- ARGV[8] the roster version the agent id was checked against in Python ('' when there is
--         no agent id): the roster document is JSON that Python validates; if it changed
--         since, the check is stale and the caller checks again.
-- Returns {status, field, value, ...}: status ok | exists | roster_changed, then the
-- user's hash as HGETALL gives it (empty unless ok).

local ukey = KEYS[1]
if redis.call('EXISTS', ukey) == 1 then return {'exists'} end
if ARGV[8] ~= '' then
  local version = tonumber(redis.call('HGET', KEYS[3], 'version') or '0')
  if version ~= tonumber(ARGV[8]) then return {'roster_changed'} end
end

-- generation starts at 1: a session that carries no generation (0) is never current
redis.call('HSET', ukey,
  'email', ARGV[2], 'role', ARGV[3], 'name', ARGV[4], 'agent_id', ARGV[5],
  'password_hash', ARGV[6], 'disabled', '0', 'generation', '1',
  'created_at', ARGV[1], 'updated_at', ARGV[1])
redis.call('SADD', KEYS[2], ARGV[2])
local ev = {'type', 'user_created', 'ts', ARGV[1], 'email', ARGV[2], 'role', ARGV[3], 'by', ARGV[7]}
-- agent_id is the event log's own field for events about an agent: only when there is one
if ARGV[5] ~= '' then ev[#ev + 1] = 'agent_id'; ev[#ev + 1] = ARGV[5] end
redis.call('XADD', KEYS[4], '*', unpack(ev))

local out = redis.call('HGETALL', ukey)
table.insert(out, 1, 'ok')
return out
