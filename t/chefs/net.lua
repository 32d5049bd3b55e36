-- Test chef for t/13-decode-net.t: for every packet, the network-level
-- fields (TCP options and payload length, IPv6 extension headers,
-- neighbour discovery, tunnels) spelled as tshark prints them with
-- -T fields -E occurrence=a: a field that occurs several times is a
-- comma-separated list, in packet order. The payload is an object keyed
-- by tshark's field names; an absent field is the empty string.

local chef = { name = "NetChef" }

local concat = table.concat

-- Every instance of a layer, outermost first.
local function all(pkt, name)
  local t, n = {}, 1
  while true do
    local layer = pkt:getlayer(name, n)
    if not layer then return t end
    t[n], n = layer, n + 1
  end
end

-- The layers of any of these names, in the order the packet has them.
local function in_order(pkt, names)
  local want, t, count = {}, {}, {}
  for _, name in ipairs(names) do want[name] = true end
  for _, name in ipairs(pkt.layers) do
    if want[name] then
      count[name] = (count[name] or 0) + 1
      t[#t + 1] = pkt:getlayer(name, count[name])
    end
  end
  return t
end

local function hex(bytes)
  return (bytes:gsub(".", function(c) return ("%02x"):format(c:byte()) end))
end

-- Adds field = the values f returns for each item, comma-separated.
local function column(out, field, items, f)
  local v = {}
  for _, item in ipairs(items) do
    for _, x in ipairs({ f(item) }) do v[#v + 1] = tostring(x) end
  end
  out[field] = concat(v, ",")
end

-- TCP options: tshark lists every kind, and the length of those that have
-- one; we stop at the first EOL, as the end of the list.
local function tcp_columns(out, pkt)
  local tcps = {}
  for _, t in ipairs(in_order(pkt, { "TCP", "TCPerror" })) do
    if t.flags then tcps[#tcps + 1] = t end     -- not an 8-byte quote's
  end
  local function options(kinds)
    return function(t)
      local v = {}
      for _, o in ipairs(t.options or {}) do
        local f = kinds[o[1]]
        if f then
          for _, x in ipairs({ f(o) }) do v[#v + 1] = x end
        end
      end
      return unpack(v)
    end
  end
  local KIND = { EOL = 0, NOP = 1, MSS = 2, WScale = 3, SAckOK = 4, SAck = 5,
                 Timestamp = 8, AltChkSum = 14, AltChkSumOpt = 15, MD5 = 19,
                 Mood = 25, UTO = 28, AO = 29, TFO = 34 }
  local any = setmetatable({}, { __index = function(_, name)
    return function(o) return KIND[name] or name end
  end })
  local with_len = setmetatable({}, { __index = function(_, name)
    if name == "EOL" or name == "NOP" then return nil end
    return function(o)
      local v = o[2]
      if type(v) == "string" then return #v + 2 end
      if name == "MSS" or name == "UTO" then return 4 end
      if name == "WScale" then return 3 end
      if name == "Timestamp" then return 10 end
      return 2 + 4 * #v                     -- SAck
    end
  end })
  column(out, "tcp.option_kind", tcps, options(any))
  column(out, "tcp.option_len", tcps, options(with_len))
  column(out, "tcp.options.mss_val", tcps, options({ MSS = function(o) return o[2] end }))
  column(out, "tcp.options.wscale.shift", tcps, options({ WScale = function(o) return o[2] end }))
  column(out, "tcp.options.sack_perm", tcps, options({ SAckOK = function(o)
    return hex(string.char(4, 2 + #o[2]) .. o[2])
  end }))
  column(out, "tcp.options.timestamp.tsval", tcps, options({ Timestamp = function(o) return o[2][1] end }))
  column(out, "tcp.options.timestamp.tsecr", tcps, options({ Timestamp = function(o) return o[2][2] end }))
  local function edges(first)
    return options({ SAck = function(o)
      local v = {}
      for i = first, #o[2], 2 do v[#v + 1] = o[2][i] end
      return unpack(v)
    end })
  end
  column(out, "tcp.options.sack_le", tcps, edges(1))
  column(out, "tcp.options.sack_re", tcps, edges(2))
  column(out, "tcp.len", tcps, function(t) return t.payload_len end)
end

local function field(name) return function(layer) return layer[name] end end

-- The types of the options in a hop-by-hop or destination options
-- header, read from its raw options: Pad1 is one byte, the rest are
-- type, length, value.
local function option_types(e)
  local s, i, v = e.options, 1, {}
  while i <= #s do
    local t = s:byte(i)
    v[#v + 1] = ("0x%02x"):format(t)
    i = t == 0 and i + 1 or i + 2 + (s:byte(i + 1) or 0)
  end
  return unpack(v)
end

local function ext_columns(out, pkt)
  local hbh, dst = all(pkt, "IPv6ExtHdrHopByHop"), all(pkt, "IPv6ExtHdrDestOpt")
  local rt, fr = all(pkt, "IPv6ExtHdrRouting"), all(pkt, "IPv6ExtHdrFragment")
  column(out, "ipv6.hopopts.nxt", hbh, field("nh"))
  column(out, "ipv6.hopopts.len", hbh, field("len"))
  column(out, "ipv6.dstopts.nxt", dst, field("nh"))
  column(out, "ipv6.dstopts.len", dst, field("len"))
  column(out, "ipv6.opt.type", in_order(pkt, { "IPv6ExtHdrHopByHop", "IPv6ExtHdrDestOpt" }),
         option_types)
  column(out, "ipv6.routing.nxt", rt, field("nh"))
  column(out, "ipv6.routing.len", rt, field("len"))
  column(out, "ipv6.routing.type", rt, field("type"))
  column(out, "ipv6.routing.segleft", rt, field("segleft"))
  local function addresses(type)
    return function(e) if e.type == type then return unpack(e.addresses) end end
  end
  column(out, "ipv6.routing.src.addr", rt, addresses(0))
  column(out, "ipv6.routing.mipv6.home_address", rt, addresses(2))
  column(out, "ipv6.routing.srh.addr", rt, addresses(4))
  column(out, "ipv6.fraghdr.nxt", fr, field("nh"))
  column(out, "ipv6.fraghdr.offset", fr, field("offset"))
  column(out, "ipv6.fraghdr.more", fr, field("m"))
  column(out, "ipv6.fraghdr.ident", fr, function(e) return ("0x%08x"):format(e.id) end)
end

-- Neighbour discovery: one message a packet, the options tshark lists
-- under icmpv6.opt, with the fields of each kind.
local ND = { "ICMPv6ND_RS", "ICMPv6ND_RA", "ICMPv6ND_NS", "ICMPv6ND_NA", "ICMPv6ND_Redirect" }

local function nd_columns(out, pkt)
  local nd, name = nil, nil
  for _, n in ipairs(ND) do
    if pkt[n] then nd, name = pkt[n], n end
  end
  local one = { nd }
  local function when(n, f) return function(m) if name == n then return f(m) end end end
  column(out, "icmpv6.nd.ns.target_address", one, when("ICMPv6ND_NS", field("tgt")))
  column(out, "icmpv6.nd.na.target_address", one, when("ICMPv6ND_NA", field("tgt")))
  column(out, "icmpv6.nd.na.flag.r", one, when("ICMPv6ND_NA", field("R")))
  column(out, "icmpv6.nd.na.flag.s", one, when("ICMPv6ND_NA", field("S")))
  column(out, "icmpv6.nd.na.flag.o", one, when("ICMPv6ND_NA", field("O")))
  column(out, "icmpv6.nd.ra.cur_hop_limit", one, when("ICMPv6ND_RA", field("chlim")))
  column(out, "icmpv6.nd.ra.flag", one, when("ICMPv6ND_RA", function(m)
    return ("0x%02x"):format(m.M * 128 + m.O * 64 + m.H * 32 + m.prf * 8 + m.P * 4 + m.res)
  end))
  column(out, "icmpv6.nd.ra.router_lifetime", one, when("ICMPv6ND_RA", field("routerlifetime")))
  column(out, "icmpv6.nd.ra.reachable_time", one, when("ICMPv6ND_RA", field("reachabletime")))
  column(out, "icmpv6.nd.ra.retrans_timer", one, when("ICMPv6ND_RA", field("retranstimer")))
  column(out, "icmpv6.nd.rd.target_address", one, when("ICMPv6ND_Redirect", field("tgt")))
  column(out, "icmpv6.rd.na.destination_address", one, when("ICMPv6ND_Redirect", field("dst")))
  local opts = nd and nd.options or {}
  local function of(type, f)
    return function(o) if o.type == type and o.raw then return f(o) end end
  end
  local function either(a, b, f)
    return function(o) if (o.type == a or o.type == b) then return f(o) end end
  end
  column(out, "icmpv6.opt.type", opts, field("type"))
  column(out, "icmpv6.opt.length", opts, field("len"))
  column(out, "icmpv6.opt.linkaddr", opts, either(1, 2, field("lladdr")))
  column(out, "icmpv6.opt.prefix.length", opts, either(3, 24, function(o)
    return o.prefixlen or o.plen
  end))
  column(out, "icmpv6.opt.prefix.flag", opts, of(3, function(o)
    return ("0x%02x"):format(o.L * 128 + o.A * 64 + o.R * 32 + o.res1)
  end))
  column(out, "icmpv6.opt.prefix.valid_lifetime", opts, of(3, field("validlifetime")))
  column(out, "icmpv6.opt.prefix.preferred_lifetime", opts, of(3, field("preferredlifetime")))
  column(out, "icmpv6.opt.prefix", opts, either(3, 24, field("prefix")))
  column(out, "icmpv6.opt.mtu", opts, of(5, field("mtu")))
  column(out, "icmpv6.opt.advertisement_interval", opts, of(7, field("advint")))
  column(out, "icmpv6.opt.home_agent_preference", opts, of(8, field("pref")))
  column(out, "icmpv6.opt.home_agent_lifetime", opts, of(8, field("lifetime")))
  column(out, "icmpv6.opt.route_info.flag.route_preference", opts, of(24, field("prf")))
  column(out, "icmpv6.opt.route_lifetime", opts, of(24, field("rtlifetime")))
  column(out, "icmpv6.opt.rdnss.lifetime", opts, of(25, field("lifetime")))
  column(out, "icmpv6.opt.rdnss", opts, of(25, function(o) return unpack(o.dns or {}) end))
  column(out, "icmpv6.opt.dnssl.lifetime", opts, of(31, field("lifetime")))
  column(out, "icmpv6.opt.dnssl", opts, of(31, function(o) return unpack(o.searchlist or {}) end))
end

-- Tunnels, and the headers on both sides of them: tshark lists every
-- occurrence of a field, those in an ICMP error's quote among them.
local function gre_flags(g)
  local low = g.version == 1 and g.acknum_present * 128 + g.flags * 8 or g.flags * 8
  return ("0x%04x"):format(g.chksum_present * 0x8000 + g.routing_present * 0x4000
    + g.key_present * 0x2000 + g.seqnum_present * 0x1000 + g.strict_route_source * 0x800
    + g.recursion_control * 0x100 + low + g.version)
end

local function tunnel_columns(out, pkt)
  local gre = { pkt.GRE }
  local function hex(n, f) return function(g) return f(g) and (n):format(f(g)) end end
  column(out, "gre.flags_and_version", gre, gre_flags)
  column(out, "gre.proto", gre, hex("0x%04x", field("proto")))
  column(out, "gre.checksum", gre, hex("0x%04x", field("chksum")))
  column(out, "gre.offset", gre, field("offset"))
  column(out, "gre.key", gre, hex("0x%08x", field("key")))
  column(out, "gre.key.payload_length", gre, field("payload_len"))
  column(out, "gre.key.call_id", gre, field("call_id"))
  column(out, "gre.sequence_number", gre, field("sequence_number"))
  column(out, "gre.ack_number", gre, field("ack_number"))
  local vx = { pkt.VXLAN }
  column(out, "vxlan.flags", vx, function(v)
    return ("0x%04x"):format(v.flags * 256 + math.floor(v.reserved1 / 65536))
  end)
  column(out, "vxlan.vni", vx, field("vni"))
  local eth = all(pkt, "Ethernet")
  column(out, "eth.src", eth, field("src"))
  column(out, "eth.dst", eth, field("dst"))
  local ip = in_order(pkt, { "IP", "IPerror" })
  column(out, "ip.src", ip, field("src"))
  column(out, "ip.dst", ip, field("dst"))
  column(out, "ip.proto", ip, field("proto"))
  local ip6 = in_order(pkt, { "IPv6", "IPerror6" })
  column(out, "ipv6.src", ip6, field("src"))
  column(out, "ipv6.dst", ip6, field("dst"))
  local udp = in_order(pkt, { "UDP", "UDPerror" })
  column(out, "udp.srcport", udp, field("sport"))
  column(out, "udp.dstport", udp, field("dport"))
  local tcp = in_order(pkt, { "TCP", "TCPerror" })
  column(out, "tcp.srcport", tcp, field("sport"))
  column(out, "tcp.dstport", tcp, field("dport"))
  column(out, "arp.src.proto_ipv4", { pkt.ARP }, field("psrc"))
end

function chef:packet_handler(pkt)
  local out = {}
  tcp_columns(out, pkt)
  ext_columns(out, pkt)
  nd_columns(out, pkt)
  tunnel_columns(out, pkt)
  return out
end

return chef
