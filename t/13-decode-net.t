#!/usr/bin/perl
# The network-level layers against tshark, run here on the same packets:
# TCP options and payload length, IPv6 extension headers, neighbour
# discovery, GRE and VXLAN with the layers they carry. Every capture of
# the shared corpus, and frames built byte by byte for what no capture
# has, go through t/chefs/net.lua (which spells each field as tshark
# prints it) and through tshark -T fields; every field of every frame must
# match, except what %NORMALIZE and %DIFFERENT list, each with its reason.
# Then the layer lists and the values tshark has no field for.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use TestLib;
use Pcap;
use NetFrames;
use JSON::PP;

need_corpus();
my $TSHARK = $ENV{TSHARK} // '/usr/bin/tshark';
need(-x $TSHARK, "$TSHARK not found (apt-get install tshark)");

# Reassembly off, as the decoder does none; sequence numbers as sent.
my @TSHARK_OPTS = map { ('-o', $_) } qw(ip.defragment:FALSE ipv6.defragment:FALSE
	tcp.desegment_tcp_streams:FALSE tcp.relative_sequence_numbers:FALSE
	tcp.analyze_sequence_numbers:FALSE);

my @FIELDS = qw(tcp.option_kind tcp.option_len tcp.options.mss_val
	tcp.options.wscale.shift tcp.options.sack_perm tcp.options.timestamp.tsval
	tcp.options.timestamp.tsecr tcp.options.sack_le tcp.options.sack_re tcp.len
	ipv6.hopopts.nxt ipv6.hopopts.len ipv6.dstopts.nxt ipv6.dstopts.len ipv6.opt.type
	ipv6.routing.nxt ipv6.routing.len ipv6.routing.type ipv6.routing.segleft
	ipv6.routing.src.addr ipv6.routing.mipv6.home_address ipv6.routing.srh.addr
	ipv6.fraghdr.nxt ipv6.fraghdr.offset ipv6.fraghdr.more ipv6.fraghdr.ident
	icmpv6.nd.ns.target_address icmpv6.nd.na.target_address icmpv6.nd.na.flag.r
	icmpv6.nd.na.flag.s icmpv6.nd.na.flag.o icmpv6.nd.ra.cur_hop_limit icmpv6.nd.ra.flag
	icmpv6.nd.ra.router_lifetime icmpv6.nd.ra.reachable_time icmpv6.nd.ra.retrans_timer
	icmpv6.nd.rd.target_address icmpv6.rd.na.destination_address icmpv6.opt.type
	icmpv6.opt.length icmpv6.opt.linkaddr icmpv6.opt.prefix.length icmpv6.opt.prefix.flag
	icmpv6.opt.prefix.valid_lifetime icmpv6.opt.prefix.preferred_lifetime icmpv6.opt.prefix
	icmpv6.opt.mtu icmpv6.opt.advertisement_interval icmpv6.opt.home_agent_preference
	icmpv6.opt.home_agent_lifetime icmpv6.opt.route_info.flag.route_preference
	icmpv6.opt.route_lifetime icmpv6.opt.rdnss.lifetime icmpv6.opt.rdnss
	icmpv6.opt.dnssl.lifetime icmpv6.opt.dnssl
	gre.flags_and_version gre.proto gre.checksum gre.offset gre.key gre.key.payload_length
	gre.key.call_id gre.sequence_number gre.ack_number vxlan.flags vxlan.vni
	eth.src eth.dst ip.src ip.dst ip.proto ipv6.src ipv6.dst udp.srcport udp.dstport
	tcp.srcport tcp.dstport arp.src.proto_ipv4);

# Differences of spelling, for every frame: field => [sub, reason]. Each
# must change something somewhere, or it is stale.
my %NORMALIZE = (
	'tcp.option_kind' => [sub { $_[0] =~ s/(?<![^,])0(,0)+$/0/r },
		'tshark lists each zero byte after an End of Option List as another EOL; '
		. 'the list ends at the first (RFC 9293), and so does ours'],
);

# Differences in particular frames: "file frame" => { field => [ours,
# reason] }, ours being the value, or a sub that makes tshark's value ours
# from ours when it is as the reason says.
my $EXT_FIELDS = [qw(ipv6.dstopts.nxt ipv6.dstopts.len
	ipv6.opt.type ipv6.routing.nxt ipv6.routing.len ipv6.routing.type ipv6.routing.segleft
	ipv6.fraghdr.nxt ipv6.fraghdr.offset ipv6.fraghdr.more ipv6.fraghdr.ident)];
my %DIFFERENT = (
	'built 15' => {
		'icmpv6.opt.type' => ['1', 'an option of length 0 is no option (RFC 4861 has the '
			. 'message dropped): the list ends before it; tshark lists it, then stops'],
		'icmpv6.opt.length' => ['1', 'the same option of length 0'],
	},
	'built 17' => { 'icmpv6.opt.linkaddr' => ['02:00:00:00:00:aa', 'a link-layer address '
		. 'option of 24 bytes: lladdr is an Ethernet address, its first six bytes, as '
		. 'scapy\'s MAC field reads it (raw has all); tshark prints all 22 in hex'] },
	'built 14' => { map { $_ => [\&cut_short, 'the packet a redirect quotes in its '
		. 'option is the bytes of that option (pkt); tshark decodes its IPv6 header'] }
		qw(ipv6.src ipv6.dst) },
	'built 24' => { map { $_ => [\&cut_short, 'GRE in GRE: a packet has one GRE layer, '
		. 'the inner GRE and what it carries stay Raw; tshark goes on'] }
		qw(gre.flags_and_version gre.proto ip.src ip.dst ip.proto udp.srcport udp.dstport) },
	'built 28' => { map { $_ => [\&cut_short, 'VXLAN in VXLAN: a packet has one VXLAN '
		. 'layer, the inner one and what it carries stay Raw; tshark goes on'] }
		qw(vxlan.flags vxlan.vni eth.src eth.dst ip.src ip.dst ip.proto udp.srcport udp.dstport) },
	'built 34' => { 'tcp.len' => ['976', 'the TCP header an ICMP error quotes: its payload '
		. 'length is the original segment\'s, as the quoted IP header counts it; tshark '
		. 'gives none there'] },
	'built 31' => { map { $_ => [\&cut_short, 'IP in IP in IP: a packet holds two IPv4 '
		. 'headers, the third and what it carries stay Raw; tshark goes on'] }
		qw(ip.src ip.dst ip.proto udp.srcport udp.dstport) },
	'built 32' => { map { $_ => [\&cut_short, 'an ICMP error quoting GRE: the quote is '
		. 'decoded to its transport header, no tunnel in it; tshark decodes the GRE'] }
		qw(gre.flags_and_version gre.proto ip.src ip.dst ip.proto udp.srcport udp.dstport) },
	'ipv6_ext_headers.pcap 1' => { map { $_ => [\&leading,
		'of its 100 extension headers, the first 8 (DPL_MAX_EXTHDRS) are layers; '
		. 'the rest are walked to the UDP header behind them'] } @$EXT_FIELDS },
);

# ours when it is tshark's list cut short (and not empty), else tshark's.
sub leading {
	my ($want, $have) = @_;
	return length $have ? cut_short($want, $have) : $want;
}

# ours when it is tshark's list cut short (maybe to nothing), else tshark's.
sub cut_short {
	my ($want, $have) = @_;
	return $have if $have eq '' || index("$want,", "$have,") == 0 && length $have < length $want;
	return $want;
}

my $bin = bin();
my $chef = root() . '/t/chefs/net.lua';
my $tmp = tmpdir();
my (%used, %normalized);
my $chefs = 0;

sub payloads {
	my $j = JSON::PP->new->utf8;
	return map { $j->decode($_)->{payload} } grep { length } split /\n/, $_[0] // '';
}

# Run the chef and tshark over a capture; compare field by field. tshark
# does not reassemble here, so neither does the kitchen (t/16 tests that).
sub check_capture {
	my ($path, $name) = @_;
	my $r = run('kitchen', '-r', $path, '-c', $chef, '--stdout', '-f', '', '-q',
		    '--reassembly-memory', 0);
	is($r->{status}, 0, "$name: kitchen exits 0") or diag($r->{err});
	my @got = payloads($r->{out});
	my $t = run([$TSHARK, '-n', '-r', $path, @TSHARK_OPTS, '-T', 'fields', '-E', 'occurrence=a',
		     '-E', 'aggregator=,', map { ('-e', $_) } @FIELDS]);
	is($t->{status}, 0, "$name: tshark exits 0") or diag($t->{err});
	my @truth = map { [split /\t/, $_, -1] } split /\n/, $t->{out};
	is(scalar @got, scalar @truth, "$name: one dumpling per frame");
	for my $c (0 .. $#FIELDS) {
		my $field = $FIELDS[$c];
		my (@want, @have);
		for my $i (0 .. $#truth) {
			my $frame = $i + 1;
			my $want = $truth[$i][$c] // '';
			if (my $n = $NORMALIZE{$field}) {
				my $was = $want;
				$want = $n->[0]->($want);
				$normalized{$field} = 1 if $want ne $was;
			}
			my $have = $got[$i]{$field} // '(none)';
			my $diff = $DIFFERENT{"$name $frame"}{$field};
			my $ours = $diff && (ref $diff->[0] ? $diff->[0]->($want, $have) : $diff->[0]);
			if ($diff && $want ne $ours) {
				$want = $ours;
				$used{"$name $frame $field"} = 1;
			}
			push @want, "frame $frame: $want";
			push @have, "frame $frame: $have";
		}
		is_deeply(\@have, \@want, "$name: $field");
	}
	return @got;
}

# Cook a capture with a chef of the test's own; returns the payloads.
sub cook {
	my ($path, $lua) = @_;
	my $file = "$tmp/chef-" . ++$chefs . '.lua';
	spew($file, $lua);
	my $r = run('kitchen', '-r', $path, '-c', $file, '--stdout', '-f', '', '-q');
	is($r->{status}, 0, 'kitchen exits 0') or diag($r->{err});
	return payloads($r->{out});
}

# The frames no capture has (t/lib/NetFrames.pm).
my @BUILT = frames();

subtest 'built frames' => sub {
	write_pcap("$tmp/built.pcap", 1, @BUILT);
	check_capture("$tmp/built.pcap", 'built');
};

# ---------------------------------------------------------------------------
# The corpus.

my $dir = pcaps_dir();
my @captures = grep { !/pcap-invalid-version-1|pcapng-invalid-vers-1/ }
	sort map { s{.*/}{}r } glob("$dir/*.pcap $dir/*.pcapng");
need(scalar @captures, "no captures in $dir");
for my $file (@captures) {
	subtest $file => sub { check_capture(pcap($file), $file) };
}

for my $key (sort keys %DIFFERENT) {
	ok($used{"$key $_"}, "listed difference $key $_ still occurs") for sort keys %{ $DIFFERENT{$key} };
}
ok($normalized{$_}, "the normalization of $_ still changes something") for sort keys %NORMALIZE;

# ---------------------------------------------------------------------------
# What tshark has no field for.

subtest 'TCP options as values' => sub {
	my ($p) = cook(pcap('dns_tcp.pcap'), <<'LUA');
return { name = "T", packet_handler = function(_, pkt)
  return pkt.TCP and { pkt.TCP.options, pkt.TCP.payload_len } or nil
end }
LUA
	is_deeply($p->[0], [['MSS', 1460], ['SAckOK', ''], ['Timestamp', [2044906138, 0]], ['NOP'],
			    ['WScale', 7]], 'a SYN: scapy\'s pairs, in the order sent');
	my @built = cook("$tmp/built.pcap", <<'LUA');
return { name = "T", packet_handler = function(_, pkt)
  return pkt.TCP and pkt.TCP.options or nil
end }
LUA
	is_deeply($built[0], [['NOP'], ['NOP'], ['SAck', [1000, 2000, 3000, 4000]], [30, "\xab\xcd"]],
		  'SACK edges as a flat list; an unknown kind by number, its value as bytes');
	is_deeply($built[1], [['MD5', 'm' x 16], ['EOL']], 'the list ends at End of Option List');
	is_deeply($built[2], [['UTO', 0x8010]], 'an option running past the header ends the list');
	is_deeply($built[3], [], 'so does a length under two');

	my @p = cook(pcap('dns_tcp.pcap'), <<'LUA');
return { name = "T", packet_handler = function(_, pkt)
  return { tcp = pkt.TCP, none = pkt.TCP and pkt.TCP.payload_len > 0 and pkt.TCP.options == nil }
end }
LUA
	is_deeply($p[0]{tcp}{options}[0], ['MSS', 1460],
		  'a TCP layer returned unread has its options filled in');
	ok($p[3]{none}, 'a segment without options: options is nil');
	ok(!exists $p[3]{tcp}{options}, '... and not in the dumpling');
	my $file = "$tmp/kept.lua";
	spew($file, <<'LUA');
return { name = "Kept", packet_handler = function(self, pkt)
  local kept = self.kept
  self.kept = pkt.TCP
  if kept then return { #kept.options } end
end }
LUA
	my $r = run('kitchen', '-r', pcap('dns_tcp.pcap'), '-c', $file, '--stdout', '-f', '');
	is($r->{status}, 0, 'a chef reading options of a kept layer: the kitchen carries on');
	like($r->{err}, qr/TCP options read after the packet's handler returned/,
	     '... and the chef is told to read them in the handler');
};

subtest 'IPv6 extension headers' => sub {
	my $lua = <<'LUA';
local N = { "IPv6ExtHdrHopByHop", "IPv6ExtHdrRouting", "IPv6ExtHdrFragment", "IPv6ExtHdrDestOpt" }
return { name = "X", packet_handler = function(_, pkt)
  local t = { layers = pkt.layers }
  for _, name in ipairs(N) do
    t[name] = {}
    local n = 1
    while pkt:getlayer(name, n) do t[name][n] = pkt:getlayer(name, n); n = n + 1 end
  end
  return t
end }
LUA
	my ($p) = cook(pcap('ipv6_ext_headers.pcap'), $lua);
	is_deeply($p->{layers}, [qw(Ethernet IPv6 IPv6ExtHdrHopByHop), (qw(IPv6ExtHdrRouting
		IPv6ExtHdrFragment IPv6ExtHdrDestOpt)) x 2, qw(IPv6ExtHdrRouting UDP Raw)],
		  'a chain of 100 headers: the first 8 are layers, then the UDP behind them');
	my @p = cook("$tmp/built.pcap", $lua);
	my ($ra, $sr, $first, $later, $ah, $cut) = @p[6 .. 11];
	is_deeply($ra->{layers}, [qw(Ethernet IPv6 IPv6ExtHdrHopByHop IPv6ExtHdrRouting
		IPv6ExtHdrDestOpt TCP Raw)], 'hop-by-hop, routing, destination options, TCP');
	is_deeply($ra->{IPv6ExtHdrHopByHop}[0], { nh => 43, len => 1,
		options => "\x05\x02\x00\x00\x00\xc2\x04\x00\x01\x11\x70\x00\x00\x00" },
		  'hop-by-hop: its options as sent, padding included');
	is_deeply($ra->{IPv6ExtHdrRouting}[0], { nh => 60, len => 2, type => 2, segleft => 1,
		reserved => 0, addresses => ['2001:db8::11'] }, 'routing type 2: the home address');
	is_deeply($sr->{IPv6ExtHdrRouting}[0]{addresses}, ['2001:db8::22', '2001:db8::33'],
		  'segment routing: as many segments as its last entry says, not its TLV');
	is_deeply($first->{IPv6ExtHdrFragment}[0], { nh => 17, res1 => 0, offset => 0, res2 => 0,
		m => 1, id => 0xabcd }, 'a first fragment');
	is_deeply($first->{layers}, [qw(Ethernet IPv6 IPv6ExtHdrFragment Raw)],
		  '... its payload Raw: reassembly waits for the rest of its datagram');
	is_deeply($later->{IPv6ExtHdrFragment}[0], { nh => 17, res1 => 0, offset => 185, res2 => 0,
		m => 0, id => 0xabcd }, 'a later fragment: offset in 8-byte units, as sent');
	is_deeply($later->{layers}, [qw(Ethernet IPv6 IPv6ExtHdrFragment Raw)], '... its data raw');
	is_deeply($ah->{layers}, [qw(Ethernet IPv6 IPv6ExtHdrRouting UDP Raw)],
		  'an AH header is walked but has no layer');
	is_deeply($cut->{layers}, [qw(Ethernet IPv6 IPv6ExtHdrDestOpt)],
		  'a header cut by the snapshot length: a layer, nothing behind');
	is(length $cut->{IPv6ExtHdrDestOpt}[0]{options}, 8, '... with the options captured');
};

subtest 'neighbour discovery' => sub {
	my @p = cook("$tmp/built.pcap", <<'LUA');
local N = { "ICMPv6ND_RS", "ICMPv6ND_RA", "ICMPv6ND_NS", "ICMPv6ND_NA", "ICMPv6ND_Redirect" }
return { name = "N", packet_handler = function(_, pkt)
  local t = { layers = pkt.layers }
  for _, n in ipairs(N) do t[n] = pkt[n] end
  return t
end }
LUA
	my ($ra, $rd, $ns, $cut, $rs, $na) = @p[12 .. 17];
	is_deeply($ra->{layers}, [qw(Ethernet IPv6 ICMPv6 ICMPv6ND_RA)],
		  'a router advertisement follows ICMPv6, its options in it');
	my $m = $ra->{ICMPv6ND_RA};
	is_deeply([@$m{qw(type chlim M O H prf P res routerlifetime reachabletime retranstimer)}],
		  [134, 64, 1, 1, 0, 1, 0, 0, 1800, 30000, 1000], 'its fields, as scapy names them');
	my %o = map { $_->{type} => $_ } @{ $m->{options} };
	is_deeply([map { $_->{type} } @{ $m->{options} }], [1, 5, 7, 8, 3, 24, 25, 31, 14],
		  'every option, in the order sent');
	is($o{1}{raw}, "\x01\x01\x02\x00\x00\x00\x00\xaa", 'each with its bytes');
	is_deeply([@{ $o{8} }{qw(pref lifetime)}], [10, 1200], 'home agent information');
	is_deeply([@{ $o{24} }{qw(plen prf rtlifetime prefix)}], [48, 1, 3600, '2001:db8::'],
		  'route information: an 8-byte prefix, zero-padded');
	is_deeply($o{25}{dns}, ['2001:db8::22', '2001:db8::33'], 'RDNSS addresses');
	is_deeply($o{31}{searchlist}, ['example.com', 'lab.example.org'], 'DNSSL names');
	is_deeply($o{14}, { type => 14, len => 1, raw => "\x0e\x01nonce!" },
		  'an option without fields here: its type, length and bytes');
	is_deeply([@{ $rd->{ICMPv6ND_Redirect} }{qw(tgt dst)}], ['2001:db8::11', '2001:db8::22'],
		  'redirect: target and destination');
	my ($hdr) = grep { $_->{type} == 4 } @{ $rd->{ICMPv6ND_Redirect}{options} };
	is(length $hdr->{pkt}, 40, '... the redirected packet, as bytes');
	is_deeply([map { $_->{type} } @{ $ns->{ICMPv6ND_NS}{options} }], [1],
		  'an option of length 0 ends the options');
	is_deeply($cut->{layers}, [qw(Ethernet IPv6 ICMPv6 Raw)],
		  'a message cut inside its fixed part stays ICMPv6 and Raw');
	is($rs->{ICMPv6ND_RS}{options}[0]{lladdr}, '02:00:00:00:00:aa',
		  'a longer link-layer address option: lladdr is its first six bytes');
	is_deeply([@{ $na->{ICMPv6ND_NA} }{qw(R S O res)}], [0, 1, 1, 0], 'advertisement flags');
};

subtest 'tunnels' => sub {
	my @p = cook("$tmp/built.pcap", <<'LUA');
return { name = "U", packet_handler = function(_, pkt)
  local t = { layers = pkt.layers, GRE = pkt.GRE, VXLAN = pkt.VXLAN,
              inner = {}, outer = {}, dns = pkt.DNS and pkt.DNS.qd[1].qname }
  for _, n in ipairs({ "Ethernet", "IP", "IPv6", "UDP" }) do
    t.outer[n] = pkt[n]
    t.inner[n] = pkt:getlayer(n, 2)
    assert(pkt:getlayer(n, 3) == nil, "no third " .. n)
  end
  return t
end }
LUA
	my ($gre, $gre6, $teb, $pptp, $routed, $gregre, $vx, $vx6, $vxarp, $vxvx, $ipip, $six,
	    $ip3, $quote, $cut) = @p[18 .. 32];
	is_deeply($gre->{layers}, [qw(Ethernet IP GRE IP UDP DNS)], 'GRE: the datagram inside it');
	is($gre->{outer}{IP}{src}, '192.0.2.1', 'pkt.IP is the outer header');
	is($gre->{inner}{IP}{src}, '10.0.0.1', 'pkt:getlayer("IP", 2) the inner one');
	is($gre->{dns}, 'in.example', 'DNS inside the tunnel');
	is_deeply($gre->{GRE}, { chksum_present => 1, routing_present => 0, key_present => 1,
		seqnum_present => 1, strict_route_source => 0, recursion_control => 0, flags => 0,
		version => 0, proto => 0x0800, chksum => 0x1234, offset => 0, key => 0xdeadbeef,
		sequence_number => 7 }, 'GRE fields, as scapy names them');
	is_deeply($gre6->{layers}, [qw(Ethernet IPv6 GRE IPv6 TCP Raw)], 'GRE over IPv6, IPv6 inside');
	is_deeply($teb->{layers}, [qw(Ethernet IP GRE Ethernet Dot1Q IP ICMP Raw)],
		  'transparent Ethernet bridging: a frame inside, its VLAN tag too');
	is($teb->{inner}{Ethernet}{src}, '02:00:00:00:cc:cc', 'the inner Ethernet header');
	is_deeply($teb->{GRE}{key}, 0x123400, '... and the key');
	is_deeply([@{ $pptp->{GRE} }{qw(version payload_len call_id sequence_number ack_number
		acknum_present key)}], [1, 8, 99, 3, 2, 1, undef],
		  'enhanced GRE (PPTP): payload length and call id, not a key');
	is_deeply($pptp->{layers}, [qw(Ethernet IP GRE PPP Raw)], '... PPP inside, its LCP Raw');
	is_deeply($routed->{layers}, [qw(Ethernet IP GRE Raw)], 'source routes: Raw after GRE');
	is_deeply($gregre->{layers}, [qw(Ethernet IP GRE IP Raw)], 'GRE in GRE: the inner one is Raw');
	is_deeply($vx->{layers}, [qw(Ethernet IP UDP VXLAN Ethernet IP UDP DNS)],
		  'VXLAN: a frame inside');
	is_deeply($vx->{VXLAN}, { flags => 8, reserved1 => 0, vni => 5000, reserved2 => 0 },
		  'VXLAN fields');
	is_deeply([$vx->{outer}{UDP}{dport}, $vx->{inner}{UDP}{dport}], [4789, 53],
		  'the outer and the inner UDP header');
	is_deeply($vx6->{layers}, [qw(Ethernet IPv6 UDP VXLAN Ethernet IPv6 ICMPv6 ICMPv6ND_NS)],
		  'VXLAN over IPv6, neighbour discovery inside');
	is($vx6->{VXLAN}{vni}, 0xabcdef, '... a 24-bit VNI');
	is_deeply($vxarp->{layers}, [qw(Ethernet IP UDP VXLAN Ethernet ARP)], 'ARP inside VXLAN');
	is_deeply($vxvx->{layers}, [qw(Ethernet IP UDP VXLAN Ethernet IP UDP Raw)],
		  'VXLAN in VXLAN: the inner one is Raw');
	is_deeply($ipip->{layers}, [qw(Ethernet IP IP TCP Raw)], 'IPv4 in IPv4');
	is_deeply($six->{layers}, [qw(Ethernet IPv6 IPv6 UDP Raw)], 'IPv6 in IPv6');
	is_deeply($ip3->{layers}, [qw(Ethernet IP IP Raw)], 'a third IPv4 header stays Raw');
	is_deeply($quote->{layers}, [qw(Ethernet IP ICMP IPerror Raw)], 'no tunnel in a quote');
	is_deeply($cut->{layers}, [qw(Ethernet IP GRE)], 'GRE cut in its fields: nothing behind');
	is_deeply([@{ $cut->{GRE} }{qw(key_present key seqnum_present sequence_number)}],
		  [1, 5, 1, undef], '... the fields captured, and only those');
};

# MPLS: a label stack on Ethernet or in GRE, what follows the bottom
# label told by its first four bits, as tshark and scapy tell it.
subtest 'MPLS' => sub {
	my $label = sub { my ($l, $cos, $s, $ttl) = @_; pack('N', $l << 12 | $cos << 9 | $s << 8 | $ttl) };
	my $dns = dns_message({ flags => 0x0100, qd => [dns_question(dns_name('mpls.example'), 1)] });
	my @frames = (
		ether(0x8847, $label->(100, 5, 0, 64) . $label->(1048575, 0, 1, 1)
		      . ipv4(17, udp(1, 53, $dns))),
		ether(0x8848, $label->(2, 0, 1, 255) . ipv6(17, udp(1, 53, $dns))),
		ether(0x0800, ipv4(47, gre(0x8847, $label->(16, 1, 1, 9) . ipv4(17, udp(1, 53, $dns))))),
		ether(0x8847, join('', map { $label->($_, 0, 0, 64) } 1 .. 5) . ipv4(17, udp(1, 53, $dns))),
		ether(0x8847, $label->(7, 0, 1, 64) . "\0\0\0\0" . ether(0x0800, ipv4(17, udp(1, 53, $dns)))),
		ether(0x8847, $label->(7, 0, 0, 64) . substr($label->(8, 0, 1, 64), 0, 3)),
	);
	write_pcap("$tmp/mpls.pcap", 1, @frames);
	my @p = cook("$tmp/mpls.pcap", <<'LUA');
return { name = "M", packet_handler = function(_, pkt)
  local labels = {}
  for i = 1, 8 do
    local m = pkt:getlayer("MPLS", i)
    if m then labels[i] = table.concat({ m.label, m.cos, m.s, m.ttl }, ":") end
  end
  return { layers = pkt.layers, labels = table.concat(labels, ","),
           dns = pkt.DNS and pkt.DNS.qd[1].qname }
end }
LUA
	is_deeply($p[0]{layers}, [qw(Ethernet MPLS MPLS IP UDP DNS)], 'two labels, then IPv4');
	is($p[0]{dns}, 'mpls.example', '... and the DNS inside');
	is_deeply($p[1]{layers}, [qw(Ethernet MPLS IPv6 UDP DNS)], 'multicast MPLS, IPv6 by its version');
	is_deeply($p[2]{layers}, [qw(Ethernet IP GRE MPLS IP UDP DNS)], 'MPLS in GRE');
	is_deeply($p[3]{layers}, [qw(Ethernet MPLS MPLS MPLS MPLS Raw)],
		  'labels past the fourth stay Raw with what follows them');
	is_deeply($p[4]{layers}, [qw(Ethernet MPLS Raw)], 'a pseudowire control word: Raw');
	is_deeply($p[5]{layers}, [qw(Ethernet MPLS Raw)], 'a label cut short: Raw');
	my @ts = map { join ',', map { s/,/;/gr } split /\t/, $_, -1 }
		 split /\n/, `$TSHARK -r $tmp/mpls.pcap -T fields -e mpls.label -e mpls.exp -e mpls.bottom -e mpls.ttl 2>/dev/null`;
	for my $i (0 .. 2) {
		my @col = map { [split /;/] } split /,/, $ts[$i];
		my $theirs = join ',', map { my $k = $_; join ':', map { $_->[$k] } @col } 0 .. $#{ $col[0] };
		is($p[$i]{labels}, $theirs, "frame @{[$i + 1]}: label, cos, s, ttl as tshark reads them");
	}
};

# PPPoE sessions on Ethernet (DSL links), PPP links (DLT_PPP, with and
# without the HDLC bytes, with a compressed protocol), and PPPoE as its
# own link type.
subtest 'PPP and PPPoE' => sub {
	my $dns = dns_message({ flags => 0x0100, qd => [dns_question(dns_name('ppp.example'), 1)] });
	my $v4 = ipv4(17, udp(1, 53, $dns));
	my $v6 = ipv6(17, udp(1, 53, $dns));
	my $session = sub { my ($ppp) = @_; pack('C C n n', 0x11, 0, 0x1234, length $ppp) . $ppp };
	write_pcap("$tmp/pppoe.pcap", 1, ether(0x8864, $session->(pack('n', 0x21) . $v4)),
		   ether(0x8864, $session->(pack('n', 0x57) . $v6) . "\0" x 6),
		   ether(0x8864, $session->(pack('n', 0xc021) . "\1\1\0\4")),
		   ether(0x8864, substr($session->(''), 0, 5)));
	write_pcap("$tmp/ppp.pcap", 9, "\xff\x03" . pack('n', 0x21) . $v4, pack('n', 0x57) . $v6,
		   "\x21" . $v4, "\xff");
	write_pcap("$tmp/pppether.pcap", 51, $session->(pack('n', 0x21) . $v4));
	my $lua = <<'LUA';
return { name = "P", packet_handler = function(_, pkt)
  return { layers = pkt.layers, PPPoE = pkt.PPPoE, PPP = pkt.PPP,
           dns = pkt.DNS and pkt.DNS.qd[1].qname }
end }
LUA
	my @p = cook("$tmp/pppoe.pcap", $lua);
	is_deeply($p[0]{layers}, [qw(Ethernet PPPoE PPP IP UDP DNS)], 'PPPoE session: PPP, then IPv4');
	is_deeply($p[0]{PPPoE}, { version => 1, type => 1, code => 0, sessionid => 0x1234,
		len => 2 + length $v4 }, 'PPPoE fields, as scapy names them');
	is($p[0]{PPP}{proto}, 0x21, 'PPP protocol');
	is($p[0]{dns}, 'ppp.example', '... and the DNS inside');
	is_deeply($p[1]{layers}, [qw(Ethernet PPPoE PPP IPv6 UDP DNS Padding)],
		  'IPv6 in PPPoE, the bytes past its length Padding');
	is_deeply($p[2]{layers}, [qw(Ethernet PPPoE PPP Raw)], 'LCP stays Raw');
	is_deeply($p[3]{layers}, [qw(Ethernet Raw)], 'a PPPoE header cut short: Raw');
	my @tshark = split /\n/, `$TSHARK -r $tmp/pppoe.pcap -T fields -e pppoe.session_id -e ppp.protocol 2>/dev/null`;
	is_deeply([map { join ' ', $_->{PPPoE} ? sprintf('0x%04x', $_->{PPPoE}{sessionid}) : '',
			     $_->{PPP} ? sprintf('0x%04x', $_->{PPP}{proto}) : '' } @p[0 .. 2]],
		  [map { join ' ', split /\t/, $_, -1 } @tshark[0 .. 2]], '... as tshark reads them');
	@p = cook("$tmp/ppp.pcap", $lua);
	is_deeply([map { join ' ', @{ $_->{layers} } } @p],
		  ['PPP IP UDP DNS', 'PPP IPv6 UDP DNS', 'PPP IP UDP DNS', 'Raw'],
		  'DLT_PPP: with and without the HDLC bytes, a compressed protocol, a cut frame');
	@p = cook("$tmp/pppether.pcap", $lua);
	is_deeply($p[0]{layers}, [qw(PPPoE PPP IP UDP DNS)], 'DLT_PPP_ETHER: PPPoE as the link layer');
	my $r = run('kitchen', '-r', "$tmp/pppoe.pcap", '-c', 'packetcount', '--stdout', '-f', '', '-q');
	my ($d) = reverse grep { $_->{metadata}{driver} eq 'interval' } decode_lines($r->{out});
	is_deeply([@{ $d->{payload}{packet_counts} }{'PPP over Ethernet', 'PPP Link Layer'}], [3, 3],
		  'PacketCountChef counts them under scapy\'s names');
};

# Wireless LANs: radiotap (a card in monitor mode) and 802.11 frames, QoS
# data, four addresses, an FCS, encrypted, management and control frames;
# plain 802.11 captures; LLC and SNAP after them and after 802.3 frames.
subtest 'RadioTap, 802.11, LLC and SNAP' => sub {
	my $dns = sub { dns_message({ flags => 0x0100, qd => [dns_question(dns_name($_[0]), 1)] }) };
	my $snap = sub { pack('CCC C3 n', 0xaa, 0xaa, 3, 0, 0, 0, $_[0]) . $_[1] };
	my $mac = sub { pack('H12', $_[0]) };
	# TSFT, Flags, Rate, Channel, dBm signal and noise, Antenna
	my $rt = sub { pack('CCv V Q< CC vv cc C', 0, 0, 25, 0x86f, 123456789, $_[0], 108, 5180,
			    0x0140, -42, -95, 1) };
	my ($ap, $sta, $dst) = map { $mac->("02000000000$_") } 1 .. 3;
	my $qos_data = pack('CCv', 0x88, 0x01, 44) . $ap . $sta . $dst . pack('v CC', 0x1230, 0x05, 0);
	my $from_ap = pack('CCv', 0x08, 0x02, 0) . $dst . $ap . $sta . pack('v', 0x0450);
	my $arp = pack('nnCCn', 1, 0x800, 6, 4, 1) . $sta . pack('C4', 10, 0, 0, 1) . "\0" x 6 . pack('C4', 10, 0, 0, 2);
	write_pcap("$tmp/radiotap.pcap", 127,
		$rt->(0) . $qos_data . $snap->(0x0800, ipv4(17, udp(5353, 53, $dns->('wifi.example')))),
		$rt->(0x10) . $from_ap . $snap->(0x86dd, ipv6(17, udp(5353, 53, $dns->('six.example')))) . "\xde\xad\xbe\xef",
		$rt->(0) . pack('CCv', 0x80, 0, 0) . $mac->('ffffffffffff') . $ap . $ap . pack('v', 16) . "\0" x 12,
		$rt->(0) . pack('CCv', 0x08, 0x41, 0) . $ap . $sta . $dst . pack('v', 0) . "\x11" x 20,
		$rt->(0) . pack('CCv', 0xd4, 0, 0) . $sta,
		# a second presence word: the fields start after it
		pack('CCv V V c', 0, 0, 13, 0x80000020, 0, -60) . pack('CCv', 0x08, 0x03, 0) . $ap . $sta . $dst
			. pack('v', 0x20) . $mac->('020000000004') . $snap->(0x0806, $arp),
		pack('CCv V', 0, 0, 200, 0));
	write_pcap("$tmp/dot11.pcap", 105, $from_ap . $snap->(0x0800, ipv4(17, udp(5353, 53, $dns->('plain.example')))));
	write_pcap("$tmp/llc.pcap", 1,
		$mac->('0180c2000000') . $sta . pack('n CCC', 38, 0x42, 0x42, 3) . "\0" x 43,
		$mac->('01000ccccccc') . $sta . pack('n CCC C3 n', 12, 0xaa, 0xaa, 3, 0, 0, 0x0c, 0x2000) . 'abcd' . "\0" x 34);
	my $lua = <<'LUA';
return { name = "W", packet_handler = function(_, pkt)
  local w = pkt.Dot11
  return { layers = pkt.layers, RadioTap = pkt.RadioTap, Dot11 = w, Dot11QoS = pkt.Dot11QoS,
           LLC = pkt.LLC, SNAP = pkt.SNAP, dns = pkt.DNS and pkt.DNS.qd[1].qname,
           addrs = w and table.concat({ w.addr1, w.addr2, w.addr3, w.addr4 }, ",") }
end }
LUA
	my @p = cook("$tmp/radiotap.pcap", $lua);
	is_deeply([map { join ' ', @{ $_->{layers} } } @p],
		  ['RadioTap Dot11 Dot11QoS LLC SNAP IP UDP DNS', 'RadioTap Dot11 LLC SNAP IPv6 UDP DNS',
		   'RadioTap Dot11 Dot11Beacon', 'RadioTap Dot11 Raw', 'RadioTap Dot11', 'RadioTap Dot11 LLC SNAP ARP',
		   'Raw'],
		  'QoS data, data with an FCS, a beacon with no elements, encrypted data, an ACK, four addresses, a cut header');
	is($p[1]{dns}, 'six.example', 'the FCS is not part of what the frame carries');
	is_deeply($p[0]{RadioTap}, { version => 0, pad => 0, len => 25, present => 0x86f,
		mac_timestamp => 123456789, Flags => 0, Rate => 108, ChannelFrequency => 5180,
		ChannelFlags => 0x140, dBm_AntSignal => -42, dBm_AntNoise => -95, Antenna => 1 },
		  'RadioTap fields, as scapy names them, each at its alignment');
	is_deeply($p[5]{RadioTap}, { version => 0, pad => 0, len => 13, present => 0x80000020,
		dBm_AntSignal => -60 }, '... after a second presence word, and only those there');
	is_deeply($p[0]{Dot11QoS}, { A_MSDU_Present => 0, Ack_Policy => 0, EOSP => 0, TID => 5, TXOP => 0 },
		  'Dot11QoS');
	is_deeply([@{ $p[0]{LLC} }{qw(dsap ssap ctrl)}, @{ $p[0]{SNAP} }{qw(OUI code)}],
		  [0xaa, 0xaa, 3, 0, 0x0800], 'LLC and SNAP');
	my @ts = map { [split /\t/, $_, -1] } split /\n/,
		`$TSHARK -r $tmp/radiotap.pcap -T fields -E occurrence=f -e radiotap.dbm_antsignal -e radiotap.channel.freq -e wlan.fc.type -e wlan.fc.subtype -e wlan.seq -e wlan.qos.tid -e wlan.addr -E occurrence=a 2>/dev/null`;
	for my $i (0 .. 5) {
		my ($r, $w, $q) = @{ $p[$i] }{qw(RadioTap Dot11 Dot11QoS)};
		my $sorted = sub { join ',', sort split /,/, $_[0] // '' };
		is_deeply([$r->{dBm_AntSignal}, $r->{ChannelFrequency} // '', $w->{type}, $w->{subtype},
			   defined $w->{SC} ? $w->{SC} >> 4 : '', $q ? $q->{TID} : '', $sorted->($p[$i]{addrs})],
			  [@{ $ts[$i] }[0 .. 5], $sorted->($ts[$i][6])], "frame @{[$i + 1]} as tshark reads it");
	}
	@p = cook("$tmp/dot11.pcap", $lua);
	is_deeply($p[0]{layers}, [qw(Dot11 LLC SNAP IP UDP DNS)], 'link type IEEE802_11: no radiotap');
	@p = cook("$tmp/llc.pcap", $lua);
	is_deeply([map { join ' ', @{ $_->{layers} } } @p], ['Ethernet LLC Raw Padding', 'Ethernet LLC SNAP Raw Padding'],
		  '802.3 frames: LLC (STP), LLC and SNAP (CDP), their length bounding them');
	is_deeply([map { sprintf '0x%02x %s', $_->{LLC}{dsap}, $_->{SNAP} ? $_->{SNAP}{OUI} : '' } @p],
		  [map { join ' ', split /\t/, $_, -1 }
		   split /\n/, `$TSHARK -r $tmp/llc.pcap -T fields -e llc.dsap -e llc.oui 2>/dev/null`],
		  '... as tshark reads them');
	my $r = run('kitchen', '-r', "$tmp/radiotap.pcap", '-c', 'dns', '--stdout', '-q');
	is(scalar(grep { $_->{metadata}{driver} eq 'packet' } decode_lines($r->{out})), 2,
	   'the default filter works on radiotap captures');

	# beacons and probes: their fixed fields, their first elements
	my $sig = pack('CCv V c', 0, 0, 9, 0x20, -50);
	my $mgmt = sub { pack('CCv', $_[0], 0, 0) . $mac->($_[1]) . $ap . $ap . pack('v', 0x100) };
	my $elt = sub { pack('CC/a*', @_) };
	write_pcap("$tmp/beacons.pcap", 127,
		$sig . $mgmt->(0x80, 'ffffffffffff') . pack('Q< v v', 987654321, 100, 0x0431)
			. $elt->(0, "caf\xc3\xa9-net") . $elt->(1, "\x82\x84\x8b\x96") . $elt->(3, "\x06"),
		$sig . $mgmt->(0x40, 'ffffffffffff') . $elt->(0, '') . $elt->(1, "\x02\x04"),
		$sig . $mgmt->(0x50, '020000000002') . pack('Q< v v', 5, 102, 0x0011) . $elt->(0, 'x' x 32)
			. pack('CC', 221, 200) . 'cut',
		$sig . $mgmt->(0x50, '020000000002') . pack('Q< v v', 6, 100, 0x0011)
			. join('', map { $elt->(221, $_) } 1 .. 8),
		$sig . $mgmt->(0xb0, '020000000002') . "\0" x 6);
	@p = cook("$tmp/beacons.pcap", <<'LUA');
return { name = "B", packet_handler = function(_, pkt)
  local t = {}
  for i = 1, 8 do
    local e = pkt:getlayer("Dot11Elt", i)
    if e then t[i] = e.ID .. ":" .. e.len .. ":" .. e.info end
  end
  return { layers = pkt.layers, fixed = pkt.Dot11Beacon or pkt.Dot11ProbeResp,
           elts = table.concat(t, ","), ssid = pkt.Dot11Elt and pkt.Dot11Elt.info }
end }
LUA
	is_deeply([map { join ' ', @{ $_->{layers} } } @p],
		  ['RadioTap Dot11 Dot11Beacon Dot11Elt Dot11Elt Dot11Elt',
		   'RadioTap Dot11 Dot11ProbeReq Dot11Elt Dot11Elt',
		   'RadioTap Dot11 Dot11ProbeResp Dot11Elt Raw',
		   'RadioTap Dot11 Dot11ProbeResp ' . join(' ', ('Dot11Elt') x 6) . ' Raw',
		   'RadioTap Dot11 Raw'],
		  'a beacon, a probe request, probe responses (an element cut short, more than six), an authentication');
	is($p[0]{ssid}, "caf\xe9-net", 'the SSID, the first element');
	is($p[0]{elts}, "0:9:caf\xe9-net,1:4:\x82\x84\x8b\x96,3:1:\x06", 'each element: ID, len, info');
	my @tb = map { [split /\t/, $_, -1] } split /\n/,
		`$TSHARK -r $tmp/beacons.pcap -T fields -e wlan.ssid -e wlan.fixed.beacon -e wlan.fixed.capabilities -e wlan.fixed.timestamp 2>/dev/null`;
	for my $i (0, 2) {
		my ($f, $ssid) = @{ $p[$i] }{qw(fixed ssid)};
		utf8::encode($ssid);
		is_deeply([unpack('H*', $ssid), $f->{beacon_interval}, sprintf('0x%04x', $f->{cap}), $f->{timestamp}],
			  $tb[$i], "frame @{[$i + 1]}: SSID and fixed fields as tshark reads them");
	}
};

subtest 'PacketCountChef names the new layers as scapy displays them' => sub {
	my $r = run('kitchen', '-r', "$tmp/built.pcap", '-c', 'packetcount', '-p', '3600',
		    '--stdout', '-f', '', '-q');
	my ($d) = reverse grep { $_->{metadata}{driver} eq 'interval' } decode_lines($r->{out});
	my $c = $d->{payload}{packet_counts};
	ok($c->{$_}, "counted as $_") for 'IPv6 Extension Header - Hop-by-Hop Options Header',
		'IPv6 Option Header Routing', 'IPv6 Extension Header - Fragmentation header',
		'IPv6 Extension Header - Destination Options Header',
		'ICMPv6 Neighbor Discovery - Router Advertisement',
		'ICMPv6 Neighbor Discovery - Neighbor Solicitation',
		'ICMPv6 Neighbor Discovery - Neighbor Advertisement',
		'ICMPv6 Neighbor Discovery - Router Solicitation',
		'ICMPv6 Neighbor Discovery - Redirect', 'GRE', 'GRE PPTP', 'VXLAN';
	is($c->{GRE} + $c->{'GRE PPTP'}, 7, 'every GRE layer (one a packet), once');
};

# Every built frame cut at every length and overwritten at random places,
# through the chef that reads everything (t/chefs/touch.lua).
subtest 'built frames, cut and overwritten' => sub {
	my $seed = 4242;
	my $rnd = sub { $seed = ($seed * 1103515245 + 12345) % 2**31; $seed % $_[0] };
	my @frames = map { ref $_ ? $_->[0] : $_ } @BUILT;
	my @hostile;
	for my $f (@frames) {
		push @hostile, substr($f, 0, $_) for 0 .. length $f;
		for (1 .. 16) {
			my $m = $f;
			substr($m, $rnd->(length $m), 1) = chr $rnd->(256) for 0 .. $rnd->(4);
			push @hostile, $m;
		}
	}
	write_pcap("$tmp/hostile.pcap", 1, @hostile);
	my $r = run('kitchen', '-r', "$tmp/hostile.pcap", '-c', root() . '/t/chefs/touch.lua',
		    '--stdout', '-f', '', '-q', { timeout => 120 });
	is($r->{status}, 0, 'kitchen exits 0') or diag($r->{err});
	unlike($r->{err}, qr/runtime error|AddressSanitizer|error/i, 'no error') or diag($r->{err});
	is(scalar(payloads($r->{out})), scalar @hostile, 'one dumpling per frame');
};

done_testing();
