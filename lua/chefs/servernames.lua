-- ServerNameChef: the servers clients ask for by name: the server name
-- (SNI) in TLS ClientHellos and the Host header of HTTP requests. A
-- dumpling per sighting, and on every interval the names seen so far.
--
-- The names kept are bounded: past args.top (-c servernames:top=N) the
-- least asked for (and of those, the longest unseen) are forgotten, and
-- counted in "evicted".

local chef = { name = "ServerNameChef", names_seen = {}, nnames = 0, evicted = 0,
               args = { top = 1000 } }

local function forget(self, keep)
  local dropped = dumplings.keep_top(self.names_seen, keep, "count", "latest")
  self.nnames, self.evicted = self.nnames - dropped, self.evicted + dropped
end

-- The name a packet asks for: the server name of a TLS ClientHello, or
-- the Host field of an HTTP request, with its method.
local function asked(pkt)
  local hello = pkt.TLSClientHello
  if hello then return hello.sni, "tls" end
  local req = pkt.HTTPRequest
  if req then return req.headers.host, "http", req.method end
end

function chef:packet_handler(pkt)
  local name, kind, method = asked(pkt)
  if not name or name == "" then return nil end
  local tcp = pkt.TCP
  local ip = pkt.IP or pkt.IPv6
  local seen = self.names_seen[name]
  if seen then
    seen.count, seen.latest = seen.count + 1, pkt.time
  else
    self.names_seen[name] = { count = 1, latest = pkt.time, kind = kind }
    self.nnames = self.nnames + 1
    if self.nnames > 2 * self.args.top then forget(self, self.args.top) end
  end
  return { server = { name = name, kind = kind, method = method,
                      client = ip and ip.src, address = ip and ip.dst,
                      port = tcp.dport, when = pkt.time } }
end

function chef:interval_handler()
  if self.nnames > self.args.top then forget(self, self.args.top) end
  return { names_seen = self.names_seen, evicted = self.evicted }
end

function chef:reload(old)
  self.names_seen = old.names_seen
  self.nnames, self.evicted = old.nnames or 0, old.evicted or 0
end

return chef
