-- TopTalkersChef: on every interval, the host pairs that moved the most
-- bytes during that interval (IPv4 and IPv6; both directions together).

-- How many pairs: args.top (-c toptalkers:top=N).

local chef = { name = "TopTalkersChef", pairs_seen = {}, args = { top = 10 } }

function chef:packet_handler(pkt)
  local ip = pkt.IP or pkt.IPv6
  if not ip then return nil end
  local a, b = ip.src, ip.dst
  if b < a then a, b = b, a end
  local key = a .. " " .. b
  local pair = self.pairs_seen[key]
  if not pair then
    pair = { a = a, b = b, bytes = 0, packets = 0 }
    self.pairs_seen[key] = pair
  end
  pair.bytes = pair.bytes + pkt.wirelen
  pair.packets = pair.packets + 1
end

function chef:interval_handler(interval)
  local list = {}
  for _, pair in pairs(self.pairs_seen) do list[#list + 1] = pair end
  table.sort(list, function(x, y)
    if x.bytes ~= y.bytes then return x.bytes > y.bytes end
    return x.a .. x.b < y.a .. y.b
  end)
  local talkers = dumplings.array()
  for i = 1, math.min(self.args.top, #list) do
    local p = list[i]
    talkers[i] = { hosts = { p.a, p.b }, bytes = p.bytes, packets = p.packets }
  end
  self.pairs_seen = {}
  return { interval = interval, talkers = talkers }
end

function chef:reload(old)
  self.pairs_seen = old.pairs_seen
end

return chef
