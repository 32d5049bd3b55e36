-- Test chef for t/11-decode-malformed.t: reads every layer and every field
-- the runtime offers, through every way in (fields, layer tables, DNS
-- sections, haslayer, getlayer), checks what the application layers
-- promise, and returns all of it, so that a decoder or runtime bug on
-- hostile input shows as a crash, a sanitizer report, a failed assertion
-- or invalid JSON.

local chef = { name = "TouchChef" }

local NAMES = dumplings.layers()
NAMES[#NAMES + 1] = "NoSuchLayer"

-- Read every value of a layer table, DNS sections included; returns how
-- many there were. Keys that are not strings belong to the runtime.
local function touch(v)
  if type(v) ~= "table" then return 1 end
  local n = 0
  for k, x in pairs(v) do
    if type(k) == "string" or type(k) == "number" then n = n + touch(x) end
  end
  return n
end

local function touch_dns(dns)
  local n = 0
  for _, section in ipairs({ "qd", "an", "ns", "ar" }) do
    for _, rr in ipairs(dns[section]) do n = n + touch(rr) end
  end
  return n
end

-- What the application layers promise whatever the bytes: a hello sits
-- in a TLS record and DHCP behind BOOTP, fingerprints have their form,
-- HTTP field names are lower-case.
local HASH12 = ("%x"):rep(12)
local JA4 = "^t%w%w[di]%d%d%d%d%w%w_" .. HASH12 .. "_" .. HASH12 .. "$"

local function check_fields(headers)
  for name in pairs(headers) do assert(name == name:lower(), "HTTP field names are lower-case") end
end

local function check_apps(pkt)
  local ch, sh = pkt.TLSClientHello, pkt.TLSServerHello
  assert(not (ch or sh) or pkt.TLS, "a hello is inside a TLS record")
  assert(not pkt.DHCP or pkt.BOOTP, "DHCP options follow BOOTP")
  if ch and ch.ja3 then
    assert(ch.ja3:match("^" .. ("%x"):rep(32) .. "$"), "ja3 is an MD5 in hex")
    assert(ch.ja4:match(JA4), "ja4 has JA4's form")
  end
  if sh and sh.ja3s then assert(#sh.ja3s == 32, "ja3s is an MD5 in hex") end
  if pkt.HTTPRequest then check_fields(pkt.HTTPRequest.headers) end
  if pkt.HTTPResponse then check_fields(pkt.HTTPResponse.headers) end
end

-- The packet's flow, every field of it, and the chef's own state for it.
local function check_flow(pkt)
  local f = pkt.flow
  if not f then return end
  assert(f.id >= 1 and (f.dir == "orig" or f.dir == "resp"), "a flow has an id and a direction")
  assert(#f.community_id == 30, "a Community ID is 1: and 28 characters of base64")
  assert(f.orig_pkts + f.resp_pkts >= 1, "the packet is counted in its flow")
  assert(type(f.orig_h) == "string" and type(f.resp_h) == "string", "a flow has endpoints")
  assert(f.conn_state ~= nil and type(f.history) == "string", "a flow has a state")
  assert(f.duration >= 0 or f.first > f.last, "a flow's duration is last - first")
  f.state.seen = (f.state.seen or 0) + 1
end

function chef:flow_end(flow, why)
  assert(flow.id >= 1 and #flow.community_id == 30, "an ended flow has its fields")
  assert(why == "fin" or why == "rst" or why == "idle" or why == "evicted" or
         why == "end_of_input", "a flow ends for a known reason")
  assert(flow.state ~= nil, "and this chef's state")
end

-- Every stream event: data or a hole, never both, each in its direction.
function chef:stream(flow, dir, data, gap)
  assert(flow.id >= 1 and #flow.community_id == 30, "a stream's flow has its fields")
  assert(dir == "orig" or dir == "resp", "a stream event has a direction")
  assert((type(data) == "string" and #data > 0 and gap == nil) or
         (data == nil and type(gap) == "number" and gap > 0), "data, or a hole's length")
  flow.state.streamed = (flow.state.streamed or 0) + (data and #data or gap)
end

-- The payload: the layer names, the layer tables (all fields), the names
-- haslayer finds, and how many layers getlayer finds past the first.
function chef:packet_handler(pkt)
  local out = {
    time = pkt.time, wirelen = pkt.wirelen, caplen = pkt.caplen,
    source = pkt.source, layers = pkt.layers, fields = {},
    has = dumplings.array(), more = 0,
  }
  assert(#pkt.raw == pkt.caplen, "pkt.raw is the captured bytes")
  local values = 0
  for _, name in ipairs(pkt.layers) do
    local layer = pkt[name]
    -- TCP options are decoded on first read, which pairs() is not
    if name == "TCP" or name == "TCPerror" then values = values + touch(layer.options) end
    values = values + touch(layer) + (name == "DNS" and touch_dns(layer) or 0)
    out.fields[name] = layer
  end
  out.values = values
  check_apps(pkt)
  check_flow(pkt)
  for _, name in ipairs(NAMES) do
    local has = pkt:haslayer(name)
    assert(has == (pkt[name] ~= nil), "haslayer agrees with the field")
    assert(has == (pkt:getlayer(name) ~= nil), "getlayer agrees with haslayer")
    if has then out.has[#out.has + 1] = name end
    for nth = 2, 3 do
      if pkt:getlayer(name, nth) ~= nil then out.more = out.more + 1 end
    end
  end
  return out
end

return chef
