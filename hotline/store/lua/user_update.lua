-- Change one console user: disable, reset the password, or store a rehashed password.
-- The read (does the user exist, is it already disabled, is the hash still the one that
-- was verified) and the write in one step.
--
-- KEYS[1] user:{email} (hash)   KEYS[2] events (stream)
-- KEYS[3] caltokens (hash: agent id -> JSON)   KEYS[4] caltokens:digest (hash: digest -> agent id)
-- ARGV[1] now (epoch s)   ARGV[2] mode: disable | reset | rehash   ARGV[3] by
-- reset:  ARGV[4] the new password's Argon2 hash
-- rehash: ARGV[4] the new hash of the same password   ARGV[5] the hash it replaces
-- Returns {status, field, value, ...}: status ok | unchanged | unknown, then the user's
-- hash as HGETALL gives it (empty when unknown).
--
-- disable and reset bump `generation`, which ends every session of the user (the console
-- compares the generation its session holds). Disabling twice changes nothing the second
-- time, so a repeated request logs one event. A rehash is the same password: no new
-- generation, no event, and only over the hash that was verified (a reset meanwhile wins).
-- Disabling an agent's account also revokes their calendar-feed token in the same step:
-- the feed is opened by its URL alone, so it would otherwise outlive the account.

local ukey, now, mode, by = KEYS[1], ARGV[1], ARGV[2], ARGV[3]
if redis.call('EXISTS', ukey) == 0 then return {'unknown'} end

local status = 'ok'
if mode == 'disable' then
  if redis.call('HGET', ukey, 'disabled') == '1' then
    status = 'unchanged'
  else
    local gen = redis.call('HINCRBY', ukey, 'generation', 1)
    redis.call('HSET', ukey, 'disabled', '1', 'updated_at', now)
    redis.call('XADD', KEYS[2], '*', 'type', 'user_disabled', 'ts', now,
      'email', redis.call('HGET', ukey, 'email'), 'generation', gen, 'by', by)
    local agent = redis.call('HGET', ukey, 'agent_id')
    local doc = agent and agent ~= '' and redis.call('HGET', KEYS[3], agent)
    if doc then
      redis.call('HDEL', KEYS[3], agent)
      redis.call('HDEL', KEYS[4], cjson.decode(doc)['digest'])
      redis.call('XADD', KEYS[2], '*', 'type', 'calendar_token_revoked', 'ts', now,
        'agent_id', agent, 'token_id', cjson.decode(doc)['token_id'], 'by', by)
    end
  end
elseif mode == 'reset' then
  local gen = redis.call('HINCRBY', ukey, 'generation', 1)
  redis.call('HSET', ukey, 'password_hash', ARGV[4], 'updated_at', now)
  redis.call('XADD', KEYS[2], '*', 'type', 'password_reset', 'ts', now,
    'email', redis.call('HGET', ukey, 'email'), 'generation', gen, 'by', by)
elseif mode == 'rehash' then
  if redis.call('HGET', ukey, 'password_hash') == ARGV[5] then
    redis.call('HSET', ukey, 'password_hash', ARGV[4])
  else
    status = 'unchanged'
  end
else
  return redis.error_reply('user_update: unknown mode ' .. mode)
end

local out = redis.call('HGETALL', ukey)
table.insert(out, 1, status)
return out
