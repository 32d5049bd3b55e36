-- PacketCountChef: how many packets carried each layer, as running totals
-- sent on every interval.

local chef = { name = "PacketCountChef", packet_counts = {} }

function chef:packet_handler(pkt)
  local counts = self.packet_counts
  local layers = pkt.layers
  for i = 1, #layers do
    local name = layers[i]
    counts[name] = (counts[name] or 0) + 1
  end
end

function chef:interval_handler()
  return { packet_counts = self.packet_counts }
end

function chef:reload(old)
  self.packet_counts = old.packet_counts
end

return chef
