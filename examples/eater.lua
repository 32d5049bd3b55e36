-- An eater in Lua: `dumplings eat --lua examples/eater.lua`.
-- Counts dumplings per chef and prints a tally line for each one.
-- The hooks are optional; d is the dumpling as a Lua table.

local eater = { seen = {} }

function eater.on_connect()
  io.stderr:write("connected to the hub\n")
end

function eater.on_dumpling(d)
  local chef = d.metadata.chef
  eater.seen[chef] = (eater.seen[chef] or 0) + 1
  print(string.format("%s from %s (%d so far)", chef,
                      tostring(d.metadata.kitchen), eater.seen[chef]))
end

function eater.on_connection_lost()
  io.stderr:write("lost the hub\n")
end

return eater
