-- The chef runtime: loads chef files, turns decoded packets into the
-- scapy-like tables chefs read, and runs every chef over a batch of packets.
--
-- The C side calls this chunk once with (cdef, api, config) and keeps the
-- table it returns. Packets arrive as a C array of struct dpl_packet; a
-- packet's Lua table is built lazily, one field or layer at a time on first
-- read, so a chef pays only for what it looks at. Handler results go into
-- one flat output array (chef name, driver, value) that C serializes.

local ffi = require("ffi")
local bit = require("bit")

local cdef, api_ptr, config = ...
ffi.cdef(cdef)

local api = ffi.cast("const struct dpl_api *", api_ptr)
local PKTS = ffi.typeof("const struct dpl_packet *")
local fmtbuf = ffi.new("char[64]")

local band, rshift = bit.band, bit.rshift
local rawget, rawset, setmetatable, type, pcall, tostring =
      rawget, rawset, setmetatable, type, pcall, tostring

local R = {}

-- The one global chefs get from us: JSON null, and a marker that makes a
-- table serialize as an array even when it is empty.
local ARRAY = { __jsontype = "array" }
dumplings = {
  null = config.null,
  array = function(t) return setmetatable(t or {}, ARRAY) end,
  version = config.version,
}

----------------------------------------------------------------------------
-- Formatting C bytes as text

local function mac(bytes, n)
  return ffi.string(fmtbuf, api.format_mac(bytes, n or 6, fmtbuf))
end

local function ip4(bytes)
  return ffi.string(fmtbuf, api.format_ip4(bytes, fmtbuf))
end

local function ip6(bytes)
  return ffi.string(fmtbuf, api.format_ip6(bytes, fmtbuf))
end

-- Flag letters in scapy's order, so "SA" reads as it does in scapy.
local function flag_strings(letters, sep)
  local t = {}
  for v = 0, 2 ^ #letters - 1 do
    local s = {}
    for b = 1, #letters do
      if band(v, 2 ^ (b - 1)) ~= 0 then s[#s + 1] = letters[b] end
    end
    t[v] = table.concat(s, sep)
  end
  return t
end

local TCP_FLAGS = flag_strings({ "F", "S", "R", "P", "A", "U", "E", "C", "N" }, "")
local IP_FLAGS = flag_strings({ "MF", "DF", "evil" }, "+")

----------------------------------------------------------------------------
-- Layers

local LAYER_NAMES = { "Ethernet", "Dot1Q", "Dot1AD", "CookedLinux", "Loopback",
  "ARP", "IP", "IPv6", "ICMP", "ICMPv6", "TCP", "UDP", "DNS", "Raw", "Padding" }
local LAYER_ID = {}
for id, name in ipairs(LAYER_NAMES) do LAYER_ID[name] = id end
local DOT1Q, DOT1AD = LAYER_ID.Dot1Q, LAYER_ID.Dot1AD

-- Position (0-based) of the nth layer with this id, and for VLAN tags the
-- index of that tag among all tags.
local function find_layer(c, id, nth)
  local tag = 0
  for i = 0, c.nlayers - 1 do
    local l = c.layers[i]
    if l == id then
      nth = nth - 1
      if nth == 0 then return i, tag end
    end
    if l == DOT1Q or l == DOT1AD then tag = tag + 1 end
  end
  return nil
end

local function dns_section(d, text, first, count, question)
  local out = setmetatable({}, ARRAY)
  for i = 0, count - 1 do
    local rr = d.rr[first + i]
    local name = ffi.string(text + rr.name, rr.name_len)
    if question then
      out[i + 1] = { qname = name, qtype = rr.type, qclass = rr.rclass }
    else
      out[i + 1] = { rrname = name, type = rr.type, rclass = rr.rclass,
                     ttl = rr.ttl, rdata = ffi.string(text + rr.rdata, rr.rdlen) }
    end
  end
  return out
end

local function build_dns(c)
  local d = api.dns_scratch
  if api.dns_decode(c.data + c.dns_off, c.dns_len, d) < 0 then return nil end
  local text, n = d.text, d.nrr
  return {
    id = d.id, qr = d.qr, opcode = d.opcode, aa = d.aa, tc = d.tc, rd = d.rd,
    ra = d.ra, z = d.z, ad = d.ad, cd = d.cd, rcode = d.rcode,
    qdcount = d.qdcount, ancount = d.ancount, nscount = d.nscount, arcount = d.arcount,
    qd = dns_section(d, text, 0, n[0], true),
    an = dns_section(d, text, n[0], n[1]),
    ns = dns_section(d, text, n[0] + n[1], n[2]),
    ar = dns_section(d, text, n[0] + n[1] + n[2], n[3]),
  }
end

local function build_tag(c, tag)
  local t = c.tags[tag]
  return { vlan = t.vlan, prio = t.prio, id = t.dei, type = t.type }
end

-- One builder per layer id: (cdata packet, tag index) -> table.
local BUILD = {
  function(c) -- Ethernet
    local e = c.eth
    return { src = mac(e.src), dst = mac(e.dst), type = e.type }
  end,
  build_tag, -- Dot1Q
  build_tag, -- Dot1AD
  function(c) -- CookedLinux
    local k = c.cooked
    local n = k.lladdrlen < 8 and k.lladdrlen or 8
    return { pkttype = k.pkttype, lladdrtype = k.lladdrtype, lladdrlen = k.lladdrlen,
             src = mac(k.src, n), proto = k.proto, version = k.version,
             ifindex = k.version == 2 and k.ifindex or nil }
  end,
  function(c) -- Loopback
    return { type = c.loopback_family }
  end,
  function(c) -- ARP
    local a = c.arp
    local t = { hwtype = a.hwtype, ptype = a.ptype, hwlen = a.hwlen, plen = a.plen, op = a.op }
    if a.hwlen == 6 and a.plen == 4 then
      t.hwsrc, t.psrc = mac(a.hwsrc), ip4(a.psrc)
      t.hwdst, t.pdst = mac(a.hwdst), ip4(a.pdst)
    end
    return t
  end,
  function(c) -- IP
    local ip = c.ip
    return { version = 4, ihl = ip.ihl, tos = ip.tos, len = ip.len, id = ip.id,
             flags = IP_FLAGS[ip.flags], frag = ip.frag, ttl = ip.ttl, proto = ip.proto,
             chksum = ip.chksum, src = ip4(ip.src), dst = ip4(ip.dst) }
  end,
  function(c) -- IPv6
    local ip = c.ipv6
    return { version = 6, tc = ip.tc, fl = ip.fl, plen = ip.plen, nh = ip.nh,
             hlim = ip.hlim, src = ip6(ip.src), dst = ip6(ip.dst) }
  end,
  function(c) -- ICMP
    local i = c.icmp
    return { type = i.type, code = i.code, chksum = i.chksum, id = i.id, seq = i.seq }
  end,
  function(c) -- ICMPv6
    local i = c.icmp
    return { type = i.type, code = i.code, cksum = i.chksum }
  end,
  function(c) -- TCP
    local t = c.tcp
    return { sport = t.sport, dport = t.dport, seq = t.seq, ack = t.ack,
             dataofs = t.dataofs, flags = TCP_FLAGS[t.flags], window = t.window,
             chksum = t.chksum, urgptr = t.urgptr }
  end,
  function(c) -- UDP
    local u = c.udp
    return { sport = u.sport, dport = u.dport, len = u.len, chksum = u.chksum }
  end,
  build_dns,
  function(c) -- Raw
    return { load = ffi.string(c.data + c.payload_off, c.payload_len) }
  end,
  function(c) -- Padding
    return { load = ffi.string(c.data + c.pad_off, c.pad_len) }
  end,
}

----------------------------------------------------------------------------
-- Packet tables

local batch = nil          -- the current batch: const struct dpl_packet *
local SLOT = {}            -- private key: the packet's index in the batch
local sources = config.sources

local function packet_cdata(p, level)
  local i = rawget(p, SLOT)
  if i == nil then
    error("packet read after its handler returned (copy the fields you need)", level)
  end
  return batch[i]
end

local FIELDS = {
  time = function(c) return c.time end,
  wirelen = function(c) return c.wirelen end,
  caplen = function(c) return c.caplen end,
  source = function(c) return sources[c.source + 1] end,
  raw = function(c) return ffi.string(c.data, c.caplen) end,
  layers = function(c)
    local t = setmetatable({}, ARRAY)
    for i = 0, c.nlayers - 1 do t[i + 1] = LAYER_NAMES[c.layers[i]] end
    return t
  end,
}

local Packet = {}
local METHODS = {}

function METHODS.haslayer(p, name)
  local id = LAYER_ID[name]
  return id ~= nil and find_layer(packet_cdata(p, 3), id, 1) ~= nil
end

function METHODS.getlayer(p, name, nth)
  if nth == nil or nth == 1 then return p[name] end
  local id = LAYER_ID[name]
  if id == nil then return nil end
  local c = packet_cdata(p, 3)
  local pos, tag = find_layer(c, id, nth)
  return pos and BUILD[id](c, tag) or nil
end

function Packet.__index(p, key)
  local m = METHODS[key]
  if m then return m end
  local c = packet_cdata(p, 3)
  local v
  local f = FIELDS[key]
  if f then
    v = f(c)
  else
    local id = LAYER_ID[key]
    if id == nil then return nil end
    local pos, tag = find_layer(c, id, 1)
    if pos == nil then return nil end
    v = BUILD[id](c, tag)
  end
  rawset(p, key, v)
  return v
end

function Packet.__tostring(p)
  local i = rawget(p, SLOT)
  if i == nil then return "<packet, expired>" end
  return "<packet " .. table.concat(p.layers, "/") .. ">"
end

----------------------------------------------------------------------------
-- Chefs

local chefs = {}           -- every registered chef, in load order
local packet_chefs = {}    -- those with a packet_handler
local interval_chefs = {}  -- those with an interval_handler

local function stem(path)
  return path:match("([^/]+)%.lua$") or path:match("([^/]+)$")
end

local function check_chef(t, path, i)
  if type(t) ~= "table" then
    error(("%s: chef %d is a %s, not a table"):format(path, i, type(t)), 0)
  end
  if t.name ~= nil and type(t.name) ~= "string" then
    error(("%s: chef %d has a name that is not a string"):format(path, i), 0)
  end
  local ph, ih = t.packet_handler, t.interval_handler
  if t.assignable ~= false and type(ph) ~= "function" and type(ih) ~= "function" then
    error(("%s: chef %s has neither a packet_handler nor an interval_handler")
          :format(path, t.name or i), 0)
  end
end

-- Run a chef file and return its chef tables (one, or an array of them).
local function read_chef_file(path)
  local chunk, err = loadfile(path)
  if not chunk then error(err, 0) end
  local ok, result = pcall(chunk)
  if not ok then error(tostring(result), 0) end
  if type(result) ~= "table" then
    error(("%s: returned %s instead of a chef table"):format(path, type(result)), 0)
  end
  local list = result
  if result[1] == nil then list = { result } end
  for i, t in ipairs(list) do
    check_chef(t, path, i)
    if t.name == nil then t.name = #list == 1 and stem(path) or stem(path) .. i end
  end
  return list
end

local function register(t, path)
  local rec = { chef = t, name = t.name, file = path,
                on_packet = t.packet_handler, on_interval = t.interval_handler }
  chefs[#chefs + 1] = rec
  if type(rec.on_packet) == "function" then packet_chefs[#packet_chefs + 1] = rec end
  if type(rec.on_interval) == "function" then interval_chefs[#interval_chefs + 1] = rec end
end

-- Load a chef file. With list_only, nothing is registered. Returns an array
-- of {name, assignable} for every chef the file defines.
function R.load(path, list_only)
  local found = {}
  for _, t in ipairs(read_chef_file(path)) do
    found[#found + 1] = { name = t.name, assignable = t.assignable ~= false }
    if not list_only and t.assignable ~= false then register(t, path) end
  end
  return found
end

function R.chef_names()
  local names = {}
  for i, rec in ipairs(chefs) do names[i] = rec.name end
  return names
end

----------------------------------------------------------------------------
-- Running chefs

local out = {}             -- flat triples: chef name, driver, value
local nout = 0
R.out = out

local function emit(name, driver, value)
  out[nout + 1], out[nout + 2], out[nout + 3] = name, driver, value
  nout = nout + 3
end

local interval = config.interval
local packet_time_pokes = config.packet_time_pokes
local next_poke = nil

local function poke()
  for _, rec in ipairs(interval_chefs) do
    local ok, v = pcall(rec.on_interval, rec.chef, interval)
    if not ok then
      emit(rec.name, "error", "interval_handler: " .. tostring(v))
    elseif v ~= nil then
      emit(rec.name, "interval", v)
    end
  end
end

-- Reading files, pokes follow the packets' own clock: a poke fires before
-- the first packet at or past each interval boundary.
local function poke_by_packet_time(t)
  if next_poke == nil then
    next_poke = t + interval
  elseif t >= next_poke then
    poke()
    local missed = math.floor((t - next_poke) / interval)
    next_poke = next_poke + (missed + 1) * interval
  end
end

-- Progress through the batch, kept outside run_range so that after a
-- handler error the loop resumes with the next chef on the same packet.
local cur_i, cur_c, cur_p = 0, 1, nil

local function run_range(n, i0, c0)
  local pc, npc = packet_chefs, #packet_chefs
  for i = i0, n - 1 do
    local p = cur_p
    if c0 == 1 then
      if packet_time_pokes then poke_by_packet_time(batch[i].time) end
      p = setmetatable({ [SLOT] = i }, Packet)
      cur_p = p
    end
    for c = c0, npc do
      cur_i, cur_c = i, c
      local rec = pc[c]
      local v = rec.on_packet(rec.chef, p)
      if v ~= nil then emit(rec.name, "packet", v) end
    end
    p[SLOT] = nil
    c0 = 1
  end
end

-- Run every chef over n packets at ptr; returns the number of output slots.
function R.run_batch(ptr, n)
  batch = ffi.cast(PKTS, ptr)
  nout = 0
  local i, c = 0, 1
  while true do
    local ok, err = pcall(run_range, n, i, c)
    if ok then break end
    emit(packet_chefs[cur_c].name, "error", "packet_handler: " .. tostring(err))
    i, c = cur_i, cur_c + 1
    if c > #packet_chefs then
      cur_p[SLOT] = nil
      i, c = i + 1, 1
    end
  end
  batch = nil
  return nout
end

function R.poke()
  nout = 0
  poke()
  return nout
end

return R
