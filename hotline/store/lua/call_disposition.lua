-- The agent's disposition and notes for a call they answered: the fields and the
-- `call_disposition` event in one step, or nothing (legs/disposition.py). Repeating it
-- replaces the values and logs again.
--
-- KEYS[1] call:{sid}  KEYS[2] events
-- ARGV[1] call sid  ARGV[2] now  ARGV[3] agent id  ARGV[4] disposition id (checked by the caller)
-- ARGV[5] notes (stripped, bounded by the caller)  ARGV[6] by (who recorded it)
-- Returns {status, had}: status ok | no_call | not_handled (answered by nobody, or by another
-- agent: `agent` names the agent, `answered_at` says they took it); had 1 if a disposition
-- was replaced

local c = redis.call('HMGET', KEYS[1], 'state', 'agent', 'answered_at', 'disposition')
if not c[1] then return {'no_call', '0'} end
if c[2] ~= ARGV[3] or not c[3] or c[3] == '' then return {'not_handled', '0'} end
redis.call('HSET', KEYS[1], 'disposition', ARGV[4], 'notes', ARGV[5], 'disposition_by', ARGV[6],
           'disposition_agent', ARGV[3], 'disposition_at', ARGV[2])
local ev = {'type', 'call_disposition', 'ts', ARGV[2], 'call_sid', ARGV[1], 'agent_id', ARGV[3],
            'disposition', ARGV[4], 'notes', ARGV[5]}
if ARGV[6] ~= '' then ev[#ev + 1] = 'by'; ev[#ev + 1] = ARGV[6] end
redis.call('XADD', KEYS[2], '*', unpack(ev))
local had = '0'
if c[4] and c[4] ~= '' then had = '1' end
return {'ok', had}
