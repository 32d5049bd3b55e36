-- ServerNameChef: the servers clients ask for by name: the server name
-- (SNI) in TLS ClientHellos and the Host header of HTTP requests. A
-- dumpling per sighting, and on every interval the names seen so far.
--
-- The names kept are bounded: past MAX_NAMES the least asked for (and of
-- those, the longest unseen) are forgotten, and counted in "evicted".

local MAX_NAMES = 1000

local chef = { name = "ServerNameChef", names_seen = {}, nnames = 0, evicted = 0 }

local function forget(self, keep)
  local dropped = dumplings.keep_top(self.names_seen, keep, "count", "latest")
  self.nnames, self.evicted = self.nnames - dropped, self.evicted + dropped
end

local byte, sub = string.byte, string.sub

local function u16(s, i)
  local a, b = byte(s, i, i + 1)
  return a * 256 + b
end

-- The SNI host name of a TLS record holding a ClientHello, or nil. Every
-- length is checked against the data, which may be cut short.
local function tls_sni(s)
  local n = #s
  if n < 43 or byte(s, 1) ~= 22 or byte(s, 6) ~= 1 then return nil end
  local i = 44                                   -- after random: session id
  if i > n then return nil end
  i = i + 1 + byte(s, i)                         -- session id
  if i + 1 > n then return nil end
  i = i + 2 + u16(s, i)                          -- cipher suites
  if i > n then return nil end
  i = i + 1 + byte(s, i)                         -- compression methods
  if i + 1 > n then return nil end
  local ext_end = math.min(n, i + 1 + u16(s, i))
  i = i + 2
  while i + 3 <= ext_end do
    local etype, elen = u16(s, i), u16(s, i + 2)
    if etype == 0 and i + 8 <= ext_end then      -- server_name
      local name_type, len = byte(s, i + 6), u16(s, i + 7)
      if name_type == 0 and i + 8 + len <= ext_end then
        return sub(s, i + 9, i + 8 + len)
      end
      return nil
    end
    i = i + 4 + elen
  end
  return nil
end

local METHODS = { GET = true, POST = true, PUT = true, HEAD = true, DELETE = true,
                  OPTIONS = true, PATCH = true, CONNECT = true, TRACE = true }

-- The method and Host header of an HTTP request, or nil.
local function http_host(s)
  local method = s:match("^(%u+) [^ ]+ HTTP/1%.[01]\r\n")
  if not method or not METHODS[method] then return nil end
  local host = s:match("\r\n[Hh][Oo][Ss][Tt]:[ \t]*([^\r\n]*)")
  if host then host = host:gsub("[ \t]+$", "") end
  return host, method
end

function chef:packet_handler(pkt)
  local tcp, raw = pkt.TCP, pkt.Raw
  if not tcp or not raw then return nil end
  local load, name, kind, method = raw.load, nil, nil, nil
  name = tls_sni(load)
  if name then
    kind = "tls"
  else
    name, method = http_host(load)
    kind = "http"
  end
  if not name or name == "" then return nil end
  local ip = pkt.IP or pkt.IPv6
  local seen = self.names_seen[name]
  if seen then
    seen.count, seen.latest = seen.count + 1, pkt.time
  else
    self.names_seen[name] = { count = 1, latest = pkt.time, kind = kind }
    self.nnames = self.nnames + 1
    if self.nnames > 2 * MAX_NAMES then forget(self, MAX_NAMES) end
  end
  return { server = { name = name, kind = kind, method = method,
                      client = ip and ip.src, address = ip and ip.dst,
                      port = tcp.dport, when = pkt.time } }
end

function chef:interval_handler()
  if self.nnames > MAX_NAMES then forget(self, MAX_NAMES) end
  return { names_seen = self.names_seen, evicted = self.evicted }
end

function chef:reload(old)
  self.names_seen = old.names_seen
  self.nnames, self.evicted = old.nnames or 0, old.evicted or 0
end

return chef
