-- Every stream event and flow end, for t/41-streams.t: data as hex (so
-- that any byte compares exactly), holes by their length, and a count per
-- flow kept in flow.state.
local chef = { name = "StreamLog" }

local HEX = {}
for i = 0, 255 do HEX[string.char(i)] = ("%02x"):format(i) end

function chef:stream(flow, dir, data, gap)
  local st = flow.state
  st.n = (st.n or 0) + 1
  return { id = flow.id, dir = dir, hex = data and (data:gsub(".", HEX)), gap = gap, n = st.n,
           orig_p = flow.orig_p, resp_p = flow.resp_p }
end

function chef:flow_end(flow, why)
  return { id = flow.id, why = why, events = flow.state.n or 0 }
end

return chef
