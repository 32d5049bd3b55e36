-- Two chefs counting packets per flow in flow.state, for t/14-flows.t:
-- each must see only its own count. The state tables are also kept in a
-- weak table, so that the last interval can tell how many are still held.
local held = setmetatable({}, { __mode = "k" })

local function counter(name, step)
  local chef = { name = name }
  function chef:packet_handler(pkt)
    local f = pkt.flow
    if not f then return end
    local s = f.state
    held[s] = true
    s.n = (s.n or 0) + step
    return { id = f.id, n = s.n }
  end
  function chef:flow_end(flow, why)
    return { id = flow.id, why = why, n = flow.state.n, pkts = flow.orig_pkts + flow.resp_pkts }
  end
  function chef:interval_handler()
    collectgarbage("collect")
    collectgarbage("collect")
    local n = 0
    for _ in pairs(held) do n = n + 1 end
    return { states_held = n }
  end
  return chef
end

return { counter("CountOne", 1), counter("CountTen", 10) }
