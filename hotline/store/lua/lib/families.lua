-- lib/families.lua: the key families a script builds data-dependent key names from (the
-- lines of a call, the pools of an agent's skills...), as store/keys.py names them.
-- Prepended to scripts whose first line says `--! use families`. The caller passes
-- Keys.families (one ARGV): the family prefixes joined by '|', in this order.

local FAMILY_NAMES = {'waiting', 'agent', 'call', 'reservation', 'idle', 'idlecall', 'aht'}

local function families(arg)
  local f, i = {}, 1
  for part in string.gmatch(arg, '[^|]+') do f[FAMILY_NAMES[i]] = part; i = i + 1 end
  return f
end

-- ---- end of lib/families.lua ----
