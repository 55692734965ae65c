-- Change one console user: disable, reset the password, or store a rehashed password.
-- The read (does the user exist, is it already disabled, is the hash still the one that
-- was verified) and the write in one step.
--
-- KEYS[1] user:{email} (hash)   KEYS[2] events (stream)
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
