-- The TLS ClientHello and HTTP request fields of each packet that carries
-- them, by packet number (from 1), for t/41-streams.t.
local chef = { name = "AppHead", n = 0 }

function chef:packet_handler(pkt)
  self.n = self.n + 1
  local hello, req = pkt.TLSClientHello, pkt.HTTPRequest
  if hello then return { frame = self.n, sni = hello.sni, ja3 = hello.ja3 } end
  if req then return { frame = self.n, host = req.headers.host, uri = req.uri } end
end

return chef
