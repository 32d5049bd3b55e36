-- PacketCountChef: how many packets carried each layer, as running totals
-- sent on every interval.
--
-- Layers are counted under the names scapy displays, as the original
-- netdumplings chef counted them and its clients expect: "802.1Q" for
-- Dot1Q, "cooked linux" (or "cooked linux v2") for CookedLinux, "IP in
-- ICMP" for IPerror, "GRE PPTP" for GRE version 1, and so
-- on (the table below); a layer scapy names as we do keeps its name.

local chef = { name = "PacketCountChef", packet_counts = {} }

local SCAPY_NAME = {
  Ethernet = "Ethernet", Dot1Q = "802.1Q", Dot1AD = "802_1AD",
  CookedLinux = "cooked linux", PPPoE = "PPP over Ethernet", PPP = "PPP Link Layer",
  Dot11 = "802.11", Dot11QoS = "802.11 QoS", Dot11Beacon = "802.11 Beacon",
  Dot11ProbeResp = "802.11 Probe Response", Dot11ProbeReq = "802.11 Probe Request",
  Dot11Elt = "802.11 Information Element",
  IPerror = "IP in ICMP", IPerror6 = "IPv6 in ICMPv6",
  TCPerror = "TCP in ICMP", UDPerror = "UDP in ICMP", ICMPerror = "ICMP in ICMP",
  TLSClientHello = "TLS Handshake - Client Hello", TLSServerHello = "TLS Handshake - Server Hello",
  HTTPRequest = "HTTP Request", HTTPResponse = "HTTP Response", DHCP = "DHCP options",
  IPv6ExtHdrHopByHop = "IPv6 Extension Header - Hop-by-Hop Options Header",
  IPv6ExtHdrRouting = "IPv6 Option Header Routing",
  IPv6ExtHdrFragment = "IPv6 Extension Header - Fragmentation header",
  IPv6ExtHdrDestOpt = "IPv6 Extension Header - Destination Options Header",
  ICMPv6ND_RS = "ICMPv6 Neighbor Discovery - Router Solicitation",
  ICMPv6ND_RA = "ICMPv6 Neighbor Discovery - Router Advertisement",
  ICMPv6ND_NS = "ICMPv6 Neighbor Discovery - Neighbor Solicitation",
  ICMPv6ND_NA = "ICMPv6 Neighbor Discovery - Neighbor Advertisement",
  ICMPv6ND_Redirect = "ICMPv6 Neighbor Discovery - Redirect",
}

function chef:packet_handler(pkt)
  local counts = self.packet_counts
  local layers = pkt.layers
  for i = 1, #layers do
    local name = layers[i]
    if name == "CookedLinux" and pkt.CookedLinux.version == 2 then
      name = "cooked linux v2"
    elseif name == "GRE" and pkt.GRE.version == 1 then
      name = "GRE PPTP"                 -- scapy's class for PPTP's enhanced GRE
    else
      name = SCAPY_NAME[name] or name
    end
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
