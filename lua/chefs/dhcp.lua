-- DHCPChef: the devices that ask DHCP for an address, by hardware address.
-- A dumpling for every DHCP message (its type, the device, the address
-- asked for or handed out), and on every interval every device seen, with
-- the host name and vendor class it gave, the address it was last given
-- and when it was last heard.
--
-- A device's name and class are taken from its own messages only: a
-- server's reply may carry options of the same numbers, which describe
-- the server, not the device.
--
-- The devices kept are bounded: past args.top (-c dhcp:top=N) the least
-- active (and of those, the longest unseen) are forgotten, and counted in
-- "evicted".

local chef = { name = "DHCPChef", devices = {}, ndevices = 0, evicted = 0,
               args = { top = 1000 } }

local TYPES = { "discover", "offer", "request", "decline", "ack", "nak", "release", "inform" }
local REQUEST, ACK, NO_ADDRESS = 1, 5, "0.0.0.0"

local function forget(self, keep)
  local dropped = dumplings.keep_top(self.devices, keep, "count", "latest")
  self.ndevices, self.evicted = self.ndevices - dropped, self.evicted + dropped
end

local function device_of(self, mac)
  local d = self.devices[mac]
  if d then return d end
  d = { count = 0 }
  self.devices[mac] = d
  self.ndevices = self.ndevices + 1
  if self.ndevices > 2 * self.args.top then forget(self, self.args.top) end
  return d
end

function chef:packet_handler(pkt)
  local bootp, dhcp = pkt.BOOTP, pkt.DHCP
  if not dhcp or bootp.chaddr == "" then return nil end
  local mac, when = bootp.chaddr, pkt.time
  local d = device_of(self, mac)
  d.count, d.latest = d.count + 1, when
  if bootp.op == REQUEST then
    d.hostname = dhcp.hostname or d.hostname
    d.vendor_class = dhcp.vendor_class_id or d.vendor_class
  end
  local given = bootp.yiaddr ~= NO_ADDRESS and bootp.yiaddr or nil
  if dhcp.message_type == ACK and given then d.address = given end
  return { dhcp = { type = TYPES[dhcp.message_type] or dhcp.message_type, mac = mac,
                    hostname = dhcp.hostname, vendor_class = dhcp.vendor_class_id,
                    requested = dhcp.requested_addr, address = given,
                    server = dhcp.server_id, when = when } }
end

function chef:interval_handler()
  if self.ndevices > self.args.top then forget(self, self.args.top) end
  return { devices = self.devices, evicted = self.evicted }
end

function chef:reload(old)
  self.devices = old.devices
  self.ndevices, self.evicted = old.ndevices or 0, old.evicted or 0
end

return chef
