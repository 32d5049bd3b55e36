-- ARPChef: a dumpling for every ARP packet, noting replies from devices
-- that are new or that answer for an address with a new hardware address.

local chef = { name = "ARPChef", ip_mac = {} }

local OPERATIONS = { [1] = "request", [2] = "reply" }

function chef:packet_handler(pkt)
  local arp = pkt.ARP
  if not arp then return nil end
  local payload = {
    operation = OPERATIONS[arp.op] or arp.op,
    src_hw = arp.hwsrc, src_ip = arp.psrc,
    dst_hw = arp.hwdst, dst_ip = arp.pdst,
    time = pkt.time,
    notes = dumplings.null,
  }
  if arp.op == 2 and arp.psrc then
    local known = self.ip_mac[arp.psrc]
    if known == nil then
      payload.notes = "source device is new"
    elseif known ~= arp.hwsrc then
      payload.notes = "source device has new IP address"
    end
    self.ip_mac[arp.psrc] = arp.hwsrc
  end
  return payload
end

function chef:reload(old)
  self.ip_mac = old.ip_mac
end

return chef
