#!/usr/bin/perl
# The decoder on hostile input. A chef that reads every layer and field
# (t/chefs/touch.lua) runs over every capture in the corpus, over every
# packet of the small ones cut at every length and with bytes overwritten,
# and over hand-built packets for the DNS and ICMP-error edge cases, whose
# decoding is checked field by field. Run it with DUMPLINGS set to the
# sanitizer build to have every read checked.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use JSON::PP;
use TestLib;

need_corpus();
use Pcap;

my $chef = root() . '/t/chefs/touch.lua';
my $tmp = tmpdir();
my $n = 0;

# Run the touch chef over a capture: it must exit 0, cleanly, with one
# valid JSON dumpling per packet. Returns the payloads.
sub cook_file {
	my ($path, $what, $packets) = @_;
	my $r = run('kitchen', '-r', $path, '-c', $chef, '--stdout', '-f', '', '-q',
		    { timeout => 120 });
	is($r->{status}, 0, "$what: kitchen exits 0") or diag($r->{err});
	is($r->{signal}, 0, "$what: no signal");
	unlike($r->{err}, qr/runtime error|AddressSanitizer|LeakSanitizer/,
	       "$what: no sanitizer report") or diag($r->{err});
	my $j = JSON::PP->new->utf8;
	my (@payloads, $bad);
	for my $line (split /\n/, $r->{out}) {
		my $d = eval { $j->decode($line) };
		if (!$d) { $bad //= $line; next }
		push @payloads, $d->{payload};
	}
	ok(!defined $bad, "$what: every line is valid JSON") or diag(substr($bad, 0, 300));
	is(scalar @payloads, $packets, "$what: one dumpling per packet") if defined $packets;
	return @payloads;
}

sub cook {
	my ($what, @frames) = @_;
	my $path = "$tmp/hand-" . ++$n . '.pcap';
	write_pcap($path, 1, @frames);
	return cook_file($path, $what, scalar @frames);
}

# A tiny deterministic generator, the same on every platform.
my $seed = 12345;
sub rnd { $seed = ($seed * 1103515245 + 12345) % 2**31; return $seed % $_[0] }

subtest 'every capture in the corpus' => sub {
	my $dir = pcaps_dir();
	# (less the two with broken file headers, see t/10-decode-truth.t)
	my @files = grep { !m{/(pcap-invalid-version-1\.pcap|pcapng-invalid-vers-1\.pcapng)$} }
		sort glob("$dir/*.pcap $dir/*.pcapng");
	plan skip_all => "no captures in $dir" unless @files;
	for my $path (@files) {
		(my $name = $path) =~ s{.*/}{};
		my $frames = () = do { open my $fh, '<', "$path.truth.tsv"; <$fh> };
		cook_file($path, $name, $frames);
	}
};

# Small captures, cut at every length and overwritten at random places:
# each packet of each file becomes caplen + 1 truncations and 16 mutants.
my @SMALL = qw(dns_udp.pcap dns_tcp.pcap dns-zlip-1.pcap dns-invalid-names.pcap
	dns-two-responses.pcap dns-long-connection.pcap dns-badcookie.pcap
	icmp-destunreach-udp.pcap icmpv6.pcap icmp_dot1q.pcap ipv6-hbh-routing0.pcap
	ipv6_ext_headers.pcap ipv4-fragmented-1.pcap ipv4_invalid_total_length_2.pcap
	802.1ad_QinQ.pcap q-in-q.pcap linuxsll-arp.pcap linux_dlt_sll2.pcap
	tcp-handshake-nano.pcap LINKTYPE_RAW_ipv4.pcap LINKTYPE_IPV6.pcap pptp.pcap
	arp-who-has.pcap);

subtest 'truncated and mutated packets' => sub {
	for my $file (@SMALL) {
		next unless -e pcap($file);
		my ($linktype, $pkts) = read_pcap(pcap($file));
		my (@cut, @mutant);
		for my $p (@$pkts) {
			my ($bytes, $wirelen) = @$p;
			push @cut, [substr($bytes, 0, $_), $wirelen] for 0 .. length $bytes;
			next unless length $bytes;
			for (1 .. 16) {
				my $m = $bytes;
				substr($m, rnd(length $m), 1) = chr rnd(256) for 0 .. rnd(4);
				push @mutant, [$m, $wirelen];
			}
		}
		write_pcap("$tmp/cut-$file", $linktype, @cut);
		cook_file("$tmp/cut-$file", "$file cut at every length", scalar @cut);
		write_pcap("$tmp/mut-$file", $linktype, @mutant);
		cook_file("$tmp/mut-$file", "$file with bytes overwritten", scalar @mutant);
	}
};

# ---------------------------------------------------------------------------
# DNS, one message per packet over UDP port 53. The header is 12 bytes, so
# the first question's name starts at offset 12.

sub dns_frame { ether(0x0800, ipv4(17, udp(40000, 53, $_[0]))) }

sub dns_of {
	my ($what, $msg) = @_;
	my ($p) = cook($what, dns_frame($msg));
	return $p && $p->{fields}{DNS};
}

my $WWW = dns_name('www.example.com');

subtest 'DNS: names and compression' => sub {
	my $d = dns_of('compressed names', dns_message({
		qd => [dns_question($WWW, 1)],
		an => [dns_rr(dns_name('', \12), 1, pack('C4', 192, 0, 2, 7)),
		       dns_rr(dns_name('', \12), 5, dns_name('alias', \16))],
	}));
	is($d->{qd}[0]{qname}, 'www.example.com', 'question name, no trailing dot');
	is($d->{qd}[0]{qtype}, 1, 'question type');
	is($d->{an}[0]{rrname}, 'www.example.com', 'pointer to the question name');
	is($d->{an}[0]{rdata}, '192.0.2.7', 'A rdata as text');
	is($d->{an}[1]{rdata}, 'alias.example.com', 'a name in rdata ending in a pointer');

	$d = dns_of('root name', dns_message({ qd => [dns_question("\0", 2)] }));
	is($d->{qd}[0]{qname}, '.', 'the root name is "."');

	$d = dns_of('pointer to itself', dns_message({ qd => [dns_question(pack('n', 0xc00c), 1)] }));
	is($d->{qdcount}, 1, 'a self-pointing name: the header still reads');
	is(scalar @{ $d->{qd} }, 0, '... but the question is not reported');

	$d = dns_of('label, then pointer to its own start',
		    dns_message({ qd => [dns_question(dns_name('a', \12), 1)] }));
	is(scalar @{ $d->{qd} }, 0, 'a loop through a label is refused');

	# Question 1 (at 12, 6 bytes) points forward, at question 2's name.
	my $q1 = dns_question(dns_name('', \18), 1);
	$d = dns_of('pointer forward', dns_message({ qd => [$q1, dns_question($WWW, 1)] }));
	is_deeply([map { $_->{qname} } @{ $d->{qd} }], ['www.example.com', 'www.example.com'],
		  'a pointer forward is followed, as tshark and scapy do');

	# Question 1 points at question 2's name, which points back at 1's.
	$q1 = dns_question(dns_name('a', \20), 1);
	$d = dns_of('loop of two pointers', dns_message({ qd => [$q1, dns_question(dns_name('b', \12), 1)] }));
	is(scalar @{ $d->{qd} }, 0, 'a loop through two names is refused');

	my $two = dns_message({ qd => [dns_question($WWW, 1),
				       dns_question(dns_name('mail', \16), 15),
				       dns_question(dns_name('smtp', \33), 15)] });
	$d = dns_of('pointer chain', $two);
	is_deeply([map { $_->{qname} } @{ $d->{qd} }],
		  ['www.example.com', 'mail.example.com', 'smtp.mail.example.com'],
		  'a chain of pointers, each to an earlier name');

	for my $type (0x40, 0x80) {
		$d = dns_of(sprintf('label type 0x%02x', $type),
			    dns_message({ qd => [dns_question(pack('C', $type) . 'x' x 64 . "\0", 1)] }));
		is(scalar @{ $d->{qd} }, 0, sprintf('a label length of 0x%02x (over 63) is refused', $type));
	}

	my $l63 = 'x' x 63;
	$d = dns_of('name of 255 bytes', dns_message({
		qd => [dns_question(dns_name(join('.', $l63, $l63, $l63, 'y' x 61)), 1)] }));
	is(length $d->{qd}[0]{qname}, 253, 'a name of exactly 255 wire bytes is read');

	$d = dns_of('name of 257 bytes', dns_message({
		qd => [dns_question(dns_name(join('.', ($l63) x 4)), 1)] }));
	is(scalar @{ $d->{qd} }, 0, 'a name over 255 wire bytes is refused');

	$d = dns_of('name past the end', pack('n6', 1, 0x100, 1, 0, 0, 0) . "\x0aabc");
	is(scalar @{ $d->{qd} }, 0, 'a label running past the message is refused');

	$d = dns_of('counts that lie', dns_message({ qd => [dns_question($WWW, 1)],
						     counts => [5, 3, 2, 1] }));
	is($d->{qdcount}, 5, 'the header count is reported as sent');
	is(scalar @{ $d->{qd} }, 1, 'the sections hold what is really there');
	is(scalar @{ $d->{an} }, 0, '... and nothing more');
};

subtest 'DNS: record data' => sub {
	my $q = dns_question($WWW, 255);
	my $at = dns_name('', \12);
	my %cases = (
		'AAAA'  => [28, pack('H32', '20010db8000000000000000000000001'), '2001:db8::1'],
		'NS'    => [2, dns_name('ns1', \16), 'ns1.example.com'],
		'PTR'   => [12, dns_name('host.example.net'), 'host.example.net'],
		'MX'    => [15, pack('n', 10) . dns_name('mail', \16), '10 mail.example.com'],
		'SRV'   => [33, pack('n3', 0, 5, 5060) . dns_name('sip', \16), '0 5 5060 sip.example.com'],
		'SOA'   => [6, dns_name('ns1', \16) . dns_name('hostmaster', \16)
				. pack('N5', 2024010101, 7200, 3600, 1209600, 300),
			    'ns1.example.com hostmaster.example.com 2024010101 7200 3600 1209600 300'],
		'TXT'   => [16, pack('C/a* C/a*', 'v=spf1 ', '-all'), 'v=spf1 -all'],
		'empty TXT' => [16, '', ''],
		# Other types keep their raw bytes (bytes that are not UTF-8
		# reach JSON as the code point of the same value).
		'unknown type' => [99, "\x01\x02\xff", "\x01\x02\x{ff}"],
		'A with a bad length' => [1, "\xc0\x00\x02", "\x{c0}\0\x02"],
	);
	for my $name (sort keys %cases) {
		my ($type, $rdata, $text) = @{ $cases{$name} };
		my $d = dns_of($name, dns_message({ qd => [$q], an => [dns_rr($at, $type, $rdata)] }));
		is($d->{an}[0]{type}, $type, "$name: type");
		is($d->{an}[0]{rdata}, $text, "$name: rdata as text");
	}

	my %broken = (
		'rdlength past the end' => dns_rr($at, 1, pack('C4', 192, 0, 2, 1), 200),
		'TXT string past its rdata' => dns_rr($at, 16, pack('C a3', 9, 'abc')),
		'name past its rdata' => dns_rr($at, 5, dns_name('alias.example.org'), 4),
		'SOA numbers missing' => dns_rr($at, 6, dns_name('ns1', \16) . dns_name('h', \16) . 'x'),
	);
	for my $name (sort keys %broken) {
		my $d = dns_of($name, dns_message({ qd => [$q], an => [$broken{$name}] }));
		is(scalar @{ $d->{qd} }, 1, "$name: the question before it stays");
		is(scalar @{ $d->{an} }, 0, "$name: the record is not reported");
	}
};

subtest 'DNS: transports' => sub {
	my $msg = dns_message({ qd => [dns_question($WWW, 1)] });
	my ($p) = cook('DNS over TCP', ether(0x0800, ipv4(6, tcp(40000, 53, 0x18,
		pack('n', length $msg) . $msg))));
	is($p->{fields}{DNS}{qd}[0]{qname}, 'www.example.com', 'DNS over TCP, after the length prefix');

	($p) = cook('short DNS', dns_frame("\x12\x34\x01\x00"));
	is_deeply($p->{layers}, [qw(Ethernet IP UDP Raw)], 'a message under 12 bytes is left raw');

	($p) = cook('mDNS', ether(0x0800, ipv4(17, udp(5353, 5353, $msg))));
	ok((grep { $_ eq 'DNS' } @{ $p->{has} }), 'mDNS (5353) is DNS');
};

# ---------------------------------------------------------------------------
# The datagram quoted in an ICMP error is decoded into scapy's *error layers.

subtest 'ICMP errors and other layer cases' => sub {
	my $msg = dns_message({ qd => [dns_question($WWW, 1)] });
	my $orig = ipv4(17, udp(53, 40000, $msg), { src => '192.0.2.2', dst => '192.0.2.9' });
	my ($p) = cook('port unreachable', ether(0x0800, ipv4(1, icmp(3, 3, $orig),
		{ src => '192.0.2.9', dst => '192.0.2.2' })));
	is_deeply($p->{layers}, [qw(Ethernet IP ICMP IPerror UDPerror DNS)],
		  'ICMP error: the quoted datagram as IPerror / UDPerror');
	is($p->{fields}{IP}{src}, '192.0.2.9', 'IP is the outer header');
	is($p->{fields}{IPerror}{dst}, '192.0.2.9', 'IPerror is the quoted one');
	is($p->{fields}{UDPerror}{sport}, 53, 'UDPerror ports');
	ok(!(grep { $_ eq 'UDP' } @{ $p->{has} }), 'no UDP layer of its own');

	($p) = cook('quote of a quote', ether(0x0800, ipv4(1, icmp(11, 0,
		ipv4(1, icmp(3, 1, $orig))))));
	is_deeply($p->{layers}, [qw(Ethernet IP ICMP IPerror ICMPerror Raw)],
		  'an error quoting an error: the inner quote is left raw');

	($p) = cook('ICMP echo', ether(0x0800, ipv4(1, icmp(8, 0, 'ping'))));
	is_deeply($p->{layers}, [qw(Ethernet IP ICMP Raw)], 'an echo carries no quote');

	($p) = cook('ICMPv6 time exceeded', ether(0x86dd, ipv6(58, icmpv6(3, 0,
		ipv6(6, tcp(443, 40000, 0x12, ''))))));
	is_deeply($p->{layers}, [qw(Ethernet IPv6 ICMPv6 IPerror6 TCPerror)],
		  'ICMPv6 error: IPerror6 / TCPerror');
	is($p->{fields}{TCPerror}{flags}, 'SA', 'TCPerror flags');

	my $syn = ipv4(6, tcp(40000, 443, 0x02, ''));
	($p) = cook('8-byte TCP quote', ether(0x0800, ipv4(1, icmp(3, 1, substr($syn, 0, 28)))));
	is_deeply($p->{layers}, [qw(Ethernet IP ICMP IPerror TCPerror)],
		  'an ICMP error quoting 8 bytes of TCP (RFC 792) gives a partial TCPerror');
	is_deeply($p->{fields}{TCPerror}, { sport => 40000, dport => 443, seq => 1 },
		  '... of ports and sequence number only');

	($p) = cook('quote cut short', ether(0x0800, ipv4(1, icmp(3, 3, substr($orig, 0, 12)))));
	is_deeply($p->{layers}, [qw(Ethernet IP ICMP Raw)], 'a quote too short for its header is raw');

	($p) = cook('RARP', ether(0x8035, pack('n n C C n H12 C4 H12 C4', 1, 0x0800, 6, 4, 3,
		'0200000000aa', 192, 0, 2, 1, '0200000000aa', 0, 0, 0, 0)));
	is($p->{fields}{ARP}{op}, 3, 'RARP decodes as ARP (op 3)');

	($p) = cook('ARP over InfiniBand', ether(0x0806, pack('n n C C n a20 C4 a20 C4', 32, 0x0800,
		20, 4, 1, 'h' x 20, 192, 0, 2, 1, 'i' x 20, 192, 0, 2, 2)));
	is_deeply([@{ $p->{fields}{ARP} }{qw(psrc pdst hwsrc)}], ['192.0.2.1', '192.0.2.2', undef],
		  'ARP with 20-byte hardware addresses: the IPv4 addresses are read');

	($p) = cook('0x9100 tag', ether(0x9100, pack('n n', 42, 0x0800) . ipv4(17, udp(1, 2, ''))));
	is_deeply($p->{layers}, [qw(Ethernet Dot1Q IP UDP)], 'a 0x9100 tag is 802.1Q-shaped: Dot1Q');
	is($p->{fields}{Dot1Q}{vlan}, 42, '... with its VLAN id');

	($p) = cook('IPv4 total length 0', ether(0x0800, ipv4(17, udp(1, 2, 'abc'), { len => 0 })));
	is_deeply($p->{layers}, [qw(Ethernet IP UDP Raw)],
		  'total length 0 (segmentation offload): the capture bounds the datagram');

	($p) = cook('IPv4 total length under its header', ether(0x0800, ipv4(17, udp(1, 2, ''), { len => 19 })));
	is_deeply($p->{layers}, [qw(Ethernet Raw)], 'total length 19: not an IPv4 header');

	my $opts = ether(0x0800, ipv4(17, udp(1, 2, ''), { ihl => 15 }));
	($p) = cook('IPv4 options cut', [substr($opts, 0, 14 + 30), length $opts]);
	is_deeply($p->{layers}, [qw(Ethernet IP)], 'options cut by the snaplen: IP, nothing behind');
	is($p->{fields}{IP}{src}, '192.0.2.1', '... its fixed header read');

	my $odd = tcp(1, 2, 0x02, '');
	substr($odd, 12, 1) = "\x5f";	# 5 words, reserved bits 111, NS (AE) set
	($p) = cook('TCP reserved bits', ether(0x0800, ipv4(6, $odd)));
	is_deeply([@{ $p->{fields}{TCP} }{qw(dataofs reserved flags)}], [5, 7, 'SN'],
		  'TCP: the reserved bits apart, NS among the flags, as in scapy');

	($p) = cook('6in4', ether(0x0800, ipv4(41, ipv6(17, udp(1, 53, $msg)))));
	is_deeply($p->{layers}, [qw(Ethernet IP IPv6 UDP DNS)], 'IPv6 in IPv4: both headers, then UDP');

	($p) = cook('4in6', ether(0x86dd, ipv6(4, ipv4(6, tcp(1, 2, 0x02, '')))));
	is_deeply($p->{layers}, [qw(Ethernet IPv6 IP TCP)], 'IPv4 in IPv6: both headers, then TCP');

	($p) = cook('4in4', ether(0x0800, ipv4(4, ipv4(17, udp(1, 2, '')))));
	is_deeply($p->{layers}, [qw(Ethernet IP IP UDP)], 'IPv4 in IPv4: both headers, then UDP');

	($p) = cook('later fragment', ether(0x0800, ipv4(17, udp(1, 53, $msg), { frag => 10 })));
	is_deeply($p->{layers}, [qw(Ethernet IP Raw)], 'a later fragment is not decoded as UDP');
};

subtest 'link types and heads from the field' => sub {
	my $msg = dns_message({ flags => 0x0100, qd => [dns_question(dns_name('example.com'), 1)] });
	my $dgram = ipv4(17, udp(1, 53, $msg));

	# OpenBSD writes its DLT_RAW, 14, into files; tshark reads raw IP
	my $path = "$tmp/openbsd-raw.pcap";
	write_pcap($path, 14, $dgram, ipv6(17, udp(1, 53, $msg)));
	my @p = cook_file($path, 'link-type 14', 2);
	is_deeply($p[0]{layers}, [qw(IP UDP DNS)], 'link-type 14 is raw IP: IPv4');
	is_deeply($p[1]{layers}, [qw(IPv6 UDP DNS)], '... and IPv6');

	# pcap's seconds are unsigned: 0xfffffff0 is in 2106, not in 1969
	$path = "$tmp/after-2038.pcap";
	write_pcap($path, 101, [$dgram, length $dgram, 0xfffffff0]);
	@p = cook_file($path, 'a stamp past 2038', 1);
	is($p[0]{time}, 4294967280, 'a pcap stamp past 2038 reads as tshark reads it');

	# A line that is no field, then a continuation: the continuation is
	# that line's, not the field's before it
	my $req = "GET / HTTP/1.1\r\nHost: a.example\r\nnot a field\r\n continued\r\n"
		. "Accept: */*\r\n more\r\n\r\n";
	my ($p) = cook('continuation after a line that is no field',
		       ether(0x0800, ipv4(6, tcp(40000, 80, 0x18, $req))));
	is($p->{fields}{HTTPRequest}{headers}{host}, 'a.example',
	   'a continuation after a line that is no field does not join the field before');
	is($p->{fields}{HTTPRequest}{headers}{accept}, '*/* more', '... and one after a field does');
	my $many = "GET / HTTP/1.1\r\n" . join('', map { "X-$_: v\r\n" } 1 .. 256)
		. "X-Over: 1\r\n folded\r\n\r\n";
	($p) = cook('continuation past the fields kept', ether(0x0800, ipv4(6, tcp(40001, 80, 0x18, $many))));
	is($p->{fields}{HTTPRequest}{headers}{'x-256'}, 'v',
	   'the last field kept does not take in the lines past the limit');
};

done_testing();
