-- Clear the incident announcement of some languages, one `announcement_cleared` event for
-- each that had one: the check and the delete in one step, so two managers clearing at
-- once log it once.
--
-- KEYS[1] events  KEYS[2..] announcement:{lang}
-- ARGV[1] now  ARGV[2] by  ARGV[3..] the languages, in the order of KEYS[2..]
-- Returns the languages that had an announcement.

local had = {}
for i = 2, #KEYS do
  if redis.call('DEL', KEYS[i]) == 1 then
    had[#had + 1] = ARGV[i + 1]
    redis.call('XADD', KEYS[1], '*', 'type', 'announcement_cleared', 'ts', ARGV[1], 'lang', ARGV[i + 1], 'by', ARGV[2])
  end
end
return had
