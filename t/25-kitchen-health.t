#!/usr/bin/perl
# The kitchen's own health: KitchenStatusChef dumplings every
# --status-interval and one at the end, with what each source read, what
# each chef did, and what the uplink sent.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use TestLib;
use HubTest;

my $sample = root() . '/examples/sample.pcap';
my $packets = 212;	# read with -f ''

my $r = run('kitchen', '-q', '-f', '', '-r', $sample, '-c', 'dns', '-c', 'packetcount', '-p', '1',
	    '--stdout', '--status-interval', '0.001', { timeout => 60 });
is($r->{status}, 0, 'the kitchen runs with --status-interval');
my @docs = decode_lines($r->{out});
my @health = grep { $_->{metadata}{chef} eq 'KitchenStatusChef' } @docs;
ok(@health >= 1, 'it reports its health');
my $last = $health[-1]{payload};
ok($last->{final}, 'the last report says it is the last');
is($health[-1]{metadata}{driver}, 'interval', 'as an interval dumpling');
is($health[-1]{metadata}{seq}, scalar @docs, 'numbered like every other dumpling, and last');
is($last->{packets}, $packets, 'it counts every packet');
is($last->{sources}[0]{name}, $sample, 'per source, by name');
is($last->{sources}[0]{packets}, $packets, '... with its packets');
is($last->{sources}[0]{kernel_dropped}, 0, '... and no kernel drops for a file');
my $pokes = grep { $_->{metadata}{chef} eq 'PacketCountChef' } @docs;
is($last->{chefs}{PacketCountChef}{calls}, $packets + $pokes, 'a chef\'s calls: its packets and intervals');
my $dns = grep { $_->{metadata}{chef} eq 'DNSLookupChef' } @docs;
is($last->{chefs}{DNSLookupChef}{dumplings}, $dns, 'a chef\'s dumplings');
is($last->{chefs}{DNSLookupChef}{errors}, 0, 'a chef\'s errors');
ok(defined $last->{chefs}{DNSLookupChef}{seconds}, 'and the time spent in it');
like($last->{pokes_skipped}, qr/^\d+$/, 'the intervals that had no poke of their own');
ok(!exists $last->{uplink}, 'no uplink part without a hub');

$r = run('kitchen', '-q', '-f', '', '-r', $sample, '-c', 'dns', '--stdout', { timeout => 60 });
ok(!grep({ $_->{metadata}{chef} eq 'KitchenStatusChef' } decode_lines($r->{out})),
   'to standard output, none unless asked for');

# To a hub: on by default, with the uplink's counts.
SKIP: {
	skip 'python3-websockets is not installed', 4 unless pyok();
	my $hub = start_hub();
	my $out = "$hub->{dir}/eaten";
	my $ep = spawn([bin(), 'eat', '-H', "127.0.0.1:$hub->{out}", '--json', '-c', 'KitchenStatusChef',
			'--count', 1], out => $out);
	ok(joined($hub, 'eater', 1), 'an eater of health joined');
	$r = run('kitchen', '-q', '-f', '', '-r', $sample, '-c', 'dns', '-H', "127.0.0.1:$hub->{in}",
		 { timeout => 60 });
	is(reap($ep, 30), 0, 'it ate a KitchenStatusChef dumpling');
	my ($h) = decode_lines(slurp($out));
	ok($h->{payload}{uplink} && defined $h->{payload}{uplink}{sent}, 'with the uplink\'s counts');
	is($h->{payload}{uplink}{dropped}, 0, 'nothing dropped on the way to the hub');
	stop($hub->{pid});
}

done_testing;
