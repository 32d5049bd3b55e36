-- One dumpling per packet: its flow's id, Community ID, direction and
-- counters as of the packet (id 0 when it has none), for t/14-flows.t.
local chef = { name = "FlowTruthChef" }

function chef:packet_handler(pkt)
  local f = pkt.flow
  if not f then return { 0, "", "", 0, 0 } end
  return { f.id, f.community_id, f.dir, f.orig_pkts, f.resp_pkts, f.orig_bytes, f.resp_bytes,
           f.conn_state, f.history }
end

return chef
