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
  if not tcp then return nil end
  local hello, name, kind, method = pkt.TLSClientHello, nil, nil, nil
  if hello then
    name, kind = hello.sni, "tls"
  elseif raw then
    name, method = http_host(raw.load)
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
