-- Test chef for t/12-decode-apps.t: for every packet, the TLS, HTTP and
-- BOOTP/DHCP fields, each spelled as tshark prints the field named by its
-- key (hex where tshark writes hex, lists joined with ","). A key is left
-- out when the packet has no such field. JA4, which tshark 4.0 does not
-- make, goes under ja4 and ja4_r, with the lists the test makes it from.

local chef = { name = "AppsChef" }

local concat, format = table.concat, string.format

local function list(t, fmt)
  local out = {}
  for i, v in ipairs(t) do out[i] = fmt and format(fmt, v) or tostring(v) end
  return concat(out, ",")
end

local function put(out, key, v)
  if v ~= nil and v ~= "" then out[key] = tostring(v) end
end

local function tls(out, pkt)
  local rec, ch, sh = pkt.TLS, pkt.TLSClientHello, pkt.TLSServerHello
  if not rec then return end
  put(out, "tls.record.content_type", rec.type)
  put(out, "tls.record.version", format("0x%04x", rec.version))
  local h = ch or sh
  if not h then return end
  put(out, "tls.handshake.type", ch and 1 or 2)
  put(out, "tls.handshake.version", format("0x%04x", h.version))
  put(out, "tls.handshake.extension.type", list(h.ext))
  put(out, "tls.handshake.extensions_alpn_str", list(h.alpn))
  put(out, "tls.handshake.extensions.supported_version", list(h.supported_versions, "0x%04x"))
  if ch then
    put(out, "tls.handshake.ciphersuite", list(ch.ciphers, "0x%04x"))
    put(out, "tls.handshake.extensions_server_name", ch.sni)
    put(out, "tls.handshake.extensions_supported_group", list(ch.groups, "0x%04x"))
    put(out, "tls.handshake.extensions_ec_point_format", list(ch.ec_point_formats))
    put(out, "tls.handshake.sig_hash_alg", list(ch.sig_algs, "0x%04x"))
    put(out, "tls.handshake.ja3", ch.ja3)
    put(out, "tls.handshake.ja3_full", ch.ja3_full)
    put(out, "ja4", ch.ja4)
    put(out, "ja4_r", ch.ja4_r)
  else
    put(out, "tls.handshake.ciphersuite", sh.cipher and format("0x%04x", sh.cipher))
    put(out, "tls.handshake.ja3s", sh.ja3s)
    put(out, "tls.handshake.ja3s_full", sh.ja3s_full)
  end
end

-- The fields as "name: value" lines, sorted.
local function headers(h)
  local lines = {}
  for name, value in pairs(h) do lines[#lines + 1] = name .. ": " .. value end
  table.sort(lines)
  return concat(lines, "\n")
end

local function http(out, pkt)
  local req, resp = pkt.HTTPRequest, pkt.HTTPResponse
  if req then
    put(out, "http.request.method", req.method)
    put(out, "http.request.uri", req.uri)
    put(out, "http.request.version", req.version)
    put(out, "http.host", req.headers.host)
    put(out, "http.user_agent", req.headers["user-agent"])
    put(out, "headers", headers(req.headers))
  elseif resp then
    put(out, "http.response.version", resp.version)
    put(out, "http.response.code", resp.status_code)
    put(out, "http.response.phrase", resp.reason)
    put(out, "headers", headers(resp.headers))
  end
end

local function dhcp(out, pkt)
  local b, d = pkt.BOOTP, pkt.DHCP
  if not b then return end
  put(out, "dhcp.type", b.op)
  put(out, "dhcp.hw.type", format("0x%02x", b.htype))
  put(out, "dhcp.hw.len", b.hlen)
  put(out, "dhcp.hops", b.hops)
  put(out, "dhcp.id", format("0x%08x", b.xid))
  put(out, "dhcp.secs", b.secs)
  put(out, "dhcp.flags", format("0x%04x", b.flags))
  put(out, "dhcp.ip.client", b.ciaddr)
  put(out, "dhcp.ip.your", b.yiaddr)
  put(out, "dhcp.ip.server", b.siaddr)
  put(out, "dhcp.ip.relay", b.giaddr)
  if b.htype == 1 and b.hlen == 6 then put(out, "dhcp.hw.mac_addr", b.chaddr) end
  put(out, "dhcp.server", b.sname)
  put(out, "dhcp.file", b.file)
  if not d then return end
  local codes = {}
  for i, o in ipairs(d.options) do codes[i] = o.code end
  put(out, "dhcp.option.type", list(codes))
  put(out, "dhcp.option.dhcp", d.message_type)
  put(out, "dhcp.option.requested_ip_address", d.requested_addr)
  put(out, "dhcp.option.dhcp_server_id", d.server_id)
  put(out, "dhcp.option.ip_address_lease_time", d.lease_time)
  put(out, "dhcp.option.hostname", d.hostname)
  put(out, "dhcp.option.vendor_class_id", d.vendor_class_id)
  put(out, "dhcp.option.request_list_item", d.param_req_list and list(d.param_req_list))
end

function chef:packet_handler(pkt)
  local out = {}
  tls(out, pkt)
  http(out, pkt)
  dhcp(out, pkt)
  out.layers, out.source = concat(pkt.layers, ","), pkt.source
  return out
end

return chef
