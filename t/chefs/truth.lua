-- Test chef for t/10-decode-truth.t: for every packet, the same 30 columns
-- as the tshark ground-truth files in the capture corpus (see the corpus
-- README for the list and tshark's spelling of each). Empty string = no
-- such field. Fields tshark takes from the first occurrence anywhere in the
-- packet (ports and DNS inside an ICMP error) come from the quoted layers.
-- The TLS server name and the HTTP method and Host come from the TLS and
-- HTTP layers (t/12-decode-apps.t compares the rest of them).

local chef = { name = "TruthChef" }

local TCP_BITS = { F = 0x001, S = 0x002, R = 0x004, P = 0x008, A = 0x010,
                   U = 0x020, E = 0x040, C = 0x080, N = 0x100 }

-- tshark's tcp.flags holds the 3 reserved bits above scapy's 9 flags.
local function tcp_flags(tcp)
  local v = tcp.reserved * 0x200
  for ch in tcp.flags:gmatch(".") do v = v + TCP_BITS[ch] end
  return ("0x%04x"):format(v)
end

local function str(v)
  if v == nil then return "" end
  return tostring(v)
end

function chef:packet_handler(pkt)
  local eth, arp, ip, ip6 = pkt.Ethernet, pkt.ARP, pkt.IP, pkt.IPv6
  local tcp = pkt.TCP or pkt.TCPerror
  local udp = pkt.UDP or pkt.UDPerror
  local icmp, icmp6, dns = pkt.ICMP, pkt.ICMPv6, pkt.DNS
  local vlan = pkt.Dot1Q
  local q = dns and dns.qd[1]
  local hello, req = pkt.TLSClientHello, pkt.HTTPRequest
  local sni = hello and hello.sni
  local method, host = req and req.method, req and req.headers.host
  local qname = q and q.qname
  if qname == "." then qname = "<Root>" end
  return {
    str(pkt.wirelen), str(pkt.caplen),
    str(eth and eth.src), str(eth and eth.dst),
    str(vlan and vlan.vlan),
    str(arp and arp.op), str(arp and arp.psrc), str(arp and arp.pdst),
    str(ip and ip.src), str(ip and ip.dst), str(ip and ip.proto),
    str(ip6 and ip6.src), str(ip6 and ip6.dst), str(ip6 and ip6.nh),
    str(tcp and tcp.sport), str(tcp and tcp.dport),
    tcp and tcp.flags and tcp_flags(tcp) or "",    -- a partial TCPerror has none
    str(udp and udp.sport), str(udp and udp.dport),
    str(icmp and icmp.type), str(icmp6 and icmp6.type),
    dns and ("0x%04x"):format(dns.id) or "", str(dns and dns.qr),
    str(qname), str(q and q.qtype), str(dns and dns.ancount),
    str(sni), str(method), str(host),
  }
end

return chef
