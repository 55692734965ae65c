-- Extend a lock only if it is still ours (a long archive run renews its lock each batch;
-- one that lost it must not take it back from its successor).
--
-- KEYS[1] the lock (string, with TTL)   ARGV[1] our token   ARGV[2] new TTL (ms)
-- Returns 1 if extended, 0 if the lock was not ours (any more).

if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
