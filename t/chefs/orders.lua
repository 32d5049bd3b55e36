-- The same keys and values, inserted in different orders into tables of
-- different sizes: Lua walks them in different orders (see t/19).
local new_table = require("table.new")
local keys = {}
for i = 1, 40 do keys[i] = ("k%02d"):format((i * 17) % 40) end

-- Dumplings 1 and 2 have a big table (sorted with qsort), 3 and 4 a small
-- one of the same size each time, walked in different orders (the
-- serializer tries the order it found for the last object of that size
-- first: it must still sort the second).
local chef = { name = "OrdersChef", n = 0 }
function chef:packet_handler()
  self.n = self.n + 1
  if self.n > 4 then return nil end
  if self.n > 2 then
    local t = self.n == 3 and {} or new_table(0, 64)
    local from, to, step = 1, 10, 1
    if self.n == 4 then from, to, step = 10, 1, -1 end
    for i = from, to, step do t[keys[i]] = i end
    return { small = t }
  end
  local t = self.n == 1 and {} or new_table(0, 128)
  local from, to, step = 1, #keys, 1
  if self.n == 2 then from, to, step = #keys, 1, -1 end
  for i = from, to, step do t[keys[i]] = i end
  t[7], t[2.5], t["K"] = "seven", "two and a half", "upper"
  return { inner = t, z = 1, a = 2 }
end
return chef
