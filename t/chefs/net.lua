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
    if t.options then tcps[#tcps + 1] = t end
  end
  local function options(kinds)
    return function(t)
      local v = {}
      for _, o in ipairs(t.options) do
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

function chef:packet_handler(pkt)
  local out = {}
  tcp_columns(out, pkt)
  ext_columns(out, pkt)
  return out
end

return chef
