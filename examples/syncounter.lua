local chef = { name = "SynCounter", ports = dumplings.object() }

function chef:packet_handler(pkt)
  local tcp = pkt.TCP
  if tcp and tcp.flags == "S" then
    self.ports[tcp.dport] = (self.ports[tcp.dport] or 0) + 1
  end
end

function chef:interval_handler()
  local ports = self.ports
  self.ports = dumplings.object()   -- {} even with no SYNs, or one to port 1
  return { syns_by_port = ports }
end

return chef
