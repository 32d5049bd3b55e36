#!/usr/bin/perl
# IP fragment reassembly, on captures built here: a UDP datagram carrying
# DNS and a TCP segment, cut into fragments for IPv4 and IPv6 and fed in
# every order. Every fragment is a packet of its own, decoded up to its IP
# layer (IPv6: its fragment header) with its payload as Raw; the one that
# completes a datagram carries the layers above, decoded from the whole
# datagram. Then the nasty cases, each checked with the counts the kitchen
# reports in its KitchenStatusChef dumpling (fragments).
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use TestLib;
use Pcap;

my $chef = root() . '/t/chefs/frag.lua';
my $tmp = tmpdir();
my $n = 0;

sub hex_of { unpack('H*', $_[0]) }

# An IPv4 fragment: its id, protocol, offset in bytes, more-fragments
# flag and payload; {src} another source address.
sub ip4frag {
	my ($id, $proto, $offset, $more, $payload, $o) = @_;
	$o //= {};
	my $flags = ($more ? 0x2000 : 0) | $offset / 8;
	return ether(0x0800, pack('C C n n n C C n a4 a4', 0x45, 0, 20 + length $payload, $id,
				  $flags, 64, $proto, 0,
				  pack('C4', split /\./, $o->{src} // '192.0.2.1'),
				  pack('C4', 192, 0, 2, 2)) . $payload);
}

# An IPv6 fragment; {pre} extension headers before the fragment header
# (hop-by-hop and destination options: [type, ...]).
sub ip6frag {
	my ($id, $nh, $offset, $more, $payload, $o) = @_;
	$o //= {};
	my @pre = @{ $o->{pre} // [] };
	my $first = @pre ? $pre[0] : 44;
	my $ext = '';
	for my $i (0 .. $#pre) {
		$ext .= pack('C C a6', $i < $#pre ? $pre[$i + 1] : 44, 0, "\x01\x04\0\0\0\0");
	}
	$ext .= pack('C C n N', $nh, 0, $offset | ($more ? 1 : 0), $id);
	return ether(0x86dd, pack('N n C C', 0x60000000, length($ext) + length $payload, $first, 64)
		. pack('H32', '20010db8000000000000000000000001')
		. pack('H32', '20010db8000000000000000000000002') . $ext . $payload);
}

# Cut a datagram's payload into pieces of these sizes (the rest last):
# [offset, more, bytes] each.
sub cut {
	my ($payload, @sizes) = @_;
	my ($off, @pieces) = (0);
	for my $size (@sizes) {
		push @pieces, [$off, 1, substr($payload, $off, $size)];
		$off += $size;
	}
	push @pieces, [$off, 0, substr($payload, $off)];
	return @pieces;
}

sub permutations {
	my (@items) = @_;
	return [] unless @items;
	my @all;
	for my $i (0 .. $#items) {
		my @rest = @items;
		my ($x) = splice @rest, $i, 1;
		push @all, [$x, @$_] for permutations(@rest);
	}
	return @all;
}

# Cook frames with the test chef: the payloads of its dumplings, and the
# fragments part of the kitchen's last report.
sub cook {
	my ($frames, @options) = @_;
	my $path = "$tmp/frag-" . ++$n . '.pcap';
	write_pcap($path, 1, @$frames);
	my $r = run('kitchen', '-r', $path, '-c', $chef, '--stdout', '-f', '', '-q',
		    '--status-interval', 1000, @options, { timeout => 120 });
	is($r->{status}, 0, "kitchen $n exits 0") or diag($r->{err});
	my @docs = decode_lines($r->{out});
	my ($health) = grep { $_->{metadata}{chef} eq 'KitchenStatusChef' } @docs;
	my @got = map { $_->{payload} } grep { $_->{metadata}{chef} eq 'FragChef' } @docs;
	is(scalar @got, scalar @$frames, 'one dumpling a frame');
	return (\@got, $health->{payload}{fragments});
}

sub counts_are {
	my ($f, $want, $what) = @_;
	my %got = map { $_ => $f->{$_} } keys %$want;
	is_deeply(\%got, $want, $what) or diag(explain($f));
}

my $dns = dns_message({ id => 0x4242, flags => 0x8180,
	qd => [dns_question(dns_name('fragmented.example.com'), 16)],
	an => [map { dns_rr(dns_name('', \12), 16, pack('C/a*', "text $_ " . 'x' x 40)) } 1 .. 2] });
my $udp = udp(40000, 53, $dns);
my $tcp_payload = ('z' x 50) . 'end';
my $tcp = tcp(1234, 8080, 0x18, $tcp_payload);

# Every order: each permutation a datagram of its own id. Returns the
# frames, and for each the piece it carries and whether it completes.
sub every_order {
	my ($make, $pieces, $base) = @_;
	my (@frames, @expect);
	my @perms = permutations(0 .. $#$pieces);
	for my $k (0 .. $#perms) {
		my @order = @{ $perms[$k] };
		for my $j (0 .. $#order) {
			my $p = $pieces->[ $order[$j] ];
			push @frames, $make->($base + $k, @$p);
			push @expect, [$p, $j == $#order, "order @order, fragment $order[$j]"];
		}
	}
	return (\@frames, \@expect, scalar @perms);
}

sub check_orders {
	my ($what, $make, $payload, $sizes, $held, $done, $check_done) = @_;
	my @pieces = cut($payload, @$sizes);
	my ($frames, $expect, $nperms) = every_order($make, \@pieces, 100);
	my ($got, $f) = cook($frames);
	my (@bad);
	for my $i (0 .. $#$expect) {
		my ($piece, $completes, $label) = @{ $expect->[$i] };
		my $g = $got->[$i];
		my $ok = $g->{caplen} == length $frames->[$i] && $g->{rawlen} == $g->{caplen};
		if ($completes) {
			$ok &&= $g->{layers} eq $done && $g->{reassembled} == @pieces
				&& !$g->{overlap} && !$g->{conflict} && $check_done->($g);
		} else {
			$ok &&= $g->{layers} eq $held && !defined $g->{reassembled}
				&& ($g->{load} // '') eq hex_of($piece->[2]);
		}
		push @bad, "$label: " . explain($g) unless $ok;
	}
	is_deeply(\@bad, [], "$what: every order of " . @pieces . ' fragments')
		or diag(@bad[0 .. ($#bad < 2 ? $#bad : 2)]);
	counts_are($f, { fragments => scalar @$frames, reassembled => $nperms, pending => 0,
			 unfinished => 0, overlaps => 0, inconsistent => 0, memory => 0 },
		   "$what: the counts");
}

my $dns_done = sub {
	my ($g) = @_;
	return $g->{udp} && $g->{udp}{sport} == 40000 && $g->{udp}{len} == length $udp
		&& ($g->{qname} // '') eq 'fragmented.example.com' && $g->{ancount} == 2
		&& !defined $g->{load};
};
my $tcp_done = sub {
	my ($g) = @_;
	return $g->{tcp} && $g->{tcp}{sport} == 1234 && $g->{tcp}{dport} == 8080
		&& $g->{tcp}{flags} eq 'PA' && ($g->{load} // '') eq hex_of($tcp_payload);
};

check_orders('IPv4 UDP/DNS', sub { ip4frag($_[0], 17, @_[1 .. 3]) }, $udp, [32, 32, 24],
	     'Ethernet/IP/Raw', 'Ethernet/IP/UDP/DNS', $dns_done);
check_orders('IPv6 UDP/DNS', sub { ip6frag($_[0], 17, @_[1 .. 3]) }, $udp, [32, 32, 24],
	     'Ethernet/IPv6/IPv6ExtHdrFragment/Raw', 'Ethernet/IPv6/IPv6ExtHdrFragment/UDP/DNS',
	     $dns_done);
check_orders('IPv4 TCP', sub { ip4frag($_[0], 6, @_[1 .. 3]) }, $tcp, [24, 24],
	     'Ethernet/IP/Raw', 'Ethernet/IP/TCP/Raw', $tcp_done);
check_orders('IPv6 TCP', sub { ip6frag($_[0], 6, @_[1 .. 3]) }, $tcp, [24, 24],
	     'Ethernet/IPv6/IPv6ExtHdrFragment/Raw', 'Ethernet/IPv6/IPv6ExtHdrFragment/TCP/Raw',
	     $tcp_done);

# After other extension headers, the fragment header is found, and so
# are the ones in the reassembled part.
{
	my @p = cut($udp, 40);
	my ($got, $f) = cook([map { ip6frag(7, 17, @$_, { pre => [0, 60] }) } @p]);
	is($got->[1]{layers}, 'Ethernet/IPv6/IPv6ExtHdrHopByHop/IPv6ExtHdrDestOpt/'
	   . 'IPv6ExtHdrFragment/UDP/DNS', 'IPv6: the fragment header after two others');
	is($got->[1]{qname}, 'fragmented.example.com', '... and the datagram behind it');
	is($got->[0]{layers}, 'Ethernet/IPv6/IPv6ExtHdrHopByHop/IPv6ExtHdrDestOpt/'
	   . 'IPv6ExtHdrFragment/Raw', '... the first fragment held');
}

# An atomic fragment (offset 0, no more: RFC 6946) is a whole datagram.
{
	my ($got, $f) = cook([ip6frag(8, 17, 0, 0, $udp)]);
	is($got->[0]{layers}, 'Ethernet/IPv6/IPv6ExtHdrFragment/UDP/DNS', 'an atomic fragment is decoded whole');
	ok(!defined $got->[0]{reassembled}, '... with nothing reassembled');
	is($f->{fragments}, 0, '... and never goes to the reassembler');
}

# Overlaps: the bytes that arrived first are kept, and the packet says so.
{
	my $payload = udp(40000, 9999, 'A' x 40);
	my $other = substr($payload, 0, 16) . ('B' x 16);
	my ($got, $f) = cook([ip4frag(9, 17, 0, 1, substr($payload, 0, 32)),
			      ip4frag(9, 17, 16, 1, substr($other, 16, 16)),
			      ip4frag(9, 17, 32, 0, substr($payload, 32))]);
	is($got->[2]{layers}, 'Ethernet/IP/UDP/Raw', 'overlapping fragments complete');
	is($got->[2]{load}, hex_of('A' x 40), '... with the bytes that arrived first');
	ok($got->[2]{overlap} && $got->[2]{conflict}, '... flagged as overlapping, with other bytes');
	is($got->[2]{reassembled}, 3, '... from 3 fragments');
	counts_are($f, { overlaps => 1, overlaps_differing => 1, reassembled => 1 },
		   'overlaps with other bytes are counted');

	($got, $f) = cook([ip4frag(9, 17, 0, 1, substr($payload, 0, 24)),
			   ip4frag(9, 17, 0, 1, substr($payload, 0, 24)),
			   ip4frag(9, 17, 24, 0, substr($payload, 24))]);
	ok($got->[2]{overlap} && !$got->[2]{conflict}, 'a duplicate overlaps, with the same bytes');
	is($got->[2]{load}, hex_of('A' x 40), '... and changes nothing');
	counts_are($f, { overlaps => 1, overlaps_differing => 0, reassembled => 1 },
		   '... counted as an overlap only');

	# A duplicate of the last fragment ending elsewhere: the first end holds.
	($got, $f) = cook([ip4frag(9, 17, 24, 0, substr($payload, 24)),
			   ip4frag(9, 17, 24, 0, substr($payload, 24) . 'CCCCCCCC'),
			   ip4frag(9, 17, 0, 1, substr($payload, 0, 24))]);
	is($got->[2]{load}, hex_of('A' x 40), 'two last fragments: the first one\'s end holds');
	counts_are($f, { inconsistent => 1, overlaps => 1, reassembled => 1 }, '... the other counted');
}

# Fragments of different protocols with the same id are other datagrams.
{
	my @u = cut($udp, 32);
	my @t = cut($tcp, 24);
	my ($got, $f) = cook([ip4frag(5, 17, @{ $u[0] }), ip4frag(5, 6, @{ $t[0] }),
			      ip4frag(5, 6, @{ $t[1] }), ip4frag(5, 17, @{ $u[1] })]);
	is($got->[2]{layers}, 'Ethernet/IP/TCP/Raw', 'same id, TCP: its own datagram');
	is($got->[3]{layers}, 'Ethernet/IP/UDP/DNS', 'same id, UDP: its own datagram');
	is($f->{reassembled}, 2, '... both reassembled');
}

# A zero-length fragment in the middle changes nothing but the count.
{
	my @p = cut($udp, 32);
	my ($got) = cook([ip4frag(6, 17, @{ $p[0] }), ip4frag(6, 17, 32, 1, ''),
			  ip4frag(6, 17, @{ $p[1] })]);
	is($got->[2]{qname}, 'fragmented.example.com', 'a zero-length fragment does no harm');
	is($got->[2]{reassembled}, 3, '... and counts as one');
}

# A missing fragment: never completes, counted at the end of the input;
# timed out by packet time (IPv4: 30 s, IPv6: 60 s).
{
	my @p = cut($udp, 32, 32);
	my ($got, $f) = cook([ip4frag(11, 17, @{ $p[0] }), ip4frag(11, 17, @{ $p[2] })]);
	is($got->[1]{layers}, 'Ethernet/IP/Raw', 'a missing fragment: nothing completes');
	counts_are($f, { unfinished => 1, timed_out => 0, pending => 0, reassembled => 0 },
		   '... counted at the end of the input');

	my $plain = ether(0x0800, ipv4(17, udp(1, 2, 'x')));
	($got, $f) = cook([[ip4frag(11, 17, @{ $p[0] }), undef, 1000],
			   [ip6frag(11, 17, @{ $p[0] }), undef, 1000],
			   [$plain, undef, 1031], [ip4frag(11, 17, @{ $p[1] }), undef, 1031],
			   [ip4frag(11, 17, @{ $p[2] }), undef, 1031]]);
	is($got->[4]{layers}, 'Ethernet/IP/Raw', 'fragments after 31 s do not complete a datagram');
	counts_are($f, { timed_out => 1, unfinished => 2, reassembled => 0 },
		   '... the IPv4 one timed out, the IPv6 one and the new one unfinished');
}

# Too big: a fragment reaching past 65535 bytes is dropped.
{
	my ($got, $f) = cook([ip4frag(12, 17, 65512, 0, 'x' x 40), ip4frag(12, 17, 0, 1, 'y' x 64)]);
	is($got->[0]{layers}, 'Ethernet/IP/Raw', 'too big: the fragment stays Raw');
	counts_are($f, { too_big => 1, fragments => 2, unfinished => 1 }, '... and is counted');
}

# Truncated: a fragment whose bytes were not all captured cannot complete.
{
	my @p = cut($udp, 32);
	my $f0 = ip4frag(13, 17, @{ $p[0] });
	my ($got, $f) = cook([[substr($f0, 0, length($f0) - 10), length $f0],
			      ip4frag(13, 17, @{ $p[1] })]);
	is($got->[1]{layers}, 'Ethernet/IP/Raw', 'a truncated fragment completes nothing');
	counts_are($f, { truncated => 1, unfinished => 1, reassembled => 0 }, '... and is counted');
}

# Memory is bounded under a flood: by the number of datagrams (one per
# 4 KiB of --reassembly-memory), and by their bytes.
{
	my @flood = map { [ip4frag($_, 17, 0, 1, 'f' x 8, { src => '198.51.100.' . ($_ % 200) }),
			   undef, 1000] } 1 .. 3000;
	my ($got, $f) = cook(\@flood);
	counts_are($f, { evicted => 3000 - 1024, unfinished => 1024, pending => 0 },
		   'a flood of ids: at most 1024 datagrams held with 4 MiB, the oldest evicted');

	my @big = map { [ip4frag($_, 17, 60000, 1, 'b' x 1000), undef, 1000] } 1 .. 200;
	($got, $f) = cook(\@big, '--reassembly-memory', 1);
	ok($f->{unfinished} <= (1 << 20) / 61000, 'large datagrams: no more held than 1 MiB holds')
		or diag(explain($f));
	is($f->{evicted} + $f->{unfinished}, 200, '... the others evicted');
}

# --reassembly-memory 0: fragments are left as they are, the first one
# decoded as far as it goes.
{
	my @p = cut($udp, 32);
	my ($got, $f) = cook([map { ip4frag(14, 17, @$_) } @p], '--reassembly-memory', 0);
	is($got->[0]{layers}, 'Ethernet/IP/UDP/DNS',
	   'not reassembling: the first fragment shows UDP, and the start of DNS');
	is($got->[1]{layers}, 'Ethernet/IP/Raw', '... the last is Raw');
	is($f->{fragments}, 0, '... and nothing is counted');
}

done_testing;
