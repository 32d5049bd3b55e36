-- FlowChef: one dumpling per flow when it ends, with the fields of Zeek's
-- conn.log that apply, under Zeek's names (its JSON logs flatten the
-- connection's endpoints as "id.orig_h" and so on, and so does this).
--
-- ts is when the flow began; duration, bytes (the transport's payload,
-- counted over every packet, retransmissions too), packets and IP bytes
-- are each way; conn_state and history are Zeek's words for how a TCP
-- connection went (a UDP or ICMP flow is S0 when only its originator
-- spoke, else SF). Beside them: the flow's Community ID, its id in this
-- kitchen run, and why it ended (fin, rst, idle, evicted, end_of_input).

local chef = { name = "FlowChef" }

function chef:flow_end(flow, why)
  return {
    ts = flow.first,
    flow_id = flow.id,
    community_id = flow.community_id,
    ["id.orig_h"] = flow.orig_h,
    ["id.orig_p"] = flow.orig_p,
    ["id.resp_h"] = flow.resp_h,
    ["id.resp_p"] = flow.resp_p,
    proto = flow.proto,
    duration = flow.duration,
    orig_bytes = flow.orig_bytes,
    resp_bytes = flow.resp_bytes,
    conn_state = flow.conn_state,
    history = flow.history,
    orig_pkts = flow.orig_pkts,
    orig_ip_bytes = flow.orig_ip_bytes,
    resp_pkts = flow.resp_pkts,
    resp_ip_bytes = flow.resp_ip_bytes,
    ended = why,
  }
end

return chef
