-- A port-scan detector: a source that sends SYNs to `ports` different
-- ports within `window` seconds is reported once, with a capture of its
-- packets from `before` seconds ahead of the detection on (run the
-- kitchen with --capture-dir DIR and --lookback SECONDS).
local chef = {
  name = "PortScanChef",
  args = { ports = 20, window = 60, before = 60, after = 30, sources = 10000 },
}

function chef:packet_handler(pkt)
  local tcp, ip = pkt.TCP, pkt.IP or pkt.IPv6
  if not tcp or not ip or tcp.flags ~= "S" then return end
  self.seen = self.seen or {}
  local a, now = self.args, pkt.time
  local s = self.seen[ip.src]
  if not s or now - s.since > a.window then
    s = { since = now, ports = {}, count = 0 }
    self.seen[ip.src] = s
    -- a scan with forged sources must not take all memory
    dumplings.keep_top(self.seen, a.sources, "since")
  end
  if s.reported or s.ports[tcp.dport] then return end
  s.ports[tcp.dport] = true
  s.count = s.count + 1
  if s.count < a.ports then return end
  s.reported = true
  return {
    scanner = ip.src,
    ports = s.count,
    seconds = now - s.since,
    pcap = dumplings.capture(ip.src, { before = a.before, after = a.after, name = "portscan" }),
  }
end

return chef
