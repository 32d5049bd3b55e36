#!/usr/bin/perl
# A stalled eater costs the hub bounded memory and counted drops, while the
# other eaters lose nothing: the skip policy (default) and disconnect.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use TestLib;
use HubTest;

need(pyok(), 'python3-websockets is not installed');

my $n = 30000;
my $queue = 3000;

sub vm_hwm_kib {
	my ($pid) = @_;
	my ($kib) = (slurp("/proc/$pid/status") // '') =~ /^VmHWM:\s+(\d+)/m;
	return $kib;
}

for my $policy ('skip', 'disconnect') {
	my $hub = start_hub('--status-freq', '0.2', '--queue', $queue, '--slow-eater', $policy);
	my $stalled = spawn(py_cmd('stalled_eater.py', $hub->{out}, 60));
	ok(joined($hub, 'eater', 1), "$policy: the stalled eater joined");
	my $fast_out = "$hub->{dir}/fast.out";
	my $fast = spawn([bin(), 'eat', '-H', "127.0.0.1:$hub->{out}", '--json', '-c', 'PyChef',
			  '--count', $n], out => $fast_out, err => "$fast_out.err");
	ok(joined($hub, 'eater', 2), "$policy: a fast eater joined");
	# A fast eater is one that keeps up with its kitchens; pace this one
	# (at most 100 dumplings per 5 ms, per 20 ms under ThreadSanitizer,
	# whose eaters are slowest), so that holds even on a loaded machine
	# or under the sanitizers.
	my $r = py('kitchen_client.py', '--port', $hub->{in}, '--count', $n, '--size', 500,
		   '--pause', bin() =~ /tsan/ ? 0.02 : 0.005,
		   { timeout => 120 });
	is($r->{out}, "close none\n", "$policy: the kitchen sent $n dumplings");
	is(reap($fast, 60), 0, "$policy: the fast eater got its $n and left");
	my @seq = map { $_->{payload}{seq} } decode_lines(slurp($fast_out));
	is_deeply(\@seq, [0 .. $n - 1], "$policy: the fast eater lost nothing, in order");
	my $st = hub_status($hub);
	ok($st->{total_dumplings_dropped} > 0, "$policy: drops are counted ($st->{total_dumplings_dropped})");
	if ($policy eq 'skip') {
		my ($s) = grep { $_->{info_from_eater}{eater_name} eq 'stalled' } @{ $st->{dumpling_eaters} };
		ok($s && $s->{dumplings_dropped} > 0, 'skip: the stalled eater stays, its drops counted per eater');
		ok($s && $s->{queue_depth} <= $queue, 'skip: its queue stays within --queue');
	} else {
		is($st->{total_eaters_disconnected_slow}, 1, 'disconnect: the stalled eater was cut off');
		ok(!grep({ $_->{info_from_eater}{eater_name} eq 'stalled' } @{ $st->{dumpling_eaters} }),
		   'disconnect: it is gone from the status');
	}
	ok($st->{queue_used} <= $queue, "$policy: the shared queue is within its bound");
	SKIP: {
		skip 'peak RSS means little under the sanitizers', 1
			if bin() =~ /asan/ || $ENV{ASAN_OPTIONS};
		my $hwm = vm_hwm_kib($hub->{pid});
		ok(defined $hwm && $hwm < 64 * 1024,
		   "$policy: hub peak RSS is bounded (${\($hwm // '?')} KiB)");
	}
	is(stop($hub->{pid}), 0, "$policy: hub exits 0");
	stop($stalled, 'KILL');
}

done_testing();
