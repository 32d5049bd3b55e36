-- The bench's flow reader: beside PacketCountChef, it reads each packet's
-- flow id, which is what flow tracking costs a chef that uses it.
local chef = { name = "FlowIdChef", odd = 0 }

function chef:packet_handler(pkt)
  local f = pkt.flow
  if f then self.odd = self.odd + f.id % 2 end
end

return chef
