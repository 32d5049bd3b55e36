-- DNSLookupChef: a dumpling for every DNS packet that asks about a name,
-- and on every interval the names seen so far with how often and when.
-- Payloads read like the original netdumplings chef's (times in seconds).

local chef = { name = "DNSLookupChef", lookups_seen = {} }

function chef:packet_handler(pkt)
  local dns = pkt.DNS
  local q = dns and dns.qd[1]
  if not q then return nil end
  local hostname, when = q.qname, pkt.time
  local seen = self.lookups_seen[hostname]
  if seen then
    seen.count, seen.latest = seen.count + 1, when
  else
    self.lookups_seen[hostname] = { count = 1, latest = when }
  end
  return { lookup = { hostname = hostname, when = when } }
end

function chef:interval_handler()
  return { lookups_seen = self.lookups_seen }
end

function chef:reload(old)
  self.lookups_seen = old.lookups_seen
end

return chef
