#!/usr/bin/perl
# The look-back ring grows as its window fills: a capture whose traffic
# turns from a trickle into a flood, after the ring has wrapped at its
# first size, still gets every packet of its window back, byte for byte
# (the ring grows while wrapped without losing one). A packet larger
# than the whole ring is counted in the health report, and the capture
# holds the others.
use strict;
use warnings;
use lib 't/lib';
use Digest::MD5 qw(md5_hex);
use Test::More;
use TestLib;
use Pcap;

need_tshark();

my $dir = tmpdir();
my $chef = root() . '/t/chefs/capture.lua';
my $t0 = 1_000_000_000;

sub packet {
	my ($flow, $load) = @_;
	my ($src, $sport) = $flow eq 'A' ? ('10.0.0.1', 1000) : ('10.0.0.9', 2000);
	return ether(0x0800, ipv4(6, tcp($sport, 80, 0x18, $load), { src => $src, dst => '10.0.0.2' }));
}

# tshark's reading of a capture file: time, length and a digest of the payload.
sub read_back {
	my ($path) = @_;
	my $r = run([qw(tshark -r), $path, qw(-T fields -E separator=/t -e frame.time_epoch
		     -e frame.len -e tcp.payload)]);
	is($r->{status}, 0, "tshark reads $path") or diag($r->{err});
	return [map { my ($t, $len, $hex) = split /\t/;
		      sprintf('%.6f %d %s', $t, $len, md5_hex(pack('H*', ($hex // '') =~ s/://gr))) }
		split /\n/, $r->{out}];
}

sub expect {
	my ($want, $pkts) = @_;
	return [map { sprintf('%.6f %d %s', $_->{us} / 1e6, length $_->{frame}, md5_hex($_->{load})) }
		grep { $want->($_) } @$pkts];
}

sub kitchen {
	my ($cap, $out, $args, @opts) = @_;
	mkdir $out;
	my $r = run('kitchen', '-r', $cap, '-c', "$chef:$args", '--stdout',
		    '--status-interval', '1000', '--capture-dir', $out, @opts);
	is($r->{status}, 0, "kitchen $args @opts exits 0") or diag($r->{err});
	opendir my $dh, $out or die "$out: $!";
	my @files = sort grep { !/^\./ } readdir $dh;
	is(scalar @files, 1, '... and makes one capture file');
	my @d = decode_lines($r->{out});
	my ($h) = reverse grep { $_->{metadata}{chef} eq 'KitchenStatusChef' } @d;
	return ("$out/$files[0]", $h->{payload}{captures});
}

# 13 s of 150 packets a second, then 3 s of 2,500 a second, the packets
# of about 1.3 kB: the 4 s window holds some 800 kB, wrapping the ring
# at its first size (1 MiB) with little to spare, then some 10 MB, so
# that the ring grows again and again while wrapped, moving the packets
# before the flood each time. Every fourth packet is flow B's; flow A's
# packet "GO" at the end asks for the 4 s before it, the flood and the
# last second before it.
{
	my (@pkts, $i);
	my $add = sub {
		my ($us) = @_;
		my $flow = ++$i % 4 == 0 ? 'B' : 'A';
		my $load = sprintf('%s%07d', $flow, $i) . chr(65 + $i % 26) x (1000 + $i % 400);
		push @pkts, { us => $us, flow => $flow, load => $load, frame => packet($flow, $load) };
	};
	my $us = $t0 * 1_000_000;
	$add->($us += 6_667) for 1 .. 2_000;
	$add->($us += 400) for 1 .. 7_500;
	push @pkts, { us => $us += 400, flow => 'A', load => 'GO', frame => packet('A', 'GO') };
	my $trigger = $us;
	my $cap = "$dir/flood.pcap";
	write_pcap_us($cap, map { [$_->{frame}, $_->{us}] } @pkts);

	my ($file, $h) = kitchen($cap, "$dir/flood", 'before=4,after=0', '--lookback', 4);
	my $exp = expect(sub { $_[0]{flow} eq 'A' && $_[0]{us} >= $trigger - 4_000_000 }, \@pkts);
	my $rows = read_back($file);
	is(scalar @$rows, scalar @$exp, 'flood: as many packets as the window holds (' . @$exp . ')');
	is_deeply($rows, $exp, 'flood: exactly the flow\'s packets of the last 4 s, byte for byte');
	is($h->{packets}, scalar @$exp, 'flood: the health report counts them');
	is($h->{lookback_too_large}, 0, 'flood: no packet was too large for the ring');
	is($h->{lookback_pushed_out}, 0, 'flood: none went for room before its time');
	cmp_ok($h->{lookback_bytes}, '>', 8_000_000, 'flood: the ring grew past 8 MB to hold them');
}

# A 1000-byte ring cannot hold a 1.5 kB packet: the two of flow A are
# counted, and the capture has the small ones and the trigger.
{
	my $us = $t0 * 1_000_000;
	my @pkts = map { my ($flow, $load) = @$_;
			 { us => $us += 1_000_000, flow => $flow, load => $load,
			   frame => packet($flow, $load) } }
	    ['A', 'small1'], ['A', 'L' x 1400], ['B', 'small2'], ['A', 'small3'],
	    ['A', 'M' x 1400], ['A', 'GO'];
	my $cap = "$dir/large.pcap";
	write_pcap_us($cap, map { [$_->{frame}, $_->{us}] } @pkts);
	my ($file, $h) = kitchen($cap, "$dir/large", 'before=60,after=0', '--lookback', 60,
				 '--lookback-bytes', 0.001);
	is($h->{lookback_too_large}, 2, 'a packet larger than the ring is counted');
	my $exp = expect(sub { $_[0]{flow} eq 'A' && length $_[0]{load} < 100 }, \@pkts);
	is_deeply(read_back($file), $exp, '... and the capture holds the flow\'s other packets');
}

done_testing();
