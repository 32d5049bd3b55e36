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

local api = ffi.cast("struct dpl_api *", api_ptr)
local PKTS = ffi.typeof("const struct dpl_packet *")
local EVENTS = ffi.typeof("const struct dpl_flow_event *")
local fmtbuf = ffi.new("char[64]")

local band, rshift = bit.band, bit.rshift
local new_table = require("table.new")
-- The runtime keeps its own references to every global it uses, so that
-- a chef changing _G cannot break it.
local rawget, rawset, setmetatable, type, pcall, xpcall, tostring =
      rawget, rawset, setmetatable, type, pcall, xpcall, tostring
local pairs, ipairs, next, select, error, load, assert, setfenv =
      pairs, ipairs, next, select, error, load, assert, setfenv
local concat, remove, sort = table.concat, table.remove, table.sort
local tonumber, HUGE, floor = tonumber, math.huge, math.floor
local getinfo, getmetatable_raw, setmetatable_raw =
      debug.getinfo, debug.getmetatable, debug.setmetatable

local R = {}

-- What the watchdog raises in a chef that runs too long, or when the
-- kitchen is stopping: unique values, told apart by identity.
local TIMEOUT, STOP = config.timeout, config.stop
-- The chefs' own BPF filters, compiled and run in C (chef_filter.c).
local filter_check, filters_set = config.filter_check, config.filters_set
local MATCH = ffi.typeof("const uint8_t *")

-- The one global chefs get from us: JSON null, and markers that make a
-- table serialize as an array even when it is empty, or as an object
-- even when it is empty or keyed 1..n. Read-only, so that no chef can
-- take it from the others.
local ARRAY = { __jsontype = "array" }
local OBJECT = { __jsontype = "object" }

-- keep_top(t, n, field, tie): of a table of records (key -> table), keep
-- the n whose field is largest, ties going to the larger tie field, then
-- to the smaller key; returns how many were dropped. For chefs whose
-- state would otherwise grow with every new name they see.
local function keep_top(t, n, field, tie)
  local keys, k = {}, 0
  for key in pairs(t) do k = k + 1; keys[k] = key end
  if k <= n then return 0 end
  sort(keys, function(a, b)
    local x, y = t[a], t[b]
    local fx, fy = x[field] or 0, y[field] or 0
    if fx ~= fy then return fx > fy end
    if tie then
      local tx, ty = x[tie] or 0, y[tie] or 0
      if tx ~= ty then return tx > ty end
    end
    return tostring(a) < tostring(b)
  end)
  for i = n + 1, k do t[keys[i]] = nil end
  return k - n
end

local DUMPLINGS = {
  null = config.null,
  array = function(t) return setmetatable(t or {}, ARRAY) end,
  object = function(t) return setmetatable(t or {}, OBJECT) end,
  keep_top = keep_top,
  version = config.version,
}
dumplings = setmetatable({}, {
  __index = DUMPLINGS,
  __newindex = function() error("the dumplings table is read-only", 2) end,
  __metatable = false,
})

local batch = nil          -- the current batch: const struct dpl_packet *
local SLOT = {}            -- private key: a packet table's index in the batch
-- Progress through the batch: the packet index, the chef index and the
-- packet table, so that after a handler error the batch resumes with the
-- next chef on the same packet (and lazy layers know which packet is
-- being handled).
local progress = { i = 0, c = 1, p = nil }

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
    t[v] = concat(s, sep)
  end
  return t
end

local TCP_FLAGS = flag_strings({ "F", "S", "R", "P", "A", "U", "E", "C", "N" }, "")
local IP_FLAGS = flag_strings({ "MF", "DF", "evil" }, "+")

----------------------------------------------------------------------------
-- Layers

-- By id, as C names them (src/decode/layers.tab); BUILD below must have
-- a builder for each.
local LAYER_NAMES = {}
for id = 1, api.layer_count - 1 do LAYER_NAMES[id] = ffi.string(api.layer_names[id]) end
local LAYER_ID = {}
for id, name in ipairs(LAYER_NAMES) do LAYER_ID[name] = id end
-- Layers whose instances share one array with their kin (VLAN tags,
-- IPv6 extension headers): the first of them need not be in slot 0.
local SHARED = {}
for _, name in ipairs({ "Dot1Q", "Dot1AD", "MPLS", "IPv6ExtHdrHopByHop", "IPv6ExtHdrRouting",
                        "IPv6ExtHdrFragment", "IPv6ExtHdrDestOpt" }) do
  SHARED[LAYER_ID[name]] = true
end

-- dumplings.layers(): every layer name, a fresh list each call.
function DUMPLINGS.layers()
  local t = {}
  for i, name in ipairs(LAYER_NAMES) do t[i] = name end
  return setmetatable(t, ARRAY)
end

-- Chef code runs inside the trace LuaJIT compiles for the loop over a
-- batch. A loop executed anywhere in that path aborts the trace and leaves
-- the whole batch to the interpreter, so the per-packet path avoids loops:
-- C records where each layer first occurs, and short arrays are filled by
-- straight-line code generated here for up to UNROLL entries.
local UNROLL = 8

-- fill(t, n, f, a, b, c) sets t[i] = f(i - 1, a, b, c) for i = 1..n.
local function make_fill()
  local src = { "local f_loop = ... return function(t, n, f, a, b, c)" }
  for i = 1, UNROLL do
    src[#src + 1] = ("if n < %d then return t end t[%d] = f(%d, a, b, c)"):format(i, i, i - 1)
  end
  src[#src + 1] = "return f_loop(t, n, f, a, b, c) end"
  local function fill_rest(t, n, f, a, b, c)
    for i = UNROLL + 1, n do t[i] = f(i - 1, a, b, c) end
    return t
  end
  return assert(load(concat(src, "\n"), "=fill"))(fill_rest)
end
local fill = make_fill()

-- each(n, f, a, b, c) calls f(i - 1, a, b, c) for i = 1..n, in the same
-- straight-line way, for builders that set keys rather than indices.
local function make_each()
  local src = { "local each_loop = ... return function(n, f, a, b, c)" }
  for i = 1, UNROLL do
    src[#src + 1] = ("if n < %d then return end f(%d, a, b, c)"):format(i, i - 1)
  end
  src[#src + 1] = "return each_loop(n, f, a, b, c) end"
  local function each_rest(n, f, a, b, c)
    for i = UNROLL, n - 1 do f(i, a, b, c) end
  end
  return assert(load(concat(src, "\n"), "=each"))(each_rest)
end
local each = make_each()

-- Position (0-based) of the nth layer with this id, and which of the
-- layer's structs holds it (for VLAN tags, the index of the tag). The
-- first of any other layer is in slot 0, and slot, a cache line further
-- into the packet, is not read for it.
local function find_layer(c, id, nth)
  local first = c.first[id]
  if first == 0 then return nil end
  local pos = first - 1
  if nth == 1 and not SHARED[id] then return pos, 0 end
  if nth > 1 then
    for i = pos + 1, c.nlayers - 1 do
      if c.layers[i] == id then
        nth = nth - 1
        if nth == 1 then pos = i; break end
      end
    end
    if nth > 1 then return nil end
  end
  return pos, c.slot[pos]
end

local function question(i, d, text, base)
  local rr = d.rr[base + i]
  return { qname = ffi.string(text + rr.name, rr.name_len), qtype = rr.type, qclass = rr.rclass }
end

local function record(i, d, text, base)
  local rr = d.rr[base + i]
  return { rrname = ffi.string(text + rr.name, rr.name_len), type = rr.type,
           rclass = rr.rclass, ttl = rr.ttl, rdata = ffi.string(text + rr.rdata, rr.rdlen) }
end

local function dns_section(d, text, base, count, build)
  return fill(setmetatable(new_table(count, 0), ARRAY), count, build, d, text, base)
end

-- A DNS layer holds its questions from the start; the header fields and
-- the other sections are decoded together on first read, straight from the
-- packet's bytes, so a chef that only asks what was looked up pays for
-- nothing else. A chef reads them while the packet is handled; a layer it
-- returned unread is filled in by the C side (__dumplings_fill) before it
-- serializes it, which it does before it gives the batch back (batch.h):
-- the generation says the batch is still the one being cooked.
local DNS_PKT, DNS_POS, DNS_GEN = {}, {}, {}   -- private keys
local generation = 0       -- counts batches and pokes
local readable = nil       -- the batch whose bytes may still be read

local function dns_fill_from(t, c)
  local d = api.dns_scratch
  api.dns_decode(c.data + c.dns_off, c.dns_len, 4, d)
  local text, n = d.text, d.nrr
  rawset(t, "id", d.id); rawset(t, "qr", d.qr); rawset(t, "opcode", d.opcode)
  rawset(t, "aa", d.aa); rawset(t, "tc", d.tc); rawset(t, "rd", d.rd)
  rawset(t, "ra", d.ra); rawset(t, "z", d.z); rawset(t, "ad", d.ad)
  rawset(t, "cd", d.cd); rawset(t, "rcode", d.rcode)
  rawset(t, "qdcount", d.qdcount); rawset(t, "ancount", d.ancount)
  rawset(t, "nscount", d.nscount); rawset(t, "arcount", d.arcount)
  rawset(t, "an", dns_section(d, text, n[0], n[1], record))
  rawset(t, "ns", dns_section(d, text, n[0] + n[1], n[2], record))
  rawset(t, "ar", dns_section(d, text, n[0] + n[1] + n[2], n[3], record))
  rawset(t, DNS_PKT, nil); rawset(t, DNS_POS, nil); rawset(t, DNS_GEN, nil)
end

local function dns_fill(t, returned)
  local p = rawget(t, DNS_PKT)
  if p == nil then return end
  if rawget(p, SLOT) == nil and not (returned and rawget(t, DNS_GEN) == generation) then
    error("DNS header and answers read after the packet's handler returned " ..
          "(read them in the handler)", 3)
  end
  dns_fill_from(t, readable[rawget(t, DNS_POS)])
end

local DNS_MT = {
  __index = function(t, key)
    if rawget(t, DNS_PKT) == nil then return nil end
    dns_fill(t, false)
    return rawget(t, key)
  end,
  __dumplings_fill = function(t) dns_fill(t, true) end,
}

-- The decode stage decodes a lone question ahead (c.dns_q == 1);
-- otherwise the questions are decoded here.
local function questions(c)
  local q = c.dns_q
  if q == 1 then
    local qd = setmetatable(new_table(1, 0), ARRAY)
    qd[1] = { qname = ffi.string(c.dns_qname, c.dns_qname_len), qtype = c.dns_qtype,
              qclass = c.dns_qclass }
    return qd
  end
  local d = api.dns_scratch
  if q == 2 or api.dns_decode(c.data + c.dns_off, c.dns_len, 1, d) < 0 then return nil end
  return dns_section(d, d.text, 0, d.nrr[0], question)
end

local function build_dns(c, _, p, i)
  local qd = questions(c)
  if qd == nil then return nil end
  -- The private keys come first: LuaJIT sizes a constructor's template
  -- table by the keys seen before its first constant key, and a template
  -- too small for the rest is resized on every packet.
  return setmetatable({
    [DNS_PKT] = p, [DNS_POS] = i, [DNS_GEN] = generation, qd = qd,
  }, DNS_MT)
end

local function build_tag(c, tag)
  local t = c.tags[tag]
  return { vlan = t.vlan, prio = t.prio, id = t.dei, type = t.type }
end

-- Builders shared by a layer and its quoted twin: member is the struct
-- dpl_packet member the layer was decoded into, second the member of the
-- layer's second instance (slot 1: inside a tunnel), if it has one.
local function build_ip(member, second)
  return function(c, slot)
    local ip = slot == 1 and c[second] or c[member]
    return { version = 4, ihl = ip.ihl, tos = ip.tos, len = ip.len, id = ip.id,
             flags = IP_FLAGS[ip.flags], frag = ip.frag, ttl = ip.ttl, proto = ip.proto,
             chksum = ip.chksum, src = ip4(ip.src), dst = ip4(ip.dst) }
  end
end

local function build_ipv6(member, second)
  return function(c, slot)
    local ip = slot == 1 and c[second] or c[member]
    return { version = 6, tc = ip.tc, fl = ip.fl, plen = ip.plen, nh = ip.nh,
             hlim = ip.hlim, src = ip6(ip.src), dst = ip6(ip.dst) }
  end
end

-- The outermost IP or IPv6 layer of the packet that completed a
-- datagram from its fragments says so: how many fragments made it, and
-- whether some overlapped (the first to arrive kept its bytes) with the
-- same bytes or not.
local function reassembled(build, version)
  return function(c, slot)
    local t = build(c, slot)
    if c.reasm_ver == version and slot ~= 1 then
      t.reassembled = c.reasm_frags
      t.overlap = c.reasm_flags ~= 0
      t.conflict = c.reasm_flags >= 2
    end
    return t
  end
end

local function build_icmp(member)
  return function(c)
    local i = c[member]
    return { type = i.type, code = i.code, chksum = i.chksum, id = i.id, seq = i.seq }
  end
end

-- TCP options as scapy lists them: {name, value} pairs in the order sent.
-- A kind without a name here is named by its number; a value is a number,
-- a list of numbers (Timestamp, SAck), nil (EOL, NOP) or the bytes sent.
local TCP_OPTION = { [0] = "EOL", "NOP", "MSS", "WScale", "SAckOK", "SAck",
                     [8] = "Timestamp", [14] = "AltChkSum", [15] = "AltChkSumOpt",
                     [19] = "MD5", [25] = "Mood", [28] = "UTO", [29] = "AO", [34] = "TFO" }

local function number_at(i, v) return v[i] end

local function tcp_option(i, opts, base)
  local o = opts.opt[i]
  local kind, nv, v = o.kind, o.nv, nil
  if nv == 1 then
    v = o.v[0]
  elseif nv > 1 then
    v = fill(new_table(nv, 0), nv, number_at, o.v)
  elseif kind > 1 then
    v = ffi.string(base + o.off, o.len - 2)
  end
  return { TCP_OPTION[kind] or kind, v }
end

local function tcp_options(c, t)
  local opts, base = api.tcp_scratch, c.data + t.opt_off
  local n = api.tcp_options(base, t.opt_len, opts)
  return fill(setmetatable(new_table(n, 0), ARRAY), n, tcp_option, opts, base)
end

-- Most segments carry options (timestamps), and most chefs that read TCP
-- never look at them, so they are decoded on first read of tcp.options,
-- from the packet's bytes, under the rule DNS answers follow: read them in
-- the handler; a layer returned unread is filled in before it is
-- serialized. A segment without options has none (nil), and no metatable.
-- One private key says where the packet is: generation * STAMP + its
-- index in the batch (each private key a table holds costs the per-packet
-- path a rehash).
local OPT_AT = {}          -- private key
local STAMP = 65536        -- more than a batch's packets

local function options_fill(t, member, returned)
  local at = rawget(t, OPT_AT)
  if at == nil then return end
  local i = at % STAMP
  local now = (at - i) / STAMP == generation
  if not (now and (returned or (progress.i == i and rawget(progress.p, SLOT) ~= nil))) then
    error("TCP options read after the packet's handler returned (read them in the handler)", 3)
  end
  local c = readable[i]
  rawset(t, "options", tcp_options(c, c[member]))
  rawset(t, OPT_AT, nil)
end

local function options_metatable(member)
  return {
    __index = function(t, key)
      if key ~= "options" then return nil end
      options_fill(t, member, false)
      return rawget(t, "options")
    end,
    __dumplings_fill = function(t) options_fill(t, member, true) end,
  }
end

local function build_tcp(member)
  local mt = options_metatable(member)
  return function(c, _, _, i)
    local t = c[member]
    if t.partial ~= 0 then return { sport = t.sport, dport = t.dport, seq = t.seq } end
    if t.opt_len == 0 then
      return { sport = t.sport, dport = t.dport, seq = t.seq, ack = t.ack,
               dataofs = t.dataofs, reserved = t.reserved, flags = TCP_FLAGS[t.flags],
               window = t.window, chksum = t.chksum, urgptr = t.urgptr,
               payload_len = t.payload_len }
    end
    return setmetatable({
      [OPT_AT] = generation * STAMP + i,
      sport = t.sport, dport = t.dport, seq = t.seq, ack = t.ack,
      dataofs = t.dataofs, reserved = t.reserved, flags = TCP_FLAGS[t.flags],
      window = t.window, chksum = t.chksum, urgptr = t.urgptr,
      payload_len = t.payload_len }, mt)
  end
end

local function build_udp(member, second)
  return function(c, slot)
    local u = slot == 1 and c[second] or c[member]
    return { sport = u.sport, dport = u.dport, len = u.len, chksum = u.chksum }
  end
end

----------------------------------------------------------------------------
-- Application layers (src/decode/apps.h). decode.c only found where they
-- start; the builder decodes the layer into its scratch in C and copies
-- every field out at once, so the table is as lasting as any other and a
-- chef that never reads the layer never pays for decoding it.

local function array_of(n, f, a, b, c)
  return fill(setmetatable(new_table(n, 0), ARRAY), n, f, a, b, c)
end

local function text_of(s, off, len) return ffi.string(s + off, len) end

local function tls_val(i, vals, off) return vals[off + i] end
local function tls_list(h, run) return array_of(run.n, tls_val, h.vals, run.off) end

local function tls_alpn(i, vals, off, s)
  return ffi.string(s + vals[off + 2 * i], vals[off + 2 * i + 1])
end

-- The fields both hellos have; the fingerprints only of a whole hello.
local function build_hello(c)
  local h = api.tls_scratch
  api.tls_decode(c.data + c.tls_off, c.tls_len, h)
  local s, whole = h.text.s, h.complete ~= 0
  local t = {
    version = h.version, ext = tls_list(h, h.ext), supported_versions = tls_list(h, h.supported_versions),
    alpn = array_of(h.alpn.n, tls_alpn, h.vals, h.alpn.off, s),
  }
  return t, h, s, whole and h.ja3_len > 0
end

local function build_client_hello(c)
  local t, h, s, hashed = build_hello(c)
  t.ciphers, t.groups = tls_list(h, h.ciphers), tls_list(h, h.groups)
  t.ec_point_formats, t.sig_algs = tls_list(h, h.ec_point_formats), tls_list(h, h.sig_algs)
  if h.has_sni ~= 0 then t.sni = text_of(s, h.sni, h.sni_len) end
  if h.complete ~= 0 then
    t.ja3_full, t.ja4_r = text_of(s, h.ja3_full, h.ja3_full_len), text_of(s, h.ja4_r, h.ja4_r_len)
    if hashed then t.ja3, t.ja4 = text_of(s, h.ja3, h.ja3_len), text_of(s, h.ja4, h.ja4_len) end
  end
  return t
end

local function build_server_hello(c)
  local t, h, s, hashed = build_hello(c)
  if h.cipher >= 0 then t.cipher = h.cipher end
  if h.complete ~= 0 then t.ja3s_full = text_of(s, h.ja3_full, h.ja3_full_len) end
  if hashed then t.ja3s = text_of(s, h.ja3, h.ja3_len) end
  return t
end

local function http_field(i, fields, s, headers)
  local f = fields[i]
  headers[ffi.string(s + f.name, f.name_len)] = ffi.string(s + f.value, f.value_len)
end

-- The start line's parts (fewer when the bytes cut it) and the fields.
local function build_http(c)
  local h = api.http_scratch
  api.http_decode(c.data + c.http_off, c.http_len, h)
  local s, n = h.text.s, h.line_parts
  local headers = new_table(0, h.nfields)
  each(h.nfields, http_field, h.fields, s, headers)
  return h, s, n, headers
end

local function build_http_request(c)
  local h, s, n, headers = build_http(c)
  return { method = text_of(s, h.method, h.method_len),
           uri = n >= 2 and text_of(s, h.uri, h.uri_len) or nil,
           version = n >= 3 and text_of(s, h.version, h.version_len) or nil, headers = headers }
end

local function build_http_response(c)
  local h, s, n, headers = build_http(c)
  return { version = text_of(s, h.version, h.version_len),
           status_code = h.status_code, reason = n >= 3 and text_of(s, h.reason, h.reason_len) or nil,
           headers = headers }
end

local function dhcp_decoded(c)
  local d = api.dhcp_scratch
  api.dhcp_decode(c.data + c.bootp_off, c.bootp_len, d)
  return d, c.data + c.bootp_off
end

local function name_or_nil(chars)
  return chars[0] ~= 0 and ffi.string(chars) or nil
end

local function build_bootp(c)
  local d = dhcp_decoded(c)
  return { op = d.op, htype = d.htype, hlen = d.hlen, hops = d.hops, xid = d.xid, secs = d.secs,
           flags = d.flags, ciaddr = ip4(d.ciaddr), yiaddr = ip4(d.yiaddr), siaddr = ip4(d.siaddr),
           giaddr = ip4(d.giaddr), chaddr = mac(d.chaddr, d.hlen < 16 and d.hlen or 16),
           sname = name_or_nil(d.sname), file = name_or_nil(d.file) }
end

local function dhcp_option(i, opts, msg)
  local o = opts[i]
  return { code = o.code, data = ffi.string(msg + o.off, o.len) }
end

local function byte_at(i, p) return p[i] end

-- The data of option number i (an index into opts, -1 for none).
local function option(d, msg, i)
  if i < 0 then return nil end
  local o = d.opts[i]
  return msg + o.off, o.len
end

local function build_dhcp(c)
  local d, msg = dhcp_decoded(c)
  local t = { options = array_of(d.nopts, dhcp_option, d.opts, msg) }
  local p, n = option(d, msg, d.message_type)
  if p then t.message_type = p[0] end
  p = option(d, msg, d.requested_addr)
  if p then t.requested_addr = ip4(p) end
  p = option(d, msg, d.server_id)
  if p then t.server_id = ip4(p) end
  p = option(d, msg, d.lease_time)
  if p then t.lease_time = ((p[0] * 256 + p[1]) * 256 + p[2]) * 256 + p[3] end
  p, n = option(d, msg, d.hostname)
  if p then t.hostname = ffi.string(p, n) end
  p, n = option(d, msg, d.vendor_class_id)
  if p then t.vendor_class_id = ffi.string(p, n) end
  p, n = option(d, msg, d.param_req_list)
  if p then t.param_req_list = array_of(n, byte_at, p) end
  return t
end

local function build_tls(c)
  local p = c.data + c.tls_off
  return { type = p[0], version = p[1] * 256 + p[2], len = p[3] * 256 + p[4] }
end

-- IPv6 extension headers, in the exthdrs array at their slot.
local function build_options_header(c, slot)
  local e = c.exthdrs[slot]
  return { nh = e.nh, len = e.len, options = ffi.string(c.data + e.off + 2, e.size - 2) }
end

local function address_at(i, base) return ip6(base + 16 * i) end

local function build_routing(c, slot)
  local e = c.exthdrs[slot]
  local n = e.naddr
  return { nh = e.nh, len = e.len, type = e.type, segleft = e.segleft, reserved = e.reserved,
           addresses = fill(setmetatable(new_table(n, 0), ARRAY), n, address_at,
                            c.data + e.off + 8) }
end

local function build_fragment(c, slot)
  local e = c.exthdrs[slot]
  return { nh = e.nh, res1 = e.len, offset = e.offset, res2 = e.res2, m = e.m, id = e.id }
end

-- Neighbour discovery: the message after ICMPv6, its options a list of
-- tables {type, len, raw} with the fields of scapy's option classes when
-- the option's size is its type's (the numbers C read: w16 at bytes 2, 4,
-- 6; w32 at 4, 8, 12).
local function bit_at(v, b) return band(rshift(v, b), 1) end

local function name_at(i, s, first)
  local k = first + i
  local stop = k + 1 < s.nnames and s.names[k + 1] or s.text_len
  return ffi.string(s.text + s.names[k], stop - s.names[k] - 1)
end

-- Like scapy's, an Ethernet address: the first six bytes (raw has all).
local function lladdr(t, o, base) t.lladdr = mac(base + o.off + 2, 6) end

local ND_FIELDS = {
  [1] = lladdr,
  [2] = lladdr,
  [3] = function(t, o)
    local b = band(o.w16[0], 0xff)
    t.prefixlen, t.L, t.A, t.R = rshift(o.w16[0], 8), bit_at(b, 7), bit_at(b, 6), bit_at(b, 5)
    t.res1, t.validlifetime, t.preferredlifetime = band(b, 0x1f), o.w32[0], o.w32[1]
    t.res2, t.prefix = o.w32[2], ip6(o.prefix)
  end,
  [4] = function(t, o, base) t.pkt = ffi.string(base + o.off + 8, o.size - 8) end,
  [5] = function(t, o) t.res, t.mtu = o.w16[0], o.w32[0] end,
  [7] = function(t, o) t.res, t.advint = o.w16[0], o.w32[0] end,
  [8] = function(t, o) t.res, t.pref, t.lifetime = o.w16[0], o.w16[1], o.w16[2] end,
  [24] = function(t, o)
    local b = band(o.w16[0], 0xff)
    t.plen, t.res1, t.prf, t.res2 = rshift(o.w16[0], 8), rshift(b, 5), band(rshift(b, 3), 3), band(b, 7)
    t.rtlifetime, t.prefix = o.w32[0], ip6(o.prefix)
  end,
  [25] = function(t, o, base)
    t.res, t.lifetime = o.w16[0], o.w32[0]
    t.dns = fill(setmetatable(new_table(o.nlist, 0), ARRAY), o.nlist, address_at, base + o.off + 8)
  end,
  [31] = function(t, o, _, s)
    t.res, t.lifetime = o.w16[0], o.w32[0]
    t.searchlist = fill(setmetatable(new_table(o.nlist, 0), ARRAY), o.nlist, name_at, s, o.first)
  end,
}

local function nd_option(i, s, base)
  local o = s.opt[i]
  local t = { type = o.type, len = o.len, raw = ffi.string(base + o.off, o.size) }
  local f = o.ok ~= 0 and ND_FIELDS[o.type]
  if f then f(t, o, base, s) end
  return t
end

-- nil when the message has none, as TCP's.
local function nd_options(c, nd)
  if nd.opt_len == 0 then return nil end
  local s, base = api.nd_scratch, c.data + nd.opt_off
  local n = api.nd_options(base, nd.opt_len, s)
  if n == 0 then return nil end
  return fill(setmetatable(new_table(n, 0), ARRAY), n, nd_option, s, base)
end

local ND_BUILDERS = {
  ICMPv6ND_RS = function(c)
    local i, n = c.icmp, c.nd
    return { type = i.type, code = i.code, cksum = i.chksum, res = n.res, options = nd_options(c, n) }
  end,
  ICMPv6ND_RA = function(c)
    local i, n = c.icmp, c.nd
    local f = n.flags
    return { type = i.type, code = i.code, cksum = i.chksum, chlim = n.chlim,
             M = bit_at(f, 7), O = bit_at(f, 6), H = bit_at(f, 5), prf = band(rshift(f, 3), 3),
             P = bit_at(f, 2), res = band(f, 3), routerlifetime = n.routerlifetime,
             reachabletime = n.reachabletime, retranstimer = n.retranstimer,
             options = nd_options(c, n) }
  end,
  ICMPv6ND_NS = function(c)
    local i, n = c.icmp, c.nd
    return { type = i.type, code = i.code, cksum = i.chksum, res = n.res, tgt = ip6(n.tgt),
             options = nd_options(c, n) }
  end,
  ICMPv6ND_NA = function(c)
    local i, n = c.icmp, c.nd
    local f = n.flags
    return { type = i.type, code = i.code, cksum = i.chksum, R = bit_at(f, 7), S = bit_at(f, 6),
             O = bit_at(f, 5), res = band(n.res, 0x1fffffff), tgt = ip6(n.tgt),
             options = nd_options(c, n) }
  end,
  ICMPv6ND_Redirect = function(c)
    local i, n = c.icmp, c.nd
    return { type = i.type, code = i.code, cksum = i.chksum, res = n.res, tgt = ip6(n.tgt),
             dst = ip6(n.dst), options = nd_options(c, n) }
  end,
}

-- Tunnels. GRE's flags as scapy's GRE and GRE_PPTP (version 1) name them;
-- an optional field is there when its flag says so and it was captured
-- (g.have: 1 checksum and offset, 2 key, 4 sequence, 8 acknowledgement).
local function build_gre(c)
  local g = c.gre
  local f, have = g.flags, g.have
  local version = band(f, 7)
  local t = { chksum_present = bit_at(f, 15), routing_present = bit_at(f, 14),
              key_present = bit_at(f, 13), seqnum_present = bit_at(f, 12),
              strict_route_source = bit_at(f, 11), recursion_control = band(rshift(f, 8), 7),
              flags = band(rshift(f, 3), 31), version = version, proto = g.proto }
  if band(have, 1) ~= 0 then t.chksum, t.offset = g.chksum, g.offset end
  if version == 1 then
    t.acknum_present, t.flags = bit_at(f, 7), band(rshift(f, 3), 15)
    if band(have, 2) ~= 0 then t.payload_len, t.call_id = rshift(g.key, 16), band(g.key, 0xffff) end
  elseif band(have, 2) ~= 0 then
    t.key = g.key
  end
  if band(have, 4) ~= 0 then t.sequence_number = g.seq end
  if band(have, 8) ~= 0 then t.ack_number = g.ack end
  return t
end

-- radiotap's fields by their bit in present: only those the frame has
local function build_radiotap(c)
  local r = c.radiotap
  local h = r.have
  local t = { version = r.version, pad = r.pad, len = r.len, present = r.present }
  if bit_at(h, 0) == 1 then t.mac_timestamp = tonumber(r.tsft) end
  if bit_at(h, 1) == 1 then t.Flags = r.flags end
  if bit_at(h, 2) == 1 then t.Rate = r.rate end
  if bit_at(h, 3) == 1 then t.ChannelFrequency, t.ChannelFlags = r.chan_freq, r.chan_flags end
  if bit_at(h, 5) == 1 then t.dBm_AntSignal = r.dbm_antsignal end
  if bit_at(h, 6) == 1 then t.dBm_AntNoise = r.dbm_antnoise end
  if bit_at(h, 11) == 1 then t.Antenna = r.antenna end
  return t
end

local function build_dot11(c)
  local w = c.dot11
  local n = w.naddr
  return { subtype = w.subtype, type = w.type, proto = w.proto, FCfield = w.fcfield, ID = w.id,
           addr1 = mac(w.addr1), addr2 = n >= 2 and mac(w.addr2) or nil,
           addr3 = n >= 3 and mac(w.addr3) or nil, SC = n >= 3 and w.sc or nil,
           addr4 = n == 4 and mac(w.addr4) or nil }
end

-- a beacon's or probe response's fixed fields
local function build_dot11_fixed(c)
  local m = c.dot11mgmt
  return { timestamp = tonumber(m.timestamp), beacon_interval = m.beacon_interval, cap = m.cap }
end

local function build_vxlan(c)
  local v = c.vxlan
  return { flags = v.flags, reserved1 = v.reserved1, vni = v.vni, reserved2 = v.reserved2 }
end

-- One builder per layer, by name: (cdata packet, slot) -> table, the slot
-- saying which of the layer's structs to read (find_layer).
local BUILDERS = {
  Ethernet = function(c, slot)
    local e = slot == 1 and c.eth2 or c.eth
    return { src = mac(e.src), dst = mac(e.dst), type = e.type }
  end,
  Dot1Q = build_tag,
  Dot1AD = build_tag,
  PPPoE = function(c)
    local s = c.pppoe
    return { version = s.version, type = s.type, code = s.code, sessionid = s.sessionid,
             len = s.len }
  end,
  PPP = function(c)
    return { proto = c.ppp_proto }
  end,
  RadioTap = build_radiotap,
  Dot11 = build_dot11,
  Dot11QoS = function(c)
    local q = c.dot11qos
    return { A_MSDU_Present = q.amsdu, Ack_Policy = q.ack_policy, EOSP = q.eosp, TID = q.tid,
             TXOP = q.txop }
  end,
  Dot11Beacon = build_dot11_fixed,
  Dot11ProbeResp = build_dot11_fixed,
  Dot11ProbeReq = function() return {} end,
  Dot11Elt = function(c, slot)
    local e = c.elts[slot]
    return { ID = e.id, len = e.len, info = ffi.string(c.data + e.off, e.len) }
  end,
  LLC = function(c)
    local l = c.llc
    return { dsap = l.dsap, ssap = l.ssap, ctrl = l.ctrl }
  end,
  SNAP = function(c)
    return { OUI = c.llc.oui, code = c.llc.code }
  end,
  MPLS = function(c, label)
    local m = c.labels[label]
    return { label = m.label, cos = m.cos, s = m.s, ttl = m.ttl }
  end,
  CookedLinux = function(c)
    local k = c.cooked
    local n = k.lladdrlen < 8 and k.lladdrlen or 8
    return { pkttype = k.pkttype, lladdrtype = k.lladdrtype, lladdrlen = k.lladdrlen,
             src = mac(k.src, n), proto = k.proto, version = k.version,
             ifindex = k.version == 2 and k.ifindex or nil }
  end,
  Loopback = function(c)
    return { type = c.loopback_family }
  end,
  ARP = function(c)
    local a = c.arp
    local t = { hwtype = a.hwtype, ptype = a.ptype, hwlen = a.hwlen, plen = a.plen, op = a.op }
    if a.hwlen == 6 then t.hwsrc, t.hwdst = mac(a.hwsrc), mac(a.hwdst) end
    if a.plen == 4 then t.psrc, t.pdst = ip4(a.psrc), ip4(a.pdst) end
    return t
  end,
  IP = reassembled(build_ip("ip", "ip2"), 4),
  IPv6 = reassembled(build_ipv6("ipv6", "ipv6_2"), 6),
  ICMP = build_icmp("icmp"),
  ICMPv6 = function(c)
    local i = c.icmp
    return { type = i.type, code = i.code, cksum = i.chksum }
  end,
  TCP = build_tcp("tcp"),
  UDP = build_udp("udp", "udp2"),
  DNS = build_dns,
  Raw = function(c)
    return { load = ffi.string(c.data + c.payload_off, c.payload_len) }
  end,
  Padding = function(c)
    return { load = ffi.string(c.data + c.pad_off, c.pad_len) }
  end,
  IPerror = build_ip("iperr"),
  IPerror6 = build_ipv6("ipv6err"),
  TCPerror = build_tcp("tcperr"),
  UDPerror = build_udp("udperr"),
  ICMPerror = build_icmp("icmperr"),
  TLS = build_tls,
  TLSClientHello = build_client_hello,
  TLSServerHello = build_server_hello,
  HTTPRequest = build_http_request,
  HTTPResponse = build_http_response,
  BOOTP = build_bootp,
  DHCP = build_dhcp,
  IPv6ExtHdrHopByHop = build_options_header,
  IPv6ExtHdrRouting = build_routing,
  IPv6ExtHdrFragment = build_fragment,
  IPv6ExtHdrDestOpt = build_options_header,
  GRE = build_gre,
  VXLAN = build_vxlan,
}
for name, build in pairs(ND_BUILDERS) do BUILDERS[name] = build end

-- By id, for the per-packet path; the two lists must agree.
local BUILD = {}
for id, name in ipairs(LAYER_NAMES) do
  BUILD[id] = BUILDERS[name] or error("layer " .. name .. " has no builder in runtime.lua")
end
for name in pairs(BUILDERS) do
  if not LAYER_ID[name] then error("builder " .. name .. " has no layer in layers.tab") end
end

----------------------------------------------------------------------------
-- Flows (src/decode/flow.c). The decode stage joins each IP packet to its
-- flow and copies the flow's counts as of that packet into it. pkt.flow
-- holds its id and direction from the start; the other fields are copied
-- out on first read, under the rule TCP options follow (read them in the
-- handler; a flow returned unread is filled in before it is serialized),
-- so a chef that only tells flows apart pays for two fields. flow.state
-- is not a field: each read gives the calling chef's own table for the
-- flow, kept by the chef's name (so it survives a reload) until the flow
-- ends.

local FLOW_AT = {}         -- private key, as OPT_AT
-- As Zeek names them, ICMPv6 too being "icmp".
local PROTO_NAMES = { [1] = "icmp", [6] = "tcp", [17] = "udp", [58] = "icmp" }
local CONN_STATES = { [0] = "S0", "S1", "SF", "REJ", "S2", "S3", "RSTO", "RSTR", "RSTOS0",
                      "RSTRH", "SH", "SHR", "OTH" }
local END_REASONS = { "fin", "rst", "idle", "evicted", "end_of_input" }
local flow_states = {}     -- flow id -> { [chef name] = state }
local chef_state           -- (id) -> the calling chef's state, below

local function flow_host(f, a)
  return f.family == 4 and ip4(a) or ip6(a)
end

local function flow_fields(t, f)
  local first, last = f.first, f.last
  t.community_id = ffi.string(fmtbuf, api.community_id(f, fmtbuf))
  t.proto, t.ip_proto = PROTO_NAMES[f.proto] or "unknown_transport", f.proto
  t.orig_h, t.orig_p = flow_host(f, f.orig_h), f.orig_p
  t.resp_h, t.resp_p = flow_host(f, f.resp_h), f.resp_p
  -- to the microsecond: the difference of two times near 1.7e9 carries
  -- their rounding (0.12822389602661133 for 0.128224), and such digits
  -- are slow to print
  t.first, t.last, t.duration = first, last, floor((last - first) * 1e6 + 0.5) / 1e6
  t.orig_pkts, t.resp_pkts = f.pkts[0], f.pkts[1]
  t.orig_bytes, t.resp_bytes = f.bytes[0], f.bytes[1]
  t.orig_ip_bytes, t.resp_ip_bytes = f.ip_bytes[0], f.ip_bytes[1]
  t.conn_state, t.history = CONN_STATES[f.conn_state], ffi.string(f.history)
  return t
end

local function flow_fill(t, returned)
  local at = rawget(t, FLOW_AT)
  if at == nil then return end
  local i = at % STAMP
  local now = (at - i) / STAMP == generation
  if not (now and (returned or (progress.i == i and rawget(progress.p, SLOT) ~= nil))) then
    error("flow fields read after the packet's handler returned (read them in the handler)", 3)
  end
  rawset(t, FLOW_AT, nil)
  flow_fields(t, readable[i].flow)
end

local FLOW_MT = {
  __index = function(t, key)
    if key == "state" then return chef_state(rawget(t, "id")) end
    if rawget(t, FLOW_AT) == nil then return nil end
    flow_fill(t, false)
    return rawget(t, key)
  end,
  __dumplings_fill = function(t) flow_fill(t, true) end,
}

-- A stream event's flow (see stream_event below): filled from the event,
-- which lives as long as the batch, on first read.
local FLOW_EV, FLOW_GEN = {}, {}   -- private keys

local function stream_flow_fill(t)
  local ev = rawget(t, FLOW_EV)
  if ev == nil then return end
  if rawget(t, FLOW_GEN) ~= generation then
    error("flow fields read after the batch was cooked (read them in the handler)", 3)
  end
  rawset(t, FLOW_EV, nil)
  rawset(t, FLOW_GEN, nil)
  flow_fields(t, ev.flow)
end

local STREAM_FLOW_MT = {
  __index = function(t, key)
    if key == "state" then return chef_state(rawget(t, "id")) end
    if rawget(t, FLOW_EV) == nil then return nil end
    stream_flow_fill(t)
    return rawget(t, key)
  end,
  __dumplings_fill = stream_flow_fill,
}

local function packet_flow(c, p)
  local f = c.flow
  local id = f.id
  if id == 0 then return nil end
  return setmetatable({ [FLOW_AT] = generation * STAMP + rawget(p, SLOT), id = id,
                        dir = f.dir == 0 and "orig" or "resp" }, FLOW_MT)
end

----------------------------------------------------------------------------
-- Packet tables

local sources = config.sources

local function packet_cdata(p, level)
  local i = rawget(p, SLOT)
  if i == nil then
    error("packet read after its handler returned (copy the fields you need)", level)
  end
  return batch[i]
end

local function layer_name(i, c)
  return LAYER_NAMES[c.layers[i]]
end

local FIELDS = {
  time = function(c) return c.time end,
  wirelen = function(c) return c.wirelen end,
  caplen = function(c) return c.caplen end,
  source = function(c) return sources[c.source + 1] end,
  raw = function(c) return ffi.string(c.data, c.caplen) end,
  flow = packet_flow,
  -- Each packet its own: a chef that changes it changes nothing for
  -- later packets.
  layers = function(c)
    local n = c.nlayers
    return fill(setmetatable(new_table(n, 0), ARRAY), n, layer_name, c)
  end,
}

local Packet = {}
local METHODS = {}

function METHODS.haslayer(p, name)
  local id = LAYER_ID[name]
  return id ~= nil and packet_cdata(p, 3).first[id] ~= 0
end

function METHODS.getlayer(p, name, nth)
  if nth == nil or nth == 1 then return p[name] end
  local id = LAYER_ID[name]
  if id == nil then return nil end
  local c = packet_cdata(p, 3)
  local pos, tag = find_layer(c, id, nth)
  return pos and BUILD[id](c, tag, p, rawget(p, SLOT)) or nil
end

function Packet.__index(p, key)
  local m = METHODS[key]
  if m then return m end
  local c = packet_cdata(p, 3)
  local v
  local f = FIELDS[key]
  if f then
    v = f(c, p)
  else
    local id = LAYER_ID[key]
    if id == nil then return nil end
    local pos, tag = find_layer(c, id, 1)
    if pos == nil then return nil end
    v = BUILD[id](c, tag, p, rawget(p, SLOT))
  end
  rawset(p, key, v)
  return v
end

function Packet.__tostring(p)
  local i = rawget(p, SLOT)
  if i == nil then return "<packet, expired>" end
  return "<packet " .. concat(p.layers, "/") .. ">"
end

----------------------------------------------------------------------------
-- Errors

-- Where in a chef file an error happened: the innermost frame of a chef
-- file (they are loaded as "@path"), as "path:line".
local function chef_location()
  for level = 2, 40 do
    local info = getinfo(level, "Sl")
    if info == nil then return nil end
    if info.source:sub(1, 1) == "@" and info.currentline > 0 then
      return info.short_src .. ":" .. info.currentline
    end
  end
end

-- The error handler of every call into Lua, from C and around chefs: an
-- interrupt passes unchanged; anything else becomes text that says where
-- in the chef it happened.
local function on_error(e)
  if e == TIMEOUT or e == STOP then return e end
  local msg = type(e) == "string" and e or ("error object is a %s value (%s)"):format(type(e), tostring(e))
  local at = chef_location()
  if at and msg:sub(1, #at) ~= at then msg = at .. ": " .. msg end
  return msg
end
R.on_error = on_error

local function interrupt_text(e)
  if e == TIMEOUT then return "it ran past the time limit (an endless loop?)" end
  return e
end

----------------------------------------------------------------------------
-- Chefs

local files = {}           -- path -> { rev, recs }: the chefs each file gave
local file_order = {}      -- paths, in load order
local packet_chefs = {}    -- every running chef with a packet_handler, in order
local interval_chefs = {}  -- every running chef with an interval_handler
local flow_end_chefs = {}  -- every running chef with a flow_end
local stream_chefs = {}    -- every running chef with a stream handler
local flow_owner = nil     -- the chef whose flow_end or stream runs now
local owner_flow = nil     -- ... and the id of the flow it runs for
local run_range = nil      -- the batch loop for these chefs, built on demand

-- dumplings.capture(target, {before, after, name}): the packets of a flow
-- (pkt.flow), of a host (an address as text) or one packet (pkt) into a
-- pcapng file under --capture-dir, from before seconds ahead of the packet
-- at hand to after seconds past it; returns the file's name (flowcap.c).
-- Rare, so the C call it makes may end a trace: no loop runs around it.
local capture_hook = config.capture

local function seconds_option(opts, key, default)
  local v = opts[key]
  if v == nil then return default end
  if type(v) ~= "number" or v ~= v or v < 0 or v == HUGE then
    error(("dumplings.capture: %s wants seconds (a number, 0 or more)"):format(key), 3)
  end
  return v
end

local function capture_target(target)
  if type(target) == "string" then return "host", target end
  if type(target) == "table" and getmetatable_raw(target) == Packet then
    local i = rawget(target, SLOT)
    if i == nil then error("dumplings.capture: packet read after its handler returned", 3) end
    return "packet", 0, i
  end
  if type(target) == "table" and type(rawget(target, "id")) == "number" then
    return "flow", rawget(target, "id")
  end
  error("dumplings.capture: wants pkt.flow, pkt or an IP address, not " .. type(target), 3)
end

function DUMPLINGS.capture(target, opts)
  if opts ~= nil and type(opts) ~= "table" then
    error("dumplings.capture: options are a table {before =, after =, name =}", 2)
  end
  opts = opts or {}
  local before, after = seconds_option(opts, "before", 30), seconds_option(opts, "after", 60)
  local name = opts.name
  if name ~= nil and type(name) ~= "string" then
    error("dumplings.capture: name is a string", 2)
  end
  local kind, key, at = capture_target(target)
  if at == nil then at = (batch ~= nil and flow_owner == nil) and progress.i or -1 end
  local file, why = capture_hook(kind, key, at, before, after, name)
  if file == nil then error("dumplings.capture: " .. why, 2) end
  return file
end

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
  local ph, ih, fe, st = t.packet_handler, t.interval_handler, t.flow_end, t.stream
  if t.assignable ~= false and type(ph) ~= "function" and type(ih) ~= "function" and
     type(fe) ~= "function" and type(st) ~= "function" then
    error(("%s: chef %s has no packet_handler, interval_handler, flow_end or stream")
          :format(path, t.name or i), 0)
  end
end

-- Each chef file runs in an environment of its own: its globals are its
-- own, and what it does not set it reads from the shared globals (copied
-- in, so that reading them costs no more than before).
-- print() goes to the kitchen's log, naming the chef: standard output is
-- for dumplings (--stdout).
local function chef_print(...)
  local n, parts = select("#", ...), {}
  for i = 1, n do parts[i] = tostring((select(i, ...))) end
  local text = concat(parts, "\t")
  api.chef_print(api.owner, text, #text)
end

local function chef_environment()
  local env = {}
  for k, v in pairs(_G) do env[k] = v end
  env._G = env
  env.print = chef_print
  return setmetatable(env, { __index = _G })
end

-- Run a chef file's source and return its chef tables (one, or an array).
-- Errors go to the caller's handler, which says where they happened.
local function read_chef_source(path, source)
  -- Text only: LuaJIT runs bytecode unchecked, and a damaged file crashes it.
  if source:byte(1) == 27 then
    error("it is LuaJIT bytecode; a chef file must be Lua source", 0)
  end
  local chunk, err = load(source, "@" .. path, "t")
  if not chunk then error(err, 0) end
  setfenv(chunk, chef_environment())
  local result = chunk()
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

-- chef.filter: a BPF filter, checked for every source as the chef loads,
-- so that a bad one refuses the chef (or, on reload, keeps the old one).
local function chef_filter(t, path)
  local f = t.filter
  if f == nil or f == "" then return nil end
  if type(f) ~= "string" then
    error(("%s: chef %s: filter is a %s, not a string"):format(path, t.name, type(f)), 0)
  end
  local why = filter_check(f)
  if why then error(("%s: chef %s: filter '%s': %s"):format(path, t.name, f, why), 0) end
  return f
end

----------------------------------------------------------------------------
-- Chef arguments (-c dns:top=20,window=60): text, typed as they are read.

local function typed(text)
  if text == "true" then return true elseif text == "false" then return false end
  -- Decimal numbers only: not hex, inf or nan, nor text with spaces.
  local n = text:match("^[-+]?[%d.]+[eE]?[-+]?%d*$") and tonumber(text)
  -- one too large for a double (1e400) would be an infinity: text
  if n and n == n and n ~= HUGE and n ~= -HUGE then return n end
  return text
end

-- "k=v,k2=v2" as a list of {key, text}; nil or "" is no arguments.
local function parse_args(text, path)
  local list = {}
  if text == nil or text == "" then return list end
  for item in (text .. ","):gmatch("([^,]*),") do
    local key, value = item:match("^([%a_][%w_]*)=(.*)$")
    if not key then
      error(("%s: argument '%s' is not key=value"):format(path, item), 0)
    end
    list[#list + 1] = { key, value }
  end
  return list
end

local function declared_names(t)
  local names = {}
  for k in pairs(t.args) do names[#names + 1] = tostring(k) end
  sort(names)
  return #names > 0 and concat(names, ", ") or "none"
end

-- A given argument as the chef's default says it should be: a number for
-- a number, a boolean for a boolean, the text as given for a string; an
-- argument declared with dumplings.null as its default (none) is typed by
-- its text.
local function argument_value(t, path, key, text)
  local default, v = t.args[key], typed(text)
  if default == nil or default == config.null or type(default) == type(v) then return v end
  if type(default) == "string" then return text end
  error(("%s: chef %s: argument %s=%s: wants a %s"):format(path, t.name, key, text, type(default)), 0)
end

-- self.args of each chef of a file: its declared defaults (chef.args),
-- overlaid with the arguments given, which every chef of the file is
-- given. An argument no chef of the file declares is an error.
local function apply_args(list, given, path)
  for _, t in ipairs(list) do
    if t.args == nil then t.args = {} end
    if type(t.args) ~= "table" then
      error(("%s: chef %s: args is a %s, not a table of defaults"):format(path, t.name, type(t.args)), 0)
    end
  end
  for _, kv in ipairs(given) do
    local known = false
    for _, t in ipairs(list) do known = known or t.args[kv[1]] ~= nil end
    if not known then
      error(("%s: argument '%s' is not one chef %s takes (it takes: %s)")
            :format(path, kv[1], list[1].name, declared_names(list[1])), 0)
    end
  end
  for _, t in ipairs(list) do
    local args = {}
    for k, v in pairs(t.args) do
      if v ~= config.null then args[k] = v end
    end
    for _, kv in ipairs(given) do args[kv[1]] = argument_value(t, path, kv[1], kv[2]) end
    t.args = args
  end
end

local function new_record(t, path, rev)
  return { chef = t, name = t.name, file = path, rev = rev, calls = 0,
           id = api.chef_id(api.owner, t.name), filter = chef_filter(t, path),
           on_packet = type(t.packet_handler) == "function" and t.packet_handler or nil,
           on_interval = type(t.interval_handler) == "function" and t.interval_handler or nil,
           on_flow_end = type(t.flow_end) == "function" and t.flow_end or nil,
           on_stream = type(t.stream) == "function" and t.stream or nil }
end

local function running(rec)
  api.chef_running(api.owner, rec and rec.id or -1)
end

-- The filters of the packet chefs, each text once: C runs them over each
-- batch, and rec.row says which of their results a chef reads.
local function set_filters()
  local texts, row = {}, {}
  for _, rec in ipairs(packet_chefs) do
    local f = rec.filter
    if f and row[f] == nil then
      texts[#texts + 1] = f
      row[f] = #texts - 1
    end
    rec.row = f and row[f]
  end
  filters_set(texts)
end

-- The running lists follow the files, in load order; the batch loop is
-- rebuilt for them before the next batch.
local function rebuild()
  packet_chefs, interval_chefs, flow_end_chefs, stream_chefs = {}, {}, {}, {}
  for _, path in ipairs(file_order) do
    for _, rec in ipairs(files[path].recs) do
      if rec.on_packet and not rec.disabled then packet_chefs[#packet_chefs + 1] = rec end
      if rec.on_interval and not rec.disabled then interval_chefs[#interval_chefs + 1] = rec end
      if rec.on_flow_end and not rec.disabled then flow_end_chefs[#flow_end_chefs + 1] = rec end
      if rec.on_stream and not rec.disabled then stream_chefs[#stream_chefs + 1] = rec end
    end
  end
  api.stream_chefs(api.owner, #stream_chefs)
  set_filters()
  run_range = nil
end

-- A chef that ran away (time or memory) stops running until its file is
-- saved again; its state is dropped so the memory can be reclaimed.
local function disable(rec, why)
  rec.disabled = true
  for k in pairs(rec.chef) do rec.chef[k] = nil end
  rebuild()
  return ("disabled until its file changes: %s"):format(why)
end

-- Load a chef file's source, with its arguments (text, or nil). With
-- list_only, nothing is registered. Returns an array of {name,
-- assignable} for every chef the file defines.
local file_args = {}       -- path -> the arguments it was loaded with

function R.load(path, source, rev, list_only, args)
  local found, recs = {}, {}
  local list = read_chef_source(path, source)
  if not list_only then
    apply_args(list, parse_args(args, path), path)
    file_args[path] = args
  end
  for _, t in ipairs(list) do
    found[#found + 1] = { name = t.name, assignable = t.assignable ~= false }
    if t.assignable ~= false and not list_only then recs[#recs + 1] = new_record(t, path, rev) end
  end
  if not list_only then
    if not files[path] then file_order[#file_order + 1] = path end
    files[path] = { rev = rev, recs = recs }
    rebuild()
  end
  return found
end

-- How often each running chef was called, for the kitchen's health:
-- name, calls, name, calls ...
function R.chef_calls()
  local t = {}
  for _, path in ipairs(file_order) do
    for _, rec in ipairs(files[path].recs) do
      t[#t + 1], t[#t + 2] = rec.name, rec.calls
    end
  end
  return t
end

function R.chef_names()
  local names = {}
  for _, path in ipairs(file_order) do
    for _, rec in ipairs(files[path].recs) do names[#names + 1] = rec.name end
  end
  return names
end

----------------------------------------------------------------------------
-- Running chefs

local out = {}             -- flat quadruples: chef name, revision, driver, value
local nout = 0
R.out = out

local function emit(rec, driver, value)
  out[nout + 1], out[nout + 2], out[nout + 3], out[nout + 4] = rec.name, rec.rev, driver, value
  nout = nout + 4
end

-- A handler's error (not STOP: the callers end their loop for it, and
-- return what was made before it). An interrupt past the time limit
-- disables the chef.
local function handler_failed(rec, what, err)
  if err == TIMEOUT then
    api.guard_restart(api.owner)
    err = disable(rec, interrupt_text(err))
  end
  emit(rec, "error", what .. ": " .. tostring(err))
end

local interval = config.interval

-- Returns true when the kitchen is stopping and the caller should too.
local function poke_chef(rec)
  running(rec)
  rec.calls = rec.calls + 1
  local ok, v = xpcall(rec.on_interval, on_error, rec.chef, interval)
  if not ok then
    if v == STOP then return true end
    handler_failed(rec, "interval_handler", v)
  elseif v ~= nil then
    emit(rec, "interval", v)
  end
end

-- (progress, the packet and chef at hand, is declared at the top.)

-- The loop over a batch is generated for the chefs at hand: one call per
-- chef in a row, not an inner loop over chefs, which LuaJIT would not
-- compile together with the loop over packets. Before each handler the
-- watchdog is told who runs (a C call, which compiled code keeps). A chef
-- with a filter is called only for the packets C found it matches (M, a
-- row of n bytes per filter), and the packet table is made only when a
-- chef is about to be called: a packet no chef wants costs no table.
local function build_runner()
  local src = { "local st, SLOT, setmetatable, Packet, emit, H, K, C, new, RUN, O = ...",
                "return function(batch, last, i0, c0, M, n)",
                "  for i = i0, last - 1 do",
                "    local p, v = st.p",
                "    if c0 == 1 then p = nil; st.p = nil end",
                "    st.i = i" }
  -- Room for the fields chefs usually read, so caching them does not
  -- grow the table; time is read by nearly every chef.
  local make = "if p == nil then p = setmetatable(new(0, 4), Packet); " ..
               "p[SLOT], p.time = i, batch[i].time; st.p = p end; "
  for c, rec in ipairs(packet_chefs) do
    local wanted = rec.row and (" and M[%d * n + i] ~= 0"):format(rec.row) or ""
    src[#src + 1] = ("    if c0 <= %d%s then %sst.c = %d; RUN(O, %d); C[%d].calls = C[%d].calls + 1; " ..
                     "v = H[%d](K[%d], p); if v ~= nil then emit(C[%d], 'packet', v) end end")
                    :format(c, wanted, make, c, rec.id, c, c, c, c, c)
  end
  src[#src + 1] = "    if p ~= nil then p[SLOT] = nil end"
  src[#src + 1] = "    c0 = 1"
  src[#src + 1] = "  end"
  src[#src + 1] = "end"
  local H, K = {}, {}
  for c, rec in ipairs(packet_chefs) do H[c], K[c] = rec.on_packet, rec.chef end
  local chunk = assert(load(concat(src, "\n"), "=runner"))
  return chunk(progress, SLOT, setmetatable, Packet, emit, H, K, packet_chefs,
               require("table.new"), api.chef_running, api.owner)
end

-- Every chef over packets i .. last - 1 of the n at pkts (m: the filters'
-- matches, n bytes a filter); true when the kitchen is stopping.
local function run_packets(pkts, i, last, m, n)
  local c = 1
  if #packet_chefs == 0 then return end
  while i < last do
    if run_range == nil then run_range = build_runner() end
    local ok, err = xpcall(run_range, on_error, pkts, last, i, c, m, n)
    if ok then break end
    local rec = packet_chefs[progress.c]
    i, c = progress.i, progress.c + 1
    if err == STOP then
      if progress.p then progress.p[SLOT] = nil end
      return true
    end
    if err == TIMEOUT then c = c - 1 end   -- the next chef moves into its place
    handler_failed(rec, "packet_handler", err)
    if c > #packet_chefs then
      if progress.p then progress.p[SLOT] = nil end
      i, c = i + 1, 1
    end
  end
end

-- The calling chef's state for a flow: in a packet handler the chef at
-- hand, in flow_end the chef whose flow_end runs.
chef_state = function(id)
  local rec, at = flow_owner, owner_flow
  if rec == nil and batch ~= nil then
    rec, at = packet_chefs[progress.c], batch[progress.i].flow.id
  end
  if rec == nil or id == nil then
    error("flow.state is there only in packet_handler, stream and flow_end", 3)
  end
  -- only the flow at hand's: one kept from an earlier packet may have
  -- ended, and a state made for it would never be dropped
  if id ~= at then
    error("flow.state read from another flow than the one at hand (read it in the handler)", 3)
  end
  local states = flow_states[id]
  if states == nil then
    states = {}
    flow_states[id] = states
  end
  local name = rec.name
  local s = states[name]
  if s == nil then
    s = {}
    states[name] = s
  end
  return s
end

-- One chef's handler (what, for errors) for the flow id, its value a
-- dumpling of driver; true when the kitchen is stopping.
local function flow_call(rec, id, handler, what, driver, ...)
  flow_owner, owner_flow = rec, id
  running(rec)
  rec.calls = rec.calls + 1
  local ok, v = xpcall(handler, on_error, rec.chef, ...)
  flow_owner, owner_flow = nil, nil
  if not ok then
    if v == STOP then return true end
    handler_failed(rec, what, v)
  elseif v ~= nil then
    emit(rec, driver, v)
  end
end

-- A flow ended: each chef's flow_end, in order, then every chef's state
-- for it is dropped. True when the kitchen is stopping.
local function end_flow(ev)
  local f = ev.flow
  local id = f.id
  local chefs = flow_end_chefs
  if #chefs > 0 then
    local t = setmetatable(flow_fields({ id = id }, f), FLOW_MT)
    local why = END_REASONS[ev.why]
    for k = 1, #chefs do
      local rec = chefs[k]
      if flow_call(rec, id, rec.on_flow_end, "flow_end", "flow", t, why) then return true end
    end
  end
  flow_states[id] = nil
end

-- Stream data or a hole (src/decode/flow.c): each stream chef, in
-- order, gets the flow, the direction, and the bytes (a string) or nil
-- and the hole's length. True when the kitchen is stopping.
local DIRS = { [0] = "orig", "resp" }

local function stream_event(ev, bytes)
  local chefs = stream_chefs
  if #chefs == 0 then return end
  local t = setmetatable({ [FLOW_EV] = ev, [FLOW_GEN] = generation, id = ev.flow.id },
                         STREAM_FLOW_MT)
  local dir, data, gap = DIRS[ev.dir], nil, nil
  if ev.kind == 1 then data = ffi.string(bytes + ev.off, ev.len) else gap = ev.len end
  for k = 1, #chefs do
    local rec = chefs[k]
    if flow_call(rec, t.id, rec.on_stream, "stream", "stream", t, dir, data, gap) then
      return true
    end
  end
end

-- Run every chef over n packets at ptr, and flow_end and stream over the
-- nev flow events among them (at, less base, is the packet each comes
-- before; stream data lies in the bytes at sptr); returns the number of
-- output slots, and true when the kitchen is stopping (what was made
-- before the interrupt is still returned).
function R.run_batch(ptr, n, match, evptr, nev, base, sptr)
  local pkts = ffi.cast(PKTS, ptr)
  local m = ffi.cast(MATCH, match)
  batch, readable = pkts, pkts
  generation = generation + 1
  nout = 0
  local i, stop = 0, false
  if nev > 0 then
    local evs = ffi.cast(EVENTS, evptr)
    for e = 0, nev - 1 do
      local at = evs[e].at - base
      if at > i then
        stop = run_packets(pkts, i, at, m, n)
        i = at
      end
      local ev = evs[e]
      if ev.kind == 0 then
        stop = stop or end_flow(ev)
      else
        stop = stop or stream_event(ev, ffi.cast(MATCH, sptr))
      end
      if stop then break end
    end
  end
  if not stop then stop = run_packets(pkts, i, n, m, n) end
  batch = nil
  return nout, stop or nil
end

-- Every interval chef, in order; returns as run_batch does.
function R.poke()
  generation = generation + 1
  nout = 0
  local chefs = interval_chefs
  for k = 1, #chefs do
    if poke_chef(chefs[k]) then return nout, true end
  end
  return nout
end

-- Roughly how many bytes a value keeps alive, not counting what `seen`
-- already holds: enough to tell which chef is hoarding memory.
local function retained(v, seen)
  local t = type(v)
  if t == "string" then
    if seen[v] then return 0 end
    seen[v] = true
    return 24 + #v
  elseif t ~= "table" or seen[v] then
    return 0
  end
  seen[v] = true
  local size = 64
  for k, x in pairs(v) do size = size + 32 + retained(k, seen) + retained(x, seen) end
  return size
end

-- Over the memory limit even after a full collection: disable the chef
-- holding the most. Returns its name, about how many bytes it held, and
-- the output slots of the error it leaves.
function R.disable_heaviest()
  local worst, most, seen = nil, -1, {}
  for _, path in ipairs(file_order) do
    for _, rec in ipairs(files[path].recs) do
      if not rec.disabled then
        local size = retained(rec.chef, seen)
        if size > most then worst, most = rec, size end
      end
    end
  end
  nout = 0
  if worst then
    emit(worst, "error", disable(worst, ("it held about %.0f MiB, past the memory limit"):format(most / 1048576)))
    return worst.name, most, nout
  end
  return nil, 0, nout
end

----------------------------------------------------------------------------
-- Reloading

-- A chef that leaves makes its last interval dumpling on the way out.
local function retire(rec)
  if rec.on_interval and not rec.disabled and poke_chef(rec) then error(STOP, 0) end
end

-- A copy of a chef's state, tables copied all the way down (metatables
-- kept, functions and userdata shared), so that reload(old) can take what
-- it likes from it and a reload that fails half-way leaves the running
-- chef exactly as it was.
local function deep_copy(v, seen)
  if type(v) ~= "table" then return v end
  local c = seen[v]
  if c then return c end
  c = {}
  seen[v] = c
  for k, x in next, v do c[deep_copy(k, seen)] = deep_copy(x, seen) end
  local mt = getmetatable_raw(v)
  if mt then setmetatable_raw(c, mt) end
  return c
end

local function call_reload(rec, old)
  running(rec)
  local ok, err = xpcall(rec.chef.reload, on_error, rec.chef, deep_copy(old.chef, {}))
  running(nil)
  if not ok then
    if err == STOP then error(STOP, 0) end
    error(("%s: reload(old) failed: %s"):format(rec.name, tostring(interrupt_text(err))), 0)
  end
end

-- Replace the chefs of a file with those of its new source. Everything that
-- can fail (compiling, running, checking the file, each new chef's
-- reload(old)) happens before the swap; on failure the old chefs keep
-- running, untouched, and the error goes to the caller. Returns, for the
-- log, an array of {name, old_rev} for the new chefs (old_rev nil when the
-- chef is new), and the number of output slots (from retired chefs).
function R.reload(path, source, rev)
  local entry = files[path]
  local old_by_name = {}
  for _, rec in ipairs(entry and entry.recs or {}) do old_by_name[rec.name] = rec end
  local recs, report = {}, {}
  local list = read_chef_source(path, source)
  apply_args(list, parse_args(file_args[path], path), path)
  for _, t in ipairs(list) do
    if t.assignable ~= false then recs[#recs + 1] = new_record(t, path, rev) end
  end
  for _, rec in ipairs(recs) do
    local old = old_by_name[rec.name]
    if old and type(rec.chef.reload) == "function" then call_reload(rec, old) end
    if old then rec.calls = old.calls end   -- the counts go on under the name
    report[#report + 1] = { name = rec.name, old_rev = old and old.rev }
    old_by_name[rec.name] = nil
  end
  if not entry then file_order[#file_order + 1] = path end
  files[path] = { rev = rev, recs = recs }
  rebuild()
  generation = generation + 1
  nout = 0
  for _, old in pairs(old_by_name) do retire(old) end
  return report, nout
end

-- A file that went away retires its chefs; returns the output slots.
function R.remove(path)
  local entry = files[path]
  generation = generation + 1
  nout = 0
  if not entry then return nout end
  files[path] = nil
  for i, p in ipairs(file_order) do
    if p == path then remove(file_order, i) break end
  end
  rebuild()
  for _, rec in ipairs(entry.recs) do retire(rec) end
  return nout
end

return R
