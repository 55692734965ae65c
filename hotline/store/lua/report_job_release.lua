-- Release a report child's claim (report_job_claim.lua) only if it is still ours: a child
-- slower than the claim's TTL must not drop the claim of the one started after it.
--
-- KEYS[1] report:jobs (zset)   KEYS[2] report:jobs:owner (hash)
-- ARGV[1] report id   ARGV[2] our owner string ("token started_at")
-- Returns 1 if released, 0 if the claim was not ours (any more).

if redis.call('HGET', KEYS[2], ARGV[1]) == ARGV[2] then
  redis.call('HDEL', KEYS[2], ARGV[1])
  redis.call('ZREM', KEYS[1], ARGV[1])
  return 1
end
return 0
