-- DNSLookupChef: a dumpling for every DNS packet that asks about a name,
-- and on every interval the names seen so far with how often and when.
-- Payloads read like the original netdumplings chef's (times in seconds).
-- A DNS message quoted inside an ICMP error is not a lookup.
--
-- The names kept are bounded: past args.top (-c dns:top=N) the least
-- asked for (and of those, the longest unseen) are forgotten, and counted
-- in "evicted".

local chef = { name = "DNSLookupChef", lookups_seen = {}, nnames = 0, evicted = 0,
               args = { top = 1000 } }

local function forget(self, keep)
  local dropped = dumplings.keep_top(self.lookups_seen, keep, "count", "latest")
  self.nnames, self.evicted = self.nnames - dropped, self.evicted + dropped
end

function chef:packet_handler(pkt)
  local dns = pkt.DNS
  local q = dns and dns.qd[1]
  if not q or pkt:haslayer("IPerror") or pkt:haslayer("IPerror6") then return nil end
  local hostname, when = q.qname, pkt.time
  local seen = self.lookups_seen[hostname]
  if seen then
    seen.count, seen.latest = seen.count + 1, when
  else
    self.lookups_seen[hostname] = { count = 1, latest = when }
    self.nnames = self.nnames + 1
    -- Forgetting in bulk keeps the cost per new name small.
    if self.nnames > 2 * self.args.top then forget(self, self.args.top) end
  end
  return { lookup = { hostname = hostname, when = when } }
end

function chef:interval_handler()
  if self.nnames > self.args.top then forget(self, self.args.top) end
  return { lookups_seen = self.lookups_seen, evicted = self.evicted }
end

function chef:reload(old)
  self.lookups_seen = old.lookups_seen
  self.nnames, self.evicted = old.nnames or 0, old.evicted or 0
end

return chef
