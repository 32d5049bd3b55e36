-- A dumpling for every packet, about a kilobyte each: enough to fill
-- socket buffers quickly, for the tests of slow and lossless eaters.
local pad = string.rep("x", 1000)

return {
  name = "EveryChef",
  packet_handler = function(self, pkt)
    return { pad = pad }
  end,
}
