-- Returns the Nth serializer case for the Nth packet (see t/02-serialize.t).
local cycle = {}
cycle.self = cycle
local deep = {}
local cur = deep
for _ = 1, 70 do cur.next = {}; cur = cur.next end
local shared = { 1, 2 }

local cases = {
  { 1, 2, 3 },                                  -- 1 array
  { a = 1, b = "x" },                           -- 2 object
  {},                                           -- 3 empty table
  dumplings.array(),                            -- 4 empty marked array
  { [1] = "a", [3] = "c" },                     -- 5 sparse: object
  { 1, 2, x = 3 },                              -- 6 mixed: object
  { n = 3, f = 1.5, big = 2^53, neg = -7 },     -- 7 numbers
  "caf\195\169 \240\159\165\159",               -- 8 valid UTF-8 kept
  "a\255b\128c",                                -- 9 stray bytes kept as U+00FF, U+0080
  "nul\0inside",                                -- 10 NUL kept
  cycle,                                        -- 11 cycle: error
  function() end,                               -- 12 function: error
  { x = 0/0 },                                  -- 13 NaN: error
  { x = 1/0 },                                  -- 14 Inf: error
  deep,                                         -- 15 too deep: error
  { v = dumplings.null },                       -- 16 null
  { true, false },                              -- 17 booleans
  { a = shared, b = shared },                   -- 18 shared (not a cycle)
  42,                                           -- 19 bare number
  "\"quotes\" and \\ and \n newline",           -- 20 escapes
  { [{}] = 1 },                                 -- 21 table key: error
  { ["k\255"] = 1 },                            -- 22 stray byte in key
  { [2.5] = "x", [10] = "y" },                  -- 23 number keys
  coroutine.create(function() end),             -- 24 thread: error
  "\255\"\\\n\t\1\127",                          -- 25 stray byte with escapes
  { ["q\"\255\n"] = 1 },                          -- 26 stray byte in key with escapes
  { t = 1700000000.123456, s = -0.001, z = 0 },   -- 27 more numbers
  { ["k\0ey"] = "v\0" },                          -- 28 NUL in a key
  dumplings.object(),                             -- 29 empty marked object
  dumplings.object({ "a", "b" }),                 -- 30 1..n marked object
  dumplings.object({ [1] = "x" }),                -- 31 one key marked object
  { inner = dumplings.object({ 7 }) },            -- 32 nested marked object
}

local chef = { name = "CasesChef", n = 0 }
function chef:packet_handler(pkt)
  self.n = self.n + 1
  if self.n <= #cases then return cases[self.n] end
end
return chef
