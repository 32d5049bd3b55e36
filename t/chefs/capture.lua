-- Calls dumplings.capture at each packet whose TCP payload starts with
-- "GO", on that packet's flow, its source host or the packet itself
-- (mode), and says what it got back. A negative before or after is left
-- out, for the defaults.
return {
  name = "CaptureChef",
  args = { mode = "flow", before = 22, after = 18, name = "why" },
  packet_handler = function(self, pkt)
    local raw = pkt.Raw
    if not raw or raw.load:sub(1, 2) ~= "GO" then return end
    local a = self.args
    local target = pkt.flow
    if a.mode == "host" then target = pkt.IP.src
    elseif a.mode == "packet" then target = pkt end
    local opts = { name = a.name }
    if a.before >= 0 then opts.before = a.before end
    if a.after >= 0 then opts.after = a.after end
    return { at = pkt.time, pcap = dumplings.capture(target, opts) }
  end,
}
