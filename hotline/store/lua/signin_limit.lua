-- The sign-in limiter: at most MAX failed sign-ins per WINDOW seconds for one account and
-- for one client address. Checking and recording are one script, so the rule is written
-- once and a burst of failures from several web processes is counted exactly.
--
-- Each subject is a list of its latest failure times, newest first, trimmed to MAX entries
-- (the limit needs no more: memory stays bounded whatever an attacker sends) and expiring
-- WINDOW seconds after the last failure. A subject is limited while it has MAX failures
-- inside the window, until the oldest of them leaves it.
--
-- KEYS[1] signin:account:{email} (list)   KEYS[2] signin:addr:{addr} (list)
-- KEYS[3] events (stream)
-- ARGV[1] mode: check | fail   ARGV[2] now (epoch s)   ARGV[3] window (s)   ARGV[4] max
-- fail: ARGV[5] email   ARGV[6] addr   ARGV[7] reason (unknown | wrong_password | disabled)
-- Returns the seconds until a sign-in may be tried again (0 when it may be now), as a
-- string (Lua numbers become integers in a reply).

local mode, now, window, max = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])

local function retry_after(key)
  local oldest = redis.call('LINDEX', key, max - 1)
  if not oldest then return 0 end
  local wait = tonumber(oldest) + window - now
  if wait > 0 then return wait end
  return 0
end

local function both()
  return math.max(retry_after(KEYS[1]), retry_after(KEYS[2]))
end

if mode == 'check' then return tostring(both()) end
if mode ~= 'fail' then return redis.error_reply('signin_limit: unknown mode ' .. mode) end

local email, addr, reason = ARGV[5], ARGV[6], ARGV[7]
local before = both()
for i = 1, 2 do
  redis.call('LPUSH', KEYS[i], ARGV[2])
  redis.call('LTRIM', KEYS[i], 0, max - 1)
  redis.call('PEXPIRE', KEYS[i], math.ceil(window * 1000))
end
local after = both()

redis.call('XADD', KEYS[3], '*', 'type', 'signin_failed', 'ts', ARGV[2],
  'email', email, 'addr', addr, 'reason', reason, 'by', email)
if before == 0 and after > 0 then
  -- this failure tipped it over: logged once, however many failures follow
  local scope = 'address'
  if retry_after(KEYS[1]) > 0 then scope = 'account' end
  redis.call('XADD', KEYS[3], '*', 'type', 'signin_limited', 'ts', ARGV[2],
    'email', email, 'addr', addr, 'retry_after_s', string.format('%.3f', after),
    'scope', scope, 'by', email)
end
return tostring(after)
