-- Release a lock only if it is still ours: a holder slower than the lock's TTL must not
-- delete the lock its successor took meanwhile.
--
-- KEYS[1] the lock (string, with TTL)   ARGV[1] our token
-- Returns 1 if released, 0 if the lock was not ours (any more).

if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
