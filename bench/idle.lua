-- The bench's idle chef: no packet handler, so that a kitchen writing -w
-- pays for reading, decoding and writing the packets and for nothing else.
return { name = "IdleChef", interval_handler = function() end }
