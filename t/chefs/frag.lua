-- Test chef for t/16-ipfrag.t: what a fragment, or the packet that
-- completed a datagram, carries: its layers, the reassembly fields of its
-- IP layer, its transport header, DNS question and Raw bytes (as hex).
local chef = { name = "FragChef" }

local function hex(s)
  return (s:gsub(".", function(ch) return ("%02x"):format(ch:byte()) end))
end

function chef:packet_handler(pkt)
  local ip = pkt.IP or pkt.IPv6
  local udp, tcp, dns, raw = pkt.UDP, pkt.TCP, pkt.DNS, pkt.Raw
  local q = dns and dns.qd[1]
  return {
    layers = table.concat(pkt.layers, "/"),
    caplen = pkt.caplen, wirelen = pkt.wirelen, rawlen = #pkt.raw,
    reassembled = ip and ip.reassembled, overlap = ip and ip.overlap,
    conflict = ip and ip.conflict,
    udp = udp and { sport = udp.sport, dport = udp.dport, len = udp.len },
    tcp = tcp and { sport = tcp.sport, dport = tcp.dport, seq = tcp.seq, flags = tcp.flags },
    qname = q and q.qname, ancount = dns and dns.ancount,
    load = raw and hex(raw.load),
  }
end

return chef
