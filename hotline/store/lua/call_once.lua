-- Set a field of a call that is written once (a transcription, ...) and log it, in one
-- step: a repeated or late request changes nothing, and an unknown call is not created.
--
-- KEYS[1] call:{sid}  KEYS[2] events
-- ARGV[1] call sid  ARGV[2] now  ARGV[3] field  ARGV[4] value  ARGV[5] event type
-- ARGV[6..] more event fields, as name, value pairs
-- Returns 1 if written now, 0 if the call is unknown or the field was already set.

if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if redis.call('HSETNX', KEYS[1], ARGV[3], ARGV[4]) == 0 then return 0 end
local ev = {'type', ARGV[5], 'ts', ARGV[2], 'call_sid', ARGV[1]}
for i = 6, #ARGV do ev[#ev + 1] = ARGV[i] end
redis.call('XADD', KEYS[2], '*', unpack(ev))
return 1
