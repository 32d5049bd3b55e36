-- The same keys and values, inserted in different orders into tables of
-- different sizes: Lua walks them in different orders (see t/19).
local new_table = require("table.new")
local keys = {}
for i = 1, 40 do keys[i] = ("k%02d"):format((i * 17) % 40) end

local chef = { name = "OrdersChef", n = 0 }
function chef:packet_handler()
  self.n = self.n + 1
  if self.n > 2 then return nil end
  local t = self.n == 1 and {} or new_table(0, 128)
  local from, to, step = 1, #keys, 1
  if self.n == 2 then from, to, step = #keys, 1, -1 end
  for i = from, to, step do t[keys[i]] = i end
  t[7], t[2.5], t["K"] = "seven", "two and a half", "upper"
  return { inner = t, z = 1, a = 2 }
end
return chef
