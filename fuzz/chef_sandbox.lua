-- Run by fuzz/chef_load.c in each fresh chef runtime, before the fuzzed
-- chef file is loaded. A chef runs with the kitchen's rights, and what it
-- may do to the world is not under test: this takes away what reaches
-- outside the process or under the runtime's feet (files, processes,
-- modules, the FFI, the debug library, bytecode), so that what is left to
-- find is the runtime's to answer for. Everything else, the globals the
-- runtime itself reads included, stays as a chef finds it in a kitchen.
--
-- Called with two values: a function that says whether the C side's
-- instruction budget for this step is spent, and the error it raises then.
local spent, spent_error = ...

-- The JIT is off (see new_runtime() in fuzz/chef_load.c) and stays off.
jit = nil

-- Once the budget is spent, a chef's own pcall must not swallow the error
-- and carry on looping: it goes on up to the runtime's pcall, which took
-- its own copy of pcall before this ran.
local pcall, xpcall, resume, error = pcall, xpcall, coroutine.resume, error
local function unless_spent(...)
  if spent() then error(spent_error, 0) end
  return ...
end
-- (Assigned through _G: `function pcall` would assign the local.)
_G.pcall = function(...) return unless_spent(pcall(...)) end
_G.xpcall = function(...) return unless_spent(xpcall(...)) end
function coroutine.resume(...) return unless_spent(resume(...)) end

-- Text only: LuaJIT loads bytecode without checking it, and a corrupt
-- chunk crashes it. The runtime loads chef files through this global too.
local load = load
_G.load = function(chunk, name, _, env) return load(chunk, name, "t", env) end
loadstring = function(s, name) return load(s, name, "t") end
string.dump = nil

-- Nothing outside the process.
io, dofile, loadfile, debug = nil, nil, nil, nil
print = function() end
os = { time = os.time, clock = os.clock, date = os.date, difftime = os.difftime,
       getenv = os.getenv }

-- Only the modules the runtime asks for while it runs, and harmless ones.
local loaded = package.loaded
local allowed = { bit = loaded.bit, ["table.new"] = require("table.new"),
                  string = string, table = table, math = math, coroutine = coroutine }
package = nil
function require(name)
  local m = allowed[name]
  if m == nil then error(("module %s is not for fuzzed chefs"):format(tostring(name)), 2) end
  return m
end

-- One instruction can ask for a gigabyte; a chef that wants one meets the
-- same refusal as when memory runs out.
local rep = string.rep
function string.rep(s, n, sep)
  if type(n) == "number" and n * (#tostring(s) + #tostring(sep or "")) > 1048576 then
    error("not enough memory", 2)
  end
  return rep(s, n, sep)
end
