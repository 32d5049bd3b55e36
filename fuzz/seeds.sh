#!/bin/sh
# Make the seed corpora under fuzz/corpus/ (run from the top of the tree):
#   decode       every packet of every classic pcap in the shared corpus
#                (DUMPLINGS_PCAPS, default ../shared/pcaps), prefixed with
#                the byte that selects its link type in fuzz/decode.c, and
#                the frames t/lib/NetFrames.pm builds (tunnels, extension
#                headers, neighbour discovery, TCP options)
#   hub_message  hellos plus the dumplings of t/golden/*.ndjson, in the
#                framing fuzz/hub_message.c reads
#   serialize    a few programs for fuzz/serialize.c's stack machine
#   chef_load    every chef file in the tree (lua/chefs, examples, t/chefs)
#                and every chef a test writes (<<'LUA' in t/*.t), then pairs
#                of versions, NUL between them, for the reload
#   ws_message   messages in pieces, fragments and runs of filler, within
#                and over the bounds fuzz/ws_message.c reads first
#   hub_wire     raw streams (requests, then frames, masked or not) and
#                frame descriptions, for fuzz/hub_wire.c
#   tcpreasm     segments in order, out of order, overlapping (with other
#                bytes too), past a wrap, under tight limits, for
#                fuzz/tcpreasm.c
#   ipfrag       the IP packets of the corpus's fragmented captures, in
#                their order and reversed, and a UDP datagram cut in three
#                (IPv4, IPv6), as the records fuzz/ipfrag.c reads
# Seeds are named by their SHA-1, as libFuzzer names its own, so running
# this again adds nothing twice.
set -eu

pcaps=${DUMPLINGS_PCAPS:-../shared/pcaps}
mkdir -p fuzz/corpus/decode fuzz/corpus/hub_message fuzz/corpus/serialize \
	fuzz/corpus/chef_load fuzz/corpus/ws_message fuzz/corpus/hub_wire \
	fuzz/corpus/tcpreasm fuzz/corpus/ipfrag

exec perl -It/lib -MPcap -MNetFrames -MDigest::SHA=sha1_hex -e '
use strict;
use warnings;

my ($pcaps) = @ARGV;

sub seed {
	my ($target, $bytes) = @_;
	my $path = "fuzz/corpus/$target/" . sha1_hex($bytes);
	open my $fh, ">:raw", $path or die "$path: $!";
	print $fh $bytes;
	close $fh or die "$path: $!";
}

# The order of the linktypes[] table in fuzz/decode.c, by LINKTYPE_ value
# as a pcap file spells it.
my %selector = (1 => 0, 113 => 1, 276 => 2, 0 => 3, 108 => 4, 101 => 5,
		228 => 6, 229 => 7);

for my $file (sort glob("$pcaps/*.pcap")) {
	my ($linktype, $pkts) = read_pcap($file);
	next unless defined $linktype && exists $selector{$linktype};
	seed("decode", chr($selector{$linktype}) . $_->[0]) for @$pkts;
}
seed("decode", chr($selector{1}) . (ref $_ ? $_->[0] : $_)) for frames();

# Hub input: two control bytes, then eater A, eater B and the kitchen
# hellos and the kitchen dumplings, one per line.
my @eaters = ("{\"eater_name\":\"a\"}",
	      "{\"eater_name\":\"b\",\"chefs\":[\"DNSLookupChef\",\"PacketCountChef\"],"
	      . "\"kitchens\":[\"default_kitchen\"],\"drivers\":[\"packet\"]}");
my $kitchen = "{\"kitchen_name\":\"default_kitchen\",\"interface\":\"eth0\","
	    . "\"filter\":\"tcp or udp or arp\",\"chefs\":[\"DNSLookupChef\"],"
	    . "\"poke_interval\":5.0}";
my @ctl = ("\x30\x00", "\x03\x00", "\x16\x07", "\x27\x40", "\x08\x00");
my $i = 0;
for my $file (sort glob("t/golden/*.ndjson")) {
	open my $fh, "<:raw", $file or die "$file: $!";
	my @lines = grep { length } map { chomp; $_ } <$fh>;
	splice @lines, 12 if @lines > 12;
	seed("hub_message", $ctl[$i++ % @ctl] . join("\n", @eaters, $kitchen, @lines));
}
seed("hub_message", "\x00\x00" . join("\n", @eaters, $kitchen, "[]", "{}", "null",
     "{\"metadata\":{\"chef\":1}}", "{\"metadata\":{\"chef\":\"x\"}} trailing",
     "\x01{\"metadata\":{\"chef\":\"bin\"}}"));
# Corners of the checker: escaped keys and names, duplicate members, numbers
# cJSON reads and JSON does not, surrogates.
seed("hub_message", "\x00\x00" . join("\n", @eaters, $kitchen,
     "{\"met\\u0061data\":{\"ch\\u0065f\":\"Ch\\u00e9f \\ud83d\\ude00\"}}",
     "{\"metadata\":{\"chef\":\"a\",\"chef\":\"b\"},\"metadata\":1}",
     "{\"metadata\":{\"chef\":\"a\",\"kitchen\":\"k\\n\",\"driver\":\"p\\/\"}}",
     "{\"metadata\":{\"chef\":\"a\"},\"payload\":[0,-0.5,1e+9,2E-3,01,1.,+1]}",
     "{\"metadata\":{\"chef\":\"a\"},\"payload\":\"\\ud800\\udc00 \\ud800\"}",
     "{\"metadata\":{\"chef\":\"a\\u0000b\",\"chef\\u0000\":\"c\"}}"));

# Stack machine programs (opcodes in fuzz/serialize.c): a DNS lookup
# dumpling, an array of mixed values, a cycle, a shared subtable, deep
# nesting, stray bytes in a key, and a lazy table.
my $s = sub { chr(6) . chr(length $_[0]) . $_[0] };
seed("serialize", chr(7) . $s->("lookup") . chr(7) . $s->("hostname")
     . $s->("www.example.com") . chr(18) . $s->("when") . chr(4) . chr(22)
     . chr(18) . chr(18));
seed("serialize", chr(7) . chr(2) . chr(5) . chr(19) . chr(1) . chr(1) . chr(19)
     . $s->("x") . chr(19) . chr(8) . chr(19) . chr(4) . chr(7) . chr(19));
seed("serialize", chr(7) . chr(12) . chr(0) . chr(19));
seed("serialize", chr(7) . chr(7) . chr(12) . chr(1) . chr(19) . chr(12) . chr(1)
     . chr(19) . chr(19));
seed("serialize", chr(7) . chr(16) . chr(70));
seed("serialize", chr(7) . $s->("caf\xe9\x00") . chr(1) . chr(1) . chr(18));
seed("serialize", chr(7) . chr(22) . chr(7) . chr(21) . $s->("e") . chr(12)
     . chr(2) . chr(18));

# Chef files as they are, and as the tests write them.
sub slurp_file {
	my ($file) = @_;
	open my $fh, "<:raw", $file or die "$file: $!";
	local $/;
	return scalar <$fh>;
}
seed("chef_load", slurp_file($_)) for sort glob("lua/chefs/*.lua examples/*.lua t/chefs/*.lua");
for my $file (sort glob("t/*.t")) {
	my $text = slurp_file($file);
	seed("chef_load", $1) while $text =~ /<<\x27LUA\x27[^\n]*\n(.*?)^LUA\n/msg;
}
# Two versions of a file: state carried by reload(old), a chef that
# leaves, one whose reload fails, one that becomes a helper, and values
# that are hard to serialize.
my $counter = sub {
	my ($v) = @_;
	return "local c = { name = \"Counter\", n = 0, v = \"$v\" }\n"
	     . "function c:packet_handler(pkt) self.n = self.n + 1 return { v = self.v, t = pkt.time } end\n"
	     . "function c:interval_handler() return { n = self.n, v = self.v } end\n"
	     . "function c:reload(old) self.n = old.n end\n"
	     . "return c\n";
};
seed("chef_load", $counter->("a") . "\0" . $counter->("b"));
seed("chef_load", "local a = { name = \"A\" }\nfunction a:interval_handler() return 1 end\n"
     . "local b = { name = \"B\" }\nfunction b:packet_handler(p) return p.layers end\n"
     . "return { a, b }\n\0"
     . "local a = { name = \"A\" }\nfunction a:interval_handler() return 2 end\nreturn a\n");
seed("chef_load", $counter->("a") . "\0"
     . "local c = { name = \"Counter\" }\nfunction c:packet_handler() end\n"
     . "function c:reload(old) error(\"no\") end\nreturn c\n");
seed("chef_load", $counter->("a") . "\0" . "return { name = \"Counter\", assignable = false }\n");
# Endless loops everywhere, and errors swallowed in a loop: the budget
# must end every one.
seed("chef_load", "while true do end\n");
seed("chef_load", "local c = { name = \"Spin\" }\n"
     . "function c:packet_handler() while true do end end\n"
     . "function c:interval_handler() while true do pcall(function() while true do end end) end end\n"
     . "return c\n\0"
     . "local c = { name = \"Spin\" }\n"
     . "function c:packet_handler() end\n"
     . "function c:interval_handler() local co repeat co = coroutine.create(function() while true do end end) until not coroutine.resume(co) and false end\n"
     . "function c:reload(old) while true do end end\n"
     . "return c\n");
seed("chef_load", "local c = { name = \"Odd\" }\n"
     . "function c:packet_handler(pkt)\n"
     . "  local t = { pkt.DNS, pkt.ARP, dumplings.null, dumplings.array(), 0/0, 1/0, 2^53 + 1 }\n"
     . "  t.self = t\n"
     . "  return pkt.time % 2 < 1 and t or { s = \"\\xff\\0\", n = -0, deep = {{{{}}}} }\n"
     . "end\n"
     . "function c:interval_handler(i) self.p = self.p or setmetatable({}, { __jsontype = \"array\" }) return self.p end\n"
     . "return c\n");
# Pieces for fuzz/ws_message.c: bounds (two bytes of bytes, one of
# frames), then a flags byte (1 ends the frame, 2 the message, 4 a run of
# 256-byte blocks, 8 a new connection) and a length byte per piece.
my $piece = sub { my ($flags, $bytes) = @_; chr($flags) . chr(length $bytes) . $bytes };
my $run = sub { my ($flags, $kib, $fill) = @_; chr($flags | 4) . chr($kib) . $fill };
seed("ws_message", "\x00\x04\x04" . $piece->(3, "{\"metadata\":{\"chef\":\"a\"}}")
     . $piece->(0, "{\"pad\":") . $piece->(1, "\"x") . $piece->(3, "\"}"));
seed("ws_message", "\x10\x00\x03" . $piece->(1, "a") . $piece->(1, "") . $piece->(1, "")
     . $piece->(3, "b") . $piece->(3, "again"));
seed("ws_message", "\x00\x40\x00" . $run->(0, 160, "x") . $run->(1, 160, "y")
     . $run->(3, 4, "z") . $piece->(3, "small after big"));
seed("ws_message", "\x00\x01\x00" . $run->(0, 2, "q") . $piece->(3, "dropped")
     . $piece->(11, "after a new connection"));

# For fuzz/hub_wire.c: raw streams (mode byte under 0x80: the size of the
# pieces) and described frames (mode byte 0x80 and up: three bytes a frame,
# flags 1-15 opcode, 0x10 FIN, 0x20 masked, 0x40 16-bit length, 0x80
# 64-bit; length; repeats).
my $req = "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
	. "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
my $masked = sub { my ($op, $p) = @_; chr(0x80 | $op) . chr(0x80 | length $p) . "\0\0\0\0" . $p };
seed("hub_wire", "\x03" . $req . $masked->(1, "{\"eater_name\":\"a\"}") . $masked->(9, "")
     . chr(0x81) . chr(5) . "hello");
seed("hub_wire", "\x00" . "GET /index.html HTTP/1.1\r\nHost: h\r\n\r\n" . $req
     . chr(0x01) . chr(0x80 | 126) . "\x01\x00" . "\0\0\0\0" . ("y" x 256)
     . $masked->(0, "") x 3 . $masked->(0x80, "end"));
seed("hub_wire", "\x80" . "\x21\x05\x00" . ("\x20\x00\xff" x 5) . "\x30\x01\x00");
seed("hub_wire", "\x87" . "\x31\x10\x02" . "\x19\x03\x00" . "\xf2\x01\x00" . "\x71\x08\x01");

# For fuzz/tcpreasm.c: three bytes of limits, then operations (an op byte:
# direction in bits 0-1, what in bits 2-3; a segment is an offset, flags
# and length, then its bytes unless flag 8 takes them from a stream
# each direction has of its own).
my $seg = sub {
	my ($op, $off, $flags, $bytes, $len) = @_;
	my $n = defined $len ? $len : length $bytes;
	pack("C v C C", $op, $off & 0xffff, $flags, $n) . ($flags & 8 ? "" : $bytes);
};
my $track = sub { pack("C C", 0x04 | $_[0], $_[1]) };
seed("tcpreasm", "\xff\xff\xff" . $track->(0, 4) . $seg->(0, 0, 2, "")
     . $seg->(0, 1, 0, "hello") . $seg->(0, 6, 0, " world") . $seg->(0, 12, 1, "")
     . "\x08");
seed("tcpreasm", "\xff\xff\xff" . $track->(1, 1) . $seg->(1, 0, 2, "")
     . $seg->(1, 7, 0, "ghi") . $seg->(1, 4, 0, "dXf") . $seg->(1, 5, 0, "efgh")
     . $seg->(1, 1, 0, "abcdefghijk") . $seg->(1, 1, 0, "abc") . $seg->(1, 20, 1, "tu")
     . "\x09");
seed("tcpreasm", "\x01\x01\xff" . join("", map { $track->($_, 1) . $seg->($_, 0, 2, "") } 0 .. 3)
     . join("", map { my $d = $_; map { $seg->($d, 10 * $_ + 5, 0, "x" x 9) } 1 .. 6 } 0 .. 3)
     . join("", map { $seg->($_, 1, 0, "head") } 0 .. 3) . "\x0a\x0b\x0f");
seed("tcpreasm", "\x40\x40\x10" . $track->(2, 2) . $seg->(0x22, 0, 2, "")
     . $seg->(0x22, 200, 8, "", 100) . $seg->(0x22, 1, 8, "", 150) . $seg->(0x32, 50, 8, "", 30)
     . $seg->(0x22, 400, 4, "rst"));
seed("tcpreasm", "\x08\x20\x02" . $track->(3, 0) . $seg->(3, -5, 0, "midstream")
     . $seg->(3, -9, 0, "before") . $seg->(3, 30000, 0, "far") . $seg->(3, 4, 8, "", 40)
     . $seg->(0x13, 20, 9, "", 12) . $seg->(3, 60, 0, "after fin") . "\x0b" . $track->(3, 1)
     . $seg->(3, 0, 0, "again"));
# For fuzz/ipfrag.c: records of a control byte (clock step 1 s), a 16-bit
# length and a raw IP packet.
my $records = sub { join "", map { "\x01" . pack("n/a*", $_) } @_ };
for my $file (map { "$pcaps/$_" } qw(ipv4-fragmented-1.pcap ipv6-fragmented-dns.pcap)) {
	my ($linktype, $pkts) = read_pcap($file);
	next unless defined $linktype;
	my @ip = map { substr($_->[0], 14) } @$pkts;
	seed("ipfrag", $records->(@ip));
	seed("ipfrag", $records->(reverse @ip));
}
my $udp = udp(40000, 53, dns_message({ qd => [dns_question(dns_name("frag.example"), 1)] })
	      . ("p" x 40));
my @cut = map { [$_ * 24, $_ < 2, substr($udp, $_ * 24, $_ < 2 ? 24 : length $udp)] } 0 .. 2;
my $v4 = sub { my ($o, $m, $p) = @_;
	pack("C C n n n C C n a4 a4", 0x45, 0, 20 + length $p, 7, ($m ? 0x2000 : 0) | $o / 8,
	     64, 17, 0, "\xc0\0\2\1", "\xc0\0\2\2") . $p };
my $v6 = sub { my ($o, $m, $p) = @_;
	pack("N n C C", 0x60000000, 8 + length $p, 44, 64) . ("\x20" x 16) . ("\x21" x 16)
	. pack("C C n N", 17, 0, $o | $m, 7) . $p };
for my $make ($v4, $v6) {
	seed("ipfrag", $records->(map { $make->(@$_) } @cut));
	seed("ipfrag", $records->(map { $make->(@$_) } reverse @cut));
}
' "$pcaps"

