-- TLSChef: the TLS clients on the network, by fingerprint. A dumpling for
-- every ClientHello whole enough to be fingerprinted (the client, the
-- server it asks for, its JA3 and JA4), and on every interval the JA4 and
-- JA3 fingerprints each client host has shown, with counts. JA4 sorts
-- what it hashes, so it stays the same when a client shuffles its
-- extensions from one connection to the next, as browsers do; JA3 does
-- not, and is kept for the lists that still name clients by it.
--
-- The state is bounded: past args.top (-c tls:top=N) hosts the least
-- active (and of those, the longest unseen) are forgotten and counted in
-- "evicted"; past MAX_PRINTS fingerprints of one kind, a host forgets its
-- least seen, counted in its own "evicted".

local MAX_PRINTS = 16

local chef = { name = "TLSChef", clients = {}, nclients = 0, evicted = 0,
               args = { top = 1000 } }

local keep_top = dumplings.keep_top

local function forget_clients(self, keep)
  local dropped = keep_top(self.clients, keep, "count", "latest")
  self.nclients, self.evicted = self.nclients - dropped, self.evicted + dropped
end

-- Count a fingerprint in one of a client's tables (ja4 or ja3).
local function seen(client, kind, print, when)
  local prints = client[kind]
  local p = prints[print]
  if p then
    p.count, p.latest = p.count + 1, when
    return
  end
  prints[print] = { count = 1, latest = when }
  local n = client.nprints[kind] + 1
  if n > 2 * MAX_PRINTS then
    local dropped = keep_top(prints, MAX_PRINTS, "count", "latest")
    n, client.evicted = n - dropped, client.evicted + dropped
  end
  client.nprints[kind] = n
end

local function client_of(self, host)
  local c = self.clients[host]
  if c then return c end
  c = { count = 0, ja4 = {}, ja3 = {}, evicted = 0, nprints = { ja4 = 0, ja3 = 0 } }
  self.clients[host] = c
  self.nclients = self.nclients + 1
  if self.nclients > 2 * self.args.top then forget_clients(self, self.args.top) end
  return c
end

function chef:packet_handler(pkt)
  local hello = pkt.TLSClientHello
  if not hello or not hello.ja4 then return nil end
  local ip, when = pkt.IP or pkt.IPv6, pkt.time
  if not ip then return nil end
  local c = client_of(self, ip.src)
  c.count, c.latest = c.count + 1, when
  seen(c, "ja4", hello.ja4, when)
  seen(c, "ja3", hello.ja3, when)
  return { hello = { client = ip.src, server = ip.dst, port = pkt.TCP.dport, sni = hello.sni,
                     ja4 = hello.ja4, ja3 = hello.ja3, when = when } }
end

-- The clients for the dumpling: each table of fingerprints trimmed to
-- MAX_PRINTS, without the bookkeeping.
function chef:interval_handler()
  if self.nclients > self.args.top then forget_clients(self, self.args.top) end
  local out = {}
  for host, c in pairs(self.clients) do
    for _, kind in ipairs({ "ja4", "ja3" }) do
      if c.nprints[kind] > MAX_PRINTS then
        local dropped = keep_top(c[kind], MAX_PRINTS, "count", "latest")
        c.nprints[kind], c.evicted = c.nprints[kind] - dropped, c.evicted + dropped
      end
    end
    out[host] = { count = c.count, latest = c.latest, ja4 = c.ja4, ja3 = c.ja3, evicted = c.evicted }
  end
  return { clients = out, evicted = self.evicted }
end

function chef:reload(old)
  self.clients = old.clients or {}
  self.nclients, self.evicted = old.nclients or 0, old.evicted or 0
end

return chef
