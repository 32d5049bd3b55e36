-- The wireless networks around a card in monitor mode, from their beacons:
-- each access point (BSSID) with its network's name (SSID), its channel's
-- frequency and the strongest signal heard from it, every interval.
--
--   dumplings kitchen -i wlan0mon -f 'type mgt subtype beacon' -c examples/wifi.lua
local chef = { name = "WifiNetworks", filter = "type mgt subtype beacon",
               networks = dumplings.object() }

function chef:packet_handler(pkt)
  local beacon, radio = pkt.Dot11Beacon, pkt.RadioTap
  if not beacon then return end
  local bssid = pkt.Dot11.addr3
  local seen = self.networks[bssid] or { beacons = 0 }
  seen.ssid = pkt.Dot11Elt and pkt.Dot11Elt.ID == 0 and pkt.Dot11Elt.info or seen.ssid
  seen.beacons = seen.beacons + 1
  if radio then
    seen.mhz = radio.ChannelFrequency or seen.mhz
    local dbm = radio.dBm_AntSignal
    if dbm and (not seen.best_dbm or dbm > seen.best_dbm) then seen.best_dbm = dbm end
  end
  self.networks[bssid] = seen
end

function chef:interval_handler()
  return { networks = self.networks }
end

return chef
