-- Twilio's I-Twilio-Idempotency-Token (webhooks/idempotency.py): the first delivery of a
-- webhook claims its token; a retry of it gets the answer the first one gave.
--
-- KEYS[1] idem:{token} (string: '' while the first delivery runs, then its TwiML)
-- ARGV[1] mode: claim | store   ARGV[2] TTL (s)   ARGV[3] store: the response body
-- Returns claim: nil when this request is the first (go on), else the stored answer
--   ('' if the first delivery has not answered yet);  store: 1

if ARGV[1] == 'claim' then
  if redis.call('SET', KEYS[1], '', 'NX', 'EX', ARGV[2]) then return nil end
  return redis.call('GET', KEYS[1]) or ''
end
redis.call('SET', KEYS[1], ARGV[3], 'XX', 'EX', ARGV[2])
return 1
