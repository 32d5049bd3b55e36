package NetFrames;
# Frames built byte by byte for the network-level layers no capture in the
# corpus has: TCP options, IPv6 extension headers, neighbour discovery,
# GRE, VXLAN, IP in IP, MPLS and PPPoE. t/13-decode-net.t decodes them
# (and has tshark decode them too), and fuzz/seeds.sh makes them seeds for fuzz/decode.c.
# frames() returns them in a fixed order, which t/13 counts on: a frame,
# or [bytes, wirelen] for one cut by the snapshot length.
use strict;
use warnings;
use Exporter 'import';
use Pcap;

our @EXPORT = qw(frames);

# tcp_with(OPTIONS, PAYLOAD): a TCP segment whose header carries OPTIONS
# (padded with zeros to a multiple of four bytes).
sub tcp_with {
	my ($opts, $payload) = @_;
	$opts .= "\0" x (-length($opts) % 4);
	my $t = tcp(40000, 80, 0x10, '');
	substr($t, 12, 1) = chr((5 + length($opts) / 4) << 4);
	return $t . $opts . ($payload // '');
}

# ext(NH, BODY): an IPv6 extension header (hop-by-hop, routing or
# destination options) whose first two bytes are NH and the length BODY
# gives it, padded to a multiple of eight; frag(NH, OFFSET, M, ID).
sub ext {
	my ($nh, $body) = @_;
	$body .= "\0" x (-(2 + length $body) % 8);
	return pack('C C', $nh, (2 + length($body)) / 8 - 1) . $body;
}
sub frag { pack('C C n N', $_[0], 0, $_[1] << 3 | $_[2], $_[3]) }
my @A6 = map { pack('H32', $_) } qw(20010db8000000000000000000000011
	20010db8000000000000000000000022 20010db8000000000000000000000033);

# nd(TYPE, BODY, OPTIONS...): a neighbour discovery message (BODY after
# the ICMPv6 header's first four bytes) in IPv6 with hop limit 255.
sub nd {
	my ($type, $body, @opts) = @_;
	return ether(0x86dd, ipv6(58, pack('C C n', $type, 0, 0) . $body . join '', @opts));
}
# ndopt(TYPE, BODY): an option padded to a multiple of 8 bytes.
sub ndopt {
	my ($type, $body) = @_;
	$body .= "\0" x (-(2 + length $body) % 8);
	return pack('C C', $type, (2 + length $body) / 8) . $body;
}
sub dnsname { join('', map { pack('C/a*', $_) } split /\./, $_[0]) . "\0" }
my $MAC = pack('H12', '0200000000aa');

# Inner datagrams and frames for the tunnels.
my $in4 = ipv4(17, udp(1053, 53, dns_message({ qd => [dns_question(dns_name('in.example'), 1)] })),
	       { src => '10.0.0.1', dst => '10.0.0.2' });
my $in6 = ipv6(6, tcp_with("\x02\x04\x05\x78", 'inner'));
my $arp = pack('n n C C n H12 C4 H12 C4', 1, 0x0800, 6, 4, 1, '02000000cccc', 10, 1, 1, 1,
	       '000000000000', 10, 1, 1, 2);
my $frame = pack('H12 H12', '02000000dddd', '02000000cccc');
my @TUNNELS = (
	# GRE with checksum, key and sequence number, carrying IPv4, UDP, DNS.
	ether(0x0800, ipv4(47, gre(0x0800, $in4, { checksum => 0x1234, key => 0xdeadbeef, seq => 7 }))),
	# Plain GRE carrying IPv6 and TCP, over IPv6.
	ether(0x86dd, ipv6(47, gre(0x86dd, $in6))),
	# Transparent Ethernet bridging (NVGRE-like, a key): a frame with a
	# VLAN tag, then IPv4 and an ICMP echo.
	ether(0x0800, ipv4(47, gre(0x6558, $frame . pack('n n n', 0x8100, 42, 0x0800)
		. ipv4(1, icmp(8, 0, 'ping'), { src => '10.9.9.9' }), { key => 0x00123400 }))),
	# PPTP's enhanced GRE (version 1): payload length and call id in the
	# key, a sequence and an acknowledgement number, then PPP (Raw).
	ether(0x0800, ipv4(47, gre(0x880b, "\xff\x03\xc0\x21\x01\x01\x00\x04",
		{ version => 1, key => (8 << 16) | 99, seq => 3, ack => 2 }))),
	# Source routes (RFC 1701): GRE, then Raw.
	ether(0x0800, ipv4(47, gre(0x0800, "\x00\x01\x00\x00" . $in4, { offset => 0, flags => 0x4000 }))),
	# GRE in GRE: the inner GRE stays Raw.
	ether(0x0800, ipv4(47, gre(0x0800, ipv4(47, gre(0x0800, $in4)), { key => 1 }))),
	# VXLAN carrying IPv4, UDP, DNS.
	ether(0x0800, ipv4(17, udp(50000, 4789, vxlan(5000, ether(0x0800, $in4))))),
	# VXLAN over IPv6 carrying IPv6 and a neighbour solicitation.
	ether(0x86dd, ipv6(17, udp(50001, 4789, vxlan(0xabcdef,
		nd(135, pack('N', 0) . $A6[2], ndopt(1, $MAC)))))),
	# VXLAN carrying ARP.
	ether(0x0800, ipv4(17, udp(50002, 4789, vxlan(7, $frame . pack('n', 0x0806) . $arp)))),
	# VXLAN in VXLAN: the inner one stays Raw, after its UDP header.
	ether(0x0800, ipv4(17, udp(50003, 4789, vxlan(8, ether(0x0800,
		ipv4(17, udp(50004, 4789, vxlan(9, ether(0x0800, $in4))), { src => '10.5.5.5' })))))),
	# IPv4 in IPv4, IPv6 in IPv6; IP in IP in IP, whose third IP header
	# has nowhere to go and stays Raw.
	ether(0x0800, ipv4(4, ipv4(6, tcp_with('', 'ipip'), { src => '10.7.7.7' }))),
	ether(0x86dd, ipv6(41, ipv6(17, udp(7, 8, 'six')))),
	ether(0x0800, ipv4(4, ipv4(4, $in4, { src => '10.8.8.8' }))),
	# An ICMP error quoting a GRE packet: no tunnel in a quote.
	ether(0x0800, ipv4(1, icmp(3, 1, substr(ipv4(47, gre(0x0800, $in4)), 0, 48)))),
	# GRE whose optional fields the snapshot length cut.
	[substr(ether(0x0800, ipv4(47, gre(0x0800, $in4, { key => 5, seq => 6 }))), 0, 14 + 20 + 8),
	 14 + 20 + 12 + length $in4],
);

sub frames { return (
	# SACK blocks, and an unknown kind.
	ether(0x0800, ipv4(6, tcp_with("\x01\x01\x05\x12" . pack('N4', 1000, 2000, 3000, 4000)
		. "\x1e\x04\xab\xcd", 'data'))),
	# MD5 signature, then End of Option List and its padding.
	ether(0x0800, ipv4(6, tcp_with("\x13\x12" . ('m' x 16) . "\x00"))),
	# User timeout, then an option whose length runs past the header.
	ether(0x0800, ipv4(6, tcp_with("\x1c\x04\x80\x10\xfd\x09ab"))),
	# An option length of 1 (it would never move on), then MSS.
	ether(0x0800, ipv4(6, tcp_with("\x08\x01\x02\x04\x05\xb4"))),
	# Timestamps over IPv6, and a payload.
	ether(0x86dd, ipv6(6, tcp_with("\x01\x01\x08\x0a" . pack('N2', 7, 8), 'x' x 100))),
	# Cut inside the options by the snapshot length: the payload length
	# is still the IP header's count.
	[substr(ether(0x0800, ipv4(6, tcp_with("\x02\x04\x05\xb4\x01\x03\x03\x07", 'y' x 50))), 0, 14 + 20 + 24),
	 14 + 20 + 28 + 50],
	# A router alert and a jumbo payload option (Pad1 between), routing
	# of type 2 (mobile IPv6), destination options, then TCP.
	ether(0x86dd, ipv6(0, ext(43, "\x05\x02\x00\x00\x00\xc2\x04" . pack('N', 70000))
		. ext(60, "\x02\x01" . pack('N', 0) . $A6[0]) . ext(6, "\x01\x02\x00\x00")
		. tcp_with('', 'abc'))),
	# Segment routing (type 4): two segments, then a TLV the address
	# count leaves out.
	ether(0x86dd, ipv6(43, ext(17, "\x04\x01\x01\x00\x00\x00" . $A6[1] . $A6[2]
		. "\x01\x06" . "\0" x 6) . udp(1000, 2000, 'seg'))),
	# A first fragment, its UDP header decoded; a later one, left raw.
	ether(0x86dd, ipv6(44, frag(17, 0, 1, 0xabcd) . udp(1000, 2000, 'first part'))),
	ether(0x86dd, ipv6(44, frag(17, 185, 0, 0xabcd) . 'the rest')),
	# An AH header (walked, no layer of its own) between routing and UDP.
	ether(0x86dd, ipv6(43, ext(51, "\x00\x00" . pack('N', 0) . $A6[0])
		. pack('C C n N N', 17, 1, 0, 0x100, 1) . udp(1, 2, 'ah'))),
	# An extension header cut by the snapshot length.
	[substr(ether(0x86dd, ipv6(60, ext(17, "\x01\x0c" . "\0" x 12) . udp(1, 2, 'x'))), 0, 14 + 40 + 10),
	 14 + 40 + 16 + 9],
	# A router advertisement with every option decoded, and one that is
	# not (a nonce).
	nd(134, pack('C C n N N', 64, 0xc8, 1800, 30000, 1000),
	   ndopt(1, $MAC), ndopt(5, pack('n N', 0, 1480)), ndopt(7, pack('n N', 0, 600000)),
	   ndopt(8, pack('n n n', 0, 10, 1200)),
	   ndopt(3, pack('C C N N N', 64, 0xe0, 86400, 14400, 0) . $A6[0]),
	   ndopt(24, pack('C C N', 48, 0x08, 3600) . substr($A6[1], 0, 8)),
	   ndopt(25, pack('n N', 0, 300) . $A6[1] . $A6[2]),
	   ndopt(31, pack('n N', 0, 600) . dnsname('example.com') . dnsname('lab.example.org')),
	   ndopt(14, 'nonce!')),
	# A redirect, with the start of the packet it redirects.
	nd(137, pack('N', 0) . $A6[0] . $A6[1], ndopt(2, $MAC),
	   ndopt(4, "\0" x 6 . substr(ipv6(17, udp(1, 2, 'redirected')), 0, 40))),
	# Solicitations: one with an option of length 0 (which ends the
	# options), one cut inside its fixed part.
	nd(135, pack('N', 0) . $A6[2], ndopt(1, $MAC), pack('C C', 1, 0) . $MAC),
	[substr(nd(135, pack('N', 0) . $A6[2]), 0, 14 + 40 + 12), 14 + 40 + 24],
	nd(133, pack('N', 0), ndopt(1, $MAC . 'ib' x 5)),
	nd(136, pack('N', 0x60000000) . $A6[2], ndopt(2, $MAC)),
	@TUNNELS,
	# An ICMP error quoting the start of a TCP segment of 1000 bytes, its
	# header whole (with an option): the quote's length is the original's.
	ether(0x0800, ipv4(1, icmp(3, 4, substr(ipv4(6, tcp_with("\x02\x04\x05\xb4", 'q' x 976)),
		0, 20 + 24 + 8)))),
	# Two MPLS labels over IPv4; a PPPoE session carrying IPv6; a label
	# stack cut by the snapshot length.
	ether(0x8847, pack('N N', 100 << 12 | 64, 200 << 12 | 0x100 | 63) . ipv4(17, udp(5, 53, 'm'))),
	ether(0x8864, pack('C C n n/a*', 0x11, 0, 7, pack('n', 0x57) . ipv6(17, udp(6, 53, 'p' x 32)))),
	[substr(ether(0x8847, pack('N N', 1 << 12, 2 << 12 | 0x100) . ipv4(17, udp(5, 53, 'c'))), 0, 20),
	 14 + 8 + 29],
) }

1;
